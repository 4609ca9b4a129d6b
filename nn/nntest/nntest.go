// Package nntest holds helpers for tests of models: BatchNorm statistics
// that make a wrong fold show, and the distance between two outputs.
package nntest

import (
	"math"

	"github.com/graftml/graft/nn"
	"github.com/graftml/graft/torch"
)

// ScrambleBatchNorms draws every BatchNorm's running statistics and affine
// parameters away from a fresh layer's (mean 0, variance 1, scale 1, shift
// 0), whose fold is nearly the identity and would pass whatever a fold
// did. It draws from torch's generator, so a seeded test stays repeatable.
func ScrambleBatchNorms(m *nn.Model) {
	for _, s := range m.Stages {
		nn.Walk(s.Layers, func(mod nn.Module) {
			if bn, ok := mod.(*nn.BatchNorm2d); ok {
				torch.NoGrad(func() {
					_ = bn.RunningMean.Uniform_(-0.5, 0.5)
					_ = bn.RunningVar.Uniform_(0.5, 2)
					_ = bn.Weight.Uniform_(0.5, 1.5)
					_ = bn.Bias.Uniform_(-0.3, 0.3)
				})
			}
		})
	}
}

// MaxDiff is the largest |got[i] − want[i]| and the largest |want[i]|, the
// scale to judge it against; a NaN difference comes back as NaN (Go's max
// keeps it).
func MaxDiff(got, want []float32) (diff, scale float64) {
	for i := range got {
		diff = max(diff, math.Abs(float64(got[i]-want[i])))
		scale = max(scale, math.Abs(float64(want[i])))
	}
	return diff, scale
}
