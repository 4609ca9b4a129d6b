"""peer_inference_modes.py — PyTorch's own ways to run ResNet-18 inference
faster on the CPU, beside its plain eval mode: what graft bench's
inference rows (BatchNorm folded, weights prepacked for oneDNN) should be
read against.

    /usr/bin/python3 scripts/peer_inference_modes.py [rounds]

ResNet-18 (torchvision, random weights, 10 classes), batch 32, 64x64,
2 threads, no autograd; each mode's best of 3 timings of 30 batches after
5 warm-up batches, the modes taking turns for `rounds` rounds (default 3):

  eval       the plain eval mode, NCHW (what graft bench runs as PyTorch)
  folded     BatchNorm folded into the convolutions (torch.fx's fuse)
  nhwc       folded, channels-last
  mkldnn     folded, then torch.utils.mkldnn.to_mkldnn: weights prepacked
             for oneDNN and activations in its layout (graft's --pack)
  autocast   bf16: torch.autocast on the folded NHWC network
  mkldnn16   bf16: to_mkldnn(..., torch.bfloat16)

Prints images per second per mode and round.
"""
import copy
import sys
import time

import torch
import torch.fx.experimental.optimization as fx_opt
import torchvision
from torch.utils import mkldnn as mkldnn_utils

torch.set_num_threads(2)
rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
torch.manual_seed(0)
model = torchvision.models.resnet18(num_classes=10).eval()
x = torch.randn(32, 3, 64, 64)
x_nhwc = x.contiguous(memory_format=torch.channels_last)
folded = fx_opt.fuse(copy.deepcopy(model))
nhwc = copy.deepcopy(folded).to(memory_format=torch.channels_last)
packed = mkldnn_utils.to_mkldnn(copy.deepcopy(folded))
packed16 = mkldnn_utils.to_mkldnn(copy.deepcopy(folded), torch.bfloat16)


def autocast(inp):
    with torch.autocast("cpu", torch.bfloat16):
        return nhwc(inp)


modes = [
    ("eval", lambda: model(x)),
    ("folded", lambda: folded(x)),
    ("nhwc", lambda: nhwc(x_nhwc)),
    ("mkldnn", lambda: packed(x.to_mkldnn())),
    ("autocast", lambda: autocast(x_nhwc)),
    ("mkldnn16", lambda: packed16(x.to_mkldnn(torch.bfloat16))),
]


def rate(f, steps=30):
    with torch.no_grad():
        for _ in range(5):
            f()
        best = float("inf")
        for _ in range(3):
            t = time.perf_counter()
            for _ in range(steps):
                f()
            best = min(best, time.perf_counter() - t)
    return 32 * steps / best


print("round " + " ".join("%9s" % name for name, _ in modes))
for r in range(rounds):
    print("%5d " % (r + 1) + " ".join("%9.0f" % rate(f) for _, f in modes), flush=True)
