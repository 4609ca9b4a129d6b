#!/usr/bin/env python3
"""Puts graft's comparison beside the plain PyTorch recipe on the same splits.

Usage: python3 scripts/plain_table.py NAME=CMPDIR [NAME=CMPDIR ...]
Each CMPDIR holds graft compare's results.json and bench/plain.py's
plain.json (run on CMPDIR/splits.json). Prints one Markdown row per
setting × shots: graft's best strategy and scratch, the plain recipe's best
and scratch (means over the same seeds, in %), and graft best − plain best
with a 95% interval from a paired bootstrap over seeds and test images
(the two were tested on the same images after training on the same shots).
Standard library only.
"""
import base64
import json
import os
import random
import sys


def bits(b64, n):
    raw = base64.b64decode(b64)
    return [bool(raw[i // 8] >> (i % 8) & 1) for i in range(n)]


def paired(a, b, n, rng, samples=2000):
    """a, b: seed -> correctness list. Mean difference and 95% interval."""
    seeds = sorted(set(a) & set(b))
    wins = []
    for s in seeds:
        x = sum(1 for i in range(n) if a[s][i] and not b[s][i])
        y = sum(1 for i in range(n) if b[s][i] and not a[s][i])
        wins.append((x, y))
    diff = sum(x - y for x, y in wins) / n / len(wins)

    def poisson(lam):
        if lam == 0:
            return 0
        if lam > 50:
            return max(0, round(rng.gauss(lam, lam ** 0.5)))
        import math
        L, k, p = math.exp(-lam), 0, 1.0
        while True:
            p *= rng.random()
            if p <= L:
                return k
            k += 1

    stats = []
    for _ in range(samples):
        tot = 0.0
        for _ in wins:
            x, y = wins[rng.randrange(len(wins))]
            tot += (poisson(x) - poisson(y)) / n
        stats.append(tot / len(wins))
    stats.sort()
    return diff, stats[int(0.025 * samples)], stats[int(0.975 * samples) - 1]


def main():
    rng = random.Random(1)
    shortest = []
    print("| setting | shots | graft best | graft scratch | plain best | plain scratch | graft − plain (95% interval) | graft ≥ plain |")
    print("|---|---:|---|---:|---|---:|---|---|")
    for arg in sys.argv[1:]:
        name, d = arg.split("=", 1)
        res = json.load(open(os.path.join(d, "results.json")))
        plain = json.load(open(os.path.join(d, "plain.json")))
        n = sum(sum(r) for r in next(r for r in res["runs"] if r["status"] == "ok")["confusion"])
        for r in res["runs"]:
            if r["strategy"] == "scratch" and r.get("selection"):
                ran = [t["epochs"] for t in r["lr_search"] if t["status"] == "ok"]
                shortest.append((min(ran), r["selection"]["min_epochs"], name, r["shots"], r["seed"]))
        for shots in res["spec"]["shots"]:
            summ = [s for s in res["summary"] if s["shots"] == shots]
            best = max(summ, key=lambda s: s["mean_accuracy"])
            scratch = next((s for s in summ if s["strategy"] == "scratch"), None)
            pl = [s for s in plain["summary"] if s["shots"] == shots]
            pbest = max(pl, key=lambda s: s["mean"])
            pscratch = next((s for s in pl if s["recipe"] == "scratch"), None)
            g = {r["seed"]: bits(r["test_correct"], n) for r in res["runs"]
                 if r["strategy"] == best["strategy"] and r["shots"] == shots and r["status"] == "ok"}
            p = {r["seed"]: bits(r["test_correct"], n) for r in plain["runs"]
                 if r["recipe"] == pbest["recipe"] and r["shots"] == shots}
            diff, lo, hi = paired(g, p, n, rng)
            verdict = "yes" if diff >= 0 else ("within the interval" if hi >= 0 else "**no**")
            print(f"| {name} | {shots} | {best['strategy']} {100*best['mean_accuracy']:.1f} "
                  f"| {100*scratch['mean_accuracy']:.1f} | {pbest['recipe']} {100*pbest['mean']:.1f} "
                  f"| {100*pscratch['mean']:.1f} | {100*diff:+.1f} ({100*lo:+.1f} to {100*hi:+.1f}) | {verdict} |"
                  if scratch and pscratch else f"| {name} | {shots} | incomplete |")
    if shortest:
        ran, floor, name, shots, seed = min(shortest)
        print(f"\nShortest selection run of scratch: {ran} epochs ({name}, {shots} shots, seed {seed}); "
              f"no run may stop before {floor}.")


if __name__ == "__main__":
    main()
