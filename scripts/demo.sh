#!/usr/bin/env bash
# The README's main job: installs what is missing, builds graft, and runs
# `graft demo` on embedded synthetic traffic signs (no download): pretrain on
# Belgian-style signs, compare transfer strategies on German-style ones with
# 5 and 20 examples per class, print the leaderboard and write the report.
# Output goes to ${1:-demo-out}.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh
build/bin/graft demo --out "${1:-demo-out}"
