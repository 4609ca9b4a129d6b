package cli

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/graftml/graft/data"
	"github.com/graftml/graft/experiment"
	"github.com/graftml/graft/internal/progress"
	"github.com/graftml/graft/internal/safefile"
	"github.com/graftml/graft/lrfind"
	"github.com/graftml/graft/optim"
	"github.com/graftml/graft/strategy"
	"github.com/spf13/cobra"
)

// LRFindOptions are graft lr-find's flags.
type LRFindOptions struct {
	Base        string
	Train       string
	Strategy    string
	Start, End  float64
	Steps       int
	Batch       int
	Optimizer   string
	Momentum    float64
	WeightDecay float64
	Augment     string
	Plot        string
	Seed        uint64
	Engine
}

func newLRFindCmd(g *globals) *cobra.Command {
	o := LRFindOptions{}
	cmd := &cobra.Command{
		Use:   "lr-find --base CKPT --train DATA [flags]",
		Short: "Find a learning rate with the range test (Smith 2015, fastai's lr_find)",
		Long: `Train a checkpoint for a few mini-batches while the learning rate grows
exponentially from --start to --end, recording the smoothed loss, and
suggest a rate: where the loss falls fastest (steepest), and the rate at the
minimum loss divided by 10 (min/10). The test stops early once the loss
diverges. The checkpoint is not changed.

The model is the one --strategy starts from in graft transfer and compare
(a new classifier for the data's classes, cut and standardised as the
strategy's plan says), trained at the relative rates of the plan's first
phase (finetune: the body at a tenth of the head's rate; probe: the head
alone), so the suggested rate is the one --lr means there.

DATA is ` + data.SpecHelp,
		Example: `  graft lr-find --base fmnist.json --train signs/ --plot lr
  graft lr-find --base be.json --train de-train/ --strategy probe --json`,
		Args: cobra.NoArgs,
		RunE: runE(g, &o, runLRFind),
	}
	f := cmd.Flags()
	f.StringVar(&o.Base, "base", "", withNote("base", ""))
	f.StringVar(&o.Train, "train", "", withNote("train", ""))
	f.StringVar(&o.Strategy, "strategy", strategy.Finetune.Name, withNote("strategy", "the model it starts from and the rates of its first phase, as graft transfer trains it"))
	f.Float64Var(&o.Start, "start", 1e-7, "first learning rate")
	f.Float64Var(&o.End, "end", 10, "last learning rate")
	f.IntVar(&o.Steps, "steps", 100, withNote("steps", "mini-batches, one learning rate each"))
	batchFlag(f, &o.Batch)
	f.StringVar(&o.Optimizer, "optimizer", "adam", withNote("optimizer", ""))
	f.Float64Var(&o.Momentum, "momentum", 0.9, withNote("momentum", ""))
	f.Float64Var(&o.WeightDecay, "weight-decay", 0, withNote("weight-decay", ""))
	f.StringVar(&o.Augment, "augment", "none", withNote("augment", ""))
	f.StringVar(&o.Plot, "plot", "", withNote("plot", "the loss curve"))
	seedFlag(f, &o.Seed, "batch order, dropout, the new classifier")
	engineFlags(f, &o.Engine, true)
	return cmd
}

// LRFindReport is graft lr-find's JSON output.
type LRFindReport struct {
	Base     string `json:"base"`
	Train    string `json:"train"`
	Strategy string `json:"strategy"`
	*lrfind.Result
	Plot []string `json:"plot,omitempty"`
}

func runLRFind(ctx context.Context, o LRFindOptions, g *globals, stdout, stderr io.Writer) error {
	if err := required("lr-find", o.Base, "--base", o.Train, "--train"); err != nil {
		return err
	}
	s, err := strategy.Parse(o.Strategy)
	if err != nil {
		return fmt.Errorf("--strategy: %w", err)
	}
	plotBase := strings.TrimSuffix(strings.TrimSuffix(o.Plot, ".svg"), ".png")
	if o.Plot != "" {
		if err := safefile.CheckDir(filepath.Dir(plotBase)); err != nil {
			return fmt.Errorf("--plot: %w", err)
		}
	}
	opt := optim.Config{Name: o.Optimizer, WeightDecay: o.WeightDecay}
	if strings.EqualFold(o.Optimizer, "sgd") {
		opt.Momentum = o.Momentum
	}
	if err := atLeast("--batch", o.Batch, 1); err != nil {
		return err
	}
	cfg := lrfind.Config{Start: o.Start, End: o.End, Steps: o.Steps, Optimizer: opt, Seed: o.Seed}
	if err := cfg.WithDefaults().Validate(); err != nil {
		return err
	}
	aug, err := data.AugmentPreset(o.Augment)
	if err != nil {
		return fmt.Errorf("--augment: %w", err)
	}
	dev, err := o.start()
	if err != nil {
		return err
	}
	ds, err := openTrain(g, stderr, o.Train, o.Workers)
	if err != nil {
		return err
	}
	classes := ds.Classes()
	base, err := experiment.LoadBase(o.Base)
	if err != nil {
		return fmt.Errorf("--base: %w", err)
	}
	if _, err := strategy.Expand(s.Name, base.Shape()); err != nil {
		return fmt.Errorf("--strategy: %w", err)
	}
	cfg.Device = dev
	if !g.quiet {
		fmt.Fprintf(stderr, "lr-find on %s (a new classifier for %d classes) with %s, %s, %.2g → %.2g over %d steps of %d images\n",
			o.Base, len(classes), o.Train, s.Name, o.Start, o.End, o.Steps, o.Batch)
	}
	bar := progress.NewSteps(stderr, g.quiet, o.Steps)
	cfg.Progress = func(step, _ int, lr, loss float64) { bar.Set(step, fmt.Sprintf("lr %.2e loss %.4f", lr, loss)) }
	res, err := experiment.RangeTest(ctx, base, s, experiment.RangeInput{Train: ds, Batch: o.Batch, Workers: o.Workers, Augment: aug}, cfg)
	bar.Finish()
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return err
	}
	rep := LRFindReport{Base: o.Base, Train: o.Train, Strategy: o.Strategy, Result: res}
	if o.Plot != "" {
		svg, png, err := lrfind.Plot(res, fmt.Sprintf("lr-find: %s on %s (%s)", filepath.Base(o.Base), filepath.Base(o.Train), o.Strategy))
		if err != nil {
			return err
		}
		if rep.Plot, err = writePlot(plotBase, svg, png); err != nil {
			return err
		}
	}
	if g.json {
		return writeJSON(stdout, rep)
	}
	fmt.Fprintf(stdout, "suggested learning rate %.2e (steepest descent of the loss)\n", res.Suggested)
	fmt.Fprintf(stdout, "min/10                  %.2e (rate at the minimum loss, divided by 10)\n", res.MinOver10)
	fmt.Fprintf(stdout, "%d steps, %s\n", len(res.LRs), res.Stopped)
	if len(rep.Plot) > 0 {
		fmt.Fprintf(stdout, "plot: %s\n", strings.Join(rep.Plot, ", "))
	}
	return nil
}

// writePlot writes a plot as base.svg and base.png, and returns their paths.
func writePlot(base string, svg, png []byte) ([]string, error) {
	paths := []string{base + ".svg", base + ".png"}
	for i, b := range [][]byte{svg, png} {
		if err := safefile.WriteBytes(paths[i], b); err != nil {
			return nil, fmt.Errorf("--plot: %w", err)
		}
	}
	return paths, nil
}
