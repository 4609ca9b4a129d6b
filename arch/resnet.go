package arch

import (
	"fmt"

	"github.com/graftml/graft/nn"
)

// resnetBuilder lays ResNet out as torchvision does: conv1/bn1/maxpool stem,
// layer1…layer4 (one stage each), avgpool and fc.
func resnetBuilder(name string, bottleneck bool, blocks [4]int) func(Config) *nn.Model {
	return func(c Config) *nn.Model {
		m := &nn.Model{Arch: name, InChannels: c.InChannels, NumClasses: c.NumClasses}
		m.Stages = append(m.Stages, &nn.Stage{Name: "stem", Channels: 64, Reduction: 4, Layers: []nn.Named{
			{Name: "conv1", M: nn.NewConv2d(c.InChannels, 64, 7, 2, 3, 1, false)},
			{Name: "bn1", M: nn.NewBatchNorm2d(64)},
			{Name: "relu", M: nn.ReLU()},
			{Name: "maxpool", M: nn.NewMaxPool(3, 2, 1)},
		}})
		in, reduction := 64, 4
		for i, n := range blocks {
			width := 64 << i
			stride := 1
			if i > 0 {
				stride = 2
				reduction *= 2
			}
			var mods []nn.Module
			for j := 0; j < n; j++ {
				s := 1
				if j == 0 {
					s = stride
				}
				if bottleneck {
					mods = append(mods, nn.NewBottleneck(in, width, s))
					in = width * 4
				} else {
					mods = append(mods, nn.NewBasicBlock(in, width, s))
					in = width
				}
			}
			m.Stages = append(m.Stages, &nn.Stage{
				Name: fmt.Sprintf("stage%d", i+1), Channels: in, Reduction: reduction,
				Layers: []nn.Named{{Name: fmt.Sprintf("layer%d", i+1), M: nn.Seq(mods...)}},
			})
		}
		h := head(in, c.NumClasses)
		h.Reduction = reduction
		m.Stages = append(m.Stages, h)
		return m
	}
}
