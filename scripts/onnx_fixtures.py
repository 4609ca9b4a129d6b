#!/usr/bin/env python3
"""Reference fixtures for graft's onnx package, from PyTorch.

    /usr/bin/python3 scripts/onnx_fixtures.py models OUT [--arch resnet18,...] [--size 64]
        torchvision models with random weights (no downloads): for each arch
        OUT/<arch>/model.onnx, input.pb, logits.pb (eval mode), and one SGD
        step in training mode: target.pb, loss.pb, after_step.safetensors
        (every state_dict entry after the step); for resnet18 and
        mobilenet_v2 also state_dict.pth and model_default.onnx (exported
        with torch.onnx.export's defaults), for mobilenet_v2
        timm_state_dict.pth.
    /usr/bin/python3 scripts/onnx_fixtures.py tiny OUT
        the small graphs committed in onnx/testdata (a CNN with a residual
        add, a concat and the Shape→Gather→Unsqueeze→Concat→Reshape flatten
        that x.view(x.size(0), -1) exports; at opsets 13 and 9, the latter
        listing weights as graph inputs as old exporters did) and small
        state_dicts for the .pth reader.
    /usr/bin/python3 scripts/onnx_fixtures.py folded OUT
        onnx/testdata/folded: a torchvision-shaped CNN in miniature (conv
        without bias, BatchNorm, ReLU; max-pool; global pool; linear) with
        random weights, exported twice: folded.onnx with torch.onnx.export's
        defaults in eval mode, which fold BatchNorm into the convolutions
        (Conv/Relu/MaxPool only, biased convs named onnx::Conv_*), and
        kept.onnx with training=PRESERVE, do_constant_folding=False, which
        keeps the BatchNormalization nodes.
    /usr/bin/python3 scripts/onnx_fixtures.py check-export MODEL.onnx INPUT.pb OUT.pb
        onnx.checker on a graft export, then runs it with the small ONNX
        evaluator below (torch.nn.functional per node; Debian's onnx 1.12
        has no onnx.reference) and writes the output. It follows ONNX's
        semantics strictly enough to refuse a training-mode
        BatchNormalization or Dropout, which an export must not keep.

Tensors are written as ONNX TensorProto (.pb, as in ONNX's test data) and
state_dicts as safetensors (written by hand: no safetensors module here).
"""
import copy
import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as tnn
import torch.nn.functional as F

SEED = 1234
LR = 0.1


def save_pb(path, array):
    from onnx import numpy_helper
    with open(path, "wb") as f:
        f.write(numpy_helper.from_array(np.ascontiguousarray(array)).SerializeToString())


def save_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        a = t.detach().cpu().contiguous().numpy()
        dt = {np.float32: "F32", np.int64: "I64", np.float16: "F16"}[a.dtype.type]
        b = a.tobytes()
        header[name] = {"dtype": dt, "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
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
    """Random weights and BatchNorm statistics: torchvision's init leaves BN
    at ones/zeros, which would hide mistakes in how statistics are used."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, tnn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5, generator=gen)
                m.bias.normal_(0, 0.1, generator=gen)
                m.running_mean.normal_(0, 0.1, generator=gen)
                m.running_var.uniform_(0.5, 1.5, generator=gen)
            elif isinstance(m, tnn.Linear):
                m.bias.normal_(0, 0.1, generator=gen)


# Exports vary on purpose: dynamic and fixed batch, eval (PRESERVE) and
# TRAINING mode (which keeps Dropout nodes and adds BatchNorm's statistics
# outputs), opsets 11 to 15.
ARCHS = {
    "resnet18": dict(opset=13, training=False, dynamic=True),
    "mobilenet_v2": dict(opset=13, training=True, dynamic=True),
    "squeezenet1_1": dict(opset=11, training=True, dynamic=False),
    "densenet121": dict(opset=15, training=False, dynamic=True),
    # vgg11_bn needs 224 px (its 7×7 adaptive pool only exports when 7
    # divides the feature map) and its export is 0.5 GB: opt in.
    "vgg11_bn": dict(opset=13, training=False, dynamic=True, size=224),
}


def export(model, x, path, opset, training, dynamic):
    # A training-mode export traces a training forward, which updates
    # BatchNorm's running statistics: export a copy.
    model = copy.deepcopy(model)
    kw = dict(opset_version=opset, do_constant_folding=False, input_names=["input"], output_names=["logits"])
    kw["training"] = torch.onnx.TrainingMode.TRAINING if training else torch.onnx.TrainingMode.PRESERVE
    if dynamic:
        kw["dynamic_axes"] = {"input": {0: "N"}, "logits": {0: "N"}}
    model.train(training)
    torch.onnx.export(model, x, path, **kw)


def sync_from_onnx(model, path):
    """Make the reference model hold exactly the file's weights: a
    training-mode export writes BatchNorm statistics as updated by its
    tracing forward."""
    import onnx
    from onnx import numpy_helper
    sd = model.state_dict()
    with torch.no_grad():
        for init in onnx.load(path).graph.initializer:
            if init.name in sd:
                sd[init.name].copy_(torch.from_numpy(numpy_helper.to_array(init).copy()).view_as(sd[init.name]))


def sgd_step(model, x, target, out):
    """One SGD step in training mode with dropout off (its random draws
    cannot be matched across frameworks): loss, and every state_dict
    entry after the update (weights, and BatchNorm's running statistics)."""
    for m in model.modules():
        if isinstance(m, tnn.Dropout):
            m.p = 0.0
    model.train()
    model.zero_grad()
    loss = F.cross_entropy(model(x), target)
    loss.backward()
    with torch.no_grad():
        for p in model.parameters():
            p -= LR * p.grad
    save_pb(os.path.join(out, "loss.pb"), np.array(loss.item(), dtype=np.float32))
    save_safetensors(os.path.join(out, "after_step.safetensors"), model.state_dict())
    model.eval()


def models(out, archs, size):
    import torchvision
    for arch in archs:
        cfg = ARCHS[arch]
        s = cfg.get("size", size)
        d = os.path.join(out, arch)
        os.makedirs(d, exist_ok=True)
        torch.manual_seed(SEED)
        gen = torch.Generator().manual_seed(SEED)
        model = getattr(torchvision.models, arch)(num_classes=10)
        randomize(model, gen)
        model.eval()
        x = torch.randn(2, 3, s, s, generator=gen)
        target = torch.tensor([3, 7])
        export(model, x, os.path.join(d, "model.onnx"), cfg["opset"], cfg["training"], cfg["dynamic"])
        sync_from_onnx(model, os.path.join(d, "model.onnx"))
        if arch in ("resnet18", "mobilenet_v2"):
            torch.save(model.state_dict(), os.path.join(d, "state_dict.pth"))
            # torch.onnx.export's defaults, as most files in the wild are
            # made: constant folding (BatchNorm fused into the convolutions,
            # weights renamed onnx::Conv_N) and a fixed batch size.
            torch.onnx.export(copy.deepcopy(model).eval(), x, os.path.join(d, "model_default.onnx"),
                              input_names=["input"], output_names=["logits"])
        if arch == "mobilenet_v2":
            torch.save(timm_names(model.state_dict()), os.path.join(d, "timm_state_dict.pth"))
        with torch.no_grad():
            logits = model(x)
        save_pb(os.path.join(d, "input.pb"), x.numpy())
        save_pb(os.path.join(d, "logits.pb"), logits.numpy())
        save_pb(os.path.join(d, "target.pb"), target.numpy())
        sgd_step(model, x, target, d)
        print(arch, "->", d)


def timm_names(sd):
    """torchvision's mobilenet_v2 state_dict under timm's mobilenetv2_100
    names (timm is not installed here; this is the mapping graft inverts)."""
    from collections import OrderedDict
    depths = [1, 2, 3, 4, 3, 3, 1]
    where = {}
    k = 1
    for i, d in enumerate(depths):
        for j in range(d):
            where[k] = (i, j)
            k += 1
    first = {"conv.0.0": "conv_dw", "conv.0.1": "bn1", "conv.1": "conv_pw", "conv.2": "bn2"}
    rest = {"conv.0.0": "conv_pw", "conv.0.1": "bn1", "conv.1.0": "conv_dw", "conv.1.1": "bn2", "conv.2": "conv_pwl", "conv.3": "bn3"}
    out = OrderedDict()
    for name, v in sd.items():
        parts = name.split(".")
        if name.startswith("features.0.0."):
            new = "conv_stem." + ".".join(parts[3:])
        elif name.startswith("features.0.1."):
            new = "bn1." + ".".join(parts[3:])
        elif name.startswith("features.18.0."):
            new = "conv_head." + ".".join(parts[3:])
        elif name.startswith("features.18.1."):
            new = "bn2." + ".".join(parts[3:])
        elif name.startswith("classifier.1."):
            new = "classifier." + parts[2]
        else:
            k = int(parts[1])
            i, j = where[k]
            table = first if i == 0 else rest
            for tv, tm in table.items():
                if name.startswith("features.%d.%s." % (k, tv)):
                    new = "blocks.%d.%d.%s.%s" % (i, j, tm, name[len("features.%d.%s." % (k, tv)):])
                    break
            else:
                raise SystemExit("no timm name for " + name)
        out[new] = v
    return out


class Tiny(tnn.Module):
    """Every structure the importer must cut around: a residual add, a
    concat of two branches, a view-flatten, dropout, a linear head."""

    def __init__(self):
        super().__init__()
        self.conv1 = tnn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.bn1 = tnn.BatchNorm2d(8)
        self.conv2 = tnn.Conv2d(8, 8, 3, padding=1)
        self.bn2 = tnn.BatchNorm2d(8)
        self.pool = tnn.MaxPool2d(2)
        self.left = tnn.Conv2d(8, 6, 1)
        self.right = tnn.Conv2d(8, 6, 3, stride=1, padding=1)
        self.down = tnn.Conv2d(12, 16, 3, stride=2, padding=1)
        self.act = tnn.LeakyReLU(0.1)
        self.drop = tnn.Dropout(0.3)
        self.fc = tnn.Linear(16 * 4 * 4, 5)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(x + self.bn2(self.conv2(x)))
        x = self.pool(x)
        x = torch.cat([F.relu(self.left(x)), torch.sigmoid(self.right(x))], 1)
        x = self.act(self.down(x))
        x = x.view(x.size(0), -1)
        return self.fc(self.drop(x))


def tiny(out):
    """onnx/testdata: tiny/ holds the Tiny CNN as model13.onnx and model9.onnx
    with the same fixture files as models() writes."""
    d = os.path.join(out, "tiny")
    os.makedirs(d, exist_ok=True)
    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED)
    model = Tiny()
    randomize(model, gen)
    model.eval()
    x = torch.randn(3, 3, 16, 16, generator=gen)
    target = torch.tensor([1, 4, 0])
    for name, opset, as_inputs in [("model13", 13, False), ("model9", 9, True)]:
        torch.onnx.export(copy.deepcopy(model).train(), x, os.path.join(d, name + ".onnx"), opset_version=opset,
                          do_constant_folding=False, training=torch.onnx.TrainingMode.TRAINING, input_names=["input"],
                          output_names=["logits"], dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}},
                          keep_initializers_as_inputs=as_inputs)
    sync_from_onnx(model, os.path.join(d, "model13.onnx"))
    model.eval()
    with torch.no_grad():
        save_pb(os.path.join(d, "input.pb"), x.numpy())
        save_pb(os.path.join(d, "logits.pb"), model(x).numpy())
    save_pb(os.path.join(d, "target.pb"), target.numpy())
    sgd_step(model, x, target, d)

    # .pth files: the zip format (default) with a dtype mix, a view into a
    # shared storage and a non-contiguous tensor, and a checkpoint dict that
    # wraps a DataParallel-prefixed state_dict.
    base = torch.arange(24, dtype=torch.float32)
    sd = {
        "a.weight": torch.randn(4, 3, generator=gen),
        "a.bias": base[2:6],                        # view: storage offset 2
        "b.weight": base.view(4, 6).t(),            # non-contiguous, same storage
        "b.half": torch.randn(5, generator=gen).half(),
        "b.num_batches_tracked": torch.tensor(7),
        "c.double": torch.randn(2, 2, generator=gen).double(),
    }
    from collections import OrderedDict
    torch.save(OrderedDict(sd), os.path.join(out, "small.pth"))
    torch.save({"epoch": 3, "state_dict": OrderedDict(("module." + k, v) for k, v in sd.items())}, os.path.join(out, "wrapped.pth"))
    torch.save(OrderedDict(sd), os.path.join(out, "legacy.pth"), _use_new_zipfile_serialization=False)
    torch.save(tnn.Linear(2, 2), os.path.join(out, "module.pth"))  # a whole module, not a state_dict
    save_safetensors(os.path.join(out, "small_expected.safetensors"),
                     {k: (v.float() if v.is_floating_point() else v).contiguous() for k, v in sd.items()})
    print("tiny ->", out)


class Mini(tnn.Module):
    """torchvision's ResNet/VGG shape, small: conv-BN-ReLU blocks, max-pool,
    global average pool, linear classifier; 16×16 RGB in, 4 classes out."""

    def __init__(self, classes=4):
        super().__init__()

        def block(i, o, stride):
            return tnn.Sequential(tnn.Conv2d(i, o, 3, stride, 1, bias=False), tnn.BatchNorm2d(o), tnn.ReLU(inplace=True))
        self.stem = block(3, 8, 1)
        self.maxpool = tnn.MaxPool2d(2)
        self.layer1 = block(8, 8, 1)
        self.layer2 = block(8, 16, 2)
        self.avgpool = tnn.AdaptiveAvgPool2d(1)
        self.fc = tnn.Linear(16, classes)

    def forward(self, x):
        x = self.layer2(self.layer1(self.maxpool(self.stem(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def folded(out):
    """onnx/testdata/folded: Mini exported with BatchNorm folded away
    (folded.onnx, eval-mode defaults) and kept (kept.onnx)."""
    d = os.path.join(out, "folded")
    os.makedirs(d, exist_ok=True)
    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED)
    model = Mini()
    randomize(model, gen)
    model.eval()
    x = torch.randn(1, 3, 16, 16, generator=gen)
    kw = dict(opset_version=13, input_names=["input"], output_names=["logits"], dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}})
    torch.onnx.export(model, x, os.path.join(d, "folded.onnx"), **kw)  # the defaults: eval mode, constant folding
    torch.onnx.export(model, x, os.path.join(d, "kept.onnx"), training=torch.onnx.TrainingMode.PRESERVE,
                      do_constant_folding=False, **kw)
    print("folded ->", d)


# ---- a small ONNX evaluator on torch.nn.functional, for graft's exports ----

def run_onnx(path, x):
    import onnx
    from onnx import numpy_helper
    m = onnx.load(path)
    env = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in m.graph.initializer}
    env[m.graph.input[0].name] = x
    for n in m.graph.node:
        a = {at.name: onnx.helper.get_attribute_value(at) for at in n.attribute}
        i = [env[v] if v else None for v in n.input]
        op = n.op_type
        if op == "Conv":
            p = a.get("pads", [0, 0, 0, 0])
            assert p[0] == p[2] and p[1] == p[3], "asymmetric pads"
            y = F.conv2d(i[0], i[1], i[2] if len(i) > 2 else None, a.get("strides", [1, 1]), p[:2], a.get("dilations", [1, 1]), a.get("group", 1))
        elif op == "BatchNormalization":
            # Up to opset 13 extra outputs mean training mode; from 14 the
            # training_mode attribute says it. An export is for inference.
            if len([o for o in n.output if o]) > 1 or a.get("training_mode", 0):
                raise SystemExit("check-export: BatchNormalization %s is in training mode" % n.name)
            y = F.batch_norm(i[0], i[3], i[4], i[1], i[2], False, 0.0, a.get("epsilon", 1e-5))
        elif op == "Relu":
            y = F.relu(i[0])
        elif op == "Clip":
            lo = a.get("min", float(i[1]) if len(i) > 1 and i[1] is not None else None)
            hi = a.get("max", float(i[2]) if len(i) > 2 and i[2] is not None else None)
            y = torch.clamp(i[0], lo, hi)
        elif op == "Constant":
            if "value" in a:
                y = torch.from_numpy(numpy_helper.to_array(a["value"]).copy())
            else:
                k = next(k for k in a if k.startswith("value_"))
                y = torch.tensor(a[k])
        elif op == "Identity":
            y = i[0]
        elif op == "Dropout":
            if len(i) > 2 and i[2] is not None and bool(i[2]):
                raise SystemExit("check-export: Dropout %s is in training mode" % n.name)
            y = i[0]
        elif op == "Concat":
            y = torch.cat(i, a["axis"])
        elif op == "Pad":
            mode = a.get("mode", b"constant")
            assert mode in (b"constant", "constant"), "Pad mode %r" % mode
            p = [int(v) for v in (a["pads"] if "pads" in a else i[1].tolist())]
            r = len(p) // 2
            value = a.get("value", float(i[2]) if len(i) > 2 and i[2] is not None else 0.0)
            tp = []
            for d in reversed(range(r)):
                tp += [p[d], p[d + r]]
            y = F.pad(i[0], tp, value=value)
        elif op == "HardSwish":
            y = F.hardswish(i[0])
        elif op == "HardSigmoid":
            y = torch.clamp(i[0] * a.get("alpha", 0.2) + a.get("beta", 0.5), 0, 1)
        elif op == "Sigmoid":
            y = torch.sigmoid(i[0])
        elif op == "Mul":
            y = i[0] * i[1]
        elif op == "Add":
            y = i[0] + i[1]
        elif op == "MaxPool":
            p = a.get("pads", [0, 0, 0, 0])
            y = F.max_pool2d(i[0], a["kernel_shape"], a.get("strides", [1, 1]), p[:2], ceil_mode=bool(a.get("ceil_mode", 0)))
        elif op == "AveragePool":
            p = a.get("pads", [0, 0, 0, 0])
            y = F.avg_pool2d(i[0], a["kernel_shape"], a.get("strides", [1, 1]), p[:2], ceil_mode=bool(a.get("ceil_mode", 0)),
                             count_include_pad=bool(a.get("count_include_pad", 0)))
        elif op == "GlobalAveragePool":
            y = i[0].mean((2, 3), keepdim=True)
        elif op == "Flatten":
            y = torch.flatten(i[0], a.get("axis", 1))
        elif op == "Gemm":
            assert a.get("transB", 0) == 1 and a.get("transA", 0) == 0
            y = F.linear(i[0], i[1], i[2] if len(i) > 2 else None)
        else:
            raise SystemExit("check-export: no reference for operator " + op)
        env[n.output[0]] = y
    return env[m.graph.output[0].name]


def check_export(path, inp, outp):
    import onnx
    from onnx import numpy_helper
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    t = onnx.TensorProto()
    with open(inp, "rb") as f:
        t.ParseFromString(f.read())
    x = torch.from_numpy(numpy_helper.to_array(t).copy())
    with torch.no_grad():
        y = run_onnx(path, x)
    save_pb(outp, y.numpy())
    print("ok", path, tuple(y.shape))


def main(argv):
    if len(argv) < 2:
        raise SystemExit(__doc__)
    cmd = argv[0]
    if cmd == "models":
        out = argv[1]
        archs, size = ["resnet18", "mobilenet_v2", "squeezenet1_1", "densenet121"], 64
        rest = argv[2:]
        while rest:
            if rest[0] == "--arch":
                archs, rest = rest[1].split(","), rest[2:]
            elif rest[0] == "--size":
                size, rest = int(rest[1]), rest[2:]
            else:
                raise SystemExit("unknown flag " + rest[0])
        torch.set_flush_denormal(os.environ.get("GRAFT_NO_FLUSH") is None)
        models(out, archs, size)
    elif cmd == "tiny":
        tiny(argv[1])
    elif cmd == "folded":
        folded(argv[1])
    elif cmd == "check-export":
        check_export(argv[1], argv[2], argv[3])
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    import warnings
    warnings.filterwarnings("ignore")
    main(sys.argv[1:])
