#!/usr/bin/env bash
# Runs each package's tests under Go's race detector (go test -race), one
# package after another at nice 19, and prints a line per package: the
# result, the wall time (building included) and the data races reported.
# The cgo packages run too: -race instruments the Go side, and libtorch's own
# threads are outside its view. Exits non-zero when a package fails or races.
#
#   scripts/race.sh [PACKAGE...]      default: ./... less the exclusions below
#
# RACE_TIMEOUT (default 15m) bounds each package's test binary; RACE_FLAGS
# adds go test flags (say -short, or -run to narrow). A failing package's log
# is kept as ${TMPDIR:-/tmp}/race-PKG.log.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

timeout=${RACE_TIMEOUT:-15m}
# Excluded: none so far. Add [import/path]="why" here when a package cannot
# run under -race or is far too slow for it.
declare -A skip=()

mapfile -t pkgs < <(go list "${@:-./...}")
# Packages without tests are not built: building one under -race takes as
# long as testing a small one.
declare -A tested=()
while read -r p; do tested[$p]=1; done < <(go list -f '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}}{{end}}' "${pkgs[@]}" | grep .)

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
failed=0 ran=0 races_total=0
start_all=$SECONDS
printf '%-44s %6s %5s  %s\n' package wall races result
mod=$(go list -m)
for pkg in "${pkgs[@]}"; do
	name=${pkg#"$mod"/}
	if [[ -n ${skip[$pkg]:-} ]]; then
		printf '%-44s %6s %5s  %s\n' "$name" - - "skipped: ${skip[$pkg]}"
		continue
	fi
	if [[ -z ${tested[$pkg]:-} ]]; then
		printf '%-44s %6s %5s  %s\n' "$name" - - "no tests"
		continue
	fi
	log="$logs/log"
	start=$SECONDS
	# shellcheck disable=SC2086 # RACE_FLAGS is a list of flags
	nice -n 19 go test -race -count=1 -timeout "$timeout" ${RACE_FLAGS:-} "$pkg" >"$log" 2>&1
	rc=$?
	took=$((SECONDS - start))
	races=$(grep -c '^WARNING: DATA RACE' "$log")
	races_total=$((races_total + races))
	ran=$((ran + 1))
	if ((rc == 0 && races == 0)); then
		result=ok
	else
		failed=1
		if grep -q '^panic: test timed out' "$log"; then
			result="FAIL: timed out after $timeout"
		elif ((races > 0)); then
			result="FAIL: data race"
		else
			result="FAIL (exit $rc): $(grep -m 1 -E -- '--- FAIL|panic:|FAIL|error' "$log" || tail -n 1 "$log")"
		fi
		keep="${TMPDIR:-/tmp}/race-${pkg//\//_}.log"
		cp "$log" "$keep"
		result+=" (log: $keep)"
	fi
	printf '%-44s %5ss %5s  %s\n' "$name" "$took" "$races" "$result"
done
printf '%d packages tested in %ds, %d data races: %s\n' "$ran" "$((SECONDS - start_all))" "$races_total" \
	"$( ((failed)) && echo FAILED || echo ok)"
exit "$failed"
