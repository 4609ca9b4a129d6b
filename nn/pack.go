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
// convolutions, BatchNorms in inference mode that follow one (folded, or
// frozen: see PackStages), ReLU, max pooling and the ResNet blocks built of
// them; others, such as the head, run dense. The values are the same
// network's up to float rounding (the kernels sum in another order).
// Packing follows the model's Precision at the time of the call (float32,
// or bf16 on the CPU; fp16 and CUDA models, and libtorch builds without
// oneDNN, pack nothing); a forward under another precision, or on another
// device, runs dense. It returns the number of stages packed. The packed
// weights are copies: FoldBatchNorm, SetTrainable, Unpack and Free drop
// them.
func (m *Model) Pack() (int, error) { return m.PackStages(len(m.Stages)) }

// PackStages is Pack for stages [0, k) only: how training runs a frozen
// prefix, whose stages compute as in inference. A frozen BatchNorm
// (running statistics) after a convolution is folded into the packed copy
// of that convolution, and passes a packed input through, while the layers
// themselves stay as they are for the dense path. The caller keeps the
// stages frozen while packed (SetTrainable unpacks).
func (m *Model) PackStages(k int) (int, error) {
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
	for _, s := range m.Stages[:min(k, len(m.Stages))] {
		if !packable(s.Layers) {
			continue
		}
		s.Packed = true // before packList, so that Unpack finds a partial pack
		if err := packList(s.Layers, dt); err != nil {
			m.Unpack()
			return 0, fmt.Errorf("stage %s: %w", s.Name, err)
		}
		n++
	}
	if n > 0 {
		m.packedFor = m.Precision.Name()
	}
	return n, nil
}

// packList packs the convolutions of layers, each with the frozen
// BatchNorm after it folded in.
func packList(layers []Named, dt torch.DType) error {
	for i, l := range layers {
		switch v := l.M.(type) {
		case *Conv2d:
			var bn *BatchNorm2d
			var fold *torch.FoldBN
			if i+1 < len(layers) {
				if next, ok := layers[i+1].M.(*BatchNorm2d); ok && !next.Folded {
					bn = next
					fold = &torch.FoldBN{Weight: bn.Weight, Bias: bn.Bias, Mean: bn.RunningMean, Var: bn.RunningVar, Eps: bn.Eps}
				}
			}
			var err error
			if v.Packed, v.PackedBias, err = torch.PackConv2d(v.Weight, v.Bias, fold, v.Opts, dt); err != nil {
				return fmt.Errorf("%s: %w", l.Name, err)
			}
			if bn != nil {
				bn.PackedAway = true
			}
		case Parent:
			if err := packList(v.Submodules(), dt); err != nil {
				return fmt.Errorf("%s: %w", l.Name, err)
			}
		}
	}
	return nil
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
			switch v := mod.(type) {
			case *Conv2d:
				v.Packed.Free()
				v.PackedBias.Free()
				v.Packed, v.PackedBias = nil, nil
			case *BatchNorm2d:
				v.PackedAway = false
			}
		})
		s.Packed = false
	}
	m.packedFor = ""
}

// packable says whether every module of layers takes and gives tensors in
// oneDNN's layout: what ATen 1.13 has oneDNN kernels for. A BatchNorm
// passes when folded, or when in inference mode right after a convolution
// (packList folds it into that convolution's packed copy).
func packable(layers []Named) bool {
	for i, l := range layers {
		switch v := l.M.(type) {
		case *Conv2d:
		case *BatchNorm2d:
			if v.Observe != nil {
				return false
			}
			if !v.Folded {
				if _, afterConv := layers[max(i-1, 0)].M.(*Conv2d); i == 0 || !afterConv || !v.Frozen {
					return false
				}
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

// Relayout hands x, in oneDNN's layout when in is set, to stage i of a
// packed pass (PackedRun): into oneDNN's layout for a packed stage, dense
// for the others. It returns the tensor and whether it is in oneDNN's
// layout.
func (m *Model) Relayout(x *torch.Tensor, i int, in bool) (*torch.Tensor, bool) {
	switch p := m.Stages[i].Packed; {
	case p == in:
		return x, in
	case p:
		return x.ToMKLDNN(m.Precision.DType()), true
	default:
		return x.ToDense(), false
	}
}

// PackedRun reports whether a forward pass on x runs the packed stages in
// oneDNN's layout.
func (m *Model) PackedRun(x *torch.Tensor, train bool) bool {
	return m.packedFor != "" && !train && m.Precision.Name() == m.packedFor && !torch.GradEnabled() && x.Device() == torch.CPU
}
