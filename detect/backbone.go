package detect

import (
	"fmt"
	"regexp"
	"strconv"

	"github.com/graftml/graft/nn"
	"github.com/graftml/graft/torch"
)

// LoadBackbone copies a classifier's body weights into detector m: the
// seed's own set-up, an ImageNet-pretrained VGG-16 (or a graft-trained
// classifier) as the detector's base. base is a classifier of m's
// Spec.Backbone architecture, built and loaded as any (arch.New, then
// onnx.LoadPretrained or a checkpoint). Its classifier is ignored; the
// detector's extras and head keep their fresh weights. It returns how
// many tensors were copied.
func LoadBackbone(m *Model, base *nn.Model) (int, error) {
	spec, err := Lookup(m.Arch)
	if err != nil {
		return 0, err
	}
	if base.Arch != spec.Backbone {
		return 0, fmt.Errorf("%s's backbone is %s, not %s: load %s weights, or build the detector with FromClassifier", m.Arch, spec.Backbone, base.Arch, spec.Backbone)
	}
	mapName := backboneNames[m.Arch]
	dst := map[string]*torch.Tensor{}
	for _, p := range m.Params() {
		dst[p.Name] = p.T
	}
	n := 0
	for _, s := range base.Stages[:len(base.Stages)-1] {
		for _, p := range s.Params() {
			name := p.Name
			if mapName != nil {
				name = mapName(p.Name)
			}
			t, ok := dst[name]
			if !ok {
				return n, fmt.Errorf("%s: the backbone's %s (as %s) is not in the detector; is it built with Config.FullTail for an ImageNet MobileNetV3?", m.Arch, p.Name, name)
			}
			if got, want := p.T.Shape(), t.Shape(); fmt.Sprint(got) != fmt.Sprint(want) {
				return n, fmt.Errorf("%s: %s is %v in the backbone, %s is %v in the detector (input channels or tail width differ)", m.Arch, p.Name, got, name, want)
			}
			var cerr error
			torch.NoGrad(func() { cerr = t.CopyFrom_(p.T) })
			if cerr != nil {
				return n, fmt.Errorf("%s: load %s: %w", m.Arch, name, cerr)
			}
			n++
		}
	}
	return n, nil
}

var (
	featureName = regexp.MustCompile(`^features\.(\d+)\.(.+)$`)
	blockName   = regexp.MustCompile(`^block\.(\d+)\.(.+)$`)
)

// backboneNames map a classifier's parameter names to the detector's,
// where torchvision renames them (ssd_smallcnn keeps smallcnn's).
var backboneNames = map[string]func(string) string{
	// features.0…21 stay (under backbone.), pool4 and conv5 (features.23…29)
	// open backbone.extra.0.
	"ssd300_vgg16": func(name string) string {
		k, rest, ok := featureIndex(name)
		if !ok {
			return name
		}
		if k >= 23 {
			return fmt.Sprintf("backbone.extra.0.%d.%s", k-23, rest)
		}
		return "backbone." + name
	},
	// features.0…12 and the expansion of block 13 form
	// backbone.features.0; the rest of block 13 and features.14…16 form
	// backbone.features.1.
	"ssdlite320_mobilenet_v3_large": func(name string) string {
		k, rest, ok := featureIndex(name)
		switch {
		case !ok:
			return name
		case k < 13:
			return fmt.Sprintf("backbone.features.0.%d.%s", k, rest)
		case k > 13:
			return fmt.Sprintf("backbone.features.1.%d.%s", k-13, rest)
		}
		b := blockName.FindStringSubmatch(rest)
		if b == nil {
			return name
		}
		if b[1] == "0" {
			return "backbone.features.0.13." + b[2]
		}
		return fmt.Sprintf("backbone.features.1.0.%s.%s", b[1], b[2])
	},
}

func featureIndex(name string) (int, string, bool) {
	f := featureName.FindStringSubmatch(name)
	if f == nil {
		return 0, "", false
	}
	k, err := strconv.Atoi(f[1])
	return k, f[2], err == nil
}
