package optim

import (
	"math"
	"testing"

	"github.com/graftml/graft/nn"
	"github.com/graftml/graft/torch"
)

// quadratic runs n steps minimising Σ(w-3)² from w=0 and returns w.
func quadratic(t *testing.T, cfg Config, n int) []float32 {
	t.Helper()
	w := torch.Zeros(2)
	defer w.Free()
	if err := w.SetRequiresGrad(true); err != nil {
		t.Fatal(err)
	}
	o, err := New(cfg, []Group{{Name: "all", Params: []nn.Param{{Name: "w", T: w}}}})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Free()
	for i := 0; i < n; i++ {
		s := torch.NewScope()
		loss := s.Track(w.Alias()).AddScalar(-3).Square().Sum()
		if err := loss.Backward(); err != nil {
			t.Fatal(err)
		}
		s.Close()
		if err := o.Step(); err != nil {
			t.Fatal(err)
		}
		if err := o.ZeroGrad(); err != nil {
			t.Fatal(err)
		}
	}
	v, _ := w.Float32s()
	return v
}

func TestOptimizersFirstSteps(t *testing.T) {
	// Values from PyTorch's torch.optim on the same problem (gradient 2(w-3)).
	cases := []struct {
		cfg   Config
		steps int
		want  float64
	}{
		{Config{Name: "sgd", LR: 0.1}, 1, 0.6},                                  // 0 - 0.1·(-6)
		{Config{Name: "sgd", LR: 0.1, Momentum: 0.9}, 2, 0.6 + 0.1*(4.8+0.9*6)}, // buf=6, then 0.9·6+4.8
		{Config{Name: "sgd", LR: 0.1, Momentum: 0.9, Nesterov: true}, 1, 0.1 * (6 + 0.9*6)},
		{Config{Name: "adam", LR: 0.1}, 1, 0.1},                    // first Adam step is lr·sign(-g)
		{Config{Name: "adamw", LR: 0.1, WeightDecay: 0.5}, 1, 0.1}, // decay of w=0 is 0
		{Config{Name: "sgd", LR: 0.1, WeightDecay: 1}, 1, 0.6},     // L2 of w=0 is 0
	}
	for _, c := range cases {
		t.Run(c.cfg.Name, func(t *testing.T) {
			got := quadratic(t, c.cfg, c.steps)
			if math.Abs(float64(got[0])-c.want) > 1e-5 {
				t.Errorf("w = %v, want %v", got[0], c.want)
			}
		})
	}
}

func TestOptimizersConverge(t *testing.T) {
	for _, cfg := range []Config{{Name: "sgd", LR: 0.1, Momentum: 0.5}, {Name: "adam", LR: 0.3}, {Name: "adamw", LR: 0.3, WeightDecay: 1e-4}} {
		got := quadratic(t, cfg, 200)
		if math.Abs(float64(got[0])-3) > 0.05 {
			t.Errorf("%s: w = %v after 200 steps, want 3", cfg.Name, got[0])
		}
	}
}

func TestConfigValidate(t *testing.T) {
	bad := []Config{{Name: "rmsprop", LR: 1}, {Name: "sgd", LR: 0}, {Name: "sgd", LR: 1, Momentum: 1}, {Name: "sgd", LR: 1, Nesterov: true}, {Name: "adam", LR: 1, WeightDecay: -1}}
	for _, c := range bad {
		if c.Validate() == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}

func TestSchedules(t *testing.T) {
	cases := []struct {
		s           Schedule
		step, total int
		want        float64
	}{
		{Schedule{Name: "constant"}, 50, 100, 1},
		{Schedule{Name: "cosine"}, 0, 101, 1},
		{Schedule{Name: "cosine"}, 50, 101, 0.5},
		{Schedule{Name: "cosine"}, 100, 101, 0},
		{Schedule{Name: "step"}, 40, 100, 0.1},
		{Schedule{Name: "step", StepEvery: 0.5, StepGamma: 0.5}, 99, 100, 0.25},
		{Schedule{Name: "onecycle"}, 0, 101, 1.0 / 25},
		{Schedule{Name: "onecycle"}, 25, 101, 1},
		{Schedule{Name: "constant", Warmup: 0.1}, 0, 101, 1.0 / 11},
		{Schedule{Name: "constant", Warmup: 0.1}, 50, 101, 1},
	}
	for _, c := range cases {
		if got := c.s.Factor(c.step, c.total); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("%+v at %d/%d = %v, want %v", c.s, c.step, c.total, got, c.want)
		}
	}
	if (Schedule{Name: "linear"}).Validate() == nil {
		t.Error("unknown schedule accepted")
	}
}
