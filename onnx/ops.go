package onnx

import (
	"fmt"
	"math"

	"github.com/graftml/graft/torch"
)

// ops maps every supported ONNX operator to its implementation. Each takes
// the node's inputs (a missing optional input is the zero value) and
// returns its outputs in order; trailing optional outputs may be left out.
var ops = map[string]opFunc{}

func init() {
	for name, f := range map[string]opFunc{
		// activations and elementwise
		"Relu":        unaryOp((*torch.Tensor).Relu),
		"Sigmoid":     unaryOp((*torch.Tensor).Sigmoid),
		"Tanh":        unaryOp((*torch.Tensor).Tanh),
		"Exp":         unaryOp((*torch.Tensor).Exp),
		"Log":         unaryOp((*torch.Tensor).Log),
		"Sqrt":        unaryOp((*torch.Tensor).Sqrt),
		"Neg":         unaryOp((*torch.Tensor).Neg),
		"Abs":         unaryOp((*torch.Tensor).Abs),
		"Reciprocal":  unaryOp((*torch.Tensor).Reciprocal),
		"Floor":       unaryOp((*torch.Tensor).Floor),
		"Ceil":        unaryOp((*torch.Tensor).Ceil),
		"Sign":        unaryOp((*torch.Tensor).Sign),
		"Erf":         unaryOp((*torch.Tensor).Erf),
		"HardSwish":   unaryOp((*torch.Tensor).Hardswish),
		"Softsign":    unaryOp(func(x *torch.Tensor) *torch.Tensor { return x.Div(x.Abs().AddScalar(1)) }),
		"Softplus":    unaryOp(func(x *torch.Tensor) *torch.Tensor { return x.Exp().AddScalar(1).Log() }),
		"LeakyRelu":   opLeakyRelu,
		"HardSigmoid": opHardSigmoid,
		"Elu":         opElu,
		"Selu":        opElu,
		"Clip":        opClip,
		"PRelu":       opPRelu,
		"Identity":    opIdentity,
		"Dropout":     opDropout,
		"Softmax":     opSoftmax,
		"LogSoftmax":  opSoftmax,

		"Add":     binaryOp("Add"),
		"Sub":     binaryOp("Sub"),
		"Mul":     binaryOp("Mul"),
		"Div":     binaryOp("Div"),
		"Pow":     binaryOp("Pow"),
		"Equal":   binaryOp("Equal"),
		"Greater": binaryOp("Greater"),
		"Less":    binaryOp("Less"),
		"Sum":     variadicOp("Add"),
		"Max":     variadicOp("Max"),
		"Min":     variadicOp("Min"),
		"Mean":    opMean,
		"Where":   opWhere,
		"Not":     opNot,

		// neural-network layers
		"Conv":                  opConv,
		"ConvTranspose":         opConvTranspose,
		"BatchNormalization":    opBatchNorm,
		"InstanceNormalization": opInstanceNorm,
		"MaxPool":               opPool,
		"AveragePool":           opPool,
		"GlobalAveragePool":     opGlobalPool,
		"GlobalMaxPool":         opGlobalPool,
		"Gemm":                  opGemm,
		"MatMul":                opMatMul,
		"ReduceMean":            opReduce,
		"ReduceSum":             opReduce,
		"ReduceMax":             opReduce,
		"ReduceMin":             opReduce,
		"ArgMax":                opArgMax,
		"Resize":                opResize,
		"Upsample":              opResize,

		// shapes and data movement
		"Flatten":         opFlatten,
		"Reshape":         opReshape,
		"Squeeze":         opSqueeze,
		"Unsqueeze":       opUnsqueeze,
		"Transpose":       opTranspose,
		"Concat":          opConcat,
		"Split":           opSplit,
		"Slice":           opSlice,
		"Gather":          opGather,
		"Shape":           opShape,
		"Size":            opSize,
		"Cast":            opCast,
		"Constant":        opConstant,
		"ConstantOfShape": opConstantOfShape,
		"Pad":             opPad,
		"Expand":          opExpand,
		"Range":           opRange,
	} {
		ops[name] = f
	}
}

// ---- attributes and inputs ----

func (n *cnode) attrI(name string, def int64) int64 {
	if a, ok := n.Attrs[name]; ok {
		return a.I
	}
	return def
}

func (n *cnode) attrF(name string, def float64) float64 {
	if a, ok := n.Attrs[name]; ok {
		return float64(a.F)
	}
	return def
}

func (n *cnode) attrInts(name string) ([]int64, bool) {
	a, ok := n.Attrs[name]
	if !ok {
		return nil, false
	}
	return a.Ints, true
}

func (n *cnode) attrS(name, def string) string {
	if a, ok := n.Attrs[name]; ok {
		return string(a.S)
	}
	return def
}

// intsOf reads a small integer input (shapes, axes, pads) into Go.
func intsOf(v value) ([]int64, error) {
	if v.c != nil {
		return v.c.ints(), nil
	}
	if v.t == nil {
		return nil, nil
	}
	return v.t.Int64s()
}

// floatOf reads a single-value input (Clip bounds, Dropout ratio).
func floatOf(v value) (float64, error) {
	if v.c != nil {
		return v.c.scalar()
	}
	return v.t.Item()
}

func one(t *torch.Tensor) ([]value, error) { return []value{{t: t}}, t.Err() }

func oneC(c *Const, err error) ([]value, error) {
	if err != nil {
		return nil, err
	}
	return []value{{c: c}}, nil
}

// inputAt is in[i] or the zero value when the node has fewer inputs.
func inputAt(in []value, i int) value {
	if i < len(in) {
		return in[i]
	}
	return value{}
}

func normAxis(axis int64, rank int) (int64, error) {
	if axis < 0 {
		axis += int64(rank)
	}
	if axis < 0 || axis >= int64(rank) {
		return 0, fmt.Errorf("axis %d out of range for rank %d", axis, rank)
	}
	return axis, nil
}

func isFloatTensor(t *torch.Tensor) bool {
	switch t.DType() {
	case torch.Float32, torch.Float64, torch.Float16, torch.BFloat16:
		return true
	}
	return false
}

// ---- elementwise ----

func unaryOp(f func(*torch.Tensor) *torch.Tensor) opFunc {
	return func(e *env, n *cnode, in []value) ([]value, error) {
		return one(f(e.tensor(in[0])))
	}
}

func opLeakyRelu(e *env, n *cnode, in []value) ([]value, error) {
	return one(e.tensor(in[0]).LeakyRelu(n.attrF("alpha", 0.01)))
}

func opHardSigmoid(e *env, n *cnode, in []value) ([]value, error) {
	alpha, beta := n.attrF("alpha", 0.2), n.attrF("beta", 0.5)
	if math.Abs(alpha-1.0/6) < 1e-7 && math.Abs(beta-0.5) < 1e-7 {
		return one(e.tensor(in[0]).Hardsigmoid())
	}
	return one(e.tensor(in[0]).MulScalar(alpha).AddScalar(beta).Clamp(0, 1))
}

// opElu is Elu, and Selu (Elu scaled by gamma with its own alpha).
func opElu(e *env, n *cnode, in []value) ([]value, error) {
	x := e.tensor(in[0])
	alpha, gamma := n.attrF("alpha", 1), 1.0
	if n.OpType == "Selu" {
		alpha, gamma = n.attrF("alpha", 1.67326319217681884765625), n.attrF("gamma", 1.05070102214813232421875)
	}
	neg := x.ClampMax(0).Exp().AddScalar(-1).MulScalar(alpha)
	y := x.ClampMin(0).Add(neg)
	if gamma != 1 {
		y = y.MulScalar(gamma)
	}
	return one(y)
}

func opClip(e *env, n *cnode, in []value) ([]value, error) {
	x := e.tensor(in[0])
	lo, hi := math.Inf(-1), math.Inf(1)
	if e.p.opset < 11 {
		lo, hi = n.attrF("min", lo), n.attrF("max", hi)
	} else {
		var err error
		if v := inputAt(in, 1); v.ok() {
			if lo, err = floatOf(v); err != nil {
				return nil, fmt.Errorf("min: %w", err)
			}
		}
		if v := inputAt(in, 2); v.ok() {
			if hi, err = floatOf(v); err != nil {
				return nil, fmt.Errorf("max: %w", err)
			}
		}
	}
	switch {
	case lo == 0 && hi == 6 && isFloatTensor(x):
		return one(x.Relu6())
	case math.IsInf(lo, -1) && math.IsInf(hi, 1):
		return one(x.Alias())
	case math.IsInf(hi, 1):
		return one(x.ClampMin(lo))
	case math.IsInf(lo, -1):
		return one(x.ClampMax(hi))
	}
	return one(x.Clamp(lo, hi))
}

func opPRelu(e *env, n *cnode, in []value) ([]value, error) {
	x, slope := e.tensor(in[0]), e.tensor(in[1])
	if xs, ss := x.Shape(), slope.Shape(); e.p.opset < 7 && len(ss) == 1 && len(xs) > 2 && ss[0] == xs[1] {
		// Before opset 7 a 1-d slope is per channel, not NumPy-broadcast.
		slope = slope.Reshape(append([]int64{ss[0]}, ones(len(xs)-2)...)...)
	}
	return one(x.ClampMin(0).Add(x.ClampMax(0).Mul(slope)))
}

func opIdentity(e *env, n *cnode, in []value) ([]value, error) {
	if in[0].c != nil {
		return []value{in[0]}, nil
	}
	// A fresh handle, so the env can free each value independently.
	return one(in[0].t.Alias())
}

func opDropout(e *env, n *cnode, in []value) ([]value, error) {
	x := e.tensor(in[0])
	ratio := n.attrF("ratio", 0.5)
	if e.p.opset >= 12 {
		ratio = 0.5
		if v := inputAt(in, 1); v.ok() {
			var err error
			if ratio, err = floatOf(v); err != nil {
				return nil, fmt.Errorf("ratio: %w", err)
			}
		}
	}
	training := e.train && !e.p.noDropout
	if e.graphTraining {
		training = false
		if v := inputAt(in, 2); v.ok() {
			f, err := floatOf(v)
			if err != nil {
				return nil, fmt.Errorf("training_mode: %w", err)
			}
			training = f != 0
		}
	}
	wantMask := len(n.Outputs) > 1 && n.Outputs[1] != ""
	if !training || ratio == 0 {
		if wantMask {
			return []value{{t: x.Alias()}, {t: torch.Full(x.Shape(), 1, torch.Bool, x.Device())}}, nil
		}
		return one(x.Alias())
	}
	if wantMask {
		// Drop ones to get the scaled keep-mask, so the mask is exact even
		// where x is 0.
		keep := torch.Dropout(torch.Full(x.Shape(), 1, x.DType(), x.Device()), ratio, true)
		return []value{{t: x.Mul(keep)}, {t: keep.Gt(torch.Full(nil, 0, x.DType(), x.Device()))}}, nil
	}
	return one(torch.Dropout(x, ratio, true))
}

func opSoftmax(e *env, n *cnode, in []value) ([]value, error) {
	x := e.tensor(in[0])
	shape := x.Shape()
	log := n.OpType == "LogSoftmax"
	f := (*torch.Tensor).Softmax
	if log {
		f = (*torch.Tensor).LogSoftmax
	}
	if e.p.opset >= 13 {
		axis, err := normAxis(n.attrI("axis", -1), len(shape))
		if err != nil {
			return nil, err
		}
		return one(f(x, axis))
	}
	// Before opset 13 the input is flattened to 2-d at axis and the
	// softmax taken over the second dimension.
	axis, err := normAxis(n.attrI("axis", 1), len(shape))
	if err != nil {
		return nil, err
	}
	rows := numel(shape[:axis])
	y := f(x.Reshape(rows, -1), 1)
	return one(y.Reshape(shape...))
}

// binaryOp handles two-input elementwise operators with NumPy
// broadcasting: in Go when both inputs are Go constants (shape
// arithmetic), with a scalar fast path for tensor-and-number, and on
// tensors otherwise.
func binaryOp(op string) opFunc {
	return func(e *env, n *cnode, in []value) ([]value, error) {
		return binaryVals(e, op, in[0], in[1])
	}
}

func binaryVals(e *env, op string, a, b value) ([]value, error) {
	if a.c != nil && b.c != nil && a.c.numel() <= maxGoElems && b.c.numel() <= maxGoElems {
		return oneC(constBinary(op, a.c, b.c))
	}
	if a.t != nil && b.c != nil && b.c.numel() == 1 && len(b.c.Dims) <= len(a.t.Shape()) && isFloatTensor(a.t) && b.c.isFloat() {
		s := b.c.floats()[0]
		switch op {
		case "Add":
			return one(a.t.AddScalar(s))
		case "Sub":
			return one(a.t.AddScalar(-s))
		case "Mul":
			return one(a.t.MulScalar(s))
		case "Div":
			return one(a.t.DivScalar(s))
		case "Pow":
			return one(a.t.PowScalar(s))
		}
	}
	if b.t != nil && a.c != nil && a.c.numel() == 1 && len(a.c.Dims) <= len(b.t.Shape()) && isFloatTensor(b.t) && a.c.isFloat() {
		s := a.c.floats()[0]
		switch op {
		case "Add":
			return one(b.t.AddScalar(s))
		case "Sub":
			return one(b.t.RSubScalar(s))
		case "Mul":
			return one(b.t.MulScalar(s))
		}
	}
	x, y := e.tensor(a), e.tensor(b)
	switch op {
	case "Add":
		return one(x.Add(y))
	case "Sub":
		return one(x.Sub(y))
	case "Mul":
		return one(x.Mul(y))
	case "Div":
		if !isFloatTensor(x) {
			// ONNX integer division truncates; libtorch's div would
			// return floats.
			q := x.Div(y).To(torch.Float64, x.Device())
			return one(q.Sign().Mul(q.Abs().Floor()).To(x.DType(), x.Device()))
		}
		return one(x.Div(y))
	case "Pow":
		return one(x.Pow(y))
	case "Max":
		return one(x.Maximum(y))
	case "Min":
		return one(x.Minimum(y))
	case "Equal":
		return one(x.Eq(y))
	case "Greater":
		return one(x.Gt(y))
	case "Less":
		return one(x.Lt(y))
	}
	return nil, fmt.Errorf("unknown binary operator %s", op)
}

func variadicOp(op string) opFunc {
	return func(e *env, n *cnode, in []value) ([]value, error) {
		acc := in[0]
		if acc.t != nil && len(in) == 1 {
			return one(acc.t.Alias())
		}
		for _, v := range in[1:] {
			out, err := binaryVals(e, op, acc, v)
			if err != nil {
				return nil, err
			}
			acc = out[0]
		}
		return []value{acc}, nil
	}
}

func opMean(e *env, n *cnode, in []value) ([]value, error) {
	out, err := variadicOp("Add")(e, n, in)
	if err != nil {
		return nil, err
	}
	return one(e.tensor(out[0]).DivScalar(float64(len(in))))
}

func opWhere(e *env, n *cnode, in []value) ([]value, error) {
	if in[0].c != nil && in[1].c != nil && in[2].c != nil {
		return oneC(constWhere(in[0].c, in[1].c, in[2].c))
	}
	cond := e.tensor(in[0])
	if cond.DType() != torch.Bool {
		cond = cond.To(torch.Bool, cond.Device())
	}
	return one(torch.Where(cond, e.tensor(in[1]), e.tensor(in[2])))
}

func opNot(e *env, n *cnode, in []value) ([]value, error) {
	if c := in[0].c; c != nil {
		out := &Const{Type: tBool, Dims: c.Dims, I: make([]int64, len(c.I))}
		for i, v := range c.I {
			if v == 0 {
				out.I[i] = 1
			}
		}
		return oneC(out, nil)
	}
	x := in[0].t
	return one(x.Eq(torch.Full(nil, 0, x.DType(), x.Device())))
}
