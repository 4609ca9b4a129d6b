package detect

import (
	"fmt"
	"sort"
	"strings"

	"github.com/graftml/graft/arch"
)

// Config selects the variant of a detector to build.
type Config struct {
	// NumClasses counts the classes the detector tells apart, background
	// included (torchvision's num_classes): 2 or more.
	NumClasses int
	// InChannels is the input's channel count: 3 (default) or 1.
	InChannels int
	// FullTail builds SSDLite's MobileNetV3 with its full-width last
	// blocks, as torchvision does when the backbone starts from ImageNet
	// weights (mobilenet_v3_large's layout). The default, the reduced
	// tail, is what torchvision builds otherwise, and so the layout of its
	// COCO weights.
	FullTail bool
}

// Validate reports a configuration no detector can build.
func (c Config) Validate() error {
	if c.NumClasses < 2 {
		return fmt.Errorf("a detector needs the background and at least one class: num classes %d, want 2 or more", c.NumClasses)
	}
	if c.InChannels != 1 && c.InChannels != 3 {
		return fmt.Errorf("input channels must be 1 or 3, got %d", c.InChannels)
	}
	return nil
}

// Spec describes a built-in detector.
type Spec struct {
	Name string
	Doc  string
	// InputSize is the side the detector and its default boxes were
	// designed for.
	InputSize int
	// Mean and Std normalise its input, as torchvision's image_mean and
	// image_std on pixels in [0, 1]. SSD300's (std 1/255) undo the [0, 1]
	// scaling: its VGG expects 0–255 minus the mean, in RGB.
	Mean, Std [3]float64
	// Backbone is the classification architecture whose body it reuses,
	// when there is one in package arch.
	Backbone string
	// Post is its post-processing, torchvision's thresholds for the model.
	Post  Post
	build func(Config) (*Model, error)
}

// registry lists every detector by hand, in one place.
var registry = map[string]Spec{
	"ssd300_vgg16": {Name: "ssd300_vgg16", Doc: "SSD300 (Liu et al. 2016) on VGG-16: L2-normalised conv4_3, dilated fc6/fc7, 6 maps, 8,732 boxes",
		InputSize: 300, Mean: [3]float64{0.48235, 0.45882, 0.40784}, Std: [3]float64{1 / 255.0, 1 / 255.0, 1 / 255.0}, Backbone: "vgg16",
		Post: SSDPost, build: func(c Config) (*Model, error) { return ssd300VGG16(c), nil }},
	"ssdlite320_mobilenet_v3_large": {Name: "ssdlite320_mobilenet_v3_large", Doc: "SSDLite (Sandler et al. 2018) on MobileNetV3-Large at 320², 6 maps, 3,234 boxes",
		InputSize: 320, Mean: [3]float64{0.5, 0.5, 0.5}, Std: [3]float64{0.5, 0.5, 0.5}, Backbone: "mobilenet_v3_large",
		Post: Post{Coder: SSDCoder, ScoreThreshold: 0.001, TopK: 300, NMS: 0.55, PerImage: 300}, build: func(c Config) (*Model, error) { return ssdLite320MobileNetV3(c), nil }},
	"ssdlite320_mobilenet_v2": {Name: "ssdlite320_mobilenet_v2", Doc: "SSDLite (Sandler et al. 2018) on graft's MobileNetV2: maps at /16 and /32, 4 depthwise-separable extras, 3,234 boxes at 320²",
		InputSize: 320, Mean: [3]float64{0.485, 0.456, 0.406}, Std: [3]float64{0.229, 0.224, 0.225}, Backbone: "mobilenet_v2",
		Post: Post{Coder: SSDCoder, ScoreThreshold: 0.001, TopK: 300, NMS: 0.55, PerImage: 300}, build: ssdLiteMobileNetV2},
	"ssd_smallcnn": {Name: "ssd_smallcnn", Doc: "graft's small SSD: smallcnn's 3 blocks, 2 extra blocks, 3 maps (/8, /16, /32), for tests and the CPU demo",
		InputSize: 128, Std: [3]float64{1, 1, 1}, Backbone: "smallcnn", Post: SSDPost, build: smallSSD},
}

// ChannelsLast says whether the built-in detector name trains and
// evaluates NHWC on the CPU: where its body's classifier does
// (arch.PrefersChannelsLast). Measured on SSDLite (MobileNetV3), graft
// alone: training 28.4 against 18.3 img/s, inference 112 against 82
// (BENCHMARKS.md, 2026-12-07). An unknown name runs NCHW.
func ChannelsLast(name string) bool {
	s, ok := registry[name]
	return ok && s.Backbone != "" && arch.PrefersChannelsLast(s.Backbone)
}

// smallSSD is the small CNN's body (stage1…stage3, named block1…3 as in
// the classifier, so a smallcnn classifier's weights load into it), two
// extra blocks of 128 channels, and SSD's 3×3 predictors on stage3 and
// both extras: 1,344 default boxes at 128².
func smallSSD(c Config) (*Model, error) {
	base, err := arch.New("smallcnn", arch.Config{NumClasses: 2, InChannels: c.InChannels})
	if err != nil {
		return nil, err
	}
	return FromClassifier(base, BaseOptions{Arch: "ssd_smallcnn", NumClasses: c.NumClasses, Taps: 1, Extras: []int{128, 128},
		Boxes: SmallBoxes(), InputSize: 128})
}

// ssdLiteMobileNetV2 is SSDLite as the MobileNetV2 paper builds it, on
// graft's mobilenet_v2 classifier's body (so its weights load by name):
// the /16 stage (96 channels) and the /32 stage (1,280) are maps, then
// torchvision's four SSDLite extras (512, 256, 256, 128) and SSDLite's
// predictors and default boxes.
func ssdLiteMobileNetV2(c Config) (*Model, error) {
	base, err := arch.New("mobilenet_v2", arch.Config{NumClasses: 2, InChannels: c.InChannels})
	if err != nil {
		return nil, err
	}
	return FromClassifier(base, BaseOptions{Arch: "ssdlite320_mobilenet_v2", NumClasses: c.NumClasses, Taps: 2, Extras: []int{512, 256, 256, 128},
		Lite: true, Boxes: SSDLiteBoxes(), InputSize: 320})
}

// PostFor is a detector's post-processing: the registry's thresholds for a
// built-in, SSD's for a detector put on a classifier (FromClassifier).
func PostFor(arch string) Post {
	if s, ok := registry[arch]; ok {
		return s.Post
	}
	return SSDPost
}

// Names lists the built-in detectors in alphabetical order.
func Names() []string {
	out := make([]string, 0, len(registry))
	for n := range registry {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Lookup returns a detector's description.
func Lookup(name string) (Spec, error) {
	s, ok := registry[name]
	if !ok {
		return Spec{}, fmt.Errorf("unknown detector %q: choose one of %s", name, strings.Join(Names(), ", "))
	}
	return s, nil
}

// New builds a detector with freshly initialised weights drawn from
// libtorch's generator (seed it with torch.ManualSeed for repeatable
// runs), every weight trainable.
func New(name string, cfg Config) (*Model, error) {
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
	m, err := s.build(cfg)
	if err != nil {
		return nil, fmt.Errorf("build %s: %w", name, err)
	}
	if err := ready(m); err != nil {
		return nil, fmt.Errorf("build %s: %w", name, err)
	}
	m.recipe = recipe{Detector: name, NumClasses: cfg.NumClasses, InChannels: cfg.InChannels, FullTail: cfg.FullTail}
	return m, nil
}

// ready checks the built model and turns gradients on for its weights.
func ready(m *Model) error {
	if err := m.Validate(); err != nil {
		m.Free()
		return err
	}
	for _, p := range m.Params() {
		if err := p.T.Err(); err != nil {
			m.Free()
			return fmt.Errorf("%s: %w", p.Name, err)
		}
		if !p.Buffer {
			if err := p.T.SetRequiresGrad(true); err != nil {
				m.Free()
				return err
			}
		}
	}
	return nil
}
