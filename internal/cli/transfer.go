package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"runtime"

	"github.com/graftml/graft/checkpoint"
	"github.com/graftml/graft/data"
	"github.com/graftml/graft/experiment"
	"github.com/graftml/graft/fit"
	"github.com/graftml/graft/internal/safefile"
	"github.com/graftml/graft/strategy"
	"github.com/spf13/cobra"
)

// TransferOptions are graft transfer's flags.
type TransferOptions struct {
	Base     string
	Strategy string
	Train    string
	Test     string
	Out      string
	Epochs   int
	Patience int
	LR       float64
	ValSplit float64
	Batch    int
	Seed     uint64
	ClassMap string
	BN       string
	Threads  int
	Device   string
}

func newTransferCmd(g *globals) *cobra.Command {
	o := TransferOptions{}
	cmd := &cobra.Command{
		Use:   "transfer --base CKPT --strategy S --train DATA --out CKPT [flags]",
		Short: "Adapt a checkpoint to new data with one strategy",
		Long: `Adapt a source checkpoint to a target data set with one strategy and save
the result. graft compare measures which strategy to choose.

Strategies: ` + strategyList() + `

DATA is ` + datasetHelp,
		Example: `  graft transfer --base be.json --strategy lpft --train de-train/ --test de-test/ --out de
  graft transfer --base be.json --strategy freeze:2+l2sp --train de-train/ --lr 1e-3 --out de`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runTransfer(cmd.Context(), o, g, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Base, "base", "", "source checkpoint (required)")
	f.StringVar(&o.Strategy, "strategy", "lpft", "transfer strategy")
	f.StringVar(&o.Train, "train", "", "target training data (required)")
	f.StringVar(&o.Test, "test", "", "target test data, evaluated at the end")
	f.StringVar(&o.Out, "out", "", "checkpoint to write (required)")
	f.IntVar(&o.Epochs, "epochs", 30, "maximum epochs")
	f.IntVar(&o.Patience, "patience", 5, "epochs without validation improvement that end a phase")
	f.Float64Var(&o.LR, "lr", 1e-3, "base learning rate (Adam); pretrained stages train at a fraction of it")
	f.Float64Var(&o.ValSplit, "val-split", 0.2, "fraction of --train held out for validation")
	f.IntVar(&o.Batch, "batch", 32, "batch size")
	f.Uint64Var(&o.Seed, "seed", 1, "random seed")
	f.StringVar(&o.ClassMap, "class-map", "", "CSV of target,source classes: those head rows start from the source head")
	f.StringVar(&o.BN, "bn", "frozen", "BatchNorm in frozen stages: frozen or train")
	f.IntVar(&o.Threads, "threads", runtime.NumCPU(), "libtorch compute threads")
	f.StringVar(&o.Device, "device", "cpu", "cpu, cuda or cuda:N")
	return cmd
}

func runTransfer(ctx context.Context, o TransferOptions, g *globals, stdout, stderr io.Writer) error {
	if err := required("transfer", o.Base, "--base", o.Train, "--train", o.Out, "--out"); err != nil {
		return err
	}
	if err := safefile.CheckDir(filepath.Dir(o.Out)); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	dev, err := engine(o.Threads, o.Device)
	if err != nil {
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
	if _, err := strategy.Expand(s.Name, base.Shape()); err != nil {
		return fmt.Errorf("--strategy: %w", err)
	}
	train, err := openTrainSet(o.Train, 0)
	if err != nil {
		return err
	}
	var classMap []int
	if o.ClassMap != "" {
		if classMap, err = experiment.ReadClassMap(o.ClassMap, train.Classes(), base.Meta.Classes); err != nil {
			return fmt.Errorf("--class-map: %w", err)
		}
	}
	tr, va, err := data.StratifiedSplit(train, o.ValSplit, o.Seed)
	if err != nil {
		return fmt.Errorf("--val-split: %w", err)
	}
	pre := base.Meta.Preprocess
	batch, dropLast := experiment.FewShotBatch(o.Batch, tr.Len())
	tl, err := data.NewLoader(tr, data.LoaderConfig{BatchSize: batch, Shuffle: true, DropLast: dropLast, Seed: o.Seed, Preprocess: pre, CacheDecoded: fitsInCache(tr.Len(), pre)})
	if err != nil {
		return err
	}
	vl, err := data.NewLoader(va, data.LoaderConfig{BatchSize: 64, Preprocess: pre, CacheDecoded: fitsInCache(va.Len(), pre)})
	if err != nil {
		return err
	}
	trial := experiment.Trial{Base: base, Strategy: s, Train: tl, Val: vl, Classes: len(train.Classes()), Seed: o.Seed,
		LR: o.LR, Budget: strategy.Budget{Epochs: o.Epochs, Patience: o.Patience}, Batch: o.Batch, ClassMap: classMap,
		Events: newTrainProgress(stderr, g.quiet), TrainBN: o.BN == "train", Device: dev}
	out, err := trial.Run(ctx)
	if err != nil {
		return err
	}
	if out.Status != "ok" {
		return fmt.Errorf("%s diverged at --lr %g: lower the learning rate", s.Name, o.LR)
	}
	defer out.Model.Free()
	meta := checkpoint.Meta{Classes: train.Classes(), Preprocess: pre}
	if plan, _ := s.Plan(base.Shape(), trial.Budget); plan.CutAfter > 0 {
		k := plan.CutAfter - 1
		meta.CutAfter = &k
	}
	if base.Meta.CutAfter != nil && meta.CutAfter == nil {
		meta.CutAfter = base.Meta.CutAfter
	}
	rec, _ := json.Marshal(map[string]any{"strategy": s.Name, "base": o.Base, "lr": o.LR, "result": out.Result})
	meta.Training = rec
	if err := checkpoint.Save(o.Out, out.Model, meta, nil); err != nil {
		return err
	}
	summary := map[string]any{"checkpoint": o.Out, "strategy": s.Name, "epochs": out.Result.Epochs,
		"best_epoch": out.Result.BestEpoch, "val_accuracy": out.ValAcc, "trainable_params": out.Trainable}
	if o.Test != "" {
		test, err := openDataset(o.Test, false)
		if err != nil {
			return fmt.Errorf("--test: %w", err)
		}
		ev, err := evaluateOn(ctx, out.Model, test, pre, train.Classes(), fit.Config{BatchSize: 64, Device: dev}, 0)
		if err != nil {
			return fmt.Errorf("--test %s: %w", o.Test, err)
		}
		summary["test_accuracy"], summary["test_macro_f1"] = ev.Confusion.Accuracy(), ev.Confusion.MacroF1()
	}
	if g.json {
		return writeJSON(stdout, summary)
	}
	fmt.Fprintf(stdout, "saved %s: %s, %d epochs (best %d), validation accuracy %.2f%%\n", o.Out, s.Name, out.Result.Epochs, out.Result.BestEpoch, 100*out.ValAcc)
	if acc, ok := summary["test_accuracy"]; ok {
		fmt.Fprintf(stdout, "test accuracy %.2f%% on %s\n", 100*acc.(float64), o.Test)
	}
	return nil
}
