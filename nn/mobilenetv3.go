package nn

import "github.com/graftml/graft/torch"

// SqueezeExcitation reweights channels by a gate computed from their global
// average (Hu et al. 2018): torchvision.ops.SqueezeExcitation, with fc1
// and fc2 as 1×1 convolutions, ReLU between them and, in MobileNetV3,
// hard-sigmoid as the gate.
type SqueezeExcitation struct {
	FC1, FC2 *Conv2d
	Gate     string // activation of the gate: "hardsigmoid" (MobileNetV3) or "sigmoid"
}

// NewSqueezeExcitation squeezes channels to squeeze and back.
func NewSqueezeExcitation(channels, squeeze int, gate string) *SqueezeExcitation {
	return &SqueezeExcitation{
		FC1:  NewConv2d(channels, squeeze, 1, 1, 0, 1, true),
		FC2:  NewConv2d(squeeze, channels, 1, 1, 0, 1, true),
		Gate: gate,
	}
}

// Submodules are fc1 and fc2.
func (s *SqueezeExcitation) Submodules() []Named { return []Named{{"fc1", s.FC1}, {"fc2", s.FC2}} }

// Forward is x · gate(fc2(relu(fc1(avgpool(x))))).
func (s *SqueezeExcitation) Forward(x *torch.Tensor, train bool) *torch.Tensor {
	g := s.FC1.Forward(torch.AdaptiveAvgPool2d(x, 1, 1), train).Relu()
	g = (&Act{Kind: s.Gate}).Forward(s.FC2.Forward(g, train), train)
	return g.Mul(x)
}

// Params are fc1's and fc2's weights and biases.
func (s *SqueezeExcitation) Params() []Param { return prefixed(s.Submodules()) }

// InvertedResidualV3 is MobileNetV3's block (torchvision's
// mobilenetv3.InvertedResidual): an optional 1×1 expansion, a k×k
// depthwise convolution, an optional squeeze-excitation and a 1×1
// projection, all under "block", with a shortcut when shapes allow.
type InvertedResidualV3 struct {
	Block  *Sequential
	UseRes bool
}

// Submodules is the block.
func (b *InvertedResidualV3) Submodules() []Named { return []Named{{"block", b.Block}} }

// Forward applies the block and, where shapes allow, the shortcut.
func (b *InvertedResidualV3) Forward(x *torch.Tensor, train bool) *torch.Tensor {
	y := b.Block.Forward(x, train)
	if b.UseRes {
		return y.Add(x)
	}
	return y
}

// Params are named block.N… as in torchvision.
func (b *InvertedResidualV3) Params() []Param { return prefixed(b.Submodules()) }
