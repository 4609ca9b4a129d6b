#!/usr/bin/env bash
# The README's main job: installs what is missing, builds graft, generates
# synthetic traffic signs (no download), trains the small CNN on them and
# evaluates it on held-out signs. Output goes to ${1:-demo-out}.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
out="${1:-demo-out}"
g=build/bin/graft
mkdir -p "$out"
echo "== generating synthetic German-style signs (train: 30 per class, test: 20 per class)"
$g synth --country de --per-class 30 --size 32 --seed 1 --out "$out/signs-train" --quiet
$g synth --country de --per-class 20 --size 32 --seed 2 --out "$out/signs-test" --quiet
echo "== training the small CNN from scratch"
$g train --train "$out/signs-train" --test "$out/signs-test" --arch smallcnn --epochs 15 --lr 3e-3 --seed 1 --out "$out/signs"
echo "== evaluating"
$g eval "$out/signs" --data "$out/signs-test"
