package onnx

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/graftml/graft/arch"
	"github.com/graftml/graft/checkpoint"
	"github.com/graftml/graft/torch/torchtest"
)

func TestIsGraphFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, b, 0o644)
		return p
	}
	for _, tt := range []struct {
		name string
		path string
		want bool
	}{
		{"onnx extension", write("m.ONNX", []byte("PK")), true},
		{"pth extension", write("m.pth", []byte{0x08}), false},
		{"safetensors", write("m.safetensors", nil), false},
		{"zip content", write("m.weights", []byte("PK\x03\x04")), false},
		{"pickle content", write("m.pkl", []byte{0x80, 0x02, 0, 0}), false},
		{"protobuf content", write("m.model", []byte{0x08, 0x07, 0x12, 0}), true},
		{"missing file", filepath.Join(dir, "none"), true},
	} {
		if got := IsGraphFile(tt.path); got != tt.want {
			t.Errorf("%s: IsGraphFile(%s) = %v, want %v", tt.name, filepath.Base(tt.path), got, tt.want)
		}
	}
}

// ImportWeights sizes the model by the file's classifier, refuses another
// class count unless told to drop the classifier, and takes the
// architecture's preprocessing.
func TestImportWeights(t *testing.T) {
	torchtest.NoLeaks(t)
	dir := t.TempDir()
	m, err := arch.New("smallcnn", arch.Config{NumClasses: 3, InChannels: 3})
	if err != nil {
		t.Fatal(err)
	}
	err = checkpoint.Save(filepath.Join(dir, "w"), m, checkpoint.Meta{}, nil)
	m.Free()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "w.safetensors")
	spec, _ := arch.Lookup("smallcnn")
	for _, tt := range []struct {
		name    string
		o       WeightsImport
		classes int
		err     string
	}{
		{"the file's classes", WeightsImport{Arch: "smallcnn"}, 3, ""},
		{"other classes refused", WeightsImport{Arch: "smallcnn", Classes: 5}, 0, "has 3 classes and --num-classes is 5: add --drop-classifier"},
		{"other classes dropped", WeightsImport{Arch: "smallcnn", Classes: 5, DropClassifier: true, Size: 40}, 5, ""},
		{"unknown architecture", WeightsImport{Arch: "nonet"}, 0, "nonet"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m, pre, rep, err := ImportWeights(path, tt.o)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer m.Free()
			size := tt.o.Size
			if size == 0 {
				size = spec.InputSize
			}
			if m.NumClasses != tt.classes || rep.Loaded == 0 || pre.Channels != 3 || pre.Norm != spec.Norm || pre.Size != size {
				t.Errorf("%d classes, %d tensors loaded, preprocessing %+v", m.NumClasses, rep.Loaded, pre)
			}
		})
	}
}

// WriteImport describes an imported graph: its stages, classifier and cuts.
func TestWriteImport(t *testing.T) {
	m, err := arch.New("smallcnn", arch.Config{NumClasses: 3, InChannels: 3})
	if err != nil {
		t.Fatal(err)
	}
	g, err := Export(m, ExportOptions{Opset: 13, Height: 16, Width: 16})
	m.Free()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "m.onnx")
	if err := WriteFile(path, g); err != nil {
		t.Fatal(err)
	}
	im, info, err := Import(path, ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer im.Free()
	var b strings.Builder
	WriteImport(&b, im, info)
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if !strings.HasPrefix(lines[0], "imported "+path) || !strings.HasSuffix(lines[0], "3 classes") {
		t.Errorf("first line %q", lines[0])
	}
	if lines[1] != "stage     channels reduction   parameters" || len(lines) < 3+len(im.Stages) {
		t.Fatalf("stage table:\n%s", b.String())
	}
	for i, s := range im.Stages {
		if f := strings.Fields(lines[2+i]); len(f) != 4 || f[0] != s.Name {
			t.Errorf("stage row %q, want %s", lines[2+i], s.Name)
		}
	}
	rest := strings.Join(lines[2+len(im.Stages):], "\n")
	if !strings.Contains(rest, "classifier: ") || !strings.Contains(rest, "stage cuts (for --stages): ") {
		t.Errorf("after the stages:\n%s", rest)
	}
}
