#!/usr/bin/env bash
# tests/fuzz/run-fuzz-test.sh — what one fuzz ctest (fuzz.<target>) runs: the target for a
# bounded time over a copy of its corpora in a fresh temp folder, so neither the source tree
# nor the build's generated seeds are ever written. Every input of the corpora — the seeds and
# tests/fuzz/regressions/<target>/, the crashes found before — runs first; a crash found now is
# kept in ARTIFACTS (crash-<sha1>) and fails the test.
#
# Usage: run-fuzz-test.sh TARGET SECONDS ARTIFACTS DICT CORPUS_DIR...
#   DICT: a libFuzzer dictionary, or "" for none. Missing corpus folders are skipped.
set -uo pipefail

target="$1" seconds="$2" artifacts="$3" dict="$4"
shift 4

work="$(mktemp -d "${TMPDIR:-/tmp}/tandem-fuzz.XXXXXX")" || exit 1
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus" "$artifacts"
index=0
for dir in "$@"; do
  index=$((index + 1))
  [ -d "$dir" ] && cp -R "$dir" "$work/corpus/from-$index"
done

args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$artifacts/")
[ -n "$dict" ] && args+=(-dict="$dict")
"$target" "${args[@]}" "$work/corpus"
