#!/usr/bin/env bash
# toolchains/setup.sh — installs, idempotently, everything a fresh Debian machine lacks to
# build, run and test Tandem:
#   1. apt packages (compilers, libwebsockets, cJSON, SQLite, GLFW, Dear ImGui, emscripten,
#      Chromium, Xvfb, Redis, ...), installed only when missing;
#   2. the Debian *source* packages of cJSON and Dear ImGui, which the WebAssembly build
#      compiles (Debian ships them only as native libraries), unpacked into .cache/deps/
#      (ignored by git); a deb-src entry is added when the machine has none;
#   3. npm packages from the committed package-lock.json (`npm ci`), skipped when current.
# Run as root (or with sudo). Safe to run again: each step checks before it acts.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEPS="$ROOT/.cache/deps"
export DEBIAN_FRONTEND=noninteractive

log() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

APT_PACKAGES=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  libwebsockets-dev libcjson-dev libssl-dev libsqlite3-dev libhiredis-dev redis-server
  googletest libgtest-dev
  libglfw3-dev libimgui-dev libgl-dev libpng-dev
  emscripten
  chromium xvfb xauth libgl1-mesa-dri
  dpkg-dev curl
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

# --- 3. npm packages from the lockfile -------------------------------------------------------
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
