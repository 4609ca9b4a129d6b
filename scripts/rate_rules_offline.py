"""Offline checks behind docs/advise.md's last two subsections, on the
validation folders of scripts/advise_validation.sh (no training):

    python3 scripts/rate_rules_offline.py one-se OUT OUT-SMOOTHED OUT-POOLED
    python3 scripts/rate_rules_offline.py race-bound OUT

one-se: on the pooled comparisons every seed has a validation score at
every rate, so a one-standard-error rule (Breiman et al. 1984) — the
lowest rate whose pooled, smoothed score is within one standard error of
the best — can be applied without training. A run's test accuracy at the
rate it picks is known where one of the three comparisons (best rate,
smoothed, pooled) refit that seed at that rate; the rest are not scored,
so the numbers are indications. Prints, per setting and standard error,
the change in test accuracy against the pooled rule where the rate moved.

race-bound: which strategy advise would recommend if its seeds rung
scored every strategy it kept there as the comparison's floor does (each
seed's search smoothed over rates, at full budget, averaged over seeds),
read off the comparison's own searches; and the same with each seed
scored at the rate the race's strategies rung chose, which replays the
race's own rule with the comparison's numbers; and with each seed scored
by the mean of its readings at every rate the strategies rung ran on the
first seed (the best short run's rate and, where the short run could not
separate them, the runner-up's)."""
import json
import math
import pathlib
import statistics as st
import sys

SETTINGS = [("fm04-59", (5, 10, 20)), ("fm59-04", (5, 10, 20)), ("be-de", (5, 10)), ("be-se", (5, 10)),
            ("fmev-od", (5, 10, 20)), ("fmod-ev", (5, 10, 20))]


def runs(folder, name):
    f = pathlib.Path(folder) / name / "results.json"
    return json.loads(f.read_text())["runs"] if f.exists() else []


def curves(search):
    """Per head variant: [(lr, acc)] in rate order, rates that trained ok."""
    by = {}
    for t in search:
        if t["status"] == "ok":
            by.setdefault(t.get("head") or "", []).append((t["lr"], t["val_accuracy"]))
    return {h: sorted(p) for h, p in by.items()}


def smooth(pts):
    out = []
    for k, (_, v) in enumerate(pts):
        s, w = 2 * v, 2
        if k > 0:
            s, w = s + pts[k - 1][1], w + 1
        if k + 1 < len(pts):
            s, w = s + pts[k + 1][1], w + 1
        out.append(s / w)
    return out


def one_se(best_dir, sm_dir, po_dir):
    rules = {"seeds' sd / √seeds": "seed", "binomial, all validation images": "binom", "half the binomial": "half"}
    for name, _ in SETTINGS:
        test = {}
        for d in (best_dir, sm_dir, po_dir):
            for r in runs(d, name):
                if r["status"] == "ok":
                    test.setdefault((r["strategy"], r["shots"], r["seed"], round(r["lr"], 12)), []).append(r["test_accuracy"])
        units = {}
        for r in runs(po_dir, name):
            units.setdefault((r["strategy"], r["shots"]), []).append(r)
        for label, kind in rules.items():
            moved, scored, n = [], 0, 0
            for (s, k), rs in units.items():
                arms = {}
                for r in rs:
                    nv = r["selection"]["val_images"] * r["selection"]["folds"]
                    for t in r["lr_search"]:
                        v = t["val_accuracy"] if t["status"] == "ok" else None
                        arms.setdefault((t.get("head") or "", t["lr"]), []).append((v, nv))
                cands = []
                by_head = {}
                for (h, lr), vs in arms.items():
                    if len(vs) == len(rs) and all(v is not None for v, _ in vs):
                        by_head.setdefault(h, []).append((lr, st.mean(v for v, _ in vs), [v for v, _ in vs], vs[0][1]))
                for h, pts in by_head.items():
                    pts.sort()
                    for (lr, v, per, nv), m in zip(pts, smooth([(p[0], p[1]) for p in pts])):
                        cands.append((m, v, h, lr, per, nv))
                if not cands:
                    continue
                m0, v0, h0, lr0, per0, nv = max(cands, key=lambda c: (round(c[0], 12), c[1]))
                binom = math.sqrt(max(v0 * (1 - v0), 1e-9) / (nv * len(per0)))
                se = {"seed": st.stdev(per0) / math.sqrt(len(per0)), "binom": binom, "half": binom / 2}[kind]
                pick = min((c for c in cands if c[2] == h0 and c[0] >= m0 - se - 1e-12), key=lambda c: c[3])
                for r in rs:
                    n += 1
                    a = test.get((s, k, r["seed"], round(pick[3], 12)))
                    b = test.get((s, k, r["seed"], round(lr0, 12)))
                    if a and b:
                        scored += 1
                        d = 100 * (st.mean(a) - st.mean(b))
                        if abs(d) > 1e-9:
                            moved.append(d)
            mean = f"{st.mean(moved):+.2f}" if moved else "–"
            print(f"{name:8s} {label:34s} runs scored {scored}/{n}, rate moved on {len(moved)}: {mean} points where it moved")


def race_bound(folder):
    out = {"floor's score on the race's kept strategies": [], "the race's rule, the comparison's numbers": [],
           "both full-budget rates of the first seed": [], "floor (every strategy)": []}
    for name, shots in SETTINGS:
        rs = runs(folder, name)
        for k in shots:
            rf = pathlib.Path(folder) / name / f"advise-{k}" / "race.json"
            if not rs or not rf.exists():
                continue
            race = json.loads(rf.read_text())
            kept = [e["strategy"] for e in race["entries"] if e["rung"] == "seeds"] or \
                   [e["strategy"] for e in race["entries"] if e["rung"] == "strategies"]
            entry = {e["strategy"]: e for e in race["entries"]}
            arms = {}
            for t in race["trials"]:
                if t["rung"] == "strategies":
                    arms.setdefault(t["strategy"], []).append((bool(t.get("raw_head")), t["lr"]))
            test, floor, at, two = {}, {}, {}, {}
            for r in rs:
                if r["shots"] != k or r["status"] != "ok":
                    continue
                test.setdefault(r["strategy"], []).append(100 * r["test_accuracy"])
                cs = curves(r["lr_search"])
                floor.setdefault(r["strategy"], []).append(max(max(smooth(p)) for p in cs.values()))
                e = entry.get(r["strategy"])
                if e:
                    pts = dict(cs.get(e.get("head") or "", []))
                    v = pts.get(e["lr"])
                    if v is None:
                        # This seed's search never tried the race's rate
                        # (its grid extended the other way): the race's own
                        # reading stands in.
                        v = next((t["val_accuracy"] for t in race["trials"] if t["rung"] != "rates" and
                                  t["strategy"] == r["strategy"] and t["seed"] == r["seed"] and t["lr"] == e["lr"]), 0)
                    at.setdefault(r["strategy"], []).append(v)
                    reads = []
                    for raw, lr in arms.get(r["strategy"], [(e.get("head") == "raw", e["lr"])]):
                        head = "raw" if raw else (e.get("head") or "")
                        u = dict(cs.get(head, [])).get(lr)
                        if u is None:
                            u = next((t["val_accuracy"] for t in race["trials"] if t["rung"] != "rates" and t["strategy"] == r["strategy"] and
                                      t["seed"] == r["seed"] and t["lr"] == lr and bool(t.get("raw_head")) == raw), None)
                        if u is not None:
                            reads.append(u)
                    two.setdefault(r["strategy"], []).append(st.mean(reads) if reads else 0)
            means = {s: st.mean(v) for s, v in test.items()}
            best = max(means.values())
            score = {s: st.mean(v) for s, v in floor.items()}
            at_rate = {s: st.mean(v) for s, v in at.items()}
            picks = {
                "floor's score on the race's kept strategies": max(kept, key=lambda s: score[s]),
                "the race's rule, the comparison's numbers": max(kept, key=lambda s: at_rate.get(s, 0)),
                "both full-budget rates of the first seed": max(kept, key=lambda s: st.mean(two[s]) if s in two else 0),
                "floor (every strategy)": max(score, key=score.get),
            }
            for label, p in picks.items():
                out[label].append(best - means[p])
            print(f"{name} {k:2d}: kept {len(kept)}; " + "; ".join(f"{l.split(',')[0]}: {p} {best - means[p]:.1f}" for l, p in picks.items()))
    for label, xs in out.items():
        print(f"{label}: mean regret {st.mean(xs):.2f}, ≤ 1 on {sum(x <= 1 for x in xs)}/{len(xs)}, ≤ 2 on {sum(x <= 2 for x in xs)}/{len(xs)}")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "one-se":
        one_se(*sys.argv[2:])
    elif len(sys.argv) == 3 and sys.argv[1] == "race-bound":
        race_bound(sys.argv[2])
    else:
        sys.exit(__doc__)
