#!/usr/bin/env bash
# Reproduces the validation table in docs/advise.md: graft advise against
# graft compare (its default protocol: refit, 3 seeds, the default grid,
# 30 epochs) on sixteen settings that do not saturate —
#   Fashion-MNIST 0–4 → 5–9 and 5–9 → 0–4 (5 classes),
#   Fashion-MNIST even → odd classes and odd → even (5 classes; added
#   later, so that a rule chosen on the first ten can be checked on six
#   it was not chosen on),
#   synthetic signs at --difficulty 1, 40 shared classes, "be" → a near
#   country ("de") and a far one ("se"),
# Fashion-MNIST at 5, 10 and 20 shots, signs at 5 and 10 (20 shots of 40
# classes would double the run time) — sixteen settings, beside the two
# constant answers (always finetune, always discriminative). Every strategy of "all" is a
# candidate. Comparisons run first, one run at a time on 1 thread; then each
# advise (1 thread, so its seconds compare with a run's) is scored with
# --against the comparison's results.json. (Two runs at a time on this
# 2-vCPU machine took the same wall time and stretched each run's seconds
# 1.8×, so the compute share read low: docs/advise.md, "Compute, measured".)
# Usage: bash scripts/advise_validation.sh [OUTDIR]   (about 3 hours on 2
# cores; rerun to resume: finished comparisons and races are kept;
# GRAFT_BIN=path skips the set-up and uses that binary; RATE_CHOICE=smoothed
# or pooled runs both compare and advise with that --rate-choice, and
# ONLY=fm keeps the Fashion-MNIST settings)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out="${1:-/tmp/graft-advise-validation}"
rate="--rate-choice ${RATE_CHOICE:-best}"
if [ -n "${GRAFT_BIN:-}" ]; then g=$GRAFT_BIN; else source scripts/setup.sh; g=build/bin/graft; fi
mkdir -p "$out"
source scripts/transfer_sources.sh

pairs=( # name base train test shots
  "fm04-59|$out/fm04-src|fashion-mnist?classes=5-9|fashion-mnist?classes=5-9|5,10,20"
  "fm59-04|$out/fm59-src|fashion-mnist?classes=0-4|fashion-mnist?classes=0-4|5,10,20"
  "fmev-od|$out/fmev-src|fashion-mnist?classes=1,3,5,7,9|fashion-mnist?classes=1,3,5,7,9|5,10,20"
  "fmod-ev|$out/fmod-src|fashion-mnist?classes=0,2,4,6,8|fashion-mnist?classes=0,2,4,6,8|5,10,20"
  "be-de|$out/be-src|$out/de-train|$out/de-test|5,10"
  "be-se|$out/be-src|$out/se-train|$out/se-test|5,10"
)
[ "${ONLY:-}" = fm ] && pairs=("${pairs[@]:0:4}")
for p in "${pairs[@]}"; do
  IFS='|' read -r name base train test shots <<< "$p"
  # compare resumes a finished or interrupted comparison.
  $g compare --base "$base" --train "$train" --test "$test" --shots "$shots" --parallel 1 --threads 1 $rate --out "$out/$name" --quiet > /dev/null
done
for p in "${pairs[@]}"; do
  IFS='|' read -r name base train test shots <<< "$p"
  for k in ${shots//,/ }; do
    $g advise --base "$base" --train "$train" --shots $k --threads 1 $rate --against "$out/$name/results.json" \
      --out "$out/$name/advise-$k" > "$out/$name/advise-$k.txt" 2> "$out/$name/advise-$k.log"
  done
done
/usr/bin/python3 scripts/advise_table.py "$out"
