package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/graftml/graft/data"
	"github.com/graftml/graft/fit"
	"github.com/graftml/graft/metrics"
	"github.com/spf13/cobra"
)

// EvalOptions are graft eval's flags.
type EvalOptions struct {
	Checkpoint string
	Data       string
	Batch      int
	Engine
}

func newEvalCmd(g *globals) *cobra.Command {
	o := EvalOptions{}
	cmd := &cobra.Command{
		Use:   "eval CKPT --data DATA",
		Short: "Score a checkpoint: accuracy, per-class accuracy, confusion matrix",
		Long: `Evaluate a checkpoint on labelled data, preprocessed as the checkpoint says.

DATA is ` + data.SpecHelp,
		Example: `  graft eval fmnist --data fashion-mnist
  graft eval adapted.json --data signs-test/ --json`,
		Args: cobra.ExactArgs(1),
		RunE: runE(g, &o, runEval, func(cmd *cobra.Command, args []string) {
			o.Checkpoint = args[0]
		}),
	}
	f := cmd.Flags()
	f.StringVar(&o.Data, "data", "", "labelled data to evaluate on (required; sets with a train/test split use the test part)")
	batchFlag(f, &o.Batch)
	engineFlags(f, &o.Engine, true)
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
	ck, dev, err := o.load(o.Checkpoint)
	if err != nil {
		return err
	}
	defer ck.Model.Free()
	ds, err := data.Open(o.Data, data.TestPart)
	if err != nil {
		return fmt.Errorf("--data: %w", err)
	}
	cfg := fit.Config{BatchSize: o.Batch, Device: dev}
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
