package onnx

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/graftml/graft/arch"
	"github.com/graftml/graft/checkpoint"
	"github.com/graftml/graft/data"
	"github.com/graftml/graft/nn"
)

// IsGraphFile tells an ONNX file from a weights file (PyTorch, safetensors)
// by its extension, and by content for other extensions: a PyTorch file is
// a zip or a pickle. A file that cannot be read counts as a graph, so that
// the ONNX reader reports the error.
func IsGraphFile(path string) bool {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".onnx":
		return true
	case ".pth", ".pt", ".bin", ".ckpt", ".safetensors":
		return false
	}
	f, err := os.Open(path)
	if err != nil {
		return true
	}
	defer f.Close()
	head := make([]byte, 4)
	n, _ := io.ReadFull(f, head)
	return !(n >= 2 && (head[0] == 0x80 || string(head[:2]) == "PK"))
}

// WeightsImport says which model ImportWeights builds for a weights file.
type WeightsImport struct {
	Arch    string // the built-in architecture the weights are for
	Classes int    // the classifier's classes; 0: the file's
	Naming  Naming
	// DropClassifier keeps a fresh classifier when Classes differs from
	// the file's; without it that is an error.
	DropClassifier bool
	Size           int // input side; 0: the architecture's
}

// ImportWeights builds o.Arch and loads a PyTorch state_dict or safetensors
// file into it (LoadPretrained), sized for the file's classes unless
// o.Classes says otherwise. It returns the model with the preprocessing
// the architecture takes (3 channels, its normalisation) and what loaded.
func ImportWeights(path string, o WeightsImport) (*nn.Model, data.Preprocess, checkpoint.LoadReport, error) {
	var none data.Preprocess
	spec, err := arch.Lookup(o.Arch)
	if err != nil {
		return nil, none, checkpoint.LoadReport{}, err
	}
	// The file's class count: build once to learn the classifier's name.
	probe, err := arch.New(o.Arch, arch.Config{NumClasses: 2})
	if err != nil {
		return nil, none, checkpoint.LoadReport{}, err
	}
	fileClasses, err := ClassesIn(path, probe, o.Naming)
	probe.Free()
	if err != nil {
		return nil, none, checkpoint.LoadReport{}, err
	}
	n := o.Classes
	if n == 0 {
		n = fileClasses
	}
	if n < 2 {
		return nil, none, checkpoint.LoadReport{}, fmt.Errorf("%s has no classifier for %s to size the model by; give --num-classes", path, o.Arch)
	}
	const ch = 3
	if o.Size == 0 {
		o.Size = spec.InputSize
	}
	m, err := arch.New(o.Arch, arch.Config{NumClasses: n, InChannels: ch})
	if err != nil {
		return nil, none, checkpoint.LoadReport{}, err
	}
	mode := checkpoint.Strict
	if o.DropClassifier {
		mode = checkpoint.DropClassifier
	} else if fileClasses != 0 && fileClasses != n {
		m.Free()
		return nil, none, checkpoint.LoadReport{}, fmt.Errorf("%s has %d classes and --num-classes is %d: add --drop-classifier to start a fresh classifier", path, fileClasses, n)
	}
	rep, err := LoadPretrained(m, path, WeightsOptions{Mode: mode, Naming: o.Naming})
	if err != nil {
		m.Free()
		return nil, none, rep, err
	}
	return m, data.Preprocess{Size: o.Size, Channels: ch, Norm: spec.Norm}, rep, nil
}

// WriteImport writes what Import made of a graph, for a terminal: the
// graph, its stages (channels, reduction, trainable parameters), the
// classifier, the cuts --stages takes, and the import's warnings.
func WriteImport(w io.Writer, m *nn.Model, info Info) {
	fmt.Fprintf(w, "imported %s (%s, opset %d): %d nodes, %d parameters, input %v, %d classes\n",
		info.Path, info.Producer, info.Opset, info.Nodes, info.Params, info.InputShape, m.NumClasses)
	fmt.Fprintf(w, "%-8s %9s %9s %12s\n", "stage", "channels", "reduction", "parameters")
	for _, s := range m.Stages {
		var n int64
		for _, p := range s.Params() {
			if !p.Buffer {
				n += p.T.Numel()
			}
		}
		fmt.Fprintf(w, "%-8s %9d %9d %12d\n", s.Name, s.Channels, s.Reduction, n)
	}
	if info.ClassifierKind != "" {
		fmt.Fprintf(w, "classifier: %s (replaceable)\n", info.Classifier)
	} else {
		fmt.Fprintf(w, "classifier: none replaceable (%s)\n", info.ClassifierNote)
	}
	fmt.Fprintf(w, "stage cuts (for --stages): %s\n", strings.Join(info.Cuts, ","))
	for _, s := range info.Warnings {
		fmt.Fprintf(w, "note: %s\n", s)
	}
}
