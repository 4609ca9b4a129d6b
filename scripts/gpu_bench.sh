#!/usr/bin/env bash
# graft's GPU benchmark in one command, on a machine with an NVIDIA GPU,
# PyTorch (pip or system) and g++ but no Go:
#
#   here (a checkout):  make gpu-bundle      # → build/graft-gpu-bench.tar.gz
#   there:              tar xzf graft-gpu-bench.tar.gz && graft-gpu-bench/gpu_bench.sh
#
# It builds graft's libtorch shim (torch/shim, one C++ file) against that
# PyTorch's libtorch in a temporary folder, points the prebuilt graft binary
# at it with LD_LIBRARY_PATH, and runs `graft bench --device cuda` beside
# PyTorch on the same GPU: ResNet-50 at 224², batch 64, train and infer,
# fp32; then the detector rows (ssdlite320_mobilenet_v3_large, 320², batch
# 8, and ssd300_vgg16, 300², batch 4); then ResNet-50 again in bf16 (the CPU
# path skips it, and the JSON says why). Everything — the shim's build included —
# stays inside one budget (--budget, default 470 s, under 8 minutes), and
# the figures go to one JSON file (--out) that BENCHMARKS.md can quote.
#
# --cpu (or no usable GPU) runs the same path on the CPU with tiny settings
# (the small CNN and the small SSD, a step or two): what bench's test runs.
#
# Usage: gpu_bench.sh [--cpu] [--python PY] [--out FILE] [--budget SECONDS] [--bundle DIR|TARBALL]
#        gpu_bench.sh --make-bundle OUT.tar.gz [GRAFT_BINARY]   (in a checkout; make gpu-bundle runs it)
set -euo pipefail

die() { echo "gpu_bench: $*" >&2; exit 1; }
say() { echo "gpu_bench: $*" >&2; }

# --make-bundle: the prebuilt graft, the shim's sources and this script,
# under one folder, graft-gpu-bench/.
make_bundle() {
  local out=$1 graft=${2:-build/bin/graft} root stage d
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  [ -x "$graft" ] || die "no graft binary at $graft: build it first (make build, or go build -o $graft ./cmd/graft)"
  stage=$(mktemp -d)
  d=$stage/graft-gpu-bench
  mkdir -p "$d/bin" "$d/shim"
  cp "$graft" "$d/bin/graft"
  cp "$root/torch/shim/graft_shim.cpp" "$root/torch/shim/graft_shim.h" "$d/shim/"
  cp "$root/scripts/gpu_bench.sh" "$d/gpu_bench.sh"
  chmod +x "$d/gpu_bench.sh" "$d/bin/graft"
  (cd "$root" && git describe --always --dirty 2>/dev/null || echo dev) >"$d/VERSION"
  mkdir -p "$(dirname "$out")"
  tar -C "$stage" -czf "$out" graft-gpu-bench
  rm -rf "$stage"
  say "wrote $out: copy it to the GPU machine, then: tar xzf $(basename "$out") && graft-gpu-bench/gpu_bench.sh"
}

if [ "${1:-}" = --make-bundle ]; then
  [ $# -ge 2 ] || die "usage: gpu_bench.sh --make-bundle OUT.tar.gz [GRAFT_BINARY]"
  make_bundle "$2" "${3:-}"
  exit 0
fi

cpu=0 python=python3 out=graft-gpu-bench.json budget=470 bundle=""
while [ $# -gt 0 ]; do
  case $1 in
    --cpu) cpu=1 ;;
    --python) python=$2; shift ;;
    --out) out=$2; shift ;;
    --budget) budget=$2; shift ;;
    --bundle) bundle=$2; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
  shift
done
case $budget in ''|*[!0-9]*) die "--budget $budget: a whole number of seconds" ;; esac
deadline=$((SECONDS + budget))
left() { echo $((deadline - SECONDS)); }

work=$(mktemp -d "${TMPDIR:-/tmp}/graft-gpu-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
case $out in /*) ;; *) out=$PWD/$out ;; esac

# The bundle: this script's own folder when it holds bin/graft (the
# unpacked tarball), else --bundle (a folder or the tarball itself).
if [ -z "$bundle" ] && [ -x "$(dirname "$0")/bin/graft" ]; then
  bundle=$(cd "$(dirname "$0")" && pwd)
fi
[ -n "$bundle" ] || die "no bundle: run the gpu_bench.sh inside an unpacked graft-gpu-bench.tar.gz, or pass --bundle (make gpu-bundle makes one)"
if [ -f "$bundle" ]; then
  tar -C "$work" -xzf "$bundle" || die "cannot unpack $bundle"
  bundle=$work/graft-gpu-bench
fi
graft=$bundle/bin/graft
for f in "$graft" "$bundle/shim/graft_shim.cpp" "$bundle/shim/graft_shim.h"; do
  [ -e "$f" ] || die "the bundle lacks $f: remake it with make gpu-bundle"
done

# PyTorch: where its libtorch is, how it was built, and the GPU. Python
# runs in the scratch folder: a folder named torch in the current one (a
# graft checkout has one) would shadow the real package.
py=$(command -v "$python") || die "no Python at $python: pass --python with the interpreter that has PyTorch"
(cd "$work" && "$py" - >"$work/torch.env") <<'EOF' || die "$py cannot import torch: pass --python with the interpreter that has PyTorch"
import os, torch
cuda = torch.cuda.is_available()
print("torch_dir=" + os.path.dirname(torch.__file__))
print("torch_version=" + torch.__version__)
print("cxx11_abi=%d" % int(torch.compiled_with_cxx11_abi()))
print("cuda=%d" % int(cuda))
print("cuda_version=%s" % (torch.version.cuda or ""))
print("gpu=%s" % (torch.cuda.get_device_name(0) if cuda else ""))
EOF
torch_dir="" torch_version="" cxx11_abi=1 cuda=0 cuda_version="" gpu=""
while IFS='=' read -r k v; do
  case $k in
    torch_dir) torch_dir=$v ;; torch_version) torch_version=$v ;; cxx11_abi) cxx11_abi=$v ;;
    cuda) cuda=$v ;; cuda_version) cuda_version=$v ;; gpu) gpu=$v ;;
  esac
done <"$work/torch.env"
say "PyTorch $torch_version at $torch_dir (C++11 ABI $cxx11_abi, CUDA ${cuda_version:-none}${gpu:+, $gpu})"
if [ $cpu = 0 ] && [ "$cuda" != 1 ]; then
  say "PyTorch sees no CUDA device: running the CPU path (--cpu) instead"
  cpu=1
fi

# The shim, against this PyTorch. A pip wheel carries its headers in
# include/; Debian's python3-torch has them in /usr/include (libtorch-dev).
if [ -d "$torch_dir/include/torch/csrc/api/include" ]; then
  inc=$torch_dir/include
elif [ -d /usr/include/torch/csrc/api/include ]; then
  inc=/usr/include
else
  die "no libtorch headers under $torch_dir/include or /usr/include (Debian: apt install libtorch-dev)"
fi
mkdir -p "$work/lib"
libs=(-L"$torch_dir/lib" -Wl,-rpath,"$torch_dir/lib" -Wl,--no-as-needed -ltorch -ltorch_cpu -lc10)
# libtorch_cuda exists only in CUDA builds; linked without --as-needed so
# that its kernels register.
[ -e "$torch_dir/lib/libtorch_cuda.so" ] && libs+=(-ltorch_cuda)
libs+=(-Wl,--as-needed)
say "building the shim against it (a minute or two)…"
[ "$(left)" -gt 0 ] || die "no time left in the ${budget}s budget to build the shim"
shim_start=$SECONDS
timeout "$(left)" "${CXX:-g++}" -O2 -std=c++17 -fPIC -fno-math-errno -w -D_GLIBCXX_USE_CXX11_ABI="$cxx11_abi" \
  -I"$inc" -I"$inc/torch/csrc/api/include" -shared -o "$work/lib/libgraft_shim.so" \
  "$bundle/shim/graft_shim.cpp" "${libs[@]}" || die "the shim did not build (see above)"
shim_s=$((SECONDS - shim_start))
export LD_LIBRARY_PATH="$work/lib:$torch_dir/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# graft's RUNPATH names the checkout it was built in; LD_LIBRARY_PATH
# comes first, and this checks that it did.
resolved=$(ldd "$graft" | awk '$1 == "libgraft_shim.so" {print $3}')
[ "$resolved" = "$work/lib/libgraft_shim.so" ] || die "graft loads the shim from '${resolved:-nowhere}', not the one just built"

# The runs: name, then graft bench's arguments. Each gets what is left of
# the budget, less a reserve for the runs after it.
if [ $cpu = 1 ]; then
  device=cpu
  runs=("classifier|--models smallcnn --batch 8 --warmup-steps 1 --steps 2 --threads 2"
        "detectors|--models ssd_smallcnn --batch 2 --warmup-steps 0 --steps 1 --threads 2")
  reserve=(0 0)
else
  device=cuda
  runs=("resnet50|--models resnet50 --batch 64 --size 224 --warmup-steps 10 --steps 50"
        "detectors|--models ssdlite320_mobilenet_v3_large,ssd300_vgg16 --warmup-steps 5 --steps 20")
  reserve=(150 0)
fi
if "$graft" bench --help 2>/dev/null | grep -q -- '--precision'; then
  if [ $cpu = 0 ]; then
    bf16="measured: the resnet50-bf16 run"
    runs+=("resnet50-bf16|--models resnet50 --batch 64 --size 224 --warmup-steps 10 --steps 50 --precision bf16")
    reserve=(240 90 0)
  else
    bf16="not run on the CPU path"
  fi
else
  bf16="skipped: graft bench has no --precision flag yet, so only fp32 is measured"
  say "bf16 $bf16"
fi

status=0
for i in "${!runs[@]}"; do
  name=${runs[$i]%%|*}
  read -r -a args <<<"${runs[$i]#*|}"
  t=$(( $(left) - ${reserve[$i]:-0} ))
  cmd=(bench --device "$device" "${args[@]}" --python "$py" --require-peer --json)
  echo "graft ${cmd[*]}" >"$work/$name.cmd"
  if [ "$t" -lt 10 ]; then
    echo "no time left in the ${budget}s budget" >"$work/$name.err"
    say "$name: skipped, no time left"
    status=1
    continue
  fi
  say "$name: graft ${cmd[*]} (at most ${t}s)"
  start=$SECONDS
  if timeout --kill-after=10 "$t" "$graft" "${cmd[@]}" >"$work/$name.json" 2>"$work/$name.log"; then
    :
  else
    rc=$?
    [ $rc = 124 ] && echo "timed out after ${t}s" >"$work/$name.err" || tail -n 5 "$work/$name.log" >"$work/$name.err"
    say "$name failed (exit $rc): $(cat "$work/$name.err")"
    status=1
  fi
  echo $((SECONDS - start)) >"$work/$name.seconds"
done

# One JSON: the machine, the PyTorch, each run's graft bench --json.
names=()
for r in "${runs[@]}"; do names+=("${r%%|*}"); done
(cd "$work" && "$py" - "$out" "$work" "$(cat "$bundle/VERSION" 2>/dev/null || echo unknown)" "$device" "$gpu" \
  "$torch_version" "$torch_dir" "$cuda_version" "$cxx11_abi" "$bf16" "$shim_s" "$budget" "$SECONDS" "${names[@]}") <<'EOF'
import json, os, platform, sys
out, work, version, device, gpu, tv, td, cv, abi, bf16, shim_s, budget, total = sys.argv[1:14]
runs = []
for name in sys.argv[14:]:
    run = {"name": name}
    p = lambda ext: os.path.join(work, name + ext)
    if os.path.exists(p(".cmd")):
        run["command"] = open(p(".cmd")).read().strip()
    if os.path.exists(p(".seconds")):
        run["seconds"] = int(open(p(".seconds")).read())
    if os.path.exists(p(".err")):
        run["error"] = open(p(".err")).read().strip()
    else:
        run["report"] = json.load(open(p(".json")))
    runs.append(run)
doc = {
    "graft_version": version,
    "device": device,
    "gpu": gpu or None,
    "host": platform.node(),
    "cpu_count": os.cpu_count(),
    "torch": {"version": tv, "dir": td, "cuda": cv or None, "cxx11_abi": abi == "1"},
    "precision": {"fp32": "measured", "bf16": bf16},
    "shim_build_s": int(shim_s),
    "budget_s": int(budget),
    "total_s": int(total),
    "runs": runs,
}
with open(out, "w") as f:
    json.dump(doc, f, indent=1)
    f.write("\n")
for run in runs:
    for r in run.get("report", {}).get("results", []):
        print("%-30s %-5s graft %9.1f img/s  torch %9s img/s  graft %s GFLOP/s" % (
            r["model"], r["mode"], r["graft_img_s"],
            "-" if r["torch_img_s"] is None else "%.1f" % r["torch_img_s"],
            "-" if r.get("graft_gflops") is None else "%.0f" % r["graft_gflops"]), file=sys.stderr)
EOF
say "wrote $out in $((SECONDS))s"
exit $status
