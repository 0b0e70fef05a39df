# fault_hooks.sh VNFSAFE on|off [PROBE]: the crash-injection points are in
# the CLI exactly when the build was configured with VS_TEST_HOOKS. "off" is
# also how scripts/pkg-check.sh checks the binary of the .deb.
#  - on:  VNFSAFE_FAULT=init.before_rename kills `init` (SIGKILL), no home left
#  - off: the same `init` completes, and the binary does not even hold the
#         variables' names (nothing reads them)
#  - PROBE (tests/pkg/fault_probe.c + fault.c built without the option)
#         returns from every hook with the variables set
set -u
VS=$1 want=$2 probe=${3:-}
T=$(mktemp -d "${TMPDIR:-/tmp}/vs-fault.XXXXXX")
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

(VNFSAFE_FAULT=init.before_rename exec "$VS" --quiet --home "$T/h" init) >"$T/out" 2>&1
rc=$?
names=$(grep -c -a -e VNFSAFE_FAULT -e VNFSAFE_PAUSE "$VS")
case $want in
  on)
    [ "$rc" -eq 137 ] || fail "hooks build: init under VNFSAFE_FAULT exited $rc, not killed (137)"
    [ ! -e "$T/h/host.key" ] || fail "hooks build: init killed before its rename left a home"
    [ "$names" -gt 0 ] || fail "hooks build: VNFSAFE_FAULT not in the binary" ;;
  off)
    [ "$rc" -eq 0 ] || { cat "$T/out" >&2; fail "build without hooks: init under VNFSAFE_FAULT exited $rc"; }
    [ -e "$T/h/host.key" ] || fail "build without hooks: init made no home"
    [ "$names" -eq 0 ] || fail "build without hooks: the binary still names VNFSAFE_FAULT/PAUSE" ;;
  *) fail "usage: fault_hooks.sh VNFSAFE on|off [PROBE]" ;;
esac
echo "ok: $VS: fault points $want (init under VNFSAFE_FAULT exited $rc)"
if [ -n "$probe" ]; then
  "$probe" || fail "fault.c built without VS_TEST_HOOKS still acts on VNFSAFE_FAULT/PAUSE"
fi
