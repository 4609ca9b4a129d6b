package onnx

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/graftml/graft/torch"
	"github.com/graftml/graft/torch/torchtest"
)

// testdata/tiny: a small CNN with every structure the importer cuts
// around (residual add, concat, x.view(x.size(0), -1), dropout, a linear
// head), exported by PyTorch at opset 13 and at opset 9 with its weights
// listed as graph inputs, plus PyTorch's logits and SGD step.
const tinyDir = "testdata/tiny"

func TestImportTiny(t *testing.T) {
	for _, tc := range []struct {
		file string
		cuts []string
	}{
		{"model13.onnx", []string{"/pool/MaxPool", "/Concat", "/act/LeakyRelu"}},
		{"model9.onnx", []string{"/pool/MaxPool", "/Concat", "/act/LeakyRelu"}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			torchtest.NoLeaks(t)
			m, info, err := Import(filepath.Join(tinyDir, tc.file), ImportOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Free()
			if strings.Join(info.Cuts, " ") != strings.Join(tc.cuts, " ") {
				t.Errorf("cuts %v, want %v", info.Cuts, tc.cuts)
			}
			if got := strings.Join(m.StageNames(), " "); got != "stem stage1 stage2 head" {
				t.Errorf("stages %s", got)
			}
			if info.ClassifierKind != "gemm" || m.NumClasses != 5 || m.InChannels != 3 {
				t.Errorf("classifier %q (%s), %d classes, %d channels", info.Classifier, info.ClassifierKind, m.NumClasses, m.InChannels)
			}
			if info.Ops["Shape"] == 0 || info.Ops["Gather"] == 0 || info.Ops["Reshape"] == 0 {
				t.Errorf("the fixture lost its Shape→Gather→…→Reshape flatten: %v", info.Ops)
			}
			l, loss, w := checkAgainstPyTorch(t, m, tinyDir)
			t.Logf("logits %.2g, loss %.2g, weights after one SGD step %.2g", l, loss, w)
		})
	}
}

// The staged model must compute what the whole graph computes.
func TestStagesMatchGraph(t *testing.T) {
	path := filepath.Join(tinyDir, "model13.onnx")
	m, _, err := Import(path, ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Free()
	g, err := ReadModel(path)
	if err != nil {
		t.Fatal(err)
	}
	p, err := compile(g)
	if err != nil {
		t.Fatal(err)
	}
	defer p.free()
	x := loadTensor(t, filepath.Join(tinyDir, "input.pb"))
	defer x.Free()
	var outs map[string]*torch.Tensor
	// As a model runs it: the export's Dropout says training_mode=true,
	// which a Session would honour.
	torch.NoGrad(func() { outs, err = p.Run(map[string]*torch.Tensor{"input": x}, false, false) })
	if err != nil {
		t.Fatal(err)
	}
	var staged, ranged *torch.Tensor
	torch.NoGrad(func() {
		staged = m.Forward(x, false)
		mid := m.ForwardRange(x, 0, 2, false)
		ranged = m.ForwardRange(mid, 2, len(m.Stages), false)
	})
	if d := relDiff(t, staged, outs["logits"]); d != 0 {
		t.Errorf("staged model differs from the graph by %g", d)
	}
	if d := relDiff(t, ranged, staged); d != 0 {
		t.Errorf("ForwardRange in two parts differs by %g", d)
	}
}

// Head replacement, truncation and freezing, as nn.Model provides them
// for built-in architectures.
func TestImportedTransfer(t *testing.T) {
	x := loadTensor(t, filepath.Join(tinyDir, "input.pb"))
	defer x.Free()
	shape := func(y *torch.Tensor) string {
		if err := y.Err(); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(y.Shape())
	}
	t.Run("classes option", func(t *testing.T) {
		m, _, err := Import(filepath.Join(tinyDir, "model13.onnx"), ImportOptions{Classes: 3})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Free()
		if got := shape(m.Forward(x, false)); got != "[3 3]" || m.NumClasses != 3 {
			t.Errorf("output %s, %d classes", got, m.NumClasses)
		}
	})
	t.Run("truncate", func(t *testing.T) {
		m, _, err := Import(filepath.Join(tinyDir, "model13.onnx"), ImportOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Free()
		if err := m.Truncate(1, 4); err != nil {
			t.Fatal(err)
		}
		if got := shape(m.Forward(x, true)); got != "[3 4]" {
			t.Errorf("truncated output %s", got)
		}
	})
	t.Run("frozen stage keeps BatchNorm statistics", func(t *testing.T) {
		m, _, err := Import(filepath.Join(tinyDir, "model13.onnx"), ImportOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Free()
		if err := m.SetTrainable(0, false, false); err != nil {
			t.Fatal(err)
		}
		var mean *torch.Tensor
		for _, p := range m.Stages[0].Params() {
			if p.Name == "bn1.running_mean" {
				mean = p.T
			}
		}
		before, _ := mean.Float32s()
		m.Forward(x, true)
		after, _ := mean.Float32s()
		for i := range before {
			if before[i] != after[i] {
				t.Fatalf("frozen stem's running_mean changed in training")
			}
		}
		if err := m.SetTrainable(0, true, false); err != nil {
			t.Fatal(err)
		}
		m.Forward(x, true)
		again, _ := mean.Float32s()
		if again[0] == before[0] {
			t.Errorf("trainable stem's running_mean did not update")
		}
		_, trainable := m.CountParams()
		total, _ := m.CountParams()
		if trainable != total {
			t.Errorf("%d of %d parameters trainable", trainable, total)
		}
	})
}

func TestStagesOption(t *testing.T) {
	path := filepath.Join(tinyDir, "model13.onnx")
	for _, tc := range []struct {
		stages []string
		want   string // stage names, or an error substring
	}{
		{[]string{"/pool/MaxPool"}, "stem stage1 head"},
		{[]string{"pool", "/Concat"}, "stem stage1 stage2 head"}, // a module prefix
		{[]string{"/Concat", "/act/LeakyRelu"}, "stem stage1 head"},
		{[]string{"/conv2/Conv"}, "error: cannot cut after"},
		{[]string{"nosuchnode"}, "error: no node, value or module"},
		{[]string{"/Concat", "/pool/MaxPool"}, "error: not after the previous cut"},
		{[]string{"/fc/Gemm"}, "error: inside the head"},
	} {
		t.Run(strings.Join(tc.stages, ","), func(t *testing.T) {
			m, _, err := Import(path, ImportOptions{Stages: tc.stages})
			if strings.HasPrefix(tc.want, "error: ") {
				if err == nil {
					m.Free()
					t.Fatalf("no error, want %q", tc.want)
				}
				if !strings.Contains(err.Error(), strings.TrimPrefix(tc.want, "error: ")) {
					t.Fatalf("error %q, want %q", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer m.Free()
			if got := strings.Join(m.StageNames(), " "); got != tc.want {
				t.Errorf("stages %s, want %s", got, tc.want)
			}
		})
	}
}

// Broken inputs fail with an error that says what is wrong, never a panic.
func TestImportBadFiles(t *testing.T) {
	dir := t.TempDir()
	good, err := os.ReadFile(filepath.Join(tinyDir, "model13.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	edit := func(name string, f func(m *Model)) string {
		m, err := DecodeModel(good)
		if err != nil {
			t.Fatal(err)
		}
		f(m)
		return write(name, m.Encode())
	}
	pth, _ := os.ReadFile(filepath.Join("testdata", "small.pth"))
	for _, tc := range []struct {
		name string
		path string
		opts ImportOptions
		want string
	}{
		{"missing", filepath.Join(dir, "nope.onnx"), ImportOptions{}, "no such file"},
		{"empty", write("empty.onnx", nil), ImportOptions{}, "the file is empty"},
		{"truncated", write("trunc.onnx", good[:len(good)/2]), ImportOptions{}, "truncated"},
		{"text", write("text.onnx", []byte("this is not a model\n")), ImportOptions{}, "not an ONNX model"},
		{"zip", write("weights.onnx", pth), ImportOptions{}, "zip archive"},
		{"pickle", write("pickle.onnx", []byte{0x80, 0x02, 'X'}), ImportOptions{}, "pickle"},
		{"unsupported op", edit("op.onnx", func(m *Model) {
			m.Graph.Nodes[3].OpType = "FancyOp"
		}), ImportOptions{}, "unsupported ONNX operator FancyOp"},
		{"missing external data", edit("ext.onnx", func(m *Model) {
			for _, i := range m.Graph.Initializer {
				if i.Name == "conv1.weight" {
					i.RawData, i.External = nil, map[string]string{"location": "conv1.bin"}
				}
			}
		}), ImportOptions{}, "external data"},
		{"external data outside the folder", edit("ext2.onnx", func(m *Model) {
			m.Graph.Initializer[0].RawData, m.Graph.Initializer[0].External = nil, map[string]string{"location": "../../etc/passwd"}
		}), ImportOptions{}, "relative path below"},
		{"short data", edit("short.onnx", func(m *Model) {
			i := m.Graph.Initializer[0]
			i.RawData = i.RawData[:len(i.RawData)-4]
		}), ImportOptions{}, "truncated?"},
		{"dynamic size", edit("dyn.onnx", func(m *Model) {
			in := m.Graph.Inputs[0]
			in.Dims[2], in.Dims[3], in.Params[2], in.Params[3] = -1, -1, "H", "W"
		}), ImportOptions{}, "dynamic size"},
		{"dangling input", edit("dangle.onnx", func(m *Model) {
			m.Graph.Nodes[5].Inputs[0] = "nowhere"
		}), ImportOptions{}, "which no node, input or initializer provides"},
		{"wrong size", filepath.Join(tinyDir, "model13.onnx"), ImportOptions{Size: 40}, "does not run on a [2 3 40 40] input"},
		{"two inputs", edit("two.onnx", func(m *Model) {
			m.Graph.Inputs = append(m.Graph.Inputs, &ValueInfo{Name: "extra", ElemType: tFloat})
		}), ImportOptions{}, "has 2 inputs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, _, err := Import(tc.path, tc.opts)
			if err == nil {
				m.Free()
				t.Fatalf("no error, want %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q, want it to mention %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
		})
	}
	// A graph with a dynamic size imports once the size is given.
	m, _, err := Import(filepath.Join(dir, "dyn.onnx"), ImportOptions{Size: 16})
	if err != nil {
		t.Fatal(err)
	}
	m.Free()
	var ue *UnsupportedError
	_, _, err = Import(filepath.Join(dir, "op.onnx"), ImportOptions{})
	if !errors.As(err, &ue) || ue.Op != "FancyOp" || !strings.Contains(ue.Node, "/") {
		t.Errorf("unsupported operator error %v does not name the operator and node", err)
	}
}

// testdata/folded (scripts/onnx_fixtures.py folded): a torchvision-shaped
// CNN in miniature exported by PyTorch with its eval-mode defaults, which
// fold BatchNorm into the convolutions (folded.onnx), and with BatchNorm
// kept (kept.onnx).
const foldedDir = "testdata/folded"

// An import says when the graph has no normalisation layers — BatchNorm
// folded away by the exporter, or none to begin with — what that means
// for training, and how to export with BatchNorm kept.
func TestImportSaysBatchNormFolded(t *testing.T) {
	// The folded graph with module-like weight names: nothing says it was
	// folded, so the note covers both causes.
	plain, err := ReadModel(filepath.Join(foldedDir, "folded.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	rename := map[string]string{}
	for i, init := range plain.Graph.Initializer {
		if strings.HasPrefix(init.Name, "onnx::") {
			rename[init.Name] = fmt.Sprintf("conv%d.param%d", i/2, i%2)
			init.Name = rename[init.Name]
		}
	}
	for _, n := range plain.Graph.Nodes {
		for i, in := range n.Inputs {
			if r, ok := rename[in]; ok {
				n.Inputs[i] = r
			}
		}
	}
	plainPath := filepath.Join(t.TempDir(), "plain.onnx")
	if err := WriteFile(plainPath, plain); err != nil {
		t.Fatal(err)
	}
	keep := []string{"TrainingMode.PRESERVE", "do_constant_folding=False", "scratch from it may fail to train", "fine-tuning trains this network without BatchNorm"}
	for _, tc := range []struct {
		name, path, kind string
		want             []string // in the note; none: no note about normalisation
	}{
		{"folded", filepath.Join(foldedDir, "folded.onnx"), "folded", append([]string{"BatchNorm was folded into the convolutions", "3 biased convolutions"}, keep...)},
		{"no normalisation", plainPath, "none", append([]string{"no normalisation layers", "3 convolutions"}, keep...)},
		{"kept", filepath.Join(foldedDir, "kept.onnx"), "batchnorm", nil},
		{"tiny", filepath.Join(tinyDir, "model13.onnx"), "batchnorm", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, info, err := Import(tc.path, ImportOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Free()
			if info.Normalization != tc.kind {
				t.Errorf("normalization %q, want %q", info.Normalization, tc.kind)
			}
			var note string
			for _, w := range info.Warnings {
				if strings.Contains(w, "BatchNorm") {
					note = w
				}
			}
			if tc.want == nil {
				if note != "" {
					t.Errorf("unexpected note: %s", note)
				}
				return
			}
			for _, w := range tc.want {
				if !strings.Contains(note, w) {
					t.Errorf("note lacks %q: %q", w, note)
				}
			}
		})
	}
}
