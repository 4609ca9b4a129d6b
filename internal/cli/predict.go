package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/graftml/graft/checkpoint"
	"github.com/graftml/graft/data"
	"github.com/graftml/graft/detect"
	"github.com/graftml/graft/fit"
	"github.com/graftml/graft/metrics"
	"github.com/graftml/graft/nn"
	"github.com/graftml/graft/torch"
	"github.com/spf13/cobra"
)

// PredictOptions are graft predict's flags.
type PredictOptions struct {
	Checkpoint string
	Inputs     []string
	Top        int
	Batch      int
	Precision  torch.Precision
	Engine
}

func newPredictCmd(g *globals) *cobra.Command {
	o := PredictOptions{}
	cmd := &cobra.Command{
		Use:   "predict CKPT IMAGE|FOLDER...",
		Short: "Classify images and print the top-k classes as JSON",
		Example: `  graft predict signs.json photo1.jpg photo2.png
  graft predict signs.json unlabelled/ --top 3`,
		Args: cobra.MinimumNArgs(2),
		RunE: runE(g, &o, runPredict, func(cmd *cobra.Command, args []string) {
			o.Checkpoint, o.Inputs = args[0], args[1:]
		}),
	}
	f := cmd.Flags()
	f.IntVar(&o.Top, "top", 5, "classes to list per image")
	batchFlag(f, &o.Batch)
	engineFlags(f, &o.Engine, true)
	precisionFlag(f, &o.Precision, "")
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

// prepareInference folds m's BatchNorms and packs its weights, as graft
// predict and graft detect run: they only read the model, so its
// BatchNorms can live in the convolutions before them (one pass fewer per
// feature map) and its weights be reordered for oneDNN once instead of on
// every call (inference faster by both; BENCHMARKS.md). Outputs move by
// float rounding only.
func prepareInference(m *nn.Model, checkpoint string) error {
	if _, err := m.FoldBatchNorm(); err != nil {
		return fmt.Errorf("%s: %w", checkpoint, err)
	}
	if _, err := m.Pack(); err != nil {
		return fmt.Errorf("%s: %w", checkpoint, err)
	}
	return nil
}

func runPredict(ctx context.Context, o PredictOptions, g *globals, stdout, stderr io.Writer) error {
	if err := firstErr(atLeast("--top", o.Top, 1), atLeast("--batch", o.Batch, 1)); err != nil {
		return err
	}
	if meta, err := checkpoint.ReadMeta(o.Checkpoint); err == nil && detect.IsDetector(meta) {
		return fmt.Errorf("%s is a detector (%s), not a classifier: use graft detect %s IMAGE|FOLDER... to find its boxes", o.Checkpoint, meta.Arch, o.Checkpoint)
	}
	ck, dev, err := o.load(o.Checkpoint)
	if err != nil {
		return err
	}
	defer ck.Model.Free()
	if err := checkPrecision(&o.Precision, dev); err != nil {
		return err
	}
	ck.Model.Precision = o.Precision // what Pack packs for
	if err := prepareInference(ck.Model, o.Checkpoint); err != nil {
		return err
	}
	paths, err := data.ImageFiles(o.Inputs)
	if err != nil {
		return err
	}
	l, err := data.NewLoader(paths, data.LoaderConfig{BatchSize: o.Batch, Workers: o.Workers, Preprocess: ck.Meta.Preprocess})
	if err != nil {
		return err
	}
	classes := ck.Meta.Classes
	var out []Prediction
	err = fit.Predict(ctx, ck.Model, l, fit.Config{Device: dev, Precision: o.Precision}, func(b *data.Batch, logits, _ *torch.Tensor) error {
		probs, err := logits.Softmax(1).Float32s()
		if err != nil {
			return err
		}
		k := len(probs) / b.N
		for i := 0; i < b.N; i++ {
			row := probs[i*k : (i+1)*k]
			p := Prediction{File: paths[b.Index[i]]}
			for _, j := range metrics.TopK(row, o.Top) {
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
