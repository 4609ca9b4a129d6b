package nn

import (
	"fmt"

	"github.com/graftml/graft/torch"
)

// Pack prepares the model for inference on the CPU with prepacked weights:
// every convolution of a stage that can run in oneDNN's own layout gets its
// weight reordered once into the blocked layout oneDNN's kernels read
// (torch.PackConv2d), and in inference forward passes (not training, no
// autograd) such stages pass their activations in that layout from one
// convolution to the next. Plain ATen reorders a dense weight on every
// call, and a dense activation around every convolution whose layout it
// has no kernel for; measured on ResNet-18 at 64² (BENCHMARKS.md), packed
// inference is the faster one in float32 and in bf16.
//
// A stage packs when each of its modules takes oneDNN's layout:
// convolutions, folded BatchNorms (FoldBatchNorm first), ReLU, max pooling
// and the ResNet blocks built of them; others, such as the head, run dense.
// The values are the same network's up to float rounding (the kernels sum
// in another order). Packing follows the model's Precision at the time of
// the call (float32, or bf16 on the CPU; fp16 and CUDA models, and
// libtorch builds without oneDNN, pack nothing); a forward under another precision, or on another device, runs
// dense. It returns the number of stages packed. The packed weights are
// copies: FoldBatchNorm, Unpack and Free drop them, and training refuses a
// packed model, whose copies it would leave stale.
func (m *Model) Pack() (int, error) {
	m.Unpack()
	if !torch.HasMKLDNN() {
		return 0, nil
	}
	var dt torch.DType
	switch m.Precision.Name() {
	case torch.FP32:
		dt = torch.Float32
	case torch.BF16:
		dt = torch.BFloat16
	default:
		return 0, nil
	}
	if ps := m.Params(); len(ps) > 0 && ps[0].T.Device() != torch.CPU {
		return 0, nil
	}
	n := 0
	for _, s := range m.Stages {
		if !packable(s.Layers) {
			continue
		}
		var err error
		Walk(s.Layers, func(mod Module) {
			c, ok := mod.(*Conv2d)
			if !ok || err != nil {
				return
			}
			if c.Packed, c.PackedBias, err = torch.PackConv2d(c.Weight, c.Bias, c.Opts, dt); err != nil {
				err = fmt.Errorf("stage %s: %w", s.Name, err)
			}
		})
		if err != nil {
			m.Unpack()
			return 0, err
		}
		s.Packed = true
		n++
	}
	if n > 0 {
		m.packedFor = m.Precision.Name()
	}
	return n, nil
}

// Packed reports whether Pack packed any stage.
func (m *Model) Packed() bool { return m.packedFor != "" }

// Unpack frees the packed weights; forward passes run dense again.
func (m *Model) Unpack() {
	for _, s := range m.Stages {
		if !s.Packed {
			continue
		}
		Walk(s.Layers, func(mod Module) {
			if c, ok := mod.(*Conv2d); ok {
				c.Packed.Free()
				c.PackedBias.Free()
				c.Packed, c.PackedBias = nil, nil
			}
		})
		s.Packed = false
	}
	m.packedFor = ""
}

// packable says whether every module of layers takes and gives tensors in
// oneDNN's layout: what ATen 1.13 has oneDNN kernels for.
func packable(layers []Named) bool {
	for _, l := range layers {
		switch v := l.M.(type) {
		case *Conv2d:
		case *BatchNorm2d:
			if !v.Folded || v.Observe != nil {
				return false
			}
		case *Act:
			if v.Kind != "relu" && v.Kind != "identity" {
				return false
			}
		case *MaxPool:
			if o := v.Opts; (o.Dilation[0] > 1) || (o.Dilation[1] > 1) {
				return false
			}
		case *Sequential, *BasicBlock, *Bottleneck:
			if !packable(v.(Parent).Submodules()) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// packedRun reports whether a forward pass on x runs the packed stages in
// oneDNN's layout.
func (m *Model) packedRun(x *torch.Tensor, train bool) bool {
	return m.packedFor != "" && !train && m.Precision.Name() == m.packedFor && !torch.GradEnabled() && x.Device() == torch.CPU
}
