package detect

import (
	"fmt"

	"github.com/graftml/graft/arch"
	"github.com/graftml/graft/nn"
)

// SSDLite's BatchNorm everywhere (torchvision's ssdlite320 norm_layer).
const liteEps, liteMomentum = 0.001, 0.03

// ssdLite320MobileNetV3 is torchvision's ssdlite320_mobilenet_v3_large:
// MobileNetV3-Large (reduced tail unless Config.FullTail) tapped at the
// expansion layer of its last stride-2 block (672 channels at /16) and at
// its end (/32), four depthwise-separable extra blocks, and SSDLite
// predictors (depthwise 3×3, BatchNorm, ReLU6, pointwise): six maps,
// 20, 10, 5, 3, 2, 1 cells at 320².
//
// torchvision splits MobileNetV3's features in two, backbone.features.0
// (up to that expansion layer) and backbone.features.1 (the rest); graft's
// stages cut these where the resolution halves, as mobilenet_v3_large's:
// stem, stage1, stage2, stage3 (ending at the expansion layer: map 0),
// stage4 (map 1), extra1…extra4 (backbone.extra.0…3, maps 2–5), head.
func ssdLite320MobileNetV3(c Config) *Model {
	m := &Model{Model: &nn.Model{Arch: "ssdlite320_mobilenet_v3_large", InChannels: c.InChannels, NumClasses: c.NumClasses}, InputSize: 320, Boxes: SSDLiteBoxes()}
	f := arch.MobileNetV3LargeFeatures(c.InChannels, arch.MobileNetV3Options{ReducedTail: !c.FullTail, BNEps: liteEps, BNMomentum: liteMomentum})
	c4 := f[13].(*nn.InvertedResidualV3) // stride 2, no shortcut: it can be split
	named := func(prefix string, from, to int) []nn.Named {
		var out []nn.Named
		for i := from; i < to; i++ {
			out = append(out, nn.Named{Name: fmt.Sprintf("%s.%d", prefix, i), M: f[i]})
		}
		return out
	}
	expand := c4.Block.Children[0].M
	stage3 := append(named("backbone.features.0", 7, 13), nn.Named{Name: "backbone.features.0.13", M: expand})
	c4rest := &nn.Sequential{Children: c4.Block.Children[1:]} // keeps torchvision's names 1, 2, 3
	tail := []nn.Named{{Name: "backbone.features.1.0", M: c4rest}}
	for i, mod := range f[14:] {
		tail = append(tail, nn.Named{Name: fmt.Sprintf("backbone.features.1.%d", i+1), M: mod})
	}
	last := int(f[16].(*nn.Sequential).Children[0].M.(*nn.Conv2d).Weight.Shape()[0])
	m.Stages = []*nn.Stage{
		{Name: "stem", Channels: 16, Reduction: 2, Layers: named("backbone.features.0", 0, 2)},
		{Name: "stage1", Channels: 24, Reduction: 4, Layers: named("backbone.features.0", 2, 4)},
		{Name: "stage2", Channels: 40, Reduction: 8, Layers: named("backbone.features.0", 4, 7)},
		{Name: "stage3", Channels: 672, Reduction: 16, Layers: stage3},
		{Name: "stage4", Channels: last, Reduction: 32, Layers: tail},
	}
	channels := []int{672, last}
	in := last
	for i, out := range []int{512, 256, 256, 128} {
		m.Stages = append(m.Stages, &nn.Stage{Name: fmt.Sprintf("extra%d", i+1), Channels: out, Reduction: 64 << i,
			Layers: []nn.Named{{Name: fmt.Sprintf("backbone.extra.%d", i), M: liteExtra(in, out)}}})
		channels = append(channels, out)
		in = out
	}
	m.Head = newHead(m.Boxes.PerCell(), c.NumClasses, func(i, out int) nn.Module { return litePredictor(channels[i], out) })
	m.Stages = append(m.Stages, &nn.Stage{Name: "head", Channels: c.NumClasses, Reduction: 320, Layers: []nn.Named{{Name: "head", M: m.Head}}})
	m.Taps = []Tap{{Stage: 3}, {Stage: 4}, {Stage: 5}, {Stage: 6}, {Stage: 7}, {Stage: 8}}
	// torchvision draws every convolution from N(0, 0.03) when it builds
	// SSDLite without ImageNet weights for the backbone.
	for _, s := range m.Stages {
		normalInit(s.Layers)
	}
	return m
}

// liteConv is Conv2dNormActivation with SSDLite's BatchNorm and ReLU6.
func liteConv(in, out, kernel, stride, groups int) *nn.Sequential {
	bn := nn.NewBatchNorm2d(out)
	bn.Eps, bn.Momentum = liteEps, liteMomentum
	return nn.Seq(nn.NewConv2d(in, out, kernel, stride, (kernel-1)/2, groups, false), bn, nn.ReLU6())
}

// liteExtra is SSDLite's extra block: 1×1 to half the channels, 3×3
// depthwise stride 2, 1×1 to out (torchvision's _extra_block).
func liteExtra(in, out int) nn.Module {
	mid := out / 2
	return nn.Seq(liteConv(in, mid, 1, 1, 1), liteConv(mid, mid, 3, 2, mid), liteConv(mid, out, 1, 1, 1))
}

// litePredictor is SSDLite's predictor: depthwise 3×3 with BatchNorm and
// ReLU6, then a biased pointwise convolution (torchvision's
// _prediction_block).
func litePredictor(in, out int) nn.Module {
	p := nn.Seq(liteConv(in, in, 3, 1, in), nn.NewConv2d(in, out, 1, 1, 0, 1, true))
	normalInit([]nn.Named{{Name: "p", M: p}})
	return p
}
