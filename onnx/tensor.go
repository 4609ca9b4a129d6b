package onnx

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/graftml/graft/torch"
)

// Const is a tensor held in Go memory: initializers, Constant nodes and
// the small integer tensors of shape arithmetic, which run in Go rather
// than as libtorch calls. Floating-point types keep F (float64 so that
// double inputs survive), every integer type and bool keep I.
type Const struct {
	Type int32 // ONNX element type
	Dims []int64
	F    []float64
	I    []int64
	// static marks the program's folded constants, converted to tensors
	// once and cached rather than per use.
	static bool
}

func (c *Const) isFloat() bool {
	switch c.Type {
	case tFloat, tDouble, tFloat16, tBFloat16:
		return true
	}
	return false
}

func (c *Const) numel() int64 { return numel(c.Dims) }

func numel(dims []int64) int64 {
	n := int64(1)
	for _, d := range dims {
		n *= d
	}
	return n
}

// checkedNumel is numel for dims read from a file (never negative):
// false when the count overflows an int64.
func checkedNumel(dims []int64) (int64, bool) {
	if slices.Contains(dims, 0) {
		return 0, true
	}
	n := int64(1)
	for _, d := range dims {
		if d > math.MaxInt64/n {
			return 0, false
		}
		n *= d
	}
	return n, true
}

// ints returns the values as integers (floats truncated).
func (c *Const) ints() []int64 {
	if c.I != nil || !c.isFloat() {
		return c.I
	}
	out := make([]int64, len(c.F))
	for i, f := range c.F {
		out[i] = int64(f)
	}
	return out
}

// floats returns the values as float64.
func (c *Const) floats() []float64 {
	if c.isFloat() {
		return c.F
	}
	out := make([]float64, len(c.I))
	for i, v := range c.I {
		out[i] = float64(v)
	}
	return out
}

// scalar is the single value of a one-element constant.
func (c *Const) scalar() (float64, error) {
	if c.numel() != 1 {
		return 0, fmt.Errorf("expected a single value, got shape %v", c.Dims)
	}
	return c.floats()[0], nil
}

// torchType is the libtorch dtype a tensor of ONNX type t is computed in.
// Integer widths graft's torch package lacks widen to int64.
func torchType(t int32) (torch.DType, error) {
	switch t {
	case tFloat:
		return torch.Float32, nil
	case tDouble:
		return torch.Float64, nil
	case tFloat16:
		return torch.Float16, nil
	case tBFloat16:
		return torch.BFloat16, nil
	case tInt32:
		return torch.Int32, nil
	case tUint8:
		return torch.Uint8, nil
	case tBool:
		return torch.Bool, nil
	case tInt8, tInt16, tUint16, tUint32, tUint64, tInt64:
		return torch.Int64, nil
	}
	return 0, fmt.Errorf("element type %s is not supported", elemTypeName(t))
}

// onnxType maps a libtorch dtype back to an ONNX element type.
func onnxType(d torch.DType) int32 {
	switch d {
	case torch.Float32:
		return tFloat
	case torch.Float64:
		return tDouble
	case torch.Float16:
		return tFloat16
	case torch.BFloat16:
		return tBFloat16
	case torch.Int32:
		return tInt32
	case torch.Uint8:
		return tUint8
	case torch.Bool:
		return tBool
	}
	return tInt64
}

// tensor converts c to a new libtorch tensor on dev that the caller owns.
func (c *Const) tensor(dev torch.Device) *torch.Tensor {
	dt, err := torchType(c.Type)
	if err != nil {
		return torch.Failed(err)
	}
	var t *torch.Tensor
	if c.Type == tDouble {
		t = float64Tensor(c.F, c.Dims)
	} else if c.isFloat() {
		f := make([]float32, len(c.F))
		for i, v := range c.F {
			f[i] = float32(v)
		}
		// torch has no float64 constructor: doubles pass through float32
		// and keep its precision.
		t = torch.FromFloat32(f, c.Dims...)
		if dt != torch.Float32 {
			t = convert(t, dt)
		}
	} else {
		t = torch.FromInt64(c.I, c.Dims...)
		if dt != torch.Int64 {
			t = convert(t, dt)
		}
	}
	if dev != torch.CPU {
		t = convert(t, -1, dev)
	}
	return t
}

// convert changes dtype (and device) and frees the source.
func convert(t *torch.Tensor, dt torch.DType, dev ...torch.Device) *torch.Tensor {
	d := t.Device()
	if len(dev) > 0 {
		d = dev[0]
	}
	out := t.To(dt, d)
	t.Free()
	return out
}

// constOf copies a libtorch tensor into Go memory.
func constOf(t *torch.Tensor) (*Const, error) {
	if err := t.Err(); err != nil {
		return nil, err
	}
	c := &Const{Type: onnxType(t.DType()), Dims: t.Shape()}
	if c.Type == tDouble {
		f, err := float64s(t)
		c.F = f
		return c, err
	}
	if c.isFloat() {
		f, err := t.Float32s()
		if err != nil {
			return nil, err
		}
		c.F = make([]float64, len(f))
		for i, v := range f {
			c.F[i] = float64(v)
		}
		return c, nil
	}
	var err error
	c.I, err = t.Int64s()
	return c, err
}

// tensorData returns the raw little-endian bytes of a tensor stored as
// raw_data or as external data, or nil for the typed fields.
func (tp *TensorProto) rawBytes(dir string) ([]byte, error) {
	if tp.External == nil {
		return tp.RawData, nil
	}
	loc := tp.External["location"]
	if loc == "" {
		return nil, fmt.Errorf("tensor %q: external data without a location", tp.Name)
	}
	if filepath.IsAbs(loc) || strings.Contains(filepath.ToSlash(loc), "../") {
		// The spec requires relative paths inside the model's directory;
		// anything else could read arbitrary files.
		return nil, fmt.Errorf("tensor %q: external data location %q must be a relative path below the model's directory", tp.Name, loc)
	}
	path := filepath.Join(dir, loc)
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("tensor %q: external data: %w", tp.Name, err)
	}
	defer f.Close()
	var off, length int64 = 0, -1
	if s, ok := tp.External["offset"]; ok {
		if off, err = strconv.ParseInt(s, 10, 64); err != nil || off < 0 {
			return nil, fmt.Errorf("tensor %q: bad external data offset %q", tp.Name, s)
		}
	}
	if s, ok := tp.External["length"]; ok {
		if length, err = strconv.ParseInt(s, 10, 64); err != nil || length < 0 {
			return nil, fmt.Errorf("tensor %q: bad external data length %q", tp.Name, s)
		}
	}
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("tensor %q: external data: %w", tp.Name, err)
	}
	if length < 0 {
		length = st.Size() - off
	}
	if off > st.Size() || length > st.Size()-off {
		return nil, fmt.Errorf("tensor %q: external data %s holds %d bytes, the tensor needs %d bytes from byte %d (truncated?)", tp.Name, path, st.Size(), length, off)
	}
	b := make([]byte, length)
	if _, err := f.ReadAt(b, off); err != nil && err != io.EOF {
		return nil, fmt.Errorf("tensor %q: external data: %w", tp.Name, err)
	}
	return b, nil
}

func elemBytes(t int32) int {
	switch t {
	case tFloat, tInt32, tUint32:
		return 4
	case tDouble, tInt64, tUint64:
		return 8
	case tFloat16, tBFloat16, tInt16, tUint16:
		return 2
	case tUint8, tInt8, tBool:
		return 1
	}
	return 0
}

// Const decodes the tensor's data (resolving external data against dir).
func (tp *TensorProto) Const(dir string) (*Const, error) {
	c := &Const{Type: tp.DataType, Dims: append([]int64{}, tp.Dims...)}
	if c.Dims == nil {
		c.Dims = []int64{}
	}
	n, ok := checkedNumel(tp.Dims)
	if !ok {
		return nil, fmt.Errorf("tensor %q: shape %v has too many elements", tp.Name, tp.Dims)
	}
	if tp.DataType == tString {
		return nil, fmt.Errorf("tensor %q: string tensors are not supported", tp.Name)
	}
	size := elemBytes(tp.DataType)
	if size == 0 {
		return nil, fmt.Errorf("tensor %q: element type %s is not supported", tp.Name, elemTypeName(tp.DataType))
	}
	raw, err := tp.rawBytes(dir)
	if err != nil {
		return nil, err
	}
	name := tp.Name
	if name == "" {
		name = "(unnamed)"
	}
	if raw != nil || tp.External != nil {
		if n > int64(len(raw))/int64(size) || int64(len(raw)) != n*int64(size) {
			return nil, fmt.Errorf("tensor %s: %d bytes of data for shape %v of %s (%d bytes expected; truncated?)", name, len(raw), tp.Dims, elemTypeName(tp.DataType), n*int64(size))
		}
		decodeRaw(c, raw)
		return c, nil
	}
	// Typed fields: which one holds the data depends on the element type.
	var got int
	switch tp.DataType {
	case tFloat:
		got = len(tp.FloatData)
		c.F = make([]float64, got)
		for i, v := range tp.FloatData {
			c.F[i] = float64(v)
		}
	case tDouble:
		got = len(tp.Double)
		c.F = append([]float64{}, tp.Double...)
	case tInt64:
		got = len(tp.Int64Data)
		c.I = append([]int64{}, tp.Int64Data...)
	case tUint32, tUint64:
		got = len(tp.Uint64)
		c.I = make([]int64, got)
		for i, v := range tp.Uint64 {
			c.I[i] = int64(v)
		}
	case tFloat16, tBFloat16:
		got = len(tp.Int32Data)
		c.F = make([]float64, got)
		for i, v := range tp.Int32Data {
			c.F[i] = halfToFloat(uint16(v), tp.DataType == tBFloat16)
		}
	default: // int32, int16, int8, uint16, uint8, bool live in int32_data
		got = len(tp.Int32Data)
		c.I = make([]int64, got)
		for i, v := range tp.Int32Data {
			c.I[i] = int64(v)
		}
	}
	if int64(got) != n {
		return nil, fmt.Errorf("tensor %s: %d values for shape %v (%d expected)", name, got, tp.Dims, n)
	}
	return c, nil
}

func decodeRaw(c *Const, raw []byte) {
	le := binary.LittleEndian
	switch c.Type {
	case tFloat:
		c.F = make([]float64, len(raw)/4)
		for i := range c.F {
			c.F[i] = float64(math.Float32frombits(le.Uint32(raw[4*i:])))
		}
	case tDouble:
		c.F = make([]float64, len(raw)/8)
		for i := range c.F {
			c.F[i] = math.Float64frombits(le.Uint64(raw[8*i:]))
		}
	case tFloat16, tBFloat16:
		c.F = make([]float64, len(raw)/2)
		for i := range c.F {
			c.F[i] = halfToFloat(le.Uint16(raw[2*i:]), c.Type == tBFloat16)
		}
	case tInt64, tUint64:
		c.I = make([]int64, len(raw)/8)
		for i := range c.I {
			c.I[i] = int64(le.Uint64(raw[8*i:]))
		}
	case tInt32:
		c.I = make([]int64, len(raw)/4)
		for i := range c.I {
			c.I[i] = int64(int32(le.Uint32(raw[4*i:])))
		}
	case tUint32:
		c.I = make([]int64, len(raw)/4)
		for i := range c.I {
			c.I[i] = int64(le.Uint32(raw[4*i:]))
		}
	case tInt16:
		c.I = make([]int64, len(raw)/2)
		for i := range c.I {
			c.I[i] = int64(int16(le.Uint16(raw[2*i:])))
		}
	case tUint16:
		c.I = make([]int64, len(raw)/2)
		for i := range c.I {
			c.I[i] = int64(le.Uint16(raw[2*i:]))
		}
	case tInt8:
		c.I = make([]int64, len(raw))
		for i := range c.I {
			c.I[i] = int64(int8(raw[i]))
		}
	default: // uint8, bool
		c.I = make([]int64, len(raw))
		for i := range c.I {
			c.I[i] = int64(raw[i])
		}
	}
}

// float32s decodes a float tensor straight to float32, the path for large
// weights: no float64 copy.
func (tp *TensorProto) float32s(dir string) ([]float32, error) {
	if tp.DataType != tFloat {
		c, err := tp.Const(dir)
		if err != nil {
			return nil, err
		}
		out := make([]float32, len(c.floats()))
		for i, v := range c.floats() {
			out[i] = float32(v)
		}
		return out, nil
	}
	raw, err := tp.rawBytes(dir)
	if err != nil {
		return nil, err
	}
	n, ok := checkedNumel(tp.Dims)
	if !ok {
		return nil, fmt.Errorf("tensor %q: shape %v has too many elements", tp.Name, tp.Dims)
	}
	if raw == nil && tp.External == nil {
		if int64(len(tp.FloatData)) != n {
			return nil, fmt.Errorf("tensor %s: %d values for shape %v (%d expected)", tp.Name, len(tp.FloatData), tp.Dims, n)
		}
		return tp.FloatData, nil
	}
	if n > int64(len(raw))/4 || int64(len(raw)) != 4*n {
		return nil, fmt.Errorf("tensor %s: %d bytes of data for shape %v of float (%d expected; truncated?)", tp.Name, len(raw), tp.Dims, 4*n)
	}
	out := make([]float32, n)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return out, nil
}

func halfToFloat(h uint16, bf bool) float64 {
	if bf {
		return float64(math.Float32frombits(uint32(h) << 16))
	}
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0 && frac == 0:
		return float64(math.Float32frombits(sign))
	case exp == 0: // subnormal
		f := float64(frac) / 1024 * math.Pow(2, -14)
		if sign != 0 {
			f = -f
		}
		return f
	case exp == 31:
		return float64(math.Float32frombits(sign | 0x7f800000 | frac<<13))
	}
	return float64(math.Float32frombits(sign | (exp+112)<<23 | frac<<13))
}

func dirOf(path string) string { return filepath.Dir(path) }

// The torch package moves data in and out as float32 and int64 only, so
// doubles travel as three float32 pieces of the mantissa and a power of
// two, which is exact (3×24 bits ≥ 53) and covers the whole double range.

// float64Tensor builds a float64 tensor holding exactly vals.
func float64Tensor(vals []float64, dims []int64) *torch.Tensor {
	n := len(vals)
	p1, p2, p3 := make([]float32, n), make([]float32, n), make([]float32, n)
	e1, e2 := make([]float32, n), make([]float32, n)
	for i, v := range vals {
		if math.IsInf(v, 0) || math.IsNaN(v) || v == 0 {
			p1[i] = float32(v)
			continue
		}
		m, e := math.Frexp(v)
		p1[i] = float32(m)
		r := m - float64(p1[i])
		p2[i] = float32(r)
		p3[i] = float32(r - float64(p2[i]))
		// 2^e in two halves: 2^1024 alone overflows.
		e1[i], e2[i] = float32(e/2), float32(e-e/2)
	}
	f64 := func(v []float32) *torch.Tensor { return convert(torch.FromFloat32(v, dims...), torch.Float64) }
	two := torch.Full(nil, 2, torch.Float64, torch.CPU)
	defer two.Free()
	m := f64(p1).Add(f64(p2)).Add(f64(p3))
	return m.Mul(two.Pow(f64(e1))).Mul(two.Pow(f64(e2)))
}

// float64s reads a float64 tensor exactly.
func float64s(t *torch.Tensor) ([]float64, error) {
	x := t.To(torch.Float64, torch.CPU)
	defer x.Free()
	shape := x.Shape()
	full := func(v float64) *torch.Tensor { return torch.Full(nil, v, torch.Float64, torch.CPU) }
	a := x.Abs()
	// Finite and non-zero values are scaled to [0.5, 2) by a power of two;
	// the others pass through unscaled.
	ok := a.Lt(full(math.Inf(1))).Mul(a.Gt(full(0)))
	e := torch.Where(ok, a.Log().DivScalar(math.Ln2).Floor(), full(0))
	e1 := e.DivScalar(2).Floor()
	e2 := e.Sub(e1)
	two := full(2)
	m := x.Div(two.Pow(e1)).Div(two.Pow(e2))
	m1 := m.To(torch.Float32, torch.CPU)
	r := m.Sub(m1.To(torch.Float64, torch.CPU))
	m2 := r.To(torch.Float32, torch.CPU)
	m3 := r.Sub(m2.To(torch.Float64, torch.CPU)).To(torch.Float32, torch.CPU)
	if err := m3.Err(); err != nil {
		return nil, err
	}
	v1, _ := m1.Float32s()
	v2, _ := m2.Float32s()
	v3, _ := m3.Float32s()
	ev1, _ := e1.Int64s()
	ev2, err := e2.Int64s()
	if err != nil {
		return nil, err
	}
	out := make([]float64, numel(shape))
	for i := range out {
		mant := float64(v1[i]) + float64(v2[i]) + float64(v3[i])
		out[i] = math.Ldexp(math.Ldexp(mant, int(ev1[i])), int(ev2[i]))
	}
	return out, nil
}

func sameDims(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
