package onnx

import (
	"fmt"

	"github.com/graftml/graft/torch"
)

// Operators outside the core CNN set, composed from the torch package's
// primitives: legacy normalisations (LRN), the remaining reductions and
// comparisons, and layout shuffles.

func init() {
	for name, f := range map[string]opFunc{
		"LRN":                opLRN,
		"LayerNormalization": opLayerNorm,
		"ArgMin":             opArgMin,
		"ReduceL1":           opReduce,
		"ReduceL2":           opReduce,
		"ReduceSumSquare":    opReduce,
		"ReduceLogSumExp":    opReduce,
		"ReduceLogSum":       opReduce,
		"GreaterOrEqual":     opCompareOrEqual,
		"LessOrEqual":        opCompareOrEqual,
		"And":                opLogic,
		"Or":                 opLogic,
		"Xor":                opLogic,
		"Tile":               opTile,
		"CastLike":           opCastLike,
		"Celu":               opCelu,
		"ThresholdedRelu":    opThresholdedRelu,
		"Shrink":             opShrink,
		"DepthToSpace":       opDepthToSpace,
		"SpaceToDepth":       opSpaceToDepth,
	} {
		ops[name] = f
	}
}

// opLRN: y = x / (bias + alpha/size · Σ x² over a window of channels)^beta.
// The channel window sum is an average pool over a [N, 1, C, H·W] view.
func opLRN(e *env, n *cnode, in []value) ([]value, error) {
	x := e.tensor(in[0])
	s := x.Shape()
	if len(s) < 3 {
		return nil, fmt.Errorf("input of rank %d", len(s))
	}
	size := n.attrI("size", 0)
	if size < 1 {
		return nil, fmt.Errorf("size attribute %d", size)
	}
	alpha, beta, bias := n.attrF("alpha", 1e-4), n.attrF("beta", 0.75), n.attrF("bias", 1)
	rest := numel(s[2:])
	sq := x.Square().Reshape(s[0], 1, s[1], rest)
	lo, hi := (size-1)/2, size-1-(size-1)/2
	sum := torch.AvgPool2d(sq.Pad([]int64{0, 0, lo, hi}, 0), torch.PoolOpts{Kernel: [2]int64{size, 1}, Stride: [2]int64{1, 1}, CountIncludePad: true})
	den := sum.MulScalar(alpha).AddScalar(bias).PowScalar(beta) // avg = Σ/size, so alpha·avg = alpha/size·Σ
	return one(x.Div(den.Reshape(s...)))
}

// opLayerNorm normalises over the axes from axis on (opset 17).
func opLayerNorm(e *env, n *cnode, in []value) ([]value, error) {
	x := e.tensor(in[0])
	s := x.Shape()
	axis, err := normAxis(n.attrI("axis", -1), len(s))
	if err != nil {
		return nil, err
	}
	var dims []int64
	for i := axis; i < int64(len(s)); i++ {
		dims = append(dims, i)
	}
	mean := x.MeanKeep(dims...)
	d := x.Sub(mean)
	inv := d.Square().MeanKeep(dims...).AddScalar(n.attrF("epsilon", 1e-5)).Sqrt().Reciprocal()
	y := d.Mul(inv).Mul(e.tensor(in[1]))
	if b := inputAt(in, 2); b.ok() {
		y = y.Add(e.tensor(b))
	}
	outs := []value{{t: y}}
	if len(n.Outputs) > 1 {
		outs = append(outs, value{t: mean}, value{t: inv})
	}
	return outs, nil
}

func opArgMin(e *env, n *cnode, in []value) ([]value, error) {
	x := e.tensor(in[0])
	return opArgMax(e, n, []value{{t: x.Neg()}})
}

func opCompareOrEqual(e *env, n *cnode, in []value) ([]value, error) {
	a, b := e.tensor(in[0]), e.tensor(in[1])
	if n.OpType == "GreaterOrEqual" {
		return one(a.Gt(b).Add(a.Eq(b)).Gt(torch.Full(nil, 0, torch.Bool, a.Device())))
	}
	return one(a.Lt(b).Add(a.Eq(b)).Gt(torch.Full(nil, 0, torch.Bool, a.Device())))
}

func opLogic(e *env, n *cnode, in []value) ([]value, error) {
	a, b := e.tensor(in[0]), e.tensor(in[1])
	switch n.OpType {
	case "And":
		return one(a.Minimum(b))
	case "Or":
		return one(a.Maximum(b))
	}
	f := torch.Full(nil, 0, torch.Bool, a.Device())
	return one(a.Eq(b).Eq(f))
}

// opTile repeats along each axis: an index_select of i mod size.
func opTile(e *env, n *cnode, in []value) ([]value, error) {
	x := e.tensor(in[0])
	reps, err := intsOf(in[1])
	if err != nil {
		return nil, err
	}
	s := x.Shape()
	if len(reps) != len(s) {
		return nil, fmt.Errorf("repeats %v for rank %d", reps, len(s))
	}
	for d, r := range reps {
		if r == 1 {
			continue
		}
		idx := make([]int64, s[d]*r)
		for i := range idx {
			idx[i] = int64(i) % max(s[d], 1)
		}
		it := torch.FromInt64(idx, int64(len(idx)))
		if x.Device() != torch.CPU {
			it = convert(it, -1, x.Device())
		}
		x = x.IndexSelect(int64(d), it)
		it.Free()
	}
	return one(x)
}

func opCastLike(e *env, n *cnode, in []value) ([]value, error) {
	var to int32
	if in[1].c != nil {
		to = in[1].c.Type
	} else {
		to = onnxType(in[1].t.DType())
	}
	if c := in[0].c; c != nil {
		return oneC(constCast(c, to), nil)
	}
	dt, err := torchType(to)
	if err != nil {
		return nil, err
	}
	return one(in[0].t.To(dt, in[0].t.Device()))
}

func opCelu(e *env, n *cnode, in []value) ([]value, error) {
	x := e.tensor(in[0])
	alpha := n.attrF("alpha", 1)
	neg := x.DivScalar(alpha).ClampMax(0).Exp().AddScalar(-1).MulScalar(alpha)
	return one(x.ClampMin(0).Add(neg))
}

func opThresholdedRelu(e *env, n *cnode, in []value) ([]value, error) {
	x := e.tensor(in[0])
	alpha := n.attrF("alpha", 1)
	return one(torch.Where(x.Gt(torch.Full(nil, alpha, x.DType(), x.Device())), x, torch.Full(nil, 0, x.DType(), x.Device())))
}

func opShrink(e *env, n *cnode, in []value) ([]value, error) {
	x := e.tensor(in[0])
	lambd, bias := n.attrF("lambd", 0.5), n.attrF("bias", 0)
	full := func(v float64) *torch.Tensor { return torch.Full(nil, v, x.DType(), x.Device()) }
	neg := torch.Where(x.Lt(full(-lambd)), x.Add(full(bias)), full(0))
	return one(torch.Where(x.Gt(full(lambd)), x.Sub(full(bias)), neg))
}

func opDepthToSpace(e *env, n *cnode, in []value) ([]value, error) {
	x := e.tensor(in[0])
	s := x.Shape()
	b := n.attrI("blocksize", 0)
	if len(s) != 4 || b < 1 || s[1]%(b*b) != 0 {
		return nil, fmt.Errorf("blocksize %d for shape %v", b, s)
	}
	N, C, H, W := s[0], s[1], s[2], s[3]
	c := C / (b * b)
	var y *torch.Tensor
	if n.attrS("mode", "DCR") == "CRD" {
		y = x.Reshape(N, c, b, b, H, W).Permute(0, 1, 4, 2, 5, 3)
	} else {
		y = x.Reshape(N, b, b, c, H, W).Permute(0, 3, 4, 1, 5, 2)
	}
	return one(y.Reshape(N, c, H*b, W*b))
}

func opSpaceToDepth(e *env, n *cnode, in []value) ([]value, error) {
	x := e.tensor(in[0])
	s := x.Shape()
	b := n.attrI("blocksize", 0)
	if len(s) != 4 || b < 1 || s[2]%b != 0 || s[3]%b != 0 {
		return nil, fmt.Errorf("blocksize %d for shape %v", b, s)
	}
	N, C, H, W := s[0], s[1], s[2], s[3]
	y := x.Reshape(N, C, H/b, b, W/b, b).Permute(0, 3, 5, 1, 2, 4)
	return one(y.Reshape(N, C*b*b, H/b, W/b))
}
