package onnx

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/graftml/graft/arch"
	"github.com/graftml/graft/checkpoint"
	"github.com/graftml/graft/torch"
)

// testdata/*.pth are torch.save files written by scripts/onnx_fixtures.py:
// the zip format, the legacy format, and a checkpoint dict wrapping a
// DataParallel state_dict; small_expected.safetensors holds their values.
func TestReadStateDict(t *testing.T) {
	want, err := checkpoint.ReadSafetensors(filepath.Join("testdata", "small_expected.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range []string{"small.pth", "legacy.pth", "wrapped.pth"} {
		t.Run(file, func(t *testing.T) {
			sd, err := ReadStateDict(filepath.Join("testdata", file))
			if err != nil {
				t.Fatal(err)
			}
			if got, exp := strings.Join(sd.Names(), " "), "a.weight a.bias b.weight b.half b.num_batches_tracked c.double"; got != exp {
				t.Fatalf("names %q, want %q", got, exp)
			}
			if sd.DType("b.half") != "float16" || sd.DType("b.num_batches_tracked") != "int64" {
				t.Errorf("dtypes %s, %s", sd.DType("b.half"), sd.DType("b.num_batches_tracked"))
			}
			for _, name := range sd.Names() {
				g, err := sd.Tensor(name)
				if err != nil {
					t.Fatal(err)
				}
				w, err := want.Tensor(name)
				if err != nil {
					t.Fatal(err)
				}
				if d := relDiff(t, g, w); d != 0 {
					t.Errorf("%s differs by %g", name, d)
				}
				g.Free()
				w.Free()
			}
		})
	}
}

func TestReadStateDictErrors(t *testing.T) {
	dir := t.TempDir()
	small, _ := os.ReadFile(filepath.Join("testdata", "small.pth"))
	legacy, _ := os.ReadFile(filepath.Join("testdata", "legacy.pth"))
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, b, 0o644)
		return p
	}
	for _, tc := range []struct{ name, path, want string }{
		{"module", filepath.Join("testdata", "module.pth"), "whole torch.nn.modules.linear.Linear object"},
		{"truncated zip", write("t.pth", small[:len(small)-200]), "zip"},
		{"truncated legacy", write("l.pth", legacy[:len(legacy)-20]), "truncated"},
		{"onnx", filepath.Join(tinyDir, "model13.onnx"), "not a PyTorch checkpoint"},
		{"missing", filepath.Join(dir, "none.pth"), "no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadStateDict(tc.path)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// The timm name table, against names written out from timm's layout.
func TestTimmNames(t *testing.T) {
	for _, tc := range []struct{ arch, in, out string }{
		{"mobilenet_v2", "conv_stem.weight", "features.0.0.weight"},
		{"mobilenet_v2", "bn1.running_var", "features.0.1.running_var"},
		{"mobilenet_v2", "blocks.0.0.conv_dw.weight", "features.1.conv.0.0.weight"},
		{"mobilenet_v2", "blocks.0.0.conv_pw.weight", "features.1.conv.1.weight"},
		{"mobilenet_v2", "blocks.0.0.bn2.bias", "features.1.conv.2.bias"},
		{"mobilenet_v2", "blocks.1.0.conv_pw.weight", "features.2.conv.0.0.weight"},
		{"mobilenet_v2", "blocks.1.1.conv_pwl.weight", "features.3.conv.2.weight"},
		{"mobilenet_v2", "blocks.6.0.bn3.num_batches_tracked", "features.17.conv.3.num_batches_tracked"},
		{"mobilenet_v2", "conv_head.weight", "features.18.0.weight"},
		{"mobilenet_v2", "bn2.weight", "features.18.1.weight"},
		{"mobilenet_v2", "classifier.bias", "classifier.1.bias"},
		{"vgg16_bn", "pre_logits.fc1.weight", "classifier.0.weight"},
		{"vgg16_bn", "head.fc.bias", "classifier.6.bias"},
		{"vgg16_bn", "features.3.running_mean", "features.3.running_mean"},
		{"resnet50", "layer3.2.bn2.weight", "layer3.2.bn2.weight"},
	} {
		got, _ := timmMapper(tc.arch)(tc.in, nil)
		if got != tc.out {
			t.Errorf("%s: %s → %s, want %s", tc.arch, tc.in, got, tc.out)
		}
	}
	if _, s := timmVGG("pre_logits.fc1.weight", []int64{4096, 512, 7, 7}); len(s) != 2 || s[1] != 25088 {
		t.Errorf("timm VGG fc1 reshaped to %v", s)
	}
}

// torchvision weights in graft's built-in architectures compute what
// PyTorch computes: the whole path from torch.save to logits.
func TestLoadPretrainedIntoBuiltins(t *testing.T) {
	if testing.Short() {
		t.Skip("generates PyTorch fixtures")
	}
	dir := modelFixtures(t)
	for _, tc := range []struct {
		arch, file string
		naming     Naming
	}{
		{"resnet18", "state_dict.pth", NamingAuto},
		{"mobilenet_v2", "state_dict.pth", NamingTorchvision},
		{"mobilenet_v2", "timm_state_dict.pth", NamingAuto},
	} {
		t.Run(tc.arch+"/"+tc.file, func(t *testing.T) {
			m, err := arch.New(tc.arch, arch.Config{NumClasses: 10})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Free()
			rep, err := LoadPretrained(m, filepath.Join(dir, tc.arch, tc.file), WeightsOptions{Mode: checkpoint.Strict, Naming: tc.naming})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Loaded != len(m.Params()) {
				t.Errorf("loaded %d of %d", rep.Loaded, len(m.Params()))
			}
			x := loadTensor(t, filepath.Join(dir, tc.arch, "input.pb"))
			defer x.Free()
			want := loadTensor(t, filepath.Join(dir, tc.arch, "logits.pb"))
			defer want.Free()
			var got *torch.Tensor
			torch.NoGrad(func() { got = m.Forward(x, false) })
			d := relDiff(t, got, want)
			if d > logitsRtol {
				t.Errorf("logits differ from PyTorch's by %.3g", d)
			}
			t.Logf("%s from %s: logits within %.2g of PyTorch's", tc.arch, tc.file, d)
		})
	}
	// A different class count: strict fails naming the classifier,
	// DropClassifier keeps the fresh one.
	m, err := arch.New("resnet18", arch.Config{NumClasses: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Free()
	path := filepath.Join(dir, "resnet18", "state_dict.pth")
	if _, err := LoadPretrained(m, path, WeightsOptions{}); err == nil || !strings.Contains(err.Error(), "fc.weight: file [10 512], model [4 512]") {
		t.Errorf("strict load into 4 classes: %v", err)
	}
	rep, err := LoadPretrained(m, path, WeightsOptions{Mode: checkpoint.DropClassifier})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Skipped) != 2 || rep.Loaded != len(m.Params())-2 {
		t.Errorf("drop-classifier load: %+v", rep)
	}
	// Wrong architecture: mismatches are listed by name.
	mb, _ := arch.New("mobilenet_v2", arch.Config{NumClasses: 10})
	defer mb.Free()
	if _, err := LoadPretrained(mb, path, WeightsOptions{}); err == nil || !strings.Contains(err.Error(), "missing from the file: features.0.0.weight") {
		t.Errorf("resnet weights into mobilenet: %v", err)
	}
}
