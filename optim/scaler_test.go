package optim

import (
	"math"
	"testing"

	"github.com/graftml/graft/nn"
	"github.com/graftml/graft/torch"
)

// TestScaler: gradients come back divided by the scale; an infinite one
// makes the step unsafe and halves the scale; Interval clean steps double it.
func TestScaler(t *testing.T) {
	for _, c := range []struct {
		name      string
		coef      []float32
		finite    bool
		wantScale float64
	}{
		{"finite", []float32{3, -2}, true, ScalerInit},
		{"overflow", []float32{1, float32(math.Inf(1))}, false, ScalerInit * ScalerBackoff},
		{"nan", []float32{float32(math.NaN()), 1}, false, ScalerInit * ScalerBackoff},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := torch.NewScope()
			defer s.Close()
			w := s.Track(torch.FromFloat32([]float32{1, 1}, 2))
			if err := w.SetRequiresGrad(true); err != nil {
				t.Fatal(err)
			}
			o, err := New(Config{Name: "sgd", LR: 0.1}, []Group{{Name: "all", Params: []nn.Param{{Name: "w", T: w}}}})
			if err != nil {
				t.Fatal(err)
			}
			defer o.Free()
			sc := NewScaler()
			loss := s.Track(w.Mul(s.Track(torch.FromFloat32(c.coef, 2))).Sum()).MulScalar(sc.Scale)
			if err := loss.Backward(); err != nil {
				t.Fatal(err)
			}
			finite, err := sc.Unscale(o)
			if err != nil {
				t.Fatal(err)
			}
			sc.Update(finite)
			if finite != c.finite || sc.Scale != c.wantScale {
				t.Fatalf("finite %v, scale %v; want %v, %v", finite, sc.Scale, c.finite, c.wantScale)
			}
			if !finite {
				return
			}
			g, err := w.Grad()
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.Track(g).Float32s()
			if err != nil {
				t.Fatal(err)
			}
			for i := range got {
				if got[i] != c.coef[i] {
					t.Errorf("unscaled gradient %v, want %v", got, c.coef)
				}
			}
		})
	}
	sc := NewScaler()
	for range ScalerInterval - 1 {
		sc.Update(true)
	}
	if sc.Scale != ScalerInit {
		t.Fatalf("scale grew after %d clean steps", ScalerInterval-1)
	}
	sc.Update(true)
	if sc.Scale != ScalerInit*ScalerGrowth || sc.Clean != 0 {
		t.Errorf("after %d clean steps scale %v (clean %d), want %v", ScalerInterval, sc.Scale, sc.Clean, ScalerInit*ScalerGrowth)
	}
}
