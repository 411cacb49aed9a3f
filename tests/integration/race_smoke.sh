#!/usr/bin/env bash
# tests/integration/race_smoke.sh — the race's load tool against each server it races
# (bench/race.sh): tandem-server, bench/peers/ws-peer.mjs and bench/peers/socketio-peer.mjs, each
# started on a free 127.0.0.1 port, 3 clients in one room, each of them sending 20 messages
# (2 in flight); passes when every message reached every client, its sender included, exactly
# once (tandem-race --messages: exit 3 otherwise). Asserts behaviour, measures nothing. A few
# seconds. Exit 77 (ctest: skipped) when node or the npm packages are missing.
#
#   tests/integration/race_smoke.sh TANDEM_RACE TANDEM_SERVER
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
RACE=$1
SERVER=$2
# shellcheck source=toolchains/node-path.sh
. "$ROOT/toolchains/node-path.sh"
if ! command -v node >/dev/null || [[ ! -f "$ROOT/node_modules/ws/package.json" || ! -f "$ROOT/node_modules/socket.io/package.json" ]]; then
  echo "race_smoke: node or the npm packages (ws, socket.io) missing: run toolchains/setup.sh; skipped"
  exit 77
fi

WORK=$(mktemp -d /tmp/tandem-race-smoke.XXXXXX)
PID=""
cleanup() {
  if [[ -n "$PID" ]]; then kill -TERM "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
SECRET=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
mkdir "$WORK/www"

# start TARGET: its server on a free port (PORT), waiting until it listens; a port taken meanwhile
# means another one.
start() {
  local target=$1 log="$WORK/$1.log"
  for _ in 1 2 3 4 5; do
    PORT=$((20000 + RANDOM % 40000))
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && continue
    case "$target" in
      tandem) "$SERVER" --host 127.0.0.1 --port "$PORT" --web-root "$WORK/www" --jwt-secret "$SECRET" \
                --store sqlite --store-path "$WORK/tandem.db" --max-connections-per-ip 1000000 >"$log" 2>&1 & ;;
      ws) node "$ROOT/bench/peers/ws-peer.mjs" "$PORT" >"$log" 2>&1 & ;;
      socketio) node "$ROOT/bench/peers/socketio-peer.mjs" "$PORT" >"$log" 2>&1 & ;;
    esac
    PID=$!
    for _ in $(seq 1 600); do  # 30 s: node starts slowly on a busy machine
      if [[ $target == tandem ]]; then
        curl -fs --max-time 1 "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && return 0
      else
        grep -q "ready on port $PORT" "$log" && return 0
      fi
      kill -0 "$PID" 2>/dev/null || break
      sleep 0.05
    done
    kill -TERM "$PID" 2>/dev/null || true
    wait "$PID" 2>/dev/null || true
    PID=""
  done
  echo "race_smoke: $target did not start; its log:"
  cat "$log"
  exit 1
}

for target in tandem ws socketio; do
  start "$target"
  case "$target" in
    tandem) url="ws://127.0.0.1:$PORT/ws"; extra=(--secret "$SECRET") ;;
    ws) url="ws://127.0.0.1:$PORT/"; extra=() ;;
    socketio) url="ws://127.0.0.1:$PORT/socket.io/?EIO=4&transport=websocket"; extra=() ;;
  esac
  status=0
  "$RACE" --target "$target" --url "$url" --clients 3 --senders 3 --in-flight 2 --messages 20 \
    --connect-timeout 10 "${extra[@]}" || status=$?
  kill -TERM "$PID" 2>/dev/null || true
  wait "$PID" 2>/dev/null || true
  PID=""
  if [[ $status -ne 0 ]]; then
    echo "race_smoke: $target: tandem-race exited with $status; the server's log:"
    cat "$WORK/$target.log"
    exit 1
  fi
done
echo "race_smoke: every message reached every client on tandem, ws and socketio"
