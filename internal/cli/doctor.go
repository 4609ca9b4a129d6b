package cli

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"strings"

	"github.com/graftml/graft/checkpoint"
	"github.com/graftml/graft/data"
	"github.com/graftml/graft/doctor"
	"github.com/graftml/graft/nn"
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
	Threads  int
	Device   string
}

func newDoctorCmd(g *globals) *cobra.Command {
	o := DoctorOptions{}
	cmd := &cobra.Command{
		Use:   "doctor --base CKPT --train DATA [--test DATA] [flags]",
		Short: "Check a planned transfer for the known pitfalls before training",
		Long: `Check a planned transfer — a base checkpoint, target data, a strategy and
its settings — for the pitfalls that quietly ruin one, and say for each what
is wrong, the measured evidence and the fix:

` + doctorChecks() + `

The flags describe the plan as graft transfer would run it; --norm and
--size check a preprocessing other than the checkpoint's. Finding problems
is not an error: the exit status is 0 unless the input is unusable.

Strategies: ` + strategyList() + `

DATA is ` + datasetHelp,
		Example: `  graft doctor --base be.json --train de-train/ --test de-test/
  graft doctor --base resnet18.json --train photos/ --strategy probe --lr 1e-2 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDoctor(cmd.Context(), o, g, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Base, "base", "", "source checkpoint (required)")
	f.StringVar(&o.Train, "train", "", "target training data (required)")
	f.StringVar(&o.Test, "test", "", "target test data (checked for duplicates of training images and its class list)")
	f.StringVar(&o.Strategy, "strategy", "finetune", "planned transfer strategy")
	f.Float64Var(&o.LR, "lr", 1e-3, "planned base learning rate (Adam)")
	f.StringVar(&o.BN, "bn", doctor.BNFrozen, "planned BatchNorm mode in frozen stages: frozen or train")
	f.IntVar(&o.Shots, "shots", 0, "planned images per class (0 = all)")
	f.StringVar(&o.Norm, "norm", "", "planned normalisation, if not the checkpoint's: unit, symmetric, imagenet, caffe")
	f.IntVar(&o.Size, "size", 0, "planned input side in pixels, if not the checkpoint's")
	f.Uint64Var(&o.Seed, "seed", 1, "random seed (samples, the range test)")
	f.IntVar(&o.Threads, "threads", runtime.NumCPU(), "libtorch compute threads")
	f.StringVar(&o.Device, "device", "cpu", "cpu, cuda or cuda:N")
	return cmd
}

// doctorChecks lists the checks for --help.
func doctorChecks() string {
	var b strings.Builder
	for _, c := range doctor.Checks {
		fmt.Fprintf(&b, "  %-14s %s\n", c.Name, c.Doc)
	}
	return strings.TrimRight(b.String(), "\n")
}

func runDoctor(ctx context.Context, o DoctorOptions, g *globals, stdout, stderr io.Writer) error {
	if err := required("doctor", o.Base, "--base", o.Train, "--train"); err != nil {
		return err
	}
	if o.BN != doctor.BNFrozen && o.BN != doctor.BNTrain {
		return fmt.Errorf("--bn %q: choose frozen or train", o.BN)
	}
	if !(o.LR > 0) {
		return fmt.Errorf("--lr %g: the learning rate must be positive", o.LR)
	}
	if o.Shots < 0 {
		return fmt.Errorf("--shots %d: give images per class, or 0 for all", o.Shots)
	}
	if _, err := strategy.Parse(o.Strategy); err != nil {
		return fmt.Errorf("--strategy: %w", err)
	}
	dev, err := engine(o.Threads, o.Device)
	if err != nil {
		return err
	}
	meta, err := checkpoint.ReadMeta(o.Base)
	if err != nil {
		return fmt.Errorf("--base: %w", err)
	}
	var pre *data.Preprocess
	if o.Norm != "" || o.Size != 0 {
		p := meta.Preprocess
		if o.Norm != "" {
			p.Norm, p.Mean, p.Std = o.Norm, nil, nil
		}
		if o.Size != 0 {
			p.Size, p.Height, p.Width = o.Size, 0, 0
		}
		if err := p.Validate(); err != nil {
			return fmt.Errorf("--norm/--size: %w", err)
		}
		shape := &nn.Model{Arch: meta.Arch}
		for _, s := range meta.Stages {
			shape.Stages = append(shape.Stages, &nn.Stage{Name: s.Name, Reduction: s.Reduction})
		}
		if err := checkInputSize(shape, p); err != nil {
			return err
		}
		pre = &p
	}
	train, err := openTrainSet(o.Train, 0)
	if err != nil {
		return err
	}
	plan := doctor.Plan{Base: o.Base, Train: train, Strategy: o.Strategy, LR: o.LR, BN: o.BN, Shots: o.Shots,
		Preprocess: pre, Device: dev, Seed: o.Seed}
	if o.Test != "" {
		test, err := openDataset(o.Test, false)
		if err != nil {
			return fmt.Errorf("--test: %w", err)
		}
		if err := checkFiles(test, 0); err != nil {
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
