package torch

/*
#include "graft_shim.h"
*/
import "C"

import "runtime"

// SetRequiresGrad marks a leaf tensor (a parameter) for gradient tracking.
func (t *Tensor) SetRequiresGrad(on bool) error {
	if err := t.usable(); err != nil {
		return err
	}
	defer runtime.KeepAlive(t)
	return check("set_requires_grad", C.gs_set_requires_grad(t.h, bint(on)))
}

// RequiresGrad reports whether autograd tracks t.
func (t *Tensor) RequiresGrad() bool {
	if t.usable() != nil {
		return false
	}
	defer runtime.KeepAlive(t)
	return C.gs_requires_grad(t.h) != 0
}

// Grad is the gradient accumulated in t by Backward, as a new handle that the
// caller owns (or nil, nil when there is none).
func (t *Tensor) Grad() (*Tensor, error) {
	if err := t.usable(); err != nil {
		return nil, err
	}
	var out C.gs_tensor
	err := check("grad", C.gs_grad(t.h, &out))
	runtime.KeepAlive(t)
	if err != nil || out == nil {
		return nil, err
	}
	return adopt(out, nil), nil
}

// ZeroGrad drops t's gradient (PyTorch's set_to_none=True).
func (t *Tensor) ZeroGrad() error {
	if err := t.usable(); err != nil {
		return err
	}
	defer runtime.KeepAlive(t)
	return check("zero_grad", C.gs_zero_grad(t.h))
}

// Backward computes gradients of the scalar t with respect to every leaf
// that requires them, accumulating into their Grad.
func (t *Tensor) Backward() error {
	if err := t.usable(); err != nil {
		return err
	}
	defer runtime.KeepAlive(t)
	return check("backward", C.gs_backward(t.h))
}
