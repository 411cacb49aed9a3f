#!/usr/bin/env bash
# tests/support/nginx.sh — Debian's nginx in front of test servers, configured with the nginx
# block of docs/OPERATIONS.md as written: the block after the "nginx-config" marker is copied
# into an http { } of a throw-away nginx.conf, and only two things are changed — its `listen`
# line becomes a free port on 127.0.0.1, and the `server` lines of its upstream become one line
# per instance port given (keeping the parameters of the first). Everything else (timeouts,
# upgrade headers, next-upstream rules) is what operators copy.
#
#   nginx.sh start DIR PORT...   starts nginx proxying to 127.0.0.1:PORT for each PORT; prints
#                                its URL (http://127.0.0.1:LISTEN) and writes it to DIR/url
#   nginx.sh stop DIR            stops it and deletes DIR
#
# nginx runs as the calling user (as root its workers drop to nobody) with every path under
# DIR: pid, logs, temp folders. DIR/error.log says what went wrong.
set -euo pipefail
command="${1:-}"
dir="${2:-}"
[ -n "$command" ] && [ -n "$dir" ] || { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DOC="$ROOT/docs/OPERATIONS.md"

port_is_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The documented block: the first ```nginx fence after the marker, without the fences.
documented_config() {
  awk '/<!-- nginx-config/ { marked = 1; next }
       marked && /^```nginx/ { inside = 1; next }
       inside && /^```/ { exit }
       inside { print }' "$DOC"
}

stop_nginx() {
  if [ -f "$dir/nginx.pid" ]; then
    local pid
    pid="$(cat "$dir/nginx.pid")"
    kill -QUIT "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
}

case "$command" in
  start)
    shift 2
    [ $# -gt 0 ] || { echo "nginx.sh: give at least one instance port" >&2; exit 2; }
    command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || { echo "nginx.sh: nginx is not installed (apt-get install nginx)" >&2; exit 1; }
    NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
    stop_nginx
    rm -rf "$dir"
    mkdir -p "$dir/temp"
    block="$(documented_config)"
    [ -n "$block" ] || { echo "nginx.sh: no nginx block after the nginx-config marker in $DOC" >&2; exit 1; }
    first_params="$(printf '%s\n' "$block" | awk '$1 == "server" && $2 ~ /:[0-9]+;?$|:[0-9]+$/ { $1 = ""; $2 = ""; sub(/^ +/, ""); print; exit }')"
    servers=""
    for p in "$@"; do servers+="    server 127.0.0.1:$p ${first_params}"$'\n'; done
    for _ in $(seq 1 20); do
      listen=$(( 20000 + RANDOM % 40000 ))
      port_is_free "$listen" || continue
      # The upstream's server lines go (the first one's place takes the test's); listen moves.
      printf '%s\n' "$block" | awk -v servers="$servers" -v listen="$listen" '
        $1 == "server" && $2 ~ /^[0-9.]+:[0-9]+$/ { if (!done) { printf "%s", servers; done = 1 } next }
        $1 == "listen" { sub(/listen[^;]*;/, "listen 127.0.0.1:" listen ";") }
        { print }' >"$dir/tandem.conf"
      cat >"$dir/nginx.conf" <<EOF
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
daemon on;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $dir/temp/body;
    proxy_temp_path $dir/temp/proxy;
    fastcgi_temp_path $dir/temp/fastcgi;
    uwsgi_temp_path $dir/temp/uwsgi;
    scgi_temp_path $dir/temp/scgi;
    include $dir/tandem.conf;
}
EOF
      if "$NGINX" -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" 2>>"$dir/error.log"; then
        for _ in $(seq 1 100); do port_is_free "$listen" || break; sleep 0.05; done
        url="http://127.0.0.1:$listen"
        printf '%s\n' "$url" >"$dir/url"
        echo "$url"
        exit 0
      fi
    done
    echo "nginx.sh: nginx did not start; its log:" >&2
    cat "$dir/error.log" >&2 || true
    exit 1
    ;;
  stop)
    stop_nginx
    rm -rf "$dir"
    ;;
  *)
    echo "nginx.sh: unknown command $command (start, stop)" >&2
    exit 2
    ;;
esac
