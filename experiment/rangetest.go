package experiment

import (
	"context"

	"github.com/graftml/graft/data"
	"github.com/graftml/graft/lrfind"
	"github.com/graftml/graft/strategy"
	"github.com/graftml/graft/torch"
)

// RangeInput is the data a strategy's range test trains on.
type RangeInput struct {
	Train   data.Dataset
	Batch   int
	Workers int // data-loading goroutines (0: one per core)
	Augment data.Augment
}

// RangeTest is graft lr-find: the learning-rate range test (package
// lrfind) of strategy s from base, on the model s starts from in graft
// transfer and compare (Start: a new classifier for the data's classes,
// cut and standardised where the plan says), trained at the relative rates
// of the plan's first phase, so that the rate it suggests is the one a
// transfer's --lr means. cfg.StageLR is the plan's; the model is built with
// cfg.Seed and moved to cfg.Device.
func RangeTest(ctx context.Context, base *Base, s strategy.Strategy, in RangeInput, cfg lrfind.Config) (*lrfind.Result, error) {
	m, plan, err := Start(base, s, strategy.Budget{Epochs: 1}, StartOptions{Classes: len(in.Train.Classes()), Seed: cfg.Seed})
	if err != nil {
		return nil, err
	}
	defer m.Free()
	cfg.StageLR = plan.Phases[0].StageLR
	pre := base.Meta.Preprocess
	if err := CheckInputSize(m, pre); err != nil {
		return nil, err
	}
	if cfg.Device != torch.CPU {
		if err := m.To(cfg.Device, false); err != nil {
			return nil, err
		}
	}
	l, err := data.NewLoader(in.Train, data.LoaderConfig{BatchSize: in.Batch, Shuffle: true, DropLast: true, Seed: cfg.Seed,
		Workers: in.Workers, Preprocess: pre, Augment: in.Augment})
	if err != nil {
		return nil, err
	}
	return lrfind.Run(ctx, m, l, cfg)
}
