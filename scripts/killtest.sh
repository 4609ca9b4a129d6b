#!/usr/bin/env bash
# Crash safety of `graft compare`: kill -9 at a random moment, rerun the same
# command until it completes (it resumes from results.json), and check that
# the final results.json equals an uninterrupted run's.
#
# Usage: bash scripts/killtest.sh [TRIALS] [WORKDIR]
#   TRIALS   kills to try (default 20)
#   WORKDIR  scratch folder (default a new temporary one)
# Environment: GRAFT_BIN=path skips the build and uses that binary;
# KILLTEST_SEED (default 1) seeds the kill moments, so a run repeats.
#
# Each trial starts the comparison in a fresh folder, sends SIGKILL after a
# delay drawn uniformly over the reference's duration, then reruns the
# command until it exits 0. The final results.json is compared with the
# reference's: every run's strategy, shots, seed, status, lr, test_accuracy,
# test_correct and epochs must match (the verdict line, "N/N identical").
# Everything else but timings (seconds, img/s) and env.started is compared
# too and reported apart. docs/crash-safety.md records a run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
trials=${1:-20}
work=${2:-$(mktemp -d /tmp/graft-killtest.XXXXXX)}
RANDOM=${KILLTEST_SEED:-1}
mkdir -p "$work"

if [ -n "${GRAFT_BIN:-}" ]; then
  g=$GRAFT_BIN
else
  source scripts/setup.sh
  g=build/bin/graft
fi
n="nice -n 10"

# A tiny data set and base: 4 classes of 32×32 signs, a small CNN.
if [ ! -f "$work/base.json" ]; then
  $n $g synth --country be --classes limit30,stop,yield,no-entry --per-class 40 --size 32 --seed 1 --out "$work/src" -q
  $n $g synth --country de --classes limit30,stop,yield,no-entry --per-class 15 --size 32 --seed 2 --out "$work/train" -q
  $n $g synth --country de --classes limit30,stop,yield,no-entry --per-class 10 --size 32 --seed 3 --out "$work/test" -q
  $n $g pretrain --train "$work/src" --arch smallcnn --epochs 3 --seed 1 --batch 64 --val-split 0.1 --threads 1 --workers 1 --out "$work/base.json" -q
fi

args=(compare --base "$work/base.json" --train "$work/train" --test "$work/test"
  --strategies probe,finetune,scratch --shots 5 --seeds 2 --epochs 4 --lr-grid 1e-2,1e-3
  --protocol refit --threads 1 --parallel 1 -q)
compare() { # compare OUTDIR
  $n $g "${args[@]}" --out "$1" >/dev/null 2>>"$1.log"
}

rm -rf "$work/ref"
t0=$(date +%s%N)
compare "$work/ref"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
echo "reference: ${ms} ms"

check() { # check OUTDIR: prints "same", or what differs
  python3 - "$work/ref" "$1" <<'EOF'
import json, os, sys
ref, got = (json.load(open(os.path.join(p, "results.json"))) for p in sys.argv[1:3])
got["command"] = got["command"].replace(sys.argv[2], sys.argv[1])  # its --out
KEY = ("strategy", "shots", "seed", "status", "lr", "test_accuracy", "test_correct", "epochs")
TIMING = {"seconds", "train_seconds", "img_per_sec", "mean_train_seconds", "mean_img_per_sec", "started"}
def strip(v):
    if isinstance(v, dict):
        return {k: strip(x) for k, x in v.items() if k not in TIMING}
    if isinstance(v, list):
        return [strip(x) for x in v]
    return v
def diff(a, b, path, out):
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            diff(a.get(k), b.get(k), path + "." + k, out)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            diff(x, y, "%s[%d]" % (path, i), out)
    elif a != b:
        out.append(path)
key = lambda r: [tuple(x.get(k) for k in KEY) for x in r["runs"]]
if key(ref) != key(got):
    print("runs differ:", [(a, b) for a, b in zip(key(ref), key(got)) if a != b] or "count %d vs %d" % (len(ref["runs"]), len(got["runs"])))
    sys.exit(1)
out = []
diff(strip(ref), strip(got), "", out)
print("same" if not out else "same runs; other fields differ: " + ", ".join(out[:8]))
EOF
}

same=0
for i in $(seq 1 "$trials"); do
  out="$work/t$i"
  rm -rf "$out" "$out".*
  delay=$(( (RANDOM * 32768 + RANDOM) % ms ))
  # nice execs graft, so $! is graft itself.
  $n $g "${args[@]}" --out "$out" >/dev/null 2>"$out.log" & pid=$!
  sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
  kill -9 "$pid" 2>/dev/null || true
  status=0; wait "$pid" 2>/dev/null || status=$?
  killed=$([ $status = 137 ] && echo yes || echo "no, exit $status")
  had=$( [ -f "$out/results.json" ] && python3 -c "import json,sys;print(len(json.load(open(sys.argv[1]))['runs']))" "$out/results.json" 2>&1 || echo 0)
  reruns=0
  until compare "$out"; do
    reruns=$((reruns + 1))
    if [ $reruns -ge 3 ]; then echo "trial $i: rerun failed 3 times: $(tail -3 "$out.log")"; break; fi
  done
  tmp=$(find "$out" -name '.*.tmp-*' | wc -l)
  verdict=$(check "$out" || true)
  echo "trial $i: kill at ${delay} ms (killed: $killed, runs saved: $had), reruns $reruns, leftover temp files $tmp: $verdict"
  case $verdict in same*) same=$((same + 1)) ;; esac
done
echo "$same/$trials identical"
[ "$same" = "$trials" ]
