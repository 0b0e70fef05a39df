# version.sh VNFSAFE VERSION CHANGELOG: `vnfsafe --version` and `vnfsafe
# version` print project(VERSION), and debian/changelog's newest entry is that
# upstream version (CMake refuses to configure otherwise; this checks the
# binary and, where dpkg-parsechangelog exists, Debian's own reading).
set -u
VS=$1 want=$2 cl=$3
fail() { echo "FAIL: $*" >&2; exit 1; }
[ "$("$VS" --version)" = "vnfsafe $want" ] || fail "--version printed '$("$VS" --version)', want 'vnfsafe $want'"
[ "$("$VS" version)" = "vnfsafe $want" ] || fail "version printed '$("$VS" version)'"
if command -v dpkg-parsechangelog >/dev/null; then
  deb=$(dpkg-parsechangelog -l "$cl" -S Version) || fail "dpkg-parsechangelog cannot read $cl"
  up=${deb#*:}; up=${up%-*}
  [ "$up" = "$want" ] || fail "debian/changelog version $deb, project(VERSION) $want"
fi
echo "ok: version $want everywhere"
