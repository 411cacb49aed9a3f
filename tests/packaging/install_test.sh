#!/usr/bin/env bash
# tests/packaging/install_test.sh — the install and the .deb as an operator uses them
# (packaging/, docs/OPERATIONS.md "Installing"):
#   1. `cmake --install` into a staging prefix lays out the server, the web root, the systemd
#      unit, the sample config and the docs (and the C++ client package, component dev);
#   2. the unit passes `systemd-analyze verify` without a word;
#   3. its ExecStart line, run as written (systemd is not PID 1 here) with the secret and a free
#      port in the environment as its EnvironmentFile would give them, serves /healthz and the
#      demo page from the installed web root; its KillSignal (SIGTERM) stops it cleanly (exit 0)
#      within TimeoutStopSec, closing a connected client (an SSE stream read by curl) with 1012;
#      its ExecReload (SIGHUP) applies a changed log_level and logs what waits for a restart;
#   4. `cpack` makes a .deb whose contents (the server's: no C++ client package), dependencies,
#      conffile and unit (the /usr paths) are checked.
# Usage: install_test.sh BUILD_DIR CMAKE CPACK. Prints what it checks; exits non-zero at the first
# failure. Leaves nothing behind (a temp dir, removed at exit; the server is stopped).
set -euo pipefail
build="$(cd "$1" && pwd)" cmake="$2" cpack="$3"
work="$(mktemp -d)"
server_pid=""
stream_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill -KILL "$server_pid" 2>/dev/null || true
  [ -n "$stream_pid" ] && kill -KILL "$stream_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }

# ---- 1. cmake --install into a staging prefix ------------------------------------------------
prefix="$work/stage/usr"
"$cmake" --install "$build" --prefix "$prefix" >"$work/install.log" || { cat "$work/install.log"; fail "cmake --install"; }
for f in bin/tandem-server share/tandem/www/index.html share/tandem/www/tandem.mjs share/tandem/www/tandem_core.wasm \
         share/tandem/www/tandem-yjs.mjs lib/systemd/system/tandem-server.service etc/tandem/tandem.conf \
         share/doc/tandem/OPERATIONS.md; do
  [ -e "$prefix/$f" ] || fail "cmake --install left no $f"
done
ok "cmake --install laid out the server, the web root, the unit, the config and the docs under $prefix"
# The C++ client package (component dev, packaging/client) comes with a plain install too
# (cpp_consumer_test.sh builds an app on it).
for f in include/tandem/client.h include/tandem/native/native_client.h; do
  [ -e "$prefix/$f" ] || fail "cmake --install left no $f (the dev component)"
done
[ -n "$(find "$prefix" -path '*/cmake/Tandem/TandemConfig.cmake')" ] && [ -n "$(find "$prefix" -name libtandem_core.a)" ] ||
  fail "cmake --install left no TandemConfig.cmake or libtandem_core.a (the dev component)"
ok "a plain cmake --install added the C++ client package (include/tandem, the archives, lib/cmake/Tandem)"
unit="$prefix/lib/systemd/system/tandem-server.service"
conf="$prefix/etc/tandem/tandem.conf"
grep -qx "web_root = $prefix/share/tandem/www" "$conf" || fail "the config's web_root is not the installed web root"
# A second install keeps the operator's config.
echo "# edited by the operator" >>"$conf"
"$cmake" --install "$build" --prefix "$prefix" >"$work/install2.log"
grep -q "edited by the operator" "$conf" || fail "a second install replaced the config"
ok "a second install kept the edited config"

# ---- 2. systemd-analyze verify ----------------------------------------------------------------
verify_out="$(systemd-analyze verify "$unit" 2>&1)" || fail "systemd-analyze verify failed: $verify_out"
[ -z "$verify_out" ] || fail "systemd-analyze verify had something to say: $verify_out"
ok "systemd-analyze verify: no complaint"

# ---- 3. ExecStart as written; KillSignal stops it cleanly -------------------------------------
exec_start="$(sed -n 's/^ExecStart=//p' "$unit")"
[ "$exec_start" = "$prefix/bin/tandem-server --config $conf" ] || fail "unexpected ExecStart: $exec_start"
timeout_stop_s="$(sed -n 's/^TimeoutStopSec=\([0-9]*\)s$/\1/p' "$unit")"
grep -qx "KillSignal=SIGTERM" "$unit" || fail "the unit's KillSignal is not SIGTERM"
port_is_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port=0
for _ in $(seq 1 50); do
  candidate=$((20000 + RANDOM % 40000))
  if port_is_free "$candidate"; then port=$candidate; break; fi
done
[ "$port" -ne 0 ] || fail "no free port found"
# What tandem.env and the state directory would give it under systemd.
mkdir -p "$work/state"
secret="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
(cd "$work/state" && TANDEM_JWT_SECRET="$secret" TANDEM_PORT="$port" \
   TANDEM_STORE_PATH="$work/state/tandem.db" exec $exec_start) >"$work/server.log" 2>&1 &
server_pid=$!
healthy=""
for _ in $(seq 1 300); do  # up to 30 s on a busy machine
  if curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then healthy=1; break; fi
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log"; fail "the server exited at start"; }
  sleep 0.1
done
[ -n "$healthy" ] || { cat "$work/server.log"; fail "/healthz did not answer within 30 s"; }
curl -fsS "http://127.0.0.1:$port/" -o "$work/index.html" || fail "GET / failed"
cmp -s "$work/index.html" "$prefix/share/tandem/www/index.html" || fail "/ did not serve the installed web root's index.html"
ok "ExecStart as written serves /healthz and the demo page"
# ExecReload: SIGHUP reads the config again; log_level applies at once, the rest is logged.
exec_reload="$(sed -n 's/^ExecReload=//p' "$unit")"
[ "$exec_reload" = '/bin/kill -HUP $MAINPID' ] || fail "unexpected ExecReload: $exec_reload"
printf 'log_level = debug\nmax_rooms = 10\n' >>"$conf"
MAINPID="$server_pid" eval "$exec_reload"
for _ in $(seq 1 100); do
  grep -q 'reload (SIGHUP): log_level info -> debug' "$work/server.log" && break
  sleep 0.1
done
grep -q 'reload (SIGHUP): log_level info -> debug' "$work/server.log" &&
  grep -q 'reload (SIGHUP): max_rooms changed (64 -> 10); it takes effect at the next restart' "$work/server.log" ||
  { cat "$work/server.log"; fail "ExecReload did not reload the settings"; }
ok "ExecReload (SIGHUP) applied log_level and named what waits for a restart"
# A client connected when the stop comes: over the SSE fallback (curl reads its event stream)
# it sees the same close as a WebSocket would, 1012 "restart" (clients reconnect at once).
token="$("$prefix/bin/tandem-server" mint-token --secret "$secret" --sub ops-check)"
curl -sN "http://127.0.0.1:$port/sse?token=$token" >"$work/stream.txt" 2>/dev/null &
stream_pid=$!
for _ in $(seq 1 300); do
  grep -q '"type":"connected"' "$work/stream.txt" 2>/dev/null && break
  sleep 0.1
done
grep -q '"type":"connected"' "$work/stream.txt" || { cat "$work/server.log"; fail "no connected event on the stream"; }
kill -TERM "$server_pid"
status=0
for _ in $(seq 1 $((timeout_stop_s * 10))); do
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.1
done
kill -0 "$server_pid" 2>/dev/null && fail "SIGTERM did not stop the server within TimeoutStopSec (${timeout_stop_s} s)"
wait "$server_pid" || status=$?
server_pid=""
[ "$status" -eq 0 ] || { cat "$work/server.log"; fail "the server exited $status on SIGTERM"; }
ok "SIGTERM (KillSignal) stopped it cleanly, exit 0"
wait "$stream_pid" 2>/dev/null || true
stream_pid=""
grep -q 'event: close' "$work/stream.txt" && grep -q '"code":1012' "$work/stream.txt" ||
  { cat "$work/stream.txt"; fail "the connected client was not closed with 1012"; }
ok "the connected client was closed with 1012 restart"

# ---- 4. the .deb ------------------------------------------------------------------------------
(cd "$work" && "$cpack" --config "$build/CPackConfig.cmake" -B "$work/pkg" >"$work/cpack.log" 2>&1) ||
  { cat "$work/cpack.log"; fail "cpack"; }
deb="$(ls "$work"/pkg/tandem-server_*.deb)"
contents="$(dpkg-deb -c "$deb" | awk '{print $NF}')"
for f in ./usr/bin/tandem-server ./usr/share/tandem/www/index.html ./usr/share/tandem/www/tandem.mjs \
         ./usr/lib/systemd/system/tandem-server.service ./etc/tandem/tandem.conf ./usr/share/doc/tandem/OPERATIONS.md; do
  grep -qx "$f" <<<"$contents" || fail "the .deb has no $f"
done
# The .deb is the server: nothing of the C++ client package (component dev) in it.
if grep -E '^\./usr/(include/|lib/.*\.a$|lib/.*cmake/)' <<<"$contents"; then
  fail "the .deb carries the C++ client package's files (above)"
fi
depends="$(dpkg-deb -f "$deb" Depends)"
for lib in libwebsockets libcjson libsqlite3 libpq libhiredis libssl; do
  grep -q "$lib" <<<"$depends" || fail "the .deb does not depend on $lib: $depends"
done
dpkg-deb -e "$deb" "$work/control"
grep -qx "/etc/tandem/tandem.conf" "$work/control/conffiles" || fail "the config is not a conffile"
dpkg-deb -x "$deb" "$work/deb"
grep -qx "ExecStart=/usr/bin/tandem-server --config /etc/tandem/tandem.conf" "$work/deb/usr/lib/systemd/system/tandem-server.service" ||
  fail "the .deb's unit does not start /usr/bin/tandem-server with /etc/tandem/tandem.conf"
grep -qx "web_root = /usr/share/tandem/www" "$work/deb/etc/tandem/tandem.conf" || fail "the .deb's config names another web root"
ok "the .deb ($(du -k "$deb" | cut -f1) KiB): contents, Depends ($depends), conffile and unit paths"
