package onnx

import (
	"fmt"
	"math"

	"github.com/graftml/graft/torch"
)

// geometry is a convolution's or pooling's attributes for its spatial
// dimensions, with pads resolved (auto_pad included) as begin and end.
type geometry struct {
	kernel, strides, dilations, begin, end []int64
}

// spatialGeometry reads kernel_shape (or kernel from the weight), strides,
// dilations, pads and auto_pad for an input of spatial size in.
func spatialGeometry(n *cnode, in []int64, kernel []int64) (geometry, error) {
	r := len(in)
	g := geometry{kernel: kernel}
	if k, ok := n.attrInts("kernel_shape"); ok {
		g.kernel = k
	}
	if len(g.kernel) != r {
		return g, fmt.Errorf("kernel_shape %v does not match %d spatial dimensions", g.kernel, r)
	}
	ones := func() []int64 {
		s := make([]int64, r)
		for i := range s {
			s[i] = 1
		}
		return s
	}
	g.strides, g.dilations = ones(), ones()
	if s, ok := n.attrInts("strides"); ok && len(s) > 0 {
		g.strides = s
	}
	if d, ok := n.attrInts("dilations"); ok && len(d) > 0 {
		g.dilations = d
	}
	if len(g.strides) != r || len(g.dilations) != r {
		return g, fmt.Errorf("strides %v or dilations %v do not match %d spatial dimensions", g.strides, g.dilations, r)
	}
	g.begin, g.end = make([]int64, r), make([]int64, r)
	ap := n.attrS("auto_pad", "NOTSET")
	if n.OpType == "ConvTranspose" && ap != "VALID" {
		// SAME means "output = input·stride" there, not the convolution's
		// rule; opConvTranspose derives those pads from the output size.
		ap = "NOTSET"
	}
	switch ap {
	case "NOTSET", "":
		if p, ok := n.attrInts("pads"); ok && len(p) > 0 {
			if len(p) != 2*r {
				return g, fmt.Errorf("pads %v: want %d values", p, 2*r)
			}
			copy(g.begin, p[:r])
			copy(g.end, p[r:])
		}
	case "VALID":
	case "SAME_UPPER", "SAME_LOWER":
		for i := 0; i < r; i++ {
			out := (in[i] + g.strides[i] - 1) / g.strides[i]
			total := max(0, (out-1)*g.strides[i]+(g.kernel[i]-1)*g.dilations[i]+1-in[i])
			if ap == "SAME_UPPER" {
				g.begin[i], g.end[i] = total/2, total-total/2
			} else {
				g.begin[i], g.end[i] = total-total/2, total/2
			}
		}
	default:
		return g, fmt.Errorf("auto_pad %q is not supported", ap)
	}
	return g, nil
}

func (g geometry) symmetric() bool {
	for i := range g.begin {
		if g.begin[i] != g.end[i] {
			return false
		}
	}
	return true
}

// torchPads lists pads as torch's F.pad wants them: last dimension first,
// (begin, end) pairs.
func (g geometry) torchPads() []int64 {
	var out []int64
	for i := len(g.begin) - 1; i >= 0; i-- {
		out = append(out, g.begin[i], g.end[i])
	}
	return out
}

// to2d lifts 1-d geometry to 2-d (height 1), the only rank the torch
// package's convolution and pooling take.
func (g geometry) to2d() geometry {
	if len(g.kernel) == 2 {
		return g
	}
	return geometry{
		kernel: []int64{1, g.kernel[0]}, strides: []int64{1, g.strides[0]}, dilations: []int64{1, g.dilations[0]},
		begin: []int64{0, g.begin[0]}, end: []int64{0, g.end[0]},
	}
}

func two(s []int64) [2]int64 { return [2]int64{s[0], s[1]} }

// spatialRank checks the input is 3-d or 4-d (1-d or 2-d spatial).
func spatialRank(shape []int64) (int, error) {
	switch len(shape) {
	case 3:
		return 1, nil
	case 4:
		return 2, nil
	}
	return 0, fmt.Errorf("input of rank %d: graft runs 1-d and 2-d convolution and pooling only", len(shape))
}

// lift reshapes a 1-d spatial input [N, C, L] to [N, C, 1, L].
func lift(x *torch.Tensor, r int) *torch.Tensor {
	if r == 2 {
		return x
	}
	s := x.Shape()
	return x.Reshape(s[0], s[1], 1, s[2])
}

// unlift drops the height of a lifted result.
func unlift(y *torch.Tensor, r int) *torch.Tensor {
	if r == 2 {
		return y
	}
	s := y.Shape()
	if s == nil {
		return y
	}
	return y.Reshape(s[0], s[1], s[3])
}

func opConv(e *env, n *cnode, in []value) ([]value, error) {
	x, w := e.tensor(in[0]), e.tensor(in[1])
	var b *torch.Tensor
	if v := inputAt(in, 2); v.ok() {
		b = e.tensor(v)
	}
	xs, ws := x.Shape(), w.Shape()
	if xs == nil || ws == nil {
		return one(torch.Failed(firstErr(x, w)))
	}
	r, err := spatialRank(xs)
	if err != nil {
		return nil, err
	}
	g, err := spatialGeometry(n, xs[2:], ws[2:])
	if err != nil {
		return nil, err
	}
	g = g.to2d()
	x, w = lift(x, r), lift(w, r)
	opts := torch.Conv2dOpts{Stride: two(g.strides), Dilation: two(g.dilations), Groups: n.attrI("group", 1)}
	if g.symmetric() {
		opts.Padding = two(g.begin)
	} else {
		x = x.Pad(g.torchPads(), 0)
	}
	return one(unlift(torch.Conv2d(x, w, b, opts), r))
}

func opConvTranspose(e *env, n *cnode, in []value) ([]value, error) {
	x, w := e.tensor(in[0]), e.tensor(in[1])
	var b *torch.Tensor
	if v := inputAt(in, 2); v.ok() {
		b = e.tensor(v)
	}
	xs, ws := x.Shape(), w.Shape()
	if xs == nil || ws == nil {
		return one(torch.Failed(firstErr(x, w)))
	}
	r, err := spatialRank(xs)
	if err != nil {
		return nil, err
	}
	ap := n.attrS("auto_pad", "NOTSET")
	g, err := spatialGeometry(n, xs[2:], ws[2:])
	if err != nil {
		return nil, err
	}
	outPad := make([]int64, r)
	if op, ok := n.attrInts("output_padding"); ok && len(op) == r {
		copy(outPad, op)
	}
	want, hasShape := n.attrInts("output_shape")
	if !hasShape && (ap == "SAME_UPPER" || ap == "SAME_LOWER") {
		want = make([]int64, r)
		for i := range want {
			want[i] = xs[2+i] * g.strides[i]
		}
		hasShape = true
	}
	if hasShape {
		if len(want) > r {
			want = want[len(want)-r:]
		}
		for i := 0; i < r; i++ {
			full := g.strides[i]*(xs[2+i]-1) + outPad[i] + (g.kernel[i]-1)*g.dilations[i] + 1
			total := full - want[i]
			if total < 0 {
				outPad[i] += -total
				total = 0
			}
			if ap == "SAME_UPPER" {
				g.begin[i], g.end[i] = total/2, total-total/2
			} else {
				g.begin[i], g.end[i] = total-total/2, total/2
			}
		}
	}
	g = g.to2d()
	op2 := outPad
	if r == 1 {
		op2 = []int64{0, outPad[0]}
	}
	x, w = lift(x, r), lift(w, r)
	opts := torch.Conv2dOpts{Stride: two(g.strides), Dilation: two(g.dilations), Groups: n.attrI("group", 1)}
	if g.symmetric() {
		opts.Padding = two(g.begin)
		return one(unlift(torch.ConvTranspose2d(x, w, b, opts, two(op2)), r))
	}
	// Asymmetric pads: compute the full output and crop it.
	y := torch.ConvTranspose2d(x, w, b, opts, two(op2))
	ys := y.Shape()
	if ys == nil {
		return one(y)
	}
	for i := 0; i < 2; i++ {
		y = y.Narrow(int64(2+i), g.begin[i], ys[2+i]-g.begin[i]-g.end[i])
	}
	return one(unlift(y, r))
}

func firstErr(ts ...*torch.Tensor) error {
	for _, t := range ts {
		if err := t.Err(); err != nil {
			return err
		}
	}
	return fmt.Errorf("bad input")
}

func opBatchNorm(e *env, n *cnode, in []value) ([]value, error) {
	x := e.tensor(in[0])
	if n.bn != nil && !e.graphTraining {
		bn := n.bn
		// nn.BatchNorm2d decides the mode: a frozen stage's BatchNorm
		// (set by nn.Model.SetTrainable through segment.Submodules) keeps
		// its statistics.
		return one(bn.Forward(x, e.train))
	}
	scale, bias, mean, vr := e.tensor(in[1]), e.tensor(in[2]), e.tensor(in[3]), e.tensor(in[4])
	eps := n.attrF("epsilon", 1e-5)
	training := e.train
	if e.graphTraining {
		training = n.attrI("training_mode", 0) == 1
	}
	if !training {
		return one(torch.BatchNorm(x, scale, bias, mean, vr, false, 0, eps))
	}
	y := torch.BatchNorm(x, scale, bias, nil, nil, true, 0, eps)
	outs := []value{{t: y}}
	if len(n.Outputs) > 1 {
		// ONNX's running statistics use the biased batch variance, unlike
		// PyTorch's update, so they are computed here.
		mom := n.attrF("momentum", 0.9)
		dims := []int64{0}
		for i := 2; i < len(x.Shape()); i++ {
			dims = append(dims, int64(i))
		}
		bm, bv := x.Mean(dims...), x.Var(dims...)
		outs = append(outs,
			value{t: mean.MulScalar(mom).Add(bm.MulScalar(1 - mom))},
			value{t: vr.MulScalar(mom).Add(bv.MulScalar(1 - mom))})
	}
	return outs, nil
}

func opInstanceNorm(e *env, n *cnode, in []value) ([]value, error) {
	x, scale, bias := e.tensor(in[0]), e.tensor(in[1]), e.tensor(in[2])
	s := x.Shape()
	if len(s) < 3 {
		return nil, fmt.Errorf("input of rank %d", len(s))
	}
	var dims []int64
	for i := 2; i < len(s); i++ {
		dims = append(dims, int64(i))
	}
	bshape := append([]int64{1, s[1]}, ones(len(s)-2)...)
	mean := x.MeanKeep(dims...)
	d := x.Sub(mean)
	v := d.Square().MeanKeep(dims...)
	y := d.Div(v.AddScalar(n.attrF("epsilon", 1e-5)).Sqrt())
	return one(y.Mul(scale.Reshape(bshape...)).Add(bias.Reshape(bshape...)))
}

func ones(k int) []int64 {
	s := make([]int64, k)
	for i := range s {
		s[i] = 1
	}
	return s
}

func opPool(e *env, n *cnode, in []value) ([]value, error) {
	x := e.tensor(in[0])
	xs := x.Shape()
	if xs == nil {
		return one(x)
	}
	r, err := spatialRank(xs)
	if err != nil {
		return nil, err
	}
	if _, ok := n.attrInts("kernel_shape"); !ok {
		return nil, fmt.Errorf("kernel_shape is required")
	}
	g, err := spatialGeometry(n, xs[2:], nil)
	if err != nil {
		return nil, err
	}
	if len(n.Outputs) > 1 && n.Outputs[1] != "" && e.graphTraining {
		return nil, fmt.Errorf("the Indices output of MaxPool is not supported")
	}
	g = g.to2d()
	x = lift(x, r)
	if !isFloatTensor(x) {
		// libtorch pools floats only; integers round-trip exactly through
		// float64 up to 2^53.
		dt := x.DType()
		y, err := opPool(e, n, []value{{t: x.To(torch.Float64, x.Device())}})
		if err != nil {
			return nil, err
		}
		return one(unlift(y[0].t, r).To(dt, x.Device()))
	}
	ceil := n.attrI("ceil_mode", 0) == 1
	o := torch.PoolOpts{Kernel: two(g.kernel), Stride: two(g.strides), Dilation: two(g.dilations), CeilMode: ceil}
	// libtorch pads symmetrically and at most half a kernel; anything else
	// is padded explicitly first.
	direct := g.symmetric() && g.begin[0]*2 <= g.kernel[0] && g.begin[1]*2 <= g.kernel[1]
	if n.OpType == "MaxPool" {
		if direct {
			o.Padding = two(g.begin)
			return one(unlift(torch.MaxPool2d(x, o), r))
		}
		return one(unlift(torch.MaxPool2d(x.Pad(g.torchPads(), math.Inf(-1)), o), r))
	}
	if g.dilations[0] != 1 || g.dilations[1] != 1 {
		return nil, fmt.Errorf("dilated average pooling is not supported")
	}
	o.Dilation = [2]int64{}
	includePad := n.attrI("count_include_pad", 0) == 1
	if direct {
		o.Padding, o.CountIncludePad = two(g.begin), includePad
		return one(unlift(torch.AvgPool2d(x, o), r))
	}
	sum := torch.AvgPool2d(x.Pad(g.torchPads(), 0), o)
	if includePad {
		return one(unlift(sum, r))
	}
	// Average over the real elements only: divide by the pooled share of
	// a padded all-ones image.
	s := x.Shape()
	mask := torch.Full([]int64{1, 1, s[2], s[3]}, 1, x.DType(), x.Device()).Pad(g.torchPads(), 0)
	return one(unlift(sum.Div(torch.AvgPool2d(mask, o)), r))
}

func opGlobalPool(e *env, n *cnode, in []value) ([]value, error) {
	x := e.tensor(in[0])
	s := x.Shape()
	if len(s) < 3 {
		return nil, fmt.Errorf("input of rank %d; global pooling wants [N, C, spatial…]", len(s))
	}
	var dims []int64
	for i := 2; i < len(s); i++ {
		dims = append(dims, int64(i))
	}
	if n.OpType == "GlobalMaxPool" {
		return one(x.AmaxKeep(dims...))
	}
	return one(x.MeanKeep(dims...))
}

func opGemm(e *env, n *cnode, in []value) ([]value, error) {
	a, b := e.tensor(in[0]), e.tensor(in[1])
	transA, transB := n.attrI("transA", 0) == 1, n.attrI("transB", 0) == 1
	alpha, beta := n.attrF("alpha", 1), n.attrF("beta", 1)
	c := inputAt(in, 2)
	if !transA && transB && alpha == 1 && (!c.ok() || (beta == 1 && len(c.shape()) == 1)) {
		// The Linear layer's form: one fused kernel.
		var bias *torch.Tensor
		if c.ok() {
			bias = e.tensor(c)
		}
		return one(torch.Linear(a, b, bias))
	}
	if transA {
		a = a.Permute(1, 0)
	}
	if transB {
		b = b.Permute(1, 0)
	}
	y := a.Matmul(b)
	if alpha != 1 {
		y = y.MulScalar(alpha)
	}
	if c.ok() && beta != 0 {
		ct := e.tensor(c)
		if beta != 1 {
			ct = ct.MulScalar(beta)
		}
		y = y.Add(ct)
	}
	return one(y)
}

func opMatMul(e *env, n *cnode, in []value) ([]value, error) {
	return one(e.tensor(in[0]).Matmul(e.tensor(in[1])))
}

// reduceAxes reads a reduction's axes (attribute, or input from opset 18
// and for ReduceSum from 13) normalised and sorted.
func reduceAxes(n *cnode, in []value, rank int, opset int64) ([]int64, bool, error) {
	var axes []int64
	var given bool
	if (n.OpType == "ReduceSum" && opset >= 13) || opset >= 18 {
		if v := inputAt(in, 1); v.ok() {
			var err error
			if axes, err = intsOf(v); err != nil {
				return nil, false, err
			}
			given = len(axes) > 0
		}
	} else {
		axes, given = n.attrInts("axes")
	}
	if !given || len(axes) == 0 {
		if n.attrI("noop_with_empty_axes", 0) == 1 {
			return nil, true, nil
		}
		axes = make([]int64, rank)
		for i := range axes {
			axes[i] = int64(i)
		}
	}
	for i, a := range axes {
		na, err := normAxis(a, rank)
		if err != nil {
			return nil, false, err
		}
		axes[i] = na
	}
	return axes, false, nil
}

// opReduce implements every Reduce* operator: they share axis handling and
// keepdims, and differ only in the reduction.
func opReduce(e *env, n *cnode, in []value) ([]value, error) {
	x := e.tensor(in[0])
	s := x.Shape()
	if s == nil {
		return one(x)
	}
	axes, noop, err := reduceAxes(n, in, len(s), e.p.opset)
	if err != nil {
		return nil, err
	}
	if noop {
		return one(x.Alias())
	}
	var y *torch.Tensor
	switch n.OpType {
	case "ReduceMean":
		y = x.Mean(axes...)
	case "ReduceSum":
		y = x.Sum(axes...)
	case "ReduceMax":
		y = x.Amax(axes...)
	case "ReduceMin":
		y = x.Amin(axes...)
	case "ReduceL1":
		y = x.Abs().Sum(axes...)
	case "ReduceL2":
		y = x.Square().Sum(axes...).Sqrt()
	case "ReduceSumSquare":
		y = x.Square().Sum(axes...)
	case "ReduceLogSum":
		y = x.Sum(axes...).Log()
	case "ReduceLogSumExp":
		// Shift by the maximum so exp cannot overflow.
		m := x.Amax(axes...)
		y = x.Sub(m.Reshape(keptShape(s, axes)...)).Exp().Sum(axes...).Log().Add(m)
	default:
		return nil, fmt.Errorf("unknown reduction %s", n.OpType)
	}
	if n.attrI("keepdims", 1) == 1 {
		y = y.Reshape(keptShape(s, axes)...)
	}
	return one(y)
}

// keptShape is shape s with the reduced axes kept as size 1.
func keptShape(s, axes []int64) []int64 {
	ks := append([]int64{}, s...)
	for _, a := range axes {
		ks[a] = 1
	}
	return ks
}

func opArgMax(e *env, n *cnode, in []value) ([]value, error) {
	x := e.tensor(in[0])
	s := x.Shape()
	axis, err := normAxis(n.attrI("axis", 0), len(s))
	if err != nil {
		return nil, err
	}
	var y *torch.Tensor
	if n.attrI("select_last_index", 0) == 1 {
		// The last maximum is the first one of the reversed axis.
		rev := make([]int64, s[axis])
		for i := range rev {
			rev[i] = s[axis] - 1 - int64(i)
		}
		it := torch.FromInt64(rev, s[axis])
		if x.Device() != torch.CPU {
			it = convert(it, -1, x.Device())
		}
		y = x.IndexSelect(axis, it).Argmax(axis).Neg().AddScalar(float64(s[axis] - 1))
		it.Free()
	} else {
		y = x.Argmax(axis)
	}
	if n.attrI("keepdims", 1) == 1 {
		ks := append([]int64{}, s...)
		ks[axis] = 1
		y = y.Reshape(ks...)
	}
	return one(y)
}

// constOfValue reads a value into Go memory.
func constOfValue(v value) (*Const, error) {
	if v.c != nil {
		return v.c, nil
	}
	return constOf(v.t)
}
