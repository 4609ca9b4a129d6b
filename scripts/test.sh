#!/usr/bin/env bash
# The README's test command: installs what is missing (test data and the
# PyTorch reference included), builds, vets and runs every test.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export GRAFT_SETUP_TESTS=1
source scripts/setup.sh
go vet ./...
go test -count=1 -timeout 20m ./...
