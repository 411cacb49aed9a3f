#!/usr/bin/env bash
# tests/packaging/cpp_consumer_wasm_test.sh — the C++ client package from the wasm tree
# (packaging/client: Tandem::core and its cJSON, no native transport) as an emscripten app uses
# it: `cmake --install build/wasm --component dev` into a temp prefix, tests/packaging/
# wasm-consumer configured with emcmake against it, built warning-free (-Werror), and run under
# node. Skipped (77) when there is no wasm tree (`cmake --preset wasm`); the test command
# builds it before the native tests.
# Usage: cpp_consumer_wasm_test.sh WASM_BUILD_DIR CMAKE GENERATOR MAKE_PROGRAM EMCMAKE NODE.
# Leaves nothing behind (a temp dir, removed at exit).
set -euo pipefail
wasm_build="$1" cmake="$2" generator="$3" make_program="$4" emcmake="$5" node="$6"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ ! -f "$wasm_build/CMakeCache.txt" ]; then
  echo "skipped: no wasm tree in $wasm_build (cmake --preset wasm && cmake --build --preset wasm)"
  exit 77
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
started=$SECONDS
ok() { echo "ok: $* ($((SECONDS - started)) s)"; }

prefix="$work/prefix"
"$cmake" --install "$wasm_build" --component dev --prefix "$prefix" >"$work/install.log" ||
  { cat "$work/install.log"; fail "cmake --install $wasm_build --component dev (is the wasm tree built?)"; }
config="$(find "$prefix" -path '*/cmake/Tandem/TandemConfig.cmake')"
[ -n "$config" ] || fail "the wasm tree installed no TandemConfig.cmake: reconfigure it (cmake --preset wasm)"
for a in libtandem_core.a libtandem_cjson.a; do
  [ -n "$(find "$prefix" -name "$a")" ] || fail "the wasm package has no $a"
done
[ -z "$(find "$prefix" -name libtandem_native_client.a)" ] || fail "the wasm package has a native client"
ok "the wasm tree's dev component: headers, libtandem_core.a, libtandem_cjson.a, lib/cmake/Tandem"

# Debian's em++ runs its JS tools with Debian's node modules (toolchains/wasm.cmake does the same).
export NODE_PATH=/usr/share/nodejs
"$emcmake" "$cmake" -S "$here/wasm-consumer" -B "$work/app" -G "$generator" -DCMAKE_MAKE_PROGRAM="$make_program" \
  -DCMAKE_BUILD_TYPE=Debug -DCMAKE_FIND_ROOT_PATH="$prefix" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF \
  -DCMAKE_CXX_FLAGS="-Wall -Wextra -Wpedantic -Wshadow -Werror" >"$work/configure.log" 2>&1 ||
  { cat "$work/configure.log"; fail "configuring the wasm consumer"; }
found="$(sed -n 's/^Tandem_DIR:PATH=//p' "$work/app/CMakeCache.txt")"
[ "$found" = "$(dirname "$config")" ] || fail "find_package(Tandem) found $found, not the temp prefix's"
"$cmake" --build "$work/app" >"$work/build.log" 2>&1 || { cat "$work/build.log"; fail "building the wasm consumer"; }
ok "the wasm consumer configured with emcmake against $found and built"

out="$(timeout 60 "$node" "$work/app/tandem-wasm-codec.js")" || { echo "$out"; fail "the wasm consumer failed under node"; }
echo "$out"
grep -qx 'encoded {"type":"chat","id":"1","room":"chat:wasm","text":"hello from wasm"}' <<<"$out" ||
  fail "unexpected encoding"
grep -qx "decoded chat seq 41 from ana: hello from wasm" <<<"$out" || fail "unexpected decoding"
ok "it ran under node: the core encoded a chat request and decoded a chat event"
