#!/usr/bin/env bash
# pkg-check.sh [OUTDIR]: the Debian package, as CI checks it (scripts/test.sh).
# Builds the .deb with DEB_BUILD_OPTIONS=nocheck (the suite already ran) from
# a copy of this tree in a temporary directory (dpkg-buildpackage writes to
# the parent directory; the checkout stays clean), runs lintian --fail-on
# error, unpacks it with dpkg-deb -x and checks what it holds: the binary
# ignores VNFSAFE_FAULT, prints the changelog's version, runs the demo steps
# (scripts/demo.sh with that binary); the man page renders. With OUTDIR, the
# .deb and the lintian report are copied there.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
out=${1:-}
work=$(mktemp -d "${TMPDIR:-/tmp}/vnfsafe-pkg.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() { echo "pkg-check: $*" >&2; exit 1; }
ver=$(dpkg-parsechangelog -S Version)
arch=$(dpkg-architecture -q DEB_HOST_ARCH)

echo "== package: copy of the tree (tracked and new files, as in the work tree)"
mkdir "$work/vnfsafe-$ver"
git ls-files -z --cached --others --exclude-standard |
  tar --null --ignore-failed-read -T - -cf - 2>/dev/null | tar -xf - -C "$work/vnfsafe-$ver"
[ -x "$work/vnfsafe-$ver/debian/rules" ] || fail "the copy has no debian/rules"

echo "== package: dpkg-buildpackage -us -uc -b (DEB_BUILD_OPTIONS=nocheck)"
if ! (cd "$work/vnfsafe-$ver" &&
      DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" dpkg-buildpackage -us -uc -b) \
      >"$work/build.log" 2>&1; then
  tail -n 40 "$work/build.log" >&2
  fail "dpkg-buildpackage failed (last 40 lines above)"
fi
deb=$work/vnfsafe_${ver}_${arch}.deb
[ -f "$deb" ] || fail "no $deb; built: $(ls "$work")"
grep -E ': warning: ' "$work/build.log" | head -n 20 || true   # no -Werror here: show them

echo "== package: lintian --fail-on error"
# (as root lintian says it should not be; that line is not a finding)
if ! lintian --fail-on error --info --display-info "$deb" >"$work/lintian.txt" 2>&1; then
  grep -v 'running with root privileges' "$work/lintian.txt" >&2
  fail "lintian found errors"
fi
grep -v 'running with root privileges' "$work/lintian.txt" || echo "(no lintian tags)"

echo "== package: contents (binary, man page, docs; no headers, no library)"
dpkg-deb -c "$deb" | awk '{print $6}' >"$work/contents"
for f in ./usr/bin/vnfsafe ./usr/share/man/man1/vnfsafe.1.gz ./usr/share/doc/vnfsafe/copyright \
         ./usr/share/doc/vnfsafe/cli.md ./usr/share/doc/vnfsafe/README.md; do
  grep -qx -e "$f" -e "$f.gz" "$work/contents" || fail "the package lacks $f"
done
grep -E '^\./usr/(include|lib)/|\.a$|\.so' "$work/contents" && fail "the package installs headers or a library"
dpkg-deb -x "$deb" "$work/root"
bin=$work/root/usr/bin/vnfsafe

echo "== package: the unpacked binary"
bash tests/pkg/version.sh "$bin" "${ver%-*}" debian/changelog
bash tests/pkg/fault_hooks.sh "$bin" off
bash tests/pkg/man.sh "$bin" "$work/root/usr/share/man/man1/vnfsafe.1.gz"
scripts/demo.sh "$bin" >"$work/demo.log" 2>&1 || { tail -n 30 "$work/demo.log" >&2; fail "the demo failed with the packaged binary"; }
tail -n 1 "$work/demo.log"
if [ -n "$out" ]; then
  mkdir -p "$out" && cp "$deb" "$work/lintian.txt" "$out"/ && echo "pkg-check: $(basename "$deb") in $out"
fi
echo "pkg-check: $(basename "$deb") built, lintian clean of errors, demo passed"
