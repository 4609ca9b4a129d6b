/*
 * graft_shim.h — the C ABI between graft (Go) and libtorch (C++).
 *
 * Why a C ABI: cgo speaks C only, and a plain C header lets the shim be built
 * on its own (against Debian's libtorch 1.13, or a CUDA libtorch 2.x on a GPU
 * machine) and swapped under an already-built Go binary.
 *
 * Conventions:
 *  - gs_tensor is an opaque owned handle (a heap-allocated at::Tensor). Every
 *    handle returned through an out-parameter must be released with gs_free.
 *  - Functions that can fail return NULL on success or a malloc'd, NUL-
 *    terminated error message that the caller releases with gs_free_error.
 *    C++ exceptions never cross this boundary.
 *  - Optional tensor arguments may be NULL.
 *  - device: -1 is the CPU, n >= 0 is CUDA device n.
 *  - Only APIs present in both libtorch 1.13 and 2.x are used.
 */
#ifndef GRAFT_SHIM_H
#define GRAFT_SHIM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef void *gs_tensor;
typedef char *gs_error;

/* The version of the declarations below. It is raised whenever one of them
 * changes, and a graft binary refuses a shim whose gs_abi differs from the
 * GS_ABI it was compiled with (torch.CheckShim): the binary finds the
 * library through its run path or LD_LIBRARY_PATH, and calling a shim
 * built from another header passes arguments it reads differently, which
 * trains garbage instead of failing. torch's TestShimABI keeps this
 * header's hash beside the version, so a change without a raise fails. */
#define GS_ABI 5
int gs_abi(void);

/* dtypes */
enum { GS_FLOAT32 = 0, GS_INT64 = 1, GS_FLOAT64 = 2, GS_UINT8 = 3, GS_BOOL = 4, GS_FLOAT16 = 5, GS_BFLOAT16 = 6, GS_INT32 = 7 };

/* memory formats; GS_MKLDNN (gs_to only) is oneDNN's own opaque layout, which
 * only the prepacked convolution (gs_mkldnn_conv2d), in-place ReLU, add, max
 * pooling and gs_to understand: gs_to(..., GS_CONTIGUOUS) turns it back into
 * a dense tensor */
enum { GS_CONTIGUOUS = 0, GS_CHANNELS_LAST = 1, GS_MKLDNN = 2 };

/* unary operators (gs_unary) */
enum {
  GS_RELU = 0, GS_RELU6, GS_SILU, GS_SIGMOID, GS_HARDSWISH, GS_HARDSIGMOID, GS_TANH,
  GS_EXP, GS_LOG, GS_SQRT, GS_NEG, GS_ABS, GS_SQUARE, GS_RECIPROCAL, GS_GELU, GS_ERF,
  GS_FLOOR, GS_CEIL, GS_SIGN,
  GS_RELU_, GS_RELU6_ /* in place: the result shares the input's storage, as torchvision's inplace=True */
};

/* binary operators (gs_binary); broadcasting follows ATen */
enum { GS_ADD = 0, GS_SUB, GS_MUL, GS_DIV, GS_MAXIMUM, GS_MINIMUM, GS_POW, GS_EQ, GS_GT, GS_LT };

/* tensor-scalar operators (gs_scalar) */
enum { GS_ADD_S = 0, GS_MUL_S, GS_POW_S, GS_DIV_S, GS_RSUB_S, GS_LEAKY_RELU_S, GS_CLAMP_MIN_S, GS_CLAMP_MAX_S };

/* in-place updates (gs_inplace) used by optimizers and initialisers */
enum {
  GS_COPY_ = 0,    /* a.copy_(b) */
  GS_ADD_,         /* a.add_(b, alpha) */
  GS_MUL_,         /* a.mul_(b) */
  GS_ADDCMUL_,     /* a.addcmul_(b, c, alpha) */
  GS_ADDCDIV_,     /* a.addcdiv_(b, c, alpha) */
  GS_LERP_         /* a.lerp_(b, alpha) */
};
enum { GS_FILL_ = 0, GS_MUL_S_, GS_ADD_S_, GS_UNIFORM_, GS_NORMAL_, GS_CLAMP_ };

/* reductions (gs_reduce) */
enum { GS_SUM = 0, GS_MEAN, GS_AMAX, GS_AMIN, GS_ARGMAX, GS_NORM2, GS_VAR };

/* ---- library ---- */
/* tunes glibc malloc for training loops (see graft_shim.cpp); called once by the Go package */
void gs_tune_allocator(int64_t keep_bytes);
void gs_free_error(gs_error e);
void gs_version(char *buf, int n);
gs_error gs_set_num_threads(int n);
int gs_get_num_threads(void);
void gs_manual_seed(uint64_t seed);
int gs_cuda_device_count(void);
int gs_grad_enabled(void);
void gs_set_grad_enabled(int enabled);
/* autocast (mixed precision): gs_autocast_enter turns ATen's autocast on for
 * the CPU (device -1) or CUDA (device >= 0) at dtype (GS_BFLOAT16 or
 * GS_FLOAT16) on the calling thread and fills saved[2] with the state it
 * found; gs_autocast_exit(device, saved) restores it and, when the outermost
 * region ends, drops the cached low-precision copies of the weights. */
gs_error gs_autocast_enter(int device, int dtype, int64_t *saved);
void gs_autocast_exit(int device, const int64_t *saved);
/* Under bf16 on the CPU, a trained convolution whose output maps are small
 * (at most GS_GEMM_WGRAD_MAX_POSITIONS positions an image) computes its
 * weight gradient as one im2col matrix product instead of oneDNN's bf16
 * backward-weights kernel, which is slow on such maps (BENCHMARKS.md).
 * on = 0 keeps oneDNN's everywhere (to measure what this saves); on by
 * default. The setting is process-wide; gs_gemm_wgrad_calls counts the
 * weight gradients computed this way since the process started. */
#define GS_GEMM_WGRAD_MAX_POSITIONS 16
void gs_set_gemm_wgrad(int on);
int gs_gemm_wgrad(void);
int64_t gs_gemm_wgrad_calls(void);

/* ---- handles and data ---- */
void gs_free(gs_tensor t);
gs_error gs_from_data(const void *data, int dtype, const int64_t *shape, int ndim, int device, gs_tensor *out);
/* copies the tensor (any device/layout) into dst as dtype; n is the element count of dst */
gs_error gs_copy_out(gs_tensor t, int dtype, void *dst, int64_t n);
gs_error gs_shape(gs_tensor t, int64_t *shape, int *ndim);
int gs_dtype(gs_tensor t);
int gs_device(gs_tensor t);
/* 1 when t is in oneDNN's layout (GS_MKLDNN), 0 when dense */
int gs_is_mkldnn(gs_tensor t);
gs_error gs_item(gs_tensor t, double *out);
gs_error gs_full(const int64_t *shape, int ndim, double value, int dtype, int device, gs_tensor *out);
gs_error gs_rand(const int64_t *shape, int ndim, int normal, int device, gs_tensor *out);
gs_error gs_randperm(int64_t n, int device, gs_tensor *out);
/* zeros with t's shape, dtype, device and memory layout (strides) */
gs_error gs_zeros_like(gs_tensor t, gs_tensor *out);
gs_error gs_to(gs_tensor t, int dtype, int device, int memory_format, gs_tensor *out);
gs_error gs_clone(gs_tensor t, gs_tensor *out);
gs_error gs_detach(gs_tensor t, gs_tensor *out);
gs_error gs_alias(gs_tensor t, gs_tensor *out);
/* moves/converts t in place (same handle, same autograd identity): parameters keep their identity when moved */
gs_error gs_set_data_to(gs_tensor t, int dtype, int device, int memory_format);

/* ---- autograd ---- */
gs_error gs_set_requires_grad(gs_tensor t, int on);
int gs_requires_grad(gs_tensor t);
/* *out is NULL when no gradient has been accumulated */
gs_error gs_grad(gs_tensor t, gs_tensor *out);
gs_error gs_zero_grad(gs_tensor t);
gs_error gs_backward(gs_tensor t);

/* ---- operators ---- */
gs_error gs_unary(int op, gs_tensor x, gs_tensor *out);
gs_error gs_binary(int op, gs_tensor a, gs_tensor b, gs_tensor *out);
gs_error gs_scalar(int op, gs_tensor a, double s, gs_tensor *out);
gs_error gs_inplace(int op, gs_tensor a, gs_tensor b, gs_tensor c, double alpha);
gs_error gs_inplace_scalar(int op, gs_tensor a, double s1, double s2);
gs_error gs_conv2d(gs_tensor x, gs_tensor w, gs_tensor b, const int64_t *stride, const int64_t *padding,
                   const int64_t *dilation, int64_t groups, gs_tensor *out);
gs_error gs_conv_transpose2d(gs_tensor x, gs_tensor w, gs_tensor b, const int64_t *stride, const int64_t *padding,
                             const int64_t *output_padding, const int64_t *dilation, int64_t groups, gs_tensor *out);
gs_error gs_batch_norm(gs_tensor x, gs_tensor w, gs_tensor b, gs_tensor running_mean, gs_tensor running_var,
                       int training, double momentum, double eps, gs_tensor *out);
gs_error gs_linear(gs_tensor x, gs_tensor w, gs_tensor b, gs_tensor *out);
/* A convolution's weight and bias (b may be NULL) with the inference-mode
 * BatchNorm after it folded in: w·γ/√(σ²+ε) and β + (b − μ)·γ/√(σ²+ε),
 * computed in float64 and rounded to float32 once, as new dense tensors on
 * w's device (NCHW). */
gs_error gs_fold_conv_bn(gs_tensor w, gs_tensor b, gs_tensor bn_weight, gs_tensor bn_bias, gs_tensor bn_mean,
                         gs_tensor bn_var, double bn_eps, gs_tensor *w_out, gs_tensor *b_out);
int gs_has_mkldnn(void); /* 1 when this libtorch was built with oneDNN (MKLDNN) */
/* Inference with prepacked weights: gs_mkldnn_pack_conv reorders a
 * convolution's weight once into the blocked layout oneDNN's kernel wants
 * (as dtype: GS_FLOAT32 or GS_BFLOAT16) and its bias (may be NULL) into
 * oneDNN's layout, first folding in the inference-mode BatchNorm that
 * follows it when bn_mean is not NULL (as gs_fold_conv_bn; *b_out is then
 * always set);
 * gs_mkldnn_conv2d convolves an input in oneDNN's layout with them, giving
 * an output in that layout. No autograd. */
gs_error gs_mkldnn_pack_conv(gs_tensor w, gs_tensor b, gs_tensor bn_weight, gs_tensor bn_bias, gs_tensor bn_mean,
                             gs_tensor bn_var, double bn_eps, const int64_t *stride, const int64_t *padding,
                             const int64_t *dilation, int64_t groups, int dtype, gs_tensor *w_out, gs_tensor *b_out);
gs_error gs_mkldnn_conv2d(gs_tensor x, gs_tensor w, gs_tensor b, const int64_t *stride, const int64_t *padding,
                          const int64_t *dilation, int64_t groups, gs_tensor *out);
gs_error gs_matmul(gs_tensor a, gs_tensor b, gs_tensor *out);
gs_error gs_max_pool2d(gs_tensor x, const int64_t *kernel, const int64_t *stride, const int64_t *padding,
                       const int64_t *dilation, int ceil_mode, gs_tensor *out);
gs_error gs_avg_pool2d(gs_tensor x, const int64_t *kernel, const int64_t *stride, const int64_t *padding,
                       int ceil_mode, int count_include_pad, gs_tensor *out);
gs_error gs_adaptive_avg_pool2d(gs_tensor x, const int64_t *size, gs_tensor *out);
gs_error gs_dropout(gs_tensor x, double p, int training, gs_tensor *out);
gs_error gs_softmax(gs_tensor x, int64_t dim, int log, gs_tensor *out);
gs_error gs_cross_entropy(gs_tensor logits, gs_tensor target, double label_smoothing, gs_tensor *out);
gs_error gs_reduce(int op, gs_tensor x, const int64_t *dims, int ndims, int keepdim, gs_tensor *out);
gs_error gs_reshape(gs_tensor x, const int64_t *shape, int ndim, gs_tensor *out);
gs_error gs_permute(gs_tensor x, const int64_t *perm, int ndim, gs_tensor *out);
gs_error gs_flatten(gs_tensor x, int64_t start, int64_t end, gs_tensor *out);
gs_error gs_cat(const gs_tensor *xs, int n, int64_t dim, gs_tensor *out);
gs_error gs_narrow(gs_tensor x, int64_t dim, int64_t start, int64_t length, gs_tensor *out);
gs_error gs_index_select(gs_tensor x, int64_t dim, gs_tensor index, gs_tensor *out);
gs_error gs_pad(gs_tensor x, const int64_t *pads, int npads, double value, gs_tensor *out);
gs_error gs_clamp(gs_tensor x, double lo, double hi, gs_tensor *out);
gs_error gs_where(gs_tensor cond, gs_tensor a, gs_tensor b, gs_tensor *out);
gs_error gs_interpolate(gs_tensor x, const int64_t *size, int bilinear, gs_tensor *out);

/* ---- fused optimizer steps: one call per parameter group, one pass over
 * each parameter's memory where the tensors allow it (CPU float32, the same
 * dense layout), ATen's ops in the same order otherwise ---- */

/* Adam (decoupled = 0: L2 added to the gradient) or AdamW (decoupled = 1:
 * p *= 1 - lr*wd first), for n parameters with their gradients, first and
 * second moments and bias corrections bc1[i] = 1 - beta1^t_i,
 * bc2[i] = 1 - beta2^t_i. Gradients are not modified; a gradient may be
 * bfloat16 (that of the weight's low-precision copy). low[i], where low
 * and low[i] are not NULL, is the weight's bfloat16 copy, rewritten from
 * the updated weight in the same pass. */
gs_error gs_adam_step(const gs_tensor *p, const gs_tensor *g, const gs_tensor *m, const gs_tensor *v,
                      const gs_tensor *low, const double *bc1, const double *bc2, int n, double lr, double beta1,
                      double beta2, double eps, double wd, int decoupled);
/* SGD with optional weight decay, momentum (buf; fresh[i] != 0 takes the
 * gradient as the buffer's first value, as PyTorch does) and Nesterov. buf
 * may be NULL when momentum is 0; gradients and low as for Adam. Gradients
 * are not modified. */
gs_error gs_sgd_step(const gs_tensor *p, const gs_tensor *g, const gs_tensor *buf, const gs_tensor *low,
                     const int *fresh, int n, double lr, double momentum, double wd, int nesterov);

/* ---- low-precision copies of weights: a bf16 leaf the forward computes
 * with, so that autocast casts no weight per step and backward casts no
 * gradient back; the optimizer updates the float32 master and rewrites
 * the copy ---- */

/* A detached copy of t in dtype, in t's layout, requiring gradients as t does. */
gs_error gs_low_copy(gs_tensor t, int dtype, gs_tensor *out);
/* Moves low's gradient, widened, into master's (added to one already
 * there), for what must read float32 gradients (clipping, L2-SP). */
gs_error gs_low_grad_to_master(gs_tensor master, gs_tensor low);

#ifdef __cplusplus
}
#endif
#endif
