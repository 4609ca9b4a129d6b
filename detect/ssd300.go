package detect

import (
	"fmt"
	"math"

	"github.com/graftml/graft/nn"
)

// ssd300VGG16 is torchvision's ssd300_vgg16: VGG-16's features up to
// conv4_3 (pool3 in ceil mode, so 75 → 38 at 300 px), conv4_3
// L2-normalised with a learnt scale, then pool4, conv5, pool5 as 3×3
// stride 1, fc6 as a 3×3 convolution dilated 6 and fc7 as 1×1 (the
// paper's conversion of VGG's classifier), four extra blocks, and 3×3
// convolutions as predictors: six maps, 8,732 default boxes at 300².
//
// Stages: stage1…stage4 are VGG's conv blocks (named backbone.features.N
// as in torchvision; stage4 ends at conv4_3's ReLU, its output is map 0),
// stage5 is conv5 with fc6/fc7 (backbone.extra.0, map 1), extra1…extra4
// the extra blocks (backbone.extra.1…4, maps 2–5), and head the
// predictors and conv4_3's scale (backbone.scale_weight).
func ssd300VGG16(c Config) *Model {
	m := &Model{Model: &nn.Model{Arch: "ssd300_vgg16", InChannels: c.InChannels, NumClasses: c.NumClasses}, InputSize: 300, Boxes: SSD300Boxes()}
	in, idx := c.InChannels, 0
	cur := &nn.Stage{}
	add := func(mod nn.Module) {
		cur.Layers = append(cur.Layers, nn.Named{Name: fmt.Sprintf("backbone.features.%d", idx), M: mod})
		idx++
	}
	end := func(ch, red int) {
		cur.Name, cur.Channels, cur.Reduction = fmt.Sprintf("stage%d", len(m.Stages)+1), ch, red
		m.Stages = append(m.Stages, cur)
		cur = &nn.Stage{}
	}
	// VGG-16's configuration D up to conv4_3; 0 is a max-pool.
	for i, v := range []int{64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512} {
		if v == 0 {
			pool := nn.NewMaxPool(2, 2, 0)
			pool.Opts.CeilMode = i == 9 // pool3: 75 → 38, as the paper's Caffe model
			add(pool)
			end(in, 2<<len(m.Stages))
			continue
		}
		add(nn.NewConv2d(in, v, 3, 1, 1, 1, true))
		add(nn.ReLU())
		in = v
	}
	end(512, 8)

	conv := func(in, out, k, stride, pad int) *nn.Conv2d {
		cv := nn.NewConv2d(in, out, k, stride, pad, 1, true)
		xavier(cv)
		return cv
	}
	fc6 := conv(512, 1024, 3, 1, 6)
	fc6.Opts.Dilation = [2]int64{6, 6}
	fc := nn.Seq(nn.NewMaxPool(3, 1, 1), fc6, nn.ReLU(), conv(1024, 1024, 1, 1, 0), nn.ReLU())
	conv5 := nn.Seq(nn.NewMaxPool(2, 2, 0),
		nn.NewConv2d(512, 512, 3, 1, 1, 1, true), nn.ReLU(),
		nn.NewConv2d(512, 512, 3, 1, 1, 1, true), nn.ReLU(),
		nn.NewConv2d(512, 512, 3, 1, 1, 1, true), nn.ReLU(), fc)
	m.Stages = append(m.Stages, &nn.Stage{Name: "stage5", Channels: 1024, Reduction: 16,
		Layers: []nn.Named{{Name: "backbone.extra.0", M: conv5}}})
	// conv8_2 … conv11_2: 1×1 reduce, 3×3 (stride 2 padded, then
	// unpadded 3×3 to 3 and 1 cells).
	extras := []struct{ in, mid, out, stride, pad int }{
		{1024, 256, 512, 2, 1}, {512, 128, 256, 2, 1}, {256, 128, 256, 1, 0}, {256, 128, 256, 1, 0},
	}
	for i, e := range extras {
		blk := nn.Seq(conv(e.in, e.mid, 1, 1, 0), nn.ReLU(), conv(e.mid, e.out, 3, e.stride, e.pad), nn.ReLU())
		m.Stages = append(m.Stages, &nn.Stage{Name: fmt.Sprintf("extra%d", i+1), Channels: e.out, Reduction: 32 << i,
			Layers: []nn.Named{{Name: fmt.Sprintf("backbone.extra.%d", i+1), M: blk}}})
	}
	channels := []int{512, 1024, 512, 256, 256, 256}
	m.Head = newHead(m.Boxes.PerCell(), c.NumClasses, func(i, out int) nn.Module { return conv(channels[i], out, 3, 1, 1) })
	scale := nn.NewL2Norm(512, 20)
	m.Stages = append(m.Stages, &nn.Stage{Name: "head", Channels: c.NumClasses, Reduction: 300, Layers: []nn.Named{
		{Name: "backbone", M: scale}, {Name: "head", M: m.Head},
	}})
	m.Taps = []Tap{{Stage: 3, Norm: scale}, {Stage: 4}, {Stage: 5}, {Stage: 6}, {Stage: 7}, {Stage: 8}}
	return m
}

// xavier is torchvision's initialisation of SSD's added convolutions:
// Glorot-uniform weights, zero bias.
func xavier(c *nn.Conv2d) {
	sh := c.Weight.Shape()
	rf := sh[2] * sh[3]
	a := math.Sqrt(6 / float64(sh[1]*rf+sh[0]*rf))
	_ = c.Weight.Uniform_(-a, a)
}

// normalInit is torchvision's initialisation of SSDLite's convolutions
// (and of its MobileNetV3 backbone when no ImageNet weights are given):
// N(0, 0.03) weights, zero bias.
func normalInit(layers []nn.Named) {
	nn.Walk(layers, func(mod nn.Module) {
		if c, ok := mod.(*nn.Conv2d); ok {
			_ = c.Weight.Normal_(0, 0.03)
			if c.Bias != nil {
				_ = c.Bias.Fill_(0)
			}
		}
	})
}
