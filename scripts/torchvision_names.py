#!/usr/bin/env python3
"""Writes arch/testdata/<arch>.golden: torchvision's state_dict names and
shapes (10 classes), which graft's built-ins must reproduce so that
torchvision weights load. Run: /usr/bin/python3 scripts/torchvision_names.py"""
import os
import torchvision.models as tvm

OUT = os.path.join(os.path.dirname(__file__), "..", "arch", "testdata")
for name in ["vgg11", "vgg11_bn", "vgg16", "vgg16_bn", "resnet18", "resnet34", "resnet50", "mobilenet_v2", "mobilenet_v3_large"]:
    model = getattr(tvm, name)(num_classes=10)
    with open(os.path.join(OUT, name + ".golden"), "w") as f:
        for k, v in model.state_dict().items():
            f.write("%s %s\n" % (k, "x".join(str(d) for d in v.shape)))
