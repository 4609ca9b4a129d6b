package torch

// #include "graft_shim.h"
import "C"

import (
	"fmt"
	"runtime"
	"strings"

	"golang.org/x/sys/cpu"
)

// Precision is the arithmetic a forward pass runs in. Weights, gradients,
// optimizer state and checkpoints stay float32 whatever it is (mixed
// precision, Micikevicius et al. 2018): only the operations ATen's autocast
// lists — convolutions, matrix products — run in the lower type, on
// low-precision copies of the weights made once per forward pass.
type Precision string

// Precisions graft runs in. The zero value is FP32.
const (
	FP32 Precision = "fp32"
	BF16 Precision = "bf16"
	FP16 Precision = "fp16"
)

// ParsePrecision reads a precision name; the empty string is fp32.
func ParsePrecision(s string) (Precision, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "fp32", "float32", "float":
		return FP32, nil
	case "bf16", "bfloat16":
		return BF16, nil
	case "fp16", "float16", "half":
		return FP16, nil
	}
	return "", fmt.Errorf("unknown precision %q: choose fp32, bf16 or fp16", s)
}

// Name is the precision's canonical name; the zero value reads fp32.
func (p Precision) Name() Precision {
	if p == "" {
		return FP32
	}
	return p
}

// Mixed reports whether forward passes run in a lower type than float32.
func (p Precision) Mixed() bool { return p.Name() != FP32 }

// DType is the type autocast computes in.
func (p Precision) DType() DType {
	switch p.Name() {
	case BF16:
		return BFloat16
	case FP16:
		return Float16
	}
	return Float32
}

// CPUHasBF16 reports whether this CPU computes bfloat16 natively
// (AVX512-BF16, which AMX machines also have). Without it oneDNN emulates
// bfloat16 and a bf16 run is slower than fp32, so graft refuses it rather
// than fall back silently.
func CPUHasBF16() bool { return cpu.X86.HasAVX512BF16 }

// Check says why p cannot run on dev, or nil. bf16 needs a CPU with
// native bfloat16 or a CUDA device; fp16 needs CUDA (fit scales its loss
// with optim.Scaler), since CPU autocast in libtorch
// 1.13 has no float16 kernels worth using.
func (p Precision) Check(dev Device) error {
	switch p.Name() {
	case FP32:
		return nil
	case BF16:
		if dev != CPU || CPUHasBF16() {
			return nil
		}
		return fmt.Errorf("--precision bf16 needs a CPU with AVX512-BF16 (or a CUDA device), and this %s CPU has none: bf16 would be emulated and slower than fp32; use --precision fp32", runtime.GOARCH)
	case FP16:
		if dev != CPU {
			return nil
		}
		return fmt.Errorf("--precision fp16 runs on CUDA only; on this CPU use --precision bf16 (with AVX512-BF16) or fp32")
	}
	return fmt.Errorf("unknown precision %q: choose fp32, bf16 or fp16", string(p))
}

// Autocast runs f with ATen's autocast at p on dev, as PyTorch's
// torch.autocast(device, dtype) block; at fp32 it just runs f. Autocast
// state is thread-local in libtorch, so the goroutine is pinned to its OS
// thread while f runs, and every op f issues must run on this goroutine.
func (p Precision) Autocast(dev Device, f func()) error {
	if !p.Mixed() {
		f()
		return nil
	}
	if err := p.Check(dev); err != nil {
		return err
	}
	defer LockThread()()
	var saved [2]C.int64_t
	if err := check("autocast "+string(p.Name()), C.gs_autocast_enter(dev.code(), C.int(p.DType()), &saved[0])); err != nil {
		return err
	}
	defer C.gs_autocast_exit(dev.code(), &saved[0])
	f()
	return nil
}

// Run computes f's tensor under p's autocast on dev and hands it back as
// float32, so whatever reads it — a loss, the frozen-prefix cache, an
// argmax, a softmax — sees float32 at every precision. At fp32 it is f().
func (p Precision) Run(dev Device, f func() *Tensor) *Tensor {
	if !p.Mixed() {
		return f()
	}
	var out *Tensor
	if err := p.Autocast(dev, func() { out = f() }); err != nil {
		return errTensor(err)
	}
	if out.Err() != nil || out.DType() == Float32 {
		return out
	}
	return out.To(Float32, out.Device())
}

// SetGEMMWeightGrad chooses how a trained convolution on small maps (at
// most 16 output positions an image, such as a ResNet's last stages at
// 64×64) computes its weight gradient in bf16 on the CPU: on (the
// default), as one im2col matrix product, which oneDNN's bf16 matmul runs
// up to 5× faster than its bf16 backward-weights kernel does on such maps;
// off, with that kernel, as ATen does. The values agree to bf16 rounding,
// not bit for bit. Process-wide; graft bench --onednn-wgrad turns it off
// to measure what it saves.
func SetGEMMWeightGrad(on bool) { C.gs_set_gemm_wgrad(bint(on)) }

// GEMMWeightGrad reports SetGEMMWeightGrad's setting.
func GEMMWeightGrad() bool { return C.gs_gemm_wgrad() != 0 }

// GEMMWeightGradCalls counts the weight gradients computed as a matrix
// product (SetGEMMWeightGrad) since the process started.
func GEMMWeightGradCalls() int64 { return int64(C.gs_gemm_wgrad_calls()) }
