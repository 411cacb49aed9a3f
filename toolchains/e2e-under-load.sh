#!/usr/bin/env bash
# toolchains/e2e-under-load.sh — runs the whole e2e suite (ctest label e2e: browser, desktop
# canvas, Vite app) several times in a row while stress-ng keeps every core busy, the way a CI
# machine shared with other jobs is. A test that waits on sleeps or on timing rather than on
# conditions fails here first. Run it before landing a change to an e2e test.
#
# Usage: toolchains/e2e-under-load.sh [RUNS] [ctest args...]
#   RUNS        how many passes of the suite (default 3); every pass runs even if one fails
#   ctest args  passed on, e.g. -R canvas to run only the canvas tests
# Env: TANDEM_STRESS_CPUS (default: nproc) stress-ng CPU workers; TANDEM_JOBS ctest -j (default
# nproc). Needs the native and wasm builds (toolchains/run-tests.sh or the presets) and installs
# stress-ng (Debian) when missing. Prints one line per pass and a summary; exits non-zero when
# any pass failed.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
RUNS="${1:-3}"
[ $# -gt 0 ] && shift
CPUS="${TANDEM_STRESS_CPUS:-$(nproc)}"
JOBS="${TANDEM_JOBS:-$(nproc)}"
. ./toolchains/node-path.sh

[ -f build/native/CTestTestfile.cmake ] || { echo "e2e-under-load: build/native is missing: run toolchains/run-tests.sh first" >&2; exit 2; }
if ! command -v stress-ng >/dev/null; then
  echo "[e2e-under-load] installing stress-ng"
  if [ "$(id -u)" -eq 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends stress-ng >/dev/null
  else
    sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends stress-ng >/dev/null
  fi || exit 2
fi

stress-ng --cpu "$CPUS" --cpu-method all --quiet &
stress_pid=$!
trap 'kill "$stress_pid" 2>/dev/null; wait "$stress_pid" 2>/dev/null' EXIT
echo "[e2e-under-load] stress-ng --cpu $CPUS running (pid $stress_pid); $RUNS passes of ctest -L e2e -j $JOBS $*"

failed=0
results=()
for run in $(seq 1 "$RUNS"); do
  log="build/test-artifacts/e2e-under-load-$run.log"
  mkdir -p build/test-artifacts
  started=$(date +%s)
  ctest --preset native -L e2e -j "$JOBS" "$@" >"$log" 2>&1
  rc=$?
  took=$(( $(date +%s) - started ))
  summary="$(grep -E 'tests passed, [0-9]+ tests failed' "$log" | tail -n 1)"
  line="pass $run/$RUNS: $summary (${took} s, load $(cut -d' ' -f1 /proc/loadavg)) -> $log"
  [ "$rc" -eq 0 ] || { failed=$((failed + 1)); line="$line  FAILED: $(grep -E '\((Failed|Timeout)\)' "$log" | sed -E 's/.* - ([^ ]+) .*/\1/' | tr '\n' ' ')"; }
  echo "[e2e-under-load] $line"
  results+=("$line")
done

echo
echo "e2e under stress-ng --cpu $CPUS on $(nproc) cores:"
printf '  %s\n' "${results[@]}"
[ "$failed" -eq 0 ]
