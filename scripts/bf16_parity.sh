#!/usr/bin/env bash
# bf16_parity.sh — does bf16 training end where fp32 training ends?
#
#   bash scripts/bf16_parity.sh [OUTDIR]      (~25 minutes on 2 cores)
#
# Trains the same networks on the same data with the same seeds, once in
# fp32 and once with --precision bf16, and scores every checkpoint (always
# fp32 weights) on its test set in fp32 and in bf16:
#   - ResNet-18 from scratch on Fashion-MNIST: 500 training images per
#     class (the first of each class in the training file), 32×32 grey, 8
#     epochs, tested on the 10,000 test images;
#   - the small CNN from scratch on synthetic German signs at difficulty 1
#     (40 per class), 15 epochs, tested on 40 per class drawn with another
#     seed.
# Three seeds each. Prints a Markdown table: per seed, the mean and the
# paired bf16 − fp32 difference with a 95% t-interval over seeds. Training
# times are left out: speed is graft bench's job, on a quiet machine. The
# table in docs/precision.md was made with it; rerunning it reuses the
# checkpoints already in OUTDIR.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-/tmp/graft-bf16-parity}
mkdir -p "$out"
graft=${GRAFT:-build/bin/graft}
[ -x "$graft" ] || { echo "build graft first: go build -o build/bin/graft ./cmd/graft" >&2; exit 1; }
py=/usr/bin/python3
seeds=${SEEDS:-"1 2 3"}

# Fashion-MNIST subset as IDX files (graft reads idx:IMAGES,LABELS).
if [ ! -f "$out/fm/train-labels-idx1-ubyte" ]; then
  mkdir -p "$out/fm"
  "$py" - "$out/fm" 500 <<'EOF'
import gzip, struct, sys
src = "/usr/share/datasets/fashion-mnist"
out, per = sys.argv[1], int(sys.argv[2])
img = gzip.open(f"{src}/train-images-idx3-ubyte.gz").read()
lab = gzip.open(f"{src}/train-labels-idx1-ubyte.gz").read()
n, r, c = struct.unpack(">III", img[4:16])
keep, count = [], [0] * 10
for i in range(n):
    if count[lab[8 + i]] < per:
        keep.append(i)
        count[lab[8 + i]] += 1
with open(f"{out}/train-images-idx3-ubyte.tmp", "wb") as f:
    f.write(struct.pack(">IIII", 2051, len(keep), r, c))
    for i in keep:
        f.write(img[16 + i * r * c:16 + (i + 1) * r * c])
with open(f"{out}/train-labels-idx1-ubyte.tmp", "wb") as f:
    f.write(struct.pack(">II", 2049, len(keep)))
    f.write(bytes(lab[8 + i] for i in keep))
EOF
  mv "$out/fm/train-images-idx3-ubyte.tmp" "$out/fm/train-images-idx3-ubyte"
  mv "$out/fm/train-labels-idx1-ubyte.tmp" "$out/fm/train-labels-idx1-ubyte"
fi
[ -d "$out/signs-train" ] || "$graft" -q synth --country de --difficulty 1 --per-class 40 --seed 1 --out "$out/signs-train"
[ -d "$out/signs-test" ] || "$graft" -q synth --country de --difficulty 1 --per-class 40 --seed 2 --out "$out/signs-test"

fm_train="idx:$out/fm/train-images-idx3-ubyte,$out/fm/train-labels-idx1-ubyte"
run() { # name prec seed test train-args...
  local name=$1 prec=$2 seed=$3 test=$4
  shift 4
  local ck="$out/$name-$prec-$seed"
  if [ ! -f "$ck.json" ]; then
    echo "== $(date +%T) $name $prec seed $seed" >&2
    "$graft" train "$@" --refit never --seed "$seed" --precision "$prec" --threads 2 --out "$ck" >"$ck.log" 2>&1
  fi
  for ev in fp32 bf16; do
    [ -f "$ck.eval-$ev.json" ] || "$graft" --json -q eval "$ck" --data "$test" --precision "$ev" --threads 2 >"$ck.eval-$ev.json"
  done
}
for seed in $seeds; do
  for prec in fp32 bf16; do
    run resnet18-fm "$prec" "$seed" fashion-mnist --train "$fm_train" --arch resnet18 --size 32 --channels 1 --norm unit --epochs 8
    run smallcnn-signs "$prec" "$seed" "$out/signs-test" --train "$out/signs-train" --arch smallcnn --epochs 15
  done
done

"$py" - "$out" "$seeds" <<'EOF'
import json, math, sys
out, seeds = sys.argv[1], [int(s) for s in sys.argv[2].split()]
T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571}
def acc(name, prec, seed, ev):
    return 100 * json.load(open(f"{out}/{name}-{prec}-{seed}.eval-{ev}.json"))["accuracy"]
print("| network, data | trained in | test accuracy, seeds " + ", ".join(map(str, seeds)) + " (fp32 eval) | mean | bf16 − fp32, paired 95% interval | same checkpoints evaluated in bf16: mean |")
print("|---|---|---|---:|---|---:|")
for name, label in [("resnet18-fm", "ResNet-18, Fashion-MNIST (500/class, 32², 8 epochs)"),
                    ("smallcnn-signs", "small CNN, synthetic signs de, difficulty 1 (40/class, 15 epochs)")]:
    a = {p: [acc(name, p, s, "fp32") for s in seeds] for p in ("fp32", "bf16")}
    for p in ("fp32", "bf16"):
        mean = sum(a[p]) / len(a[p])
        diff = ""
        if p == "bf16":
            d = [x - y for x, y in zip(a["bf16"], a["fp32"])]
            md = sum(d) / len(d)
            sd = math.sqrt(sum((x - md) ** 2 for x in d) / (len(d) - 1)) if len(d) > 1 else float("nan")
            h = T975.get(len(d) - 1, 2.0) * sd / math.sqrt(len(d))
            diff = f"{md:+.2f} ({md - h:+.2f} to {md + h:+.2f})"
        evb = sum(acc(name, p, s, "bf16") for s in seeds) / len(seeds)
        print(f"| {label} | {p} | " + ", ".join(f"{x:.2f}" for x in a[p]) + f" | {mean:.2f} | {diff} | {evb:.2f} |")
EOF
