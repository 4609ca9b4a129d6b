package torch

/*
#include "graft_shim.h"
*/
import "C"

import (
	"fmt"
	"runtime"
	"unsafe"
)

func unary(name string, op C.int, x *Tensor) *Tensor {
	return call(name, []*Tensor{x}, func(out *C.gs_tensor) C.gs_error { return C.gs_unary(op, x.h, out) })
}

// Relu is max(x, 0).
func (t *Tensor) Relu() *Tensor { return unary("relu", C.GS_RELU, t) }

// Relu6 is min(max(x, 0), 6), MobileNet's activation.
func (t *Tensor) Relu6() *Tensor { return unary("relu6", C.GS_RELU6, t) }

// Silu is x·sigmoid(x).
func (t *Tensor) Silu() *Tensor { return unary("silu", C.GS_SILU, t) }

// Sigmoid is 1/(1+exp(-x)).
func (t *Tensor) Sigmoid() *Tensor { return unary("sigmoid", C.GS_SIGMOID, t) }

// Hardswish is x·relu6(x+3)/6.
func (t *Tensor) Hardswish() *Tensor { return unary("hardswish", C.GS_HARDSWISH, t) }

// Hardsigmoid is relu6(x+3)/6.
func (t *Tensor) Hardsigmoid() *Tensor { return unary("hardsigmoid", C.GS_HARDSIGMOID, t) }

// Tanh is the hyperbolic tangent.
func (t *Tensor) Tanh() *Tensor { return unary("tanh", C.GS_TANH, t) }

// Gelu is the exact Gaussian error linear unit.
func (t *Tensor) Gelu() *Tensor { return unary("gelu", C.GS_GELU, t) }

// Exp is e^x.
func (t *Tensor) Exp() *Tensor { return unary("exp", C.GS_EXP, t) }

// Log is the natural logarithm.
func (t *Tensor) Log() *Tensor { return unary("log", C.GS_LOG, t) }

// Sqrt is the square root.
func (t *Tensor) Sqrt() *Tensor { return unary("sqrt", C.GS_SQRT, t) }

// Neg is -x.
func (t *Tensor) Neg() *Tensor { return unary("neg", C.GS_NEG, t) }

// Abs is |x|.
func (t *Tensor) Abs() *Tensor { return unary("abs", C.GS_ABS, t) }

// Square is x².
func (t *Tensor) Square() *Tensor { return unary("square", C.GS_SQUARE, t) }

// Reciprocal is 1/x.
func (t *Tensor) Reciprocal() *Tensor { return unary("reciprocal", C.GS_RECIPROCAL, t) }

// Erf is the error function.
func (t *Tensor) Erf() *Tensor { return unary("erf", C.GS_ERF, t) }

// Floor rounds down.
func (t *Tensor) Floor() *Tensor { return unary("floor", C.GS_FLOOR, t) }

// Ceil rounds up.
func (t *Tensor) Ceil() *Tensor { return unary("ceil", C.GS_CEIL, t) }

// Sign is -1, 0 or 1.
func (t *Tensor) Sign() *Tensor { return unary("sign", C.GS_SIGN, t) }

func binary(name string, op C.int, a, b *Tensor) *Tensor {
	return call(name, []*Tensor{a, b}, func(out *C.gs_tensor) C.gs_error { return C.gs_binary(op, a.h, b.h, out) })
}

// Add is a+b with broadcasting.
func (t *Tensor) Add(o *Tensor) *Tensor { return binary("add", C.GS_ADD, t, o) }

// Sub is a-b with broadcasting.
func (t *Tensor) Sub(o *Tensor) *Tensor { return binary("sub", C.GS_SUB, t, o) }

// Mul is a·b elementwise with broadcasting.
func (t *Tensor) Mul(o *Tensor) *Tensor { return binary("mul", C.GS_MUL, t, o) }

// Div is a/b elementwise with broadcasting.
func (t *Tensor) Div(o *Tensor) *Tensor { return binary("div", C.GS_DIV, t, o) }

// Maximum is the elementwise maximum.
func (t *Tensor) Maximum(o *Tensor) *Tensor { return binary("maximum", C.GS_MAXIMUM, t, o) }

// Minimum is the elementwise minimum.
func (t *Tensor) Minimum(o *Tensor) *Tensor { return binary("minimum", C.GS_MINIMUM, t, o) }

// Pow is a^b elementwise.
func (t *Tensor) Pow(o *Tensor) *Tensor { return binary("pow", C.GS_POW, t, o) }

// Eq is a==b as a bool tensor.
func (t *Tensor) Eq(o *Tensor) *Tensor { return binary("eq", C.GS_EQ, t, o) }

// Gt is a>b as a bool tensor.
func (t *Tensor) Gt(o *Tensor) *Tensor { return binary("gt", C.GS_GT, t, o) }

// Lt is a<b as a bool tensor.
func (t *Tensor) Lt(o *Tensor) *Tensor { return binary("lt", C.GS_LT, t, o) }

func scalar(name string, op C.int, a *Tensor, s float64) *Tensor {
	return call(name, []*Tensor{a}, func(out *C.gs_tensor) C.gs_error { return C.gs_scalar(op, a.h, C.double(s), out) })
}

// AddScalar is x+s.
func (t *Tensor) AddScalar(s float64) *Tensor { return scalar("add", C.GS_ADD_S, t, s) }

// MulScalar is x·s.
func (t *Tensor) MulScalar(s float64) *Tensor { return scalar("mul", C.GS_MUL_S, t, s) }

// DivScalar is x/s.
func (t *Tensor) DivScalar(s float64) *Tensor { return scalar("div", C.GS_DIV_S, t, s) }

// PowScalar is x^s.
func (t *Tensor) PowScalar(s float64) *Tensor { return scalar("pow", C.GS_POW_S, t, s) }

// RSubScalar is s-x.
func (t *Tensor) RSubScalar(s float64) *Tensor { return scalar("rsub", C.GS_RSUB_S, t, s) }

// LeakyRelu is x for x>0, slope·x otherwise.
func (t *Tensor) LeakyRelu(slope float64) *Tensor {
	return scalar("leaky_relu", C.GS_LEAKY_RELU_S, t, slope)
}

// ClampMin is max(x, lo).
func (t *Tensor) ClampMin(lo float64) *Tensor { return scalar("clamp_min", C.GS_CLAMP_MIN_S, t, lo) }

// ClampMax is min(x, hi).
func (t *Tensor) ClampMax(hi float64) *Tensor { return scalar("clamp_max", C.GS_CLAMP_MAX_S, t, hi) }

// Clamp limits x to [lo, hi].
func (t *Tensor) Clamp(lo, hi float64) *Tensor {
	return call("clamp", []*Tensor{t}, func(out *C.gs_tensor) C.gs_error {
		return C.gs_clamp(t.h, C.double(lo), C.double(hi), out)
	})
}

// Where picks a where cond is true and b elsewhere.
func Where(cond, a, b *Tensor) *Tensor {
	return call("where", []*Tensor{cond, a, b}, func(out *C.gs_tensor) C.gs_error {
		return C.gs_where(cond.h, a.h, b.h, out)
	})
}

// ---- in-place updates (optimizers, initialisation); no autograd ----

func inplace(name string, op C.int, a, b, c *Tensor, alpha float64) error {
	for _, t := range []*Tensor{a, b, c} {
		if t == nil {
			continue
		}
		if err := t.usable(); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	err := check(name, C.gs_inplace(op, a.h, b.h, c.hh(), C.double(alpha)))
	runtime.KeepAlive(a)
	runtime.KeepAlive(b)
	runtime.KeepAlive(c)
	return err
}

// CopyFrom_ overwrites t's values with src's (same shape, or broadcastable).
func (t *Tensor) CopyFrom_(src *Tensor) error { return inplace("copy_", C.GS_COPY_, t, src, nil, 0) }

// AddInPlace is t += alpha·o.
func (t *Tensor) AddInPlace(o *Tensor, alpha float64) error {
	return inplace("add_", C.GS_ADD_, t, o, nil, alpha)
}

// MulInPlace is t *= o.
func (t *Tensor) MulInPlace(o *Tensor) error { return inplace("mul_", C.GS_MUL_, t, o, nil, 0) }

// AddcmulInPlace is t += alpha·a·b.
func (t *Tensor) AddcmulInPlace(a, b *Tensor, alpha float64) error {
	return inplace("addcmul_", C.GS_ADDCMUL_, t, a, b, alpha)
}

// AddcdivInPlace is t += alpha·a/b.
func (t *Tensor) AddcdivInPlace(a, b *Tensor, alpha float64) error {
	return inplace("addcdiv_", C.GS_ADDCDIV_, t, a, b, alpha)
}

// LerpInPlace is t += w·(o-t).
func (t *Tensor) LerpInPlace(o *Tensor, w float64) error {
	return inplace("lerp_", C.GS_LERP_, t, o, nil, w)
}

func inplaceScalar(name string, op C.int, t *Tensor, s1, s2 float64) error {
	if err := t.usable(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	err := check(name, C.gs_inplace_scalar(op, t.h, C.double(s1), C.double(s2)))
	runtime.KeepAlive(t)
	return err
}

// Fill_ sets every element to v.
func (t *Tensor) Fill_(v float64) error { return inplaceScalar("fill_", C.GS_FILL_, t, v, 0) }

// MulScalarInPlace is t *= s.
func (t *Tensor) MulScalarInPlace(s float64) error {
	return inplaceScalar("mul_", C.GS_MUL_S_, t, s, 0)
}

// AddScalarInPlace is t += s.
func (t *Tensor) AddScalarInPlace(s float64) error {
	return inplaceScalar("add_", C.GS_ADD_S_, t, s, 0)
}

// Uniform_ fills t from U(lo, hi) with libtorch's seeded generator.
func (t *Tensor) Uniform_(lo, hi float64) error {
	return inplaceScalar("uniform_", C.GS_UNIFORM_, t, lo, hi)
}

// Normal_ fills t from N(mean, std²) with libtorch's seeded generator.
func (t *Tensor) Normal_(mean, std float64) error {
	return inplaceScalar("normal_", C.GS_NORMAL_, t, mean, std)
}

// ClampInPlace limits t to [lo, hi].
func (t *Tensor) ClampInPlace(lo, hi float64) error {
	return inplaceScalar("clamp_", C.GS_CLAMP_, t, lo, hi)
}

// ---- neural-network operators ----

// Conv2dOpts are the geometry of a 2-d convolution; zero values mean stride
// 1, padding 0, dilation 1, groups 1.
type Conv2dOpts struct {
	Stride, Padding, Dilation [2]int64
	Groups                    int64
}

func (o Conv2dOpts) norm() Conv2dOpts {
	for i := 0; i < 2; i++ {
		if o.Stride[i] == 0 {
			o.Stride[i] = 1
		}
		if o.Dilation[i] == 0 {
			o.Dilation[i] = 1
		}
	}
	if o.Groups == 0 {
		o.Groups = 1
	}
	return o
}

// Conv2d convolves an NCHW input with weight [out, in/groups, kh, kw]; bias may be nil.
func Conv2d(x, w, b *Tensor, o Conv2dOpts) *Tensor {
	o = o.norm()
	return call("conv2d", []*Tensor{x, w, b}, func(out *C.gs_tensor) C.gs_error {
		return C.gs_conv2d(x.h, w.h, b.hh(), pair(o.Stride), pair(o.Padding), pair(o.Dilation), C.int64_t(o.Groups), out)
	})
}

// ConvTranspose2d is the gradient of Conv2d with respect to its input, used
// as a learnt upsampling; weight is [in, out/groups, kh, kw].
func ConvTranspose2d(x, w, b *Tensor, o Conv2dOpts, outputPadding [2]int64) *Tensor {
	o = o.norm()
	return call("conv_transpose2d", []*Tensor{x, w, b}, func(out *C.gs_tensor) C.gs_error {
		return C.gs_conv_transpose2d(x.h, w.h, b.hh(), pair(o.Stride), pair(o.Padding), pair(outputPadding),
			pair(o.Dilation), C.int64_t(o.Groups), out)
	})
}

// BatchNorm normalises over N,H,W. In training mode it uses the batch's
// statistics and updates the running ones in place; otherwise it uses the
// running ones. Any of w, b, mean, vr may be nil.
func BatchNorm(x, w, b, mean, vr *Tensor, training bool, momentum, eps float64) *Tensor {
	return call("batch_norm", []*Tensor{x, w, b, mean, vr}, func(out *C.gs_tensor) C.gs_error {
		return C.gs_batch_norm(x.h, w.hh(), b.hh(), mean.hh(), vr.hh(), bint(training), C.double(momentum), C.double(eps), out)
	})
}

// Linear is x·wᵀ + b; b may be nil.
func Linear(x, w, b *Tensor) *Tensor {
	return call("linear", []*Tensor{x, w, b}, func(out *C.gs_tensor) C.gs_error {
		return C.gs_linear(x.h, w.h, b.hh(), out)
	})
}

// Matmul is the matrix product with NumPy broadcasting rules.
func (t *Tensor) Matmul(o *Tensor) *Tensor {
	return call("matmul", []*Tensor{t, o}, func(out *C.gs_tensor) C.gs_error { return C.gs_matmul(t.h, o.h, out) })
}

// PoolOpts are the geometry of a 2-d pooling; zero stride means stride =
// kernel, zero dilation means 1.
type PoolOpts struct {
	Kernel, Stride, Padding, Dilation [2]int64
	CeilMode                          bool
	CountIncludePad                   bool // average pooling only
}

func (o PoolOpts) norm() PoolOpts {
	for i := 0; i < 2; i++ {
		if o.Stride[i] == 0 {
			o.Stride[i] = o.Kernel[i]
		}
		if o.Dilation[i] == 0 {
			o.Dilation[i] = 1
		}
	}
	return o
}

// MaxPool2d takes the maximum over each window.
func MaxPool2d(x *Tensor, o PoolOpts) *Tensor {
	o = o.norm()
	return call("max_pool2d", []*Tensor{x}, func(out *C.gs_tensor) C.gs_error {
		return C.gs_max_pool2d(x.h, pair(o.Kernel), pair(o.Stride), pair(o.Padding), pair(o.Dilation), bint(o.CeilMode), out)
	})
}

// AvgPool2d averages over each window.
func AvgPool2d(x *Tensor, o PoolOpts) *Tensor {
	o = o.norm()
	return call("avg_pool2d", []*Tensor{x}, func(out *C.gs_tensor) C.gs_error {
		return C.gs_avg_pool2d(x.h, pair(o.Kernel), pair(o.Stride), pair(o.Padding), bint(o.CeilMode), bint(o.CountIncludePad), out)
	})
}

// AdaptiveAvgPool2d averages into an h×w grid whatever the input size.
func AdaptiveAvgPool2d(x *Tensor, h, w int64) *Tensor {
	size := [2]int64{h, w}
	return call("adaptive_avg_pool2d", []*Tensor{x}, func(out *C.gs_tensor) C.gs_error {
		return C.gs_adaptive_avg_pool2d(x.h, pair(size), out)
	})
}

// Dropout zeroes elements with probability p when training, scaling the
// rest by 1/(1-p); it is the identity otherwise.
func Dropout(x *Tensor, p float64, training bool) *Tensor {
	return call("dropout", []*Tensor{x}, func(out *C.gs_tensor) C.gs_error {
		return C.gs_dropout(x.h, C.double(p), bint(training), out)
	})
}

// Softmax along dim.
func (t *Tensor) Softmax(dim int64) *Tensor {
	return call("softmax", []*Tensor{t}, func(out *C.gs_tensor) C.gs_error { return C.gs_softmax(t.h, C.int64_t(dim), 0, out) })
}

// LogSoftmax along dim.
func (t *Tensor) LogSoftmax(dim int64) *Tensor {
	return call("log_softmax", []*Tensor{t}, func(out *C.gs_tensor) C.gs_error { return C.gs_softmax(t.h, C.int64_t(dim), 1, out) })
}

// CrossEntropy is the mean cross-entropy of logits [N, classes] against
// int64 targets [N], with label smoothing in [0, 1).
func CrossEntropy(logits, target *Tensor, labelSmoothing float64) *Tensor {
	return call("cross_entropy", []*Tensor{logits, target}, func(out *C.gs_tensor) C.gs_error {
		return C.gs_cross_entropy(logits.h, target.h, C.double(labelSmoothing), out)
	})
}

func reduce(name string, op C.int, t *Tensor, dims []int64, keep bool) *Tensor {
	return call(name, []*Tensor{t}, func(out *C.gs_tensor) C.gs_error {
		cd, n := cints(dims)
		return C.gs_reduce(op, t.h, cd, n, bint(keep), out)
	})
}

// Sum over dims (all when none).
func (t *Tensor) Sum(dims ...int64) *Tensor { return reduce("sum", C.GS_SUM, t, dims, false) }

// Mean over dims (all when none).
func (t *Tensor) Mean(dims ...int64) *Tensor { return reduce("mean", C.GS_MEAN, t, dims, false) }

// MeanKeep averages over dims keeping them as size 1.
func (t *Tensor) MeanKeep(dims ...int64) *Tensor { return reduce("mean", C.GS_MEAN, t, dims, true) }

// Var is the biased variance over dims (all when none).
func (t *Tensor) Var(dims ...int64) *Tensor { return reduce("var", C.GS_VAR, t, dims, false) }

// Amax is the maximum over dims.
func (t *Tensor) Amax(dims ...int64) *Tensor { return reduce("amax", C.GS_AMAX, t, dims, false) }

// AmaxKeep is the maximum over dims keeping them as size 1.
func (t *Tensor) AmaxKeep(dims ...int64) *Tensor { return reduce("amax", C.GS_AMAX, t, dims, true) }

// Amin is the minimum over dims.
func (t *Tensor) Amin(dims ...int64) *Tensor { return reduce("amin", C.GS_AMIN, t, dims, false) }

// Argmax is the index of the maximum along dim.
func (t *Tensor) Argmax(dim int64) *Tensor {
	return reduce("argmax", C.GS_ARGMAX, t, []int64{dim}, false)
}

// Norm is the Euclidean norm of all elements.
func (t *Tensor) Norm() *Tensor { return reduce("norm", C.GS_NORM2, t, nil, false) }

// Reshape to shape (one dimension may be -1).
func (t *Tensor) Reshape(shape ...int64) *Tensor {
	return call("reshape", []*Tensor{t}, func(out *C.gs_tensor) C.gs_error {
		cs, n := cints(shape)
		return C.gs_reshape(t.h, cs, n, out)
	})
}

// Permute reorders dimensions.
func (t *Tensor) Permute(perm ...int64) *Tensor {
	return call("permute", []*Tensor{t}, func(out *C.gs_tensor) C.gs_error {
		cs, n := cints(perm)
		return C.gs_permute(t.h, cs, n, out)
	})
}

// Flatten merges dimensions start..end (inclusive; negative counts from the end).
func (t *Tensor) Flatten(start, end int64) *Tensor {
	return call("flatten", []*Tensor{t}, func(out *C.gs_tensor) C.gs_error {
		return C.gs_flatten(t.h, C.int64_t(start), C.int64_t(end), out)
	})
}

// Narrow selects length elements of dim from start (a view).
func (t *Tensor) Narrow(dim, start, length int64) *Tensor {
	return call("narrow", []*Tensor{t}, func(out *C.gs_tensor) C.gs_error {
		return C.gs_narrow(t.h, C.int64_t(dim), C.int64_t(start), C.int64_t(length), out)
	})
}

// IndexSelect picks the entries of dim listed in the int64 tensor index.
func (t *Tensor) IndexSelect(dim int64, index *Tensor) *Tensor {
	return call("index_select", []*Tensor{t, index}, func(out *C.gs_tensor) C.gs_error {
		return C.gs_index_select(t.h, C.int64_t(dim), index.h, out)
	})
}

// Pad pads with a constant; pads lists (before, after) pairs starting from
// the last dimension, as torch.nn.functional.pad.
func (t *Tensor) Pad(pads []int64, value float64) *Tensor {
	return call("pad", []*Tensor{t}, func(out *C.gs_tensor) C.gs_error {
		cs, n := cints(pads)
		return C.gs_pad(t.h, cs, n, C.double(value), out)
	})
}

// Interpolate resizes the spatial dimensions of an NCHW tensor, bilinearly
// (align_corners=false) or to the nearest neighbour.
func (t *Tensor) Interpolate(h, w int64, bilinear bool) *Tensor {
	size := [2]int64{h, w}
	return call("interpolate", []*Tensor{t}, func(out *C.gs_tensor) C.gs_error {
		return C.gs_interpolate(t.h, pair(size), bint(bilinear), out)
	})
}

// Cat concatenates along dim.
func Cat(ts []*Tensor, dim int64) *Tensor {
	if len(ts) == 0 {
		return errTensor(fmt.Errorf("cat: no tensors"))
	}
	return call("cat", ts, func(out *C.gs_tensor) C.gs_error {
		hs := make([]C.gs_tensor, len(ts))
		for i, t := range ts {
			hs[i] = t.h
		}
		// hs holds C pointers only, so passing it to C is allowed.
		return C.gs_cat(&hs[0], C.int(len(hs)), C.int64_t(dim), out)
	})
}

// ReluInPlace is Relu written over its input (torch.relu_): the result
// shares the input's storage, saving a buffer per activation. Use it only
// where nothing else reads the input afterwards.
func (t *Tensor) ReluInPlace() *Tensor { return unary("relu_", C.GS_RELU_, t) }

// Relu6InPlace is Relu6 written over its input.
func (t *Tensor) Relu6InPlace() *Tensor { return unary("relu6_", C.GS_RELU6_, t) }

// handles lists ts's handles for a C array; nil tensors give NULL. They
// are C pointers only, so the slice may be passed to C.
func handles(name string, ts []*Tensor) ([]C.gs_tensor, error) {
	hs := make([]C.gs_tensor, len(ts)+1) // never empty: &hs[0] is valid
	for i, t := range ts {
		if t == nil {
			continue
		}
		if err := t.usable(); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		hs[i] = t.h
	}
	return hs, nil
}

// AdamStep is one Adam (decoupled false: weight decay as L2 on the
// gradient) or AdamW (decoupled: p *= 1-lr·wd first) update of every
// parameter ps[i] from its gradient gs[i] and moments ms[i], vs[i], with
// bias corrections bc1[i] = 1-β1^t and bc2[i] = 1-β2^t (t per parameter:
// a parameter may start late). One native call for the group and, for
// CPU float32 tensors of one layout, one pass over each parameter's
// memory; the result equals the unfused ATen sequence to rounding.
//
// A gradient may be bfloat16: that of the weight's low-precision copy
// lows[i] (nn.Model.KeepLowWeights), which the same pass rewrites from the
// updated weight. lows may be nil, and so may its entries.
func AdamStep(ps, gs, ms, vs, lows []*Tensor, bc1, bc2 []float64, lr, beta1, beta2, eps, wd float64, decoupled bool) error {
	n := len(ps)
	if len(gs) != n || len(ms) != n || len(vs) != n || len(bc1) != n || len(bc2) != n || (lows != nil && len(lows) != n) {
		return fmt.Errorf("adam step: %d parameters, %d gradients, %d/%d moments, %d/%d corrections, %d copies", n, len(gs), len(ms), len(vs), len(bc1), len(bc2), len(lows))
	}
	if n == 0 {
		return nil
	}
	var all [5][]C.gs_tensor
	for i, ts := range [][]*Tensor{ps, gs, ms, vs, lows} {
		hs, err := handles("adam step", ts)
		if err != nil {
			return err
		}
		all[i] = hs
	}
	err := check("adam step", C.gs_adam_step(&all[0][0], &all[1][0], &all[2][0], &all[3][0], &all[4][0],
		(*C.double)(unsafe.Pointer(&bc1[0])), (*C.double)(unsafe.Pointer(&bc2[0])), C.int(n),
		C.double(lr), C.double(beta1), C.double(beta2), C.double(eps), C.double(wd), bint(decoupled)))
	runtime.KeepAlive(ps)
	runtime.KeepAlive(gs)
	runtime.KeepAlive(ms)
	runtime.KeepAlive(vs)
	runtime.KeepAlive(lows)
	return err
}

// SGDStep is one SGD update of every parameter ps[i] from its gradient
// gs[i]: weight decay as L2, then momentum into bufs[i] (fresh[i]: the
// buffer takes the gradient as its first value, as PyTorch's does), then
// Nesterov's look-ahead. bufs may be nil when momentum is 0. One native
// call for the group, as AdamStep; gradients and lows as AdamStep's.
func SGDStep(ps, gs, bufs, lows []*Tensor, fresh []bool, lr, momentum, wd float64, nesterov bool) error {
	n := len(ps)
	if len(gs) != n || (momentum != 0 && (len(bufs) != n || len(fresh) != n)) || (lows != nil && len(lows) != n) {
		return fmt.Errorf("sgd step: %d parameters, %d gradients, %d buffers, %d copies", n, len(gs), len(bufs), len(lows))
	}
	if n == 0 {
		return nil
	}
	hp, err := handles("sgd step", ps)
	if err != nil {
		return err
	}
	hg, err := handles("sgd step", gs)
	if err != nil {
		return err
	}
	hb, err := handles("sgd step", bufs)
	if err != nil {
		return err
	}
	fr := make([]C.int, n)
	for i := range fresh {
		fr[i] = bint(fresh[i])
	}
	hl, err := handles("sgd step", lows)
	if err != nil {
		return err
	}
	err = check("sgd step", C.gs_sgd_step(&hp[0], &hg[0], &hb[0], &hl[0], &fr[0], C.int(n), C.double(lr), C.double(momentum), C.double(wd), bint(nesterov)))
	runtime.KeepAlive(ps)
	runtime.KeepAlive(gs)
	runtime.KeepAlive(bufs)
	runtime.KeepAlive(lows)
	return err
}

// LowCopy is a detached copy of the weight t in dtype, in t's layout,
// requiring gradients as t does: what a layer computes with under mixed
// precision when it keeps a copy (nn.Model.KeepLowWeights).
func (t *Tensor) LowCopy(dtype DType) *Tensor {
	return call("low copy", []*Tensor{t}, func(out *C.gs_tensor) C.gs_error { return C.gs_low_copy(t.h, C.int(dtype), out) })
}

// LowGradToMaster moves low's gradient, widened, into master's (adding it
// to one already there): for steps that read float32 gradients, clipping
// and L2-SP.
func LowGradToMaster(master, low *Tensor) error {
	if err := firstUsable(master, low); err != nil {
		return fmt.Errorf("low gradient: %w", err)
	}
	defer runtime.KeepAlive(master)
	defer runtime.KeepAlive(low)
	return check("low gradient", C.gs_low_grad_to_master(master.h, low.h))
}

// firstUsable is the first of ts that cannot be used, as an error.
func firstUsable(ts ...*Tensor) error {
	for _, t := range ts {
		if err := t.usable(); err != nil {
			return err
		}
	}
	return nil
}
