package detect

import (
	"encoding/json"
	"fmt"

	"github.com/graftml/graft/nn"
)

// Network is the nn.Model that holds every stage. With FeatureMaps,
// Predictors and Decoding it is what onnx.ExportDetector reads of a
// detector (its Detector interface; package onnx cannot import this one,
// whose tests import it):
//
//	om, err := onnx.ExportDetector(m, onnx.ExportOptions{Height: 320, Width: 320})
func (m *Model) Network() *nn.Model { return m.Model }

// FeatureMaps are the tapped stages, in the order the head reads them,
// and the layer each map passes through on its way there (nil for none).
func (m *Model) FeatureMaps() (stages []int, norms []nn.Module) {
	for _, t := range m.Taps {
		stages = append(stages, t.Stage)
		norms = append(norms, t.Norm)
	}
	return stages, norms
}

// Predictors are the head's per-map box-regression and classification
// layers.
func (m *Model) Predictors() (regression, classification []nn.Module) {
	return m.Head.Regression, m.Head.Classification
}

// decoding is what an export records of how to turn the raw outputs into
// boxes: the default boxes' parameters (torchvision's
// DefaultBoxGenerator's) and SSD's coder.
type decoding struct {
	InputSize    int       `json:"input_size"`
	AspectRatios [][]int   `json:"aspect_ratios"`
	Scales       []float64 `json:"scales"`
	Steps        []int     `json:"steps,omitempty"`
	Clip         bool      `json:"clip"`
	Variances    []float64 `json:"variances"`
	LogSizeClip  float32   `json:"log_size_clip"`
	Background   int       `json:"background_class"`
	BoxFormat    string    `json:"box_format"`
}

// Decoding describes the default boxes and the coder as JSON. Every
// built-in detector trains with SSDCoder, whose weights (10, 10, 5, 5) are
// the variances (0.1, 0.1, 0.2, 0.2).
func (m *Model) Decoding() ([]byte, error) {
	var v []float64
	for _, w := range SSDCoder.Weights {
		v = append(v, 1/float64(w))
	}
	b, err := json.Marshal(decoding{InputSize: m.InputSize, AspectRatios: m.Boxes.AspectRatios, Scales: m.Boxes.Scales,
		Steps: m.Boxes.Steps, Clip: m.Boxes.Clip, Variances: v, LogSizeClip: SSDCoder.Clip, BoxFormat: "x1y1x2y2"})
	if err != nil {
		return nil, fmt.Errorf("%s: describe the default boxes: %w", m.Arch, err)
	}
	return b, nil
}
