package onnx

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/graftml/graft/arch"
	"github.com/graftml/graft/checkpoint"
	"github.com/graftml/graft/data"
	"github.com/graftml/graft/nn"
	"github.com/graftml/graft/torch"
)

func forward(t *testing.T, m *nn.Model, x *torch.Tensor) *torch.Tensor {
	t.Helper()
	var y *torch.Tensor
	torch.NoGrad(func() { y = m.Forward(x, false) })
	if err := y.Err(); err != nil {
		t.Fatal(err)
	}
	return y
}

// randomizeBN gives BatchNorms non-trivial statistics, so an export that
// mixed them up would show.
func randomizeBN(t *testing.T, m *nn.Model) {
	t.Helper()
	torch.NoGrad(func() {
		for _, p := range m.Params() {
			switch {
			case strings.HasSuffix(p.Name, "running_var"):
				p.T.Uniform_(0.5, 1.5)
			case strings.HasSuffix(p.Name, "running_mean"), strings.HasSuffix(p.Name, "bias"):
				p.T.Normal_(0, 0.1)
			}
		}
	})
}

// Built-in architectures export to ONNX that onnx.checker accepts and that
// computes graft's outputs: checked by importing the file back (graft's
// importer is itself checked against PyTorch) and, where Debian's
// python3-onnx and torch are present, by an independent evaluator
// (scripts/onnx_fixtures.py check-export: onnx 1.12 has no reference
// runtime, so it runs each node with torch.nn.functional).
func TestExportBuiltins(t *testing.T) {
	py := hasTorch()
	torch.ManualSeed(7)
	for _, tc := range []struct {
		arch string
		size int
	}{
		{"smallcnn", 32},
		{"resnet18", 64},
		{"mobilenet_v2", 64},
		{"mobilenet_v3_large", 64}, // hardswish, squeeze-excitation (the SSDLite backbone's blocks)
	} {
		t.Run(tc.arch, func(t *testing.T) {
			m, err := arch.New(tc.arch, arch.Config{NumClasses: 7})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Free()
			randomizeBN(t, m)
			classes := []string{"ant", "bee", "cat", "dog", "eel", "fox", "gnu"}
			pre := data.Preprocess{Size: tc.size, Channels: 3, Norm: data.NormImageNet}
			om, err := Export(m, ExportOptions{Height: tc.size, Width: tc.size, Classes: classes, Preprocess: &pre})
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			path := filepath.Join(dir, tc.arch+".onnx")
			if err := WriteFile(path, om); err != nil {
				t.Fatal(err)
			}
			x := torch.Randn(2, 3, int64(tc.size), int64(tc.size))
			defer x.Free()
			want := forward(t, m, x)
			back, info, err := Import(path, ImportOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer back.Free()
			if len(info.Warnings) > 0 {
				t.Errorf("import of graft's own export warns: %q", info.Warnings)
			}
			if d := relDiff(t, forward(t, back, x), want); d > 1e-5 {
				t.Errorf("re-imported export differs by %.3g", d)
			}
			names := map[string]bool{}
			for _, p := range back.Params() {
				names[p.Name] = true
			}
			for _, p := range m.Params() {
				if !names[p.Name] {
					t.Errorf("parameter %s lost its name in the export", p.Name)
				}
			}
			// Stages keep their names and their layers (freeze:2 means the
			// same after the round trip), and the classes their names.
			if got, want := stageOutline(back), stageOutline(m); got != want {
				t.Errorf("re-imported stages\n%s\nbuilt-in\n%s", got, want)
			}
			if got, want := strings.Join(info.Classes, " "), strings.Join(classes, " "); got != want {
				t.Errorf("re-imported classes %q, exported %q", got, want)
			}
			if !py {
				return
			}
			in, out := filepath.Join(dir, "x.pb"), filepath.Join(dir, "y.pb")
			writePB(t, in, x)
			cmd := exec.Command(python, filepath.Join("..", "scripts", "onnx_fixtures.py"), "check-export", path, in, out)
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("onnx checker / reference run: %v\n%s", err, lastLines(string(b), 10))
			}
			ref := loadTensor(t, out)
			defer ref.Free()
			d := relDiff(t, ref, want)
			if d > 1e-4 {
				t.Errorf("the reference evaluator's output differs from graft's by %.3g", d)
			}
			t.Logf("%s: checker ok; reference evaluator within %.2g of graft", tc.arch, d)
		})
	}
}

// stageOutline is each stage's name, output channels and parameter count:
// what must survive an export and import for a plan to mean the same.
func stageOutline(m *nn.Model) string {
	var b strings.Builder
	for _, s := range m.Stages {
		var n int64
		for _, p := range s.Params() {
			if !p.Buffer {
				n += p.T.Numel()
			}
		}
		fmt.Fprintf(&b, "%s %d ch %d params\n", s.Name, s.Channels, n)
	}
	return b.String()
}

func writePB(t *testing.T, path string, x *torch.Tensor) {
	t.Helper()
	c, err := constOf(x)
	if err != nil {
		t.Fatal(err)
	}
	b, err := proto.Marshal(constProto("x", c).toProto())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestExportNeedsSize(t *testing.T) {
	m, err := arch.New("vgg11", arch.Config{NumClasses: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Free()
	if _, err := Export(m, ExportOptions{}); err == nil || !strings.Contains(err.Error(), "give the size") {
		t.Errorf("vgg export without a size: %v", err)
	}
	if _, err := Export(m, ExportOptions{Height: 64, Width: 64}); err == nil || !strings.Contains(err.Error(), "no fixed-window ONNX form") {
		t.Errorf("vgg export at 64 px: %v", err)
	}
}

// An imported model, fine-tuned and given a new head, saves as a graft
// checkpoint with its graph, loads back identical, and exports to ONNX.
func TestImportedCheckpointAndExport(t *testing.T) {
	dir := t.TempDir()
	m, info, err := Import(filepath.Join(tinyDir, "model13.onnx"), ImportOptions{Classes: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Free()
	x := loadTensor(t, filepath.Join(tinyDir, "input.pb"))
	defer x.Free()
	// A training step, so running statistics and weights move.
	target := torch.FromInt64([]int64{0, 2, 1}, 3)
	loss := torch.CrossEntropy(m.Forward(x, true), target, 0)
	if err := loss.Backward(); err != nil {
		t.Fatal(err)
	}
	for _, p := range m.Trainable() {
		g, _ := p.T.Grad()
		torch.NoGrad(func() { p.T.AddInPlace(g, -0.1) })
	}
	want := forward(t, m, x)

	ck := filepath.Join(dir, "ck", "tiny")
	os.MkdirAll(filepath.Dir(ck), 0o755)
	meta := checkpoint.Meta{Classes: []string{"a", "b", "c"}, Preprocess: info.Preprocess}
	if err := Checkpoints.Save(ck, m, meta, nil); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"tiny.json", "tiny.safetensors", "tiny.graph.onnx"} {
		if _, err := os.Stat(filepath.Join(dir, "ck", f)); err != nil {
			t.Fatal(err)
		}
	}
	g, err := ReadModel(GraphPath(ck))
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range g.Graph.Initializer {
		if i.Name == "conv1.weight" && i.HasData {
			t.Errorf("the graph file holds weights too")
		}
	}
	loaded, err := Checkpoints.Load(ck)
	if err != nil {
		t.Fatal(err)
	}
	defer loaded.Model.Free()
	if d := relDiff(t, forward(t, loaded.Model, x), want); d != 0 {
		t.Errorf("reloaded checkpoint differs by %g", d)
	}
	if loaded.Meta.Preprocess.Size != 16 || loaded.Meta.Preprocess.Norm != data.NormImageNet || !IsImported(loaded.Meta.Arch) {
		t.Errorf("meta %+v", loaded.Meta)
	}
	if got, want := strings.Join(loaded.Model.StageNames(), " "), strings.Join(m.StageNames(), " "); got != want {
		t.Errorf("reloaded stages %s, saved %s", got, want)
	}

	// Export the fine-tuned model; it must compute the same, and import
	// with the same stages and classes.
	om, err := Export(loaded.Model, ExportOptions{Classes: loaded.Meta.Classes})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "tiny-ft.onnx")
	if err := WriteFile(out, om); err != nil {
		t.Fatal(err)
	}
	back, backInfo, err := Import(out, ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer back.Free()
	if d := relDiff(t, forward(t, back, x), want); d > 1e-6 {
		t.Errorf("export of the fine-tuned import differs by %g", d)
	}
	if got, want := stageOutline(back), stageOutline(loaded.Model); got != want {
		t.Errorf("re-imported stages\n%s\nexported\n%s", got, want)
	}
	if got := strings.Join(backInfo.Classes, " "); got != "a b c" {
		t.Errorf("re-imported classes %q, exported a b c", got)
	}
	if hasTorch() {
		cmd := exec.Command(python, "-c", "import onnx,sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)", out)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("onnx checker rejects the export: %v\n%s", err, lastLines(string(b), 5))
		}
	}

	// A missing graph file is a clear error; a truncated model refuses to
	// export.
	os.Remove(GraphPath(ck))
	if _, err := Checkpoints.Load(ck); err == nil || !strings.Contains(err.Error(), "graph") {
		t.Errorf("load without the graph: %v", err)
	}
	if err := back.Truncate(1, 4); err != nil {
		t.Fatal(err)
	}
	if _, err := Export(back, ExportOptions{}); err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("export of a truncated import: %v", err)
	}
}

// Stage names a graft export records survive every later step: import,
// the checkpoint's graph file, reload, and another export and import; an
// explicit --stages overrides them.
func TestExportedStagesSurvive(t *testing.T) {
	torch.ManualSeed(3)
	m, err := arch.New("smallcnn", arch.Config{NumClasses: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Free()
	want := stageOutline(m)
	dir := t.TempDir()
	path := filepath.Join(dir, "small.onnx")
	om, err := Export(m, ExportOptions{Height: 32, Width: 32})
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, om); err != nil {
		t.Fatal(err)
	}
	imp, info, err := Import(path, ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer imp.Free()
	if got := stageOutline(imp); got != want {
		t.Fatalf("imported stages\n%s\nwant\n%s", got, want)
	}
	ck := filepath.Join(dir, "ck")
	if err := Checkpoints.Save(ck, imp, checkpoint.Meta{Preprocess: info.Preprocess}, nil); err != nil {
		t.Fatal(err)
	}
	loaded, err := Checkpoints.Load(ck)
	if err != nil {
		t.Fatal(err)
	}
	defer loaded.Model.Free()
	if got := stageOutline(loaded.Model); got != want {
		t.Errorf("reloaded stages\n%s\nwant\n%s", got, want)
	}
	om2, err := Export(loaded.Model, ExportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	path2 := filepath.Join(dir, "again.onnx")
	if err := WriteFile(path2, om2); err != nil {
		t.Fatal(err)
	}
	again, _, err := Import(path2, ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Free()
	if got := stageOutline(again); got != want {
		t.Errorf("stages after a second export and import\n%s\nwant\n%s", got, want)
	}

	// --stages picks other cuts: the recorded names no longer apply.
	other, _, err := Import(path, ImportOptions{Stages: info.Cuts[1:]})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Free()
	if got := strings.Join(other.StageNames(), " "); got != "stem stage1 head" {
		t.Errorf("--stages %v gave stages %s, want the default names stem stage1 head", info.Cuts[1:], got)
	}
}
