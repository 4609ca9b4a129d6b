#!/usr/bin/env python3
"""Plain PyTorch reference for `graft compare`: the torchvision transfer-learning
tutorial's recipes, run on exactly the splits graft used, so that graft's
strategies can be held against what a plain script gets from the same images.

Usage:
  python3 bench/plain.py --splits OUT/splits.json --base CKPT
      [--epochs 100] [--lr 1e-3] [--batch 32]
      [--recipes scratch,extractor,finetune] [--threads 2] [--json results.json]
      [--shots 5,10] [--seeds 1,2] [--eval-base]
Run with Debian's /usr/bin/python3 (python3-torch, python3-torchvision).

OUT/splits.json is written by `graft compare`: the test set and, for every
(shots, seed), the training shots as graft's sample sources (image files, or
PATH#N / PATH.gz#N for record N of an IDX image file) with graft's labels.
CKPT is a graft checkpoint (CKPT.json sidecar + CKPT.safetensors, with
torchvision parameter names); its sidecar gives the architecture and the
preprocessing, which is reproduced here exactly: grey/RGB conversion,
antialiased bilinear resize (graft's resampler, the same filter as Pillow's
BILINEAR), normalisation.

Recipes (all: Adam at --lr, constant; --epochs epochs of shuffled batches of
--batch over every training shot; no validation, early stopping or
augmentation; torch.manual_seed(seed) at the start of each run; evaluated in
eval mode on the test set after the last epoch):
  scratch    the same architecture, PyTorch's default initialisation;
  extractor  the base's weights frozen (requires_grad False, BatchNorm in eval
             mode so it keeps the base's statistics), a new linear head
             trained: the tutorial's "ConvNet as fixed feature extractor".
             With a frozen eval-mode body and no augmentation, the body's
             output for an image never changes, so it is computed once and
             the head trained on it: the same training, much faster;
  finetune   the base's weights and a new head, everything trained at --lr
             (the tutorial's "finetuning the ConvNet").

Output: "recipe shots seed acc" per run on stdout, then a table of mean test
accuracy ± sample standard deviation over seeds, in %. --json writes
{"runs": [{recipe, shots, seed, accuracy, macro_f1, seconds, test_correct}],
 "summary": [{recipe, shots, mean, std, n}]} with accuracies as fractions
(like graft's results.json) and test_correct the bitset of correctly
classified test images (bit i of byte i/8, least significant first, base64),
graft's convention for paired comparisons. Progress goes to stderr.

--eval-base evaluates the base checkpoint itself, head included, on the test
set (its classes matched to the splits' by name) and exits: a check that the
weights and preprocessing here reproduce graft's (`graft eval CKPT --data …`).
"""
import argparse
import base64
import gzip
import json
import math
import os
import re
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn

FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# Checkpoint: sidecar and safetensors

def checkpoint_paths(p):
    base = p
    for ext in (".safetensors", ".json"):
        if base.endswith(ext):
            base = base[: -len(ext)]
            break
    return base + ".safetensors", base + ".json"


_ST_DTYPES = {"F32": np.float32, "F64": np.float64, "F16": np.float16, "I64": np.int64,
              "I32": np.int32, "U8": np.uint8, "BOOL": np.bool_, "BF16": np.uint16}


def read_safetensors(path):
    """Parses a safetensors file (8-byte little-endian header length, JSON
    header, raw little-endian data) into a name -> tensor dict."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    body = memoryview(raw)[8 + n:]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dt = info["dtype"]
        if dt not in _ST_DTYPES:
            raise SystemExit(f"{path}: tensor {name} has unsupported dtype {dt}")
        a, b = info["data_offsets"]
        arr = np.frombuffer(body[a:b], dtype=np.dtype(_ST_DTYPES[dt]).newbyteorder("<")).copy()
        if dt == "BF16":
            arr = (arr.astype(np.uint32) << 16).view(np.float32)
        t = torch.from_numpy(arr.astype(arr.dtype.newbyteorder("=")))
        out[name] = t.reshape(info["shape"])
    return out


def load_checkpoint(path):
    wpath, spath = checkpoint_paths(path)
    with open(spath) as f:
        meta = json.load(f)
    if not meta.get("format", "").startswith("graft-checkpoint/"):
        raise SystemExit(f"{spath}: not a graft checkpoint sidecar (format {meta.get('format')!r})")
    return meta, read_safetensors(wpath)


# ---------------------------------------------------------------------------
# Models, with torchvision parameter names (graft's)

class SmallCNN(nn.Module):
    """graft's smallcnn (arch/arch.go): blocks of conv3x3 (no bias), BN, ReLU,
    max-pool 2, then global average pool and a linear head. Parameters:
    blockK.0.weight, blockK.1.{weight,bias,running_mean,running_var,
    num_batches_tracked}, fc.{weight,bias}. `blocks` < 3 for a checkpoint
    cut after an earlier stage."""

    def __init__(self, classes, in_channels=3, blocks=3):
        super().__init__()
        cin = in_channels
        for i, ch in enumerate((32, 64, 128)[:blocks]):
            self.add_module(f"block{i + 1}", nn.Sequential(
                nn.Conv2d(cin, ch, 3, padding=1, bias=False), nn.BatchNorm2d(ch),
                nn.ReLU(inplace=True), nn.MaxPool2d(2)))
            cin = ch
        self.blocks = blocks
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        for i in range(self.blocks):
            x = getattr(self, f"block{i + 1}")(x)
        return self.fc(torch.flatten(self.avgpool(x), 1))


# Where each architecture's classifier sits: graft's "head" stage ends in it.
_HEADS = {"smallcnn": "fc", "resnet18": "fc", "resnet34": "fc", "resnet50": "fc",
          "vgg11": "classifier.6", "vgg11_bn": "classifier.6", "vgg16": "classifier.6",
          "vgg16_bn": "classifier.6", "mobilenet_v2": "classifier.1"}


def _get(model, dotted):
    for p in dotted.split("."):
        model = getattr(model, p) if not p.isdigit() else model[int(p)]
    return model


def _set(model, dotted, module):
    parent, _, last = dotted.rpartition(".")
    parent = _get(model, parent) if parent else model
    if last.isdigit():
        parent[int(last)] = module
    else:
        setattr(parent, last, module)


def build_model(meta, classes):
    """Builds meta's architecture, freshly initialised (PyTorch's defaults),
    with a classes-way head."""
    arch = meta["arch"]
    cin = meta.get("in_channels", 3) or 3
    if arch == "smallcnn":
        blocks = sum(1 for s in meta.get("stages", []) if s["name"] != "head") or 3
        return SmallCNN(classes, cin, blocks)
    if arch not in _HEADS:
        raise SystemExit(f"architecture {arch!r} is not supported here (only {', '.join(sorted(_HEADS))})")
    if meta.get("cut_after") is not None:
        raise SystemExit(f"{arch} checkpoints cut after a stage are not supported here")
    import torchvision.models as tvm
    model = getattr(tvm, arch)(num_classes=classes)
    if cin != 3:  # graft builds the first convolution for the input's channels
        for name, m in model.named_modules():
            if isinstance(m, nn.Conv2d):
                _set(model, name, nn.Conv2d(cin, m.out_channels, m.kernel_size, m.stride, m.padding,
                                            m.dilation, m.groups, m.bias is not None))
                break
    return model


def head_name(meta):
    return _HEADS[meta["arch"]]


def base_model(meta, weights):
    """The base checkpoint as a model, its own head included; loading is
    strict, so every name and shape must match."""
    model = build_model(meta, meta["num_classes"])
    sd = {k: v.to(torch.float32) if v.is_floating_point() else v for k, v in weights.items()}
    missing, unexpected = model.load_state_dict(sd, strict=False)
    if missing or unexpected:
        raise SystemExit(f"base weights do not match {meta['arch']}: missing {missing}, unexpected {unexpected}")
    return model


# ---------------------------------------------------------------------------
# Images and graft's preprocessing (data/transform.go, data/resize.go)

def _taps(n_in, lo, hi, n_out):
    """graft's computeTaps as an n_out x n_in weight matrix: a triangle filter
    widened by the shrink factor (antialiased bilinear, as Pillow's)."""
    scale = (hi - lo) / n_out
    fs = max(scale, 1.0)
    support = fs
    k = int(math.ceil(support)) * 2 + 1
    w = np.zeros((n_out, n_in), dtype=np.float64)
    for i in range(n_out):
        center = lo + (i + 0.5) * scale
        x0 = max(int(math.floor(center - support + 0.5)), 0)
        x1 = min(int(math.floor(center + support + 0.5)), n_in)
        x1 = min(x1, x0 + k)
        ws = [max(1 - abs((x - center + 0.5) / fs), 0.0) for x in range(x0, x1)]
        total = sum(ws)
        if total == 0:
            x0 = min(max(int(math.floor(center)), 0), n_in - 1)
            ws, total = [1.0], 1.0
        for j, v in enumerate(ws):
            w[i, x0 + j] = np.float32(v / total)
    return w.astype(np.float32)


class Preprocess:
    def __init__(self, p):
        self.size = p.get("size", 0)
        self.h, self.w = p.get("height", 0), p.get("width", 0)
        if self.size:
            self.h = self.w = self.size
        self.channels = p.get("channels", 0)
        self.resize = p.get("resize", "") or "stretch"
        self.fill = p.get("fill", 0.0)
        self.norm = p.get("norm", "") or "unit"
        self.mean, self.std = p.get("mean"), p.get("std")
        self._taps = {}

    def taps(self, n_in, lo, hi, n_out):
        key = (n_in, lo, hi, n_out)
        if key not in self._taps:
            self._taps[key] = _taps(n_in, lo, hi, n_out)
        return self._taps[key]

    def _resample(self, im, h, w, x0, y0, x1, y1):
        c, sh, sw = im.shape
        if (x0, y0, x1, y1) == (0, 0, sw, sh) and (h, w) == (sh, sw):
            return im.copy()
        tx = self.taps(sw, x0, x1, w)
        ty = self.taps(sh, y0, y1, h)
        return np.einsum("yh,chw,xw->cyx", ty, im, tx, optimize=True).astype(np.float32)

    def fit(self, im):
        """im: CxHxW float32 in [0,1]; returns the resized, converted image."""
        if self.channels == 1 and im.shape[0] == 3:
            im = (0.299 * im[0] + 0.587 * im[1] + 0.114 * im[2])[None].astype(np.float32)
        c, sh, sw = im.shape
        h, w = (self.h, self.w) if self.h else (sh, sw)
        if (h, w) != (sh, sw):
            if self.resize == "letterbox":
                s = min(w / sw, h / sh)
                nw = min(max(int(round_half_away(sw * s)), 1), w)
                nh = min(max(int(round_half_away(sh * s)), 1), h)
                out = np.full((c, h, w), self.fill, dtype=np.float32)
                ox, oy = (w - nw) // 2, (h - nh) // 2
                out[:, oy:oy + nh, ox:ox + nw] = self._resample(im, nh, nw, 0, 0, sw, sh)
                im = out
            elif self.resize == "crop":
                s = max(w / sw, h / sh)
                bw, bh = w / s, h / s
                x0, y0 = (sw - bw) / 2, (sh - bh) / 2
                im = self._resample(im, h, w, x0, y0, x0 + bw, y0 + bh)
            else:
                im = self._resample(im, h, w, 0, 0, sw, sh)
        if self.channels == 3 and im.shape[0] == 1:
            im = np.repeat(im, 3, axis=0)
        return im

    def normalize(self, im):
        c = im.shape[0]
        if self.mean:
            mean, std = self.mean, self.std
        elif self.norm == "symmetric":
            mean, std = [0.5], [0.5]
        elif self.norm == "imagenet":
            mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
        elif self.norm == "caffe":
            bgr = im[::-1] * np.float32(255)
            return (bgr - np.array([103.939, 116.779, 123.68], np.float32)[:, None, None]).astype(np.float32)
        else:
            return im
        if len(mean) == 1:
            mean, std = mean * c, std * c
        scale = np.array([1 / np.float32(s) for s in std], np.float32)[:, None, None]
        bias = np.array([-np.float32(m) / np.float32(s) for m, s in zip(mean, std)], np.float32)[:, None, None]
        return (im * scale + bias).astype(np.float32)

    def __call__(self, im):
        return self.normalize(self.fit(im))


def round_half_away(x):
    return math.floor(x + 0.5) if x >= 0 else -math.floor(-x + 0.5)


class Sources:
    """Decodes graft sample sources to CxHxW float32 in [0,1], as graft's
    decoders do: IDX records (PATH#N, PATH.gz#N), PNG/JPEG/PPM/PGM/BMP files
    (grey stays one channel, everything else becomes RGB, alpha dropped)."""

    def __init__(self, search_dirs):
        self.search_dirs = search_dirs
        self.idx = {}

    def resolve(self, path):
        if os.path.exists(path):
            return path
        for d in self.search_dirs:
            p = os.path.join(d, path)
            if os.path.exists(p):
                return p
            p = os.path.join(d, os.path.basename(path))
            if os.path.exists(p):
                return p
        raise SystemExit(f"sample source {path} not found (looked in ., {', '.join(self.search_dirs)})")

    def idx_file(self, path):
        if path not in self.idx:
            with open(path, "rb") as f:
                raw = f.read()
            if raw[:2] == b"\x1f\x8b":
                raw = gzip.decompress(raw)
            if raw[0] != 0 or raw[1] != 0 or raw[2] != 8:
                raise SystemExit(f"{path} is not an unsigned-byte IDX file")
            nd = raw[3]
            dims = struct.unpack(">" + "I" * nd, raw[4:4 + 4 * nd])
            arr = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * nd).reshape(dims)
            self.idx[path] = arr
        return self.idx[path]

    def load(self, src):
        m = re.fullmatch(r"(.*)#(\d+)", src)
        if m and not os.path.isfile(src):
            arr = self.idx_file(self.resolve(m.group(1)))
            rec = arr[int(m.group(2))]
            if rec.ndim == 2:
                rec = rec[None]
            return rec.astype(np.float32) / np.float32(255)
        return decode_image(self.resolve(src))


def decode_image(path):
    from PIL import Image
    with Image.open(path) as im:
        mode = im.mode
        if mode in ("L", "1"):
            a = np.asarray(im.convert("L"), dtype=np.float32)[None] / np.float32(255)
        elif mode in ("I;16", "I;16B", "I;16L", "I"):
            a = np.asarray(im, dtype=np.float32)[None] / np.float32(65535)
        else:
            a = np.asarray(im.convert("RGB"), dtype=np.float32).transpose(2, 0, 1) / np.float32(255)
    return np.ascontiguousarray(a, dtype=np.float32)


def spec_dirs(spec):
    """Folders a data spec points at, where IDX sources named by base name live."""
    base = spec.split("?", 1)[0]
    kind, _, arg = base.partition(":")
    if kind == "fashion-mnist":
        return [arg or FASHION_MNIST_DIR]
    if kind == "idx":
        return [os.path.dirname(p) or "." for p in arg.split(",")]
    return [base] if os.path.isdir(base) else []


# ---------------------------------------------------------------------------
# Training and evaluation

def predict(model, x, batch=256):
    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(x), batch):
            out.append(model(x[i:i + batch]).argmax(1))
    return torch.cat(out) if out else torch.zeros(0, dtype=torch.long)


def macro_f1(pred, y, k):
    f = []
    for c in range(k):
        tp = int(((pred == c) & (y == c)).sum())
        fp = int(((pred == c) & (y != c)).sum())
        fn = int(((pred != c) & (y == c)).sum())
        if tp + fp + fn:
            f.append(2 * tp / (2 * tp + fp + fn))
    return sum(f) / len(f) if f else 0.0


def fit(params, forward, x, y, epochs, lr, batch, train_mode):
    opt = torch.optim.Adam(params, lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    n = len(x)
    for _ in range(epochs):
        train_mode()
        perm = torch.randperm(n)
        for i in range(0, n, batch):
            idx = perm[i:i + batch]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(forward(x[idx]), y[idx])
            loss.backward()
            opt.step()


def run(recipe, meta, weights, classes, x, y, tx, ty, seed, a):
    torch.manual_seed(seed)
    k = len(classes)
    if recipe == "scratch":
        model = build_model(meta, k)
        fit(model.parameters(), model, x, y, a.epochs, a.lr, a.batch, model.train)
        return predict(model, tx)
    model = base_model(meta, weights)
    old = _get(model, head_name(meta))
    new_head = nn.Linear(old.in_features, k)
    if recipe == "finetune":
        _set(model, head_name(meta), new_head)
        fit(model.parameters(), model, x, y, a.epochs, a.lr, a.batch, model.train)
        return predict(model, tx)
    if recipe == "extractor":
        for p in model.parameters():
            p.requires_grad_(False)
        _set(model, head_name(meta), nn.Identity())
        feats, tfeats = predict_features(model, x), predict_features(model, tx)
        fit(new_head.parameters(), new_head, feats, y, a.epochs, a.lr, a.batch, new_head.train)
        return predict(new_head, tfeats)
    raise SystemExit(f"unknown recipe {recipe!r}: choose scratch, extractor, finetune")


def predict_features(body, x, batch=256):
    body.eval()
    with torch.no_grad():
        return torch.cat([body(x[i:i + batch]) for i in range(0, len(x), batch)])


def bitset(correct):
    b = bytearray((len(correct) + 7) // 8)
    for i, c in enumerate(correct):
        if c:
            b[i // 8] |= 1 << (i % 8)
    return base64.b64encode(bytes(b)).decode()


def tensors(srcs, labels, sources, pre, cache):
    ims = []
    for s in srcs:
        if s not in cache:
            cache[s] = torch.from_numpy(pre(sources.load(s)))
        ims.append(cache[s])
    shapes = {tuple(t.shape) for t in ims}
    if len(shapes) > 1:
        raise SystemExit(f"images have different shapes after preprocessing: {sorted(shapes)[:4]}; the checkpoint's preprocess sets no size")
    return torch.stack(ims), torch.tensor(labels, dtype=torch.long)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--splits", required=True, help="splits.json written by graft compare")
    ap.add_argument("--base", required=True, help="graft checkpoint (CKPT, CKPT.json or CKPT.safetensors)")
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--recipes", default="scratch,extractor,finetune")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", help="write runs and summary here")
    ap.add_argument("--shots", help="only these shot counts (comma-separated)")
    ap.add_argument("--seeds", help="only these seeds (comma-separated)")
    ap.add_argument("--eval-base", action="store_true",
                    help="evaluate the base checkpoint itself on the test set and exit")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)

    with open(a.splits) as f:
        sp = json.load(f)
    if sp.get("schema") != 1:
        raise SystemExit(f"{a.splits}: schema {sp.get('schema')!r}, expected 1")
    classes = sp["classes"]
    meta, weights = load_checkpoint(a.base)
    pre = Preprocess(meta.get("preprocess", {}))
    dirs = spec_dirs(sp.get("train", "")) + spec_dirs(sp.get("test", "")) + \
        [os.path.dirname(os.path.abspath(a.splits)), FASHION_MNIST_DIR]
    sources = Sources(dirs)
    cache = {}
    t0 = time.perf_counter()
    tx, ty = tensors(sp["test_set"]["sources"], sp["test_set"]["labels"], sources, pre, cache)
    log(f"plain: {meta['arch']} base {a.base}, {len(classes)} classes, {len(ty)} test images "
        f"{tuple(tx.shape[1:])}, loaded in {time.perf_counter() - t0:.1f}s, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads")

    if a.eval_base:
        model = base_model(meta, weights)
        pred = predict(model, tx)
        base_classes = meta.get("classes") or [str(i) for i in range(meta["num_classes"])]
        to_split = torch.tensor([classes.index(c) if c in classes else -1 for c in base_classes])
        acc = float((to_split[pred] == ty).float().mean())
        msg = f"base {a.base} on {len(ty)} test images: accuracy {100 * acc:.2f}%"
        if len(classes) == len(base_classes) and (to_split == torch.arange(len(classes))).all():
            with torch.no_grad():
                loss = sum(float(nn.functional.cross_entropy(model(tx[i:i + 256]), ty[i:i + 256], reduction="sum"))
                           for i in range(0, len(ty), 256)) / len(ty)
            msg += f", loss {loss:.4f}"
        print(msg)
        return

    want_shots = {int(s) for s in a.shots.split(",")} if a.shots else None
    want_seeds = {int(s) for s in a.seeds.split(",")} if a.seeds else None
    recipes = [r.strip() for r in a.recipes.split(",") if r.strip()]
    for r in recipes:
        if r not in ("scratch", "extractor", "finetune"):
            raise SystemExit(f"unknown recipe {r!r}: choose scratch, extractor, finetune")
    runs = []
    for split in sp["splits"]:
        shots, seed = split["shots"], split["seed"]
        if (want_shots and shots not in want_shots) or (want_seeds and seed not in want_seeds):
            continue
        x, y = tensors(split["sources"], split["labels"], sources, pre, cache)
        for r in recipes:
            t = time.perf_counter()
            pred = run(r, meta, weights, classes, x, y, tx, ty, seed, a)
            secs = time.perf_counter() - t
            correct = (pred == ty)
            acc = float(correct.float().mean())
            runs.append({"recipe": r, "shots": shots, "seed": seed, "accuracy": acc,
                         "macro_f1": macro_f1(pred, ty, len(classes)), "seconds": round(secs, 2),
                         "train_images": len(y), "test_correct": bitset(correct.tolist())})
            print(f"{r} {shots} {seed} {acc:.4f}", flush=True)
            log(f"plain: {r} shots={shots} seed={seed}: {len(y)} images, {a.epochs} epochs, "
                f"test accuracy {100 * acc:.2f}% in {secs:.1f}s")

    summary = []
    for r in recipes:
        for shots in sorted({x["shots"] for x in runs}):
            accs = [x["accuracy"] for x in runs if x["recipe"] == r and x["shots"] == shots]
            if not accs:
                continue
            m = sum(accs) / len(accs)
            s = math.sqrt(sum((v - m) ** 2 for v in accs) / (len(accs) - 1)) if len(accs) > 1 else 0.0
            summary.append({"recipe": r, "shots": shots, "mean": m, "std": s, "n": len(accs)})

    shot_list = sorted({x["shots"] for x in summary})
    print()
    print(f"{'recipe':<10}" + "".join(f"{str(s) + '-shot':>24}" for s in shot_list))
    for r in recipes:
        cells = []
        for s in shot_list:
            e = next((x for x in summary if x["recipe"] == r and x["shots"] == s), None)
            cells.append(f"{100 * e['mean']:6.2f} ± {100 * e['std']:5.2f} (n={e['n']})" if e else "-")
        print(f"{r:<10}" + "".join(f"{c:>24}" for c in cells))

    if a.json:
        out = {"schema": 1, "splits": a.splits, "base": a.base, "arch": meta["arch"],
               "settings": {"epochs": a.epochs, "lr": a.lr, "batch": a.batch, "optimizer": "adam",
                            "threads": torch.get_num_threads(), "torch": torch.__version__},
               "runs": runs, "summary": summary}
        tmp = a.json + ".tmp"
        with open(tmp, "w") as f:
            json.dump(out, f, indent=2)
            f.write("\n")
        os.replace(tmp, a.json)


if __name__ == "__main__":
    main()
