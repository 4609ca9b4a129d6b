// Package arch is graft's registry of built-in architectures. Each builds an
// nn.Model split into stages (stem, stage1…N, head), with torchvision's
// parameter names so that its state_dicts load, for any input size and any
// class count.
package arch

import (
	"fmt"
	"sort"
	"strings"

	"github.com/graftml/graft/nn"
)

// Config selects the variant of an architecture to build.
type Config struct {
	// NumClasses is the classifier's output count (at least 2).
	NumClasses int
	// InChannels is the input's channel count: 3 for RGB, 1 for grey.
	InChannels int
}

// Validate reports a configuration no architecture can build.
func (c Config) Validate() error {
	if c.NumClasses < 2 {
		return fmt.Errorf("a classifier needs at least 2 classes, got %d", c.NumClasses)
	}
	if c.InChannels != 1 && c.InChannels != 3 {
		return fmt.Errorf("input channels must be 1 or 3, got %d", c.InChannels)
	}
	return nil
}

// Spec describes a built-in architecture.
type Spec struct {
	Name string
	Doc  string
	// InputSize is the side the architecture was designed for; any size
	// works, this is the default when data does not say otherwise.
	InputSize int
	// Norm is the normalisation preset its pretrained weights expect.
	Norm string
	// ChannelsLast says the architecture trains faster with NHWC
	// convolutions on the CPU; measured per architecture, in fp32 and bf16
	// (BENCHMARKS.md, "Memory layout per architecture"): oneDNN's NHWC
	// kernels win for the small CNN, the ResNets and the MobileNets (their
	// depthwise convolutions most of all); VGG trains as fast either way,
	// its step being mostly the 100M-weight classifier, and stays NCHW.
	ChannelsLast bool
	build        func(Config) *nn.Model
}

// registry lists every architecture by hand, in one place.
var registry = map[string]Spec{
	"smallcnn":     {Name: "smallcnn", Doc: "3 conv blocks (32/64/128, BN, ReLU, max-pool), global pool, dense; for small images", InputSize: 32, Norm: "unit", ChannelsLast: true, build: smallCNN},
	"vgg11":        {Name: "vgg11", Doc: "VGG-11 (Simonyan & Zisserman 2014)", InputSize: 224, Norm: "imagenet", build: vggBuilder("vgg11", vggA, false)},
	"vgg11_bn":     {Name: "vgg11_bn", Doc: "VGG-11 with BatchNorm", InputSize: 224, Norm: "imagenet", build: vggBuilder("vgg11_bn", vggA, true)},
	"vgg16":        {Name: "vgg16", Doc: "VGG-16, the classic SSD base", InputSize: 224, Norm: "imagenet", build: vggBuilder("vgg16", vggD, false)},
	"vgg16_bn":     {Name: "vgg16_bn", Doc: "VGG-16 with BatchNorm", InputSize: 224, Norm: "imagenet", build: vggBuilder("vgg16_bn", vggD, true)},
	"resnet18":     {Name: "resnet18", Doc: "ResNet-18 (He et al. 2015), basic blocks [2,2,2,2]", InputSize: 224, Norm: "imagenet", ChannelsLast: true, build: resnetBuilder("resnet18", false, [4]int{2, 2, 2, 2})},
	"resnet34":     {Name: "resnet34", Doc: "ResNet-34, basic blocks [3,4,6,3]", InputSize: 224, Norm: "imagenet", ChannelsLast: true, build: resnetBuilder("resnet34", false, [4]int{3, 4, 6, 3})},
	"resnet50":     {Name: "resnet50", Doc: "ResNet-50, bottleneck blocks [3,4,6,3]", InputSize: 224, Norm: "imagenet", ChannelsLast: true, build: resnetBuilder("resnet50", true, [4]int{3, 4, 6, 3})},
	"mobilenet_v2": {Name: "mobilenet_v2", Doc: "MobileNetV2 (Sandler et al. 2018), width 1.0", InputSize: 224, Norm: "imagenet", ChannelsLast: true, build: mobileNetV2},

	"mobilenet_v3_large": {Name: "mobilenet_v3_large", Doc: "MobileNetV3-Large (Howard et al. 2019): hardswish, squeeze-excitation", InputSize: 224, Norm: "imagenet", ChannelsLast: true, build: mobileNetV3Large},
}

// Names lists the built-in architectures in alphabetical order.
func Names() []string {
	out := make([]string, 0, len(registry))
	for n := range registry {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Lookup returns an architecture's description.
func Lookup(name string) (Spec, error) {
	s, ok := registry[name]
	if !ok {
		return Spec{}, fmt.Errorf("unknown architecture %q: choose one of %s", name, strings.Join(Names(), ", "))
	}
	return s, nil
}

// New builds an architecture with freshly initialised weights drawn from
// libtorch's generator (seed it with torch.ManualSeed for repeatable runs).
func New(name string, cfg Config) (*nn.Model, error) {
	s, err := Lookup(name)
	if err != nil {
		return nil, err
	}
	if cfg.InChannels == 0 {
		cfg.InChannels = 3
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	m := s.build(cfg)
	for _, p := range m.Params() {
		if err := p.T.Err(); err != nil {
			m.Free()
			return nil, fmt.Errorf("build %s: %s: %w", name, p.Name, err)
		}
		if !p.Buffer {
			if err := p.T.SetRequiresGrad(true); err != nil {
				m.Free()
				return nil, fmt.Errorf("build %s: %w", name, err)
			}
		}
	}
	return m, nil
}

func head(ch, classes int) *nn.Stage {
	return &nn.Stage{Name: "head", Channels: classes, Layers: []nn.Named{
		{Name: "avgpool", M: &nn.AdaptivePool{H: 1, W: 1, Flatten: true}},
		{Name: "fc", M: nn.NewLinear(ch, classes, true)},
	}}
}

func smallCNN(cfg Config) *nn.Model {
	m := &nn.Model{Arch: "smallcnn", InChannels: cfg.InChannels, NumClasses: cfg.NumClasses}
	in := cfg.InChannels
	for i, ch := range []int{32, 64, 128} {
		block := nn.Seq(nn.NewConv2d(in, ch, 3, 1, 1, 1, false), nn.NewBatchNorm2d(ch), nn.ReLU(), nn.NewMaxPool(2, 2, 0))
		m.Stages = append(m.Stages, &nn.Stage{
			Name: fmt.Sprintf("stage%d", i+1), Channels: ch, Reduction: 2 << i,
			Layers: []nn.Named{{Name: fmt.Sprintf("block%d", i+1), M: block}},
		})
		in = ch
	}
	h := head(128, cfg.NumClasses)
	h.Reduction = 8
	m.Stages = append(m.Stages, h)
	return m
}

// PrefersChannelsLast reports an architecture's CPU layout preference;
// unknown architectures (imported graphs) keep NCHW.
func PrefersChannelsLast(name string) bool {
	s, ok := registry[name]
	return ok && s.ChannelsLast
}
