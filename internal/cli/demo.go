package cli

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/graftml/graft/arch"
	"github.com/graftml/graft/checkpoint"
	"github.com/graftml/graft/data"
	"github.com/graftml/graft/experiment"
	"github.com/graftml/graft/fit"
	"github.com/graftml/graft/internal/buildinfo"
	"github.com/graftml/graft/internal/safefile"
	"github.com/graftml/graft/optim"
	"github.com/graftml/graft/report"
	"github.com/graftml/graft/strategy"
	"github.com/graftml/graft/synth"
	"github.com/graftml/graft/torch"
	"github.com/spf13/cobra"
)

// The demo's comparison: shots per class and epoch budget.
const (
	demoShots  = 10
	demoEpochs = 30
)

// DemoOptions are graft demo's flags.
type DemoOptions struct {
	Out     string
	Source  string
	Target  string
	Threads int
}

func newDemoCmd(g *globals) *cobra.Command {
	o := DemoOptions{}
	cmd := &cobra.Command{
		Use:   "demo [--out DIR]",
		Short: "Pretrain on one country's signs, then compare strategies on another's",
		Long: `The whole story on embedded synthetic data, no download: pretrain the small
CNN on one country's traffic signs, then compare the main transfer strategies
on another country's signs with 10 examples per class and 3 seeds, and write
the leaderboard (with each margin's interval, and ties) and an HTML report.
About 6–7 minutes on 2 cores (measured: 385 s).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDemo(cmd.Context(), o, g, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Out, "out", "demo-out", withNote("out", "the folder to write"))
	f.StringVar(&o.Source, "source", "be", "country to pretrain on")
	f.StringVar(&o.Target, "target", "se", "country to transfer to (se: yellow fills, a far target; de: a near one)")
	threadsFlag(f, &o.Threads)
	return cmd
}

func runDemo(ctx context.Context, o DemoOptions, g *globals, stdout, stderr io.Writer) error {
	start := time.Now()
	if err := safefile.CheckDir(o.Out); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	if err := torch.SetNumThreads(max(o.Threads, 1)); err != nil {
		return err
	}
	say := func(format string, a ...any) {
		if !g.quiet {
			fmt.Fprintf(stderr, "== "+format+"\n", a...)
		}
	}
	const size = 32
	pre := data.Preprocess{Size: size, Channels: 3, Norm: data.NormImageNet}
	// Source: plenty of signs of one country. Target: another country at
	// full style shift; the shared classes keep the labels aligned.
	src, err := synth.New(synth.Config{Country: o.Source, Classes: []string{"shared"}, PerClass: 60, Size: size, Seed: 11, Shift: 1, Difficulty: 0.5})
	if err != nil {
		return fmt.Errorf("--source: %w", err)
	}
	tgtTrain, tgtTest, err := synth.Split(synth.Config{Country: o.Target, Classes: []string{"shared"}, PerClass: 25, Size: size, Seed: 22, Shift: 1, Difficulty: 0.5}, 20)
	if err != nil {
		return fmt.Errorf("--target: %w", err)
	}

	say("pretraining smallcnn on %d %q signs (%d classes)", src.Len(), o.Source, len(src.Classes()))
	basePath := filepath.Join(o.Out, "base-"+o.Source)
	if err := pretrainDemo(ctx, src, pre, basePath, stderr, g.quiet); err != nil {
		return err
	}

	base, err := experiment.LoadBase(basePath)
	if err != nil {
		return err
	}
	// Four strategies, one shots setting, three seeds: enough for a verdict
	// with its interval (and a tie where the data cannot separate two)
	// within the demo's ten minutes on 2 cores.
	names := []string{strategy.Scratch.Name, strategy.Probe.Name, strategy.Freeze.At(2).Name, strategy.Finetune.Name}
	var strats []strategy.Strategy
	for _, n := range names {
		s, err := strategy.Parse(n)
		if err != nil {
			return err
		}
		strats = append(strats, s)
	}
	shots := []int{demoShots}
	grid := []float64{3e-3, 1e-3}
	const seeds, epochs = 3, demoEpochs
	cmpOut := filepath.Join(o.Out, "compare")
	spec := experiment.Spec{Base: basePath, BaseSHA256: base.Meta.SHA256, Arch: base.Meta.Arch, Train: "synth:" + o.Target + " (25 per class)", Test: "synth:" + o.Target + " (20 per class)",
		Classes: tgtTrain.Classes(), Strategies: names, Shots: shots, Seeds: seeds, Epochs: epochs, LRGrid: grid}
	say("comparing %d strategies on %q signs with %v shots per class, %d seeds; rates from %v, extended when the best is at an edge", len(names), o.Target, shots, seeds, grid)
	prog := newCompareProgress(stderr, g.quiet, len(names)*len(shots)*seeds)
	res, err := experiment.Compare(ctx, experiment.Config{
		Base: base, Train: tgtTrain, Test: tgtTest, Strategies: strats, Shots: shots, Seeds: seeds,
		Budget: strategy.Budget{Epochs: epochs, Patience: 5}, LRGrid: grid, Batch: 32, Out: cmpOut, Spec: spec,
		Command: "graft demo --out " + o.Out + " --source " + o.Source + " --target " + o.Target,
		Env: experiment.Env{Graft: buildinfo.Version(), Torch: torch.Version(), Device: "cpu", Threads: torch.NumThreads(),
			Commit: buildinfo.Commit(), Started: start.UTC().Format(time.RFC3339)},
		// Two runs side by side: small models on small batches use two
		// cores better that way than with one run on two threads, and the
		// results do not depend on it.
		Workers:  2,
		Progress: prog,
	})
	prog.finish()
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return err
	}
	if err := report.WriteAll(cmpOut, res); err != nil {
		return err
	}
	if err := report.Leaderboard(stdout, res); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nreport: %s  (%.0fs in all)\n", filepath.Join(cmpOut, "report.html"), time.Since(start).Seconds())
	return nil
}

// pretrainDemo trains the source model, or keeps one a previous demo run
// already made (the demo resumes like every graft command).
func pretrainDemo(ctx context.Context, src *synth.Set, pre data.Preprocess, path string, stderr io.Writer, quiet bool) error {
	if _, err := checkpoint.ReadMeta(path); err == nil {
		return nil
	}
	torch.ManualSeed(1)
	m, err := arch.New("smallcnn", arch.Config{NumClasses: len(src.Classes()), InChannels: 3})
	if err != nil {
		return err
	}
	defer m.Free()
	tr, va, err := data.StratifiedSplit(src, 0.1, 1)
	if err != nil {
		return err
	}
	tl, err := data.NewLoader(tr, data.LoaderConfig{BatchSize: 64, Shuffle: true, DropLast: true, Seed: 1, Preprocess: pre, CacheDecoded: true})
	if err != nil {
		return err
	}
	vl, err := data.NewLoader(va, data.LoaderConfig{BatchSize: 128, Preprocess: pre, CacheDecoded: true})
	if err != nil {
		return err
	}
	cfg := fit.Config{Epochs: 15, Seed: 1, Optimizer: optim.Config{Name: "adam", LR: 3e-3}}
	res := &fit.Resumer{Path: path + ".resume", Fingerprint: "demo-pretrain-v1", Continue: true,
		Meta: checkpoint.Meta{Classes: src.Classes(), Preprocess: pre}}
	if _, err := fit.Train(ctx, fit.Run{Model: m, Train: tl, Val: vl, Config: cfg, Events: newTrainProgress(stderr, quiet), Resume: res}); err != nil {
		return err
	}
	return checkpoint.Save(path, m, checkpoint.Meta{Classes: src.Classes(), Preprocess: pre}, nil)
}
