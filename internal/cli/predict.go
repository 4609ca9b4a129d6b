package cli

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/graftml/graft/data"
	"github.com/graftml/graft/fit"
	"github.com/graftml/graft/onnx"
	"github.com/graftml/graft/torch"
	"github.com/spf13/cobra"
)

// PredictOptions are graft predict's flags.
type PredictOptions struct {
	Checkpoint string
	Inputs     []string
	Top        int
	Batch      int
	Threads    int
	Workers    int
	Device     string
}

func newPredictCmd(g *globals) *cobra.Command {
	o := PredictOptions{}
	cmd := &cobra.Command{
		Use:   "predict CKPT IMAGE|FOLDER...",
		Short: "Classify images and print the top-k classes as JSON",
		Example: `  graft predict signs.json photo1.jpg photo2.png
  graft predict signs.json unlabelled/ --top 3`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Checkpoint, o.Inputs = args[0], args[1:]
			return runPredict(cmd.Context(), o, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.Top, "top", 5, "classes to list per image")
	batchFlag(f, &o.Batch)
	threadsFlag(f, &o.Threads)
	loaderFlag(f, &o.Workers)
	deviceFlag(f, &o.Device)
	return cmd
}

// Prediction is one image's result.
type Prediction struct {
	File string        `json:"file"`
	Top  []ClassChance `json:"top"`
}

// ClassChance is a class and its softmax probability.
type ClassChance struct {
	Class string  `json:"class"`
	Index int     `json:"index"`
	Prob  float64 `json:"prob"`
}

func runPredict(ctx context.Context, o PredictOptions, stdout io.Writer) error {
	if err := firstErr(atLeast("--top", o.Top, 1), atLeast("--batch", o.Batch, 1)); err != nil {
		return err
	}
	dev, err := engine(o.Threads, o.Device)
	if err != nil {
		return err
	}
	ck, err := onnx.Checkpoints.Load(o.Checkpoint)
	if err != nil {
		return err
	}
	defer ck.Model.Free()
	if dev != torch.CPU {
		if err := ck.Model.To(dev, false); err != nil {
			return err
		}
	}
	paths, err := imageFiles(o.Inputs)
	if err != nil {
		return err
	}
	l, err := data.NewLoader(files(paths), data.LoaderConfig{BatchSize: o.Batch, Workers: o.Workers, Preprocess: ck.Meta.Preprocess})
	if err != nil {
		return err
	}
	classes := ck.Meta.Classes
	var out []Prediction
	err = fit.Predict(ctx, ck.Model, l, fit.Config{Device: dev}, func(b *data.Batch, logits, _ *torch.Tensor) error {
		probs, err := logits.Softmax(1).Float32s()
		if err != nil {
			return err
		}
		k := len(probs) / b.N
		for i := 0; i < b.N; i++ {
			row := probs[i*k : (i+1)*k]
			idx := make([]int, k)
			for j := range idx {
				idx[j] = j
			}
			sort.SliceStable(idx, func(a, c int) bool { return row[idx[a]] > row[idx[c]] })
			p := Prediction{File: paths[b.Index[i]]}
			for _, j := range idx[:min(o.Top, k)] {
				name := fmt.Sprint(j)
				if j < len(classes) {
					name = classes[j]
				}
				p.Top = append(p.Top, ClassChance{Class: name, Index: j, Prob: float64(row[j])})
			}
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return writeJSON(stdout, out)
}

// imageFiles expands folders into the image files below them.
func imageFiles(inputs []string) ([]string, error) {
	var out []string
	for _, in := range inputs {
		st, err := os.Stat(in)
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", in, unwrap(err))
		}
		if !st.IsDir() {
			out = append(out, in)
			continue
		}
		err = filepath.WalkDir(in, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && isImageName(p) {
				out = append(out, p)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", in, err)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no images found in %s (PNG, JPEG, PPM/PGM, BMP)", strings.Join(inputs, ", "))
	}
	return out, nil
}

func isImageName(p string) bool {
	switch strings.ToLower(filepath.Ext(p)) {
	case ".png", ".jpg", ".jpeg", ".ppm", ".pgm", ".pnm", ".bmp":
		return true
	}
	return false
}

func unwrap(err error) error {
	if pe, ok := err.(*fs.PathError); ok {
		return pe.Err
	}
	return err
}

// files is an unlabelled data set of image paths.
type files []string

func (f files) Len() int            { return len(f) }
func (f files) Classes() []string   { return []string{"?"} }
func (f files) Label(int) int       { return 0 }
func (f files) Source(i int) string { return f[i] }
func (f files) Image(i int) (*data.Image, error) {
	im, err := data.LoadImage(f[i])
	if err != nil {
		return nil, &data.ErrSample{Source: f[i], Err: err}
	}
	return im, nil
}
