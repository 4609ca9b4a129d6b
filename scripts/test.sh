#!/usr/bin/env bash
# The README's test command: installs what is missing (test data and the
# PyTorch reference included), builds, vets and runs every test.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
GRAFT_SETUP_TESTS=1 bash scripts/setup.sh
export PATH="$PATH:/usr/local/go/bin"
go vet ./...
go test -count=1 -timeout 20m ./...
