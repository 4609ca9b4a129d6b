#!/usr/bin/python3
"""Re-ranks a set of advise races (advise_validation.sh's folder) offline
under other ways of scoring strategies that ran different seeds, against
the comparisons' test means: the race's own seed-adjusted least squares
(strategy + seed, experiment.seedAdjusted), a plain mean over the seeds
each strategy ran, and the first seed alone. The trials are the race's
own, so this says how the scores would rank what was run, not what a race
under another rule would have run. docs/advise.md quotes it.
Usage: scripts/seed_rules_offline.py RACES [COMPARISONS]  (COMPARISONS
defaults to RACES: the folder holding each setting's results.json)"""
import itertools
import json
import pathlib
import sys

import numpy as np

races = pathlib.Path(sys.argv[1])
comparisons = pathlib.Path(sys.argv[2] if len(sys.argv) > 2 else sys.argv[1])


def readings(race):
    """Each strategy's reading per seed on the full budget: the mean over
    the rates it ran there (experiment.armsScore)."""
    r = {}
    for t in race["trials"]:
        if t["rung"] != "rates" and t["status"] == "ok":
            r.setdefault(t["strategy"], {}).setdefault(t["seed"], []).append(t["val_accuracy"])
    return {s: {k: np.mean(v) for k, v in d.items()} for s, d in r.items()}


def least_squares(r):
    """score = strategy + seed, the seed effects centred on zero."""
    strats = sorted(r)
    seeds = sorted({k for d in r.values() for k in d})
    x, y = [], []
    for i, s in enumerate(strats):
        for k, v in r[s].items():
            row = np.zeros(len(strats) + len(seeds))
            row[i], row[len(strats) + seeds.index(k)] = 1, 1
            x.append(row)
            y.append(v)
    x, y = np.array(x), np.array(y)
    c = np.zeros(x.shape[1])
    c[len(strats):] = 1
    beta = np.linalg.solve(x.T @ x + 1e6 * np.outer(c, c), x.T @ y)
    return {s: beta[i] for i, s in enumerate(strats)}


RULES = {
    "seed-adjusted (the race's)": least_squares,
    "plain mean over its seeds": lambda r: {s: np.mean(list(d.values())) for s, d in r.items()},
    "first seed only": lambda r: {s: d[1] for s, d in r.items() if 1 in d},
}
regret = {k: [] for k in RULES}
tau = {k: [] for k in RULES}
for f in sorted(races.glob("*/advise-*/race.json")):
    name, k = f.parent.parent.name, int(f.parent.name.split("-")[1])
    r = readings(json.loads(f.read_text()))
    summary = json.loads((comparisons / name / "results.json").read_text())["summary"]
    test = {s["strategy"]: s["mean_accuracy"] for s in summary if s["shots"] == k and s["runs"] > s["failed"]}
    best = max(test.values())
    for rule, score in RULES.items():
        sc = {s: v for s, v in score(r).items() if s in test}
        regret[rule].append(100 * (best - test[max(sc, key=sc.get)]))
        conc = disc = 0
        for a, b in itertools.combinations(sc, 2):
            p = np.sign(sc[a] - sc[b]) * np.sign(test[a] - test[b])
            conc, disc = conc + (p > 0), disc + (p < 0)
        tau[rule].append((conc - disc) / max(conc + disc, 1))
for rule in RULES:
    v = np.array(regret[rule])
    print(f"{rule:28s} {len(v)} settings: mean regret {v.mean():.2f}, ≤ 1 on {np.sum(v <= 1)}, ≤ 2 on {np.sum(v <= 2)}, "
          f"max {v.max():.1f}; τ over the full-budget strategies {np.mean(tau[rule]):.2f}")
