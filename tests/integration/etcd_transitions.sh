# The same ledger suite on a real 3-member etcd cluster on loopback:
# the transition unit suite (test_ledger), then the CLI race test and the
# two-home fencing test, then the race again with member 1 SIGKILLed while the racers run.
# usage: etcd_transitions.sh TEST_LEDGER_BIN VNFSAFE_BIN     (exit 77: no etcd)
set -u
here=$(cd "$(dirname "$0")" && pwd)
[ $# -eq 2 ] || { echo "usage: $0 TEST_LEDGER_BIN VNFSAFE_BIN" >&2; exit 1; }
command -v etcd >/dev/null || { echo "SKIP: etcd-server not installed (apt-get install etcd-server)"; exit 77; }
command -v curl >/dev/null || { echo "SKIP: curl not installed (the cluster script's health checks)"; exit 77; }
dir=$(mktemp -d "${TMPDIR:-/tmp}/vnfsafe-etcdt.XXXXXX") || exit 1
trap 'bash "$here/etcd_cluster.sh" stop "$dir" >/dev/null 2>&1; rm -rf "$dir"' EXIT
bash "$here/etcd_cluster.sh" start "$dir" >/dev/null || { echo "FAIL: cannot start etcd" >&2; exit 1; }
uri="etcd:$(cat "$dir/endpoints")"
echo "== ledger: $uri"
VS_LEDGER_URI=$uri "$1" || { echo "FAIL: transition suite on etcd" >&2; exit 1; }
LEDGER_URI=$uri bash "$here/ledger_race.sh" "$2" || { echo "FAIL: races on etcd" >&2; exit 1; }
LEDGER_URI=$uri bash "$here/ledger_fence.sh" "$2" || { echo "FAIL: fencing on etcd" >&2; exit 1; }
echo "== again, killing member 1 while the racers run"
LEDGER_URI=$uri KILL_DURING="bash $here/etcd_cluster.sh kill-member $dir 1" \
	bash "$here/ledger_race.sh" "$2" || { echo "FAIL: races on etcd with a member killed" >&2; exit 1; }
echo "etcd ledger: transition suite and races passed, also with a member killed mid-race"
