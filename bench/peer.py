#!/usr/bin/env python3
"""PyTorch peer for `graft bench`: trains and runs the same networks with the
same batch, input size, optimizer and thread count, and prints one JSON line
per measurement: {"model","mode","img_s","peak_rss_mb"} plus
"torch_version", "threads" and "channels_last".

Usage: peer.py --model smallcnn|resnet18 --batch B --size S --threads T
               --warmup W --steps N [--classes C] [--mode both|train|infer]
               [--channels-last]
Run with Debian's /usr/bin/python3 (python3-torch, python3-torchvision).

--mode train or infer measures one mode per process, so that peak_rss_mb is
that mode's own peak: `graft bench` runs graft the same way. With "both"
(the default) the infer line's peak also covers the training before it.
"""
import argparse
import json
import resource
import time

import torch
import torch.nn as nn


def small_cnn(classes):
    layers, cin = [], 3
    for ch in (32, 64, 128):
        layers += [nn.Conv2d(cin, ch, 3, padding=1, bias=False), nn.BatchNorm2d(ch), nn.ReLU(inplace=True), nn.MaxPool2d(2)]
        cin = ch
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(128, classes))


def build(name, classes):
    if name == "smallcnn":
        return small_cnn(classes)
    import torchvision.models as tvm
    return getattr(tvm, name)(num_classes=classes)


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def line(a, mode, img_s):
    return json.dumps({"model": a.model, "mode": mode, "img_s": img_s, "peak_rss_mb": peak_rss_mb(),
                       "torch_version": torch.__version__, "threads": torch.get_num_threads(),
                       "channels_last": a.channels_last})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--batch", type=int, required=True)
    ap.add_argument("--size", type=int, required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--classes", type=int, default=10)
    ap.add_argument("--channels-last", action="store_true")
    ap.add_argument("--mode", choices=("both", "train", "infer"), default="both")
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = build(a.model, a.classes)
    x = torch.randn(a.batch, 3, a.size, a.size)
    y = torch.randint(0, a.classes, (a.batch,))
    if a.channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()

    def train_step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()

    if a.mode in ("both", "train"):
        model.train()
        for _ in range(a.warmup):
            train_step()
        t0 = time.perf_counter()
        for _ in range(a.steps):
            train_step()
        dt = time.perf_counter() - t0
        print(line(a, "train", a.batch * a.steps / dt), flush=True)
    if a.mode == "train":
        return

    model.eval()
    with torch.no_grad():
        for _ in range(a.warmup):
            model(x)
        t0 = time.perf_counter()
        for _ in range(a.steps):
            model(x)
        dt = time.perf_counter() - t0
    print(line(a, "infer", a.batch * a.steps / dt), flush=True)


if __name__ == "__main__":
    main()
