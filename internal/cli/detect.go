package cli

import (
	"context"
	"errors"
	"fmt"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/graftml/graft/checkpoint"
	"github.com/graftml/graft/data"
	"github.com/graftml/graft/detect"
	"github.com/graftml/graft/figure"
	"github.com/graftml/graft/internal/safefile"
	"github.com/graftml/graft/onnx"
	"github.com/graftml/graft/torch"
	"github.com/spf13/cobra"
)

// DetectOptions are graft detect's flags.
type DetectOptions struct {
	Checkpoint string
	Inputs     []string
	Threshold  float64
	Draw       string
	Batch      int
	Engine
}

func newDetectCmd(g *globals) *cobra.Command {
	o := DetectOptions{}
	cmd := &cobra.Command{
		Use:   "detect CKPT IMAGE|FOLDER...",
		Short: "Find objects with a detector: boxes, classes and scores per image",
		Long: `Run a detector's checkpoint on images, preprocessed as the checkpoint says,
and print every box scoring above --threshold in the original image's pixels
(x1, y1, x2, y2), with its class and score: a table, or JSON with --json.
--draw writes each image with its boxes drawn to OUT/NAME.png.`,
		Example: `  graft detect signs-det street1.jpg street2.png
  graft detect signs-det scenes/ --threshold 0.3 --json --draw found/`,
		Args: cobra.MinimumNArgs(2),
		RunE: runE(g, &o, runDetect, func(cmd *cobra.Command, args []string) {
			o.Checkpoint, o.Inputs = args[0], args[1:]
		}),
	}
	f := cmd.Flags()
	f.Float64Var(&o.Threshold, "threshold", 0.5, "the score (0 to 1) a box must exceed to be listed")
	f.StringVar(&o.Draw, "draw", "", "a folder to write each image to with its boxes drawn, as NAME.png")
	batchFlag(f, &o.Batch)
	engineFlags(f, &o.Engine, true)
	return cmd
}

// DetectedImage is one image's detections, best first.
type DetectedImage struct {
	File   string        `json:"file"`
	Width  int           `json:"width"`
	Height int           `json:"height"`
	Boxes  []DetectedBox `json:"boxes"`
	// Drawn is the picture --draw wrote.
	Drawn string `json:"drawn,omitempty"`
}

// DetectedBox is one object found, in the original image's pixels.
type DetectedBox struct {
	X1    float64 `json:"x1"`
	Y1    float64 `json:"y1"`
	X2    float64 `json:"x2"`
	Y2    float64 `json:"y2"`
	Class string  `json:"class"`
	// Index is the class's position in the checkpoint's class list (the
	// background is not in it).
	Index int     `json:"index"`
	Score float64 `json:"score"`
}

func runDetect(ctx context.Context, o DetectOptions, g *globals, stdout, stderr io.Writer) error {
	if err := atLeast("--batch", o.Batch, 1); err != nil {
		return err
	}
	if !(o.Threshold >= 0 && o.Threshold < 1) {
		return fmt.Errorf("--threshold %g: want a score in [0,1), e.g. 0.5", o.Threshold)
	}
	m, meta, dev, err := o.loadDetector(o.Checkpoint, "graft predict")
	if err != nil {
		return err
	}
	defer m.Free()
	if err := prepareInference(m.Model, o.Checkpoint); err != nil {
		return err
	}
	paths, err := data.ImageFiles(o.Inputs)
	if err != nil {
		return err
	}
	files := &imageFiles{paths: paths, sizes: make([][2]int, len(paths))}
	l, err := data.NewDetectionLoader(files, data.DetectionLoaderConfig{BatchSize: o.Batch, Workers: o.Workers, Preprocess: detectorInput(meta, m)})
	if err != nil {
		return err
	}
	post := detect.PostFor(meta.Arch)
	post.ScoreThreshold = float32(o.Threshold)
	classes := foreground(meta, m)
	out := make([]DetectedImage, len(paths))
	for b, err := range l.Epoch(ctx, 0) {
		if err != nil {
			return err
		}
		found, err := detectBatch(m, post, b, dev)
		if err != nil {
			b.Release()
			return fmt.Errorf("detect with %s: %w", o.Checkpoint, err)
		}
		for j, i := range b.Index {
			w, h := files.sizes[i][0], files.sizes[i][1]
			im := DetectedImage{File: paths[i], Width: w, Height: h, Boxes: []DetectedBox{}}
			for _, d := range found[j] {
				bx := b.Maps[j].Invert(data.Box{X1: float64(d.Box[0]), Y1: float64(d.Box[1]), X2: float64(d.Box[2]), Y2: float64(d.Box[3])})
				im.Boxes = append(im.Boxes, DetectedBox{X1: pixel(bx.X1, w), Y1: pixel(bx.Y1, h), X2: pixel(bx.X2, w), Y2: pixel(bx.Y2, h),
					Class: classes[d.Class-1], Index: d.Class - 1, Score: math.Round(float64(d.Score)*1e4) / 1e4})
			}
			out[i] = im
		}
		b.Release()
	}
	if o.Draw != "" {
		if err := drawDetections(o.Draw, out); err != nil {
			return err
		}
	}
	if g.json {
		return writeJSON(stdout, out)
	}
	return writeDetections(stdout, out, o.Threshold)
}

// loadDetector starts the engine and loads a detector's checkpoint onto
// its device; a classifier's is refused with the command that takes it.
func (e Engine) loadDetector(path, classifierCmd string) (*detect.Model, checkpoint.Meta, torch.Device, error) {
	dev, err := e.start()
	if err != nil {
		return nil, checkpoint.Meta{}, dev, err
	}
	meta, err := checkpoint.ReadMeta(path)
	if err != nil {
		return nil, meta, dev, err
	}
	if !detect.IsDetector(meta) {
		return nil, meta, dev, fmt.Errorf("%s is a classifier (%s), not a detector: use %s", path, meta.Arch, classifierCmd)
	}
	m, meta, err := detect.Load(onnx.Checkpoints, path)
	if err != nil {
		return nil, meta, dev, err
	}
	if dev != torch.CPU {
		if err := m.To(dev, false); err != nil {
			m.Free()
			return nil, meta, dev, err
		}
	}
	return m, meta, dev, nil
}

// detectorInput is how a detector's checkpoint says to prepare its input,
// with the detector's own size and channels where the sidecar leaves them
// out (a checkpoint saved without preprocessing).
func detectorInput(meta checkpoint.Meta, m *detect.Model) data.Preprocess {
	p := meta.Preprocess
	if p.Size == 0 && p.Height == 0 {
		p.Size = m.InputSize
	}
	if p.Channels == 0 {
		p.Channels = m.InChannels
	}
	return p
}

// foreground names a detector's classes 1… (the checkpoint's names, or
// their numbers when it has none).
func foreground(meta checkpoint.Meta, m *detect.Model) []string {
	if len(meta.Classes) == m.NumClasses-1 {
		return meta.Classes
	}
	out := make([]string, m.NumClasses-1)
	for i := range out {
		out[i] = fmt.Sprint(i)
	}
	return out
}

// detectBatch runs the detector on a batch and post-processes its output:
// each image's detections in the input's pixels.
func detectBatch(m *detect.Model, post detect.Post, b *data.DetectionBatch, dev torch.Device) ([][]detect.Detection, error) {
	defaults, err := m.Defaults(b.H, b.W)
	if err != nil {
		return nil, err
	}
	var found [][]detect.Detection
	torch.NoGrad(func() {
		s := torch.NewScope()
		defer s.Close()
		x := s.Track(torch.FromFloat32(b.X, int64(b.N), int64(b.C), int64(b.H), int64(b.W)))
		if dev != torch.CPU {
			x = s.Track(x.ToDevice(dev))
		}
		reg, logits := m.Forward(x, false)
		found, err = post.Detect(s.Track(reg), s.Track(logits), defaults, b.H, b.W)
	})
	return found, err
}

// pixel clips a coordinate to the image (a letterboxed input's boxes can
// reach into the padding) and rounds it to a hundredth of a pixel.
func pixel(v float64, side int) float64 {
	return math.Round(min(max(v, 0), float64(side))*100) / 100
}

// imageFiles is a detection data set of unannotated images: what a
// detector is run on. It records each image's size as it is decoded.
type imageFiles struct {
	paths []string
	sizes [][2]int // written by the loader's workers, each index once
}

func (f *imageFiles) Len() int             { return len(f.paths) }
func (f *imageFiles) Classes() []string    { return nil }
func (f *imageFiles) Boxes(int) []data.Box { return nil }
func (f *imageFiles) Source(i int) string  { return f.paths[i] }
func (f *imageFiles) Image(i int) (*data.Image, error) {
	im, err := data.LoadImage(f.paths[i])
	if err != nil {
		return nil, &data.ErrSample{Source: f.paths[i], Err: errors.Unwrap(err)}
	}
	f.sizes[i] = [2]int{im.W, im.H}
	return im, nil
}

// writeDetections is the table graft detect prints: a row per box, and a
// row with no class for an image where nothing scored above threshold.
func writeDetections(w io.Writer, images []DetectedImage, threshold float64) error {
	// Names left, numbers right-aligned by their fixed widths.
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "file\tclass\t%5s  %7s %7s %7s %7s\n", "score", "x1", "y1", "x2", "y2")
	boxes := 0
	for _, im := range images {
		if len(im.Boxes) == 0 {
			fmt.Fprintf(tw, "%s\t-\n", im.File)
		}
		for _, b := range im.Boxes {
			fmt.Fprintf(tw, "%s\t%s\t%5.3f  %7.1f %7.1f %7.1f %7.1f\n", im.File, b.Class, b.Score, b.X1, b.Y1, b.X2, b.Y2)
		}
		boxes += len(im.Boxes)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "%d boxes scoring above %g in %d images\n", boxes, threshold, len(images))
	return err
}

// drawDetections writes every image with its boxes drawn to dir as
// NAME.png, numbering names that two inputs share, and records where.
func drawDetections(dir string, images []DetectedImage) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("--draw: %w", err)
	}
	used := map[string]bool{}
	for k := range images {
		im := &images[k]
		src, err := data.LoadImage(im.File)
		if err != nil {
			return err
		}
		pic, err := src.ToImage()
		if err != nil {
			return fmt.Errorf("draw %s: %w", im.File, err)
		}
		// Worst first, so that the best box's label is drawn on top.
		boxes := make([]figure.LabelledBox, 0, len(im.Boxes))
		for _, b := range slices.Backward(im.Boxes) {
			boxes = append(boxes, figure.LabelledBox{X1: b.X1, Y1: b.Y1, X2: b.X2, Y2: b.Y2, Class: b.Index, Label: fmt.Sprintf("%s %.2f", b.Class, b.Score)})
		}
		drawn := figure.DrawBoxes(pic, boxes)
		name := strings.TrimSuffix(filepath.Base(im.File), filepath.Ext(im.File))
		for n := 2; used[name]; n++ {
			name = fmt.Sprintf("%s-%d", strings.TrimSuffix(filepath.Base(im.File), filepath.Ext(im.File)), n)
		}
		used[name] = true
		path := filepath.Join(dir, name+".png")
		if err := safefile.Write(path, func(w io.Writer) error { return png.Encode(w, drawn) }); err != nil {
			return fmt.Errorf("--draw: %w", err)
		}
		im.Drawn = path
	}
	return nil
}
