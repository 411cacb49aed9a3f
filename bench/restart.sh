#!/usr/bin/env bash
# bench/restart.sh — a server restart under 1,000 connected clients (issue 15): tandem-server,
# supervised in a loop as systemd's Restart=always would (a fresh process as soon as the old
# one exits, on the same port and SQLite store), and tandem-restart (bench/src/restart.cpp):
# 1,000 real client cores connect, join one room, then SIGTERM reaches the server; it closes
# them with 1012, its successor comes up, and each client reconnects on its own (jittered)
# schedule, resumes its session and rejoins with `since`. A benchmark, not a test: ~20 s.
# Figures: docs/PERFORMANCE.md.
#
#   bench/restart.sh [--no-build]   (builds tandem-server and tandem-restart with the native
#                                    preset unless --no-build)
# Settings: CLIENTS (default 1000), SERVER_ARGS (more tandem-server flags), BUILD_DIR
# (default build/native), OUT_JSON (default build/bench/restart.json: the figures as JSON).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD=yes
case "${1:-}" in
  -h | --help) sed -n '2,/^set -euo pipefail/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
  --no-build) BUILD=no ;;
esac
BUILD_DIR=${BUILD_DIR:-$ROOT/build/native}
CLIENTS=${CLIENTS:-1000}
OUT_JSON=${OUT_JSON:-$ROOT/build/bench/restart.json}
read -r -a EXTRA_SERVER_ARGS <<<"${SERVER_ARGS:-}"
log() { printf '\033[1mrestart:\033[0m %s\n' "$*" >&2; }

if [[ $BUILD == yes ]]; then
  [[ -f $BUILD_DIR/build.ninja ]] || cmake --preset native >/dev/null
  cmake --build "$BUILD_DIR" --target tandem-server tandem-restart >/dev/null
fi
ulimit -n $((CLIENTS * 2 + 256)) 2>/dev/null || log "could not raise the open-file limit (ulimit -n $(ulimit -n))"

WORK=$(mktemp -d /tmp/tandem-restart.XXXXXX)
SUPERVISOR=""
cleanup() {
  [[ -n $SUPERVISOR ]] && kill "$SUPERVISOR" 2>/dev/null && wait "$SUPERVISOR" 2>/dev/null
  pkill -TERM -f -- "--store-path $WORK/tandem.db" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
SECRET=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
mkdir "$WORK/www"
PORT=$((20000 + RANDOM % 40000))
while (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; do PORT=$((20000 + RANDOM % 40000)); done

# The supervisor: each server's pid goes to $WORK/pid before it serves.
(
  trap 'exit 0' TERM
  while :; do
    "$BUILD_DIR/server/tandem-server" --host 127.0.0.1 --port "$PORT" --web-root "$WORK/www" \
      --jwt-secret "$SECRET" --store sqlite --store-path "$WORK/tandem.db" --max-connections-per-ip 1000000 \
      "${EXTRA_SERVER_ARGS[@]}" \
      >>"$WORK/server.log" 2>&1 &
    echo $! >"$WORK/pid"
    wait $! || true
  done
) &
SUPERVISOR=$!
for _ in $(seq 1 600); do
  curl -fs --max-time 1 "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
  sleep 0.05
done
PID=$(cat "$WORK/pid")
log "tandem-server $PID on port $PORT (restarted by a supervisor loop); $CLIENTS clients"

mkdir -p "$(dirname "$OUT_JSON")"
status=0
"$BUILD_DIR/bench/tandem-restart" --secret "$SECRET" --url "ws://127.0.0.1:$PORT/ws" --clients "$CLIENTS" \
  --server-pid "$PID" --json "$OUT_JSON" || status=$?
[[ $(cat "$WORK/pid") != "$PID" ]] && log "the server was restarted: pid $PID -> $(cat "$WORK/pid")"
[[ $status -eq 0 ]] && log "figures: $OUT_JSON"
[[ $status -eq 0 ]] || { log "tandem-restart exited with $status; the server's log:"; tail -30 "$WORK/server.log" >&2; }
exit $status
