package checkpoint

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/graftml/graft/arch"
	"github.com/graftml/graft/data"
	"github.com/graftml/graft/nn"
	"github.com/graftml/graft/torch"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ from the current output")

// volatile matches the sidecar lines that change from run to run: the
// provenance and the weights' hash (libtorch's initialisation).
var volatile = regexp.MustCompile(`"(weights_sha256|graft_version|graft_commit|libtorch_version|created|command)": (\[[^\]]*\]|"[^"]*")`)

// TestClassifierSidecarUnchanged: a classifier's sidecar is byte for byte
// what graft wrote before detectors had checkpoints (testdata was written
// by that code), the provenance and hash aside; no "detector" key appears.
func TestClassifierSidecarUnchanged(t *testing.T) {
	dir := t.TempDir()
	m, err := arch.New("smallcnn", arch.Config{NumClasses: 3, InChannels: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Free()
	cut := 1
	if err := m.Truncate(cut, 3); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "m")
	meta := Meta{Classes: []string{"stop", "yield", "limit"}, CutAfter: &cut, Preprocess: data.Preprocess{Size: 32, Channels: 1, Norm: "unit"},
		Training: json.RawMessage(`{"epoch":3}`)}
	if err := Save(path, m, meta, nil); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path + ".json")
	if err != nil {
		t.Fatal(err)
	}
	got := volatile.ReplaceAll(b, []byte(`"$1": "…"`))
	golden := filepath.Join("testdata", "classifier_sidecar.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("classifier sidecar changed:\n%s\nwant\n%s", got, want)
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	dir := t.TempDir()
	torch.ManualSeed(3)
	m, err := arch.New("smallcnn", arch.Config{NumClasses: 4, InChannels: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Free()
	path := filepath.Join(dir, "m")
	meta := Meta{Classes: []string{"a", "b", "c", "d"}, Preprocess: data.Preprocess{Size: 32, Norm: "unit"}}
	if err := Save(path, m, meta, nil); err != nil {
		t.Fatal(err)
	}
	ck, err := Load(path + ".json")
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Model.Free()
	if ck.Meta.Arch != "smallcnn" || ck.Meta.Preprocess.Size != 32 || len(ck.Meta.Stages) != 4 {
		t.Errorf("meta = %+v", ck.Meta)
	}
	// Provenance: which graft wrote it, with what, and how it was run.
	if ck.Meta.Graft == "" || ck.Meta.Torch == "" || ck.Meta.Created == "" || len(ck.Meta.Command) == 0 {
		t.Errorf("provenance missing: graft %q, libtorch %q, created %q, command %q", ck.Meta.Graft, ck.Meta.Torch, ck.Meta.Created, ck.Meta.Command)
	}
	want, got := m.Params(), ck.Model.Params()
	for i := range want {
		a, _ := want[i].T.Float32s()
		b, _ := got[i].T.Float32s()
		for j := range a {
			if a[j] != b[j] {
				t.Fatalf("%s differs after reload", want[i].Name)
			}
		}
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	m, _ := arch.New("smallcnn", arch.Config{NumClasses: 4})
	defer m.Free()
	good := filepath.Join(dir, "good")
	if err := Save(good, m, Meta{}, nil); err != nil {
		t.Fatal(err)
	}
	other, _ := arch.New("smallcnn", arch.Config{NumClasses: 7})
	defer other.Free()
	st, _ := ReadSafetensors(good + ".safetensors")

	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, b, 0o644)
		return p
	}
	full, _ := os.ReadFile(good + ".safetensors")
	cases := []struct {
		name string
		run  func() error
		want string
	}{
		{"missing", func() error { _, err := Load(filepath.Join(dir, "nope")); return err }, "not found"},
		{"no sidecar", func() error {
			write("plain.safetensors", full)
			_, err := Load(filepath.Join(dir, "plain.safetensors"))
			return err
		}, "graft import"},
		{"truncated weights", func() error {
			_, err := ReadSafetensors(write("trunc.safetensors", full[:len(full)/2]))
			return err
		}, "truncated"},
		{"garbage", func() error {
			_, err := ReadSafetensors(write("garbage.safetensors", []byte("hello world, not a tensor file")))
			return err
		}, "not a valid safetensors"},
		{"other class count", func() error { _, err := LoadWeights(other, st, Strict); return err }, "fc.weight"},
		{"a detector", func() error {
			det := filepath.Join(dir, "det")
			if err := Save(det, m, Meta{Detector: json.RawMessage(`{"name":"ssd_smallcnn"}`)}, nil); err != nil {
				return err
			}
			_, err := Load(det)
			return err
		}, "load it with detect.Load"},
		{"a detector's class names", func() error {
			det := filepath.Join(dir, "det4")
			if err := Save(det, m, Meta{Classes: []string{"a", "b", "c", "d"}, Detector: json.RawMessage(`{}`)}, nil); err != nil {
				return err
			}
			_, err := ReadMeta(det)
			return err
		}, "4 class names for a detector of 4 classes"},
		{"tampered", func() error {
			b := append([]byte{}, full...)
			b[len(b)-1] ^= 0xff
			os.WriteFile(good+".safetensors", b, 0o644)
			defer os.WriteFile(good+".safetensors", full, 0o644)
			_, err := Load(good)
			return err
		}, "does not match its sidecar"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.run()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want one containing %q", err, c.want)
			}
		})
	}
	rep, err := LoadWeights(other, st, DropClassifier)
	if err != nil || len(rep.Skipped) != 2 {
		t.Errorf("drop-classifier load: %+v, %v", rep, err)
	}
}

// graphCodec stands in for onnx.Graphs: it records what the Store asked
// of it and builds a smallcnn.
type graphCodec struct{ saved, built int }

func (g *graphCodec) Build(path string, meta Meta) (*nn.Model, error) {
	g.built++
	return arch.New("smallcnn", arch.Config{NumClasses: meta.NumClasses, InChannels: 3})
}

func (g *graphCodec) Save(path string, m *nn.Model) error { g.saved++; return nil }

// TestStoreNeedsItsCodecForImportedGraphs: no package default is
// installed anywhere; the zero Store refuses an imported graph with the
// fix, and a Store with a codec saves and rebuilds it through the codec.
func TestStoreNeedsItsCodecForImportedGraphs(t *testing.T) {
	dir := t.TempDir()
	m, err := arch.New("smallcnn", arch.Config{NumClasses: 2, InChannels: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Free()
	m.Arch = "onnx:tiny"
	path := filepath.Join(dir, "imported")
	if err := Save(path, m, Meta{}, nil); err == nil || !strings.Contains(err.Error(), "onnx.Checkpoints") {
		t.Fatalf("the zero Store saved an imported graph without its graph file: %v", err)
	}
	codec := &graphCodec{}
	s := Store{Graphs: codec}
	if err := s.Save(path, m, Meta{}, nil); err != nil || codec.saved != 1 {
		t.Fatalf("save with a codec: %v (graph files written: %d)", err, codec.saved)
	}
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), "onnx.Checkpoints") {
		t.Fatalf("the zero Store loaded an imported graph: %v", err)
	}
	ck, err := s.Load(path)
	if err != nil || codec.built != 1 {
		t.Fatalf("load with a codec: %v (built %d)", err, codec.built)
	}
	ck.Model.Free()
}

// A model whose BatchNorms were folded for inference is not the network
// its names describe any more: saving it would write convolutions that
// already include BatchNorms that still run after loading.
func TestSaveRefusesFoldedModel(t *testing.T) {
	dir := t.TempDir()
	m, err := arch.New("smallcnn", arch.Config{NumClasses: 2, InChannels: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Free()
	if _, err := m.FoldBatchNorm(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "folded")
	if err := Save(path, m, Meta{}, nil); err == nil || !strings.Contains(err.Error(), "folded") {
		t.Fatalf("saved a folded model: %v", err)
	}
	if m, _ := filepath.Glob(path + "*"); len(m) != 0 {
		t.Errorf("refused save left %v", m)
	}
}
