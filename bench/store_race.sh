#!/usr/bin/env bash
# bench/store_race.sh — SQLite and PostgreSQL commit rates side by side, on this machine: starts a
# throw-away PostgreSQL server (fsync on, the setting production runs with), runs
# tandem-store-bench against it, stops it and deletes its files. Builds nothing; a benchmark, not
# a test (~30 s with the default 2 s per row). Figures and their meaning: docs/STORE-BENCH.md.
#
#   bench/store_race.sh [BUILD_DIR] [--fsync on|off] [tandem-store-bench options...]
#     BUILD_DIR   default build/native (needs bench/tandem-store-bench built there)
#     --fsync     the server's fsync (default on; off is how tests/support/postgres-cluster.sh
#                 runs it: commits then never wait for the disk)
#     the rest goes to tandem-store-bench, e.g. --seconds 5 --json /tmp/store-race.json
#
# The server is started as tests/support/postgres-cluster.sh starts one (Debian's postgresql,
# initdb into a folder under /tmp, 127.0.0.1 on a free port, password auth for a superuser
# `tandem`, run as the postgres user when we are root), with the durability settings left at
# PostgreSQL's defaults unless --fsync off.
set -euo pipefail

BUILD_DIR=build/native
if [[ $# -gt 0 && "$1" != -* ]]; then BUILD_DIR=$1; shift; fi
FSYNC=on
BENCH_ARGS=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --fsync)
      [[ "${2:-}" == on || "${2:-}" == off ]] || { echo "store_race: --fsync takes on or off" >&2; exit 2; }
      FSYNC=$2; shift 2 ;;
    *) BENCH_ARGS+=("$1"); shift ;;
  esac
done

BENCH="$BUILD_DIR/bench/tandem-store-bench"
[[ -x "$BENCH" ]] || {
  echo "store_race: $BENCH not built (cmake --build --preset native --target tandem-store-bench)" >&2
  exit 2
}
INITDB=$(ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1)
[[ -n "$INITDB" ]] || { echo "store_race: no PostgreSQL server found (apt-get install postgresql)" >&2; exit 2; }
PG_BIN=$(dirname "$INITDB")

# Runs a PostgreSQL program as the user that owns the cluster (PostgreSQL refuses to run as root).
as_owner() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}
log() { echo "store_race: $*" >&2; }

WORK=$(mktemp -d /tmp/tandem-store-race.XXXXXX)
chmod 755 "$WORK"  # the postgres user must reach $WORK/pg
PG_DIR="$WORK/pg"
STARTED=""
cleanup() {
  if [[ -n "$STARTED" ]]; then
    log "stopping PostgreSQL"
    as_owner "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -s -w stop || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

log "$(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
log "initdb $("$PG_BIN/postgres" --version | sed 's/^postgres (PostgreSQL) /PostgreSQL /') into $PG_DIR"
mkdir "$PG_DIR"
[[ $(id -u) -eq 0 ]] && chown postgres: "$PG_DIR"
PASSWORD=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
printf '%s\n' "$PASSWORD" | as_owner tee "$PG_DIR/pwfile" >/dev/null
as_owner "$PG_BIN/initdb" -D "$PG_DIR/data" -U tandem --pwfile="$PG_DIR/pwfile" --auth-host=scram-sha-256 \
  --auth-local=trust -E UTF8 --locale=C.UTF-8 >"$WORK/initdb.log" 2>&1 || { cat "$WORK/initdb.log" >&2; exit 1; }

SETTINGS="-c fsync=$FSYNC"
[[ $FSYNC == off ]] && SETTINGS="$SETTINGS -c full_page_writes=off"  # as postgres-cluster.sh
PORT=""
for _ in $(seq 1 20); do
  candidate=$((20000 + RANDOM % 40000))
  (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null && continue  # taken
  if as_owner "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 -s \
      -o "-p $candidate -k $PG_DIR -c listen_addresses=127.0.0.1 $SETTINGS" start; then
    PORT=$candidate
    STARTED=yes
    break
  fi
done
[[ -n "$PORT" ]] || { log "PostgreSQL did not start; its log:"; cat "$PG_DIR/server.log" >&2 || true; exit 1; }
log "PostgreSQL on 127.0.0.1:$PORT ($SETTINGS)"

log "running $BENCH ${BENCH_ARGS[*]:-} (12 rows)"
status=0
TANDEM_BENCH_PG_URL="postgres://tandem:$PASSWORD@127.0.0.1:$PORT/postgres" "$BENCH" "${BENCH_ARGS[@]}" || status=$?
log "load average $(cut -d' ' -f1-3 /proc/loadavg)"
exit "$status"
