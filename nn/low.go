package nn

import (
	"fmt"

	"github.com/graftml/graft/torch"
)

// KeepLowWeights gives every convolution and dense layer a copy of its
// weight in dtype (bfloat16) that the forward computes with, while the
// float32 weight stays the master the optimizer updates and checkpoints
// save. Under ATen's CPU autocast each step otherwise casts every weight
// to bf16 on the forward (frozen weights on every call: autocast caches
// only leaves that require gradients) and every weight gradient back to
// float32 on the backward; with the copies, the gradient stays bf16 on
// the copy, and the fused optimizer step reads it and rewrites the copy
// in its one pass over the weight. The values are the same: the copy is
// the master rounded as the cast rounds it, and the gradient autocast
// would widen is the bf16 gradient the copy holds.
//
// Anything that writes a master other than the optimizer must call
// SyncLowWeights; DropLowWeights frees the copies. Layers that already
// keep one are left as they are.
func (m *Model) KeepLowWeights(dtype torch.DType) error {
	var err error
	m.eachWeight(func(name string, w *torch.Tensor, low **torch.Tensor) {
		if err != nil || *low != nil {
			return
		}
		c := w.LowCopy(dtype)
		if e := c.Err(); e != nil {
			err = fmt.Errorf("low-precision copy of %s: %w", name, e)
			return
		}
		*low = c
	})
	if err != nil {
		m.DropLowWeights()
	}
	return err
}

// KeepsLowWeights reports whether any layer keeps a low-precision copy.
func (m *Model) KeepsLowWeights() bool {
	keeps := false
	m.eachWeight(func(_ string, _ *torch.Tensor, low **torch.Tensor) { keeps = keeps || *low != nil })
	return keeps
}

// SyncLowWeights rewrites every copy from its master, converting.
func (m *Model) SyncLowWeights() error {
	var err error
	torch.NoGrad(func() {
		m.eachWeight(func(name string, w *torch.Tensor, low **torch.Tensor) {
			if err == nil && *low != nil {
				if e := (*low).CopyFrom_(w); e != nil {
					err = fmt.Errorf("%s: %w", name, e)
				}
			}
		})
	})
	return err
}

// LowWeightsFor reports whether training at p on dev keeps bf16 copies of
// the weights: bf16 on the CPU, where they were measured (BENCHMARKS.md,
// "fourth set"); CUDA and fp16 keep autocast's casts.
func LowWeightsFor(p torch.Precision, dev torch.Device) bool {
	return p.Name() == torch.BF16 && dev == torch.CPU
}

// DropLowWeights frees the copies: the forward computes with the masters
// again (under autocast, the same values).
func (m *Model) DropLowWeights() {
	m.eachWeight(func(_ string, _ *torch.Tensor, low **torch.Tensor) {
		(*low).Free()
		*low = nil
	})
}

// eachWeight calls f on every convolution's and dense layer's weight and
// the slot of its low-precision copy.
func (m *Model) eachWeight(f func(name string, w *torch.Tensor, low **torch.Tensor)) {
	for _, s := range m.Stages {
		Walk(s.Layers, func(mod Module) {
			switch l := mod.(type) {
			case *Conv2d:
				f(s.Name+" convolution", l.Weight, &l.Low)
			case *Linear:
				f(s.Name+" dense layer", l.Weight, &l.Low)
			}
		})
	}
}
