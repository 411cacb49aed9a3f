#!/usr/bin/env bash
# bench/canvas_frames.sh — the native canvas's frame time with 500 nodes and 1,000 edges
# (software GL: Xvfb + llvmpipe). A benchmark, not a test: run it by hand, it takes ~1-2 min.
#
#   bench/canvas_frames.sh [BUILD_DIR]     (default build/native; needs tandem-server and
#                                           tandem-canvas built there, Xvfb and curl)
#
# 1. starts a tandem-server (--dev, a fresh store, a high --rate-per-sec) on a free port;
# 2. seeds workflow:bench-frames with a desktop canvas's script: 500 nodes on a 25 x 20 grid and
#    1,000 edges (i -> i+1, i -> i+2, and three i -> i+3), then a drag it waits to see settled,
#    which the server orders after every create and connect before it;
# 3. runs the canvas three times, 1280x800, --frame-stats 300, for ~920 frames at one view each:
#    zoom 1, zoom 0.5, and `fit` (the whole graph); prints the last 300-frame report of each (frames 601-900, all at that view)
#    (mean, p95, max time to build and draw a frame, glFinish included).
set -euo pipefail

BUILD_DIR=${1:-build/native}
SERVER="$BUILD_DIR/server/tandem-server"
CANVAS="$BUILD_DIR/wasm-client/canvas/tandem-canvas"
for bin in "$SERVER" "$CANVAS"; do
  [[ -x "$bin" ]] || { echo "canvas_frames: $bin not built" >&2; exit 2; }
done
command -v Xvfb >/dev/null || { echo "canvas_frames: Xvfb not found" >&2; exit 2; }

WORK=$(mktemp -d /tmp/tandem-canvas-frames.XXXXXX)
SERVER_PID=""
XVFB_PID=""
cleanup() {
  [[ -n "$SERVER_PID" ]] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  [[ -n "$XVFB_PID" ]] && kill "$XVFB_PID" 2>/dev/null && wait "$XVFB_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

# A free port: the first one between 20000 and 29999 nothing answers on.
PORT=""
for _ in $(seq 1 50); do
  candidate=$((20000 + RANDOM % 10000))
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then PORT=$candidate; break; fi
done
[[ -n "$PORT" ]] || { echo "canvas_frames: no free port" >&2; exit 1; }

"$SERVER" --dev --port "$PORT" --web-root "$WORK" --store-path "$WORK/store.db" \
  --jwt-secret "$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" \
  --rate-per-sec 100000 >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null || { cat "$WORK/server.log" >&2; exit 1; }

# Xvfb on the first free display from :90.
DISPLAY_NUMBER=90
while [[ -e "/tmp/.X11-unix/X$DISPLAY_NUMBER" || -e "/tmp/.X$DISPLAY_NUMBER-lock" ]]; do
  DISPLAY_NUMBER=$((DISPLAY_NUMBER + 1))
done
Xvfb ":$DISPLAY_NUMBER" -screen 0 1280x800x24 -nolisten tcp >"$WORK/xvfb.log" 2>&1 &
XVFB_PID=$!
for _ in $(seq 1 50); do [[ -e "/tmp/.X11-unix/X$DISPLAY_NUMBER" ]] && break; sleep 0.1; done
export DISPLAY=":$DISPLAY_NUMBER" LIBGL_ALWAYS_SOFTWARE=1

URL="ws://127.0.0.1:$PORT/ws"
ROOM=workflow:bench-frames
NODES=500
COLUMNS=25

# ---- seed: 500 nodes, 1,000 edges ----
{
  echo "wait-joined"
  for ((i = 1; i <= NODES; i++)); do
    echo "create n$i http_request $((((i - 1) % COLUMNS) * 240)) $((((i - 1) / COLUMNS) * 110)) step $i"
  done
  edges=0
  for ((i = 1; i < NODES; i++)); do echo "connect n$i n$((i + 1))"; edges=$((edges + 1)); done
  for ((i = 1; i + 2 <= NODES; i++)); do echo "connect n$i n$((i + 2))"; edges=$((edges + 1)); done
  for ((i = 1; edges < 1000; i++)); do echo "connect n$i n$((i + 3))"; edges=$((edges + 1)); done
  echo "drag n1 0 5"
  echo "wait-pos n1 0 5"
  echo "exit"
} >"$WORK/seed.script"
echo "seeding $ROOM: $NODES nodes, 1000 edges ..."
"$CANVAS" --url "$URL" --dev-name seeder --room "$ROOM" --width 320 --height 200 --timeout-ms 300000 \
  --script-file "$WORK/seed.script" >"$WORK/seed.log" 2>&1 || { tail -20 "$WORK/seed.log" >&2; exit 1; }

# ---- measure ----
measure() {  # $1: a name, $2: the view step (zoom F | fit)
  local log="$WORK/measure-$1.log"
  "$CANVAS" --url "$URL" --dev-name "bench-$1" --room "$ROOM" --width 1280 --height 800 --timeout-ms 300000 \
    --frame-stats 300 --state-file "$WORK/state-$1.json" \
    --script "wait-joined; wait-node n$NODES; $2; wait-frames 910; exit" >"$log" 2>&1 ||
    { tail -20 "$log" >&2; exit 1; }
  local last
  last=$(grep '^frame-stats:' "$log" | tail -1)
  echo "$2: ${last#frame-stats: }"
  grep -q ' 500 nodes, 1000 edges' <<<"$last" || { echo "canvas_frames: the graph is not 500 nodes / 1000 edges" >&2; exit 1; }
}
echo "frame time, 1280x800, Xvfb + software GL (LIBGL_ALWAYS_SOFTWARE=1), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg):"
measure zoom1 "zoom 1"
measure zoom05 "zoom 0.5"
measure fit "fit"
