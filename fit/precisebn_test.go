package fit

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"testing"

	"github.com/graftml/graft/data"
	"github.com/graftml/graft/nn"
	"github.com/graftml/graft/optim"
	"github.com/graftml/graft/torch"
	"github.com/graftml/graft/torch/torchtest"
)

// batchNorms lists the model's BatchNorms in order.
func batchNorms(m *nn.Model) []*nn.BatchNorm2d {
	var out []*nn.BatchNorm2d
	for _, s := range m.Stages {
		nn.Walk(s.Layers, func(mod nn.Module) {
			if bn, ok := mod.(*nn.BatchNorm2d); ok {
				out = append(out, bn)
			}
		})
	}
	return out
}

// bnState is one BatchNorm's buffers and momentum.
type bnState struct {
	mean, vr []float32
	tracked  float32
	momentum float64
}

func bnStates(t *testing.T, m *nn.Model) []bnState {
	t.Helper()
	var out []bnState
	for _, bn := range batchNorms(m) {
		mean, err1 := bn.RunningMean.Float32s()
		vr, err2 := bn.RunningVar.Float32s()
		n, err3 := bn.NumBatchesTracked.Float32s()
		if err := firstErr(err1, err2, err3); err != nil {
			t.Fatal(err)
		}
		out = append(out, bnState{mean, vr, n[0], bn.Momentum})
	}
	return out
}

// referenceStats computes, independently of the code under test, what
// precise BN should give each BatchNorm that is not frozen: the mean over
// l's batches of each batch's per-channel mean and unbiased variance of
// the BatchNorm's input, observed in a training-mode pass. Frozen ones get
// nil. The pass changes the running statistics; read them first.
func referenceStats(t *testing.T, m *nn.Model, l *data.Loader) (mean, vr [][]float64) {
	t.Helper()
	bns := batchNorms(m)
	mean, vr = make([][]float64, len(bns)), make([][]float64, len(bns))
	batches := 0
	for i, bn := range bns {
		if bn.Frozen {
			continue
		}
		bn.Observe = func(x *torch.Tensor) {
			sh := x.Shape()
			v, err := x.Float32s()
			if err != nil {
				t.Fatal(err)
			}
			n, c, hw := int(sh[0]), int(sh[1]), int(sh[2]*sh[3])
			if mean[i] == nil {
				mean[i], vr[i] = make([]float64, c), make([]float64, c)
			}
			cnt := float64(n * hw)
			for ch := 0; ch < c; ch++ {
				var s, sq float64
				for j := 0; j < n; j++ {
					for k := 0; k < hw; k++ {
						f := float64(v[(j*c+ch)*hw+k])
						s += f
						sq += f * f
					}
				}
				mu := s / cnt
				mean[i][ch] += mu
				vr[i][ch] += (sq - cnt*mu*mu) / (cnt - 1)
			}
		}
		defer func() { bn.Observe = nil }()
	}
	torch.NoGrad(func() {
		for b, err := range l.Epoch(context.Background(), 0) {
			if err != nil {
				t.Fatal(err)
			}
			s := torch.NewScope()
			x, _ := batchTensors(s, b, Config{})
			if err := m.Forward(x, true).Err(); err != nil {
				t.Fatal(err)
			}
			s.Close()
			b.Release()
			batches++
		}
	})
	for i := range mean {
		for ch := range mean[i] {
			mean[i][ch] /= float64(batches)
			vr[i][ch] /= float64(batches)
		}
	}
	return mean, vr
}

// maxDiff is the largest absolute difference between got and want.
func maxDiff(got []float32, want []float64) float64 {
	d := 0.0
	for i := range want {
		d = math.Max(d, math.Abs(float64(got[i])-want[i]))
	}
	return d
}

// TestPreciseBN trains with and without precise BN: with it, every
// BatchNorm that trains ends with the exact mean over the training batches
// of their statistics, and a frozen one keeps its own; without it, the
// moving averages are measurably off.
func TestPreciseBN(t *testing.T) {
	train, val := bars(48, 1), bars(24, 2)
	partial := []float64{0, 1, 1, 1}
	cases := []struct {
		name      string
		phases    []Phase
		noCache   bool
		noVal     bool
		frozenBN1 bool
	}{
		{name: "all stages train"},
		{name: "without validation", noVal: true},
		{name: "frozen stage, cached features", phases: []Phase{{Name: "p", Epochs: 2, StageLR: partial}}, frozenBN1: true},
		{name: "frozen stage, recomputed", phases: []Phase{{Name: "p", Epochs: 2, StageLR: partial}}, noCache: true, frozenBN1: true},
		{name: "frozen stage with train_bn", phases: []Phase{{Name: "p", Epochs: 2, StageLR: partial, TrainBN: true}}},
		{name: "probe then all", phases: []Phase{{Name: "probe", Epochs: 1, StageLR: []float64{0, 0, 0, 1}}, {Name: "all", Epochs: 1}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			torchtest.NoLeaks(t)
			run := func(precise bool) (*nn.Model, []bnState, []bnState, *Result) {
				m := model(t, 2)
				before := bnStates(t, m)
				// Unshuffled: the reference pass sees the training batches.
				r := Run{Model: m, Train: loader(t, train, false), NoCache: c.noCache,
					Config: Config{Epochs: 2, Seed: 1, PreciseBN: precise, Phases: c.phases,
						Optimizer: optim.Config{Name: "adam", LR: 3e-3}}}
				if !c.noVal {
					r.Val = loader(t, val, false)
				}
				res, err := Train(context.Background(), r)
				if err != nil {
					t.Fatal(err)
				}
				return m, before, bnStates(t, m), res
			}
			m, before, after, res := run(true)
			if !c.noVal {
				// Validation scored the statistics the model ends with.
				ev, err := Evaluate(context.Background(), m, loader(t, val, false), Config{})
				if err != nil {
					t.Fatal(err)
				}
				if got, want := ev.Loss, res.History[res.BestEpoch-1].ValLoss; math.Abs(got-want) > 1e-6 {
					t.Errorf("final model's validation loss %.6f, best epoch's %.6f", got, want)
				}
			}
			mean, vr := referenceStats(t, m, loader(t, train, false))
			for i, bn := range after {
				if mean[i] == nil {
					if !c.frozenBN1 || i != 0 {
						t.Fatalf("BatchNorm %d is frozen after the run", i)
					}
					if maxDiff(bn.mean, f64(before[i].mean)) != 0 || maxDiff(bn.vr, f64(before[i].vr)) != 0 || bn.tracked != before[i].tracked {
						t.Errorf("frozen BatchNorm %d changed: mean %v → %v, tracked %v → %v", i, before[i].mean[:3], bn.mean[:3], before[i].tracked, bn.tracked)
					}
					continue
				}
				if d := maxDiff(bn.mean, mean[i]); d > 1e-5 {
					t.Errorf("BatchNorm %d: running mean off the training set's by %.3g", i, d)
				}
				if d := maxDiff(bn.vr, vr[i]); d > 1e-4 {
					t.Errorf("BatchNorm %d: running variance off the training set's by %.3g", i, d)
				}
				if bn.momentum != 0.1 {
					t.Errorf("BatchNorm %d: momentum %v after the run, want 0.1 back", i, bn.momentum)
				}
				// 3 batches an epoch up to the epoch whose weights the
				// model ends with, in the phases that train it
				// (BatchNorm i is in stage i).
				last := res.Epochs
				if res.BestEpoch > 0 {
					last = res.BestEpoch
				}
				phases := c.phases
				if phases == nil {
					phases = []Phase{{Epochs: 2}}
				}
				var want float32
				for _, p := range phases {
					n := min(p.Epochs, last)
					last -= n
					if p.stageLR(i) > 0 || p.TrainBN {
						want += float32(3 * n)
					}
				}
				if bn.tracked != want {
					t.Errorf("BatchNorm %d tracked %v batches, want %v: the recalibration pass must not count", i, bn.tracked, want)
				}
			}

			// Without precise BN the moving averages lag: the check above
			// can tell.
			m, _, after, _ = run(false)
			mean, _ = referenceStats(t, m, loader(t, train, false))
			worst := 0.0
			for i, bn := range after {
				if mean[i] != nil {
					worst = math.Max(worst, maxDiff(bn.mean, mean[i]))
				}
			}
			if worst < 1e-3 {
				t.Errorf("without precise BN the running means are within %.3g of the training set's: the test cannot tell", worst)
			}
		})
	}
}

func f64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

func TestRecalibrateBN(t *testing.T) {
	m := model(t, 4)
	train := loader(t, bars(48, 1), false)
	// Some training-mode passes move the statistics off their start.
	torch.NoGrad(func() {
		for b, err := range train.Epoch(context.Background(), 0) {
			if err != nil {
				t.Fatal(err)
			}
			s := torch.NewScope()
			x, _ := batchTensors(s, b, Config{})
			m.Forward(x, true)
			s.Close()
			b.Release()
		}
	})
	frozen := batchNorms(m)[0]
	frozen.Frozen = true
	before := bnStates(t, m)

	if err := RecalibrateBN(context.Background(), m, train, Config{}); err != nil {
		t.Fatal(err)
	}
	after := bnStates(t, m)
	mean, vr := referenceStats(t, m, train)
	if maxDiff(after[0].mean, f64(before[0].mean)) != 0 || maxDiff(after[0].vr, f64(before[0].vr)) != 0 {
		t.Error("a frozen BatchNorm was recalibrated")
	}
	for i := 1; i < len(after); i++ {
		if d := maxDiff(after[i].mean, mean[i]); d > 1e-5 {
			t.Errorf("BatchNorm %d: running mean off by %.3g", i, d)
		}
		if d := maxDiff(after[i].vr, vr[i]); d > 1e-4 {
			t.Errorf("BatchNorm %d: running variance off by %.3g", i, d)
		}
		if after[i].tracked != before[i].tracked || after[i].momentum != before[i].momentum {
			t.Errorf("BatchNorm %d: tracked %v, momentum %v; want %v and %v as before", i, after[i].tracked, after[i].momentum, before[i].tracked, before[i].momentum)
		}
	}

	// A pass that fails leaves the statistics as they were.
	start := bnStates(t, m)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := RecalibrateBN(ctx, m, train, Config{}); err == nil {
		t.Fatal("recalibrated with a cancelled context")
	}
	for i, s := range bnStates(t, m) {
		if maxDiff(s.mean, f64(start[i].mean)) != 0 || maxDiff(s.vr, f64(start[i].vr)) != 0 || s.momentum != start[i].momentum {
			t.Errorf("BatchNorm %d changed by a failed recalibration", i)
		}
	}
}

// TestMinShare runs phases whose validation never improves after the first
// epoch (only the head trains, at a rate too small to move a float32), with
// patience 1: the floor holds the phase until its share has run, and
// patience stops it right there.
func TestMinShare(t *testing.T) {
	train, val := bars(48, 1), bars(24, 2)
	cases := []struct {
		share      float64
		wantEpochs int
		wantEarly  bool
	}{
		{0, 2, true}, // today's behaviour: epoch 2 does not improve on epoch 1
		{0.1, 2, true},
		{0.3, 3, true},
		{0.45, 5, true},
		// Patience still fires at the last epoch, as it does without a
		// floor, and says so.
		{1, 10, true},
	}
	for _, c := range cases {
		m := model(t, 3)
		cfg := Config{Epochs: 10, Seed: 1, Patience: 1, MinShare: c.share,
			Optimizer: optim.Config{Name: "sgd", LR: 1e-300}, Schedule: optim.Schedule{Name: "constant"},
			Phases: []Phase{{Name: "probe", Epochs: 10, StageLR: []float64{0, 0, 0, 1}}}}
		res, err := Train(context.Background(), Run{Model: m, Train: loader(t, train, true), Val: loader(t, val, false), Config: cfg})
		if err != nil {
			t.Fatal(err)
		}
		if res.Epochs != c.wantEpochs || res.StoppedEarly != c.wantEarly || res.BestEpoch != 1 {
			t.Errorf("min share %v: ran %d epochs (stopped early %v, best %d), want %d (%v, 1)",
				c.share, res.Epochs, res.StoppedEarly, res.BestEpoch, c.wantEpochs, c.wantEarly)
		}
	}
}

func TestValidateMinShare(t *testing.T) {
	for _, c := range []struct {
		share float64
		ok    bool
	}{{0, true}, {0.5, true}, {1, true}, {-0.1, false}, {1.01, false}, {math.NaN(), false}} {
		err := Config{Epochs: 1, MinShare: c.share}.WithDefaults().Validate()
		if (err == nil) != c.ok {
			t.Errorf("MinShare %v: Validate() = %v", c.share, err)
		}
	}
}

// TestPreciseBNResumedAfterLastEpoch interrupts a run without validation
// between its last epoch and the final recalibration: the resumed run has
// no epoch left to run, and must still recalibrate as the uninterrupted one
// did.
func TestPreciseBNResumedAfterLastEpoch(t *testing.T) {
	train := bars(48, 1)
	cfg := Config{Epochs: 2, Seed: 3, PreciseBN: true, Phases: []Phase{{Name: "p", Epochs: 2, StageLR: []float64{0, 1, 1, 1}}}}
	full := model(t, 2)
	if _, err := Train(context.Background(), Run{Model: full, Train: loader(t, train, true), Config: cfg}); err != nil {
		t.Fatal(err)
	}

	path := filepath.Join(t.TempDir(), "run.resume")
	ctx, cancel := context.WithCancel(context.Background())
	_, err := Train(ctx, Run{Model: model(t, 2), Train: loader(t, train, true), Config: cfg,
		Events: &cancelAfter{n: 2, cancel: cancel}, Resume: &Resumer{Path: path, Fingerprint: "x"}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: %v", err)
	}
	m := model(t, 77)
	r := &Resumer{Path: path, Fingerprint: "x", Continue: true}
	res, err := Train(context.Background(), Run{Model: m, Train: loader(t, train, true), Config: cfg, Resume: r})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Resumed || res.Epochs != 2 {
		t.Fatalf("resumed=%v after %d epochs", r.Resumed, res.Epochs)
	}
	if !equalWeights(weights(t, full), weights(t, m)) {
		t.Error("resumed run ended with other weights or statistics than the uninterrupted one")
	}
}
