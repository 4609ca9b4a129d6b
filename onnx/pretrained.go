package onnx

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/graftml/graft/checkpoint"
	"github.com/graftml/graft/nn"
	"github.com/graftml/graft/torch"
)

// Naming selects how LoadPretrained reads a file's parameter names.
type Naming string

const (
	// NamingAuto recognises timm's names by their telltale entries
	// (conv_stem, pre_logits) and otherwise reads torchvision's.
	NamingAuto        Naming = ""
	NamingTorchvision Naming = "torchvision"
	NamingTimm        Naming = "timm"
)

// WeightsOptions control LoadPretrained.
type WeightsOptions struct {
	// Mode is checkpoint.Strict (every parameter, nothing else) or
	// checkpoint.DropClassifier (keep the model's fresh classifier when
	// the class counts differ).
	Mode   checkpoint.Mode
	Naming Naming
}

// weightSource is what both a StateDict and a safetensors file offer.
type weightSource interface {
	Names() []string
	Shape(name string) []int64
	Tensor(name string) (*torch.Tensor, error)
}

// LoadPretrained loads a PyTorch state_dict (.pth/.pt/.bin, as torch.save
// writes it) or a safetensors file into m, a built-in architecture (or an
// imported graph), matching parameters by name after mapping timm's names
// to torchvision's. The report and error list mismatches by name and
// shape, as checkpoint.LoadWeights does.
func LoadPretrained(m *nn.Model, path string, opts WeightsOptions) (checkpoint.LoadReport, error) {
	src, err := openWeights(path)
	if err != nil {
		return checkpoint.LoadReport{}, err
	}
	naming, mapName, err := namesFor(src, opts.Naming, m.Arch)
	if err != nil {
		return checkpoint.LoadReport{}, err
	}
	// Convert to a temporary safetensors file under the model's names, so
	// checkpoint.LoadWeights applies its modes and reports unchanged.
	want := map[string][]int64{}
	for _, p := range m.Params() {
		want[p.Name] = p.T.Shape()
	}
	var ts []checkpoint.Tensor
	defer func() {
		for _, t := range ts {
			t.T.Free()
		}
	}()
	seen := map[string]string{}
	for _, name := range src.Names() {
		t, err := src.Tensor(name)
		if err != nil {
			return checkpoint.LoadReport{}, err
		}
		out := name
		if mapName != nil {
			var shape []int64
			out, shape = mapName(name, t.Shape())
			if shape != nil && numel(shape) == t.Numel() {
				t = reshapeOwned(t, shape)
			}
		}
		// A conv1x1 classifier is held as a Linear: accept either layout.
		if ws, ok := want[out]; ok && !sameDims(ws, t.Shape()) && numel(ws) == t.Numel() && len(ws) == 2 && len(t.Shape()) == 4 {
			t = reshapeOwned(t, ws)
		}
		if prev, dup := seen[out]; dup {
			t.Free()
			return checkpoint.LoadReport{}, fmt.Errorf("%s: %s and %s both map to %s", path, prev, name, out)
		}
		seen[out] = name
		ts = append(ts, checkpoint.Tensor{Name: out, T: t})
	}
	// A scratch file to read back, not an output: nothing else sees it and
	// it is removed on return, so it bypasses safefile.
	tmp, err := os.CreateTemp("", "graft-weights-*.safetensors")
	if err != nil {
		return checkpoint.LoadReport{}, err
	}
	defer os.Remove(tmp.Name())
	werr := checkpoint.WriteSafetensors(tmp, ts, nil)
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return checkpoint.LoadReport{}, fmt.Errorf("convert %s: %w", path, werr)
	}
	st, err := checkpoint.ReadSafetensors(tmp.Name())
	if err != nil {
		return checkpoint.LoadReport{}, err
	}
	st.Path = path
	if naming == NamingTimm {
		st.Path = path + " (timm names)"
	}
	return checkpoint.LoadWeights(m, st, opts.Mode)
}

func openWeights(path string) (weightSource, error) {
	if strings.HasSuffix(strings.ToLower(path), ".safetensors") {
		return checkpoint.ReadSafetensors(path)
	}
	return ReadStateDict(path)
}

// namesFor resolves the naming and its mapping to torchvision's names.
func namesFor(src weightSource, naming Naming, arch string) (Naming, func(string, []int64) (string, []int64), error) {
	if naming == NamingAuto {
		naming = detectNaming(src.Names())
	}
	switch naming {
	case NamingTorchvision:
		return naming, nil, nil
	case NamingTimm:
		return naming, timmMapper(arch), nil
	}
	return naming, nil, fmt.Errorf("unknown parameter naming %q: use torchvision or timm", naming)
}

// ClassesIn is the class count of the classifier in a weights file for
// model m's architecture (the rows of the entry named as m's classifier),
// or 0 when the file has no such entry: what to build before loading it.
func ClassesIn(path string, m *nn.Model, naming Naming) (int, error) {
	src, err := openWeights(path)
	if err != nil {
		return 0, err
	}
	_, mapName, err := namesFor(src, naming, m.Arch)
	if err != nil {
		return 0, err
	}
	_, cls := m.Classifier() // the layer's name, "fc"
	cls += ".weight"
	for _, name := range src.Names() {
		shape := src.Shape(name)
		out := name
		if mapName != nil {
			out, _ = mapName(name, shape)
		}
		if out == cls && len(shape) > 0 {
			return int(shape[0]), nil
		}
	}
	return 0, nil
}

func reshapeOwned(t *torch.Tensor, shape []int64) *torch.Tensor {
	r := t.Reshape(shape...)
	t.Free()
	return r
}

func detectNaming(names []string) Naming {
	for _, n := range names {
		if strings.HasPrefix(n, "conv_stem.") || strings.HasPrefix(n, "pre_logits.") || strings.HasPrefix(n, "head.fc.") {
			return NamingTimm
		}
	}
	return NamingTorchvision
}

// timmMapper maps timm's parameter names to torchvision's for an
// architecture. ResNets share torchvision's names; MobileNetV2 and VGG
// differ (VGG's timm head is convolutional, so its weights are reshaped).
func timmMapper(arch string) func(string, []int64) (string, []int64) {
	switch {
	case arch == "mobilenet_v2":
		return timmMobileNetV2
	case strings.HasPrefix(arch, "vgg"):
		return timmVGG
	}
	return func(n string, _ []int64) (string, []int64) { return n, nil }
}

// MobileNetV2's blocks per stage (the paper's table 2), which turn timm's
// blocks.i.j into torchvision's features.k.
var mbv2Depths = []int{1, 2, 3, 4, 3, 3, 1}

var timmBlock = regexp.MustCompile(`^blocks\.(\d+)\.(\d+)\.([a-z_]+[0-9]?)\.(.+)$`)

func timmMobileNetV2(name string, _ []int64) (string, []int64) {
	switch {
	case strings.HasPrefix(name, "conv_stem."):
		return "features.0.0." + strings.TrimPrefix(name, "conv_stem."), nil
	case strings.HasPrefix(name, "bn1."):
		return "features.0.1." + strings.TrimPrefix(name, "bn1."), nil
	case strings.HasPrefix(name, "conv_head."):
		return "features.18.0." + strings.TrimPrefix(name, "conv_head."), nil
	case strings.HasPrefix(name, "bn2."):
		return "features.18.1." + strings.TrimPrefix(name, "bn2."), nil
	case strings.HasPrefix(name, "classifier."):
		return "classifier.1." + strings.TrimPrefix(name, "classifier."), nil
	}
	m := timmBlock.FindStringSubmatch(name)
	if m == nil {
		return name, nil
	}
	i, _ := strconv.Atoi(m[1])
	j, _ := strconv.Atoi(m[2])
	if i >= len(mbv2Depths) {
		return name, nil
	}
	k := 1 + j
	for _, d := range mbv2Depths[:i] {
		k += d
	}
	layer := map[string]string{"conv_pw": "conv.0.0", "bn1": "conv.0.1", "conv_dw": "conv.1.0", "bn2": "conv.1.1", "conv_pwl": "conv.2", "bn3": "conv.3"}
	if i == 0 { // the first block has no expansion: depthwise, then project
		layer = map[string]string{"conv_dw": "conv.0.0", "bn1": "conv.0.1", "conv_pw": "conv.1", "bn2": "conv.2"}
	}
	l, ok := layer[m[3]]
	if !ok {
		return name, nil
	}
	return fmt.Sprintf("features.%d.%s.%s", k, l, m[4]), nil
}

func timmVGG(name string, shape []int64) (string, []int64) {
	flat := func() []int64 {
		if len(shape) == 4 {
			return []int64{shape[0], shape[1] * shape[2] * shape[3]}
		}
		return nil
	}
	switch name {
	case "pre_logits.fc1.weight":
		return "classifier.0.weight", flat()
	case "pre_logits.fc1.bias":
		return "classifier.0.bias", nil
	case "pre_logits.fc2.weight":
		return "classifier.3.weight", flat()
	case "pre_logits.fc2.bias":
		return "classifier.3.bias", nil
	case "head.fc.weight":
		return "classifier.6.weight", nil
	case "head.fc.bias":
		return "classifier.6.bias", nil
	}
	return name, nil
}
