package doctor

import (
	"fmt"

	"github.com/graftml/graft/checkpoint"
	"github.com/graftml/graft/data"
	"github.com/graftml/graft/experiment"
	"github.com/graftml/graft/nn"
)

// PlannedPreprocess is the preprocessing a plan uses instead of the base's
// (meta's) when it names another normalisation (norm) or input side
// (size), for Plan.Preprocess; nil when it names neither. An input the
// base's stages would shrink to nothing is refused.
func PlannedPreprocess(meta checkpoint.Meta, norm string, size int) (*data.Preprocess, error) {
	if norm == "" && size == 0 {
		return nil, nil
	}
	p := meta.Preprocess
	if norm != "" {
		p.Norm, p.Mean, p.Std = norm, nil, nil
	}
	if size != 0 {
		p.Size, p.Height, p.Width = size, 0, 0
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("--norm/--size: %w", err)
	}
	shape := &nn.Model{Arch: meta.Arch}
	for _, s := range meta.Stages {
		shape.Stages = append(shape.Stages, &nn.Stage{Name: s.Name, Reduction: s.Reduction})
	}
	if err := experiment.CheckInputSize(shape, p); err != nil {
		return nil, err
	}
	return &p, nil
}
