package cli

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/graftml/graft/checkpoint"
	"github.com/graftml/graft/data"
	"github.com/graftml/graft/detect"
	"github.com/graftml/graft/fit"
	"github.com/graftml/graft/metrics"
	"github.com/graftml/graft/torch"
	"github.com/spf13/cobra"
)

// EvalOptions are graft eval's flags.
type EvalOptions struct {
	Checkpoint string
	Data       string
	Batch      int
	Precision  torch.Precision
	Engine
}

func newEvalCmd(g *globals) *cobra.Command {
	o := EvalOptions{}
	cmd := &cobra.Command{
		Use:   "eval CKPT --data DATA",
		Short: "Score a checkpoint: accuracy, per-class accuracy, confusion matrix; mAP for a detector",
		Long: `Evaluate a checkpoint on labelled data, preprocessed as the checkpoint says.

DATA is ` + data.SpecHelp + `

A detector's checkpoint is scored on detection data, whose classes must be
the checkpoint's (same names, same order): COCO's mAP@[.5:.95], mAP@0.5 and
mAP@0.75, per-class AP and the multibox loss per image. DATA is then
  ` + data.DetectionSpecHelp,
		Example: `  graft eval fmnist --data fashion-mnist
  graft eval adapted.json --data signs-test/ --json
  graft eval signs-det --data coco:scenes/annotations.json`,
		Args: cobra.ExactArgs(1),
		RunE: runE(g, &o, runEval, func(cmd *cobra.Command, args []string) {
			o.Checkpoint = args[0]
		}),
	}
	f := cmd.Flags()
	f.StringVar(&o.Data, "data", "", "labelled data to evaluate on (required; sets with a train/test split use the test part)")
	batchFlag(f, &o.Batch)
	engineFlags(f, &o.Engine, true)
	precisionFlag(f, &o.Precision, "classifiers")
	return cmd
}

// EvalReport is graft eval's JSON output.
type EvalReport struct {
	Checkpoint string               `json:"checkpoint"`
	Data       string               `json:"data"`
	Samples    int                  `json:"samples"`
	Accuracy   float64              `json:"accuracy"`
	MacroF1    float64              `json:"macro_f1"`
	Loss       float64              `json:"loss"`
	PerClass   []metrics.ClassScore `json:"per_class"`
	Confusion  [][]int              `json:"confusion"` // [true][predicted]
	Classes    []string             `json:"classes"`
}

func runEval(ctx context.Context, o EvalOptions, g *globals, stdout, stderr io.Writer) error {
	if o.Data == "" {
		return fmt.Errorf("--data is required: %s", data.SpecHelp)
	}
	if err := atLeast("--batch", o.Batch, 1); err != nil {
		return err
	}
	if meta, err := checkpoint.ReadMeta(o.Checkpoint); err == nil && detect.IsDetector(meta) {
		if p, _ := torch.ParsePrecision(string(o.Precision)); p.Mixed() {
			return fmt.Errorf("--precision %s covers classifiers; %s is a detector, which runs in fp32: use --precision fp32", o.Precision, o.Checkpoint)
		}
		return runEvalDetector(ctx, o, g, stdout)
	}
	ck, dev, err := o.load(o.Checkpoint)
	if err != nil {
		return err
	}
	defer ck.Model.Free()
	if err := checkPrecision(&o.Precision, dev); err != nil {
		return err
	}
	ds, err := data.Open(o.Data, data.TestPart)
	if err != nil {
		return fmt.Errorf("--data: %w", err)
	}
	cfg := fit.Config{BatchSize: o.Batch, Device: dev, Precision: o.Precision}
	classes, err := data.EvalClasses(ck.Meta.Classes, ck.Model.NumClasses, ds.Classes(), o.Checkpoint, o.Data)
	if err != nil {
		return err
	}
	ev, err := evaluateOn(ctx, ck.Model, ds, ck.Meta.Preprocess, classes, cfg, o.Workers)
	if err != nil {
		return fmt.Errorf("evaluate %s on %s: %w", o.Checkpoint, o.Data, err)
	}
	c := ev.Confusion
	rep := EvalReport{Checkpoint: o.Checkpoint, Data: o.Data, Samples: c.Total(), Accuracy: c.Accuracy(),
		MacroF1: c.MacroF1(), Loss: ev.Loss, PerClass: c.ClassScores(), Confusion: c.M, Classes: c.Classes}
	if g.json {
		return writeJSON(stdout, rep)
	}
	fmt.Fprintf(stdout, "%s on %s: %d images\naccuracy %.2f%%  macro-F1 %.4f  loss %.4f\n\n", o.Checkpoint, o.Data, rep.Samples, 100*rep.Accuracy, rep.MacroF1, rep.Loss)
	c.WriteTable(stdout)
	return nil
}

// DetectionEvalReport is graft eval's JSON output for a detector. The
// mean APs are COCO's (pycocotools' COCOeval, area "all", 100 detections
// per image) over the classes with ground truth; -1 where there is none.
type DetectionEvalReport struct {
	Checkpoint string `json:"checkpoint"`
	Data       string `json:"data"`
	Images     int    `json:"images"`
	Objects    int    `json:"objects"`
	// MAP is mAP@[.5:.95], MAP50 and MAP75 at one IoU threshold.
	MAP   float64 `json:"map"`
	MAP50 float64 `json:"map50"`
	MAP75 float64 `json:"map75"`
	// VOCMAP07 and VOCMAP are Pascal VOC's mAP@0.5: the 11-point AP of
	// VOC2007 and the all-point AP of VOC2010 on.
	VOCMAP07 float64 `json:"voc_map07"`
	VOCMAP   float64 `json:"voc_map"`
	// Loss is the multibox loss per image.
	Loss     float64               `json:"loss"`
	PerClass []DetectionClassScore `json:"per_class"`
	Classes  []string              `json:"classes"`
}

// DetectionClassScore is one class's part of a detector's evaluation; AP
// is -1 for a class with no ground truth.
type DetectionClassScore struct {
	Class      string  `json:"class"`
	Objects    int     `json:"objects"`
	Detections int     `json:"detections"`
	AP         float64 `json:"ap"`
	AP50       float64 `json:"ap50"`
	AP75       float64 `json:"ap75"`
	AR100      float64 `json:"ar100"`
}

// runEvalDetector is graft eval for a detector's checkpoint: detection
// data, scored by detect.Task.Evaluate.
func runEvalDetector(ctx context.Context, o EvalOptions, g *globals, stdout io.Writer) error {
	if !data.IsDetectionSpec(o.Data) {
		return fmt.Errorf("--data %s: %s is a detector, evaluated on detection data; give one of\n  %s", o.Data, o.Checkpoint, data.DetectionSpecHelp)
	}
	m, meta, dev, err := o.loadDetector(o.Checkpoint, "graft eval on a classifier's checkpoint")
	if err != nil {
		return err
	}
	defer m.Free()
	ds, err := data.OpenDetection(o.Data)
	if err != nil {
		return fmt.Errorf("--data: %w", err)
	}
	classes := ds.Classes()
	switch {
	case len(classes) != m.NumClasses-1:
		return fmt.Errorf("%s detects %d classes, %s has %d (%s): evaluate on data with the detector's classes",
			o.Checkpoint, m.NumClasses-1, o.Data, len(classes), strings.Join(data.ShortList(classes, 8), ", "))
	case len(meta.Classes) != 0 && !slices.Equal(meta.Classes, classes):
		return fmt.Errorf("%s detects %s, %s has %s: the classes must be the same, in the same order",
			o.Checkpoint, strings.Join(data.ShortList(meta.Classes, 8), ", "), o.Data, strings.Join(data.ShortList(classes, 8), ", "))
	}
	ev, err := scoreDetector(ctx, m, meta, ds, o.Batch, o.Workers, dev)
	if err != nil {
		return fmt.Errorf("evaluate %s on %s: %w", o.Checkpoint, o.Data, err)
	}
	c := ev.COCO
	voc, err := metrics.EvaluateVOC(ev.GroundTruth, ev.Detections)
	if err != nil {
		return fmt.Errorf("evaluate %s on %s: %w", o.Checkpoint, o.Data, err)
	}
	rep := DetectionEvalReport{Checkpoint: o.Checkpoint, Data: o.Data, Images: ds.Len(), MAP: c.AP, MAP50: c.AP50, MAP75: c.AP75,
		VOCMAP07: voc.MAP07, VOCMAP: voc.MAP, Loss: ev.Loss, PerClass: []DetectionClassScore{}, Classes: classes}
	for _, k := range c.Classes {
		if k.Class < 0 || k.Class >= len(classes) {
			continue
		}
		rep.Objects += k.GroundTruths
		rep.PerClass = append(rep.PerClass, DetectionClassScore{Class: classes[k.Class], Objects: k.GroundTruths, Detections: k.Detections,
			AP: k.AP, AP50: k.AP50, AP75: k.AP75, AR100: k.AR100})
	}
	if g.json {
		return writeJSON(stdout, rep)
	}
	return writeDetectionEval(stdout, rep)
}

// scoreDetector runs detector m over ds once, its input prepared as its
// checkpoint says, and scores its detections with COCO's definitions.
func scoreDetector(ctx context.Context, m *detect.Model, meta checkpoint.Meta, ds data.DetectionDataset, batch, workers int, dev torch.Device) (*detect.Evaluation, error) {
	l, err := data.NewDetectionLoader(ds, data.DetectionLoaderConfig{BatchSize: batch, Workers: workers, Preprocess: detectorInput(meta, m)})
	if err != nil {
		return nil, err
	}
	task := &detect.Task{Model: m, Loss: detect.SSDLoss, Post: detect.PostFor(meta.Arch)}
	return task.Evaluate(ctx, l, fit.Config{Device: dev})
}

// writeDetectionEval is graft eval's text report for a detector.
func writeDetectionEval(w io.Writer, r DetectionEvalReport) error {
	fmt.Fprintf(w, "%s on %s: %d images, %d objects\nCOCO mAP@[.5:.95] %s  mAP@0.5 %s  mAP@0.75 %s; VOC mAP@0.5 %s (11-point %s); loss %.4f per image\n\n",
		r.Checkpoint, r.Data, r.Images, r.Objects, score(r.MAP), score(r.MAP50), score(r.MAP75), score(r.VOCMAP), score(r.VOCMAP07), r.Loss)
	// Names left, numbers right-aligned by their fixed widths.
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "class\t%7s %10s %6s %6s %6s %6s\n", "objects", "detections", "AP", "AP50", "AP75", "AR100")
	for _, c := range r.PerClass {
		fmt.Fprintf(tw, "%s\t%7d %10d %6s %6s %6s %6s\n", c.Class, c.Objects, c.Detections, score(c.AP), score(c.AP50), score(c.AP75), score(c.AR100))
	}
	return tw.Flush()
}

// score prints an AP or recall, or "-" for COCO's -1 (no ground truth).
func score(v float64) string {
	if v < 0 {
		return "-"
	}
	return fmt.Sprintf("%.4f", v)
}
