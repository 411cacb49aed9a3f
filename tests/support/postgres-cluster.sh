#!/usr/bin/env bash
# tests/support/postgres-cluster.sh — a throw-away PostgreSQL server for the tests: Debian's
# postgresql binaries, initdb into a fresh folder under $TMPDIR (/tmp), a free port on
# 127.0.0.1, password authentication for a superuser `tandem`. Torn down (stopped, folders
# deleted) by `stop`.
#
#   postgres-cluster.sh start DIR   prints the server's URL (postgres://tandem:PASSWORD@127.0.0.1:PORT/postgres)
#                                   and writes it to DIR/url; a server an earlier run left behind
#                                   DIR is stopped first
#   postgres-cluster.sh stop DIR    stops the server at once and deletes its folder and DIR
#   postgres-cluster.sh restart DIR stops it (fast: sessions cut) and starts it again on the same port
#
# DIR holds only what the caller reads (url, port) and where the cluster lives (cluster): as
# root the server runs as the `postgres` user (PostgreSQL refuses to run as root), and that
# user cannot reach a DIR under a private home such as /root, so the cluster itself lives under
# $TMPDIR. The server is tuned for tests, not for keeping data through a power cut: fsync is
# off (a killed server still loses nothing it acknowledged: the OS has the data).
set -euo pipefail

command="${1:-}"
dir="${2:-}"
[ -n "$command" ] && [ -n "$dir" ] || { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

bin_dir() {
  local initdb
  initdb="$(ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1)"
  [ -n "$initdb" ] || { echo "postgres-cluster: no PostgreSQL server found (apt-get install postgresql)" >&2; exit 1; }
  dirname "$initdb"
}

# Runs a PostgreSQL program as the user that owns the cluster.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

port_is_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start_server() {  # $1 = cluster folder, $2 = port
  as_owner "$BIN/pg_ctl" -D "$1/data" -l "$1/server.log" -w -t 60 -s \
    -o "-p $2 -k $1 -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=200" start
}

# Stops the cluster DIR points at (if any) and deletes its folder.
stop_cluster() {
  local cluster
  cluster="$(cat "$dir/cluster" 2>/dev/null || true)"
  case "$cluster" in
    */tandem-pg-cluster.*) ;;  # ours: made by start below
    *) return 0 ;;
  esac
  if [ -f "$cluster/data/postmaster.pid" ]; then as_owner "$BIN/pg_ctl" -D "$cluster/data" -m immediate -s -w stop || true; fi
  rm -rf "$cluster"
}

case "$command" in
  start)
    BIN="$(bin_dir)"
    if [ -n "$(ls -A "$dir" 2>/dev/null)" ] && [ ! -f "$dir/cluster" ]; then
      echo "postgres-cluster: $dir holds something else than this script's files: not touching it" >&2
      exit 1
    fi
    stop_cluster
    rm -rf "$dir"
    mkdir -p "$dir"
    cluster="$(mktemp -d "${TMPDIR:-/tmp}/tandem-pg-cluster.XXXXXX")"
    printf '%s\n' "$cluster" >"$dir/cluster"
    if [ "$(id -u)" -eq 0 ]; then chown postgres: "$cluster"; fi
    password="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
    printf '%s\n' "$password" | as_owner tee "$cluster/pwfile" >/dev/null
    as_owner "$BIN/initdb" -D "$cluster/data" -U tandem --pwfile="$cluster/pwfile" --auth-host=scram-sha-256 \
      --auth-local=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
      { cat "$dir/initdb.log" >&2; exit 1; }
    for _ in $(seq 1 20); do
      port=$(( 20000 + RANDOM % 40000 ))
      port_is_free "$port" || continue
      if start_server "$cluster" "$port" 2>>"$dir/start.log"; then
        url="postgres://tandem:$password@127.0.0.1:$port/postgres"
        printf '%s\n' "$port" >"$dir/port"
        printf '%s\n' "$url" >"$dir/url"
        echo "$url"
        exit 0
      fi
    done
    echo "postgres-cluster: the server did not start; its log:" >&2
    cat "$cluster/server.log" >&2 || true
    exit 1
    ;;
  stop)
    BIN="$(bin_dir)"
    stop_cluster
    rm -rf "$dir"
    ;;
  restart)
    BIN="$(bin_dir)"
    cluster="$(cat "$dir/cluster")"
    as_owner "$BIN/pg_ctl" -D "$cluster/data" -m fast -s -w stop
    start_server "$cluster" "$(cat "$dir/port")"
    ;;
  *)
    echo "postgres-cluster: unknown command $command (start, stop, restart)" >&2
    exit 2
    ;;
esac
