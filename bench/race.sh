#!/usr/bin/env bash
# bench/race.sh — the performance race (issue 15): tandem-server against a node `ws` server and
# a Socket.IO server (bench/peers/), the same workload from the same load tool (tandem-race,
# bench/src/race.cpp) in one run — and tandem-floor (bench/src/floor_server.cpp), the least a
# WebSocket room server can do (one epoll thread relaying bytes, no parsing): what the kernel's
# loopback path alone costs on this machine, the floor under every server's figures — and
# tandem-lws-floor (bench/src/lws_floor.cpp), the same protocol on a bare libwebsockets server:
# what lws itself costs, the floor under Tandem's. A benchmark, not a test: about 4 minutes on 2 cores.
# Figures: docs/PERFORMANCE.md.
#
#   bench/race.sh [--no-build]     (needs a native build; builds tandem-server and tandem-race
#   bench/race.sh --help            with the native preset unless --no-build)
#
# 1. builds tandem-server and tandem-race (cmake --preset native when build/native is not
#    configured), installs the npm packages of the lockfile when ws or socket.io is missing
#    (npm ci), and gnuplot-nox from Debian when gnuplot is missing (as toolchains/setup.sh does);
# 2. raises the open-file limit (ulimit -n) for the largest scenario's connections;
# 3. for each target of $TARGETS and each scenario of $SCENARIOS, starts a fresh server on a free
#    127.0.0.1 port (one process at a time, so they never compete; tandem-server on SQLite in a
#    temp folder, a new store each time), runs tandem-race against it and stops it:
#      fanout-1000   1,000 clients in one room, 10 senders x 4 messages in flight, 64-byte payload
#      fanout-100    the same with 100 clients
#      light-1000    1,000 clients, 10 senders at 1 message/s each (10 msg/s in all): p99 at rest
#      idle-5000     5,000 connections that only connect (Tandem: authenticated): RSS per connection
#      idle-10000    the same with 10,000
#    each run: --warmup s of load, then --duration s measured; delivered msg/s counts every
#    client's receipts, latency is measured at every receiver from the send time in the payload;
# 4. writes every run's figures to $OUT_JSON, a markdown table to $OUT_MD, and a plot to $PLOT.
# Logs go to a temp folder (printed and kept when something fails, or with KEEP_WORK=1).
#
# Settings (environment variables):
#   TARGETS        servers, in order (default "floor lws-floor tandem ws socketio")
#   SCENARIOS      scenarios, in order (default "fanout-1000 fanout-100 light-1000 idle-5000 idle-10000")
#   RACE_DURATION  measured seconds per run (default 10)
#   RACE_WARMUP    seconds of load before measuring (default 2)
#   TANDEM_TYPE    the message Tandem's senders send: chat (durable; default) or broadcast
#   SERVER_ARGS    more flags for tandem-server
#   OUT_JSON       default build/bench/race.json
#   OUT_MD         default build/bench/race.md
#   PLOT           default build/bench/race.svg (docs/images/race.svg is a copy of a run's plot)
#   BUILD_DIR      default build/native
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
usage() { sed -n '2,/^set -euo pipefail/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }
BUILD=yes
case "${1:-}" in
  -h | --help) usage; exit 0 ;;
  --no-build) BUILD=no; shift ;;
esac
[[ $# -eq 0 ]] || { usage >&2; exit 2; }

BUILD_DIR=${BUILD_DIR:-$ROOT/build/native}
TARGETS=${TARGETS:-floor lws-floor tandem ws socketio}
SCENARIOS=${SCENARIOS:-fanout-1000 fanout-100 light-1000 idle-5000 idle-10000}
DURATION=${RACE_DURATION:-10}
WARMUP=${RACE_WARMUP:-2}
TANDEM_TYPE=${TANDEM_TYPE:-chat}
OUT_JSON=${OUT_JSON:-$ROOT/build/bench/race.json}
OUT_MD=${OUT_MD:-$ROOT/build/bench/race.md}
PLOT=${PLOT:-$ROOT/build/bench/race.svg}
read -r -a EXTRA_SERVER_ARGS <<<"${SERVER_ARGS:-}"

log() { printf '\033[1mrace:\033[0m %s\n' "$*" >&2; }
fail() { log "$*"; exit 1; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# The workload of each scenario, as tandem-race flags (the target's own flags are added per run).
scenario_flags() {
  case "$1" in
    fanout-1000) echo "--clients 1000 --senders 10 --in-flight 4 --payload 64" ;;
    fanout-100) echo "--clients 100 --senders 10 --in-flight 4 --payload 64" ;;
    light-1000) echo "--clients 1000 --senders 10 --rate 10 --payload 64" ;;
    idle-5000) echo "--clients 5000 --idle" ;;
    idle-10000) echo "--clients 10000 --idle" ;;
    *) return 1 ;;
  esac
}
for scenario in $SCENARIOS; do scenario_flags "$scenario" >/dev/null || fail "unknown scenario $scenario"; done
for target in $TARGETS; do
  case "$target" in floor | lws-floor | tandem | ws | socketio) ;; *) fail "unknown target $target (floor, lws-floor, tandem, ws, socketio)" ;; esac
done
[[ $TANDEM_TYPE == chat || $TANDEM_TYPE == broadcast ]] || fail "TANDEM_TYPE is chat or broadcast"

# --- 1. what the race needs ------------------------------------------------------------------
if [[ $BUILD == yes ]]; then
  if [[ ! -f "$BUILD_DIR/CMakeCache.txt" ]]; then
    [[ "$BUILD_DIR" == "$ROOT/build/native" ]] || fail "$BUILD_DIR is not configured"
    log "configuring build/native (cmake --preset native)"
    (cd "$ROOT" && cmake --preset native >/dev/null)
  fi
  log "building tandem-server, tandem-race and the floors in $BUILD_DIR"
  cmake --build "$BUILD_DIR" --target tandem-server tandem-race tandem-floor tandem-lws-floor -- -j2 >/dev/null
fi
for bin in server/tandem-server bench/tandem-race bench/tandem-floor bench/tandem-lws-floor; do
  [[ -x "$BUILD_DIR/$bin" ]] || fail "$BUILD_DIR/$bin not built"
done

# shellcheck source=toolchains/node-path.sh
. "$ROOT/toolchains/node-path.sh"
if [[ " $TARGETS " == *" ws "* || " $TARGETS " == *" socketio "* ]]; then
  command -v node >/dev/null || fail "node not found (toolchains/setup.sh installs one)"
  if [[ ! -f "$ROOT/node_modules/ws/package.json" || ! -f "$ROOT/node_modules/socket.io/package.json" ]]; then
    log "installing the npm packages of the lockfile (npm ci)"
    (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error)
  fi
fi
if ! command -v gnuplot >/dev/null; then
  log "installing gnuplot-nox (Debian) for the plot"
  { as_root apt-get update -qq && DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends gnuplot-nox; } \
    >/dev/null || log "gnuplot could not be installed: no plot this time"
fi

# --- 2. file descriptors ---------------------------------------------------------------------
# The load tool and the server each hold one socket per connection, plus their own files.
MAX_CLIENTS=0
for scenario in $SCENARIOS; do
  n=$(scenario_flags "$scenario" | sed -n 's/.*--clients \([0-9]*\).*/\1/p')
  [[ $n -gt $MAX_CLIENTS ]] && MAX_CLIENTS=$n
done
NEED_FDS=$((MAX_CLIENTS + 1024))
if [[ $(ulimit -n) != unlimited && $(ulimit -n) -lt $NEED_FDS ]]; then
  HARD=$(ulimit -Hn)
  if [[ $HARD == unlimited || $HARD -ge $NEED_FDS ]]; then
    ulimit -n "$NEED_FDS"
  else
    ulimit -n "$HARD" 2>/dev/null || true
  fi
fi
[[ $(ulimit -n) == unlimited || $(ulimit -n) -ge $NEED_FDS ]] ||
  fail "open-file limit $(ulimit -n) (hard $(ulimit -Hn)) is below the $NEED_FDS the largest scenario needs"

# --- 3. the runs -----------------------------------------------------------------------------
WORK=$(mktemp -d /tmp/tandem-race.XXXXXX)
mkdir "$WORK/bin" "$WORK/logs" "$WORK/runs" "$WORK/www"
# The binaries are copied: every run uses the same build even if BUILD_DIR is rebuilt meanwhile.
cp "$BUILD_DIR/server/tandem-server" "$BUILD_DIR/bench/tandem-race" "$BUILD_DIR/bench/tandem-floor" \
  "$BUILD_DIR/bench/tandem-lws-floor" "$WORK/bin/"
echo "<!doctype html><title>tandem race</title>" >"$WORK/www/index.html"
SERVER_PID=""
stop_server() {
  if [[ -n "$SERVER_PID" ]]; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=""
}
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  stop_server
  if [[ $status -ne 0 || "${KEEP_WORK:-0}" == 1 ]]; then log "logs kept in $WORK/logs"; else rm -rf "$WORK"; fi
  exit "$status"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

free_port() {
  local candidate
  for _ in $(seq 1 50); do
    candidate=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then echo "$candidate"; return 0; fi
  done
  fail "no free port"
}

SECRET=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
VERSION=$("$WORK/bin/tandem-server" --version 2>&1)
BUILD_ID="sha256 $(sha256sum "$WORK/bin/tandem-server" | cut -c1-12), built $(date -u -r "$BUILD_DIR/server/tandem-server" +%Y-%m-%dT%H:%M:%SZ)"
NODE_VERSION=$(node --version 2>/dev/null || echo none)
peer_version() { node -p "require('$ROOT/node_modules/$1/package.json').version" 2>/dev/null || echo none; }
WS_VERSION=$(peer_version ws)
LWS_VERSION=$(pkg-config --modversion libwebsockets 2>/dev/null || echo "?")
LWS_VERSION=${LWS_VERSION%-}
SOCKETIO_VERSION=$(peer_version socket.io)

# start_server TARGET RUN: the target's server on a free port (PORT), its output in
# logs/RUN.server.log; waits for it to listen. A port taken between the check and the bind means
# another port.
start_server() {
  local target=$1 run=$2 attempt store
  for attempt in 1 2 3 4 5; do
    PORT=$(free_port)
    case "$target" in
      tandem)
        store="$WORK/store-$run"
        mkdir -p "$store"
        # The race's senders go as fast as their messages come back (thousands a second each);
        # the per-connection rate limit (rate_per_sec 100) would refuse most of it, and its
        # clients all come from 127.0.0.1 (max_connections_per_ip 1000); the peers have neither
        # limit: both lifted here, like every other default left as it is.
        "$WORK/bin/tandem-server" --host 127.0.0.1 --port "$PORT" --web-root "$WORK/www" --jwt-secret "$SECRET" \
          --store sqlite --store-path "$store/tandem.db" --rate-per-sec 1000000 --rate-burst 1000000 \
          --max-connections-per-ip 1000000 \
          "${EXTRA_SERVER_ARGS[@]}" >"$WORK/logs/$run.server.log" 2>&1 &
        ;;
      floor) "$WORK/bin/tandem-floor" "$PORT" >"$WORK/logs/$run.server.log" 2>&1 & ;;
      lws-floor) "$WORK/bin/tandem-lws-floor" "$PORT" >"$WORK/logs/$run.server.log" 2>&1 & ;;
      ws) node "$ROOT/bench/peers/ws-peer.mjs" "$PORT" >"$WORK/logs/$run.server.log" 2>&1 & ;;
      socketio) node "$ROOT/bench/peers/socketio-peer.mjs" "$PORT" >"$WORK/logs/$run.server.log" 2>&1 & ;;
    esac
    SERVER_PID=$!
    for _ in $(seq 1 200); do
      if [[ $target == tandem ]]; then
        curl -fs --max-time 1 "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && return 0
      else
        grep -q "ready on port $PORT" "$WORK/logs/$run.server.log" && return 0
      fi
      kill -0 "$SERVER_PID" 2>/dev/null || break
      sleep 0.05
    done
    kill -0 "$SERVER_PID" 2>/dev/null && fail "$run: the server did not start listening on $PORT"
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
    grep -qiE "cannot listen|EADDRINUSE" "$WORK/logs/$run.server.log" || { cat "$WORK/logs/$run.server.log" >&2; fail "$run: the server exited at start"; }
    log "$run: port $PORT was taken meanwhile (attempt $attempt); another one"
  done
  fail "$run: no free port"
}

# run_one TARGET SCENARIO: a fresh server, tandem-race against it, the figures in runs/.
run_one() {
  local target=$1 scenario=$2 run="$1-$2" url flags=() status=0
  read -r -a flags <<<"$(scenario_flags "$scenario")"
  start_server "$target" "$run"
  case "$target" in
    tandem) url="ws://127.0.0.1:$PORT/ws"; flags+=(--secret "$SECRET" --tandem-type "$TANDEM_TYPE") ;;
    ws | floor | lws-floor) url="ws://127.0.0.1:$PORT/" ;;
    socketio) url="ws://127.0.0.1:$PORT/socket.io/?EIO=4&transport=websocket" ;;
  esac
  log "$run: server pid $SERVER_PID on port $PORT; tandem-race ${flags[*]/$SECRET/SECRET}"
  # Its lines show as they come (progress) and go to the run's log.
  set +e
  "$WORK/bin/tandem-race" --target "${target/lws-floor/floor}" --url "$url" --label "$scenario" --server-pid "$SERVER_PID" \
    --warmup "$WARMUP" --duration "$DURATION" --json "$WORK/runs/$run.json" "${flags[@]}" 2>&1 |
    tee "$WORK/logs/$run.bench.log" | sed -u 's/^/    /' >&2
  status=${PIPESTATUS[0]}
  set -e
  kill -0 "$SERVER_PID" 2>/dev/null || fail "$run: the server died during the run"
  stop_server
  if [[ $status -ne 0 || ! -s "$WORK/runs/$run.json" ]]; then
    log "$run: tandem-race exited with $status; no figures for this run"
    rm -f "$WORK/runs/$run.json"
  fi
}

CPU_MODEL=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
log "$(nproc) cores ($CPU_MODEL), load average $(cut -d' ' -f1-3 /proc/loadavg); the load tool and the server share them"
log "$VERSION ($BUILD_ID); node $NODE_VERSION, ws $WS_VERSION, socket.io $SOCKETIO_VERSION; Tandem sends $TANDEM_TYPE"
log "targets: $TARGETS; scenarios: $SCENARIOS; ${WARMUP} s warm-up + ${DURATION} s measured per run"
STARTED_AT=$(date +%s)
for target in $TARGETS; do
  for scenario in $SCENARIOS; do run_one "$target" "$scenario"; done
done
log "all runs done in $(($(date +%s) - STARTED_AT)) s"

# --- 4. figures ------------------------------------------------------------------------------
# One JSON per run (tandem-race --json); a field of one, read without jq.
field() { # FILE KEY -> the first "KEY":value (numbers, strings unquoted)
  sed -n "s/.*\"$2\":\"\{0,1\}\([^,\"}]*\).*/\1/p" "$1" | head -n 1
}
latency() { # FILE p50|p99|max
  sed -n "s/.*\"latency_ms\":{[^}]*\"$2\":\([-0-9.]*\).*/\1/p" "$1"
}
rss() { # FILE idle|connected|peak|after
  sed -n "s/.*\"rss_kib\":{[^}]*\"$2\":\([-0-9]*\).*/\1/p" "$1"
}
ms() { awk -v v="$1" 'BEGIN { if (v < 0) print "–"; else if (v < 10) printf "%.2f", v; else printf "%.0f", v }'; }
target_name() {
  case "$1" in floor) echo "floor (kernel + epoll relay)" ;; lws-floor) echo "lws floor (bare libwebsockets $LWS_VERSION)" ;; tandem) echo "tandem ($TANDEM_TYPE)" ;; ws) echo "node ws $WS_VERSION" ;; socketio) echo "socket.io $SOCKETIO_VERSION" ;; esac
}

LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
mkdir -p "$(dirname "$OUT_JSON")" "$(dirname "$OUT_MD")" "$(dirname "$PLOT")"
{
  printf '{"bench":"race","date":"%s","cores":%d,"cpu":"%s","load_average":"%s","warmup_s":%s,"duration_s":%s,' \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(nproc)" "$CPU_MODEL" "$LOAD" "$WARMUP" "$DURATION"
  printf '"tandem_type":"%s","server_version":"%s","server_build":"%s","server_args":"%s","node":"%s","ws":"%s","socket_io":"%s","runs":[' \
    "$TANDEM_TYPE" "$VERSION" "$BUILD_ID" "${SERVER_ARGS:-}" "$NODE_VERSION" "$WS_VERSION" "$SOCKETIO_VERSION"
  first=yes
  for target in $TARGETS; do
    for scenario in $SCENARIOS; do
      f="$WORK/runs/$target-$scenario.json"
      [[ -f $f ]] || continue
      [[ $first == yes ]] || printf ','
      first=no
      tr -d '\n' <"$f"
    done
  done
  printf ']}\n'
} >"$OUT_JSON"

{
  echo "| scenario | server | delivered msg/s | p50 ms | p99 ms | max ms | missing | join ms | server CPU s | msg per server CPU s | server RSS KiB: idle / with clients / peak / after | RSS per client |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|"
  for scenario in $SCENARIOS; do
    for target in $TARGETS; do
      f="$WORK/runs/$target-$scenario.json"
      if [[ ! -f $f ]]; then
        echo "| $scenario | $(target_name "$target") | failed | | | | | | | | | |"
        continue
      fi
      rss_cell="$(rss "$f" idle) / $(rss "$f" connected) / $(rss "$f" peak) / $(rss "$f" after)"
      if [[ $(field "$f" mode) == idle ]]; then
        printf '| %s | %s | – | – | – | – | – | – | – | – | %s | %s B |\n' "$scenario" "$(target_name "$target")" \
          "$rss_cell" "$(field "$f" rss_per_connection_bytes)"
      else
        printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s B |\n' "$scenario" "$(target_name "$target")" \
          "$(field "$f" delivered_per_s)" "$(ms "$(latency "$f" p50)")" "$(ms "$(latency "$f" p99)")" "$(ms "$(latency "$f" max)")" \
          "$(field "$f" missing_after_drain)" "$(field "$f" join_ms)" "$(field "$f" server_cpu_s)" \
          "$(field "$f" delivered_per_server_cpu_s)" "$rss_cell" "$(field "$f" rss_per_connection_bytes)"
      fi
    done
  done
} >"$OUT_MD"
echo
echo "race: $(nproc) cores ($CPU_MODEL); $VERSION; node $NODE_VERSION; load average now $LOAD"
cat "$OUT_MD"
echo "figures: $OUT_JSON, table: $OUT_MD"

# The plot: four panels (fan-out msg/s; msg per server CPU second; p99 latency, log scale; idle
# RSS per connection), one bar per server in each group. Data files: one row per scenario, one
# column per target.
if command -v gnuplot >/dev/null; then
  plot_data() { # FILE SCENARIOS... ; reads the value with $VALUE (a shell function name)
    local out=$1 scenario target f v
    shift
    : >"$out"
    for scenario in "$@"; do
      [[ " $SCENARIOS " == *" $scenario "* ]] || continue
      printf '%s' "$scenario" >>"$out"
      for target in $TARGETS; do
        f="$WORK/runs/$target-$scenario.json"
        v=NaN
        [[ -f $f ]] && v=$($VALUE "$f")
        [[ -z $v || $v == -1* ]] && v=NaN
        printf ' %s' "$v" >>"$out"
      done
      printf '\n' >>"$out"
    done
  }
  msgs() { field "$1" delivered_per_s; }
  p99() { latency "$1" p99; }
  per_cpu() { field "$1" delivered_per_server_cpu_s; }
  per_conn() { field "$1" rss_per_connection_bytes; }
  VALUE=msgs plot_data "$WORK/msgs.dat" fanout-1000 fanout-100
  VALUE=per_cpu plot_data "$WORK/per-cpu.dat" fanout-1000 fanout-100 light-1000
  VALUE=p99 plot_data "$WORK/p99.dat" fanout-1000 fanout-100 light-1000
  VALUE=per_conn plot_data "$WORK/idle.dat" idle-5000 idle-10000
  panel() { # DATA -> the plot command: column 1 the scenario, then one column per target
    local i=2 target out=""
    for target in $TARGETS; do
      if [[ $i -eq 2 ]]; then out="'$1' using 2:xtic(1)"; else out+=", '' using $i"; fi
      out+=" title '$(target_name "$target")'"
      i=$((i + 1))
    done
    echo "plot $out"
  }
  # Panels with no data (a scenario left out of $SCENARIOS) are left out.
  PANELS=()
  [[ -s "$WORK/msgs.dat" ]] && PANELS+=("set title 'fan-out: delivered msg/s (higher is better)'
unset logscale y
set yrange [0:*]
$(panel "$WORK/msgs.dat")")
  [[ -s "$WORK/per-cpu.dat" ]] && PANELS+=("set title 'delivered msg per server CPU second'
unset logscale y
set yrange [0:*]
$(panel "$WORK/per-cpu.dat")")
  [[ -s "$WORK/p99.dat" ]] && PANELS+=("set title 'p99 latency, ms (log scale; lower is better)'
set logscale y
set yrange [*:*]
$(panel "$WORK/p99.dat")")
  [[ -s "$WORK/idle.dat" ]] && PANELS+=("set title 'idle: server RSS per connection, bytes'
unset logscale y
set yrange [0:*]
$(panel "$WORK/idle.dat")")
  if [[ ${#PANELS[@]} -gt 0 ]]; then
    {
      cat <<EOF
set terminal svg size $((400 * ${#PANELS[@]})),440 dynamic font "sans,12" background rgb "white"
set output "$PLOT"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics
set key outside below horizontal center
set multiplot layout 1,${#PANELS[@]} title "Tandem vs node ws vs Socket.IO — $(nproc) cores, $(date -u +%Y-%m-%d), bench/race.sh"
EOF
      printf '%s\n' "${PANELS[@]}"
      echo "unset multiplot"
    } >"$WORK/race.gnuplot"
    gnuplot "$WORK/race.gnuplot" || { log "gnuplot failed: no plot"; : >"$PLOT"; }
  fi
  if [[ -s "$PLOT" ]]; then echo "plot: $PLOT"; else rm -f "$PLOT"; fi
fi
