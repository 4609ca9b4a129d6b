#!/usr/bin/env python3
"""PyTorch peer for `graft bench`: trains and runs the same networks with the
same batch, input size, optimizer and thread count, and prints one JSON line
per measurement: {"model","mode","img_s","peak_rss_mb"} plus
"torch_version", "threads" and "channels_last".

Usage: peer.py --model smallcnn|resnet18 --batch B --size S --threads T
               --warmup W --steps N [--classes C] [--mode both|train|infer]
               [--channels-last] [--device cpu|cuda|cuda:N]
               [--precision fp32|bf16|fp16]
       peer.py --model ssdlite320_mobilenet_v3_large|ssd_smallcnn|ssd300_vgg16 ...
               --boxes '[[[x1,y1,x2,y2,label],...],...]'
Run with Debian's /usr/bin/python3 (python3-torch, python3-torchvision).

Detectors (--classes counts the background, as torchvision's num_classes)
train on B random images with the boxes `graft bench` passes (labels from 1):
forward in training mode, SSD's multibox loss (the model's own), backward
and Adam's step; inference is the model in eval mode, post-processing
(decoding, score threshold, per-class NMS) included. ssdlite320 is
torchvision's own, with random weights; ssd_smallcnn is graft's small SSD
built from torchvision's SSD parts (see ssd_small_cnn).

--device cuda runs the model and the batch on that GPU and waits for its
queued kernels (torch.cuda.synchronize) before reading the clock, as graft
does; peak_rss_mb is then host memory only.

--precision bf16 (or fp16, CUDA) runs the forward pass in
torch.autocast(device, dtype), the way PyTorch's documentation recommends
for mixed precision: fp32 weights, the loss in fp32 on the float logits, and
for fp16 a GradScaler. Classifiers only.

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


DETECTORS = ("ssdlite320_mobilenet_v3_large", "ssd_smallcnn", "ssd300_vgg16")


class SmallSSDBackbone(nn.Module):
    """graft's ssd_smallcnn body: the small CNN's three blocks (the map at
    /8) and two extra blocks of 128 channels (1x1 to half, 3x3 stride 2,
    each with BatchNorm and ReLU), each a feature map."""

    def __init__(self):
        super().__init__()
        self.features = small_cnn(2)[:12]
        self.extra = nn.ModuleList([nn.Sequential(
            nn.Conv2d(128, 64, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU(inplace=True),
            nn.Conv2d(64, 128, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(128), nn.ReLU(inplace=True))
            for _ in range(2)])

    def forward(self, x):
        from collections import OrderedDict
        maps = [self.features(x)]
        for blk in self.extra:
            maps.append(blk(maps[-1]))
        return OrderedDict((str(i), m) for i, m in enumerate(maps))


def ssd_small_cnn(classes):
    """graft's ssd_smallcnn (detect.smallSSD) in torchvision's SSD: the same
    layers, default boxes (ratio 2 on three maps, scales 0.1 to 0.8, 1,344
    boxes at 128), 3x3 SSD predictors, no normalisation (mean 0, std 1) and
    torchvision's SSD300 post-processing thresholds, which graft's SSDPost
    copies."""
    from torchvision.models.detection.anchor_utils import DefaultBoxGenerator
    from torchvision.models.detection.ssd import SSD, SSDHead
    anchors = DefaultBoxGenerator([[2], [2], [2]], scales=[0.1, 0.25, 0.5, 0.8], clip=True)
    head = SSDHead([128, 128, 128], anchors.num_anchors_per_location(), classes)
    return SSD(SmallSSDBackbone(), anchors, (128, 128), classes, image_mean=[0.0, 0.0, 0.0], image_std=[1.0, 1.0, 1.0],
               head=head, score_thresh=0.01, nms_thresh=0.45, detections_per_img=200, topk_candidates=400)


def build_detector(name, classes):
    if name == "ssd_smallcnn":
        return ssd_small_cnn(classes)
    if name == "ssd300_vgg16":
        from torchvision.models.detection import ssd300_vgg16
        return ssd300_vgg16(weights=None, weights_backbone=None, num_classes=classes)
    from torchvision.models.detection import ssdlite320_mobilenet_v3_large
    return ssdlite320_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=classes)


def build(name, classes):
    if name == "smallcnn":
        return small_cnn(classes)
    import torchvision.models as tvm
    return getattr(tvm, name)(num_classes=classes)


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def line(a, mode, img_s, params):
    return json.dumps({"model": a.model, "mode": mode, "img_s": img_s, "peak_rss_mb": peak_rss_mb(),
                       "torch_version": torch.__version__, "threads": torch.get_num_threads(),
                       "channels_last": a.channels_last, "params": params, "device": a.device,
                       "precision": a.precision})


def sync(device):
    """Waits for the kernels queued on device: CUDA runs them
    asynchronously, and the clock must not stop at their launch."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


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
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--precision", choices=("fp32", "bf16", "fp16"), default="fp32")
    ap.add_argument("--boxes", help="a detector's training boxes, per image [[x1,y1,x2,y2,label],...] (JSON)")
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    device = torch.device(a.device)
    detector = a.model in DETECTORS
    if detector:
        model = build_detector(a.model, a.classes)
        images = list(torch.rand(a.batch, 3, a.size, a.size))
        boxes = json.loads(a.boxes or "[]")
        if len(boxes) != a.batch:
            ap.error(f"--boxes holds {len(boxes)} images, want {a.batch}")
        targets = [{"boxes": torch.tensor([b[:4] for b in bs], dtype=torch.float32).reshape(-1, 4),
                    "labels": torch.tensor([int(b[4]) for b in bs], dtype=torch.int64, device=device)} for bs in boxes]
        for t in targets:
            t["boxes"] = t["boxes"].to(device)
        x = [im.to(device) for im in images]
    else:
        model = build(a.model, a.classes)
        x = torch.randn(a.batch, 3, a.size, a.size).to(device)
        y = torch.randint(0, a.classes, (a.batch,)).to(device)
    model = model.to(device)
    if a.channels_last:
        model = model.to(memory_format=torch.channels_last)
        if detector:
            x = [im.to(memory_format=torch.channels_last) for im in x]
        else:
            x = x.to(memory_format=torch.channels_last)
    params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    if a.precision != "fp32" and detector:
        ap.error("--precision bf16/fp16 measures classifiers only")
    mixed = a.precision != "fp32"
    dtype = torch.bfloat16 if a.precision == "bf16" else torch.float16

    def forward(inp):
        if not mixed:
            return model(inp)
        with torch.autocast(device.type, dtype=dtype):
            return model(inp)

    scaler = torch.cuda.amp.GradScaler() if a.precision == "fp16" else None

    def train_step():
        opt.zero_grad(set_to_none=True)
        if detector:
            losses = model(x, targets)
            loss = losses["bbox_regression"] + losses["classification"]
        else:
            loss = loss_fn(forward(x).float(), y)
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            return
        loss.backward()
        opt.step()

    if a.mode in ("both", "train"):
        model.train()
        for _ in range(a.warmup):
            train_step()
        sync(device)
        t0 = time.perf_counter()
        for _ in range(a.steps):
            train_step()
        sync(device)
        dt = time.perf_counter() - t0
        print(line(a, "train", a.batch * a.steps / dt, params), flush=True)
    if a.mode == "train":
        return

    model.eval()
    with torch.no_grad():
        for _ in range(a.warmup):
            forward(x)
        sync(device)
        t0 = time.perf_counter()
        for _ in range(a.steps):
            forward(x)
        sync(device)
        dt = time.perf_counter() - t0
    print(line(a, "infer", a.batch * a.steps / dt, params), flush=True)


if __name__ == "__main__":
    main()
