"""Paired comparison of two graft comparisons run on the same splits: for
every run (strategy, shots, seed) that trained in both, the change in test
accuracy, split by whether the chosen learning rate changed. Used for
docs/advise.md's rate-choice table:

    python3 scripts/paired_runs.py OLD/results.json NEW/results.json [OLD2 NEW2 ...]

Prints the mean change where the rate changed, with a bootstrap 95%
interval over those runs, and the spread where it did not (the machine's
non-determinism with several threads)."""
import json
import random
import sys

args = sys.argv[1:]
if not args or len(args) % 2:
    sys.exit(__doc__)
changed, same = [], []
for a, b in zip(args[::2], args[1::2]):
    key = lambda x: (x["strategy"], x["shots"], x["seed"])
    ra = {key(x): x for x in json.load(open(a))["runs"]}
    rb = {key(x): x for x in json.load(open(b))["runs"]}
    for k, x in ra.items():
        y = rb.get(k)
        if not y or x["status"] != "ok" or y["status"] != "ok":
            continue
        d = 100 * (y["test_accuracy"] - x["test_accuracy"])
        (changed if x["lr"] != y["lr"] else same).append(d)
if not changed:
    sys.exit("no run changed its rate")
mean = lambda xs: sum(xs) / len(xs)
rng = random.Random(1)
boot = sorted(mean([rng.choice(changed) for _ in changed]) for _ in range(4000))
print(f"runs in both: {len(changed) + len(same)}; rate changed on {len(changed)}")
print(f"where it changed: mean {mean(changed):+.2f} points (bootstrap 95% {boot[100]:+.2f} to {boot[3899]:+.2f}); "
      f"better on {sum(d > 0 for d in changed)}, worse on {sum(d < 0 for d in changed)}")
if same:
    sd = (sum((d - mean(same)) ** 2 for d in same) / len(same)) ** 0.5
    print(f"where it did not: mean {mean(same):+.2f}, sd {sd:.2f}, identical on {sum(d == 0 for d in same)} of {len(same)}")
print(f"over every run: mean {mean(changed + same):+.2f}")
