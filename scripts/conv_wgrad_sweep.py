"""conv_wgrad_sweep.py — a convolution's weight gradient: oneDNN's kernel
against one im2col matrix product, over widths and map sizes.

    /usr/bin/python3 scripts/conv_wgrad_sweep.py [bf16|fp32]

PyTorch 1.13 on the same libtorch as graft, 2 threads, 3x3 convolutions,
stride 1, NHWC. Prints each shape's time (ms, best of 3) both ways and
their ratio (oneDNN's / the product's): the measurement behind the rule in
graft_shim.cpp (the product on maps of at most 16 positions, in bf16 only)
and BENCHMARKS.md's table.
"""
import sys
import time

import torch
import torch.nn.functional as F

torch.set_num_threads(2)
dtype = torch.float32 if len(sys.argv) > 1 and sys.argv[1] == "fp32" else torch.bfloat16


def rows(x, k, pad):
    """im2col of an NHWC tensor: one row per output position, (kh, kw, c)."""
    n, c, _, _ = x.shape
    xh = F.pad(x.permute(0, 2, 3, 1), (0, 0, pad, pad, pad, pad))
    _, hp, wp, _ = xh.shape
    ho, wo = hp - k + 1, wp - k + 1
    sn, sh, sw, sc = xh.stride()
    return xh.as_strided((n, ho, wo, k, k, c), (sn, sh, sw, sh, sw, sc)).reshape(n * ho * wo, k * k * c)


def best_ms(f, n=10):
    for _ in range(2):
        f()
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        for _ in range(n):
            f()
        best = min(best, (time.perf_counter() - t) / n * 1e3)
    return best


for ch in (64, 128, 256, 512):
    for batch, hw in ((32, 2), (32, 4), (32, 8), (32, 16), (8, 8)):
        if ch * hw * hw * batch > 32 * 256 * 16 * 16:
            continue
        x = torch.randn(batch, ch, hw, hw, dtype=dtype).contiguous(memory_format=torch.channels_last)
        w = torch.randn(ch, ch, 3, 3, dtype=dtype).contiguous(memory_format=torch.channels_last)
        go = torch.randn(batch, ch, hw, hw, dtype=dtype).contiguous(memory_format=torch.channels_last)
        onednn = best_ms(lambda: torch.ops.aten.convolution_backward(
            go, x, w, None, [1, 1], [1, 1], [1, 1], False, [0, 0], 1, [False, True, False]))
        gemm = best_ms(lambda: go.permute(0, 2, 3, 1).reshape(-1, ch).t() @ rows(x, 3, 1))
        print(f"{str(dtype)[6:]:8s} {ch:3d} channels, batch {batch:2d}, {hw:2d}x{hw:<2d} maps: "
              f"oneDNN {onednn:6.2f} ms, product {gemm:6.2f} ms, ratio {onednn / gemm:4.2f}")
