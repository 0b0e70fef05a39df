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
# says (the limit the docs name). A core_pattern piping to a handler is set
# to 'core' for the test and put back on exit, when it can be written; else,
# and when no core file appears at all, the test skips (77) with the reason.
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

# ASan's runtime turns core dumps off in every process it is linked into.
[ "${VS_SANITIZED:-}" = 1 ] && skip "sanitizer build: ASan disables core dumps (the release build runs this test)"
CP=/proc/sys/kernel/core_pattern
pattern=$(cat "$CP" 2>/dev/null) || skip "cannot read $CP"
case $pattern in
"|"*)
	# A handler (systemd-coredump, apport) keeps cores where this test cannot
	# read them portably: write them beside the process for this test only,
	# if this machine lets us, and put the handler back on exit.
	if [ -w "$CP" ] && printf 'core' 2>/dev/null >"$CP"; then
		saved_pattern=$pattern
		trap 'printf "%s" "$saved_pattern" >"$CP"; cleanup' EXIT
		echo "core_pattern was '$pattern': set to 'core' for this test, restored on exit"
		pattern=core
	else
		skip "core dumps go to a handler ($pattern) and core_pattern cannot be changed here"
	fi
	;;
esac
# Where cores land: the crashing process's directory, or the pattern's own.
case $pattern in
/*) CORE_DIR=$(dirname "$pattern") ;;
*/*) skip "core_pattern '$pattern' names a relative directory" ;;
*) CORE_DIR= ;;
esac
case $CORE_DIR in *%*) skip "core_pattern '$pattern' has a variable directory" ;; esac
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
	touch "$T/$name.start"
	(cd "$T/$name" && env "$@" VNFSAFE_FAULT=home.opened:abort \
		"$bin" --quiet --home "$H" snapshot list >/dev/null 2>"$T/$name.err")
	rc=$?
	[ "$rc" = 134 ] || fail "$name: exit $rc, want 134 (SIGABRT): $(cat "$T/$name.err")"
	# The kernel has written the core when the exit status is known.
	find "${CORE_DIR:-$T/$name}" -maxdepth 1 -type f -newer "$T/$name.start" 2>/dev/null
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
		holds_kek "$c" && fail "$1: core $c holds the KEK" \
			"(fs.suid_dumpable=$(cat /proc/sys/fs/suid_dumpable 2>/dev/null))"
	done
	pass "$1: aborted while holding the KEK, no core holds it ($(echo $cores | wc -w) core files)"
done

finish
