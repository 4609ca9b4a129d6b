#!/usr/bin/env bash
# Checks that a change left graft's numbers alone: runs the same small
# train, transfer and compare with two graft binaries (1 thread each, so
# the runs are deterministic) and compares the trained weights byte for
# byte and compare's results run by run (test accuracy, training losses,
# rate search); only timings may differ.
#   bash scripts/same_numbers.sh OLD_GRAFT NEW_GRAFT [WORKDIR]
# Used for the redesign of issue 13: every run matched.
set -euo pipefail
old=$1 new=$2 w=${3:-$(mktemp -d)}
src=$w/src
[ -d "$src/be" ] || "$new" synth --country be --classes shared --per-class 30 --size 32 --seed 1 --difficulty 1 --out "$src/be" -q
[ -d "$src/de" ] || "$new" synth --country de --classes shared --per-class 12 --size 32 --seed 2 --difficulty 1 --out "$src/de" -q
[ -f "$src/base.json" ] || "$new" train --arch smallcnn --train "$src/be" --epochs 3 --batch 32 --val-split 0.2 --seed 1 --threads 1 --out "$src/base" --quiet >/dev/null
for side in old new; do
  g=${!side}; o=$w/$side; mkdir -p "$o"
  "$g" train --arch smallcnn --train "$src/de" --epochs 3 --batch 32 --val-split 0.2 --seed 1 --threads 1 --out "$o/train" --quiet >/dev/null
  "$g" transfer --base "$src/base" --train "$src/de" --strategy lpft --epochs 4 --threads 1 --out "$o/tr" --quiet >/dev/null
  "$g" compare --base "$src/base" --train "$src/de" --test "$src/de" --shots 5 --seeds 1 --epochs 4 --threads 1 --out "$o/cmp" --quiet >/dev/null
done
cmp "$w/old/train.safetensors" "$w/new/train.safetensors"
cmp "$w/old/tr.safetensors" "$w/new/tr.safetensors"
/usr/bin/python3 - "$w" <<'PY'
import json, sys
w = sys.argv[1]
runs = [{(r["strategy"], r["shots"], r["seed"]): r for r in json.load(open(f"{w}/{s}/cmp/results.json"))["runs"]} for s in ("old", "new")]
keys = ("test_accuracy", "lr_search", "epochs")
bad = [k for k in runs[0] if k not in runs[1] or any(runs[0][k][f] != runs[1][k][f] for f in keys)
       or [h["train_loss"] for h in runs[0][k]["history"]] != [h["train_loss"] for h in runs[1][k]["history"]]]
print(f"compare: {len(runs[0])} runs, {len(bad)} differ {bad}")
sys.exit(1 if bad or len(runs[0]) != len(runs[1]) else 0)
PY
echo "same numbers: train and transfer weights byte for byte, every compare run"
