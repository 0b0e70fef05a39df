#!/usr/bin/env bash
# A software TPM 2.0 (swtpm) on 127.0.0.1 for the ledger anchor tests.
#
#   swtpm.sh start DIR           start it (state, log, pid in DIR); prints the
#                                TCTI string and writes it to DIR/tcti
#   swtpm.sh stop DIR            stop it
#   swtpm.sh run CMD [ARGS...]   start one in a temp dir, run CMD with
#                                VNFSAFE_TPM set to its TCTI string, stop it,
#                                clean up; exits with CMD's status
#
# The server port P and the control port P+1 are picked free among
# 24000-24999 (a start that loses a port race is retried with others).
# Exits 77 (ctest's skip code) when swtpm is not installed.
set -u
set -o pipefail
export LC_ALL=C

SWTPM_PORT_LO=24000
SWTPM_PORT_HI=24998

swtpm_log() { echo "swtpm.sh: $*" >&2; }

usage() {
	echo "usage: $0 start DIR | stop DIR | run CMD [ARGS...]" >&2
	exit 1
}

need_swtpm() {
	if ! command -v swtpm >/dev/null 2>&1; then
		echo "SKIP: swtpm not installed"
		exit 77
	fi
}

# port_free PORT: nothing listens on or is bound to 127.0.0.1:PORT.
port_free() {
	local p=$1
	if command -v ss >/dev/null 2>&1; then
		[ -z "$(ss -Htan "( sport = :$p )" 2>/dev/null)" ] || return 1
	fi
	# A connection that succeeds means a listener.
	! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null
}

# pick_port: a free P with P+1 free too.
pick_port() {
	local span=$((SWTPM_PORT_HI - SWTPM_PORT_LO + 1)) p tries
	for tries in $(seq 1 2000); do
		p=$((SWTPM_PORT_LO + (RANDOM * 32768 + RANDOM) % span))
		if port_free "$p" && port_free $((p + 1)); then
			echo "$p"
			return 0
		fi
	done
	swtpm_log "no free port pair in $SWTPM_PORT_LO-$((SWTPM_PORT_HI + 1)) after $tries tries"
	return 1
}

# pid_ok DIR PID: PID is alive and is the swtpm serving DIR.
pid_ok() {
	local dir=$1 pid=$2
	[ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
	tr '\0' '\n' 2>/dev/null <"/proc/$pid/cmdline" | grep -Fxq -- "dir=$dir/state"
}

# ready PORT: the server port accepts connections.
ready() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

swtpm_start() {
	local dir=$1 attempt p pid _
	mkdir -p "$dir/state" || return 1
	dir=$(cd "$dir" && pwd) || return 1
	if pid_ok "$dir" "$(cat "$dir/pid" 2>/dev/null)"; then
		swtpm_log "a swtpm already runs in $dir"
		return 1
	fi
	for attempt in 1 2 3; do
		p=$(pick_port) || return 1
		rm -f "$dir/pid"
		swtpm socket --tpm2 \
			--server "type=tcp,port=$p,bindaddr=127.0.0.1" \
			--ctrl "type=tcp,port=$((p + 1)),bindaddr=127.0.0.1" \
			--tpmstate "dir=$dir/state" --flags not-need-init,startup-clear \
			--pid "file=$dir/pid" --log "file=$dir/log" \
			</dev/null >>"$dir/log" 2>&1 &
		pid=$!
		disown "$pid" # no "Killed" notice from this shell when it is stopped
		for _ in $(seq 1 100); do
			# Our child: alive until swtpm exits (before its exec it is
			# still this shell, so pid_ok would not say yet).
			kill -0 "$pid" 2>/dev/null || break
			if ready "$p" && pid_ok "$dir" "$pid"; then
				echo "$pid" >"$dir/pid"
				echo "swtpm:host=127.0.0.1,port=$p" >"$dir/tcti"
				cat "$dir/tcti"
				return 0
			fi
			sleep 0.05
		done
		swtpm_log "start attempt $attempt on port $p failed: $(tail -n 3 "$dir/log" 2>/dev/null)"
		kill -KILL "$pid" 2>/dev/null
	done
	return 1
}

# swtpm_stop DIR: TERM, then KILL after 5 s; only the swtpm of DIR.
swtpm_stop() {
	local dir=$1 pid _
	[ -d "$dir" ] || return 0
	dir=$(cd "$dir" && pwd) || return 1
	pid=$(cat "$dir/pid" 2>/dev/null)
	pid_ok "$dir" "$pid" || return 0
	kill -TERM "$pid" 2>/dev/null
	for _ in $(seq 1 50); do
		pid_ok "$dir" "$pid" || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	for _ in $(seq 1 50); do
		pid_ok "$dir" "$pid" || return 0
		sleep 0.1
	done
	swtpm_log "swtpm $pid did not exit"
	return 1
}

run_with_swtpm() {
	local dir rc
	dir=$(mktemp -d "${TMPDIR:-/tmp}/vnfsafe-swtpm.XXXXXX") || exit 1
	# shellcheck disable=SC2064 # expand dir now
	trap "swtpm_stop '$dir'; rm -rf '$dir'" EXIT
	trap 'exit 130' INT TERM HUP
	swtpm_start "$dir" >/dev/null || { echo "FAIL: cannot start swtpm" >&2; exit 1; }
	VNFSAFE_TPM=$(cat "$dir/tcti")
	export VNFSAFE_TPM
	echo "== swtpm: VNFSAFE_TPM=$VNFSAFE_TPM"
	"$@"
	rc=$?
	exit $rc
}

[ $# -ge 1 ] || usage
cmd=$1
shift
case $cmd in
start)
	[ $# -eq 1 ] || usage
	need_swtpm
	swtpm_start "$1" || exit 1
	;;
stop)
	[ $# -eq 1 ] || usage
	swtpm_stop "$1"
	;;
run)
	[ $# -ge 1 ] || usage
	need_swtpm
	run_with_swtpm "$@"
	;;
*)
	usage
	;;
esac
