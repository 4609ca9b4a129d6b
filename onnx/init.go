package onnx

import (
	"fmt"
	"math"

	"github.com/graftml/graft/torch"
)

// ResetParameters draws the segment's parameters afresh, each as
// PyTorch's layer of that type initialises itself (reset_parameters):
// convolution and dense weights Kaiming-uniform with a=√5, that is
// U(±1/√fan_in), their biases U(±1/√fan_in); BatchNorm and other
// normalisations scale 1, shift 0, running mean 0, running variance 1;
// PReLU's slope 0.25. It is what training from scratch starts an imported
// graph from: a graph built from a checkpoint's graph file has zeros,
// which no gradient moves out of. Parameters that no layer type of these
// consumes keep their values. Draws come from libtorch's global generator
// (seed it for a reproducible start).
func (s *segment) ResetParameters() error {
	var err error
	torch.NoGrad(func() { err = s.reset() })
	return err
}

func (s *segment) reset() error {
	done := map[*pinfo]bool{}
	// fill sets a parameter to v; uniform draws it from U(±bound).
	fill := func(pi *pinfo, v float64) error {
		if pi == nil || done[pi] {
			return nil
		}
		done[pi] = true
		if err := pi.t.Fill_(v); err != nil {
			return fmt.Errorf("reset %s: %w", pi.gname, err)
		}
		return nil
	}
	uniform := func(pi *pinfo, bound float64) error {
		if pi == nil || done[pi] {
			return nil
		}
		done[pi] = true
		if err := pi.t.Uniform_(-bound, bound); err != nil {
			return fmt.Errorf("reset %s: %w", pi.gname, err)
		}
		return nil
	}
	for _, n := range s.p.nodes[s.from:s.to] {
		param := func(i int) *pinfo {
			if i < len(n.Inputs) {
				return s.p.params[n.Inputs[i]]
			}
			return nil
		}
		var errs []error
		switch n.OpType {
		case "Conv", "ConvTranspose", "Gemm", "MatMul":
			w := param(1)
			if w == nil {
				continue
			}
			bound := 1 / math.Sqrt(float64(max(fanIn(n, w), 1)))
			errs = append(errs, uniform(w, bound), uniform(param(2), bound))
		case "BatchNormalization":
			if n.bn != nil && n.bn.NumBatchesTracked != nil {
				errs = append(errs, n.bn.NumBatchesTracked.Fill_(0))
			}
			errs = append(errs, fill(param(1), 1), fill(param(2), 0), fill(param(3), 0), fill(param(4), 1))
		case "InstanceNormalization", "LayerNormalization", "GroupNormalization":
			errs = append(errs, fill(param(1), 1), fill(param(2), 0))
		case "PRelu":
			errs = append(errs, fill(param(1), 0.25))
		}
		for _, err := range errs {
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// fanIn is the inputs each output of a Conv, ConvTranspose, Gemm or MatMul
// with weight w sums over, as PyTorch computes it for the layer's
// initialisation.
func fanIn(n *cnode, w *pinfo) int64 {
	s := w.t.Shape()
	if len(s) < 2 {
		return 1
	}
	switch {
	case n.OpType == "Conv" || n.OpType == "ConvTranspose" || w.layout != "":
		// [out, in/groups, k…] (PyTorch's ConvTranspose counts its second
		// dimension too); graft's Linear layouts are [out, in].
		f := int64(1)
		for _, d := range s[1:] {
			f *= d
		}
		return f
	case n.OpType == "Gemm" && n.attrI("transB", 0) != 0:
		return s[1] // B is [N, K]
	default:
		return s[0] // B is [K, N]
	}
}
