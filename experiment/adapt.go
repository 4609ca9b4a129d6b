package experiment

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/graftml/graft/checkpoint"
	"github.com/graftml/graft/detect"
	"github.com/graftml/graft/nn"
	"github.com/graftml/graft/strategy"
)

// StartOptions say what a strategy's starting model is for.
type StartOptions struct {
	Classes int    // target classes: the new head's width
	Seed    uint64 // initialisation of the new head (and of every weight for scratch)
	// ClassMap, when not nil, maps target class → source class (-1 none):
	// those head rows start from the source head's.
	ClassMap []int
	// TrainBN trains BatchNorm statistics and affine weights in frozen
	// stages too (--bn train); by default frozen stages' BatchNorm runs in
	// inference mode, as Keras' does.
	TrainBN bool
	// RawHead leaves a plan's new head on the features as they are
	// instead of standardised (Plan.StandardizeHead).
	RawHead bool
}

// Start is the model strategy s starts from on base b, and the plan that
// trains it: the base's weights (fresh ones for scratch), cut where the
// plan cuts, a new head for o.Classes, the head standardised where the
// plan says so. Every command that trains or probes a strategy's model
// starts here (Trial.Run, lr-find, doctor), so they all measure the same
// model. The caller owns the model.
func Start(b *Base, s strategy.Strategy, budget strategy.Budget, o StartOptions) (*nn.Model, strategy.Plan, error) {
	plan, err := s.Plan(b.Shape(), budget)
	if err != nil {
		return nil, plan, err
	}
	m, err := b.Model(s, plan, o.Classes, o.Seed, o.ClassMap)
	if err != nil {
		return nil, plan, err
	}
	for i := range plan.Phases {
		plan.Phases[i].TrainBN = o.TrainBN
	}
	// A class map starts head rows from the source's, which expect raw
	// features: standardising would undo that start.
	if plan.StandardizeHead && o.ClassMap == nil && !o.RawHead {
		if err := m.StandardizeClassifier(); err != nil {
			m.Free()
			return nil, plan, fmt.Errorf("%s: %w", s.Name, err)
		}
	}
	return m, plan, nil
}

// Adapted is what Adapt returns: the adapted model, its record, and the
// metadata a checkpoint of it carries.
type Adapted struct {
	Model *nn.Model
	// Detector is the adapted detector, whose network is Model, when
	// the base starts detectors.
	Detector *detect.Model
	Run      Run
	Meta     checkpoint.Meta
}

// Adapt is graft's one executor: it adapts the base to c.Train with one
// strategy under c's protocol — the rate and length chosen on validation
// folds, then a refit on every image (refit), the chosen run's best epoch
// (holdout), or a fixed schedule on every image ("none") — and returns the
// model with its record and checkpoint metadata. shots > 0 samples that
// many images per class first, as a comparison does. With a single rate
// in c.LRGrid only the training length is chosen.
//
// graft transfer saves what Adapt returns; a comparison runs the same
// adaptation (Config.adapt) for every strategy × shots × seed and tests
// each model; a race scores the same selection runs (Config.selectRate)
// without the refit.
func Adapt(ctx context.Context, c Config, s strategy.Strategy, shots, seed int) (*Adapted, error) {
	c = c.withDefaults()
	if err := c.checkPrecision(); err != nil {
		return nil, err
	}
	j := job{strategy: s, shots: shots, seed: seed}
	var m fitted
	var run Run
	if c.Protocol == ProtocolNone {
		// The plain recipe: every image, a fixed schedule, nothing held out.
		ds, err := c.sample(shots, seed)
		if err != nil {
			return nil, err
		}
		f, err := c.trainFeed(ds, nil, seed)
		if err != nil {
			return nil, err
		}
		lr := c.LRGrid[0]
		precise := ds.Len() <= PreciseBNImages && c.detection() == nil
		tr := c.trialFor(j, f, "all", nil, lr, strategy.Budget{Epochs: c.Budget.Epochs}, precise, c.Progress)
		out, err := tr.Run(ctx)
		if err != nil {
			return nil, err
		}
		run = Run{Strategy: s.Name, Shots: shots, Seed: seed, Status: out.Status, LR: lr, Epochs: out.Result.Epochs, History: out.Result.History,
			TrainableParams: out.Trainable, Refit: &Refit{Images: ds.Len(), Epochs: out.Result.Epochs, LR: lr, Seconds: out.Result.Seconds}}
		if out.Status != "ok" {
			if out.Model != nil {
				out.Model.Free()
			}
			return nil, fmt.Errorf("%s diverged at rate %g: lower the learning rate", s.Name, lr)
		}
		m = fitted{out.Model, out.Detector}
	} else {
		sp, err := c.makeSplit(shots, seed)
		if err != nil {
			return nil, err
		}
		defer sp.cache.Free()
		var mu sync.Mutex
		m, run = c.adapt(ctx, 1, 1, j, sp, &mu)
		if m.m == nil {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if run.Error != "" {
				return nil, fmt.Errorf("%s: %s", s.Name, run.Error)
			}
			return nil, fmt.Errorf("%s diverged at every rate tried (%v): lower the learning rate", s.Name, c.LRGrid)
		}
	}
	meta, err := c.meta(s, run)
	if err != nil {
		m.free()
		return nil, err
	}
	return &Adapted{Model: m.m, Detector: m.det, Run: run, Meta: meta}, nil
}

// meta is the checkpoint metadata of a model adapted with s: the target's
// classes, the base's preprocessing, where the model was cut, and how it
// was trained.
func (c Config) meta(s strategy.Strategy, run Run) (checkpoint.Meta, error) {
	meta := checkpoint.Meta{Classes: c.Train.Classes(), Preprocess: c.Base.Preprocess()}
	if plan, _ := s.Plan(c.Base.Shape(), c.Budget); plan.CutAfter > 0 {
		k := plan.CutAfter - 1
		meta.CutAfter = &k
	}
	if c.Base.Meta.CutAfter != nil && meta.CutAfter == nil {
		meta.CutAfter = c.Base.Meta.CutAfter
	}
	rec, err := json.Marshal(map[string]any{"strategy": s.Name, "base": c.Base.Path, "protocol": c.Protocol, "run": run})
	if err != nil {
		return meta, err
	}
	meta.Training = rec
	return meta, nil
}
