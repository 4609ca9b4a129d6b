package experiment

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/graftml/graft/arch"
	"github.com/graftml/graft/checkpoint"
	"github.com/graftml/graft/data"
	"github.com/graftml/graft/fit"
	"github.com/graftml/graft/optim"
	"github.com/graftml/graft/strategy"
	"github.com/graftml/graft/synth"
	"github.com/graftml/graft/torch"
)

// The demo's comparison: shots per class and epoch budget.
const (
	DemoShots  = 10
	DemoEpochs = 30
)

// DemoOptions are the settings of graft demo's story.
type DemoOptions struct {
	Out    string // the folder: the source model, and the comparison in Out/compare
	Source string // the country pretrained on
	Target string // the country transferred to
	Device torch.Device
	// Env and Command go into the comparison's results as they are.
	Env     Env
	Command string
}

// DemoHooks are what the demo tells on the way; every field may be zero.
type DemoHooks struct {
	Say      func(format string, a ...any) // one line per step
	Pretrain fit.Events                    // the source model's training
	// NewProgress, when set, gives the progress of the comparison's runs
	// (runs of them in all).
	NewProgress func(runs int) Progress
}

// Demo is the whole story on synthetic data, no download: pretrain the
// small CNN on one country's traffic signs (kept in Out and reused when
// rerun), then compare the main strategies on another country's signs with
// DemoShots images per class and 3 seeds (resumed when rerun, as Compare
// is). It returns the comparison and the folder it is in; the reports are
// the caller's.
func Demo(ctx context.Context, o DemoOptions, h DemoHooks) (*Results, string, error) {
	say := h.Say
	if say == nil {
		say = func(string, ...any) {}
	}
	const size = 32
	pre := data.Preprocess{Size: size, Channels: 3, Norm: data.NormImageNet}
	// Source: plenty of signs of one country. Target: another country at
	// full style shift; the shared classes keep the labels aligned.
	src, err := synth.New(synth.Config{Country: o.Source, Classes: []string{"shared"}, PerClass: 60, Size: size, Seed: 11, Shift: 1, Difficulty: 0.5})
	if err != nil {
		return nil, "", fmt.Errorf("--source: %w", err)
	}
	tgtTrain, tgtTest, err := synth.Split(synth.Config{Country: o.Target, Classes: []string{"shared"}, PerClass: 25, Size: size, Seed: 22, Shift: 1, Difficulty: 0.5}, 20)
	if err != nil {
		return nil, "", fmt.Errorf("--target: %w", err)
	}

	say("pretraining smallcnn on %d %q signs (%d classes)", src.Len(), o.Source, len(src.Classes()))
	basePath := filepath.Join(o.Out, "base-"+o.Source)
	if err := pretrainDemo(ctx, src, pre, basePath, o.Device, h.Pretrain); err != nil {
		return nil, "", err
	}

	base, err := LoadBase(basePath)
	if err != nil {
		return nil, "", err
	}
	// Four strategies, one shots setting, three seeds: enough for a verdict
	// with its interval (and a tie where the data cannot separate two)
	// within the demo's ten minutes on 2 cores.
	names, strats, err := demoStrategies()
	if err != nil {
		return nil, "", err
	}
	shots := []int{DemoShots}
	grid := []float64{3e-3, 1e-3}
	const seeds, epochs = 3, DemoEpochs
	cmpOut := filepath.Join(o.Out, "compare")
	spec := Spec{Base: basePath, BaseSHA256: base.Meta.SHA256, Arch: base.Meta.Arch, Train: "synth:" + o.Target + " (25 per class)", Test: "synth:" + o.Target + " (20 per class)",
		Classes: tgtTrain.Classes(), Strategies: names, Shots: shots, Seeds: seeds, Epochs: epochs, LRGrid: grid}
	var prog Progress
	if h.NewProgress != nil {
		prog = h.NewProgress(len(names) * len(shots) * seeds)
	}
	say("comparing %d strategies on %q signs with %v shots per class, %d seeds; rates from %v, extended when the best is at an edge", len(names), o.Target, shots, seeds, grid)
	res, err := Compare(ctx, Config{
		Base: base, Train: tgtTrain, Test: tgtTest, Strategies: strats, Shots: shots, Seeds: seeds,
		Budget: strategy.Budget{Epochs: epochs, Patience: 5}, LRGrid: grid, Batch: 32, Out: cmpOut, Spec: spec,
		Command: o.Command, Env: o.Env, Device: o.Device,
		// Two runs side by side: small models on small batches use two
		// cores better that way than with one run on two threads, and the
		// results do not depend on it.
		Workers:  2,
		Progress: prog,
	})
	return res, cmpOut, err
}

// demoStrategies are the four strategies both demos compare: from nothing
// learnt (scratch) to everything moved (finetune), with a frozen base and
// a partly frozen one between.
func demoStrategies() ([]string, []strategy.Strategy, error) {
	names := []string{strategy.Scratch.Name, strategy.Probe.Name, strategy.Freeze.At(2).Name, strategy.Finetune.Name}
	strats := make([]strategy.Strategy, len(names))
	for i, n := range names {
		s, err := strategy.Parse(n)
		if err != nil {
			return nil, nil, err
		}
		strats[i] = s
	}
	return names, strats, nil
}

// pretrainDemo trains the source model, or keeps one a previous demo run
// already made (the demo resumes like every graft command).
func pretrainDemo(ctx context.Context, src *synth.Set, pre data.Preprocess, path string, dev torch.Device, events fit.Events) error {
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
	cfg := fit.Config{Epochs: 15, Seed: 1, Optimizer: optim.Config{Name: "adam", LR: 3e-3}, Device: dev}
	res := &fit.Resumer{Path: path + ".resume", Fingerprint: "demo-pretrain-v1", Continue: true,
		Meta: checkpoint.Meta{Classes: src.Classes(), Preprocess: pre}}
	if _, err := fit.Train(ctx, fit.Run{Model: m, Train: tl, Val: vl, Config: cfg, Events: events, Resume: res}); err != nil {
		return err
	}
	return checkpoint.Save(path, m, checkpoint.Meta{Classes: src.Classes(), Preprocess: pre}, nil)
}
