// Package optim holds graft's optimizers (SGD with momentum and Nesterov,
// Adam, AdamW) over parameter groups with their own learning rate and weight
// decay, and the learning-rate schedules that drive them.
//
// The update rules are PyTorch's (torch.optim, single-tensor path), written
// with libtorch's in-place kernels so that a step costs the same arithmetic.
package optim

import (
	"fmt"
	"math"
	"strings"

	"github.com/graftml/graft/nn"
	"github.com/graftml/graft/torch"
)

// Group is a set of parameters sharing hyper-parameters: a stage, usually,
// so that layer-wise learning rates are one group each.
type Group struct {
	Name        string
	Params      []nn.Param
	LR          float64 // base rate; the schedule multiplies it
	WeightDecay float64
}

// Config chooses and tunes an optimizer.
type Config struct {
	Name        string  `json:"name"`         // sgd, adam or adamw
	LR          float64 `json:"lr"`           // default base rate for groups that set none
	Momentum    float64 `json:"momentum"`     // sgd
	Nesterov    bool    `json:"nesterov"`     // sgd
	Beta1       float64 `json:"beta1"`        // adam/adamw, default 0.9
	Beta2       float64 `json:"beta2"`        // adam/adamw, default 0.999
	Eps         float64 `json:"eps"`          // adam/adamw, default 1e-8
	WeightDecay float64 `json:"weight_decay"` // L2 for sgd/adam, decoupled for adamw
	// Unfused steps one ATen call per operation and parameter, seven
	// passes over memory, instead of one native call per group that walks
	// each parameter once (torch.AdamStep, torch.SGDStep). The fused step
	// agrees with it to rounding (optim's TestFusedMatchesUnfused) and is
	// the default since 2026-12-07: ResNet-18's Adam step alone takes 13
	// against 30 ms (BenchmarkAdamStep), and bf16 training ran 6–8% faster
	// end to end (BENCHMARKS.md). An earlier measurement had it slower, in
	// the machine state the allocator changes of that day removed.
	Unfused bool `json:"unfused,omitempty"`
}

// Validate checks the configuration, naming the bad field.
func (c Config) Validate() error {
	switch strings.ToLower(c.Name) {
	case "sgd", "adam", "adamw":
	default:
		return fmt.Errorf("unknown optimizer %q: choose sgd, adam or adamw", c.Name)
	}
	if !(c.LR > 0) || math.IsInf(c.LR, 0) {
		return fmt.Errorf("learning rate must be positive, got %v", c.LR)
	}
	if c.Momentum < 0 || c.Momentum >= 1 {
		return fmt.Errorf("momentum must be in [0,1), got %v", c.Momentum)
	}
	if c.Nesterov && c.Momentum == 0 {
		return fmt.Errorf("nesterov needs a momentum above 0")
	}
	if c.WeightDecay < 0 {
		return fmt.Errorf("weight decay must not be negative, got %v", c.WeightDecay)
	}
	return nil
}

func (c Config) withDefaults() Config {
	c.Name = strings.ToLower(c.Name)
	if c.Beta1 == 0 {
		c.Beta1 = 0.9
	}
	if c.Beta2 == 0 {
		c.Beta2 = 0.999
	}
	if c.Eps == 0 {
		c.Eps = 1e-8
	}
	return c
}

// Optimizer updates parameters from their gradients.
type Optimizer struct {
	cfg    Config
	groups []Group
	scale  float64 // schedule factor applied to every group's LR
	step   int64
	state  map[string][]*torch.Tensor // per parameter name: momentum / exp_avg, exp_avg_sq
	steps  map[string]int64           // per parameter: updates made, for Adam's bias correction
	// unfused steps one ATen call per operation (Config.Unfused).
	unfused bool
}

// New makes an optimizer over groups. Groups with LR 0 take cfg.LR.
func New(cfg Config, groups []Group) (*Optimizer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	for i := range groups {
		if groups[i].LR == 0 {
			groups[i].LR = cfg.LR
		}
	}
	return &Optimizer{cfg: cfg, groups: groups, scale: 1, state: map[string][]*torch.Tensor{}, steps: map[string]int64{}, unfused: cfg.Unfused}, nil
}

// Groups are the optimizer's parameter groups.
func (o *Optimizer) Groups() []Group { return o.groups }

// SetScale sets the schedule factor: each group steps at LR·scale.
func (o *Optimizer) SetScale(f float64) { o.scale = f }

// Steps is the number of updates made so far.
func (o *Optimizer) Steps() int64 { return o.step }

// ZeroGrad drops every gradient before the next backward pass.
func (o *Optimizer) ZeroGrad() error {
	for _, g := range o.groups {
		for _, p := range g.Params {
			if err := p.T.ZeroGrad(); err != nil {
				return fmt.Errorf("zero grad %s: %w", p.Name, err)
			}
			if p.Low != nil {
				if err := p.Low.ZeroGrad(); err != nil {
					return fmt.Errorf("zero grad %s (low-precision copy): %w", p.Name, err)
				}
			}
		}
	}
	return nil
}

// Step applies one update to every parameter that has a gradient: one
// native call per group (torch.AdamStep, torch.SGDStep), which walks each
// parameter's memory once instead of seven times; with Config.Unfused one
// ATen call per operation and parameter.
func (o *Optimizer) Step() (err error) {
	o.step++
	torch.NoGrad(func() {
		for _, g := range o.groups {
			if o.unfused {
				err = o.stepUnfused(g)
			} else {
				err = o.stepGroup(g)
			}
			if err != nil {
				return
			}
		}
	})
	return err
}

// stepGroup updates one group's parameters that have a gradient.
func (o *Optimizer) stepGroup(g Group) error {
	lr := g.LR * o.scale
	c := o.cfg
	var ps, gs, lows []*torch.Tensor
	var live []nn.Param
	defer func() {
		for _, t := range gs {
			t.Free()
		}
	}()
	for _, p := range g.Params {
		gr, err := grad(p)
		if err != nil {
			return fmt.Errorf("%s step, %s: %w", c.Name, p.Name, err)
		}
		if gr == nil {
			continue // no gradient: the parameter did not take part
		}
		ps, gs, lows, live = append(ps, p.T), append(gs, gr), append(lows, p.Low), append(live, p)
	}
	if len(ps) == 0 {
		return nil
	}
	var err error
	switch c.Name {
	case "sgd":
		var bufs []*torch.Tensor
		var fresh []bool
		if c.Momentum != 0 {
			for _, p := range live {
				bs, f := o.buffers(p, 1)
				bufs, fresh = append(bufs, bs[0]), append(fresh, f)
			}
		}
		err = torch.SGDStep(ps, gs, bufs, lows, fresh, lr, c.Momentum, g.WeightDecay, c.Nesterov)
	default: // adam, adamw
		ms, vs := make([]*torch.Tensor, len(live)), make([]*torch.Tensor, len(live))
		bc1, bc2 := make([]float64, len(live)), make([]float64, len(live))
		for i, p := range live {
			bs, _ := o.buffers(p, 2)
			ms[i], vs[i] = bs[0], bs[1]
			o.steps[p.Name]++
			t := float64(o.steps[p.Name])
			bc1[i], bc2[i] = 1-math.Pow(c.Beta1, t), 1-math.Pow(c.Beta2, t)
		}
		err = torch.AdamStep(ps, gs, ms, vs, lows, bc1, bc2, lr, c.Beta1, c.Beta2, c.Eps, g.WeightDecay, c.Name == "adamw")
	}
	if err != nil {
		return fmt.Errorf("%s step, group %s: %w", c.Name, g.Name, err)
	}
	return nil
}

// stepUnfused is the same update written as one ATen call per operation
// and parameter: the reference the fused step is tested against.
func (o *Optimizer) stepUnfused(g Group) error {
	lr := g.LR * o.scale
	for _, p := range g.Params {
		if err := o.update(p, lr, g.WeightDecay); err != nil {
			return fmt.Errorf("%s step, %s: %w", o.cfg.Name, p.Name, err)
		}
	}
	return nil
}

// buffers returns p's state tensors, creating zeroed ones (fresh=true) on
// first use: a parameter may start training late (gradual unfreezing).
func (o *Optimizer) buffers(p nn.Param, n int) (bs []*torch.Tensor, fresh bool) {
	bs = o.state[p.Name]
	if bs == nil {
		fresh = true
		for i := 0; i < n; i++ {
			bs = append(bs, p.T.ZerosLike())
		}
		o.state[p.Name] = bs
	}
	return bs, fresh
}

// grad is the gradient a step reads for p: the float32 master's, or
// where the forward computed with a low-precision copy (nn.Param.Low), the
// copy's bf16 gradient, which the fused step widens as it reads. Where
// both exist (a penalty added to the master's), the copy's is moved into
// the master's.
func grad(p nn.Param) (*torch.Tensor, error) {
	if p.Low == nil {
		return p.T.Grad()
	}
	lg, err := p.Low.Grad()
	if err != nil {
		return nil, err
	}
	if lg == nil {
		return p.T.Grad()
	}
	mg, err := p.T.Grad()
	if err != nil {
		lg.Free()
		return nil, err
	}
	if mg == nil {
		return lg, nil
	}
	mg.Free()
	lg.Free()
	if err := torch.LowGradToMaster(p.T, p.Low); err != nil {
		return nil, err
	}
	return p.T.Grad()
}

// update is one unfused step of p; a low-precision copy's gradient is
// moved into the master first and the copy rewritten after.
func (o *Optimizer) update(p nn.Param, lr, wd float64) error {
	if p.Low == nil {
		return o.updateMaster(p, lr, wd)
	}
	if err := torch.LowGradToMaster(p.T, p.Low); err != nil {
		return err
	}
	return firstErr(o.updateMaster(p, lr, wd), p.Low.CopyFrom_(p.T))
}

func (o *Optimizer) updateMaster(p nn.Param, lr, wd float64) error {
	g, err := p.T.Grad()
	if err != nil || g == nil {
		return err // no gradient: the parameter did not take part
	}
	defer g.Free()
	c := o.cfg
	switch c.Name {
	case "sgd":
		if wd != 0 {
			if err := g.AddInPlace(p.T, wd); err != nil {
				return err
			}
		}
		if c.Momentum != 0 {
			bs, fresh := o.buffers(p, 1)
			buf := bs[0]
			// PyTorch initialises the buffer with the first gradient.
			if fresh {
				err = buf.CopyFrom_(g)
			} else {
				err = firstErr(buf.MulScalarInPlace(c.Momentum), buf.AddInPlace(g, 1))
			}
			if err != nil {
				return err
			}
			if c.Nesterov {
				if err := g.AddInPlace(buf, c.Momentum); err != nil {
					return err
				}
			} else {
				return p.T.AddInPlace(buf, -lr)
			}
		}
		return p.T.AddInPlace(g, -lr)
	default: // adam, adamw
		if wd != 0 {
			if c.Name == "adamw" {
				err = p.T.MulScalarInPlace(1 - lr*wd)
			} else {
				err = g.AddInPlace(p.T, wd)
			}
			if err != nil {
				return err
			}
		}
		bs, _ := o.buffers(p, 2)
		m, v := bs[0], bs[1]
		if err := firstErr(m.LerpInPlace(g, 1-c.Beta1), v.MulScalarInPlace(c.Beta2), v.AddcmulInPlace(g, g, 1-c.Beta2)); err != nil {
			return err
		}
		o.steps[p.Name]++
		t := float64(o.steps[p.Name])
		bc1 := 1 - math.Pow(c.Beta1, t)
		bc2 := 1 - math.Pow(c.Beta2, t)
		denom := v.Sqrt()
		defer denom.Free()
		if err := firstErr(denom.Err(), denom.MulScalarInPlace(1/math.Sqrt(bc2)), denom.AddScalarInPlace(c.Eps)); err != nil {
			return err
		}
		return p.T.AddcdivInPlace(m, denom, -lr/bc1)
	}
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// State is what a checkpoint must keep of an optimizer to resume exactly.
type State struct {
	Buffers map[string]*torch.Tensor // "param/slot"; owned by the optimizer
	Step    int64                    // optimizer steps taken
	Steps   map[string]int64         // per-parameter updates (Adam)
}

// State returns the optimizer's state for checkpoints.
func (o *Optimizer) State() State {
	out := State{Buffers: map[string]*torch.Tensor{}, Step: o.step, Steps: map[string]int64{}}
	for name, bs := range o.state {
		for i, b := range bs {
			out.Buffers[fmt.Sprintf("%s/%d", name, i)] = b
		}
	}
	for k, v := range o.steps {
		out.Steps[k] = v
	}
	return out
}

// LoadState restores state saved by State; its tensors pass to the
// optimizer, which frees them if it fails.
func (o *Optimizer) LoadState(st State) (err error) {
	o.Free()
	defer func() {
		if err != nil {
			for _, t := range st.Buffers {
				t.Free()
			}
			o.state = map[string][]*torch.Tensor{}
		}
	}()
	o.state = map[string][]*torch.Tensor{}
	o.steps = map[string]int64{}
	for k, v := range st.Steps {
		o.steps[k] = v
	}
	bufs, step := st.Buffers, st.Step
	for key, t := range bufs {
		i := strings.LastIndexByte(key, '/')
		if i < 0 {
			return fmt.Errorf("optimizer state %q: expected param/slot", key)
		}
		var slot int
		if _, err := fmt.Sscanf(key[i+1:], "%d", &slot); err != nil || slot < 0 || slot > 1 {
			return fmt.Errorf("optimizer state %q: bad slot", key)
		}
		name := key[:i]
		for len(o.state[name]) <= slot {
			o.state[name] = append(o.state[name], nil)
		}
		o.state[name][slot] = t
	}
	for name, bs := range o.state {
		for _, b := range bs {
			if b == nil {
				return fmt.Errorf("optimizer state for %s is incomplete", name)
			}
		}
	}
	o.step = step
	return nil
}

// Free releases the optimizer's buffers.
func (o *Optimizer) Free() {
	for _, bs := range o.state {
		for _, b := range bs {
			b.Free()
		}
	}
	o.state = map[string][]*torch.Tensor{}
}
