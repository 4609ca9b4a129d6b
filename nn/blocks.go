package nn

import "github.com/graftml/graft/torch"

// BasicBlock is ResNet-18/34's residual block: two 3×3 convolutions.
type BasicBlock struct {
	Conv1, Conv2 *Conv2d
	BN1, BN2     *BatchNorm2d
	Downsample   *Sequential // 1×1 conv + BN when the shape changes; nil otherwise
}

// NewBasicBlock builds a block from in to out channels with the given stride.
func NewBasicBlock(in, out, stride int) *BasicBlock {
	b := &BasicBlock{
		Conv1: NewConv2d(in, out, 3, stride, 1, 1, false), BN1: NewBatchNorm2d(out),
		Conv2: NewConv2d(out, out, 3, 1, 1, 1, false), BN2: NewBatchNorm2d(out),
	}
	if stride != 1 || in != out {
		b.Downsample = Seq(NewConv2d(in, out, 1, stride, 0, 1, false), NewBatchNorm2d(out))
	}
	return b
}

func (b *BasicBlock) Submodules() []Named {
	c := []Named{{"conv1", b.Conv1}, {"bn1", b.BN1}, {"conv2", b.Conv2}, {"bn2", b.BN2}}
	if b.Downsample != nil {
		c = append(c, Named{"downsample", b.Downsample})
	}
	return c
}

// Forward is relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)).
func (b *BasicBlock) Forward(x *torch.Tensor, train bool) *torch.Tensor {
	out := b.BN1.Forward(b.Conv1.Forward(x, train), train).ReluInPlace()
	out = b.BN2.Forward(b.Conv2.Forward(out, train), train)
	id := x
	if b.Downsample != nil {
		id = b.Downsample.Forward(x, train)
	}
	return residual(out, id)
}

// Params follow torchvision's registration order.
func (b *BasicBlock) Params() []Param { return prefixed(b.Submodules()) }

// Bottleneck is ResNet-50's block: 1×1 reduce, 3×3, 1×1 expand (×4).
type Bottleneck struct {
	Conv1, Conv2, Conv3 *Conv2d
	BN1, BN2, BN3       *BatchNorm2d
	Downsample          *Sequential
}

// NewBottleneck builds a block whose 3×3 convolution has width channels and
// whose output has width·4; the stride sits on the 3×3 (torchvision's V1.5).
func NewBottleneck(in, width, stride int) *Bottleneck {
	out := width * 4
	b := &Bottleneck{
		Conv1: NewConv2d(in, width, 1, 1, 0, 1, false), BN1: NewBatchNorm2d(width),
		Conv2: NewConv2d(width, width, 3, stride, 1, 1, false), BN2: NewBatchNorm2d(width),
		Conv3: NewConv2d(width, out, 1, 1, 0, 1, false), BN3: NewBatchNorm2d(out),
	}
	if stride != 1 || in != out {
		b.Downsample = Seq(NewConv2d(in, out, 1, stride, 0, 1, false), NewBatchNorm2d(out))
	}
	return b
}

func (b *Bottleneck) Submodules() []Named {
	c := []Named{{"conv1", b.Conv1}, {"bn1", b.BN1}, {"conv2", b.Conv2}, {"bn2", b.BN2}, {"conv3", b.Conv3}, {"bn3", b.BN3}}
	if b.Downsample != nil {
		c = append(c, Named{"downsample", b.Downsample})
	}
	return c
}

// Forward applies the three convolutions and the shortcut.
func (b *Bottleneck) Forward(x *torch.Tensor, train bool) *torch.Tensor {
	out := b.BN1.Forward(b.Conv1.Forward(x, train), train).ReluInPlace()
	out = b.BN2.Forward(b.Conv2.Forward(out, train), train).ReluInPlace()
	out = b.BN3.Forward(b.Conv3.Forward(out, train), train)
	id := x
	if b.Downsample != nil {
		id = b.Downsample.Forward(x, train)
	}
	return residual(out, id)
}

// Params follow torchvision's registration order.
func (b *Bottleneck) Params() []Param { return prefixed(b.Submodules()) }

// ConvBNAct is torchvision's Conv2dNormActivation: conv, BN, activation,
// named 0, 1, 2.
func ConvBNAct(in, out, kernel, stride, groups int, act string) *Sequential {
	return Seq(NewConv2d(in, out, kernel, stride, (kernel-1)/2, groups, false), NewBatchNorm2d(out), &Act{Kind: act, InPlace: true})
}

// InvertedResidual is MobileNetV2's block: expand 1×1, depthwise 3×3,
// project 1×1, with a shortcut when shapes allow.
type InvertedResidual struct {
	Conv   *Sequential
	UseRes bool
}

// NewInvertedResidual builds a block with the given expansion ratio.
func NewInvertedResidual(in, out, stride, expand int) *InvertedResidual {
	hidden := in * expand
	var layers []Module
	if expand != 1 {
		layers = append(layers, ConvBNAct(in, hidden, 1, 1, 1, "relu6"))
	}
	layers = append(layers,
		ConvBNAct(hidden, hidden, 3, stride, hidden, "relu6"),
		NewConv2d(hidden, out, 1, 1, 0, 1, false),
		NewBatchNorm2d(out))
	return &InvertedResidual{Conv: Seq(layers...), UseRes: stride == 1 && in == out}
}

func (b *InvertedResidual) Submodules() []Named { return []Named{{"conv", b.Conv}} }

// Forward applies the block and, where shapes allow, the shortcut.
func (b *InvertedResidual) Forward(x *torch.Tensor, train bool) *torch.Tensor {
	y := b.Conv.Forward(x, train)
	if b.UseRes {
		return x.Add(y)
	}
	return y
}

// Params are named conv.N… as in torchvision.
func (b *InvertedResidual) Params() []Param { return prefixed(b.Submodules()) }

// residual adds the shortcut into the block's output in place and applies
// ReLU in place, as torchvision's `out += identity; relu(out)`: the block
// output is fresh, and BatchNorm's backward does not read it.
func residual(out, id *torch.Tensor) *torch.Tensor {
	if err := out.AddInPlace(id, 1); err != nil {
		return torch.Failed(err)
	}
	return out.ReluInPlace()
}
