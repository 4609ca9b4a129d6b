// graft_shim.cpp — implementation of graft_shim.h over ATen and autograd.
//
// Every entry point runs its body inside GS_TRY so that a c10::Error (or any
// C++ exception) becomes an error string for Go instead of unwinding through
// cgo frames, which would abort the process.
#include "graft_shim.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>
#include <torch/cuda.h>
#include <torch/version.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/custom_function.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

namespace {

gs_error make_error(const char *msg) {
  // Only the first line of a c10::Error is for people; the rest is a C++
  // backtrace that would drown the message.
  std::string s(msg);
  auto nl = s.find("\nException raised from");
  if (nl != std::string::npos) s.resize(nl);
  char *out = static_cast<char *>(std::malloc(s.size() + 1));
  if (out) std::memcpy(out, s.c_str(), s.size() + 1);
  return out;
}

#define GS_TRY try {
#define GS_END                                                   \
  return nullptr;                                                \
  }                                                              \
  catch (const c10::Error &e) {                                  \
    return make_error(e.what_without_backtrace());               \
  }                                                              \
  catch (const std::exception &e) {                              \
    return make_error(e.what());                                 \
  }                                                              \
  catch (...) {                                                  \
    return make_error("unknown C++ exception in libtorch");      \
  }

inline at::Tensor &T(gs_tensor t) { return *static_cast<at::Tensor *>(t); }
inline gs_tensor wrap(at::Tensor t) { return new at::Tensor(std::move(t)); }
inline c10::optional<at::Tensor> opt(gs_tensor t) {
  if (!t) return c10::nullopt;
  return T(t);
}

at::ScalarType to_scalar_type(int dtype) {
  switch (dtype) {
    case GS_FLOAT32: return at::kFloat;
    case GS_INT64: return at::kLong;
    case GS_FLOAT64: return at::kDouble;
    case GS_UINT8: return at::kByte;
    case GS_BOOL: return at::kBool;
    case GS_FLOAT16: return at::kHalf;
    case GS_BFLOAT16: return at::kBFloat16;
    case GS_INT32: return at::kInt;
  }
  throw std::invalid_argument("unknown dtype code " + std::to_string(dtype));
}

int from_scalar_type(at::ScalarType s) {
  switch (s) {
    case at::kFloat: return GS_FLOAT32;
    case at::kLong: return GS_INT64;
    case at::kDouble: return GS_FLOAT64;
    case at::kByte: return GS_UINT8;
    case at::kBool: return GS_BOOL;
    case at::kHalf: return GS_FLOAT16;
    case at::kBFloat16: return GS_BFLOAT16;
    case at::kInt: return GS_INT32;
    default: return -1;
  }
}

at::Device to_device(int device) {
  if (device < 0) return at::Device(at::kCPU);
  return at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(device));
}

at::IntArrayRef ints(const int64_t *p, int n) { return at::IntArrayRef(p, static_cast<size_t>(n)); }

}  // namespace

extern "C" {

void gs_free_error(gs_error e) { std::free(e); }

void gs_tune_allocator(int64_t keep_bytes) {
#ifdef __GLIBC__
  // A training step frees and reallocates the same multi-megabyte
  // activations every iteration. glibc serves blocks above its mmap
  // threshold with fresh mmap calls and trims freed heap tops back to the
  // kernel, so every step pays page faults to zero memory it just gave
  // back. Raising both thresholds keeps those blocks in the heap for reuse;
  // RSS then stays flat at the working set instead of oscillating.
  // glibc caps the mmap threshold at 32 MiB on 64-bit systems.
  mallopt(M_MMAP_THRESHOLD, static_cast<int>(std::min<int64_t>(keep_bytes, 32 << 20)));
  mallopt(M_TRIM_THRESHOLD, static_cast<int>(std::min<int64_t>(keep_bytes, 1 << 30)));
  // Blocks above that cap were still mapped fresh on every allocation and
  // unmapped on every free: a detector at 320² allocates activations of
  // 50 MB and more every step and spent a third of its time in page
  // faults (perf), SSDLite training ran at 4.5 img/s. With no mmap at all
  // those blocks stay in the heap, and with one arena the heap is shared
  // by every thread that allocates (libtorch calls move between OS threads
  // with their goroutines), so a block freed on one serves the next step
  // on another: 17 img/s, classifiers unchanged (BENCHMARKS.md).
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_ARENA_MAX, 1);
#else
  (void)keep_bytes;
#endif
}

int gs_abi(void) { return GS_ABI; }

void gs_version(char *buf, int n) {
  std::string v = TORCH_VERSION;
  std::snprintf(buf, static_cast<size_t>(n), "%s", v.c_str());
}

gs_error gs_set_num_threads(int n) {
  GS_TRY
  at::set_num_threads(n);
  GS_END
}

int gs_get_num_threads(void) { return at::get_num_threads(); }

void gs_manual_seed(uint64_t seed) {
  // at::manual_seed seeds the CPU generator and, when CUDA is present, every
  // CUDA generator — one seed makes a run repeat.
  at::manual_seed(seed);
}

int gs_cuda_device_count(void) {
  try {
    return static_cast<int>(torch::cuda::device_count());
  } catch (...) {
    return 0;
  }
}

int gs_grad_enabled(void) { return at::GradMode::is_enabled() ? 1 : 0; }
void gs_set_grad_enabled(int enabled) { at::GradMode::set_enabled(enabled != 0); }

// Autocast is ATen's own (the AutocastCPU/AutocastCUDA dispatch keys), so
// which ops run in low precision is PyTorch's list, not ours. Its cache of
// cast weights (leaf tensors that require grad) lives while the nesting
// count is above zero; clearing it when the outermost region ends is what
// torch.autocast.__exit__ does, and what keeps a region after an optimizer
// step from reading weights cast before it.
gs_error gs_autocast_enter(int device, int dtype, int64_t *saved) {
  GS_TRY
  auto st = to_scalar_type(dtype);
  if (st != at::kBFloat16 && st != at::kHalf) throw std::invalid_argument("autocast takes bfloat16 or float16");
  if (device < 0) {
    saved[0] = at::autocast::is_cpu_enabled() ? 1 : 0;
    saved[1] = static_cast<int64_t>(at::autocast::get_autocast_cpu_dtype());
    at::autocast::set_autocast_cpu_dtype(st);
    at::autocast::set_cpu_enabled(true);
  } else {
    saved[0] = at::autocast::is_enabled() ? 1 : 0;
    saved[1] = static_cast<int64_t>(at::autocast::get_autocast_gpu_dtype());
    at::autocast::set_autocast_gpu_dtype(st);
    at::autocast::set_enabled(true);
  }
  at::autocast::increment_nesting();
  GS_END
}

void gs_autocast_exit(int device, const int64_t *saved) {
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  if (device < 0) {
    at::autocast::set_autocast_cpu_dtype(static_cast<at::ScalarType>(saved[1]));
    at::autocast::set_cpu_enabled(saved[0] != 0);
  } else {
    at::autocast::set_autocast_gpu_dtype(static_cast<at::ScalarType>(saved[1]));
    at::autocast::set_enabled(saved[0] != 0);
  }
}

void gs_free(gs_tensor t) { delete static_cast<at::Tensor *>(t); }

gs_error gs_from_data(const void *data, int dtype, const int64_t *shape, int ndim, int device, gs_tensor *out) {
  GS_TRY
  auto st = to_scalar_type(dtype);
  auto cpu = at::empty(ints(shape, ndim), at::TensorOptions().dtype(st));
  std::memcpy(cpu.data_ptr(), data, cpu.numel() * cpu.element_size());
  if (device >= 0) cpu = cpu.to(to_device(device));
  *out = wrap(cpu);
  GS_END
}

gs_error gs_copy_out(gs_tensor t, int dtype, void *dst, int64_t n) {
  GS_TRY
  at::Tensor src = T(t).is_mkldnn() ? T(t).to_dense() : T(t).detach();
  src = src.to(at::kCPU, to_scalar_type(dtype)).contiguous();
  if (src.numel() != n)
    throw std::invalid_argument("copy_out: tensor has " + std::to_string(src.numel()) +
                                " elements, destination has " + std::to_string(n));
  std::memcpy(dst, src.data_ptr(), n * src.element_size());
  GS_END
}

gs_error gs_shape(gs_tensor t, int64_t *shape, int *ndim) {
  GS_TRY
  auto s = T(t).sizes();
  if (static_cast<int>(s.size()) > *ndim) throw std::invalid_argument("tensor has too many dimensions");
  for (size_t i = 0; i < s.size(); i++) shape[i] = s[i];
  *ndim = static_cast<int>(s.size());
  GS_END
}

int gs_is_mkldnn(gs_tensor t) { return T(t).is_mkldnn() ? 1 : 0; }

int gs_dtype(gs_tensor t) { return from_scalar_type(T(t).scalar_type()); }

int gs_device(gs_tensor t) {
  auto d = T(t).device();
  return d.is_cuda() ? d.index() : -1;
}

gs_error gs_item(gs_tensor t, double *out) {
  GS_TRY
  *out = T(t).item<double>();
  GS_END
}

gs_error gs_full(const int64_t *shape, int ndim, double value, int dtype, int device, gs_tensor *out) {
  GS_TRY
  *out = wrap(at::full(ints(shape, ndim), value,
                       at::TensorOptions().dtype(to_scalar_type(dtype)).device(to_device(device))));
  GS_END
}

gs_error gs_rand(const int64_t *shape, int ndim, int normal, int device, gs_tensor *out) {
  GS_TRY
  auto o = at::TensorOptions().dtype(at::kFloat).device(to_device(device));
  *out = wrap(normal ? at::randn(ints(shape, ndim), o) : at::rand(ints(shape, ndim), o));
  GS_END
}

gs_error gs_randperm(int64_t n, int device, gs_tensor *out) {
  GS_TRY
  *out = wrap(at::randperm(n, at::TensorOptions().dtype(at::kLong).device(to_device(device))));
  GS_END
}

gs_error gs_zeros_like(gs_tensor t, gs_tensor *out) {
  GS_TRY
  at::NoGradGuard g;
  *out = wrap(at::zeros_like(T(t), at::MemoryFormat::Preserve));
  GS_END
}

gs_error gs_to(gs_tensor t, int dtype, int device, int memory_format, gs_tensor *out) {
  GS_TRY
  auto st = dtype < 0 ? T(t).scalar_type() : to_scalar_type(dtype);
  if (memory_format == GS_MKLDNN) {
    // to_mkldnn reads a contiguous NCHW tensor; any other strides are copied there first.
    *out = wrap(T(t).is_mkldnn() && T(t).scalar_type() == st ? T(t) : T(t).contiguous().to_mkldnn(st));
    return nullptr;
  }
  if (T(t).is_mkldnn()) {
    // Out of oneDNN's layout: a dense NCHW tensor, then the asked-for layout.
    auto dense = T(t).to_dense();
    auto mf = memory_format == GS_CHANNELS_LAST ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
    *out = wrap(dense.to(to_device(device), st, false, false, mf));
    return nullptr;
  }
  auto mf = memory_format == GS_CHANNELS_LAST ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
  *out = wrap(T(t).to(to_device(device), st, /*non_blocking=*/false, /*copy=*/false, mf));
  GS_END
}

gs_error gs_clone(gs_tensor t, gs_tensor *out) {
  GS_TRY
  *out = wrap(T(t).clone());
  GS_END
}

gs_error gs_detach(gs_tensor t, gs_tensor *out) {
  GS_TRY
  *out = wrap(T(t).detach());
  GS_END
}

gs_error gs_alias(gs_tensor t, gs_tensor *out) {
  GS_TRY
  *out = wrap(T(t));
  GS_END
}

gs_error gs_set_data_to(gs_tensor t, int dtype, int device, int memory_format) {
  GS_TRY
  auto st = dtype < 0 ? T(t).scalar_type() : to_scalar_type(dtype);
  auto mf = memory_format == GS_CHANNELS_LAST ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
  at::Tensor moved;
  {
    at::NoGradGuard g;
    moved = T(t).to(to_device(device), st, false, false, mf);
  }
  T(t).set_data(moved);
  GS_END
}

gs_error gs_set_requires_grad(gs_tensor t, int on) {
  GS_TRY
  T(t).set_requires_grad(on != 0);
  GS_END
}

int gs_requires_grad(gs_tensor t) { return T(t).requires_grad() ? 1 : 0; }

gs_error gs_grad(gs_tensor t, gs_tensor *out) {
  GS_TRY
  const at::Tensor &g = T(t).grad();
  *out = g.defined() ? wrap(g) : nullptr;
  GS_END
}

gs_error gs_zero_grad(gs_tensor t) {
  GS_TRY
  // Dropping the gradient (set_to_none) rather than zeroing it saves a
  // memset per parameter and lets backward write instead of accumulate.
  T(t).mutable_grad().reset();
  GS_END
}

gs_error gs_backward(gs_tensor t) {
  GS_TRY
  T(t).backward();
  GS_END
}

// relu6 is hardtanh(x, 0, 6), as PyTorch's nn.ReLU6, except in bf16 and
// fp16: libtorch 1.13's CPU hardtanh_backward has no kernel for them
// ("hardshrink_backward_cpu" not implemented for 'BFloat16', which is also
// why PyTorch's own autocast cannot train MobileNetV2 on the CPU), so there
// it is clamp, whose backward is built from comparisons and where. The two
// differ only in the gradient at exactly 0 and 6 (clamp passes it).
static bool reduced(const at::Tensor &x) {
  return x.scalar_type() == at::kBFloat16 || x.scalar_type() == at::kHalf;
}
static at::Tensor gs_relu6(const at::Tensor &x) {
  return reduced(x) ? at::clamp(x, 0.0, 6.0) : at::hardtanh(x, 0.0, 6.0);
}
static at::Tensor gs_relu6_(at::Tensor &x) {
  return reduced(x) ? at::clamp_(x, 0.0, 6.0) : at::hardtanh_(x, 0.0, 6.0);
}

gs_error gs_unary(int op, gs_tensor xh, gs_tensor *out) {
  GS_TRY
  const at::Tensor &x = T(xh);
  at::Tensor r;
  switch (op) {
    case GS_RELU: r = at::relu(x); break;
    case GS_RELU6: r = gs_relu6(x); break;
    case GS_SILU: r = at::silu(x); break;
    case GS_SIGMOID: r = at::sigmoid(x); break;
    case GS_HARDSWISH: r = at::hardswish(x); break;
    case GS_HARDSIGMOID: r = at::hardsigmoid(x); break;
    case GS_TANH: r = at::tanh(x); break;
    case GS_EXP: r = at::exp(x); break;
    case GS_LOG: r = at::log(x); break;
    case GS_SQRT: r = at::sqrt(x); break;
    case GS_NEG: r = at::neg(x); break;
    case GS_ABS: r = at::abs(x); break;
    case GS_SQUARE: r = at::square(x); break;
    case GS_RECIPROCAL: r = at::reciprocal(x); break;
    case GS_GELU: r = at::gelu(x); break;
    case GS_ERF: r = at::erf(x); break;
    case GS_FLOOR: r = at::floor(x); break;
    case GS_CEIL: r = at::ceil(x); break;
    case GS_SIGN: r = at::sign(x); break;
    case GS_RELU_: {
      at::Tensor y = x;
      r = at::relu_(y);
      break;
    }
    case GS_RELU6_: {
      at::Tensor y = x;
      r = gs_relu6_(y);
      break;
    }
    default: throw std::invalid_argument("unknown unary op " + std::to_string(op));
  }
  *out = wrap(r);
  GS_END
}

gs_error gs_binary(int op, gs_tensor ah, gs_tensor bh, gs_tensor *out) {
  GS_TRY
  const at::Tensor &a = T(ah), &b = T(bh);
  at::Tensor r;
  switch (op) {
    case GS_ADD: r = at::add(a, b); break;
    case GS_SUB: r = at::sub(a, b); break;
    case GS_MUL: r = at::mul(a, b); break;
    case GS_DIV: r = at::div(a, b); break;
    case GS_MAXIMUM: r = at::maximum(a, b); break;
    case GS_MINIMUM: r = at::minimum(a, b); break;
    case GS_POW: r = at::pow(a, b); break;
    case GS_EQ: r = at::eq(a, b); break;
    case GS_GT: r = at::gt(a, b); break;
    case GS_LT: r = at::lt(a, b); break;
    default: throw std::invalid_argument("unknown binary op " + std::to_string(op));
  }
  *out = wrap(r);
  GS_END
}

gs_error gs_scalar(int op, gs_tensor ah, double s, gs_tensor *out) {
  GS_TRY
  const at::Tensor &a = T(ah);
  at::Tensor r;
  switch (op) {
    case GS_ADD_S: r = at::add(a, s); break;
    case GS_MUL_S: r = at::mul(a, s); break;
    case GS_POW_S: r = at::pow(a, s); break;
    case GS_DIV_S: r = at::div(a, s); break;
    case GS_RSUB_S: r = at::rsub(a, s); break;
    case GS_LEAKY_RELU_S: r = at::leaky_relu(a, s); break;
    case GS_CLAMP_MIN_S: r = at::clamp_min(a, s); break;
    case GS_CLAMP_MAX_S: r = at::clamp_max(a, s); break;
    default: throw std::invalid_argument("unknown scalar op " + std::to_string(op));
  }
  *out = wrap(r);
  GS_END
}

gs_error gs_inplace(int op, gs_tensor ah, gs_tensor bh, gs_tensor ch, double alpha) {
  GS_TRY
  at::Tensor &a = T(ah);
  const at::Tensor &b = T(bh);
  switch (op) {
    case GS_COPY_: a.copy_(b); break;
    case GS_ADD_: a.add_(b, alpha); break;
    case GS_MUL_: a.mul_(b); break;
    case GS_ADDCMUL_: a.addcmul_(b, T(ch), alpha); break;
    case GS_ADDCDIV_: a.addcdiv_(b, T(ch), alpha); break;
    case GS_LERP_: a.lerp_(b, alpha); break;
    default: throw std::invalid_argument("unknown in-place op " + std::to_string(op));
  }
  GS_END
}

gs_error gs_inplace_scalar(int op, gs_tensor ah, double s1, double s2) {
  GS_TRY
  at::Tensor &a = T(ah);
  // An integer tensor (BatchNorm's num_batches_tracked) cannot take a
  // double scalar in place: libtorch would promote the result to float.
  c10::Scalar v1 = a.is_floating_point() ? c10::Scalar(s1) : c10::Scalar(static_cast<int64_t>(s1));
  switch (op) {
    case GS_FILL_: a.fill_(v1); break;
    case GS_MUL_S_: a.mul_(v1); break;
    case GS_ADD_S_: a.add_(v1); break;
    case GS_UNIFORM_: a.uniform_(s1, s2); break;
    case GS_NORMAL_: a.normal_(s1, s2); break;
    case GS_CLAMP_: a.clamp_(s1, s2); break;
    default: throw std::invalid_argument("unknown in-place scalar op " + std::to_string(op));
  }
  GS_END
}

// ---- the weight gradient of convolutions on small maps, as a matrix product ----
//
// oneDNN's bf16 backward-weights kernel (libtorch 1.13's) runs far below the
// machine's bf16 rate when the output maps are small: a 512->512 3x3
// convolution on 2x2 maps, batch 32, took 5.8-11.8 ms against 1.9-2.4 ms
// for the same arithmetic as one im2col matrix product, which oneDNN's bf16
// matmul runs near its peak; on 4x4 maps the product still won by
// 1.1-1.5x, on 8x8 and larger it lost by 0.4-0.9x at every width measured
// (BENCHMARKS.md, "Weight gradients of small maps";
// scripts/conv_wgrad_sweep.py). In fp32 oneDNN's kernel won everywhere, so
// only bf16 takes this path. ResNets meet such maps in their last stages
// at the small inputs graft fine-tunes at (64x64: 4x4 and 2x2).

namespace {

std::atomic<bool> gemm_wgrad{true};
std::atomic<int64_t> gemm_wgrad_calls{0};

// im2col of x (N, C, H, W in any memory format) into one row per output
// position, [N*Ho*Wo, kh*kw*C], each row ordered (kh, kw, c): the memory
// order of a channels-last weight, [Co, kh, kw, C].
at::Tensor im2col_rows(const at::Tensor &x, int64_t kh, int64_t kw, at::IntArrayRef stride, at::IntArrayRef pad) {
  at::Tensor xh = x.permute({0, 2, 3, 1});  // N H W C, a view
  xh = (pad[0] || pad[1]) ? at::constant_pad_nd(xh, {0, 0, pad[1], pad[1], pad[0], pad[0]}) : xh.contiguous();
  const int64_t n = xh.size(0), hp = xh.size(1), wp = xh.size(2), c = xh.size(3);
  const int64_t ho = (hp - kh) / stride[0] + 1, wo = (wp - kw) / stride[1] + 1;
  const auto st = xh.strides();
  at::Tensor patches = xh.as_strided({n, ho, wo, kh, kw, c}, {st[0], stride[0] * st[1], stride[1] * st[2], st[1], st[2], st[3]},
                                     xh.storage_offset());
  return patches.reshape({n * ho * wo, kh * kw * c});
}

// A convolution (groups 1, dilation 1) whose backward pass takes the input
// gradient from ATen as before and the weight gradient from im2col_rows.
struct GemmWgradConv : public torch::autograd::Function<GemmWgradConv> {
  static at::Tensor forward(torch::autograd::AutogradContext *ctx, const at::Tensor &x, const at::Tensor &w,
                            const c10::optional<at::Tensor> &b, std::vector<int64_t> stride, std::vector<int64_t> pad) {
    ctx->save_for_backward({x, w});
    ctx->saved_data["stride"] = stride;
    ctx->saved_data["pad"] = pad;
    ctx->saved_data["bias"] = b.has_value();
    return at::convolution(x, w, b, stride, pad, {1, 1}, false, {0, 0}, 1);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext *ctx,
                                                 torch::autograd::variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const at::Tensor &x = saved[0], &w = saved[1];
    const at::Tensor &go = grads[0];
    const auto stride = ctx->saved_data["stride"].toIntVector();
    const auto pad = ctx->saved_data["pad"].toIntVector();
    at::Tensor gx, gw, gb;
    if (ctx->needs_input_grad(0)) {
      gx = std::get<0>(at::convolution_backward(go, x, w, c10::nullopt, stride, pad, {1, 1}, false, {0, 0}, 1,
                                                {true, false, false}));
    }
    if (ctx->needs_input_grad(1)) {
      gemm_wgrad_calls.fetch_add(1, std::memory_order_relaxed);
      const int64_t co = w.size(0), c = w.size(1), kh = w.size(2), kw = w.size(3);
      at::Tensor rows = im2col_rows(x, kh, kw, stride, pad);          // [P, kh*kw*C]
      at::Tensor g = go.permute({0, 2, 3, 1}).reshape({-1, co});      // [P, Co]
      gw = at::mm(g.t(), rows).view({co, kh, kw, c}).permute({0, 3, 1, 2});  // channels-last [Co, C, kh, kw]
    }
    if (ctx->saved_data["bias"].toBool() && ctx->needs_input_grad(2)) gb = go.sum({0, 2, 3});
    return {gx, gw, gb, at::Tensor(), at::Tensor()};
  }
};

// gemm_wgrad_applies says whether conv2d's weight gradient goes through
// GemmWgradConv: a trained 2-D convolution in bf16 on the CPU (autocast, or
// bf16 operands), groups 1, dilation 1, output maps of at most
// GS_GEMM_WGRAD_MAX_POSITIONS positions.
bool gemm_wgrad_applies(const at::Tensor &x, const at::Tensor &w, at::IntArrayRef stride, at::IntArrayRef pad,
                        at::IntArrayRef dilation, int64_t groups) {
  if (!gemm_wgrad.load(std::memory_order_relaxed) || groups != 1 || dilation[0] != 1 || dilation[1] != 1) return false;
  if (!at::GradMode::is_enabled() || !w.requires_grad() || x.dim() != 4 || w.dim() != 4) return false;
  if (!x.device().is_cpu() || !w.device().is_cpu()) return false;
  const bool autocast_bf16 = at::autocast::is_cpu_enabled() && at::autocast::get_autocast_cpu_dtype() == at::kBFloat16;
  if (!autocast_bf16 && !(x.scalar_type() == at::kBFloat16 && w.scalar_type() == at::kBFloat16)) return false;
  const int64_t ho = (x.size(2) + 2 * pad[0] - w.size(2)) / stride[0] + 1;
  const int64_t wo = (x.size(3) + 2 * pad[1] - w.size(3)) / stride[1] + 1;
  return ho > 0 && wo > 0 && ho * wo <= GS_GEMM_WGRAD_MAX_POSITIONS;
}

at::Tensor to_bf16(const at::Tensor &t) { return t.scalar_type() == at::kBFloat16 ? t : t.to(at::kBFloat16); }

}  // namespace

void gs_set_gemm_wgrad(int on) { gemm_wgrad.store(on != 0); }
int gs_gemm_wgrad(void) { return gemm_wgrad.load() ? 1 : 0; }
int64_t gs_gemm_wgrad_calls(void) { return gemm_wgrad_calls.load(); }

gs_error gs_conv2d(gs_tensor x, gs_tensor w, gs_tensor b, const int64_t *stride, const int64_t *padding,
                   const int64_t *dilation, int64_t groups, gs_tensor *out) {
  GS_TRY
  auto st = ints(stride, 2), pad = ints(padding, 2), dil = ints(dilation, 2);
  if (gemm_wgrad_applies(T(x), T(w), st, pad, dil, groups)) {
    // Cast as autocast would (differentiably: the gradient reaches a
    // float32 weight through its cast), then keep autocast out of the
    // function's own calls.
    at::Tensor xb = to_bf16(T(x)), wb = to_bf16(T(w));
    c10::optional<at::Tensor> bb;
    if (b) bb = to_bf16(T(b));
    c10::impl::ExcludeDispatchKeyGuard no_autocast(c10::DispatchKey::AutocastCPU);
    *out = wrap(GemmWgradConv::apply(xb, wb, bb, st.vec(), pad.vec()));
  } else {
    *out = wrap(at::conv2d(T(x), T(w), opt(b), st, pad, dil, groups));
  }
  GS_END
}

namespace {

// foldConvBN is gs_fold_conv_bn's arithmetic, on the CPU: the one place
// graft folds a BatchNorm into a convolution (Model.FoldBatchNorm for
// inference, packed frozen stages in training).
std::pair<at::Tensor, at::Tensor> foldConvBN(const at::Tensor &w, const at::Tensor *b, gs_tensor bn_weight,
                                             gs_tensor bn_bias, gs_tensor bn_mean, gs_tensor bn_var, double eps) {
  if (!bn_weight || !bn_bias || !bn_mean || !bn_var)
    throw std::invalid_argument("folding a BatchNorm needs its weight, bias, mean and variance");
  auto d = [](const at::Tensor &t) { return t.detach().to(at::kCPU, at::kDouble); };
  at::Tensor scale = d(T(bn_weight)) / (d(T(bn_var)) + eps).sqrt();
  if (scale.numel() != w.size(0))
    throw std::invalid_argument("a convolution of " + std::to_string(w.size(0)) + " outputs feeds a BatchNorm of " +
                                std::to_string(scale.numel()) + " channels");
  at::Tensor b0 = b ? d(*b) : at::zeros_like(scale);
  at::Tensor fw = (d(w) * scale.view({-1, 1, 1, 1})).to(at::kFloat).contiguous();
  at::Tensor fb = (d(T(bn_bias)) + (b0 - d(T(bn_mean))) * scale).to(at::kFloat);
  return {fw, fb};
}

}  // namespace

gs_error gs_fold_conv_bn(gs_tensor w, gs_tensor b, gs_tensor bn_weight, gs_tensor bn_bias, gs_tensor bn_mean,
                         gs_tensor bn_var, double bn_eps, gs_tensor *w_out, gs_tensor *b_out) {
  GS_TRY
  at::NoGradGuard ng;
  at::Tensor bt = b ? T(b) : at::Tensor();
  auto folded = foldConvBN(T(w), b ? &bt : nullptr, bn_weight, bn_bias, bn_mean, bn_var, bn_eps);
  *w_out = wrap(folded.first.to(T(w).device()));
  *b_out = wrap(folded.second.to(T(w).device()));
  GS_END
}

int gs_has_mkldnn(void) { return at::hasMKLDNN() ? 1 : 0; }

gs_error gs_mkldnn_pack_conv(gs_tensor w, gs_tensor b, gs_tensor bn_weight, gs_tensor bn_bias, gs_tensor bn_mean,
                             gs_tensor bn_var, double bn_eps, const int64_t *stride, const int64_t *padding,
                             const int64_t *dilation, int64_t groups, int dtype, gs_tensor *w_out, gs_tensor *b_out) {
  GS_TRY
  at::NoGradGuard ng;
  auto st = to_scalar_type(dtype);
  if (st != at::kFloat && st != at::kBFloat16) throw std::invalid_argument("prepacked convolutions are float32 or bfloat16");
  at::Tensor wt = T(w).detach().to(at::kCPU), bt;
  if (b) bt = T(b).detach().to(at::kCPU, at::kFloat);
  if (bn_mean) std::tie(wt, bt) = foldConvBN(wt, b ? &bt : nullptr, bn_weight, bn_bias, bn_mean, bn_var, bn_eps);
  // Reordered once here, not inside every call as a dense weight is.
  at::Tensor pw = at::mkldnn_reorder_conv2d_weight(wt.contiguous().to_mkldnn(st), ints(padding, 2), ints(stride, 2),
                                                   ints(dilation, 2), groups);
  // The bias stays float32, as torch.utils.mkldnn keeps it: oneDNN adds it
  // in the accumulator's precision.
  *w_out = wrap(pw);
  *b_out = bt.defined() ? wrap(bt.contiguous().to_mkldnn()) : nullptr;
  GS_END
}

gs_error gs_mkldnn_conv2d(gs_tensor x, gs_tensor w, gs_tensor b, const int64_t *stride, const int64_t *padding,
                          const int64_t *dilation, int64_t groups, gs_tensor *out) {
  GS_TRY
  if (!T(x).is_mkldnn() || !T(w).is_mkldnn())
    throw std::invalid_argument("mkldnn_conv2d: input and weight must be in oneDNN's layout");
  *out = wrap(at::mkldnn_convolution(T(x), T(w), opt(b), ints(padding, 2), ints(stride, 2), ints(dilation, 2), groups));
  GS_END
}

gs_error gs_conv_transpose2d(gs_tensor x, gs_tensor w, gs_tensor b, const int64_t *stride, const int64_t *padding,
                             const int64_t *output_padding, const int64_t *dilation, int64_t groups,
                             gs_tensor *out) {
  GS_TRY
  *out = wrap(at::conv_transpose2d(T(x), T(w), opt(b), ints(stride, 2), ints(padding, 2),
                                   ints(output_padding, 2), groups, ints(dilation, 2)));
  GS_END
}

gs_error gs_batch_norm(gs_tensor x, gs_tensor w, gs_tensor b, gs_tensor rm, gs_tensor rv, int training,
                       double momentum, double eps, gs_tensor *out) {
  GS_TRY
  *out = wrap(at::batch_norm(T(x), opt(w), opt(b), opt(rm), opt(rv), training != 0, momentum, eps,
                             /*cudnn_enabled=*/true));
  GS_END
}

gs_error gs_linear(gs_tensor x, gs_tensor w, gs_tensor b, gs_tensor *out) {
  GS_TRY
  *out = wrap(at::linear(T(x), T(w), opt(b)));
  GS_END
}

gs_error gs_matmul(gs_tensor a, gs_tensor b, gs_tensor *out) {
  GS_TRY
  *out = wrap(at::matmul(T(a), T(b)));
  GS_END
}

gs_error gs_max_pool2d(gs_tensor x, const int64_t *kernel, const int64_t *stride, const int64_t *padding,
                       const int64_t *dilation, int ceil_mode, gs_tensor *out) {
  GS_TRY
  *out = wrap(at::max_pool2d(T(x), ints(kernel, 2), ints(stride, 2), ints(padding, 2), ints(dilation, 2),
                             ceil_mode != 0));
  GS_END
}

gs_error gs_avg_pool2d(gs_tensor x, const int64_t *kernel, const int64_t *stride, const int64_t *padding,
                       int ceil_mode, int count_include_pad, gs_tensor *out) {
  GS_TRY
  *out = wrap(at::avg_pool2d(T(x), ints(kernel, 2), ints(stride, 2), ints(padding, 2), ceil_mode != 0,
                             count_include_pad != 0));
  GS_END
}

gs_error gs_adaptive_avg_pool2d(gs_tensor x, const int64_t *size, gs_tensor *out) {
  GS_TRY
  *out = wrap(at::adaptive_avg_pool2d(T(x), ints(size, 2)));
  GS_END
}

gs_error gs_dropout(gs_tensor x, double p, int training, gs_tensor *out) {
  GS_TRY
  *out = wrap(at::dropout(T(x), p, training != 0));
  GS_END
}

gs_error gs_softmax(gs_tensor x, int64_t dim, int log, gs_tensor *out) {
  GS_TRY
  *out = wrap(log ? at::log_softmax(T(x), dim) : at::softmax(T(x), dim));
  GS_END
}

gs_error gs_cross_entropy(gs_tensor logits, gs_tensor target, double label_smoothing, gs_tensor *out) {
  GS_TRY
  *out = wrap(at::cross_entropy_loss(T(logits), T(target), c10::nullopt, at::Reduction::Mean, -100,
                                     label_smoothing));
  GS_END
}

gs_error gs_reduce(int op, gs_tensor xh, const int64_t *dims, int ndims, int keepdim, gs_tensor *out) {
  GS_TRY
  const at::Tensor &x = T(xh);
  bool all = ndims == 0;
  std::vector<int64_t> d(dims, dims + ndims);
  at::Tensor r;
  switch (op) {
    case GS_SUM: r = all ? x.sum() : x.sum(d, keepdim != 0); break;
    case GS_MEAN: r = all ? x.mean() : x.mean(d, keepdim != 0); break;
    case GS_AMAX: r = x.amax(d, keepdim != 0); break;
    case GS_AMIN: r = x.amin(d, keepdim != 0); break;
    case GS_ARGMAX:
      if (ndims > 1) throw std::invalid_argument("argmax takes at most one dimension");
      r = all ? x.argmax() : x.argmax(d[0], keepdim != 0);
      break;
    case GS_NORM2: r = all ? at::norm(x) : at::norm(x, 2, d, keepdim != 0); break;
    case GS_VAR: r = all ? x.var(/*unbiased=*/false) : x.var(d, /*unbiased=*/false, keepdim != 0); break;
    default: throw std::invalid_argument("unknown reduction " + std::to_string(op));
  }
  *out = wrap(r);
  GS_END
}

gs_error gs_reshape(gs_tensor x, const int64_t *shape, int ndim, gs_tensor *out) {
  GS_TRY
  *out = wrap(T(x).reshape(ints(shape, ndim)));
  GS_END
}

gs_error gs_permute(gs_tensor x, const int64_t *perm, int ndim, gs_tensor *out) {
  GS_TRY
  *out = wrap(T(x).permute(ints(perm, ndim)));
  GS_END
}

gs_error gs_flatten(gs_tensor x, int64_t start, int64_t end, gs_tensor *out) {
  GS_TRY
  *out = wrap(T(x).flatten(start, end));
  GS_END
}

gs_error gs_cat(const gs_tensor *xs, int n, int64_t dim, gs_tensor *out) {
  GS_TRY
  std::vector<at::Tensor> v;
  v.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; i++) v.push_back(T(xs[i]));
  *out = wrap(at::cat(v, dim));
  GS_END
}

gs_error gs_narrow(gs_tensor x, int64_t dim, int64_t start, int64_t length, gs_tensor *out) {
  GS_TRY
  *out = wrap(T(x).narrow(dim, start, length));
  GS_END
}

gs_error gs_index_select(gs_tensor x, int64_t dim, gs_tensor index, gs_tensor *out) {
  GS_TRY
  *out = wrap(at::index_select(T(x), dim, T(index)));
  GS_END
}

gs_error gs_pad(gs_tensor x, const int64_t *pads, int npads, double value, gs_tensor *out) {
  GS_TRY
  *out = wrap(at::constant_pad_nd(T(x), ints(pads, npads), value));
  GS_END
}

gs_error gs_clamp(gs_tensor x, double lo, double hi, gs_tensor *out) {
  GS_TRY
  *out = wrap(at::clamp(T(x), lo, hi));
  GS_END
}

gs_error gs_where(gs_tensor cond, gs_tensor a, gs_tensor b, gs_tensor *out) {
  GS_TRY
  *out = wrap(at::where(T(cond), T(a), T(b)));
  GS_END
}

gs_error gs_interpolate(gs_tensor x, const int64_t *size, int bilinear, gs_tensor *out) {
  GS_TRY
  if (bilinear)
    *out = wrap(at::upsample_bilinear2d(T(x), ints(size, 2), /*align_corners=*/false));
  else
    *out = wrap(at::upsample_nearest2d(T(x), ints(size, 2)));
  GS_END
}

}  // extern "C"

// ---- fused optimizer steps ----
//
// The unfused step is seven ATen calls per parameter (lerp, mul, addcmul,
// sqrt into a new tensor, mul, add, addcdiv), each a pass over memory and a
// cgo crossing from Go. Here one call covers a group and one pass covers a
// parameter. The arithmetic follows ATen's kernels in order and in float, so
// the two paths agree to rounding.

namespace {

// dense says the optimizer may walk ts as flat float arrays in step: CPU,
// float32, the same sizes and strides, no gaps or overlaps (channels-last
// weights included).
bool dense(std::initializer_list<const at::Tensor *> ts) {
  const at::Tensor &a = **ts.begin();
  if (!a.device().is_cpu() || a.scalar_type() != at::kFloat || !a.is_non_overlapping_and_dense()) return false;
  for (const at::Tensor *t : ts) {
    if (!t->defined() || !t->device().is_cpu() || t->scalar_type() != at::kFloat || t->sizes() != a.sizes() ||
        t->strides() != a.strides() || t->storage_offset() != 0 || a.storage_offset() != 0)
      return false;
  }
  return true;
}

// alike says t may be walked beside the dense weight p as a flat array of
// bfloat16 (or, where floatOK, float32): a gradient, or the weight's
// low-precision copy.
bool alike(const at::Tensor &t, const at::Tensor &p, bool floatOK) {
  return t.defined() && t.device().is_cpu() && t.sizes() == p.sizes() && t.strides() == p.strides() &&
         t.storage_offset() == 0 && (t.scalar_type() == at::kBFloat16 || (floatOK && t.scalar_type() == at::kFloat));
}

constexpr int64_t kGrain = 1 << 15;

// The element loops are compiled for AVX-512, AVX2 and the baseline, the
// best chosen at load (GCC's target_clones), with sqrt free of errno so
// that it vectorises: ATen's own kernels are vectorised, and a scalar
// single pass loses to seven vectorised ones.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define GS_VECTOR __attribute__((target_clones("avx512f", "avx2", "default"), optimize("O3", "no-math-errno", "fp-contract=off")))
#else
#define GS_VECTOR
#endif

// adamKernel is one Adam update of n elements. ATen's lerp takes
// a + w·(b−a) for |w| < 0.5 and b − (b−a)·(1−w) otherwise
// (ATen/native/Lerp.h); the branch is hoisted into lowW.
//
// G is the gradient's element: float, or the bits of a bfloat16 (the
// gradient of a low-precision copy of the weight, Model.KeepLowWeights),
// widened exactly as ATen's .to(float) widens it.
inline float widen(float g) { return g; }
inline float widen(uint16_t g) { return c10::detail::f32_from_bits(g); }

template <bool L2, bool Decoupled, bool LowW, typename G>
GS_VECTOR void adamKernel(float *__restrict pp, const G *__restrict gp, float *__restrict mp, float *__restrict vp,
                          int64_t n, float w1, float b2, float c2, float fi, float fe, float fs, float fwd, float keep) {
  for (int64_t k = 0; k < n; k++) {
    float pk = pp[k];
    if (Decoupled) pk = pk * keep;
    const float gr = widen(gp[k]);
    const float gk = L2 ? gr + fwd * pk : gr;
    const float mk = LowW ? mp[k] + w1 * (gk - mp[k]) : gk - (gk - mp[k]) * (1 - w1);
    const float vk = vp[k] * b2 + c2 * gk * gk;
    mp[k] = mk;
    vp[k] = vk;
    pp[k] = pk + fs * (mk / (__builtin_sqrtf(vk) * fi + fe));
  }
}

template <bool L2, bool Decoupled, typename G>
void adamDispatch(bool lowW, float *pp, const G *gp, float *mp, float *vp, int64_t n, float w1, float b2, float c2,
                  float fi, float fe, float fs, float fwd, float keep) {
  if (lowW) adamKernel<L2, Decoupled, true>(pp, gp, mp, vp, n, w1, b2, c2, fi, fe, fs, fwd, keep);
  else adamKernel<L2, Decoupled, false>(pp, gp, mp, vp, n, w1, b2, c2, fi, fe, fs, fwd, keep);
}

// narrow writes the updated weights into their bfloat16 copy, rounding to
// nearest even as ATen's .to(bfloat16) does, while they are in cache.
GS_VECTOR void narrow(uint16_t *__restrict lp, const float *__restrict pp, int64_t n) {
  for (int64_t k = 0; k < n; k++) lp[k] = c10::detail::round_to_nearest_even(pp[k]);
}

// sgdKernel is one SGD update of n elements (bp null: no momentum).
template <bool Momentum, bool First, bool Nesterov, typename G>
GS_VECTOR void sgdKernel(float *__restrict pp, const G *__restrict gp, float *__restrict bp, int64_t n, float fwd,
                         float fm, float flr) {
  for (int64_t k = 0; k < n; k++) {
    float d = widen(gp[k]) + fwd * pp[k];
    if (Momentum) {
      const float bk = First ? d : bp[k] * fm + d;
      bp[k] = bk;
      d = Nesterov ? d + fm * bk : bk;
    }
    pp[k] = pp[k] + flr * d;
  }
}

// lowCopy returns lows[i]'s tensor, or null where the parameter keeps no
// low-precision copy (lows itself may be null).
at::Tensor *lowCopy(const gs_tensor *lows, int i) { return lows && lows[i] ? &T(lows[i]) : nullptr; }

// elems runs f on the gradient's elements as float or as bfloat16 bits.
template <typename F>
void elems(const at::Tensor &g, F f) {
  if (g.scalar_type() == at::kBFloat16) f(reinterpret_cast<const uint16_t *>(g.data_ptr<at::BFloat16>()));
  else f(g.data_ptr<float>());
}

}  // namespace

gs_error gs_adam_step(const gs_tensor *ps, const gs_tensor *gs, const gs_tensor *ms, const gs_tensor *vs,
                      const gs_tensor *lows, const double *bc1, const double *bc2, int n, double lr, double beta1,
                      double beta2, double eps, double wd, int decoupled) {
  GS_TRY
  at::NoGradGuard ng;
  for (int i = 0; i < n; i++) {
    at::Tensor &p = T(ps[i]);
    const at::Tensor &g = T(gs[i]);
    at::Tensor &m = T(ms[i]);
    at::Tensor &v = T(vs[i]);
    at::Tensor *low = lowCopy(lows, i);
    const double step = -lr / bc1[i], inv = 1 / std::sqrt(bc2[i]);
    if (!dense({&p, &m, &v}) || !alike(g, p, true) || (low && !alike(*low, p, false))) {
      at::Tensor grad = g.scalar_type() == p.scalar_type() ? g : g.to(p.scalar_type());
      if (wd != 0) {
        if (decoupled) p.mul_(1 - lr * wd);
        else grad = grad.add(p, wd);
      }
      m.lerp_(grad, 1 - beta1);
      v.mul_(beta2).addcmul_(grad, grad, 1 - beta2);
      at::Tensor denom = v.sqrt().mul_(inv).add_(eps);
      p.addcdiv_(m, denom, step);
      if (low) low->copy_(p);
      continue;
    }
    // Written through raw pointers: bump the version counters as ATen's
    // in-place ops do, so nothing keyed on them sees stale values.
    for (at::Tensor *t : {&p, &m, &v}) t->unsafeGetTensorImpl()->bump_version();
    if (low) low->unsafeGetTensorImpl()->bump_version();
    float *pp = p.data_ptr<float>(), *mp = m.data_ptr<float>(), *vp = v.data_ptr<float>();
    uint16_t *lp = low ? reinterpret_cast<uint16_t *>(low->data_ptr<at::BFloat16>()) : nullptr;
    const float w1 = static_cast<float>(1 - beta1), b2 = static_cast<float>(beta2), c2 = static_cast<float>(1 - beta2),
                fi = static_cast<float>(inv), fe = static_cast<float>(eps), fs = static_cast<float>(step),
                fwd = static_cast<float>(wd), keep = static_cast<float>(1 - lr * wd);
    const bool lowW = std::abs(w1) < 0.5f;
    elems(g, [&](auto gp) {
      at::parallel_for(0, p.numel(), kGrain, [&](int64_t lo, int64_t hi) {
        const int64_t n = hi - lo;
        if (wd == 0) adamDispatch<false, false>(lowW, pp + lo, gp + lo, mp + lo, vp + lo, n, w1, b2, c2, fi, fe, fs, fwd, keep);
        else if (decoupled) adamDispatch<false, true>(lowW, pp + lo, gp + lo, mp + lo, vp + lo, n, w1, b2, c2, fi, fe, fs, fwd, keep);
        else adamDispatch<true, false>(lowW, pp + lo, gp + lo, mp + lo, vp + lo, n, w1, b2, c2, fi, fe, fs, fwd, keep);
        if (lp) narrow(lp + lo, pp + lo, n);
      });
    });
  }
  GS_END
}

gs_error gs_sgd_step(const gs_tensor *ps, const gs_tensor *gs, const gs_tensor *bufs, const gs_tensor *lows,
                     const int *fresh, int n, double lr, double momentum, double wd, int nesterov) {
  GS_TRY
  at::NoGradGuard ng;
  for (int i = 0; i < n; i++) {
    at::Tensor &p = T(ps[i]);
    const at::Tensor &g = T(gs[i]);
    at::Tensor *b = momentum != 0 ? &T(bufs[i]) : nullptr;
    at::Tensor *low = lowCopy(lows, i);
    if (!(b ? dense({&p, b}) : dense({&p})) || !alike(g, p, true) || (low && !alike(*low, p, false))) {
      at::Tensor gr = g.scalar_type() == p.scalar_type() ? g : g.to(p.scalar_type());
      at::Tensor d = wd != 0 ? gr.add(p, wd) : gr;
      if (b) {
        if (fresh[i]) b->copy_(d);
        else b->mul_(momentum).add_(d);
        d = nesterov ? d.add(*b, momentum) : *b;
      }
      p.add_(d, -lr);
      if (low) low->copy_(p);
      continue;
    }
    p.unsafeGetTensorImpl()->bump_version();
    if (b) b->unsafeGetTensorImpl()->bump_version();
    if (low) low->unsafeGetTensorImpl()->bump_version();
    float *pp = p.data_ptr<float>(), *bp = b ? b->data_ptr<float>() : nullptr;
    uint16_t *lp = low ? reinterpret_cast<uint16_t *>(low->data_ptr<at::BFloat16>()) : nullptr;
    const float fwd = static_cast<float>(wd), fm = static_cast<float>(momentum), flr = static_cast<float>(-lr);
    const bool first = b && fresh[i], nest = nesterov != 0;
    elems(g, [&](auto gp) {
      at::parallel_for(0, p.numel(), kGrain, [&](int64_t lo, int64_t hi) {
        float *q = pp + lo, *bq = bp ? bp + lo : nullptr;
        const auto *h = gp + lo;
        const int64_t n = hi - lo;
        if (!bq) sgdKernel<false, false, false>(q, h, bq, n, fwd, fm, flr);
        else if (first) nest ? sgdKernel<true, true, true>(q, h, bq, n, fwd, fm, flr) : sgdKernel<true, true, false>(q, h, bq, n, fwd, fm, flr);
        else nest ? sgdKernel<true, false, true>(q, h, bq, n, fwd, fm, flr) : sgdKernel<true, false, false>(q, h, bq, n, fwd, fm, flr);
        if (lp) narrow(lp + lo, q, n);
      });
    });
  }
  GS_END
}

// ---- low-precision copies of weights (Model.KeepLowWeights) ----

gs_error gs_low_copy(gs_tensor t, int dtype, gs_tensor *out) {
  GS_TRY
  const at::Tensor &w = T(t);
  at::Tensor low = w.detach().to(to_scalar_type(dtype), /*non_blocking=*/false, /*copy=*/true, at::MemoryFormat::Preserve);
  low.set_requires_grad(w.requires_grad());
  *out = wrap(low);
  GS_END
}

gs_error gs_low_grad_to_master(gs_tensor master, gs_tensor low) {
  GS_TRY
  at::NoGradGuard ng;
  at::Tensor &l = T(low);
  if (!l.grad().defined()) return nullptr;
  at::Tensor &m = T(master);
  at::Tensor g = l.grad().to(m.scalar_type(), /*non_blocking=*/false, /*copy=*/false, at::MemoryFormat::Preserve);
  if (m.grad().defined()) m.mutable_grad().add_(g);
  else m.mutable_grad() = g;
  l.mutable_grad().reset();
  GS_END
}
