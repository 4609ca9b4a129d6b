#!/usr/bin/env python3
"""Writes a splits.json in `graft compare`'s format from Fashion-MNIST records,
to test bench/plain.py without running a comparison first.

  python3 bench/testdata/plain_fixture.py --out /tmp/fx/splits.json \
      [--classes 5-9] [--shots 5] [--seeds 1,2] [--test 500]

Classes LO-HI are relabelled 0..; the shots of each seed are drawn per class
from the training file, the test set is the first --test images of those
classes in the t10k file (0: all of them).
"""
import argparse
import gzip
import json
import os
import random

import numpy as np

DIR = "/usr/share/datasets/fashion-mnist"
NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def labels(part):
    with gzip.open(os.path.join(DIR, f"{part}-labels-idx1-ubyte.gz")) as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=8)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--classes", default="5-9")
    ap.add_argument("--shots", default="5")
    ap.add_argument("--seeds", default="1,2")
    ap.add_argument("--test", type=int, default=500)
    a = ap.parse_args()
    lo, hi = (int(v) for v in a.classes.split("-"))
    keep = list(range(lo, hi + 1))
    spec = f"fashion-mnist?classes={a.classes}"
    tr, te = labels("train"), labels("t10k")
    test = [i for i in range(len(te)) if te[i] in keep]
    if a.test:
        test = test[:a.test]
    timg, trimg = os.path.join(DIR, "t10k-images-idx3-ubyte.gz"), os.path.join(DIR, "train-images-idx3-ubyte.gz")
    out = {"schema": 1, "train": spec, "test": spec, "classes": [NAMES[c] for c in keep],
           "test_set": {"sources": [f"{timg}#{i}" for i in test], "labels": [int(te[i]) - lo for i in test]},
           "splits": []}
    for shots in (int(s) for s in a.shots.split(",")):
        for seed in (int(s) for s in a.seeds.split(",")):
            rng = random.Random(seed)
            idx = []
            for c in keep:
                idx += rng.sample([i for i in range(len(tr)) if tr[i] == c], shots)
            idx.sort()
            out["splits"].append({"shots": shots, "seed": seed, "sources": [f"{trimg}#{i}" for i in idx],
                                  "labels": [int(tr[i]) - lo for i in idx]})
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out, "w") as f:
        json.dump(out, f)
    print(f"wrote {a.out}: {len(keep)} classes, {len(test)} test images, {len(out['splits'])} splits")


if __name__ == "__main__":
    main()
