package torch

/*
#include "graft_shim.h"
*/
import "C"

import (
	"fmt"
	"runtime"
)

// Prepacked inference. ATen's convolution reorders a dense weight into the
// blocked layout oneDNN's kernels want on every call, and a dense
// activation into and out of it around every convolution that has no
// kernel for the dense layout. For inference, where the weights do not
// change, PackConv2d reorders a weight once, and activations can stay in
// oneDNN's layout (ToMKLDNN) from one convolution to the next: in-place
// ReLU, in-place add and max pooling take them as they are. Nothing here
// records autograd.

// HasMKLDNN reports whether libtorch was built with oneDNN, which the rest
// of this file needs.
func HasMKLDNN() bool { return C.gs_has_mkldnn() != 0 }

// ToMKLDNN converts a CPU tensor into oneDNN's opaque layout with element
// type dt (Float32 or BFloat16); an input already there as dt comes back
// as it is.
func (t *Tensor) ToMKLDNN(dt DType) *Tensor {
	return call("to_mkldnn", []*Tensor{t}, func(out *C.gs_tensor) C.gs_error {
		return C.gs_to(t.h, C.int(dt), CPU.code(), C.GS_MKLDNN, out)
	})
}

// ToDense converts a tensor in oneDNN's layout into a contiguous dense one
// of the same element type; a dense tensor comes back as it is.
func (t *Tensor) ToDense() *Tensor {
	return call("to_dense", []*Tensor{t}, func(out *C.gs_tensor) C.gs_error {
		if C.gs_is_mkldnn(t.h) == 0 {
			return C.gs_alias(t.h, out)
		}
		return C.gs_to(t.h, -1, CPU.code(), C.GS_CONTIGUOUS, out)
	})
}

// IsMKLDNN reports whether t is in oneDNN's layout.
func (t *Tensor) IsMKLDNN() bool {
	if t.usable() != nil {
		return false
	}
	defer runtime.KeepAlive(t)
	return C.gs_is_mkldnn(t.h) != 0
}

// FoldBN is an inference-mode BatchNorm for PackConv2d to fold into the
// convolution before it.
type FoldBN struct {
	Weight, Bias, Mean, Var *Tensor
	Eps                     float64
}

// FoldConvBN returns a convolution's weight and bias (b may be nil) with
// bn folded in — w·γ/√(σ²+ε) and β + (b − μ)·γ/√(σ²+ε), computed in float64
// and rounded to float32 once — as new dense tensors on w's device, owned by
// the caller: a convolution followed by an inference-mode BatchNorm is one
// convolution.
func FoldConvBN(w, b *Tensor, bn FoldBN) (fw, fb *Tensor, err error) {
	ins, err := convOperands("fold BatchNorm", w, b, &bn)
	if err != nil {
		return nil, nil, err
	}
	var ow, ob C.gs_tensor
	err = check("fold_conv_bn", C.gs_fold_conv_bn(w.h, b.hh(), bn.Weight.h, bn.Bias.h, bn.Mean.h, bn.Var.h, C.double(bn.Eps), &ow, &ob))
	runtime.KeepAlive(ins)
	if err != nil {
		return nil, nil, err
	}
	return adopt(ow, nil), adopt(ob, nil), nil
}

// convOperands lists a convolution's weight, its bias (may be nil) and,
// when bn is set, the BatchNorm to fold into them, checking that each is
// there and usable: FoldConvBN's and PackConv2d's one check.
func convOperands(op string, w, b *Tensor, bn *FoldBN) ([]*Tensor, error) {
	if w == nil {
		return nil, fmt.Errorf("%s: no weight", op)
	}
	ins := []*Tensor{w, b}
	if bn != nil {
		if bn.Weight == nil || bn.Bias == nil || bn.Mean == nil || bn.Var == nil {
			return nil, fmt.Errorf("%s: folding a BatchNorm needs its weight, bias, mean and variance", op)
		}
		ins = append(ins, bn.Weight, bn.Bias, bn.Mean, bn.Var)
	}
	for _, t := range ins {
		if t == nil {
			continue
		}
		if err := t.usable(); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
	}
	return ins, nil
}

// PackConv2d reorders a convolution's weight (and bias, which may be nil)
// once for MKLDNNConv2d with options o, computing in dt (Float32 or
// BFloat16), first folding bn into them when it is not nil (the packed
// bias is then never nil). The results are new tensors owned by the
// caller; w and b are left as they are.
func PackConv2d(w, b *Tensor, bn *FoldBN, o Conv2dOpts, dt DType) (pw, pb *Tensor, err error) {
	ins, err := convOperands("pack convolution", w, b, bn)
	if err != nil {
		return nil, nil, err
	}
	var bw, bb, bm, bv *Tensor
	var eps float64
	if bn != nil {
		bw, bb, bm, bv, eps = bn.Weight, bn.Bias, bn.Mean, bn.Var, bn.Eps
	}
	o = o.norm()
	var ow, ob C.gs_tensor
	err = check("mkldnn_pack_conv", C.gs_mkldnn_pack_conv(w.h, b.hh(), bw.hh(), bb.hh(), bm.hh(), bv.hh(), C.double(eps),
		pair(o.Stride), pair(o.Padding), pair(o.Dilation), C.int64_t(o.Groups), C.int(dt), &ow, &ob))
	runtime.KeepAlive(ins)
	if err != nil {
		return nil, nil, err
	}
	pw = adopt(ow, nil)
	if ob != nil {
		pb = adopt(ob, nil)
	}
	return pw, pb, nil
}

// MKLDNNConv2d convolves x, in oneDNN's layout, with a weight and bias from
// PackConv2d made with the same options; the result is in oneDNN's layout.
func MKLDNNConv2d(x, pw, pb *Tensor, o Conv2dOpts) *Tensor {
	o = o.norm()
	return call("mkldnn_conv2d", []*Tensor{x, pw, pb}, func(out *C.gs_tensor) C.gs_error {
		return C.gs_mkldnn_conv2d(x.h, pw.h, pb.hh(), pair(o.Stride), pair(o.Padding), pair(o.Dilation), C.int64_t(o.Groups), out)
	})
}
