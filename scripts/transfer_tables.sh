#!/usr/bin/env bash
# Reproduces the transfer tables of docs/transfer-results.md:
#   1. Fashion-MNIST split: pretrain on classes 0-4, transfer to 5-9 with
#      10 shots per class, every strategy, 3 seeds;
#   2. synthetic signs, "be" → "de" at a small style shift (0.3) and at full
#      shift (1), 5 and 20 shots per class, every strategy.
# Each comparison writes leaderboard.md, results.json and report.html.
# Usage: bash scripts/transfer_tables.sh [OUTDIR]   (about 30-60 minutes on 2 cores)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
out="${1:-/tmp/graft-transfer-tables}"
g=build/bin/graft
mkdir -p "$out"

$g pretrain --arch smallcnn --train 'fashion-mnist?classes=0-4' --epochs 5 --seed 1 --out "$out/fm-src" --quiet
$g compare --base "$out/fm-src" --train 'fashion-mnist?classes=5-9' --test 'fashion-mnist?classes=5-9' \
  --strategies all --shots 10 --seeds 3 --epochs 30 --out "$out/fm-cmp" --quiet

$g synth --country be --classes shared --per-class 100 --size 32 --seed 1 --out "$out/be" -q
$g pretrain --arch smallcnn --train "$out/be" --epochs 15 --lr 3e-3 --seed 1 --out "$out/be-src" --quiet
for shift in 0.3 1; do
  $g synth --country de --classes shared --per-class 25 --size 32 --seed 2 --shift $shift --out "$out/de-$shift-train" -q
  $g synth --country de --classes shared --per-class 20 --size 32 --seed 3 --shift $shift --out "$out/de-$shift-test" -q
  $g compare --base "$out/be-src" --train "$out/de-$shift-train" --test "$out/de-$shift-test" \
    --strategies all --shots 5,20 --seeds 1 --epochs 30 --out "$out/de-$shift-cmp" --quiet
done
for d in fm-cmp de-0.3-cmp de-1-cmp; do echo "## $d"; cat "$out/$d/leaderboard.md"; done
