package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"

	"github.com/graftml/graft/data"
	"github.com/graftml/graft/experiment"
	"github.com/graftml/graft/fit"
	"github.com/graftml/graft/internal/progress"
	"github.com/graftml/graft/internal/safefile"
	"github.com/graftml/graft/nn"
	"github.com/spf13/cobra"
)

// TrainOptions are graft train's flags: experiment.Train's options.
type TrainOptions = experiment.TrainOptions

func newTrainCmd(g *globals) *cobra.Command {
	o := TrainOptions{}
	cmd := &cobra.Command{
		Use:   "train --train DATA --out CKPT [flags]",
		Short: "Train a classifier from scratch or from a checkpoint",
		Long: `Train a classifier on an image data set and save it as a checkpoint
(CKPT.safetensors + CKPT.json).

DATA is ` + data.SpecHelp + `

Without --val, a stratified --val-split of the training set is held out for
validation and early stopping (--patience). On a small set (--refit auto: up
to 10,000 images) that split only chooses the training length: the epoch
with the best validation accuracy, averaged over 5 epochs; a fresh model
(same seed and settings) is then trained on every image for that many
epochs, and that model is saved ("select, then refit"). Otherwise — --val
given, a larger set, or --refit never — the best validation epoch's weights
are kept.`,
		Example: `  graft train --train fashion-mnist --test fashion-mnist --arch smallcnn --epochs 5 --out fmnist
  graft train --train signs/ --from base.json --lr 1e-4 --epochs 10 --out adapted`,
		Args: cobra.NoArgs,
		RunE: runE(g, &o, runTrain, func(cmd *cobra.Command, _ []string) {
			o.ArchSet = cmd.Flags().Changed("arch")
			o.LayoutSet = cmd.Flags().Changed("channels-last")
		}),
	}
	f := cmd.Flags()
	f.StringVar(&o.Arch, "arch", "smallcnn", withNote("arch", ""))
	f.StringVar(&o.From, "from", "", "start from this checkpoint's weights (its classifier is replaced if the classes differ)")
	f.StringVar(&o.Train, "train", "", withNote("train", ""))
	f.StringVar(&o.Val, "val", "", "validation data (default: a split of --train)")
	valSplitFlag(f, &o.ValSplit, "when --val is not given (0 = none)")
	f.StringVar(&o.Refit, "refit", experiment.RefitAuto, "after choosing the epoch count on --val-split, retrain on every image: auto (sets up to 10,000 images), always or never")
	f.StringVar(&o.Test, "test", "", withNote("test", "evaluated once at the end"))
	f.StringVar(&o.Out, "out", "", withNote("out", "the checkpoint to write (required)"))
	f.BoolVar(&o.Resume, "resume", false, "continue an interrupted run of the same command from its last epoch")
	f.IntVar(&o.Epochs, "epochs", 10, withNote("epochs", ""))
	batchFlag(f, &o.Batch)
	f.Float64Var(&o.LR, "lr", 1e-3, withNote("lr", "the peak of --schedule"))
	f.StringVar(&o.Optimizer, "optimizer", "adam", withNote("optimizer", ""))
	f.Float64Var(&o.Momentum, "momentum", 0.9, withNote("momentum", ""))
	f.BoolVar(&o.Nesterov, "nesterov", false, "Nesterov momentum (SGD)")
	f.Float64Var(&o.WeightDecay, "weight-decay", 0, withNote("weight-decay", ""))
	f.StringVar(&o.Schedule, "schedule", "onecycle", "learning-rate schedule: constant, step, cosine, onecycle")
	f.Float64Var(&o.Warmup, "warmup", 0, "linear warm-up as a fraction of the run (constant, step, cosine)")
	f.Float64Var(&o.Clip, "clip", 0, "clip the global gradient norm to this value (0 = off)")
	f.Float64Var(&o.LabelSmoothing, "label-smoothing", 0, "label smoothing in [0,1)")
	f.IntVar(&o.Patience, "patience", 0, withNote("patience", "0 = off"))
	seedFlag(f, &o.Seed, "")
	f.IntVar(&o.Size, "size", 0, withNote("size", "of the model's input (default: the architecture's, or the checkpoint's)"))
	f.IntVar(&o.Channels, "channels", 0, "input channels, 1 or 3 (default: the data's)")
	f.StringVar(&o.Norm, "norm", "", withNote("norm", "default: the architecture's"))
	f.StringVar(&o.Resize, "resize", "stretch", "how images are fitted: stretch, letterbox, crop")
	f.StringVar(&o.Augment, "augment", "none", withNote("augment", ""))
	threadsFlag(f, &o.Threads)
	loaderFlag(f, &o.Workers)
	deviceFlag(f, &o.Device)
	f.BoolVar(&o.ChannelsLast, "channels-last", false, withNote("channels-last", ""))
	precisionFlag(f, &o.Precision, "")
	return cmd
}

func runTrain(ctx context.Context, o TrainOptions, g *globals, stdout, stderr io.Writer) error {
	if err := required("train", o.Train, "--train", o.Out, "--out"); err != nil {
		return err
	}
	if err := firstErr(atLeast("--epochs", o.Epochs, 1), atLeast("--batch", o.Batch, 1), fraction("--val-split", o.ValSplit, true),
		positive("--lr", o.LR), atLeast("--patience", o.Patience, 0)); err != nil {
		return err
	}
	if err := safefile.CheckDir(filepath.Dir(o.Out)); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	if o.Refit == "" {
		o.Refit = experiment.RefitAuto
	}
	if err := o.Validate(); err != nil {
		return err
	}
	dev, err := engine(o.Threads, o.Device)
	if err != nil {
		return err
	}
	if err := checkPrecision(&o.Precision, dev); err != nil {
		return err
	}
	tr, err := experiment.Train(ctx, o, experiment.TrainHooks{Device: dev, Events: progress.NewTrain(stderr, g.quiet),
		Say:    func(format string, a ...any) { say(g, stderr, format, a...) },
		Opened: func(ds data.Dataset) { noteGaps(stderr, g.quiet, "--train", ds) }})
	if err != nil {
		return err
	}
	defer tr.Model.Free()
	result, rr := tr.Result, tr.Refit
	out := map[string]any{"checkpoint": o.Out, "epochs": result.Epochs, "best_epoch": result.BestEpoch,
		"train_seconds": result.Seconds, "resumed": tr.Resumed, "history": result.History, "refit": rr}
	if o.Test != "" {
		ev, err := testOn(ctx, o.Test, tr.Model, tr.Preprocess, tr.Classes, tr.Config, o.Workers)
		if err != nil {
			return err
		}
		out["test_accuracy"] = ev.Confusion.Accuracy()
		out["test_macro_f1"] = ev.Confusion.MacroF1()
		out["test_loss"] = ev.Loss
	}
	if g.json {
		return writeJSON(stdout, out)
	}
	if rr.Selection != nil {
		fmt.Fprintf(stdout, "saved %s (refit on all %s images for %s chosen on validation; %.1fs + %.1fs)\n",
			o.Out, experiment.Thousands(rr.Images), experiment.Plural(rr.Epochs, "epoch"), rr.Selection.Seconds, result.Seconds)
	} else {
		fmt.Fprintf(stdout, "saved %s (%d epochs, best epoch %d, %.1fs)\n", o.Out, result.Epochs, result.BestEpoch, result.Seconds)
	}
	if acc, ok := out["test_accuracy"]; ok {
		fmt.Fprintf(stdout, "test accuracy %.2f%%, macro-F1 %.4f on %s\n", 100*acc.(float64), out["test_macro_f1"], o.Test)
	}
	return nil
}

// say writes a line of chatter on stderr, unless --quiet.
func say(g *globals, stderr io.Writer, format string, a ...any) {
	if !g.quiet {
		fmt.Fprintf(stderr, format, a...)
	}
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// testOn scores a model on the --test data it names.
func testOn(ctx context.Context, spec string, m *nn.Model, pre data.Preprocess, classes []string, cfg fit.Config, workers int) (*fit.Evaluation, error) {
	test, err := openTest("--test", spec)
	if err != nil {
		return nil, err
	}
	ev, err := evaluateOn(ctx, m, test, pre, classes, cfg, workers)
	if err != nil {
		return nil, fmt.Errorf("--test %s: %w", spec, err)
	}
	return ev, nil
}

// evaluateOn scores a model on a data set with the model's preprocessing.
func evaluateOn(ctx context.Context, m *nn.Model, ds data.Dataset, pre data.Preprocess, classes []string, cfg fit.Config, workers int) (*fit.Evaluation, error) {
	if err := data.SameClasses(classes, ds.Classes(), "the evaluation set"); err != nil {
		return nil, err
	}
	l, err := data.NewLoader(ds, data.LoaderConfig{BatchSize: max(cfg.BatchSize, 64), Workers: workers, Preprocess: pre})
	if err != nil {
		return nil, err
	}
	return fit.Evaluate(ctx, m, l, cfg)
}
