#!/usr/bin/env bash
# Installs what graft needs on a Debian/Ubuntu machine (only what is missing),
# then builds the libtorch shim and the graft binary into build/.
# Sourced by scripts/demo.sh and scripts/test.sh (so that the PATH to a
# fetched Go reaches them); safe to run again.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Packages: the engine (libtorch, OpenBLAS — without it Debian's torch uses
# the reference BLAS, ~40x slower), a C++ compiler, and for the tests the
# reference PyTorch and the data sets.
PKGS_BUILD="g++ make libtorch-dev libopenblas0-pthread"
PKGS_TEST="dataset-fashion-mnist python3-torch python3-torchvision python3-onnx libonnx-testdata"
want="$PKGS_BUILD"
if [ "${GRAFT_SETUP_TESTS:-0}" = 1 ]; then want="$want $PKGS_TEST"; fi

export PATH="$PATH:/usr/local/go/bin"
# Go: go.mod names the version graft needs. A go command of 1.21 or later
# fetches it from the module proxy by itself (GOTOOLCHAIN=auto); an older or
# missing one (Debian 12 ships 1.19) is replaced by that toolchain, fetched
# from the same proxy.
gover=$(sed -n 's/^go \([0-9.]*\)$/\1/p' go.mod)
go_ok() { command -v go >/dev/null 2>&1 && go version | grep -qE 'go1\.(2[1-9]|[3-9][0-9])'; }
need_go=${GRAFT_FETCH_GO:-0}  # GRAFT_FETCH_GO=1 fetches it regardless (to test this path)
go_ok || need_go=1
want_pkgs="$want"
[ $need_go = 1 ] && want_pkgs="$want_pkgs curl unzip ca-certificates"

missing=""
for p in $want_pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "graft setup: installing$missing" >&2
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q >/dev/null
  # shellcheck disable=SC2086
  $SUDO apt-get install -y -q --no-install-recommends $missing >/dev/null
fi
if [ $need_go = 1 ]; then
  dir="${XDG_CACHE_HOME:-$HOME/.cache}/graft-go$gover"
  if [ ! -x "$dir/bin/go" ]; then
    arch=$(dpkg --print-architecture)
    echo "graft setup: fetching Go $gover from the Go module proxy" >&2
    tmp=$(mktemp -d)
    curl -fsSL -o "$tmp/go.zip" "https://proxy.golang.org/golang.org/toolchain/@v/v0.0.1-go$gover.linux-$arch.zip"
    unzip -q "$tmp/go.zip" -d "$tmp"
    mkdir -p "$(dirname "$dir")"
    rm -rf "$dir" && mv "$tmp/golang.org/toolchain@v0.0.1-go$gover.linux-$arch" "$dir"
    chmod +x "$dir"/bin/* "$dir"/pkg/tool/*/* 2>/dev/null || true
    rm -rf "$tmp"
  fi
  export PATH="$dir/bin:$PATH"
fi

make -s -C torch/shim
version=$(git describe --always --dirty 2>/dev/null || echo dev)
# Builds here run with -buildvcs=false, so graft's version and commit (what
# results.json and checkpoints record) are stamped in.
go build -ldflags "-X github.com/graftml/graft/internal/buildinfo.Stamp=$version" -o build/bin/graft ./cmd/graft
