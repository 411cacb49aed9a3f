#!/usr/bin/env bash
# toolchains/run-tests.sh — the README's test command (and exactly what .ci/run runs).
#
# Installs whatever the machine lacks (toolchains/setup.sh), builds the WebAssembly client
# (build/wasm -> build/www), the native tree (build/native, gcc: the server, the clients, the
# tools and what the e2e tests drive) and the ASan+UBSan tree (build/asan, clang: everything,
# with the GoogleTest suites and the libFuzzer targets), then runs:
#   1. the unit, integration and PostgreSQL tests under ASan+UBSan, and a short run of each fuzz
#      target;
#   2. natively what the ASan tree does not: the e2e tests (Chromium, Xvfb), the node tests
#      against real npm clients, the scripted benches, the type checks.
# The GoogleTest suites are built once, in the ASan tree (TANDEM_TEST_BINARIES=OFF natively):
# building and running them twice cost ~8 of CI's 25 minutes. `cmake --preset native` alone
# (a developer's tree) builds them natively as well.
# The native ctest run comes last so that the output ends with its summary line.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
JOBS="${TANDEM_JOBS:-$(nproc)}"

started=$(date +%s)
# Each step says how long the run has taken so far (CI's budget is 25 minutes).
step() { printf '\n\033[1m==> %s\033[0m  (%d s so far)\n' "$*" $(( $(date +%s) - started )); }

step "setup (installs only what is missing)"
./toolchains/setup.sh || exit 1
. ./toolchains/node-path.sh  # the Node.js setup chose, for CMake and the tests

step "build: wasm (client core, browser module, canvas)"
{ cmake --preset wasm >/dev/null && cmake --build --preset wasm -j "$JOBS"; } || exit 1

step "build: native (server, clients, e2e)"
{ cmake --preset native -DTANDEM_TEST_BINARIES=OFF >/dev/null && cmake --build --preset native -j "$JOBS"; } || exit 1

step "build: asan (ASan + UBSan, clang, fuzz targets)"
{ cmake --preset asan >/dev/null && cmake --build --preset asan -j "$JOBS"; } || exit 1

step "test: unit + integration + postgres + fuzz under ASan+UBSan"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --preset asan -j "$JOBS"
asan_rc=$?

step "test: native (e2e, node, benches) — asan run: rc=$asan_rc"
ctest --preset native -j "$JOBS"
native_rc=$?

# Nothing is printed after ctest: CI reads its summary as the last line.
[ "$asan_rc" -eq 0 ] && [ "$native_rc" -eq 0 ]
