// Package lrfind runs the learning-rate range test (Smith, 2015; fastai's
// lr_find): a short training run whose learning rate grows exponentially
// from very small to very large, one mini-batch per rate, recording the
// smoothed loss. The rate where the loss falls fastest is a good base rate
// for training; the model's weights are restored afterwards.
package lrfind

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/graftml/graft/data"
	"github.com/graftml/graft/fit"
	"github.com/graftml/graft/nn"
	"github.com/graftml/graft/optim"
	"github.com/graftml/graft/torch"
)

// Config tunes a range test. Zero fields take the defaults noted.
type Config struct {
	Start float64 // first learning rate (default 1e-7)
	End   float64 // last learning rate (default 10)
	Steps int     // mini-batches, one rate each (default 100)
	// Optimizer is the update rule; its LR is ignored (default Adam).
	Optimizer optim.Config
	// StageLR is each stage's rate relative to the head's, as a
	// strategy's plan gives it (0: the stage is frozen); nil trains every
	// stage at the same rate. The rates recorded are the head's.
	StageLR []float64
	// Beta is the loss smoothing factor (default 0.98, as fastai).
	Beta float64
	// DivThreshold stops the test once the smoothed loss exceeds this
	// multiple of its minimum (default 4).
	DivThreshold float64
	// Device and ChannelsLast describe where the model already lives.
	Device       torch.Device
	ChannelsLast bool
	Seed         uint64
	// Progress, when set, is called after every step.
	Progress func(step, steps int, lr, loss float64)
}

// Result is the recorded curve and the suggested rates.
type Result struct {
	LRs      []float64 `json:"lrs"`
	Losses   []float64 `json:"losses"`   // raw mini-batch losses
	Smoothed []float64 `json:"smoothed"` // bias-corrected exponential moving average
	// Suggested is the rate at the steepest descent of the smoothed loss
	// against log(lr).
	Suggested float64 `json:"suggested"`
	// MinOver10 is the rate at the minimum smoothed loss, divided by 10
	// (fastai's "lr_min"); it may lie below Start.
	MinOver10 float64 `json:"min_over_10"`
	// Stopped says why the test ended: "completed", or the divergence.
	Stopped string `json:"stopped"`
}

// WithDefaults fills zero fields.
func (c Config) WithDefaults() Config {
	if c.Start == 0 {
		c.Start = 1e-7
	}
	if c.End == 0 {
		c.End = 10
	}
	if c.Steps == 0 {
		c.Steps = 100
	}
	if c.Optimizer.Name == "" {
		c.Optimizer.Name = "adam"
	}
	if c.Beta == 0 {
		c.Beta = 0.98
	}
	if c.DivThreshold == 0 {
		c.DivThreshold = 4
	}
	return c
}

// Validate checks a configuration (after WithDefaults).
func (c Config) Validate() error {
	if !(c.Start > 0) || math.IsInf(c.Start, 0) {
		return fmt.Errorf("start rate must be positive, got %v", c.Start)
	}
	if !(c.End > c.Start) || math.IsInf(c.End, 0) {
		return fmt.Errorf("end rate (%v) must be above the start rate (%v)", c.End, c.Start)
	}
	if c.Steps < 2 {
		return fmt.Errorf("steps must be at least 2, got %d", c.Steps)
	}
	for i, r := range c.StageLR {
		if !(r >= 0) || math.IsInf(r, 0) {
			return fmt.Errorf("stage %d's relative rate is %v; rates are 0 (frozen) or positive", i, r)
		}
	}
	if !(c.Beta > 0 && c.Beta < 1) {
		return fmt.Errorf("smoothing beta must be in (0,1), got %v", c.Beta)
	}
	if !(c.DivThreshold > 1) {
		return fmt.Errorf("divergence threshold must be above 1, got %v", c.DivThreshold)
	}
	o := c.Optimizer
	o.LR = c.Start
	return o.Validate()
}

// Rate is the learning rate of step i (0-based) of n, growing
// exponentially from start to end.
func Rate(start, end float64, i, n int) float64 {
	return start * math.Pow(end/start, float64(i)/float64(n-1))
}

// Run performs the range test on m with batches from l, cycling through
// the loader's epochs as needed. The model's weights, buffers and
// trainable flags are restored before it returns, whatever happens.
func Run(ctx context.Context, m *nn.Model, l *data.Loader, cfg Config) (res *Result, err error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	// libtorch's grad mode is per thread: keep the run on one.
	defer torch.LockThread()()

	restore, err := snapshot(m)
	if err != nil {
		return nil, err
	}
	defer func() {
		if rerr := restore(); rerr != nil && err == nil {
			err = fmt.Errorf("restore weights: %w", rerr)
		}
	}()

	opt, err := setup(m, cfg)
	if err != nil {
		return nil, err
	}
	defer opt.Free()
	torch.ManualSeed(cfg.Seed)

	res = &Result{Stopped: "completed"}
	var avg, best float64
	best = math.Inf(1)
	step := 0
	done := false
	for epoch := 1; !done; epoch++ {
		got := 0
		for b, berr := range l.Epoch(ctx, epoch) {
			if berr != nil {
				return nil, berr
			}
			got++
			lr := Rate(cfg.Start, cfg.End, step, cfg.Steps)
			opt.SetScale(lr / cfg.Start)
			loss, err := trainStep(m, opt, b, cfg)
			if err != nil {
				return nil, fmt.Errorf("step %d (lr %.3g): %w", step+1, lr, err)
			}
			step++
			if math.IsNaN(loss) || math.IsInf(loss, 0) {
				res.Stopped = fmt.Sprintf("diverged: loss became %v at lr %.3g", loss, lr)
				done = true
				break
			}
			avg = cfg.Beta*avg + (1-cfg.Beta)*loss
			smooth := avg / (1 - math.Pow(cfg.Beta, float64(step)))
			res.LRs = append(res.LRs, lr)
			res.Losses = append(res.Losses, loss)
			res.Smoothed = append(res.Smoothed, smooth)
			if cfg.Progress != nil {
				cfg.Progress(step, cfg.Steps, lr, smooth)
			}
			if step > 1 && smooth > cfg.DivThreshold*best {
				res.Stopped = fmt.Sprintf("diverged: smoothed loss %.4g exceeded %g× its minimum %.4g at lr %.3g", smooth, cfg.DivThreshold, best, lr)
				done = true
				break
			}
			best = min(best, smooth)
			if step >= cfg.Steps {
				done = true
				break
			}
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if got == 0 && !done {
			return nil, errors.New("the training set gave no batch: it has fewer samples than one batch and the last partial batch is dropped; lower the batch size")
		}
	}
	if len(res.LRs) == 0 {
		return res, fmt.Errorf("the loss diverged at the first step (lr %.3g): %s", cfg.Start, res.Stopped)
	}
	lo, hi := trim(len(res.LRs), cfg.Steps)
	res.Suggested, res.MinOver10 = suggest(res.LRs[lo:hi], res.Smoothed[lo:hi])
	return res, nil
}

// trim is the part of an n-point curve (of steps planned) that the
// suggestions read, as fastai does: the first tenth is dropped (the moving
// average is still settling) and the last five points (the blow-up), when
// at least three points remain.
func trim(n, steps int) (lo, hi int) {
	lo, hi = steps/10, n-5
	if hi-lo < 3 {
		return 0, n
	}
	return lo, hi
}

// suggest picks the rate of steepest descent of loss against log(lr) and
// the rate at the minimum loss, divided by 10.
func suggest(lrs, losses []float64) (steep, minOver10 float64) {
	iMin := 0
	for i, v := range losses {
		if v < losses[iMin] {
			iMin = i
		}
	}
	minOver10 = lrs[iMin] / 10
	n := len(losses)
	if n < 2 {
		return lrs[0], minOver10
	}
	// np.gradient: central differences inside, one-sided at the ends.
	x := make([]float64, n)
	for i, lr := range lrs {
		x[i] = math.Log(lr)
	}
	iSteep, gBest := 0, math.Inf(1)
	for i := range n {
		lo, hi := max(i-1, 0), min(i+1, n-1)
		g := (losses[hi] - losses[lo]) / (x[hi] - x[lo])
		if g < gBest {
			iSteep, gBest = i, g
		}
	}
	return lrs[iSteep], minOver10
}

// setup chooses the trainable parameters and builds the optimizer, one
// group per trainable stage.
func setup(m *nn.Model, cfg Config) (*optim.Optimizer, error) {
	if cfg.StageLR != nil && len(cfg.StageLR) != len(m.Stages) {
		return nil, fmt.Errorf("%d stage rates for a model of %d stages", len(cfg.StageLR), len(m.Stages))
	}
	var groups []optim.Group
	for i, s := range m.Stages {
		mult := 1.0
		if cfg.StageLR != nil {
			mult = cfg.StageLR[i]
		}
		on := mult > 0
		if err := m.SetTrainable(i, on, false); err != nil {
			return nil, err
		}
		if !on {
			continue
		}
		var ps []nn.Param
		for _, p := range s.Params() {
			if !p.Buffer {
				ps = append(ps, p)
			}
		}
		groups = append(groups, optim.Group{Name: s.Name, Params: ps, LR: cfg.Start * mult, WeightDecay: cfg.Optimizer.WeightDecay})
	}
	if len(groups) == 0 {
		return nil, fmt.Errorf("no stage trains: every relative rate is 0")
	}
	oc := cfg.Optimizer
	oc.LR = cfg.Start
	return optim.New(oc, groups)
}

// trainStep runs forward, backward and one update on a batch, returning
// its loss.
func trainStep(m *nn.Model, opt *optim.Optimizer, b *data.Batch, cfg Config) (float64, error) {
	s := torch.NewScope()
	defer s.Close()
	x, y := fit.BatchTensors(s, b, cfg.Device, cfg.ChannelsLast)
	shape := fmt.Sprintf("%dx%dx%dx%d", b.N, b.C, b.H, b.W)
	b.Release()
	logits := m.Forward(x, true)
	l := torch.CrossEntropy(logits, y, 0)
	if err := l.Backward(); err != nil {
		if e := logits.Err(); e != nil {
			return 0, fmt.Errorf("forward pass on a %s batch: %w", shape, e)
		}
		return 0, err
	}
	loss, err := l.Item()
	if err != nil {
		return 0, err
	}
	if err := opt.Step(); err != nil {
		return 0, err
	}
	return loss, opt.ZeroGrad()
}

// snapshot copies the model's parameters, buffers, trainable flags and
// batch-norm freezing, and returns the function that puts them back.
func snapshot(m *nn.Model) (func() error, error) {
	params := m.Params()
	copies := make([]*torch.Tensor, 0, len(params))
	grads := make([]bool, len(params))
	free := func() {
		for _, c := range copies {
			c.Free()
		}
	}
	var err error
	torch.NoGrad(func() {
		for i, p := range params {
			grads[i] = !p.Buffer && p.T.RequiresGrad()
			c := p.T.CloneDetached()
			if err = c.Err(); err != nil {
				return
			}
			copies = append(copies, c)
		}
	})
	if err != nil {
		free()
		return nil, err
	}
	var bns []*nn.BatchNorm2d
	var frozen []bool
	for _, s := range m.Stages {
		nn.Walk(s.Layers, func(mod nn.Module) {
			if bn, ok := mod.(*nn.BatchNorm2d); ok {
				bns = append(bns, bn)
				frozen = append(frozen, bn.Frozen)
			}
		})
	}
	return func() error {
		defer free()
		var err error
		torch.NoGrad(func() {
			for i, p := range params {
				if err = p.T.CopyFrom_(copies[i]); err != nil {
					return
				}
			}
		})
		if err != nil {
			return err
		}
		for i, p := range params {
			if p.Buffer {
				continue
			}
			if err := p.T.ZeroGrad(); err != nil {
				return err
			}
			if err := p.T.SetRequiresGrad(grads[i]); err != nil {
				return err
			}
		}
		for i, bn := range bns {
			bn.Frozen = frozen[i]
		}
		return nil
	}, nil
}
