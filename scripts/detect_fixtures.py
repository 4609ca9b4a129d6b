#!/usr/bin/env python3
"""Reference fixtures for graft's detectors (package detect), from Debian's
PyTorch 1.13 and torchvision 0.14. Run with /usr/bin/python3 from a folder
without an 'av' or 'torch' subfolder (/tmp has an 'av' that breaks
torchvision's import):

    /usr/bin/python3 scripts/detect_fixtures.py names DIR
        DIR/<arch>.golden: the state_dict names and shapes of
        ssd300_vgg16 and ssdlite320_mobilenet_v3_large built with 5
        classes (background included), in torchvision's order.
    /usr/bin/python3 scripts/detect_fixtures.py model ARCH DIR
        one torchvision detector (5 classes, weights=None,
        weights_backbone=None, so SSDLite's MobileNetV3 has the reduced
        tail its COCO weights have) with random weights, in eval mode:
        DIR/state_dict.pth (torch.save of its state_dict), and
        DIR/outputs.safetensors holding a fixed input already resized and
        normalised ("input", 1×3×S×S), the head's raw outputs on it
        ("bbox_regression" 1×A×4, "cls_logits" 1×A×5), and the detections
        of SSD.postprocess_detections with the model's own thresholds
        ("boxes" N×4, "scores" N, "labels" N) plus those thresholds in
        the header's metadata.

The input bypasses GeneralizedRCNNTransform (resize and normalisation are
the data pipeline's business in graft): backbone, head, anchor generator
and postprocess_detections are called directly, as SSD.forward calls them.

Random weights are not torchvision's initialisation: SSDLite's N(0, 0.03)
convolutions shrink activations towards zero and make every score alike,
which would hide mistakes. Every convolution is redrawn with a
fan-in-preserving scale, biases, BatchNorm statistics and SSD300's
scale_weight are randomised, so every parameter and buffer matters.
Then each predictor's last convolution is rescaled so that the logits
have a standard deviation of 1 and the box codes of 0.5, as a trained
detector's roughly do: saturated scores (all near 1) would tie, and ties
are ordered arbitrarily by both sides' sorts.
"""
import json
import math
import os
import struct
import sys

import torch
import torch.nn as tnn
import torchvision
from torchvision.models.detection import ssd300_vgg16, ssdlite320_mobilenet_v3_large
from torchvision.models.detection.image_list import ImageList

SEED = 1234
CLASSES = 5
BUILDERS = {
    "ssd300_vgg16": (ssd300_vgg16, 300),
    "ssdlite320_mobilenet_v3_large": (ssdlite320_mobilenet_v3_large, 320),
}


def build(arch):
    fn, size = BUILDERS[arch]
    return fn(weights=None, weights_backbone=None, num_classes=CLASSES), size


def save_safetensors(path, tensors, meta):
    header, blobs, off = {"__metadata__": {k: str(v) for k, v in meta.items()}}, [], 0
    for name, t in tensors.items():
        t = t.detach().cpu().contiguous()
        dt = {torch.float32: "F32", torch.int64: "I64"}[t.dtype]
        b = t.numpy().tobytes()
        header[name] = {"dtype": dt, "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def randomize(model, gen):
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, tnn.Conv2d):
                fan_in = m.weight[0].numel()
                m.weight.normal_(0, math.sqrt(2.0 / fan_in), generator=gen)
                if m.bias is not None:
                    m.bias.normal_(0, 0.1, generator=gen)
            elif isinstance(m, tnn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5, generator=gen)
                m.bias.normal_(0, 0.1, generator=gen)
                m.running_mean.normal_(0, 0.1, generator=gen)
                m.running_var.uniform_(0.5, 1.5, generator=gen)
        if hasattr(model.backbone, "scale_weight"):
            model.backbone.scale_weight.uniform_(10, 30, generator=gen)


def predictors(head):
    """The last convolution of every predictor of a head."""
    return [[c for c in mod.modules() if isinstance(c, tnn.Conv2d)][-1] for mod in head.module_list]


def rescale(m, x):
    with torch.no_grad():
        head = m.head(list(m.backbone(x).values()))
        for key, sub, std in [("cls_logits", m.head.classification_head, 1.0),
                              ("bbox_regression", m.head.regression_head, 0.5)]:
            f = std / head[key].std().item()
            for c in predictors(sub):
                c.weight.mul_(f)
                c.bias.mul_(f)


def names(out):
    for arch in BUILDERS:
        model, _ = build(arch)
        with open(os.path.join(out, arch + ".golden"), "w") as f:
            for k, v in model.state_dict().items():
                f.write("%s %s\n" % (k, "x".join(str(d) for d in v.shape)))


def model(arch, out):
    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED)
    m, size = build(arch)
    randomize(m, gen)
    m.eval()
    x = torch.randn(1, 3, size, size, generator=gen)
    rescale(m, x)
    torch.save(m.state_dict(), os.path.join(out, "state_dict.pth"))
    with torch.no_grad():
        features = list(m.backbone(x).values())
        head = m.head(features)
        images = ImageList(x, [(size, size)])
        anchors = m.anchor_generator(images, features)
        det = m.postprocess_detections(head, anchors, images.image_sizes)[0]
    meta = {"score_thresh": m.score_thresh, "nms_thresh": m.nms_thresh, "topk_candidates": m.topk_candidates,
            "detections_per_img": m.detections_per_img, "size": size,
            "torch": torch.__version__, "torchvision": torchvision.__version__}
    save_safetensors(os.path.join(out, "outputs.safetensors"), {
        "input": x, "bbox_regression": head["bbox_regression"], "cls_logits": head["cls_logits"],
        "boxes": det["boxes"], "scores": det["scores"], "labels": det["labels"],
    }, meta)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "names":
        names(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "model" and sys.argv[2] in BUILDERS:
        model(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
