package detect

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/graftml/graft/arch"
	"github.com/graftml/graft/checkpoint"
	"github.com/graftml/graft/data"
	"github.com/graftml/graft/nn"
	"github.com/graftml/graft/torch"
)

// forward runs m in evaluation mode on x and returns both outputs' values.
func forward(t *testing.T, m *Model, x *torch.Tensor) (reg, logits []float32) {
	t.Helper()
	torch.NoGrad(func() {
		r, l := m.Forward(x, false)
		defer r.Free()
		defer l.Free()
		var err error
		if reg, err = r.Float32s(); err != nil {
			t.Fatal(err)
		}
		if logits, err = l.Float32s(); err != nil {
			t.Fatal(err)
		}
	})
	return reg, logits
}

// onClassifier builds a detector with FromClassifier on a fresh
// classifier, cut after stage cut when cut >= 0.
func onClassifier(name string, in, cut int, o BaseOptions) func() (*Model, error) {
	return func() (*Model, error) {
		base, err := arch.New(name, arch.Config{NumClasses: 5, InChannels: in})
		if err != nil {
			return nil, err
		}
		if cut >= 0 {
			if err := base.Truncate(cut, 5); err != nil {
				return nil, err
			}
		}
		return FromClassifier(base, o)
	}
}

// TestCheckpointRoundTrip: every way of building a detector saves and
// loads back into a model that gives the same outputs, bit for bit, with
// the foreground class names and the class count (background included)
// in the sidecar.
func TestCheckpointRoundTrip(t *testing.T) {
	smallBoxes := SmallBoxes()
	cases := []struct {
		name    string
		build   func() (*Model, error)
		in      int
		size    int
		classes []string
	}{
		{"ssd_smallcnn", func() (*Model, error) { return New("ssd_smallcnn", Config{NumClasses: 3}) }, 3, 128, []string{"stop", "yield"}},
		{"ssd_smallcnn grey, classes reset", func() (*Model, error) {
			m, err := New("ssd_smallcnn", Config{NumClasses: 7, InChannels: 1})
			if err == nil {
				err = m.ResetClasses(4)
			}
			return m, err
		}, 1, 96, []string{"a", "b", "c"}},
		{"resnet18 grey", onClassifier("resnet18", 1, -1, BaseOptions{Arch: "ssd_resnet18", NumClasses: 3, Taps: 2, Extras: []int{64},
			Boxes: DefaultBoxes{AspectRatios: [][]int{{2}, {2, 3}, {2}}, Scales: []float64{0.1, 0.3, 0.6, 0.9}, Steps: []int{16, 32, 64}, Clip: true}, InputSize: 64}),
			1, 64, nil},
		{"truncated smallcnn, lite", onClassifier("smallcnn", 3, 1, BaseOptions{Arch: "ssdlite_cut", NumClasses: 2, Extras: []int{32, 32}, Lite: true,
			Boxes: smallBoxes, InputSize: 64}), 3, 64, []string{"sign"}},
		{"ssdlite320_mobilenet_v3_large", func() (*Model, error) {
			return New("ssdlite320_mobilenet_v3_large", Config{NumClasses: 3, FullTail: true})
		}, 3, 160, []string{"x", "y"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			torch.ManualSeed(7)
			m, err := c.build()
			if err != nil {
				t.Fatal(err)
			}
			defer m.Free()
			path := filepath.Join(t.TempDir(), "det")
			pre := data.Preprocess{Size: c.size, Channels: c.in}
			if err := Save(checkpoint.Store{}, path, m, checkpoint.Meta{Classes: c.classes, Preprocess: pre}); err != nil {
				t.Fatal(err)
			}
			torch.ManualSeed(8) // the load's fresh weights differ from the saved ones
			got, meta, err := Load(checkpoint.Store{}, path+".json")
			if err != nil {
				t.Fatal(err)
			}
			defer got.Free()
			if !IsDetector(meta) || meta.Arch != m.Arch || meta.NumClasses != m.NumClasses || !slices.Equal(meta.Classes, c.classes) || !reflect.DeepEqual(meta.Preprocess, pre) {
				t.Errorf("meta: detector %v, arch %s, %d classes %q, preprocess %+v", IsDetector(meta), meta.Arch, meta.NumClasses, meta.Classes, meta.Preprocess)
			}
			if got.InputSize != m.InputSize || got.InChannels != m.InChannels || !slices.Equal(got.StageNames(), m.StageNames()) {
				t.Errorf("loaded %s: input %d, %d channels, stages %v; saved input %d, %d channels, stages %v",
					got.Arch, got.InputSize, got.InChannels, got.StageNames(), m.InputSize, m.InChannels, m.StageNames())
			}
			s := torch.NewScope()
			defer s.Close()
			x := s.Track(torch.Randn(2, int64(c.in), int64(c.size), int64(c.size)))
			wantReg, wantLogits := forward(t, m, x)
			gotReg, gotLogits := forward(t, got, x)
			if !slices.Equal(gotReg, wantReg) || !slices.Equal(gotLogits, wantLogits) {
				t.Errorf("the loaded detector's outputs differ from the saved one's")
			}
			wd, err := m.Defaults(c.size, c.size)
			if err != nil {
				t.Fatal(err)
			}
			gd, err := got.Defaults(c.size, c.size)
			if err != nil || !slices.Equal(gd, wd) {
				t.Errorf("default boxes differ after the round trip (%v)", err)
			}
		})
	}
}

// TestCheckpointKinds: each package refuses the other's checkpoints with
// the fix, and Save refuses what it could not build again.
func TestCheckpointKinds(t *testing.T) {
	dir := t.TempDir()
	det, err := New("ssd_smallcnn", Config{NumClasses: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer det.Free()
	detPath := filepath.Join(dir, "det")
	if err := Save(checkpoint.Store{}, detPath, det, checkpoint.Meta{Classes: []string{"a", "b"}}); err != nil {
		t.Fatal(err)
	}
	cls, err := arch.New("smallcnn", arch.Config{NumClasses: 3, InChannels: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer cls.Free()
	clsPath := filepath.Join(dir, "cls")
	if err := checkpoint.Save(clsPath, cls, checkpoint.Meta{}, nil); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		run  func() error
		want string
	}{
		{"checkpoint.Load of a detector", func() error { _, err := checkpoint.Load(detPath); return err }, "load it with detect.Load"},
		{"checkpoint.Build of a detector", func() error {
			meta, err := checkpoint.ReadMeta(detPath)
			if err == nil {
				_, err = checkpoint.Build(detPath, meta)
			}
			return err
		}, "load it with detect.Load"},
		{"detect.Load of a classifier", func() error { _, _, err := Load(checkpoint.Store{}, clsPath); return err }, "graft predict"},
		{"detect.Build of a classifier", func() error {
			meta, err := checkpoint.ReadMeta(clsPath)
			if err == nil {
				_, err = Build(meta)
			}
			return err
		}, "checkpoint.Load"},
		{"detect.Load of nothing", func() error { _, _, err := Load(checkpoint.Store{}, filepath.Join(dir, "nope")); return err }, "not found"},
		{"Save of a hand-built detector", func() error {
			hand := &Model{Model: det.Model, Taps: det.Taps, Head: det.Head, Boxes: det.Boxes, InputSize: det.InputSize}
			return Save(checkpoint.Store{}, filepath.Join(dir, "hand"), hand, checkpoint.Meta{})
		}, "not built by detect.New"},
		{"Save of a detector on an imported graph", func() error {
			onnx := &Model{Model: det.Model, Taps: det.Taps, Head: det.Head, Boxes: det.Boxes, InputSize: det.InputSize,
				recipe: recipe{Base: "onnx:tiny", BaseStages: 3, NumClasses: 3, InChannels: 3, Options: &baseOptions{}}}
			return Save(checkpoint.Store{}, filepath.Join(dir, "onnx"), onnx, checkpoint.Meta{})
		}, "built-in architecture"},
		{"Save with every class named", func() error {
			return Save(checkpoint.Store{}, filepath.Join(dir, "named"), det, checkpoint.Meta{Classes: []string{"background", "a", "b"}})
		}, "name the 2 foreground classes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := c.run(); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want one containing %q", err, c.want)
			}
		})
	}
}

// TestDamagedRecipe: a sidecar whose recipe was edited or corrupted gives
// an error that names the checkpoint, never a panic or a wrong model.
func TestDamagedRecipe(t *testing.T) {
	dir := t.TempDir()
	m, err := FromClassifier(mustClassifier(t, "smallcnn"), BaseOptions{Arch: "ssd_custom", NumClasses: 3, Extras: []int{32}, InputSize: 64,
		Boxes: DefaultBoxes{AspectRatios: [][]int{{2}, {2}}, Scales: []float64{0.2, 0.5, 0.9}}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Free()
	good := filepath.Join(dir, "good")
	if err := Save(checkpoint.Store{}, good, m, checkpoint.Meta{}); err != nil {
		t.Fatal(err)
	}
	sidecar, err := os.ReadFile(good + ".json")
	if err != nil {
		t.Fatal(err)
	}
	weights, err := os.ReadFile(good + ".safetensors")
	if err != nil {
		t.Fatal(err)
	}
	// edit writes a copy of the checkpoint whose sidecar f changed.
	edit := func(name string, f func(meta map[string]any, r map[string]any)) string {
		var meta map[string]any
		if err := json.Unmarshal(sidecar, &meta); err != nil {
			t.Fatal(err)
		}
		r, _ := meta["detector"].(map[string]any)
		f(meta, r)
		b, err := json.Marshal(meta)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p+".json", b, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p+".safetensors", weights, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		name string
		edit func(meta, r map[string]any)
		want string
	}{
		{"not an object", func(meta, r map[string]any) { meta["detector"] = "ssd" }, "recipe is damaged"},
		{"unknown base", func(meta, r map[string]any) { r["base"] = "resnet1000" }, "resnet1000"},
		{"unknown detector", func(meta, r map[string]any) { delete(r, "base"); r["name"] = "ssd_nope" }, "unknown detector \"ssd_nope\""},
		{"both", func(meta, r map[string]any) { r["name"] = "ssd_smallcnn" }, "want exactly one"},
		{"recipe's class count", func(meta, r map[string]any) { r["num_classes"] = 7 }, "recipe for 7 classes, sidecar says 3"},
		{"both class counts", func(meta, r map[string]any) { r["num_classes"] = 5; meta["num_classes"] = 5 }, "does not fit"},
		{"one class", func(meta, r map[string]any) { r["num_classes"] = 1; meta["num_classes"] = 1 }, "at least one class"},
		{"input channels", func(meta, r map[string]any) { r["in_channels"] = 2; meta["in_channels"] = 2 }, "input channels"},
		{"base stages", func(meta, r map[string]any) { r["base_stages"] = 9 }, "body stages"},
		{"no options", func(meta, r map[string]any) { delete(r, "options") }, "no options"},
		{"boxes", func(meta, r map[string]any) { r["options"].(map[string]any)["boxes"] = map[string]any{} }, "default boxes"},
		{"arch", func(meta, r map[string]any) { meta["arch"] = "ssd_other" }, "the recipe builds ssd_custom"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := edit(strings.ReplaceAll(c.name, " ", "_"), c.edit)
			got, _, err := Load(checkpoint.Store{}, p)
			if err == nil {
				got.Free()
			}
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), p) {
				t.Errorf("err = %v, want one naming %s and containing %q", err, p, c.want)
			}
		})
	}
}

func mustClassifier(t *testing.T, name string) *nn.Model {
	t.Helper()
	m, err := arch.New(name, arch.Config{NumClasses: 2, InChannels: 3})
	if err != nil {
		t.Fatal(err)
	}
	return m
}
