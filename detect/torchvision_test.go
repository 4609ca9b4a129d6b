package detect

import (
	"math"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/graftml/graft/checkpoint"
	"github.com/graftml/graft/onnx"
	"github.com/graftml/graft/torch"
)

// Equivalence with torchvision: scripts/detect_fixtures.py builds each
// torchvision detector with random weights in Debian's PyTorch, saves its
// state_dict, and records the head's raw outputs and the post-processed
// detections on one fixed input (already resized and normalised: the
// script calls backbone, head, anchor generator and postprocess_detections
// as SSD.forward does, without GeneralizedRCNNTransform). graft loads the
// .pth by name and must reproduce both.

const python = "/usr/bin/python3"

// Raw outputs may differ by float32 summation order, relative to the
// larger of 1 and the reference value; so may scores and box corners.
const equivTol = 1e-4

func TestTorchvisionEquivalence(t *testing.T) {
	if testing.Short() {
		t.Skip("builds torchvision detectors in PyTorch (about 20 s)")
	}
	script, err := filepath.Abs(filepath.Join("..", "scripts", "detect_fixtures.py"))
	if err != nil {
		t.Fatal(err)
	}
	probe := exec.Command(python, "-c", "import torch, torchvision")
	probe.Dir = t.TempDir() // not /tmp, whose 'av' folder breaks torchvision's import
	if err := probe.Run(); err != nil {
		t.Skipf("%s with torch and torchvision (Debian's python3-torch, python3-torchvision) is not available to build the reference detectors: %v", python, err)
	}
	for _, name := range []string{"ssdlite320_mobilenet_v3_large", "ssd300_vgg16"} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			cmd := exec.Command(python, script, "model", name, dir)
			cmd.Dir = dir
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("detect_fixtures.py: %v\n%s", err, out)
			}
			m, err := New(name, Config{NumClasses: 5})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Free()
			rep, err := onnx.LoadPretrained(m.Model, filepath.Join(dir, "state_dict.pth"), onnx.WeightsOptions{Mode: checkpoint.Strict})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Loaded != len(m.Params()) {
				t.Fatalf("loaded %d of %d parameters", rep.Loaded, len(m.Params()))
			}
			ref, err := checkpoint.ReadSafetensors(filepath.Join(dir, "outputs.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			s := torch.NewScope()
			defer s.Close()
			get := func(k string) *torch.Tensor {
				x, err := ref.Tensor(k)
				if err != nil {
					t.Fatal(err)
				}
				return s.Track(x)
			}
			x := get("input")
			var reg, logits *torch.Tensor
			torch.NoGrad(func() { reg, logits = m.Forward(x, false) })
			s.Track(reg)
			s.Track(logits)
			wantReg, wantLogits := get("bbox_regression"), get("cls_logits")
			closeTensors(t, "bbox_regression", reg, wantReg)
			closeTensors(t, "cls_logits", logits, wantLogits)

			// The registry's post-processing is torchvision's for the model.
			meta := func(k string) float64 {
				v, err := strconv.ParseFloat(ref.Meta[k], 64)
				if err != nil {
					t.Fatalf("metadata %s: %v", k, err)
				}
				return v
			}
			post := Post{Coder: SSDCoder, ScoreThreshold: float32(meta("score_thresh")), TopK: int(meta("topk_candidates")),
				NMS: float32(meta("nms_thresh")), PerImage: int(meta("detections_per_img"))}
			if spec, _ := Lookup(name); spec.Post != post {
				t.Errorf("registry post-processing %+v, torchvision %+v", spec.Post, post)
			}
			size := int(meta("size"))
			defaults, err := m.Defaults(size, size)
			if err != nil {
				t.Fatal(err)
			}
			want := refDetections(t, get("boxes"), get("scores"), get("labels"))
			// On torchvision's own outputs, and on graft's.
			for _, in := range []struct {
				what        string
				reg, logits *torch.Tensor
			}{{"torchvision's outputs", wantReg, wantLogits}, {"graft's outputs", reg, logits}} {
				got, err := post.Detect(in.reg, in.logits, defaults, size, size)
				if err != nil {
					t.Fatal(err)
				}
				sameDetections(t, in.what, got[0], want)
			}
		})
	}
}

func closeTensors(t *testing.T, what string, got, want *torch.Tensor) {
	t.Helper()
	g, err := got.Float32s()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	w, err := want.Float32s()
	if err != nil {
		t.Fatal(err)
	}
	if len(g) != len(w) {
		t.Fatalf("%s: %v, torchvision %v", what, got.Shape(), want.Shape())
	}
	worst, at := 0.0, 0
	for i := range w {
		d := math.Abs(float64(g[i]-w[i])) / math.Max(1, math.Abs(float64(w[i])))
		if d > worst || math.IsNaN(d) {
			worst, at = d, i
		}
	}
	t.Logf("%s: worst relative difference %.2g", what, worst)
	if !(worst <= equivTol) {
		t.Fatalf("%s[%d]: graft %g, torchvision %g", what, at, g[at], w[at])
	}
}

func refDetections(t *testing.T, boxes, scores, labels *torch.Tensor) []Detection {
	t.Helper()
	b, err := boxes.Float32s()
	if err != nil {
		t.Fatal(err)
	}
	sc, err := scores.Float32s()
	if err != nil {
		t.Fatal(err)
	}
	l, err := labels.Int64s()
	if err != nil {
		t.Fatal(err)
	}
	out := make([]Detection, len(sc))
	for i := range sc {
		out[i] = Detection{Box: Box(b[4*i : 4*i+4]), Score: sc[i], Class: int(l[i])}
	}
	return out
}

// sameDetections matches every torchvision detection to one of graft's
// with the same class, score and box within equivTol. Order may differ
// only between scores closer than that (both sides' sorts order ties
// arbitrarily), and so may membership at the per-image cut.
func sameDetections(t *testing.T, what string, got, want []Detection) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d detections, torchvision %d", what, len(got), len(want))
	}
	if len(want) == 0 {
		t.Fatalf("%s: no detections to compare: the fixture is too easy", what)
	}
	cut := want[len(want)-1].Score
	used := make([]bool, len(got))
	for i, w := range want {
		found := false
		for j, g := range got {
			if used[j] || g.Class != w.Class || !near(g.Score, w.Score, equivTol) || !sameBox(g.Box, w.Box, equivTol) {
				continue
			}
			if j != i && !near(got[i].Score, w.Score, equivTol) {
				t.Fatalf("%s: torchvision's detection %d %+v is graft's %d: the order differs beyond ties", what, i, w, j)
			}
			used[j], found = true, true
			break
		}
		if !found && !near(w.Score, cut, equivTol) {
			t.Fatalf("%s: torchvision's detection %d %+v has no match in graft's (graft's %d: %+v)", what, i, w, i, got[i])
		}
	}
}
