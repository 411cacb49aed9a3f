#!/usr/bin/env bash
# toolchains/check-fresh.sh — runs the README's two commands, exactly as written, in a
# throw-away Debian 12 root, as a new user on a fresh machine would, and reports each one's
# exit status and time and the test command's ctest summary.
#
#   1. debootstrap --variant=minbase bookworm into a temp dir, with the apt sources of a stock
#      Debian 12 (bookworm, bookworm-updates, bookworm-security), plus what the README says a
#      machine needs beforehand: git and ca-certificates;
#   2. a clean clone of this repository's HEAD (or --ref) at /root/tandem inside it;
#   3. chroot, `./toolchains/run-server.sh` in the background: passes when /healthz answers 200
#      and / serves the demo page, then the server is stopped with SIGINT (graceful);
#   4. chroot, `./toolchains/run-tests.sh`: passes when it exits 0 and its last ctest summary
#      says every test passed.
#
# A developer's check before resolving an issue that touches setup; not part of the test
# command. Run as root on a Debian machine with network access to Debian's mirrors and the npm
# registry; it takes about 20 minutes on 2 cores and a few GB in the temp dir. The chroot
# shares this machine's network: port 8080 (the run command's default) must be free.
# This machine's local CA certificates (/usr/local/share/ca-certificates) are copied in, as any
# machine on its network has them. Daemons that packages would start inside the chroot (redis-server) are held back with a
# policy-rc.d, as in any chroot; the tests start their own servers.
#
# Usage: toolchains/check-fresh.sh [--ref REF] [--keep] [--dir DIR]
#   --ref REF   the commit to clone (default HEAD)
#   --keep      leave the root and its logs in place afterwards (default: deleted)
#   --dir DIR   where to make the root (default: a new dir under /var/tmp)
#   --tests-only  skip step 3: the test command alone on the clean clone, as CI runs it (its
#               time is then CI's, builds included)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REF=HEAD
KEEP=0
TESTS_ONLY=0
WORK=""
MIRROR="${TANDEM_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SERVER_DEADLINE_S=3600   # setup + builds from nothing before /healthz must answer
PORT=8080                # the run command's default, as the README has it

while [ $# -gt 0 ]; do
  case "$1" in
    --ref) REF="$2"; shift 2 ;;
    --keep) KEEP=1; shift ;;
    --tests-only) TESTS_ONLY=1; shift ;;
    --dir) WORK="$2"; shift 2 ;;
    -h|--help) sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "check-fresh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

log() { printf '\033[1m[check-fresh]\033[0m %s\n' "$*"; }
die() { echo "check-fresh: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run as root (debootstrap, mount and chroot need it)"
if ! command -v debootstrap >/dev/null; then
  log "installing debootstrap"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
fi
if command -v curl >/dev/null && curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$PORT/"; then
  die "port $PORT is in use on this machine; the chroot shares its network, so stop what listens there first"
fi
COMMIT="$(git -C "$ROOT" rev-parse --verify "$REF^{commit}")"

WORK="${WORK:-$(mktemp -d /var/tmp/tandem-fresh.XXXXXX)}"
CHROOT="$WORK/root"
LOGS="$WORK/logs"
mkdir -p "$CHROOT" "$LOGS"
SERVER_PGID=""

cleanup() {
  set +e
  [ -n "$SERVER_PGID" ] && kill -KILL -- "-$SERVER_PGID" 2>/dev/null
  # Anything else still running inside the root (a test's leftover) goes before the unmount.
  for proc in /proc/[0-9]*; do
    [ "$(readlink "$proc/root" 2>/dev/null)" = "$CHROOT" ] && kill -KILL "${proc#/proc/}" 2>/dev/null
  done
  for mount in dev/shm dev/pts dev sys proc; do
    mountpoint -q "$CHROOT/$mount" && umount -l "$CHROOT/$mount"
  done
  if [ "$KEEP" -eq 1 ]; then
    log "kept: $CHROOT (logs in $LOGS)"
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT

# Runs a command line inside the root as root, with a login-like clean environment.
in_root() {
  chroot "$CHROOT" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin bash -c "$1"
}

# --- 1. a fresh Debian 12 ------------------------------------------------------------------
started=$(date +%s)
log "debootstrap minbase bookworm into $CHROOT (log: $LOGS/debootstrap.log)"
debootstrap --variant=minbase bookworm "$CHROOT" "$MIRROR" >"$LOGS/debootstrap.log" 2>&1 ||
  die "debootstrap failed; see $LOGS/debootstrap.log"
rm -f "$CHROOT/etc/apt/sources.list"
cat >"$CHROOT/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: $MIRROR
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${MIRROR%/debian}/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
printf '#!/bin/sh\nexit 101\n' >"$CHROOT/usr/sbin/policy-rc.d" && chmod +x "$CHROOT/usr/sbin/policy-rc.d"
cp -L /etc/resolv.conf "$CHROOT/etc/resolv.conf"
mount -t proc proc "$CHROOT/proc"
mount -t sysfs sysfs "$CHROOT/sys"
mount --bind /dev "$CHROOT/dev"
mount -t devpts -o newinstance,ptmxmode=0666 devpts "$CHROOT/dev/pts"
mount -t tmpfs -o mode=1777 tmpfs "$CHROOT/dev/shm"

# This machine's local trust anchors (a TLS-inspecting proxy's CA, added the Debian way in
# /usr/local/share/ca-certificates) go in too, as any machine on this network has them; the
# ca-certificates package below adds them to the root's store.
if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
  mkdir -p "$CHROOT/usr/local/share/ca-certificates"
  cp /usr/local/share/ca-certificates/*.crt "$CHROOT/usr/local/share/ca-certificates/"
  log "this machine's local CA certificates copied in: $(cd /usr/local/share/ca-certificates && echo *.crt)"
fi
log "what a machine needs beforehand: git and ca-certificates"
in_root 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends git ca-certificates' \
  >"$LOGS/prerequisites.log" 2>&1 || die "installing git and ca-certificates failed; see $LOGS/prerequisites.log"
log "fresh root ready in $(( $(date +%s) - started )) s"

# --- 2. a clean clone -----------------------------------------------------------------------
log "cloning $COMMIT into /root/tandem"
git clone -q --no-hardlinks "$ROOT" "$CHROOT/root/tandem"
git -C "$CHROOT/root/tandem" checkout -q "$COMMIT"

# --- 3. the run command ----------------------------------------------------------------------
server_result="skipped"; server_time=0; server_detail="(--tests-only)"
if [ "$TESTS_ONLY" -eq 0 ]; then
log "run command: ./toolchains/run-server.sh (log: $LOGS/run-server.log)"
server_started=$(date +%s)
setsid chroot "$CHROOT" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  bash -c 'cd /root/tandem && exec ./toolchains/run-server.sh' >"$LOGS/run-server.log" 2>&1 &
server_pid=$!
SERVER_PGID=$server_pid
server_result="FAILED"
server_detail=""
while :; do
  if ! kill -0 "$server_pid" 2>/dev/null; then
    rc=0; wait "$server_pid" || rc=$?
    server_detail="exited with $rc before /healthz answered; tail of its log:\n$(tail -n 30 "$LOGS/run-server.log")"
    break
  fi
  if [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$PORT/healthz")" = 200 ]; then
    listening_after=$(( $(date +%s) - server_started ))
    page="$(curl -s --max-time 10 "http://127.0.0.1:$PORT/")"
    # The demo page (web/index.html) loads its app module; the module and the wasm are served too.
    if grep -q "Tandem's demo page" <<<"$page" &&
       [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "http://127.0.0.1:$PORT/tandem.mjs")" = 200 ]; then
      server_result="passed"
      server_detail="/healthz 200 and the demo page (/) served after ${listening_after} s"
    else
      server_detail="/healthz 200 after ${listening_after} s, but / did not serve the demo page"
    fi
    break
  fi
  if [ $(( $(date +%s) - server_started )) -gt "$SERVER_DEADLINE_S" ]; then
    server_detail="no 200 on /healthz within $SERVER_DEADLINE_S s"
    break
  fi
  sleep 2  # polling a condition (the server's /healthz) with the deadline above
done
server_rc="-"
if kill -0 "$server_pid" 2>/dev/null; then
  kill -INT -- "-$SERVER_PGID" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL -- "-$SERVER_PGID" 2>/dev/null || true
  server_rc=0; wait "$server_pid" || server_rc=$?
fi
SERVER_PGID=""
server_time=$(( $(date +%s) - server_started ))
log "run command: $server_result — $(printf '%b' "$server_detail") (stopped with SIGINT: exit $server_rc)"
fi

# --- 4. the test command ---------------------------------------------------------------------
log "test command: ./toolchains/run-tests.sh (log: $LOGS/run-tests.log)"
tests_started=$(date +%s)
set +e
in_root 'cd /root/tandem && ./toolchains/run-tests.sh' >"$LOGS/run-tests.log" 2>&1
tests_rc=$?
set -e
tests_time=$(( $(date +%s) - tests_started ))
# ctest ends with its summary ("100% tests passed, 0 tests failed out of N"), then the label
# times and "Total Test time"; the last summary is the native run's, the one CI reads.
summary="$(grep -E 'tests passed, [0-9]+ tests failed out of' "$LOGS/run-tests.log" | tail -n 1 || true)"
tests_result="FAILED"
if [ "$tests_rc" -eq 0 ] && [[ "$summary" == *"tests passed, 0 tests failed out of"* ]]; then
  tests_result="passed"
fi

# --- report ----------------------------------------------------------------------------------
fmt() { printf '%dm%02ds' $(( $1 / 60 )) $(( $1 % 60 )); }
echo
echo "check-fresh on $(git -C "$ROOT" log -1 --format='%h %s' "$COMMIT")"
echo "  fresh Debian 12 root (debootstrap minbase + git, ca-certificates)"
printf '  ./toolchains/run-server.sh  %-6s  %s  %b\n' "$server_result" "$(fmt "$server_time")" "$server_detail"
printf '  ./toolchains/run-tests.sh   %-6s  %s  exit %d\n' "$tests_result" "$(fmt "$tests_time")" "$tests_rc"
echo "  ctest summaries: $(grep -E 'tests passed, [0-9]+ tests failed' "$LOGS/run-tests.log" | tr '\n' ';' || true)"
echo "  the test command's last summary: $summary"
[ "$tests_result" = passed ] || grep -E '^\s+[0-9]+ - .*\((Failed|Timeout|SEGFAULT|Subprocess aborted|Not Run)' "$LOGS/run-tests.log" | sed 's/^/  failed: /' || true
{ [ "$server_result" = passed ] || [ "$server_result" = skipped ]; } && [ "$tests_result" = passed ]
