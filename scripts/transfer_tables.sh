#!/usr/bin/env bash
# Reproduces the transfer tables of docs/transfer-results.md:
#   1. Fashion-MNIST split: pretrain on classes 0-4, transfer to 5-9 with
#      10 shots per class, every strategy, 3 seeds;
#   2. synthetic signs from "be" to a near country ("de", whose signs a
#      "be" model still reads at ~95%) and to a far one ("se", yellow fills,
#      ~60%), both at full shift, 5 and 20 shots per class, every strategy.
# Each comparison writes leaderboard.md, results.json and report.html.
# Usage: bash scripts/transfer_tables.sh [OUTDIR]   (about 30-60 minutes on 2 cores)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh
out="${1:-/tmp/graft-transfer-tables}"
g=build/bin/graft
mkdir -p "$out"

$g pretrain --arch smallcnn --train 'fashion-mnist?classes=0-4' --epochs 5 --seed 1 --batch 64 --val-split 0.1 --out "$out/fm-src" --quiet
$g compare --base "$out/fm-src" --train 'fashion-mnist?classes=5-9' --test 'fashion-mnist?classes=5-9' \
  --strategies all --shots 10 --seeds 3 --epochs 30 --out "$out/fm-cmp" --quiet

$g synth --country be --classes shared --per-class 100 --size 32 --seed 1 --out "$out/be" -q
$g pretrain --arch smallcnn --train "$out/be" --epochs 15 --lr 3e-3 --seed 1 --batch 64 --val-split 0.1 --out "$out/be-src" --quiet
for c in de se; do
  $g synth --country $c --classes shared --per-class 25 --size 32 --seed 2 --out "$out/$c-train" -q
  $g synth --country $c --classes shared --per-class 20 --size 32 --seed 3 --out "$out/$c-test" -q
  $g compare --base "$out/be-src" --train "$out/$c-train" --test "$out/$c-test" \
    --strategies all --shots 5,20 --seeds 1 --epochs 30 --out "$out/$c-cmp" --quiet
done
for d in fm-cmp de-cmp se-cmp; do echo "## $d"; cat "$out/$d/leaderboard.md"; done
