#!/usr/bin/env bash
# Measures the gap transfer learning must close on the synthetic signs: a
# small CNN trained on the base country ("be") is tested on held-out "be"
# signs and on other countries' signs at full shift (--shift 1) and at no
# shift (--shift 0). Prints one line per test set; docs/synth.md records a run.
# Usage: bash scripts/synth_gap.sh [OUTDIR]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh
out="${1:-/tmp/graft-synth-gap}"
g=build/bin/graft
mkdir -p "$out"
$g synth --country be --classes shared --per-class 150 --size 32 --seed 1 --out "$out/be-train" -q
$g synth --country be --classes shared --per-class 30 --size 32 --seed 2 --out "$out/be-test" -q
for c in de it se; do
  for s in 1 0; do
    $g synth --country $c --classes shared --per-class 30 --size 32 --seed 3 --shift $s --out "$out/$c-shift$s" -q
  done
done
$g train --train "$out/be-train" --arch smallcnn --epochs 20 --lr 3e-3 --seed 1 --batch 64 --val-split 0.1 --out "$out/be" --quiet
printf '%-10s %s\n' "test set" "accuracy"
for t in be-test de-shift1 de-shift0 it-shift1 it-shift0 se-shift1 se-shift0; do
  acc=$($g eval "$out/be" --data "$out/$t" --json | python3 -c 'import json,sys;print("%.1f%%" % (100*json.load(sys.stdin)["accuracy"]))')
  printf '%-10s %s\n' "$t" "$acc"
done
