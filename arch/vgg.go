package arch

import (
	"fmt"

	"github.com/graftml/graft/nn"
)

// VGG configurations from the paper; 0 marks a max-pool.
var (
	vggA = []int{64, 0, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0}
	vggD = []int{64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0}
)

// vggBuilder lays VGG out as torchvision does — one numbered "features"
// sequence and a "classifier" — and cuts it into a stage per max-pool, so
// "freeze the first k conv blocks" means what users expect.
func vggBuilder(name string, cfg []int, bn bool) func(Config) *nn.Model {
	return func(c Config) *nn.Model {
		m := &nn.Model{Arch: name, InChannels: c.InChannels, NumClasses: c.NumClasses}
		in, idx, reduction := c.InChannels, 0, 1
		cur := &nn.Stage{}
		add := func(mod nn.Module) {
			cur.Layers = append(cur.Layers, nn.Named{Name: fmt.Sprintf("features.%d", idx), M: mod})
			idx++
		}
		for _, v := range cfg {
			if v == 0 {
				add(nn.NewMaxPool(2, 2, 0))
				reduction *= 2
				cur.Name = fmt.Sprintf("stage%d", len(m.Stages)+1)
				cur.Channels, cur.Reduction = in, reduction
				m.Stages = append(m.Stages, cur)
				cur = &nn.Stage{}
				continue
			}
			add(nn.NewConv2d(in, v, 3, 1, 1, 1, true))
			if bn {
				add(nn.NewBatchNorm2d(v))
			}
			add(nn.ReLU())
			in = v
		}
		classifier := nn.Seq(
			normalLinear(512*7*7, 4096), nn.ReLU(), &nn.Dropout{P: 0.5},
			normalLinear(4096, 4096), nn.ReLU(), &nn.Dropout{P: 0.5},
			normalLinear(4096, c.NumClasses),
		)
		m.Stages = append(m.Stages, &nn.Stage{Name: "head", Channels: c.NumClasses, Reduction: reduction, Layers: []nn.Named{
			{Name: "avgpool", M: &nn.AdaptivePool{H: 7, W: 7, Flatten: true}},
			{Name: "classifier", M: classifier},
		}})
		return m
	}
}

// normalLinear is torchvision's VGG/MobileNet classifier initialisation:
// N(0, 0.01) weights, zero bias.
func normalLinear(in, out int) *nn.Linear {
	l := nn.NewLinear(in, out, true)
	_ = l.Weight.Normal_(0, 0.01)
	_ = l.Bias.Fill_(0)
	return l
}
