// Package checkpoint saves and loads graft models: weights in safetensors
// (torchvision names, readable by any safetensors tool) and a JSON sidecar
// with what is needed to rebuild and use the model — architecture, stages,
// class names, preprocessing — and, for resumable runs, the training state.
//
// A checkpoint "m" is the pair m.safetensors + m.json (plus m.state.safetensors
// for optimizer state). Every file is written atomically and the sidecar
// last, with the weights' SHA-256, so a crash never leaves a checkpoint that
// loads with mismatched parts.
package checkpoint

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/graftml/graft/arch"
	"github.com/graftml/graft/data"
	"github.com/graftml/graft/internal/buildinfo"
	"github.com/graftml/graft/internal/safefile"
	"github.com/graftml/graft/nn"
	"github.com/graftml/graft/torch"
)

// Format identifies the sidecar's schema.
const Format = "graft-checkpoint/1"

// StageInfo records a stage's metadata.
type StageInfo struct {
	Name      string `json:"name"`
	Channels  int    `json:"channels"`
	Reduction int    `json:"reduction"`
}

// Meta is the JSON sidecar.
//
// NumClasses and Classes differ for a detector (Detector set): NumClasses
// counts the background too, as detect.Config's does, and Classes names
// only the foreground classes, NumClasses-1 of them, for class indices 1…
// in order; a classifier's Classes name all NumClasses outputs.
type Meta struct {
	Format     string          `json:"format"`
	Arch       string          `json:"arch"`
	NumClasses int             `json:"num_classes"`
	InChannels int             `json:"in_channels"`
	Classes    []string        `json:"classes"`
	CutAfter   *int            `json:"cut_after,omitempty"` // set when the model was truncated after this stage index
	Stages     []StageInfo     `json:"stages"`
	Preprocess data.Preprocess `json:"preprocess"`
	Weights    string          `json:"weights"`
	SHA256     string          `json:"weights_sha256"`
	// State names the optimizer-state file of a resumable checkpoint.
	State string `json:"state,omitempty"`
	// Training is the trainer's own record (configuration, epoch, history),
	// opaque to this package.
	Training json.RawMessage `json:"training,omitempty"`
	// Detector is how to rebuild a detector, opaque to this package and
	// owned by package detect (detect.Save writes it, detect.Load reads
	// it); absent for a classifier. This package's Build and Load refuse a
	// checkpoint that has it, whose Arch is no classifier's.
	Detector json.RawMessage `json:"detector,omitempty"`
	// Provenance, filled in by Save: which graft (version, and its own
	// source commit from the build) wrote the checkpoint, with which
	// libtorch, when, and the command line it was given.
	Graft   string   `json:"graft_version,omitempty"`
	Commit  string   `json:"graft_commit,omitempty"`
	Torch   string   `json:"libtorch_version,omitempty"`
	Created string   `json:"created,omitempty"`
	Command []string `json:"command,omitempty"`
}

// GraphCodec rebuilds and saves models that are not built-in architectures:
// imported ONNX graphs (Arch "onnx:…"), whose structure travels in a file
// beside the weights.
type GraphCodec interface {
	// Build makes the model a sidecar describes, weights still to load.
	Build(path string, meta Meta) (*nn.Model, error)
	// Save writes the structure file of model m for checkpoint path; it
	// does nothing for built-in architectures.
	Save(path string, m *nn.Model) error
}

// Store loads, builds and saves checkpoints: built-in architectures
// always, imported graphs (Arch "onnx:…") through Graphs. There is no
// package-level default to install: the zero Store handles built-ins and
// refuses an imported graph with the fix (onnx.Checkpoints, the Store with
// the ONNX codec, reads and writes every graft checkpoint). Load, Build and
// Save are the zero Store's.
type Store struct {
	Graphs GraphCodec
}

// Build makes the model a checkpoint's sidecar describes, with fresh
// weights: a built-in architecture (truncated as recorded) or an imported
// graph.
func Build(path string, meta Meta) (*nn.Model, error) { return Store{}.Build(path, meta) }

// Build is the package's Build with s's codec.
func (s Store) Build(path string, meta Meta) (*nn.Model, error) {
	return buildWith(path, meta, s.Graphs)
}

func buildWith(path string, meta Meta, graphs GraphCodec) (*nn.Model, error) {
	_, sPath := Paths(path)
	if err := refuseDetector(sPath, meta); err != nil {
		return nil, err
	}
	if strings.HasPrefix(meta.Arch, "onnx:") {
		if graphs == nil {
			return nil, fmt.Errorf("checkpoint %s holds an imported %s: load it with onnx.Checkpoints (a checkpoint.Store with the ONNX codec), not the built-ins-only checkpoint.Load", sPath, meta.Arch)
		}
		return graphs.Build(path, meta)
	}
	m, err := arch.New(meta.Arch, arch.Config{NumClasses: meta.NumClasses, InChannels: meta.InChannels})
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", sPath, err)
	}
	if meta.CutAfter != nil {
		if err := m.Truncate(*meta.CutAfter, meta.NumClasses); err != nil {
			m.Free()
			return nil, fmt.Errorf("checkpoint %s: %w", sPath, err)
		}
	}
	return m, nil
}

// refuseDetector says, with the fix, that a detector's checkpoint is not
// this package's to build: its recipe is package detect's.
func refuseDetector(sPath string, meta Meta) error {
	if len(meta.Detector) == 0 {
		return nil
	}
	return fmt.Errorf("checkpoint %s holds a detector (%s), not a classifier: load it with detect.Load (graft detect and graft eval do)", sPath, meta.Arch)
}

// Paths resolves a checkpoint argument (m, m.json or m.safetensors) to its
// weights and sidecar paths.
func Paths(p string) (weights, sidecar string) {
	base := p
	for _, ext := range []string{".safetensors", ".json"} {
		if strings.HasSuffix(base, ext) {
			base = strings.TrimSuffix(base, ext)
			break
		}
	}
	return base + ".safetensors", base + ".json"
}

// Save writes model m with meta to path (see Paths). meta's Arch, classes,
// stages and file fields are filled in from m. optState, when not nil, is
// saved beside for resuming. An imported graph needs a Store with its
// codec (onnx.Checkpoints), which writes the graph file beside.
func Save(path string, m *nn.Model, meta Meta, optState []Tensor) error {
	return Store{}.Save(path, m, meta, optState)
}

// Save is the package's Save with s's codec.
func (s Store) Save(path string, m *nn.Model, meta Meta, optState []Tensor) error {
	return saveWith(path, m, meta, optState, s.Graphs)
}

func saveWith(path string, m *nn.Model, meta Meta, optState []Tensor, graphs GraphCodec) error {
	if m.Folded {
		return fmt.Errorf("save %s: the model's BatchNorms are folded into its convolutions for inference (FoldBatchNorm); save the model before folding", path)
	}
	if graphs == nil && strings.HasPrefix(m.Arch, "onnx:") {
		return fmt.Errorf("save %s: the model is an imported %s, whose graph must be saved beside its weights: save it with onnx.Checkpoints", path, m.Arch)
	}
	wPath, sPath := Paths(path)
	if graphs != nil {
		if err := graphs.Save(path, m); err != nil {
			return err
		}
	}
	var ts []Tensor
	for _, p := range m.Params() {
		ts = append(ts, Tensor{p.Name, p.T})
	}
	h := sha256.New()
	if err := safefile.Write(wPath, func(w io.Writer) error {
		return WriteSafetensors(io.MultiWriter(w, h), ts, map[string]string{"format": "pt", "graft_arch": m.Arch})
	}); err != nil {
		return err
	}
	meta.Format = Format
	meta.Arch = m.Arch
	meta.NumClasses = m.NumClasses
	meta.InChannels = m.InChannels
	meta.Weights = filepath.Base(wPath)
	meta.SHA256 = hex.EncodeToString(h.Sum(nil))
	meta.Stages = nil
	for _, s := range m.Stages {
		meta.Stages = append(meta.Stages, StageInfo{s.Name, s.Channels, s.Reduction})
	}
	meta.State = ""
	if optState != nil {
		stPath := strings.TrimSuffix(wPath, ".safetensors") + ".state.safetensors"
		if err := safefile.Write(stPath, func(w io.Writer) error { return WriteSafetensors(w, optState, nil) }); err != nil {
			return err
		}
		meta.State = filepath.Base(stPath)
	}
	meta.Graft, meta.Commit = buildinfo.Version(), buildinfo.Commit()
	meta.Torch = torch.Version()
	meta.Created = time.Now().UTC().Format(time.RFC3339)
	meta.Command = buildinfo.Command()
	b, err := json.MarshalIndent(meta, "", "  ")
	if err != nil {
		return err
	}
	return safefile.WriteBytes(sPath, append(b, '\n'))
}

// ReadMeta reads and checks a sidecar without loading weights.
func ReadMeta(path string) (Meta, error) {
	wPath, sPath := Paths(path)
	var meta Meta
	b, err := os.ReadFile(sPath)
	if errors.Is(err, os.ErrNotExist) {
		if _, werr := os.Stat(wPath); werr == nil {
			return meta, fmt.Errorf("%s has no graft sidecar %s: it looks like plain weights; bring them in with `graft import`", wPath, sPath)
		}
		return meta, fmt.Errorf("checkpoint %s not found (looked for %s and %s)", path, sPath, wPath)
	}
	if err != nil {
		return meta, fmt.Errorf("read checkpoint: %w", err)
	}
	if err := json.Unmarshal(b, &meta); err != nil {
		return meta, fmt.Errorf("%s is not a graft checkpoint sidecar: %v", sPath, err)
	}
	if meta.Format != Format {
		return meta, fmt.Errorf("%s: format %q, expected %q", sPath, meta.Format, Format)
	}
	if len(meta.Detector) > 0 {
		if len(meta.Classes) != 0 && len(meta.Classes) != meta.NumClasses-1 {
			return meta, fmt.Errorf("%s: %d class names for a detector of %d classes (background included, which has no name)", sPath, len(meta.Classes), meta.NumClasses)
		}
	} else if len(meta.Classes) != 0 && len(meta.Classes) != meta.NumClasses {
		return meta, fmt.Errorf("%s: %d class names for %d classes", sPath, len(meta.Classes), meta.NumClasses)
	}
	return meta, nil
}

// Checkpoint is a loaded model with its sidecar.
type Checkpoint struct {
	Meta  Meta
	Model *nn.Model
	Path  string
}

// Load rebuilds the model a checkpoint describes and loads its weights
// strictly; a built-in architecture only (Store).
func Load(path string) (*Checkpoint, error) { return Store{}.Load(path) }

// Load is the package's Load with s's codec.
func (s Store) Load(path string) (*Checkpoint, error) {
	graphs := s.Graphs
	meta, err := ReadMeta(path)
	if err != nil {
		return nil, err
	}
	_, sPath := Paths(path)
	if err := refuseDetector(sPath, meta); err != nil {
		return nil, err
	}
	st, err := ReadWeights(path, meta)
	if err != nil {
		return nil, err
	}
	m, err := buildWith(path, meta, graphs)
	if err != nil {
		return nil, err
	}
	if _, err := LoadWeights(m, st, Strict); err != nil {
		m.Free()
		return nil, err
	}
	return &Checkpoint{Meta: meta, Model: m, Path: path}, nil
}

// ReadWeights reads a checkpoint's weights after checking them against the
// hash its sidecar meta recorded, so that a model is never loaded with
// weights from another run.
func ReadWeights(path string, meta Meta) (*Safetensors, error) {
	wPath, sPath := Paths(path)
	b, err := os.ReadFile(wPath)
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: weights: %w", sPath, err)
	}
	sum := sha256.Sum256(b)
	if hex.EncodeToString(sum[:]) != meta.SHA256 {
		return nil, fmt.Errorf("checkpoint %s: %s does not match its sidecar (written by another run, or interrupted); re-save or resume the run", sPath, wPath)
	}
	return ReadSafetensors(wPath)
}

// LoadState reads a resumable checkpoint's optimizer state; nil when it has none.
func LoadState(path string, meta Meta) (*Safetensors, error) {
	if meta.State == "" {
		return nil, nil
	}
	wPath, _ := Paths(path)
	return ReadSafetensors(filepath.Join(filepath.Dir(wPath), meta.State))
}

// Mode selects how LoadWeights treats names that do not match.
type Mode int

const (
	// Strict requires every parameter, with its shape, and nothing more.
	Strict Mode = iota
	// DropClassifier loads everything but a classifier whose class count
	// differs, which keeps its fresh initialisation (timm's behaviour).
	DropClassifier
)

// LoadReport says what a non-strict load skipped.
type LoadReport struct {
	Loaded     int
	Skipped    []string // in the file, not loaded (unknown or classifier dropped)
	Missing    []string // in the model, not in the file
	Mismatched []string // same name, different shape
}

// LoadWeights copies st's tensors into m's parameters by name.
func LoadWeights(m *nn.Model, st *Safetensors, mode Mode) (LoadReport, error) {
	var rep LoadReport
	_, clsName := m.Classifier()
	clsPrefix := strings.TrimSuffix(clsName, "weight")
	seen := map[string]bool{}
	for _, p := range m.Params() {
		seen[p.Name] = true
		want := p.T.Shape()
		got := st.Shape(p.Name)
		isCls := clsName != "" && strings.HasPrefix(p.Name, clsPrefix)
		switch {
		case got == nil:
			if mode == DropClassifier && isCls {
				continue
			}
			rep.Missing = append(rep.Missing, fmt.Sprintf("%s %v", p.Name, want))
			continue
		case !slices.Equal(got, want):
			if mode == DropClassifier && isCls {
				rep.Skipped = append(rep.Skipped, fmt.Sprintf("%s %v (classifier: model has %v)", p.Name, got, want))
				continue
			}
			rep.Mismatched = append(rep.Mismatched, fmt.Sprintf("%s: file %v, model %v", p.Name, got, want))
			continue
		}
		src, err := st.Tensor(p.Name)
		if err != nil {
			return rep, err
		}
		var cerr error
		torch.NoGrad(func() { cerr = p.T.CopyFrom_(src) })
		src.Free()
		if cerr != nil {
			return rep, fmt.Errorf("%s: load %s: %w", st.Path, p.Name, cerr)
		}
		rep.Loaded++
	}
	for _, n := range st.Names() {
		if !seen[n] {
			rep.Skipped = append(rep.Skipped, n)
		}
	}
	var problems []string
	if len(rep.Mismatched) > 0 {
		problems = append(problems, "shape mismatches: "+strings.Join(rep.Mismatched, "; "))
	}
	if len(rep.Missing) > 0 {
		problems = append(problems, "missing from the file: "+strings.Join(limit(rep.Missing, 8), ", "))
	}
	if mode == Strict && len(rep.Skipped) > 0 {
		problems = append(problems, "not in the model: "+strings.Join(limit(rep.Skipped, 8), ", "))
	}
	if len(problems) > 0 {
		return rep, fmt.Errorf("%s does not fit %s (%d classes): %s", st.Path, m.Arch, m.NumClasses, strings.Join(problems, "; "))
	}
	return rep, nil
}

func limit(s []string, n int) []string {
	if len(s) <= n {
		return s
	}
	return append(append([]string{}, s[:n]...), fmt.Sprintf("and %d more", len(s)-n))
}
