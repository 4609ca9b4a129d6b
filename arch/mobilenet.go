package arch

import (
	"fmt"

	"github.com/graftml/graft/nn"
)

// mobileNetV2 follows torchvision's layout (features.0…18, classifier.1).
// Stages end where the resolution halves, like timm's feature_info, so a
// cut after any stage yields features at one scale.
func mobileNetV2(c Config) *nn.Model {
	m := &nn.Model{Arch: "mobilenet_v2", InChannels: c.InChannels, NumClasses: c.NumClasses}
	// expansion t, channels c, repeats n, stride s (the paper's table 2)
	settings := [][4]int{{1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2}, {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}}
	var layers []nn.Named
	add := func(mod nn.Module) {
		layers = append(layers, nn.Named{Name: fmt.Sprintf("features.%d", len(layers)), M: mod})
	}
	add(nn.ConvBNAct(c.InChannels, 32, 3, 2, 1, "relu6"))
	in := 32
	for _, st := range settings {
		for i := 0; i < st[2]; i++ {
			stride := 1
			if i == 0 {
				stride = st[3]
			}
			add(nn.NewInvertedResidual(in, st[1], stride, st[0]))
			in = st[1]
		}
	}
	add(nn.ConvBNAct(in, 1280, 1, 1, 1, "relu6"))
	// Stage boundaries: after features.1 (/2), .3 (/4), .6 (/8), .13 (/16), .18 (/32).
	m.Stages = cutFeatures(layers, []featureCut{{2, 16, 2}, {4, 24, 4}, {7, 32, 8}, {14, 96, 16}, {19, 1280, 32}})
	m.Stages = append(m.Stages, &nn.Stage{Name: "head", Channels: c.NumClasses, Reduction: 32, Layers: []nn.Named{
		{Name: "avgpool", M: &nn.AdaptivePool{H: 1, W: 1, Flatten: true}},
		{Name: "classifier", M: nn.Seq(&nn.Dropout{P: 0.2}, normalLinear(1280, c.NumClasses))},
	}})
	return m
}

// featureCut ends a stage after layer end-1 of a torchvision "features"
// sequence, with the stage's output channels and downsampling.
type featureCut struct{ end, ch, red int }

// cutFeatures splits a MobileNet's features into the stem and stage1…N at
// the cuts.
func cutFeatures(layers []nn.Named, cuts []featureCut) []*nn.Stage {
	var out []*nn.Stage
	start := 0
	for i, cut := range cuts {
		name := fmt.Sprintf("stage%d", i)
		if i == 0 {
			name = "stem"
		}
		out = append(out, &nn.Stage{Name: name, Channels: cut.ch, Reduction: cut.red, Layers: layers[start:cut.end]})
		start = cut.end
	}
	return out
}
