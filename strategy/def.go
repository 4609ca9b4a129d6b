package strategy

import (
	"fmt"
	"math"
	"strconv"

	"github.com/graftml/graft/fit"
	"github.com/graftml/graft/nn"
)

// Def is a base strategy: everything graft knows about it, in one value.
// Registry lists the ones graft offers.
type Def struct {
	Name string // lower case, no ':' or '+'
	Doc  string // one line, for --help and reports
	// HasArg: the strategy takes a stage, name:K, resolved by
	// Strategy.Stages into Layout.K.
	HasArg bool
	// Phases plans the training for a model and a budget. The Def's
	// traits set the rest of the Plan.
	Phases func(l Layout) []fit.Phase

	// Scratch: every weight is reinitialised first; nothing pretrained is
	// used (graft doctor skips the checks about the base's weights).
	Scratch bool
	// HeadOnly: only a new head trains, on frozen features. The feature
	// cache serves every epoch, the head trains on standardised features
	// (Plan.StandardizeHead), a learning-rate range test moves only the
	// head, and advise reads the frozen features' probe as its estimate.
	HeadOnly bool
	// Cuts: the model is cut after its first K stages (Plan.CutAfter);
	// needs HasArg.
	Cuts bool
	// L2SP: its fine-tuning carries the L2-SP penalty toward the
	// pretrained weights; as a suffix ("freeze:2+l2sp") it adds that
	// penalty to another strategy.
	L2SP bool
	// TakesL2SP: the strategy fine-tunes pretrained weights, so +l2sp
	// combines with it.
	TakesL2SP bool
	// MinPerClass is the training images per class (median over classes,
	// after the validation split) below which the strategy is likely to
	// overfit: graft doctor's too-small threshold. With +l2sp the lower of
	// it and L2SP's applies (Strategy.MinPerClass).
	MinPerClass int
	// Families are the cases of the four-case transfer chart whose advice
	// means this strategy; graft advise tells its story with them.
	Families Family
}

// Family is a set of the transfer chart's four cases (small or large
// target × similar to the source or different), named by what the chart
// advises in each.
type Family uint8

const (
	// FrozenFeatures (small, similar): freeze the base and train a new head.
	FrozenFeatures Family = 1 << iota
	// EarlyLayers (small, different): keep only the early layers.
	EarlyLayers
	// GentleFinetune (large, similar): fine-tune with a low rate, early
	// stages frozen or held near their start.
	GentleFinetune
	// TrainEverything (large, different): fine-tune everything, or train
	// from scratch.
	TrainEverything
)

// Too-small thresholds (Def.MinPerClass).
const (
	// MinPerClassScratch: a network from random initialisation has to
	// learn every filter from the target; below about a hundred images
	// per class it memorises them (CIFAR-10 has 5,000).
	MinPerClassScratch = 100
	// MinPerClassFinetune: fine-tuning pretrained stages moves up to
	// millions of weights on a handful of images; below about ten per
	// class a linear probe on the frozen features is usually as good and
	// far less likely to overfit, and a validation split of one or two
	// images a class cannot tell which of the two is happening.
	MinPerClassFinetune = 10
	// MinPerClassRegularised: lpft and L2-SP keep fine-tuning near the
	// pretrained weights, which is what they are for, so they hold up on
	// about half as many.
	MinPerClassRegularised = 5
	// MinPerClassHead: a new head on frozen features learns from a few
	// shots, but with a single training image per class nothing is left
	// to choose a rate or an epoch on.
	MinPerClassHead = 2
)

// Layout is what a plan sees: the model's stages and the budget.
type Layout struct {
	Budget
	Stages int // stages of the model before any cut, the head the last
	K      int // the stage argument as a count of leading stages (HasArg), else 0
}

// Head is the head's stage index.
func (l Layout) Head() int { return l.Stages - 1 }

// Rates is a rate multiplier per stage.
func (l Layout) Rates(f func(i int) float64) []float64 {
	r := make([]float64, l.Stages)
	for i := range r {
		r[i] = f(i)
	}
	return r
}

// HeadOnly trains the head alone, at the base rate.
func (l Layout) HeadOnly() []float64 {
	return l.Rates(func(i int) float64 { return b2f(i == l.Head()) })
}

// Body trains the head at the base rate and every other stage at body.
func (l Layout) Body(body float64) []float64 {
	return l.Rates(func(i int) float64 {
		if i == l.Head() {
			return 1
		}
		return body
	})
}

// Spread is fastai's slice(lr/spread, lr): rates geometric from
// 1/spread at the stem to 1 at the head.
func (l Layout) Spread(spread float64) []float64 {
	return l.Rates(func(i int) float64 {
		if l.Stages == 1 {
			return 1
		}
		return math.Pow(spread, -float64(l.Head()-i)/float64(l.Head()))
	})
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Plan is s (whose base is d) planned for model m (before truncation)
// and budget b. Stage multipliers are relative to the base learning rate.
func (d *Def) Plan(s Strategy, m *nn.Model, b Budget) (Plan, error) {
	if b.Epochs < 1 {
		return Plan{}, fmt.Errorf("%s: the budget needs at least 1 epoch", s.Name)
	}
	p := Plan{}
	if s.L2SP {
		p.L2SP = L2SPAlpha
	}
	if d.Phases == nil {
		return p, fmt.Errorf("strategy %q has no plan", d.Name)
	}
	l := Layout{Budget: b, Stages: len(m.Stages)}
	if d.HasArg {
		k, err := s.Stages(m)
		if err != nil {
			return p, err
		}
		l.K = k
	}
	p.Scratch = d.Scratch
	p.StandardizeHead = d.HeadOnly
	if d.Cuts {
		p.CutAfter = l.K
	}
	p.Phases = d.Phases(l)
	return p, nil
}

// Strategy is d alone: no stage, no suffix.
func (d *Def) Strategy() Strategy {
	return Strategy{Name: d.Name, Base: d.Name, L2SP: d.L2SP}
}

// At is d at stage count k, e.g. Freeze.At(2) is freeze:2.
func (d *Def) At(k int) Strategy {
	s := d.Strategy()
	s.Arg = strconv.Itoa(k)
	s.Name += ":" + s.Arg
	return s
}

// Usage is how d is written on a command line: "freeze:K", "probe".
func (d *Def) Usage() string {
	if d.HasArg {
		return d.Name + ":K"
	}
	return d.Name
}
