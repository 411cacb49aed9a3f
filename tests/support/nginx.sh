#!/usr/bin/env bash
# tests/support/nginx.sh — Debian's nginx in front of test servers, configured with the nginx
# block of docs/OPERATIONS.md as written: the block after the "nginx-config" marker is copied
# into an http { } of a throw-away nginx.conf, and only these things are changed — its `listen`
# lines become free ports on 127.0.0.1 (the TLS server's is the one tests use; the redirecting
# plain one gets another), the `server` lines of its upstream become one line per instance port
# given (keeping the parameters of the first), and the certificate paths become the test's.
# Without --tls the `ssl` parameter and the `ssl_` lines are dropped, for tests that speak plain
# HTTP. Everything else (timeouts, upgrade headers, buffering, next-upstream rules) is what
# operators copy.
#
#   nginx.sh start [--tls CERT KEY] [--refuse-upgrades] DIR PORT...
#                                starts nginx proxying to 127.0.0.1:PORT for each PORT; prints
#                                its URL (http(s)://127.0.0.1:LISTEN) and writes it to DIR/url;
#                                --refuse-upgrades answers every WebSocket upgrade 403, as the
#                                corporate proxies the SSE fallback is for do
#   nginx.sh check [--tls CERT KEY] DIR PORT...
#                                writes the same configuration and runs `nginx -t` on it
#   nginx.sh stop DIR            stops it and deletes DIR
#
# nginx runs as the calling user (as root its workers drop to nobody) with every path under
# DIR: pid, logs, temp folders. DIR/error.log says what went wrong.
set -euo pipefail
command="${1:-}"
[ $# -gt 0 ] && shift
tls_cert="" tls_key="" refuse_upgrades=""
while [ "${1:-}" = "--tls" ] || [ "${1:-}" = "--refuse-upgrades" ]; do
  if [ "$1" = "--tls" ]; then
    tls_cert="${2:?--tls CERT KEY}" tls_key="${3:?--tls CERT KEY}"
    shift 3
  else
    refuse_upgrades=1
    shift
  fi
done
dir="${1:-}"
[ -n "$command" ] && [ -n "$dir" ] || { sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
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

# Writes DIR/tandem.conf and DIR/nginx.conf for the TLS (or plain) listen port $1 and the
# redirecting server's port $2; the instances' server lines come from $servers.
write_config() {
  local listen="$1" redirect="$2"
  printf '%s\n' "$block" | awk -v servers="$servers" -v listen="$listen" -v redirect="$redirect" \
      -v cert="$tls_cert" -v key="$tls_key" -v refuse="$refuse_upgrades" '
    $1 == "server" && $2 ~ /^[0-9.]+:[0-9]+$/ { if (!done) { printf "%s", servers; done = 1 } next }
    $1 == "listen" && / ssl/ { sub(/listen[^;]*;/, "listen 127.0.0.1:" listen (cert != "" ? " ssl" : "") ";"); print; next }
    $1 == "listen" { sub(/listen[^;]*;/, "listen 127.0.0.1:" redirect ";"); print; next }
    $1 ~ /^ssl_/ && cert == "" { next }
    $1 == "ssl_certificate" { sub(/ssl_certificate[ \t]+[^;]*;/, "ssl_certificate " cert ";") }
    $1 == "ssl_certificate_key" { sub(/ssl_certificate_key[ \t]+[^;]*;/, "ssl_certificate_key " key ";") }
    $1 == "location" && refuse != "" { print; print "        if ($http_upgrade != \"\") { return 403; }"; next }
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
}

free_port() {
  local port
  for _ in $(seq 1 50); do
    port=$(( 20000 + RANDOM % 40000 ))
    port_is_free "$port" && { echo "$port"; return 0; }
  done
  return 1
}

case "$command" in
  start|check)
    shift
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
    scheme=http
    [ -n "$tls_cert" ] && scheme=https
    if [ "$command" = check ]; then
      write_config "$(free_port)" "$(free_port)"
      "$NGINX" -t -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log"
      exit $?
    fi
    for _ in $(seq 1 20); do
      listen="$(free_port)" && redirect="$(free_port)" || continue
      [ "$listen" != "$redirect" ] || continue
      write_config "$listen" "$redirect"
      if "$NGINX" -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" 2>>"$dir/error.log"; then
        for _ in $(seq 1 100); do port_is_free "$listen" || break; sleep 0.05; done
        url="$scheme://127.0.0.1:$listen"
        printf '%s\n' "$url" >"$dir/url"
        printf 'http://127.0.0.1:%s\n' "$redirect" >"$dir/redirect_url"
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
