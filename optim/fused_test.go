package optim

import (
	"fmt"
	"math"
	"testing"

	"github.com/graftml/graft/arch"
	"github.com/graftml/graft/nn"
	"github.com/graftml/graft/torch"
)

// fusedProblem is a small model's worth of parameters in the layouts
// training gives them — a channels-last convolution weight, a plain
// matrix, a bias that joins late (gradual unfreezing), a transposed view —
// in two groups with their own rates and weight decay.
type fusedProblem struct {
	params []*torch.Tensor
	groups []Group
}

func newFusedProblem(t *testing.T, seed uint64) *fusedProblem {
	t.Helper()
	var fp fusedProblem
	torch.Seeded(seed, func() {
		conv := torch.Randn(8, 4, 3, 3).ChannelsLast()
		mat := torch.Randn(16, 8)
		bias := torch.Randn(16)
		tr := torch.Randn(8, 16).Permute(1, 0) // not contiguous: the unfused path
		fp.params = []*torch.Tensor{conv, mat, bias, tr}
	})
	for i, p := range fp.params {
		if err := p.Err(); err != nil {
			t.Fatal(err)
		}
		if err := p.SetRequiresGrad(true); err != nil {
			t.Fatalf("param %d: %v", i, err)
		}
	}
	ps := make([]nn.Param, len(fp.params))
	for i, p := range fp.params {
		ps[i] = nn.Param{Name: fmt.Sprintf("p%d", i), T: p}
	}
	fp.groups = []Group{{Name: "body", Params: ps[:2], LR: 0.01, WeightDecay: 0.05}, {Name: "head", Params: ps[2:], LR: 0.05}}
	return &fp
}

// step computes a loss that gives every parameter a different, changing
// gradient (the late bias none before step 10), backpropagates and steps.
func (fp *fusedProblem) step(t *testing.T, o *Optimizer, i int) { fp.stepLow(t, o, i, false, nil) }

// stepLow is step computing in bf16 where bf16 is set: through the copies
// where lows is set, else through a cast of every weight.
func (fp *fusedProblem) stepLow(t *testing.T, o *Optimizer, i int, bf16 bool, lows []*torch.Tensor) {
	t.Helper()
	s := torch.NewScope()
	defer s.Close()
	var loss *torch.Tensor
	for j, p := range fp.params {
		if j == 2 && i < 10 {
			continue
		}
		w := s.Track(p.Alias())
		if lows != nil {
			w = s.Track(lows[j].Alias())
		} else if bf16 {
			w = w.To(torch.BFloat16, torch.CPU)
		}
		term := w.AddScalar(float64(j) - 0.5).Square().MulScalar(0.5 * float64(i%3+1)).Tanh().Sum()
		if loss == nil {
			loss = term
		} else {
			loss = loss.Add(term)
		}
	}
	if bf16 {
		loss = loss.To(torch.Float32, torch.CPU)
	}
	if err := loss.Backward(); err != nil {
		t.Fatal(err)
	}
	if err := o.Step(); err != nil {
		t.Fatal(err)
	}
	if err := o.ZeroGrad(); err != nil {
		t.Fatal(err)
	}
}

// TestFusedMatchesUnfused: 100 steps of every optimizer, fused against the
// one-ATen-call-per-operation reference, agree to 1e-6 on every weight.
func TestFusedMatchesUnfused(t *testing.T) {
	cfgs := []Config{
		{Name: "adam", LR: 1},
		{Name: "adamw", LR: 1},
		{Name: "sgd", LR: 1},
		{Name: "sgd", LR: 1, Momentum: 0.9},
		{Name: "sgd", LR: 1, Momentum: 0.9, Nesterov: true},
	}
	for _, cfg := range cfgs {
		t.Run(fmt.Sprintf("%s-m%g-n%v", cfg.Name, cfg.Momentum, cfg.Nesterov), func(t *testing.T) {
			var got [2][][]float32
			for k, unfused := range []bool{false, true} {
				fp := newFusedProblem(t, 7)
				o, err := New(cfg, fp.groups)
				if err != nil {
					t.Fatal(err)
				}
				o.unfused = unfused
				for i := range 100 {
					o.SetScale(0.5 + 0.5*math.Cos(float64(i)/100*math.Pi))
					fp.step(t, o, i)
				}
				for _, p := range fp.params {
					v, err := p.Float32s()
					if err != nil {
						t.Fatal(err)
					}
					got[k] = append(got[k], v)
					p.Free()
				}
				o.Free()
			}
			requireClose(t, got[0], got[1], "fused", "unfused")
		})
	}
}

// BenchmarkAdamStep times one Adam step over ResNet-18's parameters
// (11.7M weights in 62 tensors, channels-last convolutions), fused against
// the per-operation reference: go test -run=^$ -bench=AdamStep ./optim
func BenchmarkAdamStep(b *testing.B) {
	m, err := arch.New("resnet18", arch.Config{NumClasses: 10, InChannels: 3})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Free()
	if err := m.To(torch.CPU, true); err != nil {
		b.Fatal(err)
	}
	var ps []nn.Param
	for _, p := range m.Params() {
		if p.Buffer {
			continue
		}
		g := p.T.ZerosLike()
		if err := firstErr(g.Uniform_(-1e-3, 1e-3), p.T.SetRequiresGrad(true)); err != nil {
			b.Fatal(err)
		}
		// A real gradient: one backward pass of sum(p·g).
		s := torch.NewScope()
		l := s.Track(p.T.Alias()).Mul(g).Sum()
		if err := l.Backward(); err != nil {
			b.Fatal(err)
		}
		s.Close()
		g.Free()
		ps = append(ps, p)
	}
	for _, unfused := range []bool{false, true} {
		b.Run(map[bool]string{false: "fused", true: "unfused"}[unfused], func(b *testing.B) {
			o, err := New(Config{Name: "adam", LR: 1e-3}, []Group{{Name: "all", Params: ps}})
			if err != nil {
				b.Fatal(err)
			}
			defer o.Free()
			o.unfused = unfused
			for b.Loop() {
				if err := o.Step(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestLowCopiesMatchCasts: training through bf16 copies of the weights
// (nn.Param.Low: the gradient stays bf16 on the copy, the step widens it
// and rewrites the copy) ends where casting every weight on every step
// ends (autocast's way: the cast's backward widens the gradient into the
// float32 weight's), for every optimizer, fused and unfused; and the
// copies hold the masters rounded as the cast rounds them.
func TestLowCopiesMatchCasts(t *testing.T) {
	cfgs := []Config{
		{Name: "adam", LR: 0.1},
		{Name: "adamw", LR: 0.1},
		{Name: "sgd", LR: 0.1, Momentum: 0.9, Nesterov: true},
	}
	for _, cfg := range cfgs {
		for _, unfused := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s-unfused=%v", cfg.Name, unfused), func(t *testing.T) {
				var got [2][][]float32
				for k, low := range []bool{false, true} {
					fp := newFusedProblem(t, 11)
					var lows []*torch.Tensor
					if low {
						for gi := range fp.groups {
							for pi, p := range fp.groups[gi].Params {
								l := p.T.LowCopy(torch.BFloat16)
								if err := l.Err(); err != nil {
									t.Fatal(err)
								}
								fp.groups[gi].Params[pi].Low = l
								lows = append(lows, l)
							}
						}
					}
					o, err := New(cfg, fp.groups)
					if err != nil {
						t.Fatal(err)
					}
					o.unfused = unfused && low
					for i := range 30 {
						fp.stepLow(t, o, i, true, lows)
					}
					for j, p := range fp.params {
						v, err := p.Float32s()
						if err != nil {
							t.Fatal(err)
						}
						got[k] = append(got[k], v)
						if low {
							// The copy is the master rounded.
							want := p.To(torch.BFloat16, torch.CPU).To(torch.Float32, torch.CPU)
							w, err1 := want.Float32s()
							c := lows[j].To(torch.Float32, torch.CPU)
							l, err2 := c.Float32s()
							if err := firstErr(err1, err2); err != nil {
								t.Fatal(err)
							}
							for i := range w {
								if w[i] != l[i] {
									t.Fatalf("param %d[%d]: copy %g, master rounded %g", j, i, l[i], w[i])
								}
							}
							want.Free()
							c.Free()
							lows[j].Free()
						}
						p.Free()
					}
					o.Free()
				}
				requireClose(t, got[1], got[0], "through copies", "cast each step")
			})
		}
	}
}

// TestLowAndMasterGradients: where a weight has a gradient on its bf16
// copy and another on the float32 master (a penalty added there), a step
// reads their sum, as autocast's widened gradient accumulated with the
// penalty's would be.
func TestLowAndMasterGradients(t *testing.T) {
	for _, unfused := range []bool{false, true} {
		var got [2][]float32
		for k, low := range []bool{false, true} {
			var w *torch.Tensor
			torch.Seeded(3, func() { w = torch.Randn(4, 3) })
			if err := w.SetRequiresGrad(true); err != nil {
				t.Fatal(err)
			}
			p := nn.Param{Name: "w", T: w}
			if low {
				p.Low = w.LowCopy(torch.BFloat16)
			}
			// SGD: the step is the gradient itself (Adam's first step is its sign).
			o, err := New(Config{Name: "sgd", LR: 0.1}, []Group{{Name: "g", Params: []nn.Param{p}}})
			if err != nil {
				t.Fatal(err)
			}
			o.unfused = unfused
			s := torch.NewScope()
			var data *torch.Tensor
			if low {
				data = s.Track(p.Low.Alias())
			} else {
				data = s.Track(w.Alias()).To(torch.BFloat16, torch.CPU)
			}
			loss := data.Square().Sum().To(torch.Float32, torch.CPU).Add(s.Track(w.Alias()).MulScalar(0.5).Sum())
			if err := firstErr(loss.Backward(), o.Step()); err != nil {
				t.Fatal(err)
			}
			s.Close()
			if got[k], err = w.Float32s(); err != nil {
				t.Fatal(err)
			}
			o.Free()
			p.Low.Free()
			w.Free()
		}
		for i := range got[0] {
			if d := math.Abs(float64(got[0][i] - got[1][i])); d > 1e-6 {
				t.Fatalf("unfused %v, [%d]: both gradients %g, one summed %g", unfused, i, got[1][i], got[0][i])
			}
		}
	}
}

// requireClose fails t unless every parameter value of got agrees with
// ref's to 1e-6, relative to ref's where that exceeds 1; the names say
// which run each is.
func requireClose(t *testing.T, got, ref [][]float32, gotName, refName string) {
	t.Helper()
	for j := range ref {
		for i := range ref[j] {
			if d := math.Abs(float64(got[j][i] - ref[j][i])); d > 1e-6*math.Max(1, math.Abs(float64(ref[j][i]))) {
				t.Fatalf("param %d[%d]: %s %g, %s %g", j, i, gotName, got[j][i], refName, ref[j][i])
			}
		}
	}
}
