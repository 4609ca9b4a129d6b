package experiment

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/graftml/graft/checkpoint"
	"github.com/graftml/graft/data"
	"github.com/graftml/graft/detect"
	"github.com/graftml/graft/fit"
	"github.com/graftml/graft/onnx"
	"github.com/graftml/graft/optim"
	"github.com/graftml/graft/strategy"
	"github.com/graftml/graft/synth"
	"github.com/graftml/graft/torch"
)

// The detection demo's settings: the classes its street scenes show, its
// image size, the shots compared and the epoch budget.
var (
	DemoDetectClasses = []string{"stop", "yield", "no-entry", "priority-road"}
	DemoDetectShots   = []int{5, 20}
)

const (
	demoDetectSize     = 128 // ssd_smallcnn's side
	demoDetectEpochs   = 16
	demoDetectPretrain = 16 // epochs on the source scenes
)

// DemoDetect is the detection story on synthetic street scenes, no
// download: pretrain graft's small SSD on one country's scenes (kept in
// Out and reused when rerun), then compare strategies on another
// country's scenes at DemoDetectShots annotated images per class, ranked
// by mAP@0.5 with intervals (resumed when rerun, as Compare is).
func DemoDetect(ctx context.Context, o DemoOptions, h DemoHooks) (*Results, string, error) {
	say := h.Say
	if say == nil {
		say = func(string, ...any) {}
	}
	scenes := func(country string, images int, seed uint64) (*synth.Scenes, error) {
		return synth.NewScenes(synth.SceneConfig{Country: country, Classes: DemoDetectClasses, Images: images, Width: 160, Height: 120,
			MinSign: 16, MaxSign: 56, MaxSigns: 3, Seed: seed, Shift: 1, Difficulty: 0.5})
	}
	src, err := scenes(o.Source, 300, 11)
	if err != nil {
		return nil, "", fmt.Errorf("--source: %w", err)
	}
	tgtTrain, err := scenes(o.Target, 160, 22)
	if err != nil {
		return nil, "", fmt.Errorf("--target: %w", err)
	}
	tgtTest, err := scenes(o.Target, 100, 33)
	if err != nil {
		return nil, "", fmt.Errorf("--target: %w", err)
	}
	say("pretraining ssd_smallcnn on %d %q street scenes (%d sign classes)", src.Len(), o.Source, len(src.Classes()))
	basePath := filepath.Join(o.Out, "detector-"+o.Source)
	if err := pretrainDetector(ctx, src, basePath, o.Device, h.Pretrain); err != nil {
		return nil, "", err
	}
	base, err := LoadBase(basePath)
	if err != nil {
		return nil, "", err
	}
	names, strats, err := demoStrategies()
	if err != nil {
		return nil, "", err
	}
	grid := []float64{3e-3, 1e-3}
	const seeds = 2
	cmpOut := filepath.Join(o.Out, "compare-detect")
	train, test := data.ImagesOf(tgtTrain), data.ImagesOf(tgtTest)
	spec := Spec{Base: basePath, BaseSHA256: base.Meta.SHA256, Arch: base.Meta.Arch,
		Train: fmt.Sprintf("synth-scenes:%s (%d images)", o.Target, tgtTrain.Len()), Test: fmt.Sprintf("synth-scenes:%s (%d images)", o.Target, tgtTest.Len()),
		Classes: train.Classes(), Strategies: names, Shots: DemoDetectShots, Seeds: seeds, Epochs: demoDetectEpochs, LRGrid: grid}
	var prog Progress
	if h.NewProgress != nil {
		prog = h.NewProgress(len(names) * len(DemoDetectShots) * seeds)
	}
	say("comparing %d strategies on %q street scenes with %v annotated images per class, %d seeds; rates from %v", len(names), o.Target, DemoDetectShots, seeds, grid)
	res, err := Compare(ctx, Config{
		Base: base, Train: train, Test: test, Strategies: strats, Shots: DemoDetectShots, Seeds: seeds,
		Budget: strategy.Budget{Epochs: demoDetectEpochs, Patience: 5}, LRGrid: grid, Batch: 16, Folds: 2, Out: cmpOut, Spec: spec,
		Command: o.Command, Env: o.Env, Device: o.Device, Workers: 2, Progress: prog,
	})
	return res, cmpOut, err
}

// pretrainDetector trains the source detector from scratch on every
// source scene, or keeps the one a previous run made.
func pretrainDetector(ctx context.Context, src *synth.Scenes, path string, dev torch.Device, events fit.Events) error {
	if meta, err := checkpoint.ReadMeta(path); err == nil && detect.IsDetector(meta) {
		return nil
	}
	pre := data.Preprocess{Size: demoDetectSize, Channels: 3}
	torch.ManualSeed(1)
	m, err := detect.New("ssd_smallcnn", detect.Config{NumClasses: len(src.Classes()) + 1})
	if err != nil {
		return err
	}
	defer m.Free()
	tl, err := data.NewDetectionLoader(src, data.DetectionLoaderConfig{BatchSize: 16, Shuffle: true, DropLast: true, Seed: 1, Preprocess: pre, CacheDecoded: true})
	if err != nil {
		return err
	}
	task := &detect.Task{Model: m, Train: tl, Loss: detect.SSDLoss, Post: detect.SSDPost}
	cfg := fit.Config{Epochs: demoDetectPretrain, Seed: 1, Device: dev, Optimizer: optim.Config{Name: "adam", LR: 3e-3},
		Schedule: optim.Schedule{Name: "cosine", Warmup: 0.05}}
	if _, err := fit.Train(ctx, fit.Run{Model: m.Model, Task: task, Config: cfg, Events: events}); err != nil {
		return err
	}
	return detect.Save(onnx.Checkpoints, path, m, checkpoint.Meta{Classes: src.Classes(), Preprocess: pre})
}
