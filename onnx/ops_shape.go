package onnx

import (
	"fmt"
	"math"

	"github.com/graftml/graft/torch"
)

// maxGoElems bounds the constants computed in Go; bigger ones go through
// libtorch. Shape arithmetic is a handful of integers.
const maxGoElems = 1 << 16

func opFlatten(e *env, n *cnode, in []value) ([]value, error) {
	s := in[0].shape()
	axis := n.attrI("axis", 1)
	if axis < 0 {
		axis += int64(len(s))
	}
	if axis < 0 || axis > int64(len(s)) {
		return nil, fmt.Errorf("axis %d out of range for rank %d", n.attrI("axis", 1), len(s))
	}
	dims := []int64{numel(s[:axis]), numel(s[axis:])}
	return reshaped(e, in[0], dims)
}

// reshaped gives v new dimensions (which must hold the same count).
func reshaped(e *env, v value, dims []int64) ([]value, error) {
	if v.c != nil {
		if numel(dims) != v.c.numel() {
			return nil, fmt.Errorf("cannot reshape %v to %v", v.c.Dims, dims)
		}
		c := *v.c
		c.Dims, c.static = dims, false
		return oneC(&c, nil)
	}
	return one(v.t.Reshape(dims...))
}

func opReshape(e *env, n *cnode, in []value) ([]value, error) {
	shape, err := intsOf(in[1])
	if err != nil {
		return nil, fmt.Errorf("shape: %w", err)
	}
	src := in[0].shape()
	target := append([]int64{}, shape...)
	infer := -1
	for i, d := range target {
		switch {
		case d == 0 && n.attrI("allowzero", 0) == 0:
			if i >= len(src) {
				return nil, fmt.Errorf("shape %v copies dimension %d of a rank-%d input", shape, i, len(src))
			}
			target[i] = src[i]
		case d == -1:
			if infer >= 0 {
				return nil, fmt.Errorf("shape %v has two -1 dimensions", shape)
			}
			infer = i
		case d < -1:
			return nil, fmt.Errorf("shape %v has a negative dimension", shape)
		}
	}
	if infer >= 0 {
		rest := int64(1)
		for i, d := range target {
			if i != infer {
				rest *= d
			}
		}
		if rest == 0 || numel(src)%rest != 0 {
			return nil, fmt.Errorf("cannot reshape %v to %v", src, shape)
		}
		target[infer] = numel(src) / rest
	}
	if numel(target) != numel(src) {
		return nil, fmt.Errorf("cannot reshape %v (%d elements) to %v", src, numel(src), shape)
	}
	return reshaped(e, in[0], target)
}

// axesOf reads axes from the attribute (before opset 13) or the second
// input.
func axesOf(e *env, n *cnode, in []value) ([]int64, error) {
	if e.p.opset < 13 {
		a, _ := n.attrInts("axes")
		return a, nil
	}
	if v := inputAt(in, 1); v.ok() {
		return intsOf(v)
	}
	return nil, nil
}

func opSqueeze(e *env, n *cnode, in []value) ([]value, error) {
	axes, err := axesOf(e, n, in)
	if err != nil {
		return nil, err
	}
	s := in[0].shape()
	drop := map[int64]bool{}
	for _, a := range axes {
		na, err := normAxis(a, len(s))
		if err != nil {
			return nil, err
		}
		if s[na] != 1 {
			return nil, fmt.Errorf("cannot squeeze dimension %d of size %d", a, s[na])
		}
		drop[na] = true
	}
	dims := []int64{}
	for i, d := range s {
		if (len(axes) == 0 && d == 1) || drop[int64(i)] {
			continue
		}
		dims = append(dims, d)
	}
	return reshaped(e, in[0], dims)
}

func opUnsqueeze(e *env, n *cnode, in []value) ([]value, error) {
	axes, err := axesOf(e, n, in)
	if err != nil {
		return nil, err
	}
	s := in[0].shape()
	rank := len(s) + len(axes)
	ins := make([]bool, rank)
	for _, a := range axes {
		na, err := normAxis(a, rank)
		if err != nil {
			return nil, err
		}
		if ins[na] {
			return nil, fmt.Errorf("axis %d repeated", a)
		}
		ins[na] = true
	}
	dims := make([]int64, 0, rank)
	j := 0
	for i := 0; i < rank; i++ {
		if ins[i] {
			dims = append(dims, 1)
		} else {
			dims = append(dims, s[j])
			j++
		}
	}
	return reshaped(e, in[0], dims)
}

func opTranspose(e *env, n *cnode, in []value) ([]value, error) {
	s := in[0].shape()
	perm, ok := n.attrInts("perm")
	if !ok || len(perm) == 0 {
		perm = make([]int64, len(s))
		for i := range perm {
			perm[i] = int64(len(s) - 1 - i)
		}
	}
	if len(perm) != len(s) {
		return nil, fmt.Errorf("perm %v for rank %d", perm, len(s))
	}
	if c := in[0].c; c != nil && c.numel() <= maxGoElems {
		return oneC(constTranspose(c, perm))
	}
	return one(e.tensor(in[0]).Permute(perm...))
}

func opConcat(e *env, n *cnode, in []value) ([]value, error) {
	var vs []value
	allConst := true
	for _, v := range in {
		if !v.ok() {
			continue
		}
		// Empty inputs (a 0-length shape piece) contribute nothing.
		if v.c != nil && v.c.numel() == 0 && len(in) > 1 {
			continue
		}
		vs = append(vs, v)
		if v.c == nil || v.c.numel() > maxGoElems {
			allConst = false
		}
	}
	if len(vs) == 0 {
		return []value{in[0]}, nil
	}
	rank := len(vs[0].shape())
	axis, err := normAxis(n.attrI("axis", 0), rank)
	if err != nil {
		return nil, err
	}
	if allConst {
		cs := make([]*Const, len(vs))
		for i, v := range vs {
			cs[i] = v.c
		}
		return oneC(constConcat(cs, axis))
	}
	ts := make([]*torch.Tensor, len(vs))
	for i, v := range vs {
		ts[i] = e.tensor(v)
	}
	return one(torch.Cat(ts, axis))
}

func opSplit(e *env, n *cnode, in []value) ([]value, error) {
	x := e.tensor(in[0])
	s := x.Shape()
	axis, err := normAxis(n.attrI("axis", 0), len(s))
	if err != nil {
		return nil, err
	}
	var split []int64
	if e.p.opset < 13 {
		split, _ = n.attrInts("split")
	} else if v := inputAt(in, 1); v.ok() {
		if split, err = intsOf(v); err != nil {
			return nil, err
		}
	}
	k := int64(len(n.Outputs))
	if len(split) == 0 {
		if no := n.attrI("num_outputs", 0); no > 0 {
			k = no
		}
		size := (s[axis] + k - 1) / k
		for rest := s[axis]; rest > 0; rest -= size {
			split = append(split, min(size, rest))
		}
	}
	var outs []value
	var off int64
	for _, l := range split {
		outs = append(outs, value{t: x.Narrow(axis, off, l)})
		off += l
	}
	if off != s[axis] {
		return nil, fmt.Errorf("split %v does not add up to dimension %d of size %d", split, axis, s[axis])
	}
	return outs, nil
}

// sliceIndices lists the positions Slice selects along one dimension, with
// ONNX's clamping rules.
func sliceIndices(start, end, step, dim int64) []int64 {
	if start < 0 {
		start += dim
	}
	if end < 0 {
		end += dim
	}
	clamp := func(v, lo, hi int64) int64 { return max(lo, min(v, hi)) }
	out := []int64{} // empty, not nil: nil means "the whole dimension" to callers
	if step > 0 {
		start, end = clamp(start, 0, dim), clamp(end, 0, dim)
		for i := start; i < end; i += step {
			out = append(out, i)
		}
	} else {
		start, end = clamp(start, 0, dim-1), clamp(end, -1, dim-1)
		for i := start; i > end; i += step {
			out = append(out, i)
		}
	}
	return out
}

func opSlice(e *env, n *cnode, in []value) ([]value, error) {
	s := in[0].shape()
	var starts, ends, axes, steps []int64
	var err error
	if e.p.opset < 10 {
		starts, _ = n.attrInts("starts")
		ends, _ = n.attrInts("ends")
		axes, _ = n.attrInts("axes")
	} else {
		get := func(i int) []int64 {
			if err != nil {
				return nil
			}
			v := inputAt(in, i)
			if !v.ok() {
				return nil
			}
			var xs []int64
			xs, err = intsOf(v)
			return xs
		}
		starts, ends, axes, steps = get(1), get(2), get(3), get(4)
		if err != nil {
			return nil, err
		}
	}
	if len(starts) != len(ends) {
		return nil, fmt.Errorf("%d starts but %d ends", len(starts), len(ends))
	}
	if len(axes) == 0 {
		for i := range starts {
			axes = append(axes, int64(i))
		}
	}
	if len(steps) == 0 {
		steps = ones(len(starts))
	}
	if len(axes) != len(starts) || len(steps) != len(starts) {
		return nil, fmt.Errorf("starts, ends, axes and steps differ in length")
	}
	idx := make([][]int64, len(s)) // nil: the whole dimension
	for i, a := range axes {
		na, err := normAxis(a, len(s))
		if err != nil {
			return nil, err
		}
		if steps[i] == 0 {
			return nil, fmt.Errorf("step 0")
		}
		idx[na] = sliceIndices(starts[i], ends[i], steps[i], s[na])
	}
	if c := in[0].c; c != nil && c.numel() <= maxGoElems {
		return oneC(constSelect(c, idx), nil)
	}
	x := e.tensor(in[0])
	for d, ix := range idx {
		if ix == nil {
			continue
		}
		if contiguousRun(ix) {
			start := int64(0)
			if len(ix) > 0 {
				start = ix[0]
			}
			x = x.Narrow(int64(d), start, int64(len(ix)))
			continue
		}
		it := torch.FromInt64(ix, int64(len(ix)))
		if x.Device() != torch.CPU {
			it = convert(it, -1, x.Device())
		}
		x = x.IndexSelect(int64(d), it)
		it.Free()
	}
	return one(x)
}

func contiguousRun(ix []int64) bool {
	for i := 1; i < len(ix); i++ {
		if ix[i] != ix[i-1]+1 {
			return false
		}
	}
	return true
}

func opGather(e *env, n *cnode, in []value) ([]value, error) {
	s := in[0].shape()
	axis, err := normAxis(n.attrI("axis", 0), len(s))
	if err != nil {
		return nil, err
	}
	ic, err := constOfValue(in[1])
	if err != nil {
		return nil, fmt.Errorf("indices: %w", err)
	}
	idx := append([]int64{}, ic.ints()...)
	for i, v := range idx {
		if v < 0 {
			idx[i] = v + s[axis]
		}
		if idx[i] < 0 || idx[i] >= s[axis] {
			return nil, fmt.Errorf("index %d out of range for dimension %d of size %d", v, axis, s[axis])
		}
	}
	outDims := append(append(append([]int64{}, s[:axis]...), ic.Dims...), s[axis+1:]...)
	if c := in[0].c; c != nil && c.numel() <= maxGoElems {
		sel := make([][]int64, len(s))
		sel[axis] = idx
		g := constSelect(c, sel)
		g.Dims = outDims
		return oneC(g, nil)
	}
	x := e.tensor(in[0])
	it := torch.FromInt64(idx, int64(len(idx)))
	if x.Device() != torch.CPU {
		it = convert(it, -1, x.Device())
	}
	y := x.IndexSelect(axis, it)
	it.Free()
	return one(y.Reshape(outDims...))
}

func opShape(e *env, n *cnode, in []value) ([]value, error) {
	s := in[0].shape()
	if s == nil && in[0].t != nil {
		return nil, in[0].t.Err()
	}
	start, end := n.attrI("start", 0), n.attrI("end", int64(len(s)))
	r := int64(len(s))
	if start < 0 {
		start += r
	}
	if end < 0 {
		end += r
	}
	start, end = max(0, min(start, r)), max(0, min(end, r))
	if end < start {
		end = start
	}
	dims := append([]int64{}, s[start:end]...)
	return oneC(&Const{Type: tInt64, Dims: []int64{int64(len(dims))}, I: dims}, nil)
}

func opSize(e *env, n *cnode, in []value) ([]value, error) {
	return oneC(&Const{Type: tInt64, Dims: []int64{}, I: []int64{numel(in[0].shape())}}, nil)
}

func opCast(e *env, n *cnode, in []value) ([]value, error) {
	to := int32(n.attrI("to", 0))
	dt, err := torchType(to)
	if err != nil {
		return nil, err
	}
	if c := in[0].c; c != nil {
		return oneC(constCast(c, to), nil)
	}
	return one(in[0].t.To(dt, in[0].t.Device()))
}

func constCast(c *Const, to int32) *Const {
	out := &Const{Type: to, Dims: c.Dims}
	tmp := &Const{Type: to}
	switch {
	case tmp.isFloat():
		out.F = append([]float64{}, c.floats()...)
		if to == tFloat {
			for i, v := range out.F {
				out.F[i] = float64(float32(v))
			}
		}
	case to == tBool:
		out.I = make([]int64, c.numel())
		for i, v := range c.floats() {
			if v != 0 {
				out.I[i] = 1
			}
		}
	default:
		out.I = append([]int64{}, c.ints()...)
	}
	return out
}

func opConstant(e *env, n *cnode, in []value) ([]value, error) {
	for name, a := range n.Attrs {
		switch name {
		case "value":
			if a.T == nil {
				return nil, fmt.Errorf("value attribute has no tensor")
			}
			return oneC(a.T.Const(e.p.m.Dir))
		case "value_float":
			return oneC(&Const{Type: tFloat, Dims: []int64{}, F: []float64{float64(a.F)}}, nil)
		case "value_floats":
			f := make([]float64, len(a.Floats))
			for i, v := range a.Floats {
				f[i] = float64(v)
			}
			return oneC(&Const{Type: tFloat, Dims: []int64{int64(len(f))}, F: f}, nil)
		case "value_int":
			return oneC(&Const{Type: tInt64, Dims: []int64{}, I: []int64{a.I}}, nil)
		case "value_ints":
			return oneC(&Const{Type: tInt64, Dims: []int64{int64(len(a.Ints))}, I: append([]int64{}, a.Ints...)}, nil)
		case "sparse_value", "value_string", "value_strings":
			return nil, fmt.Errorf("constant attribute %s is not supported", name)
		}
	}
	return nil, fmt.Errorf("no value attribute")
}

func opConstantOfShape(e *env, n *cnode, in []value) ([]value, error) {
	dims, err := intsOf(in[0])
	if err != nil {
		return nil, err
	}
	fill := &Const{Type: tFloat, F: []float64{0}}
	if a, ok := n.Attrs["value"]; ok && a.T != nil {
		if fill, err = a.T.Const(e.p.m.Dir); err != nil {
			return nil, err
		}
	}
	c := &Const{Type: fill.Type, Dims: append([]int64{}, dims...)}
	k := numel(dims)
	if k > maxGoElems {
		dt, err := torchType(fill.Type)
		if err != nil {
			return nil, err
		}
		return one(torch.Full(dims, fill.floats()[0], dt, e.dev))
	}
	if fill.isFloat() {
		c.F = make([]float64, k)
		for i := range c.F {
			c.F[i] = fill.F[0]
		}
	} else {
		c.I = make([]int64, k)
		for i := range c.I {
			c.I[i] = fill.I[0]
		}
	}
	return oneC(c, nil)
}

func opRange(e *env, n *cnode, in []value) ([]value, error) {
	var f [3]float64
	for i := range f {
		v, err := floatOf(in[i])
		if err != nil {
			return nil, err
		}
		f[i] = v
	}
	if f[2] == 0 {
		return nil, fmt.Errorf("delta 0")
	}
	k := int64(max(0, math.Ceil((f[1]-f[0])/f[2])))
	typ := int32(tFloat)
	if in[0].c != nil {
		typ = in[0].c.Type
	}
	c := &Const{Type: typ, Dims: []int64{k}}
	if c.isFloat() {
		c.F = make([]float64, k)
		for i := range c.F {
			c.F[i] = f[0] + float64(i)*f[2]
		}
	} else {
		c.I = make([]int64, k)
		for i := range c.I {
			c.I[i] = int64(f[0]) + int64(i)*int64(f[2])
		}
	}
	return oneC(c, nil)
}

func opExpand(e *env, n *cnode, in []value) ([]value, error) {
	shape, err := intsOf(in[1])
	if err != nil {
		return nil, err
	}
	s := in[0].shape()
	out, err := broadcastDims(s, shape)
	if err != nil {
		return nil, err
	}
	x := e.tensor(in[0])
	return one(x.Add(torch.Full(out, 0, x.DType(), x.Device())))
}

func opPad(e *env, n *cnode, in []value) ([]value, error) {
	x := e.tensor(in[0])
	s := x.Shape()
	mode := n.attrS("mode", "constant")
	var pads []int64
	fill := 0.0
	var err error
	if e.p.opset < 11 {
		pads, _ = n.attrInts("pads")
		if len(pads) == 0 {
			pads, _ = n.attrInts("paddings")
		}
		fill = n.attrF("value", 0)
	} else {
		if pads, err = intsOf(in[1]); err != nil {
			return nil, fmt.Errorf("pads: %w", err)
		}
		if v := inputAt(in, 2); v.ok() && v.shape() != nil && numel(v.shape()) > 0 {
			if fill, err = floatOf(v); err != nil {
				return nil, fmt.Errorf("constant_value: %w", err)
			}
		}
		if v := inputAt(in, 3); v.ok() {
			axes, err := intsOf(v)
			if err != nil {
				return nil, err
			}
			full := make([]int64, 2*len(s))
			for i, a := range axes {
				na, err := normAxis(a, len(s))
				if err != nil {
					return nil, err
				}
				full[na], full[int(na)+len(s)] = pads[i], pads[i+len(axes)]
			}
			pads = full
		}
	}
	if len(pads) != 2*len(s) {
		return nil, fmt.Errorf("pads %v for rank %d", pads, len(s))
	}
	r := len(s)
	switch mode {
	case "constant":
		tp := make([]int64, 0, 2*r)
		for i := r - 1; i >= 0; i-- {
			tp = append(tp, pads[i], pads[i+r])
		}
		return one(x.Pad(tp, fill))
	case "edge", "reflect", "wrap":
		// Gather the border rows: an index_select per padded dimension.
		for d := 0; d < r; d++ {
			b, en := pads[d], pads[d+r]
			if b == 0 && en == 0 {
				continue
			}
			dim := s[d]
			var idx []int64
			for i := -b; i < dim+en; i++ {
				j := i
				switch mode {
				case "edge":
					j = max(0, min(i, dim-1))
				case "reflect":
					if dim == 1 {
						j = 0
						break
					}
					period := 2 * (dim - 1)
					j = ((i % period) + period) % period
					if j >= dim {
						j = period - j
					}
				case "wrap":
					j = ((i % dim) + dim) % dim
				}
				idx = append(idx, j)
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
	return nil, fmt.Errorf("pad mode %q is not supported", mode)
}

// ---- Go-side constant arithmetic ----

func broadcastDims(a, b []int64) ([]int64, error) {
	r := max(len(a), len(b))
	out := make([]int64, r)
	for i := 0; i < r; i++ {
		da, db := int64(1), int64(1)
		if j := i - (r - len(a)); j >= 0 {
			da = a[j]
		}
		if j := i - (r - len(b)); j >= 0 {
			db = b[j]
		}
		switch {
		case da == db, db == 1:
			out[i] = da
		case da == 1:
			out[i] = db
		default:
			return nil, fmt.Errorf("shapes %v and %v do not broadcast", a, b)
		}
	}
	return out, nil
}

// broadcastIndex maps each element of out (row-major) to the element of
// an input of dims it reads.
func broadcastIndex(out, dims []int64) []int {
	n := numel(out)
	idx := make([]int, n)
	r := len(out)
	strides := make([]int64, r)
	st := int64(1)
	for i := len(dims) - 1; i >= 0; i-- {
		o := i + r - len(dims)
		if dims[i] != 1 {
			strides[o] = st
		}
		st *= dims[i]
	}
	pos := make([]int64, r)
	for k := int64(0); k < n; k++ {
		var off int64
		for i := 0; i < r; i++ {
			off += pos[i] * strides[i]
		}
		idx[k] = int(off)
		for i := r - 1; i >= 0; i-- {
			pos[i]++
			if pos[i] < out[i] {
				break
			}
			pos[i] = 0
		}
	}
	return idx
}

func constBinary(op string, a, b *Const) (*Const, error) {
	dims, err := broadcastDims(a.Dims, b.Dims)
	if err != nil {
		return nil, err
	}
	ia, ib := broadcastIndex(dims, a.Dims), broadcastIndex(dims, b.Dims)
	out := &Const{Type: a.Type, Dims: dims}
	cmp := op == "Equal" || op == "Greater" || op == "Less"
	if cmp {
		out.Type = tBool
	}
	if a.isFloat() || b.isFloat() {
		if !a.isFloat() {
			out.Type = b.Type
		}
		fa, fb := a.floats(), b.floats()
		res := make([]float64, len(ia))
		for k := range ia {
			x, y := fa[ia[k]], fb[ib[k]]
			switch op {
			case "Add":
				res[k] = x + y
			case "Sub":
				res[k] = x - y
			case "Mul":
				res[k] = x * y
			case "Div":
				res[k] = x / y
			case "Pow":
				res[k] = math.Pow(x, y)
			case "Max":
				res[k] = math.Max(x, y)
			case "Min":
				res[k] = math.Min(x, y)
			case "Equal":
				res[k] = b2f(x == y)
			case "Greater":
				res[k] = b2f(x > y)
			case "Less":
				res[k] = b2f(x < y)
			default:
				return nil, fmt.Errorf("unknown operator %s", op)
			}
		}
		if cmp {
			out.I = make([]int64, len(res))
			for i, v := range res {
				out.I[i] = int64(v)
			}
			return out, nil
		}
		if out.Type == tFloat {
			for i, v := range res {
				res[i] = float64(float32(v))
			}
		}
		out.F = res
		return out, nil
	}
	xa, xb := a.I, b.I
	res := make([]int64, len(ia))
	for k := range ia {
		x, y := xa[ia[k]], xb[ib[k]]
		switch op {
		case "Add":
			res[k] = x + y
		case "Sub":
			res[k] = x - y
		case "Mul":
			res[k] = x * y
		case "Div":
			if y == 0 {
				return nil, fmt.Errorf("integer division by zero")
			}
			res[k] = x / y
		case "Pow":
			res[k] = int64(math.Pow(float64(x), float64(y)))
		case "Max":
			res[k] = max(x, y)
		case "Min":
			res[k] = min(x, y)
		case "Equal":
			res[k] = b2i(x == y)
		case "Greater":
			res[k] = b2i(x > y)
		case "Less":
			res[k] = b2i(x < y)
		default:
			return nil, fmt.Errorf("unknown operator %s", op)
		}
	}
	out.I = res
	return out, nil
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func constWhere(cond, a, b *Const) (*Const, error) {
	d1, err := broadcastDims(cond.Dims, a.Dims)
	if err != nil {
		return nil, err
	}
	dims, err := broadcastDims(d1, b.Dims)
	if err != nil {
		return nil, err
	}
	ic, ia, ib := broadcastIndex(dims, cond.Dims), broadcastIndex(dims, a.Dims), broadcastIndex(dims, b.Dims)
	cv := cond.floats()
	out := &Const{Type: a.Type, Dims: dims}
	if a.isFloat() {
		fa, fb := a.floats(), b.floats()
		out.F = make([]float64, len(ic))
		for k := range ic {
			if cv[ic[k]] != 0 {
				out.F[k] = fa[ia[k]]
			} else {
				out.F[k] = fb[ib[k]]
			}
		}
		return out, nil
	}
	xa, xb := a.ints(), b.ints()
	out.I = make([]int64, len(ic))
	for k := range ic {
		if cv[ic[k]] != 0 {
			out.I[k] = xa[ia[k]]
		} else {
			out.I[k] = xb[ib[k]]
		}
	}
	return out, nil
}

// constSelect picks idx[d] along each dimension d (nil keeps it whole).
func constSelect(c *Const, idx [][]int64) *Const {
	r := len(c.Dims)
	sel := make([][]int64, r)
	dims := make([]int64, r)
	for d := 0; d < r; d++ {
		if idx[d] == nil {
			sel[d] = make([]int64, c.Dims[d])
			for i := range sel[d] {
				sel[d][i] = int64(i)
			}
		} else {
			sel[d] = idx[d]
		}
		dims[d] = int64(len(sel[d]))
	}
	strides := make([]int64, r)
	st := int64(1)
	for d := r - 1; d >= 0; d-- {
		strides[d] = st
		st *= c.Dims[d]
	}
	out := &Const{Type: c.Type, Dims: dims}
	n := numel(dims)
	src := make([]int, 0, n)
	pos := make([]int, r)
	for k := int64(0); k < n; k++ {
		var off int64
		for d := 0; d < r; d++ {
			off += sel[d][pos[d]] * strides[d]
		}
		src = append(src, int(off))
		for d := r - 1; d >= 0; d-- {
			pos[d]++
			if int64(pos[d]) < dims[d] {
				break
			}
			pos[d] = 0
		}
	}
	if c.isFloat() {
		out.F = make([]float64, len(src))
		for i, s := range src {
			out.F[i] = c.F[s]
		}
	} else {
		out.I = make([]int64, len(src))
		for i, s := range src {
			out.I[i] = c.I[s]
		}
	}
	return out
}

func constTranspose(c *Const, perm []int64) (*Const, error) {
	r := len(c.Dims)
	dims := make([]int64, r)
	for i, p := range perm {
		if p < 0 || int(p) >= r {
			return nil, fmt.Errorf("perm %v", perm)
		}
		dims[i] = c.Dims[p]
	}
	strides := make([]int64, r)
	st := int64(1)
	for d := r - 1; d >= 0; d-- {
		strides[d] = st
		st *= c.Dims[d]
	}
	out := &Const{Type: c.Type, Dims: dims}
	n := numel(dims)
	pos := make([]int64, r)
	src := make([]int, n)
	for k := int64(0); k < n; k++ {
		var off int64
		for i := 0; i < r; i++ {
			off += pos[i] * strides[perm[i]]
		}
		src[k] = int(off)
		for i := r - 1; i >= 0; i-- {
			pos[i]++
			if pos[i] < dims[i] {
				break
			}
			pos[i] = 0
		}
	}
	if c.isFloat() {
		out.F = make([]float64, n)
		for i, s := range src {
			out.F[i] = c.F[s]
		}
	} else {
		out.I = make([]int64, n)
		for i, s := range src {
			out.I[i] = c.I[s]
		}
	}
	return out, nil
}

func constConcat(cs []*Const, axis int64) (*Const, error) {
	base := cs[0].Dims
	dims := append([]int64{}, base...)
	dims[axis] = 0
	isF := false
	for _, c := range cs {
		if len(c.Dims) != len(base) {
			return nil, fmt.Errorf("concatenating ranks %d and %d", len(base), len(c.Dims))
		}
		for i := range base {
			if int64(i) != axis && c.Dims[i] != base[i] {
				return nil, fmt.Errorf("concatenating shapes %v and %v along %d", base, c.Dims, axis)
			}
		}
		dims[axis] += c.Dims[axis]
		isF = isF || c.isFloat()
	}
	outer := numel(base[:axis])
	out := &Const{Type: cs[0].Type, Dims: dims}
	for o := int64(0); o < outer; o++ {
		for _, c := range cs {
			inner := numel(c.Dims[axis:])
			if isF {
				out.F = append(out.F, c.floats()[o*inner:(o+1)*inner]...)
			} else {
				out.I = append(out.I, c.I[o*inner:(o+1)*inner]...)
			}
		}
	}
	if isF && !out.isFloat() {
		out.Type = tFloat
	}
	return out, nil
}
