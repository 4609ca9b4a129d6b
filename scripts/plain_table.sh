#!/usr/bin/env bash
# graft against the plain PyTorch recipe on the same splits: the table in
# docs/transfer-results.md ("Against the plain recipe").
#   Fashion-MNIST 0-4 -> 5-9 and 5-9 -> 0-4, 5 and 10 shots;
#   synthetic signs at --difficulty 1 (40 shared classes), "be" -> a near
#   country ("de") and a far one ("se"), 5 and 10 shots.
# For each: graft compare (defaults: refit protocol, 3 seeds, the default
# rate grid) and bench/plain.py (Adam 1e-3, the same fixed epochs, every
# shot, no validation) on the splits.json compare wrote; then the table.
# Usage: bash scripts/plain_table.sh [OUTDIR]   (about 2 hours on 2 cores;
# rerun to resume: finished comparisons and plain runs are kept)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh
out="${1:-/tmp/graft-plain-table}"
g=build/bin/graft
epochs=50
strategies=scratch,probe,freeze:2,finetune
mkdir -p "$out"

source scripts/transfer_sources.sh

row() { # name base train test
  local name=$1 base=$2 train=$3 test=$4
  $g compare --base "$base" --train "$train" --test "$test" --strategies $strategies --shots 5,10 \
    --epochs $epochs --parallel 2 --out "$out/$name" --quiet > /dev/null
  [ -f "$out/$name/plain.json" ] || /usr/bin/python3 bench/plain.py --splits "$out/$name/splits.json" --base "$base" \
    --epochs $epochs --json "$out/$name/plain.json" > /dev/null
}
row fm-0-4to5-9 "$out/fm04-src" 'fashion-mnist?classes=5-9' 'fashion-mnist?classes=5-9'
row fm-5-9to0-4 "$out/fm59-src" 'fashion-mnist?classes=0-4' 'fashion-mnist?classes=0-4'
row signs-be-to-de "$out/be-src" "$out/de-train" "$out/de-test"
row signs-be-to-se "$out/be-src" "$out/se-train" "$out/se-test"

/usr/bin/python3 scripts/plain_table.py "FM 0–4→5–9=$out/fm-0-4to5-9" "FM 5–9→0–4=$out/fm-5-9to0-4" \
  "signs be→de (near)=$out/signs-be-to-de" "signs be→se (far)=$out/signs-be-to-se"
