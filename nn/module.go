package nn

import (
	"fmt"
	"math"

	"github.com/graftml/graft/torch"
)

// Param is a named tensor a module owns: a trainable weight, or a buffer
// (BatchNorm running statistics) that is saved but never trained.
type Param struct {
	Name   string // relative to its module; the model prefixes it
	T      *torch.Tensor
	Buffer bool
	// Low, when set, is the low-precision copy of T that the forward
	// computes with (Model.KeepLowWeights): its gradient is T's, and the
	// optimizer rewrites it from T after every update.
	Low *torch.Tensor
}

// Module is a layer or a block of layers.
type Module interface {
	// Forward computes the module's output. train selects training
	// behaviour (dropout active, BatchNorm on batch statistics unless the
	// BatchNorm is frozen).
	Forward(x *torch.Tensor, train bool) *torch.Tensor
	// Params lists the module's parameters and buffers in a stable order,
	// named as torchvision names them relative to this module.
	Params() []Param
}

// Named is a child module with its name inside the parent.
type Named struct {
	Name string
	M    Module
}

// Sequential applies its children in order, as torch.nn.Sequential; the
// children's names prefix their parameters ("0.weight", "conv1.weight").
type Sequential struct{ Children []Named }

// Seq builds a Sequential whose children are named 0, 1, 2…, the way
// torch.nn.Sequential numbers them.
func Seq(ms ...Module) *Sequential {
	s := &Sequential{}
	for i, m := range ms {
		s.Children = append(s.Children, Named{fmt.Sprint(i), m})
	}
	return s
}

// Forward applies each child in turn.
func (s *Sequential) Forward(x *torch.Tensor, train bool) *torch.Tensor {
	for _, c := range s.Children {
		x = c.M.Forward(x, train)
	}
	return x
}

// Params prefixes each child's parameters with the child's name.
func (s *Sequential) Params() []Param { return prefixed(s.Children) }

func prefixed(children []Named) []Param {
	var out []Param
	for _, c := range children {
		for _, p := range c.M.Params() {
			p.Name = c.Name + "." + p.Name
			out = append(out, p)
		}
	}
	return out
}

// Conv2d is a 2-d convolution with weight [out, in/groups, kh, kw].
type Conv2d struct {
	Weight, Bias *torch.Tensor // Bias may be nil
	Opts         torch.Conv2dOpts
	// Low is Weight's low-precision copy while the model keeps one
	// (Model.KeepLowWeights); the forward then convolves with it.
	Low *torch.Tensor
	// Packed and PackedBias are the weight and bias reordered for
	// oneDNN (Model.Pack): an input in oneDNN's layout convolves with them.
	Packed, PackedBias *torch.Tensor
}

// NewConv2d makes a square-kernel convolution with Kaiming-normal
// (fan-out, ReLU gain) weights — torchvision's initialisation for CNNs.
func NewConv2d(in, out, kernel, stride, padding, groups int, bias bool) *Conv2d {
	if groups < 1 {
		groups = 1
	}
	k := int64(kernel)
	w := torch.Randn(int64(out), int64(in/groups), k, k)
	fanOut := float64(out) * float64(kernel*kernel) / float64(groups)
	_ = w.MulScalarInPlace(math.Sqrt(2 / fanOut))
	c := &Conv2d{Weight: w, Opts: torch.Conv2dOpts{
		Stride:  [2]int64{int64(stride), int64(stride)},
		Padding: [2]int64{int64(padding), int64(padding)},
		Groups:  int64(groups),
	}}
	if bias {
		c.Bias = torch.Zeros(int64(out))
	}
	return c
}

// Forward convolves x.
func (c *Conv2d) Forward(x *torch.Tensor, _ bool) *torch.Tensor {
	if c.Packed != nil && x.IsMKLDNN() {
		return torch.MKLDNNConv2d(x, c.Packed, c.PackedBias, c.Opts)
	}
	if c.Low != nil {
		return torch.Conv2d(x, c.Low, c.Bias, c.Opts)
	}
	return torch.Conv2d(x, c.Weight, c.Bias, c.Opts)
}

// Params are weight and, when present, bias.
func (c *Conv2d) Params() []Param {
	ps := []Param{{Name: "weight", T: c.Weight, Low: c.Low}}
	if c.Bias != nil {
		ps = append(ps, Param{Name: "bias", T: c.Bias})
	}
	return ps
}

// BatchNorm2d normalises channels with learnt scale and shift.
//
// Frozen makes it run in inference mode (running statistics, no updates)
// even while the model trains: a frozen stage keeps the statistics it was
// pretrained with, as Keras does for non-trainable BatchNormalization.
type BatchNorm2d struct {
	Weight, Bias, RunningMean, RunningVar, NumBatchesTracked *torch.Tensor
	Momentum, Eps                                            float64
	Frozen                                                   bool
	// Folded marks a BatchNorm whose map lives in the convolution before
	// it (Model.FoldBatchNorm): it passes its input through.
	Folded bool
	// PackedAway marks a frozen BatchNorm folded into the packed copy of
	// the convolution before it (Model.PackStages): it passes an input in
	// oneDNN's layout through, and still runs on a dense one.
	PackedAway bool
	// Observe, when set, sees the layer's input before every forward:
	// how graft advise and doctor compare a target's statistics with the
	// running ones without a second copy of the forward pass.
	Observe func(x *torch.Tensor)
}

// NewBatchNorm2d makes a BatchNorm with PyTorch's defaults (momentum 0.1, eps 1e-5).
func NewBatchNorm2d(channels int) *BatchNorm2d {
	c := int64(channels)
	return &BatchNorm2d{
		Weight: torch.Ones(c), Bias: torch.Zeros(c),
		RunningMean: torch.Zeros(c), RunningVar: torch.Ones(c),
		NumBatchesTracked: torch.Full(nil, 0, torch.Int64, torch.CPU),
		Momentum:          0.1, Eps: 1e-5,
	}
}

// Forward normalises x.
func (b *BatchNorm2d) Forward(x *torch.Tensor, train bool) *torch.Tensor {
	if b.Observe != nil {
		b.Observe(x)
	}
	if b.Folded || (b.PackedAway && x.IsMKLDNN()) {
		return x
	}
	training := train && !b.Frozen
	if training {
		if err := b.NumBatchesTracked.AddScalarInPlace(1); err != nil {
			return torch.Failed(fmt.Errorf("num_batches_tracked: %w", err))
		}
	}
	return torch.BatchNorm(x, b.Weight, b.Bias, b.RunningMean, b.RunningVar, training, b.Momentum, b.Eps)
}

// Params are the affine parameters and the running-statistics buffers.
func (b *BatchNorm2d) Params() []Param {
	return []Param{
		{Name: "weight", T: b.Weight},
		{Name: "bias", T: b.Bias},
		{Name: "running_mean", T: b.RunningMean, Buffer: true},
		{Name: "running_var", T: b.RunningVar, Buffer: true},
		{Name: "num_batches_tracked", T: b.NumBatchesTracked, Buffer: true},
	}
}

// Linear is x·Wᵀ + b.
type Linear struct {
	Weight, Bias *torch.Tensor
	// Low is Weight's low-precision copy while the model keeps one
	// (Model.KeepLowWeights).
	Low *torch.Tensor
	// Observe, when set, sees the input before every forward: on a
	// classifier, the penultimate features a new head would train on.
	Observe func(x *torch.Tensor)
}

// NewLinear makes a dense layer with PyTorch's default initialisation
// (uniform in ±1/sqrt(fan-in) for weight and bias).
func NewLinear(in, out int, bias bool) *Linear {
	bound := 1 / math.Sqrt(float64(in))
	w := torch.Zeros(int64(out), int64(in))
	_ = w.Uniform_(-bound, bound)
	l := &Linear{Weight: w}
	if bias {
		l.Bias = torch.Zeros(int64(out))
		_ = l.Bias.Uniform_(-bound, bound)
	}
	return l
}

// Forward applies the layer.
func (l *Linear) Forward(x *torch.Tensor, _ bool) *torch.Tensor {
	if l.Observe != nil {
		l.Observe(x)
	}
	if l.Low != nil {
		return torch.Linear(x, l.Low, l.Bias)
	}
	return torch.Linear(x, l.Weight, l.Bias)
}

// Params are weight and, when present, bias.
func (l *Linear) Params() []Param {
	ps := []Param{{Name: "weight", T: l.Weight, Low: l.Low}}
	if l.Bias != nil {
		ps = append(ps, Param{Name: "bias", T: l.Bias})
	}
	return ps
}

// In and Out are the layer's feature counts.
func (l *Linear) In() int  { return int(l.Weight.Shape()[1]) }
func (l *Linear) Out() int { return int(l.Weight.Shape()[0]) }

// Act is a parameter-free elementwise activation. InPlace overwrites the
// input (torchvision's inplace=True), saving a buffer per activation; set
// it only where nothing else reads the input afterwards.
type Act struct {
	Kind    string
	InPlace bool
}

// Activations by name, as Act.Kind spells them.
var activations = map[string]func(*torch.Tensor) *torch.Tensor{
	"relu":        (*torch.Tensor).Relu,
	"relu6":       (*torch.Tensor).Relu6,
	"silu":        (*torch.Tensor).Silu,
	"sigmoid":     (*torch.Tensor).Sigmoid,
	"hardswish":   (*torch.Tensor).Hardswish,
	"hardsigmoid": (*torch.Tensor).Hardsigmoid,
	"tanh":        (*torch.Tensor).Tanh,
	"gelu":        (*torch.Tensor).Gelu,
	"identity":    func(t *torch.Tensor) *torch.Tensor { return t },
}

// Forward applies the activation.
func (a *Act) Forward(x *torch.Tensor, _ bool) *torch.Tensor {
	if a.InPlace {
		switch a.Kind {
		case "relu":
			return x.ReluInPlace()
		case "relu6":
			return x.Relu6InPlace()
		}
	}
	f, ok := activations[a.Kind]
	if !ok {
		return torch.Failed(fmt.Errorf("unknown activation %q", a.Kind))
	}
	return f(x)
}

// Params is empty.
func (a *Act) Params() []Param { return nil }

// ReLU and friends are shorthands for Act, in place where torchvision's
// layers are.
func ReLU() *Act      { return &Act{Kind: "relu", InPlace: true} }
func ReLU6() *Act     { return &Act{Kind: "relu6", InPlace: true} }
func Hardswish() *Act { return &Act{Kind: "hardswish"} }

// MaxPool is 2-d max pooling.
type MaxPool struct{ Opts torch.PoolOpts }

// NewMaxPool pools k×k windows with the given stride and padding.
func NewMaxPool(k, stride, padding int) *MaxPool {
	return &MaxPool{torch.PoolOpts{
		Kernel: [2]int64{int64(k), int64(k)}, Stride: [2]int64{int64(stride), int64(stride)},
		Padding: [2]int64{int64(padding), int64(padding)},
	}}
}

// Forward pools x.
func (m *MaxPool) Forward(x *torch.Tensor, _ bool) *torch.Tensor { return torch.MaxPool2d(x, m.Opts) }

// Params is empty.
func (m *MaxPool) Params() []Param { return nil }

// AvgPool is 2-d average pooling.
type AvgPool struct{ Opts torch.PoolOpts }

// Forward pools x.
func (m *AvgPool) Forward(x *torch.Tensor, _ bool) *torch.Tensor { return torch.AvgPool2d(x, m.Opts) }

// Params is empty.
func (m *AvgPool) Params() []Param { return nil }

// AdaptivePool averages an NCHW input into an H×W grid and, when Flatten
// is set, flattens it to [N, C·H·W].
type AdaptivePool struct {
	H, W    int
	Flatten bool
}

// Forward pools x.
func (p *AdaptivePool) Forward(x *torch.Tensor, _ bool) *torch.Tensor {
	y := torch.AdaptiveAvgPool2d(x, int64(p.H), int64(p.W))
	if p.Flatten {
		y = y.Flatten(1, -1)
	}
	return y
}

// Params is empty.
func (p *AdaptivePool) Params() []Param { return nil }

// Flatten merges all but the batch dimension.
type Flatten struct{}

// Forward flattens x.
func (Flatten) Forward(x *torch.Tensor, _ bool) *torch.Tensor { return x.Flatten(1, -1) }

// Params is empty.
func (Flatten) Params() []Param { return nil }

// Dropout zeroes activations with probability P while training.
type Dropout struct{ P float64 }

// Forward applies dropout.
func (d *Dropout) Forward(x *torch.Tensor, train bool) *torch.Tensor {
	if d.P == 0 {
		return x
	}
	return torch.Dropout(x, d.P, train)
}

// Params is empty.
func (d *Dropout) Params() []Param { return nil }
