#!/usr/bin/env bash
# toolchains/run-server.sh — the README's run command.
#
# Installs whatever the machine lacks, builds the WebAssembly client and the native server,
# then starts tandem-server in the foreground on its embedded default (one process, serving
# the web demo from build/www) in DEVELOPMENT MODE: the demo page mints its own tokens.
# Extra arguments go to tandem-server (e.g. --port 9000). Ctrl-C stops it gracefully.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
JOBS="${TANDEM_JOBS:-$(nproc)}"

./toolchains/setup.sh
. ./toolchains/node-path.sh  # the Node.js setup chose
cmake --preset wasm >/dev/null && cmake --build --preset wasm -j "$JOBS"
cmake --preset native >/dev/null && cmake --build --preset native -j "$JOBS" --target tandem-server
exec ./build/native/server/tandem-server --dev --web-root "$ROOT/build/www" "$@"
