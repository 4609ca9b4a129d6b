package torch

/*
#include "graft_shim.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"
)

// DType is a tensor element type.
type DType int

// Element types graft uses; the values match the shim's codes.
const (
	Float32  DType = C.GS_FLOAT32
	Int64    DType = C.GS_INT64
	Float64  DType = C.GS_FLOAT64
	Uint8    DType = C.GS_UINT8
	Bool     DType = C.GS_BOOL
	Float16  DType = C.GS_FLOAT16
	BFloat16 DType = C.GS_BFLOAT16
	Int32    DType = C.GS_INT32
)

func (d DType) String() string {
	switch d {
	case Float32:
		return "float32"
	case Int64:
		return "int64"
	case Float64:
		return "float64"
	case Uint8:
		return "uint8"
	case Bool:
		return "bool"
	case Float16:
		return "float16"
	case BFloat16:
		return "bfloat16"
	case Int32:
		return "int32"
	}
	return fmt.Sprintf("dtype(%d)", int(d))
}

// Device says where a tensor lives: CPU, or CUDA device n. The zero value
// is the CPU, so configurations default to it.
type Device int

// CPU is the host.
const CPU Device = 0

// CUDA returns CUDA device n.
func CUDA(n int) Device { return Device(n + 1) }

// code is the shim's device number: -1 for the CPU, n for cuda:n.
func (d Device) code() C.int { return C.int(d) - 1 }

func (d Device) String() string {
	if d == CPU {
		return "cpu"
	}
	return fmt.Sprintf("cuda:%d", int(d)-1)
}

// ParseDevice reads "cpu", "cuda" or "cuda:N".
func ParseDevice(s string) (Device, error) {
	switch s {
	case "", "cpu":
		return CPU, nil
	case "cuda":
		s = "cuda:0"
	}
	var n int
	if _, err := fmt.Sscanf(s, "cuda:%d", &n); err != nil || n < 0 {
		return CPU, fmt.Errorf("unknown device %q: expected cpu, cuda or cuda:N", s)
	}
	if n >= CUDADeviceCount() {
		return CPU, fmt.Errorf("device %s is not available: this libtorch sees %d CUDA devices", s, CUDADeviceCount())
	}
	return CUDA(n), nil
}

// Tensor is an owned handle to a libtorch tensor.
//
// Lifetimes are explicit, because Go's collector cannot see the memory
// libtorch holds: a tensor is freed by Free, or by the Close of the Scope it
// belongs to. An op's result joins the scope of its first scoped operand, so
// everything computed from a batch created in a step's scope is released
// when that step closes; a result with no scoped operand belongs to the
// caller. A finalizer frees forgotten handles as a last resort only.
//
// A tensor is used by one goroutine at a time; a Scope may be shared: Track,
// Keep, Close, Len and ops whose results join it may run concurrently.
//
// Errors are sticky: a failed op returns a tensor that carries the error, ops
// on it return it unchanged, and Err reports it. Model code can therefore
// chain ops and check once.
type Tensor struct {
	h      C.gs_tensor
	err    error
	scope  atomic.Pointer[Scope] // the owning scope; nil when the caller owns t
	nbytes int64                 // size counted in Live's bytes; 0 when unknown
}

var errFreed = errors.New("use of a freed tensor")

// Err is the first error on the way to this tensor, or nil.
func (t *Tensor) Err() error {
	if t == nil {
		return errors.New("nil tensor")
	}
	return t.err
}

// Defined reports whether t holds a value.
func (t *Tensor) Defined() bool { return t != nil && t.h != nil && t.err == nil }

func (t *Tensor) usable() error {
	switch {
	case t == nil:
		return errors.New("nil tensor")
	case t.err != nil:
		return t.err
	case t.h == nil:
		return errFreed
	}
	return nil
}

// Free releases the tensor now. It is safe to call twice and on tensors that
// carry an error. A scoped tensor is also dropped from its scope.
func (t *Tensor) Free() {
	if t == nil || t.h == nil {
		return
	}
	C.gs_free(t.h)
	t.h = nil
	t.scope.Store(nil)
	if trace.on.Load() {
		traceFree(t, false)
	}
	live.tensors.Add(-1)
	live.bytes.Add(-t.nbytes)
}

func finalize(t *Tensor) {
	if t.h != nil {
		C.gs_free(t.h)
		t.h = nil
		live.tensors.Add(-1)
		live.bytes.Add(-t.nbytes)
		live.finalized.Add(1)
		live.finalizedBytes.Add(t.nbytes)
		if trace.on.Load() {
			traceFree(t, true)
		}
	}
}

// live counts the native handles graft holds, for leak tests.
var live struct {
	tensors, bytes            atomic.Int64
	finalized, finalizedBytes atomic.Int64
}

// Live is the number of native tensor handles not yet freed, and the bytes
// of those among them whose size is known without asking libtorch: tensors
// made from Go data or a shape (FromFloat32, FromInt64, Full, Zeros, Ones,
// Rand, Randn, Randperm). Results of ops count as tensors but not bytes,
// since measuring each would cost a cgo call and views share storage; the
// bytes are therefore a lower bound.
func Live() (tensors, bytes int64) { return live.tensors.Load(), live.bytes.Load() }

// Finalized is the number of handles the finalizer has freed, and their
// bytes as Live counts them: tensors that became unreachable without Free or
// a Scope's Close. Each is a leak in graft's terms, since Go's collector does
// not see libtorch's memory and may run late. Leak checks add it to Live's
// count (see torch/torchtest).
func Finalized() (tensors, bytes int64) {
	return live.finalized.Load(), live.finalizedBytes.Load()
}

// adopt wraps a fresh handle, registering it with s when s is not nil.
func adopt(h C.gs_tensor, s *Scope) *Tensor { return adoptSized(h, s, 0) }

// adoptSized is adopt for a tensor of a known size in bytes.
func adoptSized(h C.gs_tensor, s *Scope, nbytes int64) *Tensor {
	t := &Tensor{h: h, nbytes: nbytes}
	live.tensors.Add(1)
	live.bytes.Add(nbytes)
	runtime.SetFinalizer(t, finalize)
	if trace.on.Load() {
		traceAdopt(t)
	}
	if s != nil {
		s.add(t)
	}
	return t
}

// size is the bytes of n elements of dtype d; 0 for an unknown type.
func (d DType) size(n int64) int64 {
	switch d {
	case Float64, Int64:
		return 8 * n
	case Float32, Int32:
		return 4 * n
	case Float16, BFloat16:
		return 2 * n
	case Uint8, Bool:
		return n
	}
	return 0
}

func errTensor(err error) *Tensor { return &Tensor{err: err} }

// Scope collects tensors so they can be freed together: one per training
// step, for example. The zero value is not usable; call NewScope.
//
// A tensor's owner is an atomic pointer: Track swaps it, Keep and Close
// claim the tensor back with a compare-and-swap, so a tensor kept by one
// goroutine is never freed by a concurrent Close, and one tracked into
// another scope is freed by that scope only. The mutex guards the list.
type Scope struct {
	mu sync.Mutex
	ts []*Tensor
}

// NewScope returns an empty scope.
func NewScope() *Scope { return &Scope{ts: make([]*Tensor, 0, 64)} }

// add makes s the owner of t; a tensor s already owns is not listed twice.
func (s *Scope) add(t *Tensor) {
	if t.scope.Swap(s) == s {
		return
	}
	s.mu.Lock()
	s.ts = append(s.ts, t)
	s.mu.Unlock()
}

// Track moves ownership of t (and its results from now on) to the scope.
func (s *Scope) Track(t *Tensor) *Tensor {
	if t != nil && t.h != nil {
		s.add(t)
	}
	return t
}

// Keep takes t out of the scope: the caller owns it again.
func (s *Scope) Keep(t *Tensor) *Tensor {
	if t != nil {
		t.scope.CompareAndSwap(s, nil) // Close skips tensors whose scope changed
	}
	return t
}

// Close frees every tensor the scope still owns.
func (s *Scope) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, t := range s.ts {
		if t.scope.CompareAndSwap(s, nil) {
			t.Free()
		}
		s.ts[i] = nil
	}
	s.ts = s.ts[:0]
}

// Len is the number of tensors the scope owns, for leak tests.
func (s *Scope) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, t := range s.ts {
		if t.scope.Load() == s {
			n++
		}
	}
	return n
}

// scopeOf is the scope a result of op(ins...) joins.
func scopeOf(ins []*Tensor) *Scope {
	for _, t := range ins {
		if t != nil {
			if s := t.scope.Load(); s != nil {
				return s
			}
		}
	}
	return nil
}

// call runs one shim function that produces a tensor. Optional operands are
// passed as nil and skipped by the checks.
func call(op string, ins []*Tensor, fn func(out *C.gs_tensor) C.gs_error) *Tensor {
	for _, t := range ins {
		if t == nil {
			continue
		}
		if err := t.usable(); err != nil {
			return errTensor(err)
		}
	}
	var out C.gs_tensor
	err := check(op, fn(&out))
	runtime.KeepAlive(ins)
	if err != nil {
		return errTensor(err)
	}
	return adopt(out, scopeOf(ins))
}

// h returns the handle of an optional operand (NULL for nil).
func (t *Tensor) hh() C.gs_tensor {
	if t == nil {
		return nil
	}
	return t.h
}

func shapeOK(shape []int64) error {
	for _, d := range shape {
		if d < 0 {
			return fmt.Errorf("negative dimension in shape %v", shape)
		}
	}
	return nil
}

func numel(shape []int64) int64 {
	n := int64(1)
	for _, d := range shape {
		n *= d
	}
	return n
}

func fromData(p unsafe.Pointer, n int, dtype DType, shape []int64, dev Device) *Tensor {
	if err := shapeOK(shape); err != nil {
		return errTensor(err)
	}
	if int64(n) != numel(shape) {
		return errTensor(fmt.Errorf("%d values do not fill shape %v (%d elements)", n, shape, numel(shape)))
	}
	var dummy [1]byte
	if p == nil {
		p = unsafe.Pointer(&dummy[0])
	}
	cs, nd := cints(shape)
	var out C.gs_tensor
	if err := check("from_data", C.gs_from_data(p, C.int(dtype), cs, nd, dev.code(), &out)); err != nil {
		return errTensor(err)
	}
	return adoptSized(out, nil, dtype.size(int64(n)))
}

// FromFloat32 copies data into a new float32 tensor of the given shape.
func FromFloat32(data []float32, shape ...int64) *Tensor {
	var p unsafe.Pointer
	if len(data) > 0 {
		p = unsafe.Pointer(&data[0])
	}
	return fromData(p, len(data), Float32, shape, CPU)
}

// FromInt64 copies data into a new int64 tensor of the given shape.
func FromInt64(data []int64, shape ...int64) *Tensor {
	var p unsafe.Pointer
	if len(data) > 0 {
		p = unsafe.Pointer(&data[0])
	}
	return fromData(p, len(data), Int64, shape, CPU)
}

// Full returns a tensor filled with v.
func Full(shape []int64, v float64, dtype DType, dev Device) *Tensor {
	if err := shapeOK(shape); err != nil {
		return errTensor(err)
	}
	cs, nd := cints(shape)
	var out C.gs_tensor
	if err := check("full", C.gs_full(cs, nd, C.double(v), C.int(dtype), dev.code(), &out)); err != nil {
		return errTensor(err)
	}
	return adoptSized(out, nil, dtype.size(numel(shape)))
}

// Zeros returns a float32 tensor of zeros.
func Zeros(shape ...int64) *Tensor { return Full(shape, 0, Float32, CPU) }

// Ones returns a float32 tensor of ones.
func Ones(shape ...int64) *Tensor { return Full(shape, 1, Float32, CPU) }

// Rand returns uniform [0,1) float32 values from libtorch's seeded generator.
func Rand(shape ...int64) *Tensor { return random(shape, false) }

// Randn returns standard normal float32 values from libtorch's seeded generator.
func Randn(shape ...int64) *Tensor { return random(shape, true) }

func random(shape []int64, normal bool) *Tensor {
	if err := shapeOK(shape); err != nil {
		return errTensor(err)
	}
	cs, nd := cints(shape)
	var out C.gs_tensor
	if err := check("rand", C.gs_rand(cs, nd, bint(normal), CPU.code(), &out)); err != nil {
		return errTensor(err)
	}
	return adoptSized(out, nil, Float32.size(numel(shape)))
}

// Randperm is a random permutation of 0..n-1 (int64).
func Randperm(n int64) *Tensor {
	var out C.gs_tensor
	if err := check("randperm", C.gs_randperm(C.int64_t(n), CPU.code(), &out)); err != nil {
		return errTensor(err)
	}
	return adoptSized(out, nil, Int64.size(n))
}

// ZerosLike returns zeros shaped, typed, placed and laid out like t:
// optimizer state then shares its parameter's strides, which keeps the
// elementwise updates on one memory order.
func (t *Tensor) ZerosLike() *Tensor {
	return call("zeros_like", []*Tensor{t}, func(out *C.gs_tensor) C.gs_error { return C.gs_zeros_like(t.h, out) })
}

// Shape is the tensor's dimensions; nil if t carries an error.
func (t *Tensor) Shape() []int64 {
	if t.usable() != nil {
		return nil
	}
	var buf [16]C.int64_t
	n := C.int(len(buf))
	if check("shape", C.gs_shape(t.h, &buf[0], &n)) != nil {
		return nil
	}
	out := make([]int64, int(n))
	for i := range out {
		out[i] = int64(buf[i])
	}
	runtime.KeepAlive(t)
	return out
}

// Numel is the number of elements.
func (t *Tensor) Numel() int64 { return numel(t.Shape()) }

// DType is the element type.
func (t *Tensor) DType() DType {
	if t.usable() != nil {
		return -1
	}
	defer runtime.KeepAlive(t)
	return DType(C.gs_dtype(t.h))
}

// Device is where the tensor lives.
func (t *Tensor) Device() Device {
	if t.usable() != nil {
		return CPU
	}
	defer runtime.KeepAlive(t)
	return Device(C.gs_device(t.h) + 1)
}

func (t *Tensor) copyOut(dtype DType, p unsafe.Pointer, n int) error {
	if err := t.usable(); err != nil {
		return err
	}
	var dummy [8]byte
	if p == nil {
		p = unsafe.Pointer(&dummy[0])
	}
	err := check("copy_out", C.gs_copy_out(t.h, C.int(dtype), p, C.int64_t(n)))
	runtime.KeepAlive(t)
	return err
}

// Float32s copies the tensor's values (converted to float32) into a new slice.
func (t *Tensor) Float32s() ([]float32, error) {
	if err := t.usable(); err != nil {
		return nil, err
	}
	out := make([]float32, t.Numel())
	var p unsafe.Pointer
	if len(out) > 0 {
		p = unsafe.Pointer(&out[0])
	}
	return out, t.copyOut(Float32, p, len(out))
}

// CopyTo copies the tensor's values into dst, whose length must match.
func (t *Tensor) CopyTo(dst []float32) error {
	var p unsafe.Pointer
	if len(dst) > 0 {
		p = unsafe.Pointer(&dst[0])
	}
	return t.copyOut(Float32, p, len(dst))
}

// Int64s copies the tensor's values (converted to int64) into a new slice.
func (t *Tensor) Int64s() ([]int64, error) {
	if err := t.usable(); err != nil {
		return nil, err
	}
	out := make([]int64, t.Numel())
	var p unsafe.Pointer
	if len(out) > 0 {
		p = unsafe.Pointer(&out[0])
	}
	return out, t.copyOut(Int64, p, len(out))
}

// Item is the value of a one-element tensor.
func (t *Tensor) Item() (float64, error) {
	if err := t.usable(); err != nil {
		return 0, err
	}
	var v C.double
	err := check("item", C.gs_item(t.h, &v))
	runtime.KeepAlive(t)
	return float64(v), err
}

// To converts the dtype and/or device (dtype -1 keeps it). It returns a new
// handle even when nothing changes, so ownership stays simple.
func (t *Tensor) To(dtype DType, dev Device) *Tensor {
	return call("to", []*Tensor{t}, func(out *C.gs_tensor) C.gs_error {
		return C.gs_to(t.h, C.int(dtype), dev.code(), C.GS_CONTIGUOUS, out)
	})
}

// ToDevice moves the tensor to dev.
func (t *Tensor) ToDevice(dev Device) *Tensor { return t.To(-1, dev) }

// ChannelsLast returns an NHWC-strided view of a 4-d tensor (same shape).
// oneDNN's convolutions run faster on it on many CPUs.
func (t *Tensor) ChannelsLast() *Tensor {
	return call("to", []*Tensor{t}, func(out *C.gs_tensor) C.gs_error {
		return C.gs_to(t.h, -1, t.Device().code(), C.GS_CHANNELS_LAST, out)
	})
}

// Contiguous returns a tensor in the default (row-major) layout.
func (t *Tensor) Contiguous() *Tensor {
	return call("to", []*Tensor{t}, func(out *C.gs_tensor) C.gs_error {
		return C.gs_to(t.h, -1, t.Device().code(), C.GS_CONTIGUOUS, out)
	})
}

// Clone copies the data (autograd-tracked).
func (t *Tensor) Clone() *Tensor {
	return call("clone", []*Tensor{t}, func(out *C.gs_tensor) C.gs_error { return C.gs_clone(t.h, out) })
}

// Detach shares the data but leaves the autograd graph.
func (t *Tensor) Detach() *Tensor {
	return call("detach", []*Tensor{t}, func(out *C.gs_tensor) C.gs_error { return C.gs_detach(t.h, out) })
}

// CloneDetached copies the data out of the autograd graph: a snapshot of a
// parameter or buffer, owned by the caller like t.Detach().Clone() but
// without leaving the detached handle behind.
func (t *Tensor) CloneDetached() *Tensor {
	d := t.Detach()
	defer d.Free()
	return d.Clone() // joins t's scope, if any, as any op's result
}

// Alias is a second handle to the same tensor (same data, same graph),
// owned separately.
func (t *Tensor) Alias() *Tensor {
	return call("alias", []*Tensor{t}, func(out *C.gs_tensor) C.gs_error { return C.gs_alias(t.h, out) })
}

func (t *Tensor) String() string {
	if err := t.Err(); err != nil {
		return "Tensor(error: " + err.Error() + ")"
	}
	if t.h == nil {
		return "Tensor(freed)"
	}
	return fmt.Sprintf("Tensor(%v, %v, %v)", t.Shape(), t.DType(), t.Device())
}

// Failed returns a tensor that carries err, for layers that must report a
// problem through the sticky-error chain.
func Failed(err error) *Tensor { return errTensor(err) }

// Scope is the scope that owns t, or nil when the caller does.
func (t *Tensor) Scope() *Scope { return t.scope.Load() }

// MoveTo_ converts t in place to dev and, when channelsLast is set, the
// NHWC layout (4-d tensors only). The handle and its autograd identity stay
// the same, so a parameter remains the parameter its module and optimizer
// refer to.
func (t *Tensor) MoveTo_(dev Device, channelsLast bool) error {
	if err := t.usable(); err != nil {
		return err
	}
	mf := C.int(C.GS_CONTIGUOUS)
	if channelsLast && len(t.Shape()) == 4 {
		mf = C.GS_CHANNELS_LAST
	}
	defer runtime.KeepAlive(t)
	return check("to", C.gs_set_data_to(t.h, -1, dev.code(), mf))
}
