#!/usr/bin/env bash
# bench/hostile_rss.sh — server memory under hostile connections (issue 16): a tandem-server
# with its default limits, then COUNT connections from bench/hostile/hostile-clients.mjs that
# never become useful (silent, slowloris, unauthenticated, a partial frame just under
# max_preauth_bytes). Prints the server's RSS before, at the peak with every connection open,
# and after the server has cut them (handshake_timeout_ms, auth_timeout_ms), and whether an
# honest client could still connect at the peak. A benchmark, not a test: ~30 s.
#
#   bench/hostile_rss.sh [--no-build]
# Settings: COUNT (default 10000), SERVER_ARGS (more tandem-server flags), BUILD_DIR.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD=yes
case "${1:-}" in
  -h | --help) sed -n '2,/^set -euo pipefail/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
  --no-build) BUILD=no ;;
esac
BUILD_DIR=${BUILD_DIR:-$ROOT/build/native}
COUNT=${COUNT:-10000}
read -r -a EXTRA_SERVER_ARGS <<<"${SERVER_ARGS:-}"
log() { printf '\033[1mhostile:\033[0m %s\n' "$*" >&2; }
. "$ROOT/toolchains/node-path.sh"

if [[ $BUILD == yes ]]; then
  [[ -f $BUILD_DIR/build.ninja ]] || cmake --preset native >/dev/null
  cmake --build "$BUILD_DIR" --target tandem-server >/dev/null
fi
ulimit -n $((COUNT * 2 + 1024)) 2>/dev/null || log "could not raise the open-file limit (ulimit -n $(ulimit -n))"

WORK=$(mktemp -d /tmp/tandem-hostile.XXXXXX)
SERVER_PID=""
CLIENTS_PID=""
cleanup() {
  [[ -n $CLIENTS_PID ]] && kill "$CLIENTS_PID" 2>/dev/null
  [[ -n $SERVER_PID ]] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
mkdir "$WORK/www"
SECRET=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
PORT=$((20000 + RANDOM % 40000))
while (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; do PORT=$((20000 + RANDOM % 40000)); done
# The hostile clients all come from 127.0.0.1: the per-address cap (1000) would stop them at
# once, which is the point of it — lifted here to measure what the other bounds leave.
"$BUILD_DIR/server/tandem-server" --host 127.0.0.1 --port "$PORT" --web-root "$WORK/www" --jwt-secret "$SECRET" \
  --store sqlite --store-path "$WORK/tandem.db" --max-connections-per-ip 1000000 "${EXTRA_SERVER_ARGS[@]}" \
  >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do curl -fs --max-time 1 "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
rss() { awk '/VmRSS/ {print $2}' "/proc/$SERVER_PID/status"; }

before=$(rss)
log "server pid $SERVER_PID on $PORT, RSS ${before} KiB; opening $COUNT hostile connections"
node "$ROOT/bench/hostile/hostile-clients.mjs" "$PORT" "$COUNT" >"$WORK/clients.log" 2>&1 &
CLIENTS_PID=$!
for _ in $(seq 1 600); do grep -q '^open' "$WORK/clients.log" && break; sleep 0.1; done
# Highest RSS over the next 3 s, while the partial frames arrive.
peak=$(rss)
for _ in $(seq 1 12); do sleep 0.25; now=$(rss); (( now > peak )) && peak=$now; done
honest=$(curl -fs --max-time 5 "http://127.0.0.1:$PORT/healthz" >/dev/null && echo yes || echo no)
log "all open: RSS ${peak} KiB (+$(( (peak - before) * 1024 / COUNT )) bytes per hostile connection); /healthz answers: $honest"
for _ in $(seq 1 40); do
  alive=$(grep '^alive' "$WORK/clients.log" | tail -1 | cut -d' ' -f2)
  [[ ${alive:-$COUNT} -eq 0 ]] && break
  sleep 1
done
sleep 4  # the last lingering sockets close, and the server's memory trim runs on its tick
after=$(rss)
log "after the cut ($(grep '^alive' "$WORK/clients.log" | tail -1)): RSS ${after} KiB"
printf '{"count":%d,"rss_before_kib":%d,"rss_peak_kib":%d,"rss_after_kib":%d,"bytes_per_connection":%d,"healthz_at_peak":"%s"}\n' \
  "$COUNT" "$before" "$peak" "$after" $(( (peak - before) * 1024 / COUNT )) "$honest"
