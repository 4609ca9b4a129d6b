package optim

import (
	"fmt"
	"math"
	"strings"
)

// Schedule gives the learning-rate factor at a step of a run of total steps;
// the optimizer multiplies every group's base rate by it.
type Schedule struct {
	Name string `json:"name"` // constant, step, cosine, onecycle
	// Warmup is a linear ramp from 0 over this fraction of the run
	// (constant, step, cosine). One-cycle has its own warm-up.
	Warmup float64 `json:"warmup,omitempty"`
	// StepEvery and StepGamma: the "step" schedule multiplies by StepGamma
	// every StepEvery fraction of the run (default 1/3 and 0.1).
	StepEvery float64 `json:"step_every,omitempty"`
	StepGamma float64 `json:"step_gamma,omitempty"`
	// PctStart is the warm-up share of one-cycle (default 0.25, fastai's).
	PctStart float64 `json:"pct_start,omitempty"`
}

// Validate names the bad field.
func (s Schedule) Validate() error {
	switch strings.ToLower(s.Name) {
	case "", "constant", "step", "cosine", "onecycle":
	default:
		return fmt.Errorf("unknown schedule %q: choose constant, step, cosine or onecycle", s.Name)
	}
	if s.Warmup < 0 || s.Warmup >= 1 {
		return fmt.Errorf("warm-up fraction must be in [0,1), got %v", s.Warmup)
	}
	if s.PctStart < 0 || s.PctStart >= 1 {
		return fmt.Errorf("one-cycle pct_start must be in [0,1), got %v", s.PctStart)
	}
	return nil
}

// Factor is the multiplier at step (0-based) of total.
func (s Schedule) Factor(step, total int) float64 {
	if total <= 1 {
		return 1
	}
	p := float64(step) / float64(total-1) // progress in [0,1]
	name := strings.ToLower(s.Name)
	if name == "onecycle" {
		// fastai/PyTorch one-cycle: cosine from max/25 up to max, then
		// cosine down to max/(25·1e4).
		pct := s.PctStart
		if pct == 0 {
			pct = 0.25
		}
		const div, finalDiv = 25.0, 1e4
		if p < pct {
			return cosine(1/div, 1, p/pct)
		}
		return cosine(1, 1/(div*finalDiv), (p-pct)/(1-pct))
	}
	f := 1.0
	if s.Warmup > 0 && p < s.Warmup {
		f = (float64(step) + 1) / (s.Warmup*float64(total-1) + 1)
	}
	switch name {
	case "cosine":
		q := p
		if s.Warmup > 0 {
			q = math.Max(0, (p-s.Warmup)/(1-s.Warmup))
		}
		f *= cosine(1, 0, q)
	case "step":
		every, gamma := s.StepEvery, s.StepGamma
		if every <= 0 {
			every = 1.0 / 3
		}
		if gamma <= 0 {
			gamma = 0.1
		}
		f *= math.Pow(gamma, math.Floor(p/every+1e-9))
	}
	return f
}

// cosine goes from a to b as t goes from 0 to 1.
func cosine(a, b, t float64) float64 {
	return b + (a-b)*(1+math.Cos(math.Pi*t))/2
}
