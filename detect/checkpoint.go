package detect

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/graftml/graft/arch"
	"github.com/graftml/graft/checkpoint"
)

// A detector's checkpoint is a classifier's (weights in safetensors under
// torchvision's names, a JSON sidecar) whose sidecar also carries, under
// "detector", how the network was built: a registry detector's name and
// Config, or FromClassifier's base architecture and options. Package
// checkpoint keeps that recipe opaque and refuses to build from it;
// Build reads it.

// recipe is how a detector was built. Exactly one of Detector and Base is
// set.
type recipe struct {
	// Detector names a registry detector (New).
	Detector string `json:"name,omitempty"`
	// NumClasses counts the classes, background included (Config's).
	NumClasses int  `json:"num_classes"`
	InChannels int  `json:"in_channels"`
	FullTail   bool `json:"full_tail,omitempty"`
	// Base is the built-in classification architecture FromClassifier was
	// given, and BaseStages how many of its body stages it had: fewer than
	// arch.New builds when the classifier was truncated.
	Base       string       `json:"base,omitempty"`
	BaseStages int          `json:"base_stages,omitempty"`
	Options    *baseOptions `json:"options,omitempty"`
}

// baseOptions are BaseOptions as a sidecar records them (NumClasses is
// the recipe's).
type baseOptions struct {
	Arch      string       `json:"arch"`
	Taps      int          `json:"taps"`
	Extras    []int        `json:"extras,omitempty"`
	Lite      bool         `json:"lite,omitempty"`
	Boxes     defaultBoxes `json:"boxes"`
	InputSize int          `json:"input_size"`
}

// defaultBoxes are DefaultBoxes as a sidecar records them.
type defaultBoxes struct {
	AspectRatios [][]int   `json:"aspect_ratios"`
	Scales       []float64 `json:"scales"`
	Steps        []int     `json:"steps,omitempty"`
	Clip         bool      `json:"clip,omitempty"`
}

func baseRecipe(base string, stages, inChannels int, o BaseOptions) recipe {
	b := o.Boxes
	return recipe{Base: base, BaseStages: stages, NumClasses: o.NumClasses, InChannels: inChannels,
		Options: &baseOptions{Arch: o.Arch, Taps: o.Taps, Extras: o.Extras, Lite: o.Lite, InputSize: o.InputSize,
			Boxes: defaultBoxes{AspectRatios: b.AspectRatios, Scales: b.Scales, Steps: b.Steps, Clip: b.Clip}}}
}

// IsDetector reports whether a checkpoint's sidecar describes a detector
// (load it with Load) rather than a classifier (checkpoint.Load).
func IsDetector(meta checkpoint.Meta) bool { return len(meta.Detector) > 0 }

// Save writes detector m to path (see checkpoint.Paths) through store, so
// that the sidecar has what every checkpoint has (stages, provenance,
// the weights' hash) and, in meta.Detector, how to build m again. meta's
// NumClasses is m's, background included, and its Classes, when given,
// name the foreground classes: NumClasses-1 of them. m must come from New
// or FromClassifier on a built-in architecture; a detector on an imported
// graph is refused, its graph not being recorded.
func Save(store checkpoint.Store, path string, m *Model, meta checkpoint.Meta) error {
	r := m.recipe
	switch {
	case r.Detector == "" && r.Base == "":
		return fmt.Errorf("save %s: detector %s was not built by detect.New or detect.FromClassifier, so there is no recipe to rebuild it from", path, m.Arch)
	case strings.HasPrefix(r.Base, "onnx:"):
		return fmt.Errorf("save %s: detector %s is on an imported graph (%s), which a detector's checkpoint cannot record; build it on a built-in architecture (%s)",
			path, m.Arch, r.Base, strings.Join(arch.Names(), ", "))
	}
	if len(meta.Classes) != 0 && len(meta.Classes) != m.NumClasses-1 {
		return fmt.Errorf("save %s: %d class names for detector %s of %d classes: name the %d foreground classes (the background has no name)",
			path, len(meta.Classes), m.Arch, m.NumClasses, m.NumClasses-1)
	}
	// ResetClasses may have changed the class count since the build.
	r.NumClasses, r.InChannels = m.NumClasses, m.InChannels
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	meta.Detector = b
	return store.Save(path, m.Model, meta, nil)
}

// Build makes the detector a checkpoint's sidecar describes, with fresh
// weights drawn as New draws them.
func Build(meta checkpoint.Meta) (*Model, error) {
	if !IsDetector(meta) {
		return nil, fmt.Errorf("%s is a classifier's checkpoint, not a detector's: load it with checkpoint.Load (graft predict)", meta.Arch)
	}
	var r recipe
	if err := json.Unmarshal(meta.Detector, &r); err != nil {
		return nil, fmt.Errorf("detector %s: its recipe is damaged (%v): re-save the detector", meta.Arch, err)
	}
	switch {
	case r.NumClasses != meta.NumClasses:
		return nil, fmt.Errorf("detector %s: recipe for %d classes, sidecar says %d: the sidecar is damaged; re-save the detector", meta.Arch, r.NumClasses, meta.NumClasses)
	case r.InChannels != meta.InChannels:
		return nil, fmt.Errorf("detector %s: recipe for %d input channels, sidecar says %d: the sidecar is damaged; re-save the detector", meta.Arch, r.InChannels, meta.InChannels)
	case (r.Detector == "") == (r.Base == ""):
		return nil, fmt.Errorf("detector %s: the recipe names %q as detector and %q as base; want exactly one: re-save the detector", meta.Arch, r.Detector, r.Base)
	}
	var m *Model
	var err error
	if r.Detector != "" {
		m, err = New(r.Detector, Config{NumClasses: r.NumClasses, InChannels: r.InChannels, FullTail: r.FullTail})
	} else {
		m, err = buildOnBase(r)
	}
	if err != nil {
		return nil, fmt.Errorf("detector %s: %w", meta.Arch, err)
	}
	if m.Arch != meta.Arch {
		m.Free()
		return nil, fmt.Errorf("detector %s: the recipe builds %s: the sidecar is damaged; re-save the detector", meta.Arch, m.Arch)
	}
	return m, nil
}

// buildOnBase is FromClassifier again, on a fresh classifier cut as the
// original one was.
func buildOnBase(r recipe) (*Model, error) {
	o := r.Options
	if o == nil {
		return nil, fmt.Errorf("the recipe has base %s but no options", r.Base)
	}
	if err := (Config{NumClasses: r.NumClasses, InChannels: r.InChannels}).Validate(); err != nil {
		return nil, err
	}
	base, err := arch.New(r.Base, arch.Config{NumClasses: 2, InChannels: r.InChannels})
	if err != nil {
		return nil, err
	}
	switch body := len(base.Stages) - 1; {
	case r.BaseStages < 1 || r.BaseStages > body:
		base.Free()
		return nil, fmt.Errorf("base %s has %d body stages, the recipe keeps %d", r.Base, body, r.BaseStages)
	case r.BaseStages < body:
		if err := base.Truncate(r.BaseStages-1, 2); err != nil {
			base.Free()
			return nil, err
		}
	}
	b := o.Boxes
	m, err := FromClassifier(base, BaseOptions{Arch: o.Arch, NumClasses: r.NumClasses, Taps: o.Taps, Extras: o.Extras, Lite: o.Lite, InputSize: o.InputSize,
		Boxes: DefaultBoxes{AspectRatios: b.AspectRatios, Scales: b.Scales, Steps: b.Steps, Clip: b.Clip}})
	if err != nil {
		base.Free()
		return nil, err
	}
	if err := ready(m); err != nil {
		return nil, err
	}
	return m, nil
}

// Load rebuilds the detector a checkpoint describes and loads its weights
// strictly, after checking them against the sidecar's hash. store is the
// one that saved it (onnx.Checkpoints reads every graft checkpoint); as a
// detector's body is always a built-in architecture today, no codec is
// asked yet, but a detector on an imported graph will need one.
func Load(store checkpoint.Store, path string) (*Model, checkpoint.Meta, error) {
	meta, err := checkpoint.ReadMeta(path)
	if err != nil {
		return nil, meta, err
	}
	_, sPath := checkpoint.Paths(path)
	if !IsDetector(meta) {
		return nil, meta, fmt.Errorf("checkpoint %s holds a classifier (%s), not a detector: use it with graft predict, or load it with checkpoint.Load", sPath, meta.Arch)
	}
	st, err := checkpoint.ReadWeights(path, meta)
	if err != nil {
		return nil, meta, err
	}
	m, err := Build(meta)
	if err != nil {
		return nil, meta, fmt.Errorf("checkpoint %s: %w", sPath, err)
	}
	if _, err := checkpoint.LoadWeights(m.Model, st, checkpoint.Strict); err != nil {
		m.Free()
		return nil, meta, fmt.Errorf("checkpoint %s: %w", sPath, err)
	}
	return m, meta, nil
}
