package arch

import (
	"fmt"

	"github.com/graftml/graft/nn"
)

// MobileNetV3Options vary MobileNetV3-Large the way torchvision's
// detectors do.
type MobileNetV3Options struct {
	// ReducedTail halves the channels of the last three blocks and the
	// last convolution (torchvision's reduced_tail, which SSDLite uses when
	// it does not start from ImageNet weights, and so its COCO weights).
	ReducedTail bool
	// BNEps and BNMomentum are every BatchNorm's; zero means MobileNetV3's
	// own (eps 0.001, momentum 0.01). SSDLite uses 0.001 and 0.03.
	BNEps, BNMomentum float64
}

// mbv3Block is one row of the paper's table 1 as torchvision writes it:
// kernel, expanded and output channels, squeeze-excitation, hardswish
// (else ReLU), stride.
type mbv3Block struct {
	kernel, expand, out int
	se, hs              bool
	stride              int
}

// mbv3Large is MobileNetV3-Large's body; ReducedTail halves the last three
// rows' outputs and the last two's expansions.
var mbv3Large = []mbv3Block{
	{3, 16, 16, false, false, 1},
	{3, 64, 24, false, false, 2},
	{3, 72, 24, false, false, 1},
	{5, 72, 40, true, false, 2},
	{5, 120, 40, true, false, 1},
	{5, 120, 40, true, false, 1},
	{3, 240, 80, false, true, 2},
	{3, 200, 80, false, true, 1},
	{3, 184, 80, false, true, 1},
	{3, 184, 80, false, true, 1},
	{3, 480, 112, true, true, 1},
	{3, 672, 112, true, true, 1},
	{5, 672, 160, true, true, 2},
	{5, 960, 160, true, true, 1},
	{5, 960, 160, true, true, 1},
}

// makeDivisible is torchvision's _make_divisible: v rounded to a multiple
// of 8, never more than 10% below v.
func makeDivisible(v float64) int {
	n := max(8, int(v+4)/8*8)
	if float64(n) < 0.9*v {
		n += 8
	}
	return n
}

// MobileNetV3LargeFeatures builds torchvision's mobilenet_v3_large().features:
// features.0 (stem), features.1…15 (the blocks, *nn.InvertedResidualV3) and
// features.16 (the last 1×1 convolution), for in input channels. Detectors
// cut and tap it (package detect).
func MobileNetV3LargeFeatures(in int, o MobileNetV3Options) []nn.Module {
	if o.BNEps == 0 {
		o.BNEps = 0.001
	}
	if o.BNMomentum == 0 {
		o.BNMomentum = 0.01
	}
	cba := func(in, out, kernel, stride, groups int, act string) *nn.Sequential {
		bn := nn.NewBatchNorm2d(out)
		bn.Eps, bn.Momentum = o.BNEps, o.BNMomentum
		mods := []nn.Module{nn.NewConv2d(in, out, kernel, stride, (kernel-1)/2, groups, false), bn}
		if act != "" {
			mods = append(mods, &nn.Act{Kind: act, InPlace: true})
		}
		return nn.Seq(mods...)
	}
	layers := []nn.Module{cba(in, 16, 3, 2, 1, "hardswish")}
	c := 16
	for i, b := range mbv3Large {
		if o.ReducedTail && i >= len(mbv3Large)-3 {
			// The first of the three keeps its input's expansion (672).
			b.out /= 2
			if i > len(mbv3Large)-3 {
				b.expand /= 2
			}
		}
		act := "relu"
		if b.hs {
			act = "hardswish"
		}
		var mods []nn.Module
		if b.expand != c {
			mods = append(mods, cba(c, b.expand, 1, 1, 1, act))
		}
		mods = append(mods, cba(b.expand, b.expand, b.kernel, b.stride, b.expand, act))
		if b.se {
			mods = append(mods, nn.NewSqueezeExcitation(b.expand, makeDivisible(float64(b.expand/4)), "hardsigmoid"))
		}
		mods = append(mods, cba(b.expand, b.out, 1, 1, 1, ""))
		layers = append(layers, &nn.InvertedResidualV3{Block: nn.Seq(mods...), UseRes: b.stride == 1 && c == b.out})
		c = b.out
	}
	return append(layers, cba(c, 6*c, 1, 1, 1, "hardswish"))
}

// mobileNetV3Large follows torchvision's layout (features.0…16,
// classifier.0 and .3). Stages end where the resolution halves, as
// MobileNetV2's do.
func mobileNetV3Large(c Config) *nn.Model {
	m := &nn.Model{Arch: "mobilenet_v3_large", InChannels: c.InChannels, NumClasses: c.NumClasses}
	var layers []nn.Named
	for i, mod := range MobileNetV3LargeFeatures(c.InChannels, MobileNetV3Options{}) {
		layers = append(layers, nn.Named{Name: fmt.Sprintf("features.%d", i), M: mod})
	}
	// After features.1 (/2), .3 (/4), .6 (/8), .12 (/16), .16 (/32).
	m.Stages = cutFeatures(layers, []featureCut{{2, 16, 2}, {4, 24, 4}, {7, 40, 8}, {13, 112, 16}, {17, 960, 32}})
	m.Stages = append(m.Stages, &nn.Stage{Name: "head", Channels: c.NumClasses, Reduction: 32, Layers: []nn.Named{
		{Name: "avgpool", M: &nn.AdaptivePool{H: 1, W: 1, Flatten: true}},
		{Name: "classifier", M: nn.Seq(normalLinear(960, 1280), nn.Hardswish(), &nn.Dropout{P: 0.2}, normalLinear(1280, c.NumClasses))},
	}})
	return m
}
