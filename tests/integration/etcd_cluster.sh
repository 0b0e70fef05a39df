#!/usr/bin/env bash
# A real 3-member etcd cluster on 127.0.0.1 for the etcd ledger tests.
#
#   etcd_cluster.sh start DIR          start it (data, logs, DIR/endpoints, DIR/pids)
#   etcd_cluster.sh stop DIR           stop it
#   etcd_cluster.sh kill-member DIR N  SIGKILL member N (1..3)
#   etcd_cluster.sh run CMD [ARGS...]  start a cluster in a temp dir, run CMD
#                                      with VS_ETCD_ENDPOINTS set, then kill
#                                      member 1 (listed first) and run CMD
#                                      again; stop and clean up; fails if
#                                      either run failed
#
# Exits 77 (ctest's skip code) when etcd is not installed.
set -u
set -o pipefail
export LC_ALL=C

# shellcheck source=tests/integration/lib_etcd.sh
source "$(dirname "$0")/lib_etcd.sh"

usage() {
	echo "usage: $0 start DIR | stop DIR | kill-member DIR N | run CMD [ARGS...]" >&2
	exit 1
}

need_tools() {
	if [ ! -x "$ETCD_BIN" ]; then
		echo "SKIP: etcd-server not installed"
		exit 77
	fi
	if ! command -v curl >/dev/null 2>&1; then
		echo "SKIP: curl not installed"
		exit 77
	fi
}

# run CMD...: both phases, the cluster always stopped and removed.
run_with_cluster() {
	local dir rc1 rc2
	dir=$(mktemp -d "${TMPDIR:-/tmp}/vnfsafe-etcd.XXXXXX") || exit 1
	# shellcheck disable=SC2064 # expand dir now
	trap "etcd_cluster_stop '$dir'; rm -rf '$dir'" EXIT
	trap 'exit 130' INT TERM HUP
	etcd_cluster_start "$dir" || { echo "FAIL: cannot start the etcd cluster" >&2; exit 1; }
	VS_ETCD_ENDPOINTS=$(cat "$dir/endpoints")
	export VS_ETCD_ENDPOINTS
	echo "== 3 healthy members: $VS_ETCD_ENDPOINTS"
	"$@"
	rc1=$?
	etcd_kill_member "$dir" 1 || exit 1
	etcd_wait_healthy "$dir" 30 || { echo "FAIL: cluster unhealthy after losing m1" >&2; exit 1; }
	echo "== member 1 killed (still listed first): $VS_ETCD_ENDPOINTS"
	"$@"
	rc2=$?
	[ $rc1 -eq 0 ] && [ $rc2 -eq 0 ] && exit 0
	echo "FAIL: exit $rc1 with all members, $rc2 with member 1 down" >&2
	exit 1
}

[ $# -ge 1 ] || usage
cmd=$1
shift
case $cmd in
start)
	[ $# -eq 1 ] || usage
	need_tools
	etcd_cluster_start "$1" || exit 1
	cat "$1/endpoints"
	;;
stop)
	[ $# -eq 1 ] || usage
	etcd_cluster_stop "$1"
	;;
kill-member)
	[ $# -eq 2 ] || usage
	etcd_kill_member "$1" "$2"
	;;
run)
	[ $# -ge 1 ] || usage
	need_tools
	run_with_cluster "$@"
	;;
*)
	usage
	;;
esac
