package optim

import (
	"fmt"
	"math"

	"github.com/graftml/graft/torch"
)

// Scaler is dynamic loss scaling for fp16 training (Micikevicius et al.
// 2018, with the rule of torch.cuda.amp.GradScaler): float16 gradients
// below 2⁻²⁴ flush to zero, so the loss is multiplied by Scale before the
// backward pass and the gradients divided by it before the step. A step
// whose gradients overflowed is skipped and the scale halved; after
// Interval clean steps in a row it doubles, so it stays as high as the
// gradients allow. bf16 has float32's exponent range and needs none.
type Scaler struct {
	Scale float64 `json:"scale"`
	Clean int     `json:"clean_steps"` // clean steps since the scale last changed
	// Skipped counts the steps skipped for overflow, for the record.
	Skipped int `json:"skipped_steps"`
}

// Scaler constants, GradScaler's defaults.
const (
	ScalerInit     = 65536.0
	ScalerGrowth   = 2.0
	ScalerBackoff  = 0.5
	ScalerInterval = 2000
)

// NewScaler starts at GradScaler's initial scale, 2¹⁶.
func NewScaler() *Scaler { return &Scaler{Scale: ScalerInit} }

// Unscale divides every gradient of o's groups by the scale, in place, and
// reports whether all of them are finite.
func (s *Scaler) Unscale(o *Optimizer) (finite bool, err error) {
	finite = true
	inv := 1 / s.Scale
	torch.NoGrad(func() {
		for _, g := range o.Groups() {
			for _, p := range g.Params {
				gr, e := p.T.Grad()
				if e != nil {
					err = fmt.Errorf("gradient of %s: %w", p.Name, e)
					return
				}
				if gr == nil {
					continue
				}
				e = gr.MulScalarInPlace(inv)
				var n float64
				if e == nil {
					// One norm per gradient: infinite or NaN exactly when
					// an element is (a NaN propagates, an infinity stays).
					nt := gr.Norm()
					n, e = nt.Item()
					nt.Free()
				}
				gr.Free()
				if e != nil {
					err = fmt.Errorf("unscale %s: %w", p.Name, e)
					return
				}
				if math.IsNaN(n) || math.IsInf(n, 0) {
					finite = false
				}
			}
		}
	})
	return finite, err
}

// Update moves the scale after a step whose gradients were finite or not.
func (s *Scaler) Update(finite bool) {
	if !finite {
		s.Scale *= ScalerBackoff
		s.Clean = 0
		s.Skipped++
		return
	}
	s.Clean++
	if s.Clean >= ScalerInterval {
		s.Scale *= ScalerGrowth
		s.Clean = 0
	}
}
