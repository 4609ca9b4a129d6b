package advise

import (
	"context"
	"fmt"
	"time"

	"github.com/graftml/graft/data"
	"github.com/graftml/graft/experiment"
	"github.com/graftml/graft/features"
	"github.com/graftml/graft/fit"
	"github.com/graftml/graft/strategy"
	"github.com/graftml/graft/torch"
)

// ScratchRun is a short training run from scratch on the target: the one
// thing advise trains. Whether training from scratch can compete depends
// on how far the architecture gets on this data with no pretraining, and no
// score on frozen features says it: on synthetic signs a linear probe on
// raw pixels reached 47% where training from scratch reached 86%. The run's best validation
// accuracy is a lower bound on what scratch reaches with the full budget
// and learning-rate search.
type ScratchRun struct {
	Images      int     `json:"train_images"` // validation excluded
	Epochs      int     `json:"epochs"`
	LR          float64 `json:"lr"`
	ValAccuracy float64 `json:"val_accuracy"` // of the best epoch; 0 if it diverged
	Status      string  `json:"status"`       // ok, diverged
	Seconds     float64 `json:"seconds"`
}

// ScratchOptions set the short run.
type ScratchOptions struct {
	// Epochs is the run's length; DefaultScratchEpochs when 0.
	Epochs int
	// LR is the Adam learning rate; the rule's scratch rate when 0.
	LR float64
	// ValFraction and Seed split the data as graft compare's first seed
	// does, so the run validates on the images the comparison will.
	ValFraction float64
	Seed        uint64
	// MaxImages caps the images used (a seeded sample, every class kept),
	// as for the measurements; 0 means 1000.
	MaxImages int
	Batch     int // default 32
	Device    torch.Device
	// Events, when set, sees the run's steps and epochs (a progress bar).
	Events fit.Events
}

// DefaultScratchEpochs is a third of graft compare's default budget, at one
// learning rate of its four: about a twelfth of what the comparison spends
// on scratch, and long enough to separate data a network learns quickly
// from data it does not.
const DefaultScratchEpochs = 10

// MeasureScratch trains base's architecture from a random start on train
// for a short budget and reports its best validation accuracy.
func MeasureScratch(ctx context.Context, base *experiment.Base, train data.Dataset, o ScratchOptions) (*ScratchRun, error) {
	start := time.Now()
	if o.Epochs <= 0 {
		o.Epochs = DefaultScratchEpochs
	}
	if o.LR <= 0 {
		o.LR = scratchLR
	}
	if o.Batch <= 0 {
		o.Batch = 32
	}
	if o.MaxImages <= 0 {
		o.MaxImages = 1000
	}
	ds := train
	if ds.Len() > o.MaxImages {
		ds = &data.Subset{Base: train, Indices: features.Sample(train, o.MaxImages, o.Seed)}
	}
	tr, va, err := data.StratifiedSplit(ds, o.ValFraction, o.Seed)
	if err != nil {
		return nil, fmt.Errorf("scratch run: validation split: %w", err)
	}
	pre := base.Meta.Preprocess
	batch, dropLast := experiment.FewShotBatch(o.Batch, tr.Len())
	tl, err := data.NewLoader(tr, data.LoaderConfig{BatchSize: batch, Shuffle: true, DropLast: dropLast, Seed: o.Seed, Preprocess: pre, CacheDecoded: true})
	if err != nil {
		return nil, err
	}
	vl, err := data.NewLoader(va, data.LoaderConfig{BatchSize: max(o.Batch, 64), Preprocess: pre, CacheDecoded: true})
	if err != nil {
		return nil, err
	}
	s, err := strategy.Parse("scratch")
	if err != nil {
		return nil, err
	}
	out, err := experiment.Trial{Base: base, Strategy: s, Train: tl, Val: vl, Classes: len(train.Classes()), Seed: o.Seed,
		LR: o.LR, Budget: strategy.Budget{Epochs: o.Epochs, Patience: o.Epochs}, Batch: batch, Device: o.Device, Events: o.Events}.Run(ctx)
	if err != nil {
		return nil, fmt.Errorf("scratch run: %w", err)
	}
	out.Model.Free()
	run := &ScratchRun{Images: tr.Len(), Epochs: o.Epochs, LR: o.LR, Status: out.Status, Seconds: time.Since(start).Seconds()}
	if out.Status == "ok" {
		run.ValAccuracy = max(0, out.ValAcc)
	}
	return run, nil
}
