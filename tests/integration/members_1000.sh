#!/usr/bin/env bash
# tests/integration/members_1000.sh — a room of 1,000 (PROTOCOL.md §7 crowds): tandem-bench's
# `members` scenario against a tandem-server on a free 127.0.0.1 port. 1,000 clients join one
# room, then one of them pages through presence_list: passes when every client is listed
# exactly once and the count is 1,000 (tandem-bench exits 3 otherwise). Asserts behaviour; the
# figures it prints (join time, bytes, RSS per member) are for bench/, not checked here.
#
#   tests/integration/members_1000.sh TANDEM_BENCH TANDEM_SERVER
set -euo pipefail

BENCH=$1
SERVER=$2
CLIENTS=1000
ulimit -n $((CLIENTS * 2 + 256)) 2>/dev/null || true  # one descriptor per client, the server's too
if (( $(ulimit -n) < CLIENTS + 64 )); then
  echo "members_1000: open-file limit $(ulimit -n) is below $((CLIENTS + 64)); skipped"
  exit 77
fi

WORK=$(mktemp -d /tmp/tandem-members.XXXXXX)
PID=""
cleanup() {
  if [[ -n "$PID" ]]; then kill -TERM "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
SECRET=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
mkdir "$WORK/www"

# A free port (a port taken meanwhile means another try), then /healthz within 30 s.
for _ in 1 2 3 4 5; do
  PORT=$((20000 + RANDOM % 40000))
  (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && continue
  "$SERVER" --host 127.0.0.1 --port "$PORT" --web-root "$WORK/www" --jwt-secret "$SECRET" \
    --store sqlite --store-path "$WORK/tandem.db" --max-connections-per-ip 1000000 >"$WORK/server.log" 2>&1 &
  PID=$!
  for _ in $(seq 1 600); do
    curl -fs --max-time 1 "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break 2
    kill -0 "$PID" 2>/dev/null || break
    sleep 0.05
  done
  kill -TERM "$PID" 2>/dev/null || true
  wait "$PID" 2>/dev/null || true
  PID=""
done
if [[ -z "$PID" ]]; then
  echo "members_1000: tandem-server did not start; its log:"
  cat "$WORK/server.log"
  exit 1
fi

status=0
"$BENCH" --secret "$SECRET" --url "ws://127.0.0.1:$PORT/ws" --clients "$CLIENTS" --scenario members \
  --connect-timeout 60 --server-pid "$PID" || status=$?
if [[ $status -ne 0 ]]; then
  echo "members_1000: tandem-bench exited with $status; the server's log (tail):"
  tail -50 "$WORK/server.log"
  exit 1
fi
echo "members_1000: every one of $CLIENTS members listed once"
