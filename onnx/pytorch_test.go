package onnx

import (
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/graftml/graft/checkpoint"
	"github.com/graftml/graft/nn"
	"github.com/graftml/graft/torch"
)

// Equivalence with PyTorch: scripts/onnx_fixtures.py exports torchvision
// models with random weights and records their logits and one SGD step;
// graft imports the ONNX files and must reproduce both.

const python = "/usr/bin/python3"

// Tolerances, relative to the largest magnitude in the reference tensor:
// float32 kernels that sum in another order differ by a few ulps per
// layer, and errors grow with depth.
const (
	logitsRtol = 1e-4
	stepRtol   = 1e-4
	sgdLR      = 0.1 // the script's learning rate
)

var (
	fixturesOnce sync.Once
	fixturesDir  string
	fixturesErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if fixturesDir != "" && os.Getenv("GRAFT_ONNX_FIXTURES") == "" {
		os.RemoveAll(fixturesDir)
	}
	os.Exit(code)
}

// hasTorch reports whether Debian's PyTorch is there to make fixtures.
func hasTorch() bool {
	return exec.Command(python, "-c", "import torch, torchvision, onnx").Run() == nil
}

// modelFixtures generates the torchvision fixtures once per test binary
// (about 15 s), or uses GRAFT_ONNX_FIXTURES when it names a directory the
// script already filled.
func modelFixtures(t *testing.T) string {
	t.Helper()
	fixturesOnce.Do(func() {
		if dir := os.Getenv("GRAFT_ONNX_FIXTURES"); dir != "" {
			if _, err := os.Stat(filepath.Join(dir, "resnet18", "model.onnx")); err == nil {
				fixturesDir = dir
				return
			}
		}
		if !hasTorch() {
			fixturesErr = fmt.Errorf("skip")
			return
		}
		dir := os.Getenv("GRAFT_ONNX_FIXTURES") // filled here and kept
		if dir == "" {
			var err error
			if dir, err = os.MkdirTemp("", "graft-onnx-fixtures-"); err != nil {
				fixturesErr = err
				return
			}
		}
		fixturesDir = dir
		cmd := exec.Command(python, filepath.Join("..", "scripts", "onnx_fixtures.py"), "models", dir)
		if out, err := cmd.CombinedOutput(); err != nil {
			fixturesErr = fmt.Errorf("onnx_fixtures.py: %v\n%s", err, lastLines(string(out), 20))
		}
	})
	if fixturesErr != nil {
		if fixturesErr.Error() == "skip" {
			t.Skipf("%s with torch, torchvision and onnx is not available to generate the PyTorch fixtures", python)
		}
		t.Fatal(fixturesErr)
	}
	return fixturesDir
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func loadTensor(t *testing.T, path string) *torch.Tensor {
	t.Helper()
	c, _, err := loadPB(path)
	if err != nil {
		t.Fatal(err)
	}
	x := c.tensor(torch.CPU)
	if err := x.Err(); err != nil {
		t.Fatal(err)
	}
	return x
}

// relDiff is max|got-want| / max(|want|, tiny).
func relDiff(t *testing.T, got, want *torch.Tensor) float64 {
	t.Helper()
	if gs, ws := got.Shape(), want.Shape(); !sameDims(gs, ws) {
		t.Fatalf("shape %v, want %v", gs, ws)
	}
	g, err := got.Float32s()
	if err != nil {
		t.Fatal(err)
	}
	w, err := want.Float32s()
	if err != nil {
		t.Fatal(err)
	}
	var diff, scale float64
	for i := range w {
		diff = math.Max(diff, math.Abs(float64(g[i])-float64(w[i])))
		scale = math.Max(scale, math.Abs(float64(w[i])))
	}
	if math.IsNaN(diff) {
		return math.Inf(1)
	}
	return diff / math.Max(scale, 1e-12)
}

// checkAgainstPyTorch compares eval logits and one SGD step with the
// fixtures in dir.
func checkAgainstPyTorch(t *testing.T, m *nn.Model, dir string) (logitsErr, lossErr, worstParam float64) {
	t.Helper()
	x := loadTensor(t, filepath.Join(dir, "input.pb"))
	defer x.Free()
	want := loadTensor(t, filepath.Join(dir, "logits.pb"))
	defer want.Free()
	var got *torch.Tensor
	es := torch.NewScope() // frees the forward pass's intermediate stage outputs
	defer es.Close()
	torch.NoGrad(func() { got = m.Forward(es.Track(x.Alias()), false) })
	if err := got.Err(); err != nil {
		t.Fatalf("forward: %v", err)
	}
	logitsErr = relDiff(t, got, want)
	got.Free()
	if logitsErr > logitsRtol {
		t.Errorf("logits differ from PyTorch's by %.3g (relative), tolerance %g", logitsErr, logitsRtol)
	}

	// One SGD step in training mode, dropout off as in the script.
	programOf(m).noDropout = true
	defer func() { programOf(m).noDropout = false }()
	target := loadTensor(t, filepath.Join(dir, "target.pb"))
	defer target.Free()
	s := torch.NewScope()
	defer s.Close()
	loss := torch.CrossEntropy(m.Forward(s.Track(x.Alias()), true), target, 0)
	if err := loss.Backward(); err != nil {
		t.Fatalf("backward: %v", err)
	}
	wantLoss := loadTensor(t, filepath.Join(dir, "loss.pb"))
	defer wantLoss.Free()
	lossErr = relDiff(t, loss.Reshape(-1), s.Track(wantLoss.Reshape(-1)))
	if lossErr > stepRtol {
		t.Errorf("training loss differs from PyTorch's by %.3g (relative)", lossErr)
	}
	for _, p := range m.Params() {
		if p.Buffer {
			continue
		}
		g, err := p.T.Grad()
		if err != nil || g == nil {
			t.Fatalf("%s: no gradient (%v)", p.Name, err)
		}
		torch.NoGrad(func() { err = p.T.AddInPlace(g, -sgdLR) })
		g.Free()
		if err != nil {
			t.Fatal(err)
		}
	}
	st, err := checkpoint.ReadSafetensors(filepath.Join(dir, "after_step.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]*torch.Tensor{}
	for _, p := range m.Params() {
		have[p.Name] = p.T
	}
	for _, name := range st.Names() {
		w, err := st.Tensor(name)
		if err != nil {
			t.Fatal(err)
		}
		g, ok := have[name]
		if !ok {
			t.Errorf("PyTorch's %s has no graft parameter", name)
			w.Free()
			continue
		}
		if gs, ws := g.Shape(), w.Shape(); !sameDims(gs, ws) && numel(gs) == numel(ws) {
			g = g.Reshape(ws...) // a 1×1-convolution classifier graft holds as a Linear
			if g.Err() != nil {
				t.Fatal(g.Err())
			}
		}
		d := relDiff(t, g, w)
		w.Free()
		if d > stepRtol {
			t.Errorf("%s after one SGD step differs by %.3g (relative)", name, d)
		}
		worstParam = math.Max(worstParam, d)
	}
	if len(st.Names()) != len(have) {
		t.Errorf("PyTorch's state_dict has %d entries, graft's model %d", len(st.Names()), len(have))
	}
	return logitsErr, lossErr, worstParam
}

func TestTorchvisionEquivalence(t *testing.T) {
	if testing.Short() {
		t.Skip("generates PyTorch fixtures (about 15 s)")
	}
	dir := modelFixtures(t)
	cases := []struct {
		arch   string
		stages int
		size   int
	}{
		{"resnet18", 6, 64},
		{"mobilenet_v2", 6, 64},
		{"squeezenet1_1", 5, 64},
		{"densenet121", 6, 64},
	}
	if os.Getenv("GRAFT_ONNX_LARGE") != "" {
		// VGG's 7×7 adaptive pool exports only at 224 px, and its file is
		// half a gigabyte: on request only.
		if _, err := os.Stat(filepath.Join(dir, "vgg11_bn", "model.onnx")); err != nil {
			cmd := exec.Command(python, filepath.Join("..", "scripts", "onnx_fixtures.py"), "models", dir, "--arch", "vgg11_bn")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("onnx_fixtures.py vgg11_bn: %v\n%s", err, lastLines(string(out), 20))
			}
		}
		cases = append(cases, struct {
			arch   string
			stages int
			size   int
		}{"vgg11_bn", 6, 224})
	}
	for _, tc := range cases {
		t.Run(tc.arch, func(t *testing.T) {
			m, info, err := Import(filepath.Join(dir, tc.arch, "model.onnx"), ImportOptions{Size: tc.size})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Free()
			if len(m.Stages) != tc.stages {
				t.Errorf("%d stages (%v), want %d", len(m.Stages), m.StageNames(), tc.stages)
			}
			if c, _ := m.Classifier(); c == nil {
				t.Errorf("no replaceable classifier (%s)", info.ClassifierNote)
			}
			l, loss, w := checkAgainstPyTorch(t, m, filepath.Join(dir, tc.arch))
			t.Logf("%s: logits %.2g, loss %.2g, weights after one SGD step %.2g (max relative differences); stages %v",
				tc.arch, l, loss, w, m.StageNames())
		})
	}
}

// Files exported with torch.onnx.export's defaults (BatchNorm folded into
// the convolutions, weights named onnx::Conv_N, the batch size fixed)
// import too, and take other batch sizes.
func TestTorchDefaultExports(t *testing.T) {
	if testing.Short() {
		t.Skip("generates PyTorch fixtures")
	}
	dir := modelFixtures(t)
	for _, a := range []string{"resnet18", "mobilenet_v2"} {
		t.Run(a, func(t *testing.T) {
			m, _, err := Import(filepath.Join(dir, a, "model_default.onnx"), ImportOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Free()
			x := loadTensor(t, filepath.Join(dir, a, "input.pb"))
			defer x.Free()
			want := loadTensor(t, filepath.Join(dir, a, "logits.pb"))
			defer want.Free()
			var got *torch.Tensor
			torch.NoGrad(func() { got = m.Forward(x, false) })
			d := relDiff(t, got, want)
			if d > logitsRtol {
				t.Errorf("logits differ from PyTorch's by %.3g", d)
			}
			x5 := torch.Randn(5, 3, 64, 64)
			defer x5.Free()
			if y := m.Forward(x5, true); y.Err() != nil || y.Shape()[0] != 5 {
				t.Errorf("a batch of 5: %v %v", y.Shape(), y.Err())
			}
			t.Logf("%s default export: logits within %.2g, stages %v", a, d, m.StageNames())
		})
	}
}
