#!/usr/bin/env bash
# Keys out of core dumps (docs/format.md, "Secrets in memory"). A vnfsafe
# process is made to abort (VNFSAFE_FAULT=home.opened:abort) right after it
# loaded the home's KEK, under 'ulimit -c unlimited':
#  - positive control: the test CLI with the protection switched off
#    (VNFSAFE_TEST_DUMPABLE=1, honoured only by a VS_TEST_HOOKS build) leaves
#    a kernel core that holds the KEK bytes;
#  - the release CLI (which must ignore that variable) and the test CLI
#    without it leave no core holding them.
# Cores are the kernel's (core_pattern); 'gdb gcore' is no test of this: it
# reads the process through ptrace, which root may do whatever the process
# says (the limit the docs name). Skips (77) with the reason when this machine
# writes no core file we can read.
# usage: coredump.sh VNFSAFE VNFSAFE_DUMPABLE
source "$(dirname "$0")/lib.sh" "$@"
case ${2:-} in
/*) DUMPABLE=$2 ;;
*) DUMPABLE=$PWD/${2:-} ;;
esac
[ -x "$DUMPABLE" ] || { echo "usage: coredump.sh VNFSAFE VNFSAFE_DUMPABLE" >&2; exit 1; }

skip() {
	echo "SKIP: $*"
	exit 77
}

pattern=$(cat /proc/sys/kernel/core_pattern 2>/dev/null) || skip "cannot read core_pattern"
case $pattern in
"|"*) skip "core dumps go to a handler ($pattern), not to a file this test can read" ;;
/*) skip "core dumps go to $pattern; this test reads cores written in the crashing process's directory" ;;
*%*) ;;
esac
ulimit -c unlimited 2>/dev/null || skip "cannot raise the core size limit (ulimit -c unlimited)"

H=$T/home
expect_rc 0 vs --home "$H" init
KEK_HEX=$(od -An -tx1 -v "$H/kek" | tr -d ' \n')
[ ${#KEK_HEX} = 64 ] || fail "the home's KEK is not 32 bytes"

# crash NAME BINARY [ENV...]: runs BINARY in $T/NAME until it aborts holding
# the KEK; prints the core files it left there.
crash() {
	local name=$1 bin=$2 rc
	shift 2
	mkdir "$T/$name"
	(cd "$T/$name" && env "$@" VNFSAFE_FAULT=home.opened:abort \
		"$bin" --quiet --home "$H" snapshot list >/dev/null 2>"$T/$name.err")
	rc=$?
	[ "$rc" = 134 ] || fail "$name: exit $rc, want 134 (SIGABRT): $(cat "$T/$name.err")"
	find "$T/$name" -maxdepth 1 -type f -name 'core*'
}

# holds_kek FILE: the KEK's 32 bytes appear in FILE.
holds_kek() {
	od -An -tx1 -v "$1" | tr -d ' \n' | grep -q "$KEK_HEX"
}

cores=$(crash control "$DUMPABLE" VNFSAFE_TEST_DUMPABLE=1)
[ -n "$cores" ] || skip "no core file after SIGABRT of a dumpable process (core_pattern '$pattern')"
found=0
for c in $cores; do holds_kek "$c" && found=1; done
[ "$found" = 1 ] || fail "positive control: the core of the unprotected CLI does not hold the KEK"
pass "positive control: unprotected, the aborted CLI's core holds the KEK ($(du -k $cores | awk '{s+=$1} END {print s}') KiB)"

for run in "release $VS VNFSAFE_TEST_DUMPABLE=1" "protected $DUMPABLE VNFSAFE_TEST_DUMPABLE=0"; do
	set -- $run
	cores=$(crash "$1" "$2" "$3")
	for c in $cores; do
		holds_kek "$c" && fail "$1: core $c holds the KEK"
	done
	pass "$1: aborted while holding the KEK, no core holds it ($(echo $cores | wc -w) core files)"
done

finish
