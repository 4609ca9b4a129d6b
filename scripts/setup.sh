#!/usr/bin/env bash
# Installs what graft needs on a Debian/Ubuntu machine (only what is missing),
# then builds the libtorch shim and the graft binary into build/.
# Sourced by scripts/demo.sh and scripts/test.sh; safe to run again.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Packages: the engine (libtorch, OpenBLAS — without it Debian's torch uses
# the reference BLAS, ~40x slower), a C++ compiler, and for the tests the
# reference PyTorch and the data sets.
PKGS_BUILD="g++ make libtorch-dev libopenblas0-pthread"
PKGS_TEST="dataset-fashion-mnist python3-torch python3-torchvision python3-onnx libonnx-testdata"
want="$PKGS_BUILD"
if [ "${GRAFT_SETUP_TESTS:-0}" = 1 ]; then want="$want $PKGS_TEST"; fi

missing=""
for p in $want; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if ! command -v go >/dev/null 2>&1 && [ ! -x /usr/local/go/bin/go ]; then
  # Debian's Go is older than go.mod asks; the go command then fetches the
  # right toolchain from the module proxy by itself (GOTOOLCHAIN=auto).
  missing="$missing golang-go"
fi
if [ -n "$missing" ]; then
  echo "graft setup: installing$missing" >&2
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q >/dev/null
  # shellcheck disable=SC2086
  $SUDO apt-get install -y -q --no-install-recommends $missing >/dev/null
fi
export PATH="$PATH:/usr/local/go/bin"

make -s -C torch/shim
go build -o build/bin/graft ./cmd/graft
