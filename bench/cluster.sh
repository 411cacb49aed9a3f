#!/usr/bin/env bash
# bench/cluster.sh — fan-out across two tandem-server instances against the same load on one:
# tandem-bench's fanout scenario (delivered messages/s, latency p50/p99) with its clients split
# over 2 instances that share rooms (--engine redis, one PostgreSQL), and the same run on one
# instance. A benchmark, not a test: builds nothing, takes ~1-2 min. Figures: docs/SCALING.md
# ("Measured: fan-out across two instances").
#
#   bench/cluster.sh [BUILD_DIR]    (default: $BUILD_DIR, else build/native of this checkout;
#   bench/cluster.sh --help          needs server/tandem-server and bench/tandem-bench there)
#
# 1. starts a throw-away PostgreSQL and Redis (tests/support/postgres-cluster.sh and
#    redis-server.sh) into a temp folder; everything is stopped and deleted on exit, Ctrl-C or
#    failure;
# 2. runs each setup of $SETUPS in turn, each with fresh tandem-server processes, its own room
#    and Redis prefix, every instance on the same database:
#      pg               1 instance, --store postgres (no engine: the one-process path)
#      pg-redis         1 instance, --store postgres --engine redis (the cluster code path, alone)
#      pg-redis-direct  the same, the bench connected straight to the instance (no nginx)
#      cluster          2 instances, --store postgres --engine redis, one Redis prefix
#    every setup but pg-redis-direct behind nginx (tests/support/nginx.sh: docs/OPERATIONS.md's
#    block, round robin over its instances), so the one-instance and two-instance runs take the
#    same path; tandem-bench --scenario fanout runs through it with the same workload each time;
# 3. while the bench runs, polls each instance's /healthz (straight, not through nginx) and
#    reports the connections each one held (the split), and which instance owns the room;
# 4. prints a table (setup, clients per instance, delivered msg/s and latency p50/p99/max ms as
#    tandem-bench reports them, the share of updates delivered, the CPU seconds each instance
#    and the bench used, and how busy the machine was during the run) and writes it as JSON to
#    $OUT_JSON.
# Each server's output goes to a log in the temp folder; on failure the logs are printed.
# Warnings and errors the servers logged are counted (and the first few shown) after each setup.
#
# Settings (environment variables):
#   BUILD_DIR          build folder (default: <this checkout>/build/native); an argument wins
#   SETUPS             setups to run, in order (default: "pg pg-redis cluster")
#   BENCH_CLIENTS      connections, all in one room          (default 200; through nginx at most
#                      ~500: tests/support/nginx.sh runs 1 worker of 1024 connections, 2 per client)
#   BENCH_PUBLISHERS   how many of them publish              (default 10)
#   BENCH_RATE         updates per second per publisher     (default 20)
#   BENCH_PAYLOAD      bytes of padding per update           (default 64)
#   BENCH_DURATION     seconds of fan-out per setup          (default 10)
#   OUT_JSON           where the figures go (default: <this checkout>/build/bench/cluster.json)
#   SERVER_ARGS        more flags for every tandem-server (e.g. "--presence-tick-ms 20")
#   KEEP_WORK=1        keep the temp folder (logs) instead of deleting it; servers are stopped
#
# Mind the machine: the bench client, nginx, PostgreSQL, Redis and one or two servers all share
# its cores (nproc is printed). On 2 cores the second instance adds work (the extra hop through
# Redis) without adding a core, so this measures the cost of the cluster path, not its gain.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
usage() { sed -n '2,/^set -euo pipefail/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }
case "${1:-}" in -h | --help) usage; exit 0 ;; esac
[[ $# -le 1 ]] || { usage >&2; exit 2; }

BUILD_DIR=${1:-${BUILD_DIR:-$ROOT/build/native}}
SETUPS=${SETUPS:-pg pg-redis cluster}
CLIENTS=${BENCH_CLIENTS:-200}
PUBLISHERS=${BENCH_PUBLISHERS:-10}
RATE=${BENCH_RATE:-20}
PAYLOAD=${BENCH_PAYLOAD:-64}
DURATION=${BENCH_DURATION:-10}
OUT_JSON=${OUT_JSON:-$ROOT/build/bench/cluster.json}
read -r -a EXTRA_SERVER_ARGS <<<"${SERVER_ARGS:-}"
SUPPORT="$ROOT/tests/support"

log() { echo "cluster: $*" >&2; }
for setup in $SETUPS; do
  case "$setup" in pg | pg-redis | pg-redis-direct | cluster) ;; *) log "unknown setup $setup (pg, pg-redis, pg-redis-direct, cluster)"; exit 2 ;; esac
done
for bin in server/tandem-server bench/tandem-bench; do
  [[ -x "$BUILD_DIR/$bin" ]] || { log "$BUILD_DIR/$bin not built"; exit 2; }
done
for tool in curl redis-cli; do command -v "$tool" >/dev/null || { log "$tool not found"; exit 2; }; done

WORK=$(mktemp -d /tmp/tandem-cluster-bench.XXXXXX)
# The binaries are copied: every setup runs the same build even if BUILD_DIR is rebuilt meanwhile.
mkdir "$WORK/bin"
cp "$BUILD_DIR/server/tandem-server" "$BUILD_DIR/bench/tandem-bench" "$WORK/bin/"
SERVER="$WORK/bin/tandem-server"
BENCH="$WORK/bin/tandem-bench"
VERSION=$("$SERVER" --version 2>&1) || { rm -rf "$WORK"; log "$BUILD_DIR/server/tandem-server does not run (being rebuilt?)"; exit 2; }
# Which build: the version says little between commits, so the binary's hash and build time too.
BUILD_ID="sha256 $(sha256sum "$SERVER" | cut -c1-12), built $(date -u -r "$BUILD_DIR/server/tandem-server" +%Y-%m-%dT%H:%M:%SZ)"
mkdir "$WORK/www"
echo "<!doctype html><title>tandem bench</title>" >"$WORK/www/index.html"

SERVER_PIDS=()
BENCH_PID=""
STARTED_PORT=""
PG_STARTED=""
REDIS_STARTED=""
NGINX_STARTED=""

stop_servers() {
  local pid
  for pid in "${SERVER_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${SERVER_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  SERVER_PIDS=()
}
stop_nginx() {
  if [[ -n "$NGINX_STARTED" ]]; then "$SUPPORT/nginx.sh" stop "$WORK/nginx" || true; fi
  NGINX_STARTED=""
}
show_logs() {
  local f
  for f in "$WORK"/logs/*; do
    [[ -f "$f" ]] || continue
    echo "----- $f (last 40 lines) -----" >&2
    tail -n 40 "$f" >&2
  done
}
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if [[ -n "$BENCH_PID" ]]; then kill "$BENCH_PID" 2>/dev/null || true; wait "$BENCH_PID" 2>/dev/null || true; fi
  [[ $status -ne 0 ]] && show_logs
  stop_servers
  stop_nginx
  if [[ -n "$REDIS_STARTED" ]]; then "$SUPPORT/redis-server.sh" stop "$WORK/redis" || true; fi
  if [[ -n "$PG_STARTED" ]]; then "$SUPPORT/postgres-cluster.sh" stop "$WORK/pg" || true; fi
  if [[ "${KEEP_WORK:-0}" == 1 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
  exit "$status"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM
fail() { log "$*"; exit 1; }

free_port() {
  local candidate
  for _ in $(seq 1 50); do
    candidate=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then echo "$candidate"; return 0; fi
  done
  fail "no free port"
}
healthz_connections() {  # $1: port -> the connections /healthz reports, or "?"
  local body
  body=$(curl -fs --max-time 1 "http://127.0.0.1:$1/healthz" 2>/dev/null) || { echo "?"; return; }
  sed -n 's/.*"connections":\([0-9]*\).*/\1/p' <<<"$body"
}

cpu_ticks() {  # $1: pid -> user + system clock ticks it has used so far
  awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || echo 0
}
machine_ticks() {  # "busy total": clock ticks of all cores since boot (busy: not idle, not iowait)
  awk '$1 == "cpu" { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t; exit }' /proc/stat
}
TICK=$(getconf CLK_TCK)

mkdir "$WORK/logs"
log "$(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); the bench, nginx, PostgreSQL, Redis and the servers share them"
PG_STARTED=yes
PG_URL=$("$SUPPORT/postgres-cluster.sh" start "$WORK/pg") || fail "PostgreSQL did not start"
log "PostgreSQL at 127.0.0.1:$(cat "$WORK/pg/port")"
REDIS_STARTED=yes
REDIS_URL=$("$SUPPORT/redis-server.sh" start "$WORK/redis") || fail "Redis did not start"
log "Redis at 127.0.0.1:$(cat "$WORK/redis/port")"
SECRET=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')

# start_server NAME [flags...]: one tandem-server on a free port (STARTED_PORT), its output in
# logs/NAME.log; waits until /healthz answers. A port taken between the check and the bind (other
# programs on this machine, or an outgoing connection's ephemeral port) means another port.
start_server() {
  local name=$1 port pid attempt
  shift
  for attempt in 1 2 3 4 5; do
    port=$(free_port)
    "$SERVER" --port "$port" --web-root "$WORK/www" --jwt-secret "$SECRET" \
      --store postgres --store-url "$PG_URL" --max-connections-per-ip 1000000 "$@" "${EXTRA_SERVER_ARGS[@]}" \
      >"$WORK/logs/$name.log" 2>&1 &
    pid=$!
    SERVER_PIDS+=("$pid")
    for _ in $(seq 1 100); do
      if curl -fs --max-time 1 "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then
        STARTED_PORT=$port
        return 0
      fi
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && fail "instance $name did not answer /healthz on port $port"
    wait "$pid" 2>/dev/null || true
    unset 'SERVER_PIDS[-1]'
    grep -q "cannot listen on" "$WORK/logs/$name.log" || fail "instance $name exited at start"
    log "instance $name: port $port was taken meanwhile (attempt $attempt); another one"
    cp "$WORK/logs/$name.log" "$WORK/logs/$name.port-taken-$attempt.log"
  done
  fail "instance $name found no free port"
}

# Server log lines at WARN or ERROR, counted (and the first 5 shown) for one setup.
report_log_warnings() {  # $1: setup, $2...: instance names
  local setup=$1 name count
  shift
  for name in "$@"; do
    count=$(grep -cE '^[^ ]+ (WARN|ERROR) ' "$WORK/logs/$setup-$name.log" || true)
    if [[ "$count" -gt 0 ]]; then
      log "$setup: instance $name logged $count warning/error line(s); the first:"
      grep -E '^[^ ]+ (WARN|ERROR) ' "$WORK/logs/$setup-$name.log" | head -n 5 | sed 's/^/    /' >&2
    fi
  done
}

ROWS=()  # one JSON object per setup
TABLE=() # one printed line per setup

# run_setup SETUP: starts its instances (and nginx), runs the bench, records a row.
run_setup() {
  local setup=$1 names=() ports=() flags=() url room prefix i port
  room="bench:$setup"
  prefix="bench-$setup:"
  case "$setup" in
    pg) names=(single) ;;
    pg-redis | pg-redis-direct) names=(single) ;;
    cluster) names=(a b) ;;
  esac
  for i in "${!names[@]}"; do
    flags=()
    [[ $setup != pg ]] && flags=(--engine redis --redis-url "$REDIS_URL" --redis-prefix "$prefix" --instance-id "$setup-${names[$i]}")
    start_server "$setup-${names[$i]}" "${flags[@]}"
    ports+=("$STARTED_PORT")
  done
  if [[ $setup == pg-redis-direct ]]; then
    url="ws://127.0.0.1:${ports[0]}/ws"
  else
    NGINX_STARTED=yes
    url=$("$SUPPORT/nginx.sh" start "$WORK/nginx" "${ports[@]}") || fail "nginx did not start"
    url="ws://${url#http://}/ws"
  fi
  log "$setup: ${#ports[@]} instance(s) on port(s) ${ports[*]}; tandem-bench through $url"

  local pid cpu_before=() busy_before total_before
  for pid in "${SERVER_PIDS[@]}"; do cpu_before+=("$(cpu_ticks "$pid")"); done
  read -r busy_before total_before < <(machine_ticks)
  # The bench runs in the background so that Ctrl-C or a TERM reaches the trap at once (cleanup
  # ends it by its pid). Meanwhile, every 0.2 s: each instance's /healthz, straight (the split),
  # one line per sample, and the bench's CPU so far.
  "$BENCH" --secret "$SECRET" --url "$url" --scenario fanout --room "$room" --clients "$CLIENTS" \
    --publishers "$PUBLISHERS" --rate "$RATE" --payload "$PAYLOAD" --duration "$DURATION" \
    >"$WORK/logs/$setup-bench.log" 2>&1 &
  BENCH_PID=$!
  local line bench_ticks=0 ticks
  : >"$WORK/split-$setup"
  while kill -0 "$BENCH_PID" 2>/dev/null; do
    ticks=$(cpu_ticks "$BENCH_PID")
    [[ $ticks -gt $bench_ticks ]] && bench_ticks=$ticks
    line=""
    for port in "${ports[@]}"; do line+="$(healthz_connections "$port") "; done
    echo "$line" >>"$WORK/split-$setup"
    sleep 0.2
  done
  local status=0
  wait "$BENCH_PID" || status=$?
  BENCH_PID=""
  # CPU the servers used during the bench (connect, join and fan-out), and how busy the whole
  # machine was meanwhile (other work on it included).
  for i in "${!SERVER_PIDS[@]}"; do
    kill -0 "${SERVER_PIDS[$i]}" 2>/dev/null || fail "$setup: instance ${names[$i]} (pid ${SERVER_PIDS[$i]}) died during the run"
  done
  local cpu=() busy_after total_after busy_pct
  for i in "${!SERVER_PIDS[@]}"; do
    cpu+=("$(awk -v a="$(cpu_ticks "${SERVER_PIDS[$i]}")" -v b="${cpu_before[$i]}" -v hz="$TICK" 'BEGIN { printf "%.1f", (a - b) / hz }')")
  done
  read -r busy_after total_after < <(machine_ticks)
  busy_pct=$(awk -v b=$((busy_after - busy_before)) -v t=$((total_after - total_before)) 'BEGIN { printf "%.0f", t ? 100 * b / t : 0 }')
  local cpu_joined bench_cpu
  cpu_joined=$(IFS=/; echo "${cpu[*]}")
  bench_cpu=$(awk -v t="$bench_ticks" -v hz="$TICK" 'BEGIN { printf "%.1f", t / hz }')
  sed 's/^/    /' "$WORK/logs/$setup-bench.log" >&2
  [[ $status -eq 0 ]] || fail "$setup: tandem-bench exited with $status"

  # Connections per instance: the sample with the most connections in all (numbers only).
  local split
  split=$(awk '{ ok = 1; sum = 0; for (i = 1; i <= NF; i++) { if ($i !~ /^[0-9]+$/) ok = 0; sum += $i }
                 if (ok && sum > best) { best = sum; line = $0 } }
               END { gsub(/ +$/, "", line); gsub(/ /, "/", line); print line }' "$WORK/split-$setup")
  [[ -n "$split" ]] || split="?"
  local owner="-"
  if [[ $setup != pg ]]; then
    owner=$(REDISCLI_AUTH="$(cat "$(cat "$WORK/redis/home")/password")" redis-cli -h 127.0.0.1 \
      -p "$(cat "$WORK/redis/port")" --no-auth-warning GET "${prefix}room:$room:owner" 2>/dev/null) || owner="?"
    [[ -n "$owner" ]] || owner="(none)"
  fi
  log "$setup: connections per instance (${names[*]}): $split; room owner: $owner; server CPU s: $cpu_joined; bench CPU s: $bench_cpu; machine busy $busy_pct %"
  if [[ $setup == cluster ]]; then
    local first=${split%%/*} second=${split##*/}
    if [[ "$first" == "?" || "$second" == "?" || $((first + second)) -ne $CLIENTS || $first -eq 0 || $second -eq 0 ]]; then
      log "cluster: WARNING: the clients were not split over both instances ($split of $CLIENTS)"
    fi
  fi

  local bench_log="$WORK/logs/$setup-bench.log" msgs received sent p50 p99 max open
  msgs=$(sed -n 's/^delivered messages\/s: \([0-9]*\) (\([0-9]*\) updates received)$/\1/p' "$bench_log")
  received=$(sed -n 's/^delivered messages\/s: \([0-9]*\) (\([0-9]*\) updates received)$/\2/p' "$bench_log")
  sent=$(sed -n 's/^scenario fanout: .*: \([0-9]*\) updates sent$/\1/p' "$bench_log")
  read -r p50 p99 max < <(sed -n 's/^latency ms: p50 \([0-9.]*\)  p99 \([0-9.]*\)  max \([0-9.]*\)$/\1 \2 \3/p' "$bench_log")
  open=$(sed -n 's/^connections still open: \([0-9]*\)\/.*$/\1/p' "$bench_log")
  [[ -n "$msgs" && -n "$p50" && -n "$sent" ]] || fail "$setup: could not read tandem-bench's figures"
  # Each update sent reaches every member of the room, its sender too (presence_update): the
  # share that did (presence is conflated per user every presence_tick_ms, so a little under
  # 100 % is normal; far under means updates were replaced while queued: a slow server).
  local expected ratio
  expected=$((sent * CLIENTS))
  ratio=$(awk -v r="$received" -v e="$expected" 'BEGIN { printf "%.1f", e ? 100 * r / e : 0 }')
  [[ "$open" == "$CLIENTS" ]] || log "$setup: WARNING: only $open/$CLIENTS connections were still open at the end"

  report_log_warnings "$setup" "${names[@]}"
  stop_servers
  stop_nginx

  local via=nginx
  [[ $setup == pg-redis-direct ]] && via=direct
  TABLE+=("$(printf '%-16s %-6s %-13s %11s %8s %8s %8s %6s %10s %6s %5s' "$setup" "$via" "$split" \
    "$msgs" "$p50" "$p99" "$max" "$ratio%" "$cpu_joined" "$bench_cpu" "$busy_pct%")")
  ROWS+=("$(printf '{"setup":"%s","instances":%d,"via":"%s","connections_per_instance":[%s],"room_owner":"%s","delivered_msgs_per_s":%s,"updates_sent":%s,"updates_received":%s,"delivered_share_pct":%s,"latency_ms":{"p50":%s,"p99":%s,"max":%s},"connections_open_at_end":%s,"server_cpu_s":[%s],"bench_cpu_s":%s,"machine_busy_pct":%s}' \
    "$setup" "${#names[@]}" "$via" "$(tr '/' ',' <<<"$split" | sed 's/?/null/g')" "$owner" "$msgs" "$sent" "$received" "$ratio" \
    "$p50" "$p99" "$max" "${open:-null}" "$(tr '/' ',' <<<"$cpu_joined")" "${bench_cpu:-null}" "$busy_pct")")
}

log "$VERSION ($BUILD_ID) from $BUILD_DIR"
log "workload: --clients $CLIENTS --publishers $PUBLISHERS --rate $RATE --payload $PAYLOAD --duration $DURATION (fanout)"
for setup in $SETUPS; do run_setup "$setup"; done

LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
echo
echo "fan-out, tandem-bench --scenario fanout --clients $CLIENTS --publishers $PUBLISHERS --rate $RATE --payload $PAYLOAD --duration $DURATION"
echo "$VERSION ($BUILD_ID)"
echo "$(nproc) cores shared by the bench client, nginx, PostgreSQL, Redis and the server(s); load average now $LOAD"
printf '%-16s %-6s %-13s %11s %8s %8s %8s %6s %10s %6s %5s\n' setup via "clients/inst" "delivered/s" "p50 ms" "p99 ms" \
  "max ms" "recv" "server CPU" "bench" "busy"
for line in "${TABLE[@]}"; do echo "$line"; done
echo "clients/inst: connections on each instance (its /healthz) while the bench ran; recv: updates received /"
echo "(updates sent x clients: every member gets each update, its sender too), under 100 % as presence is conflated"
echo "per user every presence_tick_ms (an update still queued for a slow reader is replaced by the next);"
echo "server CPU, bench: CPU seconds each instance and tandem-bench used during the run (connect, join, fan-out;"
echo "the bench's read every 0.2 s, so up to 0.2 s short);"
echo "busy: the whole machine's CPU meanwhile, other work on it included."

mkdir -p "$(dirname "$OUT_JSON")"
{
  printf '{"bench":"cluster","date":"%s","cores":%d,"load_average":"%s",' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(nproc)" "$LOAD"
  printf '"workload":{"scenario":"fanout","clients":%s,"publishers":%s,"rate":%s,"payload":%s,"duration_s":%s},' \
    "$CLIENTS" "$PUBLISHERS" "$RATE" "$PAYLOAD" "$DURATION"
  printf '"server_version":"%s","server_build":"%s","server_args":"%s","runs":[' "$VERSION" "$BUILD_ID" "${SERVER_ARGS:-}"
  for i in "${!ROWS[@]}"; do
    [[ $i -gt 0 ]] && printf ','
    printf '%s' "${ROWS[$i]}"
  done
  printf ']}\n'
} >"$OUT_JSON"
echo "figures written to $OUT_JSON"
