#!/usr/bin/env bash
# tests/support/redis-server.sh — a throw-away Redis server for the tests: Debian's
# redis-server on 127.0.0.1, a free port, a random password (requirepass), nothing saved to
# disk (no RDB snapshots, no AOF). Torn down (stopped, folders deleted) by `stop`.
#
#   redis-server.sh start DIR    prints the server's URL (redis://:PASSWORD@127.0.0.1:PORT) and
#                                writes it to DIR/url; a server an earlier run left behind DIR
#                                is stopped first
#   redis-server.sh stop DIR     stops the server at once and deletes its folder and DIR
#   redis-server.sh restart DIR  stops it (connections cut, as a crash or failover does) and
#                                starts it again on the same port, empty
#
# DIR holds only what the caller reads (url, port) and where the server lives (home): its
# configuration, log and pid file are under $TMPDIR (/tmp), as the PostgreSQL cluster's are
# (postgres-cluster.sh), never in the build tree. Redis runs as whoever calls this, root
# included (it does not refuse). The password is in the configuration file and DIR/url, both
# readable by the caller only.
set -euo pipefail

command="${1:-}"
dir="${2:-}"
[ -n "$command" ] && [ -n "$dir" ] || { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

command -v redis-server >/dev/null && command -v redis-cli >/dev/null ||
  { echo "redis-server.sh: no redis-server or redis-cli found (apt-get install redis-server)" >&2; exit 1; }

# Whether process $1 has ended: gone, or a zombie its parent has not reaped yet (a daemon's
# parent is PID 1, which may take its time).
has_ended() {
  local state
  state="$(ps -o stat= -p "$1" 2>/dev/null || true)"
  [ -z "$state" ] || [ "${state:0:1}" = Z ]
}

port_is_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Asks the server in $1 for PONG; the password goes through the environment, not argv.
answers() {
  local home="$1" reply
  reply="$(REDISCLI_AUTH="$(cat "$home/password")" redis-cli -h 127.0.0.1 -p "$(cat "$home/port")" \
    --no-auth-warning ping 2>/dev/null || true)"
  [ "$reply" = "PONG" ]
}

# Starts the server whose configuration is in $1 (daemonized: redis-server returns at once)
# and waits until it answers. 0: it does; 1: the port was taken meanwhile; 2: it did not come
# up (its log says why).
start_server() {
  local home="$1" logged
  logged=0
  if [ -f "$home/redis.log" ]; then logged="$(wc -l <"$home/redis.log")"; fi
  rm -f "$home/redis.pid"
  redis-server "$home/redis.conf" >>"$home/start.log" 2>&1 || return 2
  for _ in $(seq 1 200); do  # 20 s
    if answers "$home"; then return 0; fi
    if tail -n "+$((logged + 1))" "$home/redis.log" 2>/dev/null | grep -q "Address already in use"; then return 1; fi
    sleep 0.1
  done
  return 2
}

# Stops the server in $1 (if running) and waits until its process is gone.
stop_server() {
  local home="$1" pid
  pid="$(cat "$home/redis.pid" 2>/dev/null || true)"
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0  # SIGTERM: shut down; with save "" nothing is written
  for _ in $(seq 1 100); do  # 10 s, then no more asking
    has_ended "$pid" && { rm -f "$home/redis.pid"; return 0; }
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$home/redis.pid"
}

# Stops the server DIR points at (if any) and deletes its folder.
stop_home() {
  local home
  home="$(cat "$dir/home" 2>/dev/null || true)"
  case "$home" in
    */tandem-redis.*) ;;  # ours: made by start below
    *) return 0 ;;
  esac
  stop_server "$home"
  rm -rf "$home"
}

case "$command" in
  start)
    if [ -n "$(ls -A "$dir" 2>/dev/null)" ] && [ ! -f "$dir/home" ]; then
      echo "redis-server.sh: $dir holds something else than this script's files: not touching it" >&2
      exit 1
    fi
    stop_home
    rm -rf "$dir"
    mkdir -p "$dir"
    home="$(mktemp -d "${TMPDIR:-/tmp}/tandem-redis.XXXXXX")"
    printf '%s\n' "$home" >"$dir/home"
    password="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
    (umask 077 && printf '%s\n' "$password" >"$home/password")
    for _ in $(seq 1 20); do
      port=$(( 20000 + RANDOM % 40000 ))
      port_is_free "$port" || continue
      printf '%s\n' "$port" >"$home/port"
      (umask 077 && cat >"$home/redis.conf" <<EOF
bind 127.0.0.1
port $port
requirepass $password
save ""
appendonly no
daemonize yes
dir $home
pidfile $home/redis.pid
logfile $home/redis.log
EOF
      )
      started=0
      start_server "$home" || started=$?
      if [ "$started" -eq 0 ]; then
        url="redis://:$password@127.0.0.1:$port"
        printf '%s\n' "$port" >"$dir/port"
        (umask 077 && printf '%s\n' "$url" >"$dir/url")
        echo "$url"
        exit 0
      fi
      stop_server "$home"
      [ "$started" -eq 1 ] || break
    done
    echo "redis-server.sh: the server did not start; its log:" >&2
    cat "$home/start.log" "$home/redis.log" >&2 2>/dev/null || true
    exit 1
    ;;
  stop)
    stop_home
    rm -rf "$dir"
    ;;
  restart)
    home="$(cat "$dir/home")"
    stop_server "$home"
    start_server "$home" || { echo "redis-server.sh: the server did not start again; its log:" >&2;
                              cat "$home/redis.log" >&2; exit 1; }
    ;;
  *)
    echo "redis-server.sh: unknown command $command (start, stop, restart)" >&2
    exit 2
    ;;
esac
