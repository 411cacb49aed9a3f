#!/usr/bin/env bash
# tests/support/services.sh — one PostgreSQL and one Redis together, for the tests that need
# both (several tandem-server instances sharing rooms: tests/integration/server_cluster.h). A
# ctest test names one fixture and one environment variable only, so the two servers are one
# fixture ("services") here: postgres-cluster.sh into DIR/postgres and redis-server.sh into
# DIR/redis, each as those scripts do it on their own.
#
#   services.sh start DIR   starts both; DIR/postgres/url and DIR/redis/url hold their URLs
#                           (tests/support/test_postgres.h and test_redis.h read them when
#                           TANDEM_TEST_SERVICES_DIR=DIR); servers an earlier run left are stopped
#   services.sh stop DIR    stops both and deletes DIR
set -euo pipefail

command="${1:-}"
dir="${2:-}"
[ -n "$command" ] && [ -n "$dir" ] || { sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

stop_both() {
  local failed=0
  "$HERE/redis-server.sh" stop "$dir/redis" || failed=1
  "$HERE/postgres-cluster.sh" stop "$dir/postgres" || failed=1
  return "$failed"
}

case "$command" in
  start)
    mkdir -p "$dir"
    # Each script stops the server an earlier run left in its folder before it starts anew.
    "$HERE/postgres-cluster.sh" start "$dir/postgres" >/dev/null
    if ! "$HERE/redis-server.sh" start "$dir/redis" >/dev/null; then
      "$HERE/postgres-cluster.sh" stop "$dir/postgres" || true
      exit 1
    fi
    echo "postgres: $(head -n 1 "$dir/postgres/url" | sed 's/:[^:@/]*@/:***@/')"
    echo "redis: $(head -n 1 "$dir/redis/url" | sed 's/:[^:@/]*@/:***@/')"
    ;;
  stop)
    status=0
    stop_both || status=1
    rm -rf "$dir"
    exit "$status"
    ;;
  *)
    echo "services.sh: unknown command $command (start, stop)" >&2
    exit 2
    ;;
esac
