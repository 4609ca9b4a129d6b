package cli

import (
	"context"
	"fmt"
	"io"
	"path/filepath"

	"github.com/graftml/graft/checkpoint"
	"github.com/graftml/graft/data"
	"github.com/graftml/graft/detect"
	"github.com/graftml/graft/experiment"
	"github.com/graftml/graft/fit"
	"github.com/graftml/graft/internal/safefile"
	"github.com/graftml/graft/onnx"
	"github.com/graftml/graft/strategy"
	"github.com/graftml/graft/torch"
	"github.com/spf13/cobra"
)

// TransferOptions are graft transfer's flags.
type TransferOptions struct {
	Adaptation
	Strategy  string
	LR        float64
	Seed      uint64
	ClassMap  string
	BN        string
	Protocol  string
	Task      string
	Precision torch.Precision
}

func newTransferCmd(g *globals) *cobra.Command {
	o := TransferOptions{}
	cmd := &cobra.Command{
		Use:   "transfer --base CKPT --strategy S --train DATA --out CKPT [flags]",
		Short: "Adapt a checkpoint to new data with one strategy",
		Long: `Adapt a source checkpoint to a target data set with one strategy and save
the result. graft compare measures which strategy to choose.

By default (--protocol refit) the training length — and, with --lr-grid, the
learning rate — is chosen on validation folds of --train, then the model is
trained again on every image with them: the saved model has seen all the
data, as in graft compare. --protocol holdout saves the best validation
epoch of a training on the rest; --val-split 0 (or --protocol none) trains
on every image for exactly --epochs, with no validation.

Strategies: ` + strategyList() + `

DATA is ` + data.SpecHelp,
		Example: `  graft transfer --base be.json --strategy lpft --train de-train/ --test de-test/ --out de
  graft transfer --base be.json --strategy freeze:2+l2sp --train de-train/ --lr 1e-3 --out de`,
		Args: cobra.NoArgs,
		RunE: runE(g, &o, runTransfer),
	}
	f := cmd.Flags()
	adaptationFlags(f, &o.Adaptation, "", map[string]string{"test": "evaluated once at the end", "out": "the checkpoint to write (required)",
		"epochs": "exact epochs with --protocol none", "lr-grid": "e.g. 1e-2,3e-3,1e-3,3e-4, instead of --lr",
		"val-split": "per validation fold; 0 trains on everything with no validation (--protocol none)"})
	f.StringVar(&o.Strategy, "strategy", "lpft", withNote("strategy", ""))
	f.Float64Var(&o.LR, "lr", 1e-3, withNote("lr", "pretrained stages train at a fraction of it"))
	f.StringVar(&o.Protocol, "protocol", experiment.ProtocolRefit, withNote("protocol", "or none: train on every image for --epochs"))
	seedFlag(f, &o.Seed, "")
	f.StringVar(&o.ClassMap, "class-map", "", withNote("class-map", ""))
	f.StringVar(&o.BN, "bn", "frozen", withNote("bn", ""))
	f.StringVar(&o.Task, "task", "auto", withNote("task", ""))
	precisionFlag(f, &o.Precision, "")
	return cmd
}

func runTransfer(ctx context.Context, o TransferOptions, g *globals, stdout, stderr io.Writer) error {
	if err := required("transfer", o.Base, "--base", o.Train, "--train", o.Out, "--out"); err != nil {
		return err
	}
	if err := firstErr(o.check(true), positive("--lr", o.LR)); err != nil {
		return err
	}
	if err := safefile.CheckDir(filepath.Dir(o.Out)); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	dev, err := o.start()
	if err != nil {
		return err
	}
	if err := checkPrecision(&o.Precision, dev); err != nil {
		return err
	}
	base, err := experiment.LoadBase(o.Base)
	if err != nil {
		return fmt.Errorf("--base: %w", err)
	}
	s, err := strategy.Parse(o.Strategy)
	if err != nil {
		return fmt.Errorf("--strategy: %w", err)
	}
	detecting, err := detectionTask(o.Task, base, o.Train)
	if err != nil {
		return err
	}
	var train data.Dataset
	if detecting {
		if err := base.ForDetection(); err != nil {
			return fmt.Errorf("--base: %w", err)
		}
		if _, err := detectionStrategies([]strategy.Strategy{s}, s.Name); err != nil {
			return fmt.Errorf("--strategy: %w", err)
		}
		if train, _, err = openDetectionSets(o.Train, ""); err != nil {
			return err
		}
	} else if train, err = openTrain(g, stderr, o.Train, 0); err != nil {
		return err
	}
	if _, err := strategy.Expand(s.Name, base.Shape()); err != nil {
		return fmt.Errorf("--strategy: %w", err)
	}
	var classMap []int
	if o.ClassMap != "" {
		if classMap, err = experiment.ReadClassMap(o.ClassMap, train.Classes(), base.Meta.Classes); err != nil {
			return fmt.Errorf("--class-map: %w", err)
		}
	}
	protocol := o.Protocol
	if o.ValSplit == 0 {
		protocol = experiment.ProtocolNone
	}
	switch {
	case protocol != experiment.ProtocolRefit && protocol != experiment.ProtocolHoldout && protocol != experiment.ProtocolNone:
		return fmt.Errorf("--protocol %q: choose refit, holdout or none", o.Protocol)
	}
	grid := []float64{o.LR}
	if o.LRGrid != "" {
		if grid, err = experiment.ParseRates(o.LRGrid); err != nil {
			return fmt.Errorf("--lr-grid %w", err)
		}
		if protocol == experiment.ProtocolNone {
			return fmt.Errorf("--lr-grid needs validation to choose from; give --lr with --val-split 0")
		}
	}
	_, groupName, err := data.Grouping(train, o.Group)
	if err != nil {
		return fmt.Errorf("--group: %w", err)
	}
	if groupName != "" && !g.quiet {
		fmt.Fprintf(stderr, "grouping: %s — no group is on both sides of a split\n", groupName)
	}
	pre := base.Meta.Preprocess
	cfg := experiment.Config{Base: base, Train: train, LRGrid: grid, ValFraction: o.ValSplit, Protocol: protocol, Folds: o.Folds,
		Budget: strategy.Budget{Epochs: o.Epochs, Patience: o.Patience}, Batch: o.Batch, ClassMap: classMap,
		TrainBN: o.BN == "train", Device: dev, Precision: o.Precision, Group: o.Group, Progress: pretrainProgress(stderr, g.quiet, detecting)}
	ad, err := experiment.Adapt(ctx, cfg, s, 0, int(o.Seed))
	if err != nil {
		return err
	}
	model, run := ad.Model, ad.Run
	defer model.Free()
	if ad.Detector != nil {
		err = detect.Save(onnx.Checkpoints, o.Out, ad.Detector, ad.Meta)
	} else {
		err = onnx.Checkpoints.Save(o.Out, model, ad.Meta, nil)
	}
	if err != nil {
		return err
	}
	summary := map[string]any{"checkpoint": o.Out, "strategy": s.Name, "protocol": protocol, "lr": run.LR, "epochs": run.Epochs,
		"trained_on": train.Len(), "trainable_params": run.TrainableParams}
	if run.Selection != nil {
		summary["val_accuracy"] = run.Selection.ValAcc
		summary["folds"] = run.Selection.Folds
	}
	if run.Refit == nil {
		delete(summary, "trained_on") // holdout: the rest of one split
	}
	if o.Test != "" && ad.Detector != nil {
		ev, err := testDetector(ctx, o.Test, ad.Detector, ad.Meta, dev)
		if err != nil {
			return err
		}
		summary["test_map50"], summary["test_map"] = ev.COCO.AP50, ev.COCO.AP
	} else if o.Test != "" {
		ev, err := testOn(ctx, o.Test, model, pre, train.Classes(), fit.Config{BatchSize: 64, Device: dev, Precision: o.Precision}, 0)
		if err != nil {
			return err
		}
		summary["test_accuracy"], summary["test_macro_f1"] = ev.Confusion.Accuracy(), ev.Confusion.MacroF1()
	}
	if g.json {
		return writeJSON(stdout, summary)
	}
	switch {
	case run.Selection != nil:
		fmt.Fprintf(stdout, "saved %s: %s at lr %g for %d epochs on all %d images (chosen on %d validation folds: %.2f%%)\n",
			o.Out, s.Name, run.LR, run.Epochs, train.Len(), run.Selection.Folds, 100*run.Selection.ValAcc)
	case run.Refit != nil:
		fmt.Fprintf(stdout, "saved %s: %s at lr %g for %d epochs on all %d images (no validation)\n", o.Out, s.Name, run.LR, run.Epochs, train.Len())
	default:
		fmt.Fprintf(stdout, "saved %s: %s at lr %g, best validation epoch %d of %d\n", o.Out, s.Name, run.LR, run.BestEpoch, run.Epochs)
	}
	if m, ok := summary["test_map50"]; ok {
		fmt.Fprintf(stdout, "test mAP@0.5 %.2f%%, mAP@[.5:.95] %.2f%% on %s\n", 100*m.(float64), 100*summary["test_map"].(float64), o.Test)
	}
	if acc, ok := summary["test_accuracy"]; ok {
		fmt.Fprintf(stdout, "test accuracy %.2f%% on %s\n", 100*acc.(float64), o.Test)
	}
	return nil
}

// testDetector scores an adapted detector on the detection data test
// names, read as the detector reads its input.
func testDetector(ctx context.Context, test string, m *detect.Model, meta checkpoint.Meta, dev torch.Device) (*detect.Evaluation, error) {
	ds, err := data.OpenDetection(test)
	if err != nil {
		return nil, fmt.Errorf("--test: %w", err)
	}
	if err := data.SameClasses(meta.Classes, ds.Classes(), "--test "+test); err != nil {
		return nil, err
	}
	ev, err := scoreDetector(ctx, m, meta, ds, 32, 0, dev)
	if err != nil {
		return nil, fmt.Errorf("--test %s: %w", test, err)
	}
	return ev, nil
}
