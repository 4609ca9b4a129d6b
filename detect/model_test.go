package detect

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/graftml/graft/arch"
	"github.com/graftml/graft/torch"
)

func shapeString(s []int64) string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = fmt.Sprint(d)
	}
	return strings.Join(parts, "x")
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		out = append(out, strings.TrimSpace(sc.Text()))
	}
	return out
}

// TestTorchvisionNames checks every parameter's name and shape against
// the state_dict torchvision builds with 5 classes
// (testdata/<arch>.golden, written by scripts/detect_fixtures.py names),
// so that torchvision's weights load by name. The order differs in one
// place (scale_weight, which torchvision lists first, sits in graft's
// head stage), so the lists are compared sorted.
func TestTorchvisionNames(t *testing.T) {
	for _, name := range []string{"ssd300_vgg16", "ssdlite320_mobilenet_v3_large"} {
		t.Run(name, func(t *testing.T) {
			m, err := New(name, Config{NumClasses: 5})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Free()
			var got []string
			for _, p := range m.Params() {
				got = append(got, strings.TrimSpace(p.Name+" "+shapeString(p.T.Shape())))
			}
			want := readLines(t, filepath.Join("testdata", name+".golden"))
			slices.Sort(got)
			slices.Sort(want)
			for i := 0; i < max(len(got), len(want)); i++ {
				var g, w string
				if i < len(got) {
					g = got[i]
				}
				if i < len(want) {
					w = want[i]
				}
				if g != w {
					t.Fatalf("sorted param %d: graft %q, torchvision %q (%d params, torchvision %d)", i, g, w, len(got), len(want))
				}
			}
		})
	}
}

// TestDetectorSuite is what every built-in detector keeps: outputs per
// default box at its input size, stage metadata that matches the stages'
// outputs, a forward that can stop and resume at any stage (a frozen
// prefix's cache), freezing by stage, and a replaceable label set.
func TestDetectorSuite(t *testing.T) {
	boxes := map[string]int{"ssd300_vgg16": 8732, "ssdlite320_mobilenet_v3_large": 3234, "ssdlite320_mobilenet_v2": 3234, "ssd_smallcnn": 1344}
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			if testing.Short() && name == "ssd300_vgg16" {
				t.Skip("large")
			}
			torch.ManualSeed(1)
			m, err := New(name, Config{NumClasses: 4})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Free()
			spec, _ := Lookup(name)
			size := spec.InputSize
			defaults, err := m.Defaults(size, size)
			if err != nil {
				t.Fatal(err)
			}
			if want := boxes[name]; len(defaults) != want {
				t.Errorf("%d default boxes at %d², want %d", len(defaults), size, want)
			}
			s := torch.NewScope()
			defer s.Close()
			x := s.Track(torch.Randn(2, 3, int64(size), int64(size)))
			var reg, logits *torch.Tensor
			var whole Partial
			torch.NoGrad(func() {
				reg, logits = m.Forward(x, false)
				whole = m.ForwardRange(Partial{X: x}, 0, len(m.Stages)-1, false)
			})
			if err := firstErr(reg.Err(), logits.Err()); err != nil {
				t.Fatal(err)
			}
			A := int64(len(defaults))
			if !slices.Equal(reg.Shape(), []int64{2, A, 4}) || !slices.Equal(logits.Shape(), []int64{2, A, 4}) {
				t.Fatalf("outputs %v and %v, want [2 %d 4] both", reg.Shape(), logits.Shape(), A)
			}
			for i, tap := range m.Taps {
				if c := whole.Maps[i].Shape()[1]; int(c) != m.Stages[tap.Stage].Channels {
					t.Errorf("map %d (stage %s) has %d channels, metadata says %d", i, m.Stages[tap.Stage].Name, c, m.Stages[tap.Stage].Channels)
				}
			}
			// Stopping after any stage and going on gives the same maps.
			if name == "ssd_smallcnn" {
				want, _ := logits.Float32s()
				for k := 1; k < len(m.Stages)-1; k++ {
					var got []float32
					torch.NoGrad(func() {
						p := m.ForwardRange(Partial{X: x}, 0, k, false)
						p = m.ForwardRange(p, k, len(m.Stages)-1, false)
						_, l := m.Predict(p.Maps, false)
						got, err = l.Float32s()
					})
					if err != nil || !slices.Equal(got, want) {
						t.Fatalf("split at stage %d changes the logits (%v)", k, err)
					}
				}
			}
			// Freezing every stage but the head leaves the head's weights
			// trainable and the frozen BatchNorms in inference mode.
			for i := range m.Stages {
				if err := m.SetTrainable(i, i == len(m.Stages)-1, false); err != nil {
					t.Fatal(err)
				}
			}
			_, trainable := m.CountParams()
			var head int64
			for _, p := range m.Stages[len(m.Stages)-1].Params() {
				if !p.Buffer {
					head += p.T.Numel()
				}
			}
			if trainable != head || head == 0 {
				t.Errorf("trainable %d, head stage has %d", trainable, head)
			}
			if err := m.ResetClasses(3); err != nil {
				t.Fatal(err)
			}
			torch.NoGrad(func() { _, logits = m.Forward(x, false) })
			if got := logits.Shape(); !slices.Equal(got, []int64{2, A, 3}) {
				t.Errorf("after ResetClasses(3): logits %v", got)
			}
			if err := m.Validate(); err != nil {
				t.Error(err)
			}
		})
	}
}

// The head refuses to run as a classifier's last stage: a detector
// through nn.Model.Forward fails with a message, not a wrong tensor.
func TestHeadNeedsMaps(t *testing.T) {
	m, err := New("ssd_smallcnn", Config{NumClasses: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Free()
	s := torch.NewScope()
	defer s.Close()
	x := s.Track(torch.Randn(1, 3, 64, 64))
	var y *torch.Tensor
	torch.NoGrad(func() { y = m.Model.Forward(x, false) })
	if err := y.Err(); err == nil || !strings.Contains(err.Error(), "detect.Model.Forward") {
		t.Errorf("nn.Model.Forward on a detector: %v", err)
	}
}

func TestSmallSSDKeepsClassifierNames(t *testing.T) {
	c, err := arch.New("smallcnn", arch.Config{NumClasses: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Free()
	d, err := New("ssd_smallcnn", Config{NumClasses: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Free()
	have := map[string]bool{}
	for _, p := range d.Params() {
		have[p.Name] = true
	}
	for _, s := range c.Stages[:len(c.Stages)-1] {
		for _, p := range s.Params() {
			if !have[p.Name] {
				t.Errorf("classifier parameter %s has no namesake in the detector: its weights would not load", p.Name)
			}
		}
	}
	if got := d.StageNames(); !slices.Equal(got, []string{"stage1", "stage2", "stage3", "extra1", "extra2", "head"}) {
		t.Errorf("stages %v", got)
	}
}

func TestFromClassifierRefusesBadOptions(t *testing.T) {
	for name, o := range map[string]BaseOptions{
		"too many taps":         {Arch: "x", NumClasses: 3, Taps: 9, Boxes: SmallBoxes()},
		"boxes for 3 of 2 maps": {Arch: "x", NumClasses: 3, Taps: 1, Extras: []int{64}, Boxes: SmallBoxes()},
	} {
		base, err := arch.New("smallcnn", arch.Config{NumClasses: 2})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := FromClassifier(base, o); err == nil {
			t.Errorf("%s: accepted", name)
		}
		base.Free()
	}
	if _, err := New("ssd_smallcnn", Config{NumClasses: 1}); err == nil || !strings.Contains(err.Error(), "background") {
		t.Errorf("1 class: %v", err)
	}
	if _, err := New("ssd301", Config{NumClasses: 3}); err == nil || !strings.Contains(err.Error(), "ssd300_vgg16") {
		t.Errorf("unknown detector: %v", err)
	}
}

// One training step of the small SSD with the multibox loss: the loss is
// finite and the gradients reach both predictors of every map and the
// first backbone stage.
func TestSmallSSDTrainingStep(t *testing.T) {
	torch.ManualSeed(3)
	m, err := New("ssd_smallcnn", Config{NumClasses: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Free()
	defaults, err := m.Defaults(64, 64)
	if err != nil {
		t.Fatal(err)
	}
	s := torch.NewScope()
	defer s.Close()
	x := s.Track(torch.Randn(2, 3, 64, 64))
	reg, logits := m.Forward(x, true)
	targets := []Target{
		{Boxes: []Box{{4, 6, 20, 24}, {30, 30, 60, 62}}, Labels: []int{1, 2}},
		{Boxes: []Box{{10, 10, 40, 36}}, Labels: []int{2}},
	}
	box, cls, err := SSDLoss.Multibox(reg, logits, defaults, targets)
	if err != nil {
		t.Fatal(err)
	}
	loss := s.Track(box.Add(cls))
	v, err := loss.Item()
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v <= 0 {
		t.Fatalf("loss %v (%v)", v, err)
	}
	if err := loss.Backward(); err != nil {
		t.Fatal(err)
	}
	check := func(what string, w *torch.Tensor) {
		g, err := w.Grad()
		if err != nil || g == nil {
			t.Fatalf("%s: no gradient (%v)", what, err)
		}
		defer g.Free()
		n, _ := s.Track(g.Abs().Sum()).Item()
		if !(n > 0) || math.IsInf(n, 0) {
			t.Errorf("%s: gradient norm %v", what, n)
		}
	}
	for i := range m.Taps {
		check(fmt.Sprintf("classification predictor %d", i), m.Head.Classification[i].Params()[0].T)
		check(fmt.Sprintf("regression predictor %d", i), m.Head.Regression[i].Params()[0].T)
	}
	check("stage1", m.Stages[0].Params()[0].T)
}

// A classifier's body weights land in the detector under torchvision's
// renamed names: every backbone tensor is copied and equal afterwards.
func TestLoadBackbone(t *testing.T) {
	for _, tc := range []struct {
		detector, classifier string
		cfg                  Config
	}{
		{"ssd_smallcnn", "smallcnn", Config{NumClasses: 3}},
		{"ssdlite320_mobilenet_v3_large", "mobilenet_v3_large", Config{NumClasses: 3, FullTail: true}},
		{"ssdlite320_mobilenet_v2", "mobilenet_v2", Config{NumClasses: 3}},
	} {
		t.Run(tc.detector, func(t *testing.T) {
			torch.ManualSeed(5)
			base, err := arch.New(tc.classifier, arch.Config{NumClasses: 10})
			if err != nil {
				t.Fatal(err)
			}
			defer base.Free()
			m, err := New(tc.detector, tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Free()
			n, err := LoadBackbone(m, base)
			if err != nil {
				t.Fatal(err)
			}
			var body []float32
			var want int
			for _, s := range base.Stages[:len(base.Stages)-1] {
				for _, p := range s.Params() {
					v, _ := p.T.Float32s()
					body = append(body, v...)
					want++
				}
			}
			if n != want {
				t.Fatalf("copied %d of the backbone's %d tensors", n, want)
			}
			var got []float32
			for _, s := range m.Stages {
				if strings.HasPrefix(s.Name, "extra") {
					break
				}
				for _, p := range s.Params() {
					v, _ := p.T.Float32s()
					got = append(got, v...)
				}
			}
			if !slices.Equal(got, body) {
				t.Errorf("the detector's backbone stages (%d values) differ from the classifier's body (%d values)", len(got), len(body))
			}
		})
	}
	// The reduced tail cannot hold an ImageNet MobileNetV3's tail.
	base, err := arch.New("mobilenet_v3_large", arch.Config{NumClasses: 10})
	if err != nil {
		t.Fatal(err)
	}
	defer base.Free()
	m, err := New("ssdlite320_mobilenet_v3_large", Config{NumClasses: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Free()
	if _, err := LoadBackbone(m, base); err == nil {
		t.Error("a full-tail backbone loaded into the reduced tail")
	}
}

// torchvision's classifier names map onto its detectors' names: every
// body parameter of vgg16 (features.*) lands on an ssd300_vgg16 parameter
// of the same shape, and every mobilenet_v3_large one on an SSDLite name
// (shapes differ in the tail, which the goldens hold reduced).
func TestBackboneNamesMatchTorchvision(t *testing.T) {
	for _, tc := range []struct{ classifier, detector string }{
		{"vgg16", "ssd300_vgg16"}, {"mobilenet_v3_large", "ssdlite320_mobilenet_v3_large"},
	} {
		det := map[string]string{}
		for _, l := range readLines(t, filepath.Join("testdata", tc.detector+".golden")) {
			name, shape, _ := strings.Cut(l, " ")
			det[name] = shape
		}
		n := 0
		for _, l := range readLines(t, filepath.Join("..", "arch", "testdata", tc.classifier+".golden")) {
			name, shape, _ := strings.Cut(l, " ")
			if !strings.HasPrefix(name, "features.") {
				continue
			}
			mapped := backboneNames[tc.detector](name)
			got, ok := det[mapped]
			if !ok {
				t.Errorf("%s: %s maps to %s, which torchvision's %s does not have", tc.classifier, name, mapped, tc.detector)
			} else if tc.classifier == "vgg16" && got != shape {
				t.Errorf("%s: %s is %s, %s is %s", tc.classifier, name, shape, mapped, got)
			}
			n++
		}
		if n == 0 {
			t.Errorf("%s: no body parameters in the golden file", tc.classifier)
		}
	}
}
