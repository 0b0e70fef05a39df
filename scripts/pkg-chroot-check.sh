#!/usr/bin/env bash
# pkg-chroot-check.sh DEB [CHROOT]: installs DEB with apt into a fresh Debian
# 12 (debootstrap --variant=minbase bookworm; needs root and the network),
# then checks the installed vnfsafe: --version, the man page is where man-db
# looks, and every step of scripts/demo.sh with /usr/bin/vnfsafe. Without
# CHROOT a temporary one is made and removed after. Not part of CI (2 minutes
# of downloads); the pre-release check that the package installs on its own.
set -euo pipefail
cd "$(dirname "$0")/.."
deb=$(realpath "${1:?usage: scripts/pkg-chroot-check.sh DEB [CHROOT]}")
[ "$(id -u)" -eq 0 ] || { echo "pkg-chroot-check: needs root (debootstrap, chroot)" >&2; exit 4; }
root=${2:-}
if [ -z "$root" ]; then
  root=$(mktemp -d "${TMPDIR:-/tmp}/vnfsafe-chroot.XXXXXX")
  chmod 755 "$root"   # its /: _apt and man must get in
  cleanup() { umount "$root/proc" 2>/dev/null || true; rm -rf --one-file-system "$root"; }
else
  cleanup() { umount "$root/proc" 2>/dev/null || true; }
fi
trap cleanup EXIT
if [ ! -x "$root/usr/bin/apt-get" ]; then
  echo "== debootstrap bookworm (minbase) into $root"
  debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian >"$root.debootstrap.log" 2>&1 ||
    { tail -n 20 "$root.debootstrap.log" >&2; exit 4; }
  rm -f "$root.debootstrap.log"
fi
cp /etc/resolv.conf "$root/etc/"
cp "$deb" "$root/root/" && cp scripts/demo.sh "$root/root/demo.sh"
mount -t proc proc "$root/proc"
echo "== apt-get install ./$(basename "$deb")"
chroot "$root" sh -c "apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -q --no-install-recommends /root/$(basename "$deb") man-db >/dev/null"
echo "== the installed vnfsafe"
chroot "$root" vnfsafe --version
chroot "$root" man -w vnfsafe
chroot "$root" sh -c 'MANWIDTH=80 man vnfsafe 2>&1 | head -n 3'
chroot "$root" bash /root/demo.sh /usr/bin/vnfsafe >"$root/root/demo.log" 2>&1 ||
  { tail -n 30 "$root/root/demo.log" >&2; echo "pkg-chroot-check: the demo failed" >&2; exit 1; }
tail -n 1 "$root/root/demo.log"
echo "pkg-chroot-check: $(basename "$deb") installs with apt on a fresh Debian 12 and runs the demo"
