package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/graftml/graft/checkpoint"
	"github.com/graftml/graft/data"
	"github.com/graftml/graft/doctor"
	"github.com/graftml/graft/strategy"
	"github.com/spf13/cobra"
)

// DoctorOptions are graft doctor's flags.
type DoctorOptions struct {
	Base     string
	Train    string
	Test     string
	Strategy string
	LR       float64
	BN       string
	Shots    int
	Norm     string
	Size     int
	Seed     uint64
	Engine
}

func newDoctorCmd(g *globals) *cobra.Command {
	o := DoctorOptions{}
	cmd := &cobra.Command{
		Use:   "doctor --base CKPT --train DATA [--test DATA] [flags]",
		Short: "Check a planned transfer for the known pitfalls before training",
		Long: `Check a planned transfer — a base checkpoint, target data, a strategy and
its settings — for the pitfalls that quietly ruin one, and say for each what
is wrong, the measured evidence and the fix:

` + doctor.ChecksHelp() + `

The flags describe the plan as graft transfer would run it; --norm and
--size check a preprocessing other than the checkpoint's. Finding problems
is not an error: the exit status is 0 unless the input is unusable.

Strategies: ` + strategyList() + `

DATA is ` + data.SpecHelp,
		Example: `  graft doctor --base be.json --train de-train/ --test de-test/
  graft doctor --base resnet18.json --train photos/ --strategy probe --lr 1e-2 --json`,
		Args: cobra.NoArgs,
		RunE: runE(g, &o, runDoctor),
	}
	f := cmd.Flags()
	f.StringVar(&o.Base, "base", "", withNote("base", ""))
	f.StringVar(&o.Train, "train", "", withNote("train", ""))
	f.StringVar(&o.Test, "test", "", withNote("test", "checked for duplicates of training images and its class list"))
	f.StringVar(&o.Strategy, "strategy", "finetune", withNote("strategy", "the planned one"))
	f.Float64Var(&o.LR, "lr", 1e-3, withNote("lr", "the planned one"))
	f.StringVar(&o.BN, "bn", doctor.BNFrozen, withNote("bn", "the planned mode"))
	shotsFlag(f, &o.Shots, "the planned number")
	f.StringVar(&o.Norm, "norm", "", withNote("norm", "the planned one, if not the checkpoint's"))
	f.IntVar(&o.Size, "size", 0, withNote("size", "of the model's input, if not the checkpoint's"))
	seedFlag(f, &o.Seed, "samples and the range test")
	engineFlags(f, &o.Engine, false)
	return cmd
}

func runDoctor(ctx context.Context, o DoctorOptions, g *globals, stdout, stderr io.Writer) error {
	if err := required("doctor", o.Base, "--base", o.Train, "--train"); err != nil {
		return err
	}
	if o.BN != doctor.BNFrozen && o.BN != doctor.BNTrain {
		return fmt.Errorf("--bn %q: choose frozen or train", o.BN)
	}
	if err := positive("--lr", o.LR); err != nil {
		return err
	}
	if _, err := strategy.Parse(o.Strategy); err != nil {
		return fmt.Errorf("--strategy: %w", err)
	}
	dev, err := o.start()
	if err != nil {
		return err
	}
	meta, err := checkpoint.ReadMeta(o.Base)
	if err != nil {
		return fmt.Errorf("--base: %w", err)
	}
	pre, err := doctor.PlannedPreprocess(meta, o.Norm, o.Size)
	if err != nil {
		return err
	}
	train, err := openTrain(g, stderr, o.Train, 0)
	if err != nil {
		return err
	}
	plan := doctor.Plan{Base: o.Base, Train: train, Strategy: o.Strategy, LR: o.LR, BN: o.BN, Shots: o.Shots,
		Preprocess: pre, Device: dev, Seed: o.Seed}
	if o.Test != "" {
		test, err := openTest("--test", o.Test)
		if err != nil {
			return err
		}
		if err := data.CheckFiles(test, 0); err != nil {
			return fmt.Errorf("--test: %w", err)
		}
		plan.Test = test
	}
	if !g.quiet {
		fmt.Fprintf(stderr, "doctor: %s from %s on %s at --lr %g (a short range test runs)\n", o.Strategy, o.Base, o.Train, o.LR)
	}
	rep, err := doctor.Run(ctx, plan)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return err
	}
	if g.json {
		return writeJSON(stdout, rep)
	}
	return doctor.Write(stdout, rep)
}
