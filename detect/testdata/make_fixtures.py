"""Reference values for package detect from torchvision's own SSD code
(Debian's python3-torchvision 0.14): default boxes, box coding, matching,
NMS, the multibox loss and post-processing. Run with /usr/bin/python3 from
a folder without an 'av' or 'torch' subfolder:

    cd detect/testdata && /usr/bin/python3 make_fixtures.py

Writes fixtures.json (small: a few hundred boxes)."""
import json
import types

import torch
import torchvision
from torchvision.models.detection import _utils as det_utils
from torchvision.models.detection.anchor_utils import DefaultBoxGenerator
from torchvision.models.detection.image_list import ImageList
from torchvision.models.detection.ssd import SSD
from torchvision.ops import boxes as box_ops

torch.manual_seed(0)
out = {"torch": torch.__version__, "torchvision": torchvision.__version__}

def boxes(t):
    return [[float(v) for v in row] for row in t.tolist()]

# Default boxes: the SSD300-VGG16 configuration (8732 boxes) and SSDLite's,
# and a small odd-sized one; only a sample of the 8732 is stored.
cases = []
for name, gen, grids, size in [
    ("ssd300", DefaultBoxGenerator([[2], [2, 3], [2, 3], [2, 3], [2], [2]], scales=[0.07, 0.15, 0.33, 0.51, 0.69, 0.87, 1.05],
                                   steps=[8, 16, 32, 64, 100, 300]), [38, 19, 10, 5, 3, 1], (300, 300)),
    ("ssdlite320", DefaultBoxGenerator([[2, 3] for _ in range(6)], min_ratio=0.2, max_ratio=0.95), [20, 10, 5, 3, 2, 1], (320, 320)),
    ("small", DefaultBoxGenerator([[2], [2, 3]], min_ratio=0.2, max_ratio=0.9), [4, 2], (48, 64)),
]:
    fmaps = [torch.zeros(1, 1, g, g) for g in grids]
    il = ImageList(torch.zeros(1, 3, *size), [size])
    db = gen(il, fmaps)[0]
    idx = list(range(0, db.shape[0], max(1, db.shape[0] // 97)))
    cases.append({"name": name, "grids": grids, "height": size[0], "width": size[1], "count": db.shape[0],
                  "scales": [float(s) for s in gen.scales], "index": idx, "boxes": boxes(db[idx])})
out["default_boxes"] = cases

# Box coding with SSD's weights (10, 10, 5, 5).
coder = det_utils.BoxCoder(weights=(10.0, 10.0, 5.0, 5.0))
anchors = torch.tensor([[10, 10, 50, 60], [0, 0, 30, 30], [100, 120, 180, 150]], dtype=torch.float32)
gts = torch.tensor([[12, 8, 55, 58], [5, 2, 25, 40], [90, 110, 200, 170]], dtype=torch.float32)
codes = coder.encode_single(gts, anchors)
out["coding"] = {"anchors": boxes(anchors), "gts": boxes(gts), "codes": boxes(codes),
                 "decoded": boxes(coder.decode_single(codes, anchors))}

# Matching: SSD's matcher (IoU 0.5, and every ground truth's best anchor).
gen = DefaultBoxGenerator([[2], [2, 3]], min_ratio=0.2, max_ratio=0.9)
il = ImageList(torch.zeros(1, 3, 48, 64), [(48, 64)])
anc = gen(il, [torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 2, 2)])[0]
gt = torch.tensor([[2, 3, 20, 25], [30, 10, 60, 44], [40, 30, 44, 34]], dtype=torch.float32)
matcher = det_utils.SSDMatcher(0.5)
matched = matcher(box_ops.box_iou(gt, anc))
out["matching"] = {"anchors": boxes(anc), "gts": boxes(gt), "matched": matched.tolist()}

# The multibox loss on that image and a second with one box, random head
# outputs, 4 classes (0 background).
labels = [torch.tensor([1, 3, 2]), torch.tensor([2])]
gts2 = [gt, torch.tensor([[5, 5, 40, 40]], dtype=torch.float32)]
A = anc.shape[0]
reg = torch.randn(2, A, 4)
logits = torch.randn(2, A, 4)
matched_idxs = [matcher(box_ops.box_iou(g, anc)) for g in gts2]
self = types.SimpleNamespace(box_coder=coder, neg_to_pos_ratio=3)
loss = SSD.compute_loss(self, [{"boxes": g, "labels": l} for g, l in zip(gts2, labels)],
                        {"bbox_regression": reg, "cls_logits": logits}, [anc, anc], matched_idxs)
out["loss"] = {"anchors": boxes(anc), "gts": [boxes(g) for g in gts2], "labels": [l.tolist() for l in labels],
               "regression": [boxes(r) for r in reg], "logits": [boxes(c) for c in logits],
               "bbox_regression": float(loss["bbox_regression"]), "classification": float(loss["classification"])}

# NMS, per class (batched), on overlapping random boxes with distinct scores.
xy = torch.rand(60, 2) * 80
wh = torch.rand(60, 2) * 40 + 5
b = torch.cat([xy, xy + wh], 1)
s = torch.rand(60)
c = torch.randint(0, 3, (60,))
out["nms"] = {"boxes": boxes(b), "scores": s.tolist(), "classes": c.tolist(), "iou": 0.45,
              "keep": box_ops.nms(b, s, 0.45).tolist(), "batched_keep": box_ops.batched_nms(b, s, c, 0.45).tolist()}

# Post-processing as SSD.postprocess_detections does (score threshold, top-k
# per class, per-class NMS, detections per image), on the loss case's
# first image.
post = types.SimpleNamespace(box_coder=coder, score_thresh=0.3, topk_candidates=20, nms_thresh=0.45, detections_per_img=15)
dets = SSD.postprocess_detections(post, {"bbox_regression": reg[:1], "cls_logits": logits[:1] * 3}, [anc], [(48, 64)])[0]
out["postprocess"] = {"score_thresh": 0.3, "topk": 20, "nms": 0.45, "per_image": 15, "height": 48, "width": 64,
                      "boxes": boxes(dets["boxes"]), "scores": dets["scores"].tolist(), "labels": dets["labels"].tolist()}

with open("fixtures.json", "w") as f:
    json.dump(out, f, indent=None, separators=(",", ":"))
    f.write("\n")
print("wrote fixtures.json:", {k: len(json.dumps(v)) for k, v in out.items()})
