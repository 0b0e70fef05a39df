# Shared helpers of the vnfsafe integration tests. Each script starts with
#
#   source "$(dirname "$0")/lib.sh" "$@"     # $1 = path of the vnfsafe binary
#
# Provides: $VS (absolute path of the CLI), $T (private temp dir, removed on
# exit), vs (runs $VS with --quiet), run, expect_rc, fail, soft_fail, pass,
# check, finish, make_state, tree_listing, same_tree, no_leftovers,
# one_line_stderr, byte_at, be_uint, put_byte, flip_bit, copy_range,
# file_size, sha_of, register, stop_vnf, vnf_state, wait_stopped, resume.
set -u
set -o pipefail
export LC_ALL=C
unset VNFSAFE_HOME

if [ $# -lt 1 ] || [ ! -x "$1" ]; then
	echo "usage: bash $0 /path/to/vnfsafe" >&2
	exit 1
fi
case $1 in
/*) VS=$1 ;;
*) VS=$PWD/$1 ;;
esac

T=$(mktemp -d "${TMPDIR:-/tmp}/vnfsafe-it.XXXXXX") || exit 1
# Extra directories to remove on exit (outside $T).
CLEAN_DIRS=()
cleanup() {
	# Restored trees may hold read-only directories: make them removable.
	chmod -R u+rwx "$T" "${CLEAN_DIRS[@]}" 2>/dev/null
	rm -rf "$T" "${CLEAN_DIRS[@]}"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

PASSED=0
FAILED=0
# Output of the last expect_rc / run.
OUT=$T/.stdout
ERR=$T/.stderr

fail() {
	echo "FAIL: $*" >&2
	if [ -s "$ERR" ]; then
		echo "  last stderr:" >&2
		sed 's/^/    /' "$ERR" | head -20 >&2
	fi
	echo "$PASSED passed, $((FAILED + 1)) failed"
	exit 1
}

pass() {
	PASSED=$((PASSED + 1))
	echo "ok $PASSED - $*"
}

# check DESCRIPTION CMD...: CMD must succeed.
check() {
	local what=$1
	shift
	if "$@"; then
		pass "$what"
	else
		fail "$what (command: $*)"
	fi
}

# expect_rc N CMD...: runs CMD, stdout in $OUT, stderr in $ERR; its exit
# status must be N. Does not count as a pass by itself.
expect_rc() {
	local want=$1 got
	shift
	"$@" >"$OUT" 2>"$ERR"
	got=$?
	if [ "$got" != "$want" ]; then
		fail "expected exit $want, got $got: $*"
	fi
}

# run CMD...: like expect_rc, but only records the exit status in $RC.
run() {
	"$@" >"$OUT" 2>"$ERR"
	RC=$?
}

# vs ARGS...: the CLI without progress output.
vs() {
	"$VS" --quiet "$@"
}

# The lineage ledger (docs/ledger.md): 'snapshot create --vnf NAME' needs
# NAME registered, and a successful restore makes NAME ACTIVE on this host,
# so a further restore of it needs 'vnf stop' first. The default ledger is
# HOME/ledger.db: each home has its own. These use $H unless HOME is given.

# register NAME [HOME]: 'vnf register NAME' must succeed.
register() {
	expect_rc 0 vs --home "${2:-$H}" vnf register "$1"
}

# stop_vnf NAME [HOME]: 'vnf stop NAME' must succeed (NAME ACTIVE here).
stop_vnf() {
	expect_rc 0 vs --home "${2:-$H}" vnf stop "$1"
}

# vnf_state NAME [HOME]: prints "STATE GENERATION LATEST_SNAPSHOT_ID" from
# 'vnf status --json' (LATEST is 'null' when there is none).
vnf_state() {
	local j=$T/.vnfstate
	"$VS" --quiet --home "${2:-$H}" vnf status "$1" --json >"$j" 2>"$j.err" ||
		{ echo "vnf status $1 failed: $(cat "$j.err")" >&2; return 1; }
	printf '%s %s %s\n' \
		"$(sed -n 's/^ *"state": "\([A-Z]*\)",\{0,1\}$/\1/p' "$j")" \
		"$(sed -n 's/^ *"generation": \([0-9]*\),\{0,1\}$/\1/p' "$j")" \
		"$(sed -n 's/^ *"latest_snapshot_id": "\{0,1\}\([0-9a-f-]*\|null\)"\{0,1\},\{0,1\}$/\1/p' "$j")"
}

# soft_fail MSG: records a failure and goes on (loops that should report
# every bad case); finish then exits 1.
soft_fail() {
	FAILED=$((FAILED + 1))
	echo "FAIL: $*" >&2
	[ -s "$ERR" ] && sed "s/^/    stderr: /" "$ERR" | head -5 >&2
}

finish() {
	echo "$PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ] || exit 1
	exit 0
}

# one_line_stderr: $ERR is exactly one non-empty line and leaks no long hex
# string (key material, whole digests joined to something else...).
one_line_stderr() {
	local n
	n=$(wc -l <"$ERR")
	[ "$n" -eq 1 ] || { echo "stderr has $n lines" >&2; return 1; }
	[ -n "$(tr -d '\n' <"$ERR")" ] || { echo "stderr is empty" >&2; return 1; }
	if grep -Eq '[0-9A-Fa-f]{65,}' "$ERR"; then
		echo "stderr holds a hex string longer than 64 characters" >&2
		return 1
	fi
	return 0
}

file_size() { stat -c %s "$1"; }
sha_of() { sha256sum <"$1" | cut -d' ' -f1; }

# byte_at FILE OFFSET: unsigned decimal value of one byte.
byte_at() {
	od -An -tu1 -j "$2" -N1 "$1" | tr -d ' \n'
}

# be_uint FILE OFFSET LEN: big-endian unsigned integer (LEN <= 7).
be_uint() {
	local v=0 b
	for b in $(od -An -tu1 -v -j "$2" -N "$3" "$1"); do
		v=$((v * 256 + b))
	done
	echo "$v"
}

# put_byte FILE OFFSET VALUE: overwrites one byte in place.
put_byte() {
	printf "\\$(printf '%03o' "$3")" |
		dd of="$1" bs=1 seek="$2" count=1 conv=notrunc status=none
}

# flip_bit FILE OFFSET BIT
flip_bit() {
	local b
	b=$(byte_at "$1" "$2")
	[ -n "$b" ] || return 1
	put_byte "$1" "$2" $((b ^ (1 << $3)))
}

# copy_range SRC OFFSET LEN DST_FILE DST_OFFSET: copies bytes in place.
copy_range() {
	dd if="$1" bs=1M iflag=skip_bytes,count_bytes skip="$2" count="$3" status=none |
		dd of="$4" bs=1M oflag=seek_bytes seek="$5" conv=notrunc status=none
}

# Fixed times with nanoseconds (GNU touch -d), all distinct.
MT_FILE='2021-03-04 05:06:07.123456789 UTC'
MT_DIR='2020-01-02 03:04:05.987654321 UTC'
MT_LINK='2019-07-08 09:10:11.000000001 UTC'

# make_state DIR [BIGBYTES]: a sample VNF state directory:
#   etc/fw.conf (0640)  etc/rules/{v4,v6}.rules  run.sh (0755)
#   empty.dat (0 bytes, 0600)  big.bin (BIGBYTES random bytes, default
#   600000: several chunks at the default chunk size)  spool/ (empty dir,
#   0750)  current -> etc/fw.conf (symlink)  deep/a/b/c/d.txt
#   secrets/ (0700): tls/key.pem (0600), tls/cert.pem (0644), token (0600),
#                    vault/ (empty dir), lnk -> tls/cert.pem
# Every entry gets an mtime with nanoseconds, set after all content.
make_state() {
	local d=$1 big=${2:-600000}
	mkdir -p "$d"/etc/rules "$d"/spool "$d"/deep/a/b/c "$d"/secrets/tls "$d"/secrets/vault "$d"/db/wal
	printf 'zone lan\nallow 22/tcp\n' >"$d"/etc/fw.conf
	printf 'ACCEPT 10.0.0.0/8\n' >"$d"/etc/rules/v4.rules
	printf 'ACCEPT fd00::/8\n' >"$d"/etc/rules/v6.rules
	printf '#!/bin/sh\necho start\n' >"$d"/run.sh
	: >"$d"/empty.dat
	head -c "$big" /dev/urandom >"$d"/big.bin
	printf 'deep\n' >"$d"/deep/a/b/c/d.txt
	head -c 5000 /dev/urandom >"$d"/db/conntrack.db
	printf -- '-----BEGIN PRIVATE KEY-----\nTOPSECRETKEYMATERIAL\n' >"$d"/secrets/tls/key.pem
	printf -- '-----BEGIN CERTIFICATE-----\npublic\n' >"$d"/secrets/tls/cert.pem
	printf 'SECRET-TOKEN-42\n' >"$d"/secrets/token
	ln -s etc/fw.conf "$d"/current
	ln -s tls/cert.pem "$d"/secrets/lnk
	chmod 0640 "$d"/etc/fw.conf
	chmod 0644 "$d"/etc/rules/v4.rules "$d"/big.bin "$d"/deep/a/b/c/d.txt
	chmod 0600 "$d"/etc/rules/v6.rules "$d"/empty.dat "$d"/secrets/tls/key.pem "$d"/secrets/token
	chmod 0644 "$d"/secrets/tls/cert.pem
	chmod 0755 "$d"/run.sh "$d"/etc "$d"/deep "$d"/deep/a "$d"/deep/a/b "$d"/deep/a/b/c
	chmod 0640 "$d"/db/conntrack.db
	chmod 0750 "$d"/spool "$d"/etc/rules "$d"/db "$d"/db/wal
	chmod 0700 "$d"/secrets "$d"/secrets/tls "$d"/secrets/vault
	chmod 0711 "$d"
	# Files and links first, directories deepest first, the root last.
	find "$d" ! -type d ! -type l -exec touch -d "$MT_FILE" {} +
	find "$d" -type l -exec touch -h -d "$MT_LINK" {} +
	touch -d '2022-02-02 02:02:02.000000500 UTC' "$d"/big.bin
	find "$d" -depth -type d -exec touch -d "$MT_DIR" {} +
	touch -d "2018-05-06 07:08:09.000000777 UTC" "$d"/secrets
	touch -d "2023-10-11 12:13:14.555555555 UTC" "$d"
}

# tree_listing DIR: type, mode, mtime (ns), link target and path of every
# entry, sorted; the root itself is listed as '.'.
tree_listing() {
	(cd "$1" && find . -printf '%y %m %T@ %l %p\n') | sort
}

# same_tree A B: content (diff -r, symlinks compared as links) and metadata.
same_tree() {
	diff -r --no-dereference "$1" "$2" >&2 || { echo "content differs: $1 $2" >&2; return 1; }
	tree_listing "$1" >"$T/.la"
	tree_listing "$2" >"$T/.lb"
	diff "$T/.la" "$T/.lb" >&2 || { echo "metadata differs: $1 $2" >&2; return 1; }
}

# no_leftovers DIR: DIR is empty (no target, no .vsrestore-* staging dir).
no_leftovers() {
	[ -z "$(ls -A "$1")" ] || { echo "left in $1: $(ls -A "$1")" >&2; return 1; }
}

# wait_stopped PID: waits (bounded, about 60 s) until PID has stopped itself
# at a VNFSAFE_PAUSE point (state T); fails if it exits first or never stops.
wait_stopped() {
	local i st
	for ((i = 0; i < 1200; i++)); do
		st=$(sed -n 's/^[0-9]* ([^)]*) \(.\).*/\1/p' "/proc/$1/stat" 2>/dev/null) ||
			{ echo "process $1 is gone" >&2; return 1; }
		[ -n "$st" ] || { echo "process $1 is gone" >&2; return 1; }
		[ "$st" = T ] && return 0
		[ "$st" = Z ] && { echo "process $1 exited before its pause point" >&2; return 1; }
		sleep 0.05
	done
	echo "process $1 never reached its pause point" >&2
	return 1
}

# resume PID: continues a process stopped at a pause point (again if it
# stops again) and returns its exit status.
resume() {
	local i
	for ((i = 0; i < 1200; i++)); do
		kill -CONT "$1" 2>/dev/null || break
		[ "$(sed -n 's/^[0-9]* ([^)]*) \(.\).*/\1/p' "/proc/$1/stat" 2>/dev/null)" = T ] || break
		sleep 0.05
	done
	wait "$1"
}
