#!/usr/bin/env bash
# tests/packaging/cpp_consumer_test.sh — the C++ client package (packaging/client) as an app
# uses it:
#   1. `cmake --install --component dev` into a temp prefix lays out the headers, the archives
#      and lib/cmake/Tandem, and nothing of the server;
#   2. examples/cpp-consumer, copied out of the source tree, configures against that prefix
#      (find_package(Tandem) finds it there, Tandem::client) and builds warning-free (-Werror);
#   3. against a real tandem-server (free port, temp store, a 32-byte secret, a minted token)
#      it connects, joins a room, sends a chat message and sees it acknowledged and back as a
#      room event, then exits 0.
# Usage: cpp_consumer_test.sh BUILD_DIR CMAKE GENERATOR MAKE_PROGRAM CXX_COMPILER SERVER.
# Prints what it checks and how long each step took; exits non-zero at the first failure.
# Leaves nothing behind (a temp dir, removed at exit; the server is stopped on every path).
set -euo pipefail
build="$(cd "$1" && pwd)" cmake="$2" generator="$3" make_program="$4" cxx="$5" server="$6"
source_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
work="$(mktemp -d)"
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill -KILL "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
started=$SECONDS
ok() { echo "ok: $* ($((SECONDS - started)) s)"; }

# ---- 1. the dev component into a temp prefix -------------------------------------------------
prefix="$work/prefix"
"$cmake" --install "$build" --component dev --prefix "$prefix" >"$work/install.log" ||
  { cat "$work/install.log"; fail "cmake --install --component dev"; }
libdir="$(dirname "$(find "$prefix" -name libtandem_core.a | head -n 1)")"
[ -d "$libdir" ] || fail "no libtandem_core.a installed"
for f in include/tandem/client.h include/tandem/protocol/chat.h include/tandem/native/native_client.h \
         "${libdir#"$prefix/"}/libtandem_native_client.a" "${libdir#"$prefix/"}/cmake/Tandem/TandemConfig.cmake" \
         "${libdir#"$prefix/"}/cmake/Tandem/TandemConfigVersion.cmake" "${libdir#"$prefix/"}/cmake/Tandem/TandemTargets.cmake"; do
  [ -e "$prefix/$f" ] || fail "the dev component left no $f"
done
[ ! -e "$prefix/bin/tandem-server" ] && [ ! -e "$prefix/share/tandem" ] ||
  fail "the dev component installed server files"
ok "the dev component: headers, archives and lib/cmake/Tandem under a temp prefix, no server files"

# ---- 2. the example, out of the tree, against the installed package --------------------------
cp -R "$source_dir/examples/cpp-consumer" "$work/src"
"$cmake" -S "$work/src" -B "$work/app" -G "$generator" -DCMAKE_MAKE_PROGRAM="$make_program" \
  -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCMAKE_CXX_FLAGS="-Wall -Wextra -Wpedantic -Wshadow -Werror" \
  >"$work/configure.log" 2>&1 || { cat "$work/configure.log"; fail "configuring the example"; }
found="$(sed -n 's/^Tandem_DIR:PATH=//p' "$work/app/CMakeCache.txt")"
[ "$found" = "$libdir/cmake/Tandem" ] || fail "find_package(Tandem) found $found, not the temp prefix's"
"$cmake" --build "$work/app" >"$work/build.log" 2>&1 || { cat "$work/build.log"; fail "building the example"; }
app="$work/app/tandem-chat-hello"
[ -x "$app" ] || fail "no tandem-chat-hello built"
ok "examples/cpp-consumer configured against $found and built"

# ---- 3. against a real server ------------------------------------------------------------------
port_is_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
secret="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"  # 64 bytes of hex
mkdir -p "$work/www"
port=0
for attempt in 1 2 3; do  # a free port can be taken between the check and the bind: try again
  port=0
  for _ in $(seq 1 50); do
    candidate=$((20000 + RANDOM % 40000))
    if port_is_free "$candidate"; then port=$candidate; break; fi
  done
  [ "$port" -ne 0 ] || fail "no free port found"
  "$server" --host 127.0.0.1 --port "$port" --jwt-secret "$secret" --store-path "$work/store/tandem.db" \
    --web-root "$work/www" >"$work/server.log" 2>&1 &
  server_pid=$!
  healthy=""
  for _ in $(seq 1 300); do  # up to 30 s on a busy machine
    if curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then healthy=1; break; fi
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  [ -n "$healthy" ] && break
  kill -KILL "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
  echo "server attempt $attempt on port $port did not come up:" && cat "$work/server.log"
done
[ -n "$server_pid" ] || fail "tandem-server did not start"
token="$("$server" mint-token --secret "$secret" --sub cpp-consumer --name "C++ consumer" --rooms 'chat:*')"
text="hello from an installed Tandem"
status=0
TANDEM_TOKEN="$token" timeout 60 "$app" "ws://127.0.0.1:$port/ws" chat:cpp-consumer "$text" \
  >"$work/app.out" 2>"$work/app.err" || status=$?
cat "$work/app.out"
if [ "$status" -ne 0 ]; then
  cat "$work/app.err" "$work/server.log"
  fail "tandem-chat-hello exited $status"
fi
out="$(cat "$work/app.out")"
grep -qx "connected as cpp-consumer" <<<"$out" || fail "no 'connected as cpp-consumer'"
grep -qx "joined chat:cpp-consumer at seq 0" <<<"$out" || fail "no join of chat:cpp-consumer"
grep -qx "sent \"$text\": acked" <<<"$out" || fail "the message was not acknowledged"
grep -qx "received seq [0-9]* from cpp-consumer: $text" <<<"$out" || fail "the message did not come back"
[ "$(tail -n 1 <<<"$out")" = "ok" ] || fail "the last line is not 'ok'"
ok "tandem-chat-hello connected, joined, sent a chat message, got its ack and the message back, exit 0"

kill -TERM "$server_pid"
for _ in $(seq 1 200); do  # up to 20 s
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.1
done
if ! kill -0 "$server_pid" 2>/dev/null; then
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
fi
