#!/usr/bin/env bash
# Errors: usage errors (exit 1), missing or unsafe home (exit 4), refused
# sources, inputs that are not snapshots, unregistered VNFs, 'vnf' usage
# errors, and --help everywhere.
source "$(dirname "$0")/lib.sh" "$@"

H=$T/home
S=$T/state
expect_rc 0 vs --home "$H" init
# Registered, so that every refusal of 'create --vnf fw' below is the one
# being tested, never "unregistered VNF" (also exit 1).
register fw
register fifo-vnf
make_state "$S" 1000

# usage_stderr: stderr is exactly one error line naming vnfsafe; never the
# whole usage text.
usage_stderr() {
	local n
	n=$(wc -l <"$ERR")
	head -n1 "$ERR" | grep -q 'vnfsafe' || { echo "stderr does not start with an error line" >&2; return 1; }
	[ "$n" -eq 1 ] && return 0
	echo "stderr has $n lines" >&2
	return 1
}

# usage CMD...: exit 1, a one-line message, nothing on stdout. The exit
# status is a hard failure; the message format a soft one (reported, the
# script goes on).
usage() {
	expect_rc 1 "$@"
	usage_stderr || soft_fail "usage error message of: $*"
	[ ! -s "$OUT" ] || soft_fail "usage error printed on stdout: $*"
}

# group_pass MSG: a pass when no soft failure happened since mark.
mark() { MARK=$FAILED; }
group_pass() {
	[ "$FAILED" = "$MARK" ] && pass "$*"
	mark
}
mark

# --- commands and options ---------------------------------------------------
usage vs --home "$H" frobnicate
grep -q "frobnicate" "$ERR" || fail "unknown command not named"
usage vs --home "$H" snapshot frob
grep -q "frob" "$ERR" || fail "unknown verb not named"
usage vs --home "$H" snapshot
usage vs --bogus-option snapshot list
usage vs --home "$H" snapshot list --bogus-option
usage vs --home "$H" snapshot list extra-argument
usage vs --home "$H" init extra-argument
group_pass "unknown command, unknown or missing verb, unknown option, extra argument: exit 1, one line"

OUTF=$T/out.vsnap
# create_usage WHAT ARGS...: snapshot create ARGS exits 1, no output left.
create_usage() {
	local what=$1
	shift
	usage vs --home "$H" snapshot create "$@"
	[ ! -e "$OUTF" ] || fail "$what: output file created"
	ls -A "$T" | grep -q 'partial' && fail "$what: partial output left"
	return 0
}
create_usage "no --vnf" --engine dir --source "$S" -o "$OUTF"
create_usage "no --engine" --vnf fw --source "$S" -o "$OUTF"
create_usage "no --source" --vnf fw --engine dir -o "$OUTF"
create_usage "no -o" --vnf fw --engine dir --source "$S"
grep -q -- '--vnf' "$ERR" || fail "missing option not named"
group_pass "create without --vnf, --engine, --source or -o: exit 1, nothing written"

for spec in x =a a=../b a=/abs default=x a=etc/../db a= a=. 'b/c=etc' "$(printf 'n%.0s' {1..64})=etc"; do
	create_usage "--domain '$spec'" --vnf fw --engine dir --source "$S" --domain "$spec" -o "$OUTF"
	grep -q -- 'domain' "$ERR" || fail "--domain '$spec': message does not mention --domain"
done
group_pass "bad --domain forms (x, =a, a=../b, a=/abs, default=x, a=etc/../db, a=, a=., bad name, long name): exit 1"

create_usage "duplicate domain name" --vnf fw --engine dir --source "$S" \
	--domain a=etc --domain a=db -o "$OUTF"
create_usage "duplicate domain path" --vnf fw --engine dir --source "$S" \
	--domain a=etc --domain b=etc/ -o "$OUTF"
create_usage "domain path not in source" --vnf fw --engine dir --source "$S" \
	--domain a=nosuch -o "$OUTF"
grep -q nosuch "$ERR" || fail "missing domain path not named"
create_usage "domain path through a symlink" --vnf fw --engine dir --source "$S" \
	--domain a=current/x -o "$OUTF"
group_pass "duplicate domain names or paths, domain path absent from the source: exit 1"

create_usage "--engine qemu" --vnf fw --engine qemu --source "$S" -o "$OUTF"
grep -q qemu "$ERR" || fail "engine not named"
# The library names the field (vs_errfield); the CLI shows the option typed.
grep -q -- ': --engine: ' "$ERR" || fail "--engine qemu: option not shown: $(cat "$ERR")"
for name in a/b '' .hidden -x 'a b' "$(printf 'v%.0s' {1..64})"; do
	create_usage "--vnf '$name'" --vnf "$name" --engine dir --source "$S" -o "$OUTF"
done
for cs in 0 63 16777217 12k -1 ''; do
	create_usage "--chunk-size '$cs'" --vnf fw --engine dir --source "$S" --chunk-size "$cs" -o "$OUTF"
done
create_usage "missing source" --vnf fw --engine dir --source "$T/nosuch" -o "$OUTF"
grep -q -- ": --source: source $T/nosuch is not a directory" "$ERR" ||
	fail "missing source: option not shown: $(cat "$ERR")"
create_usage "domain path not in source" --vnf fw --engine dir --source "$S" \
	--domain a=nosuch -o "$OUTF"
grep -q -- ': --domain: trust domain a: ' "$ERR" || fail "--domain a=nosuch: option not shown: $(cat "$ERR")"
group_pass "--engine qemu, bad VNF names (a/b, empty, .x, -x, space, 64 chars), bad chunk sizes, missing source: exit 1"

expect_rc 0 vs --home "$H" snapshot create --vnf fw --engine dir --source "$S" -o "$T/good.vsnap"
ID=$(cat "$OUT")
usage vs --home "$H" snapshot verify
usage vs --home "$H" snapshot verify "$T/good.vsnap" "$T/good.vsnap"
usage vs --home "$H" snapshot verify "$T/good.vsnap" --to "$T/r"
usage vs --home "$H" snapshot restore "$T/good.vsnap"
[ ! -e "$T/r" ] || fail "restore without --to wrote $T/r"
usage vs --home "$H" snapshot restore "$T/good.vsnap" --to "$T"
grep -q -- ": --to: restore target $T exists" "$ERR" || fail "--to non-empty: option not shown: $(cat "$ERR")"
usage vs snapshot inspect
usage vs --home "$H" snapshot verify "$T/nosuch.vsnap"
group_pass "verify/restore/inspect argument errors (no FILE, two FILEs, verify --to, no --to, --to non-empty, missing FILE): exit 1"

usage vs --home "$H" snapshot delete not-a-uuid
usage vs --home "$H" snapshot delete "${ID}0"
usage vs --home "$H" snapshot delete 00000000-0000-0000-0000-00000000000g
expect_rc 1 vs --home "$H" snapshot delete 00000000-0000-0000-0000-000000000000
usage_stderr || fail "delete of an unknown id: message"
expect_rc 0 vs --home "$H" snapshot verify "$T/good.vsnap"
group_pass "delete of a malformed or unknown id: exit 1, and nothing was erased"

# --- unregistered VNF ------------------------------------------------------------
expect_rc 0 vs --home "$H" vnf list --json
cp "$OUT" "$T/vnfs1"
expect_rc 1 vs --home "$H" snapshot create --vnf not-registered --engine dir --source "$S" -o "$OUTF"
usage_stderr || soft_fail "create of an unregistered VNF: message"
one_line_stderr || soft_fail "create of an unregistered VNF: stderr"
grep -q 'not-registered' "$ERR" && grep -q 'vnf register' "$ERR" ||
	fail "create of an unregistered VNF: message does not name it and 'vnf register': $(cat "$ERR")"
[ ! -e "$OUTF" ] || fail "create of an unregistered VNF wrote $OUTF"
ls -A "$T" | grep -q 'partial' && fail "create of an unregistered VNF left a partial output"
expect_rc 0 vs --home "$H" snapshot list --json
grep -q '"vnf": "not-registered"' "$OUT" && fail "create of an unregistered VNF is in the catalog"
expect_rc 0 vs --home "$H" vnf list --json
cmp -s "$OUT" "$T/vnfs1" || fail "create of an unregistered VNF changed the ledger"
group_pass "create --vnf of an unregistered VNF: exit 1, one line naming it and 'vnf register', nothing written or recorded"

# --- vnf usage errors ------------------------------------------------------------
usage vs --home "$H" vnf
usage vs --home "$H" vnf frob fw
grep -q "frob" "$ERR" || fail "unknown vnf verb not named"
for verb in register status start stop pause resume recover release retire; do
	usage vs --home "$H" vnf $verb
done
usage vs --home "$H" vnf register a b
usage vs --home "$H" vnf status fw extra
for verb in register status start stop pause resume recover retire; do
	usage vs --home "$H" vnf $verb fw --host somehost
	grep -q -- '--host' "$ERR" || fail "vnf $verb --host: message does not name --host"
done
usage vs --home "$H" vnf list --host somehost
for d in a/b '' 'a b' .x "$(printf 'n%.0s' {1..64})"; do
	usage vs --home "$H" vnf register sd-vnf --sensitive-domain "$d"
	grep -q -- '--sensitive-domain' "$ERR" || fail "--sensitive-domain '$d': message does not name it"
done
expect_rc 1 vs --home "$H" vnf status sd-vnf
usage vs --home "$H" vnf stop fw --sensitive-domain secrets
for name in a/b .hidden 'a b' "$(printf 'v%.0s' {1..64})"; do
	usage vs --home "$H" vnf register "$name"
done
usage vs --home "$H" vnf status fw --bogus-option
expect_rc 0 vs --home "$H" vnf list --json
cmp -s "$OUT" "$T/vnfs1" || fail "a vnf usage error changed the ledger"
group_pass "vnf: no verb, unknown verb, missing or extra NAME, --host on non-release verbs, bad --sensitive-domain, bad names: exit 1, one line; the ledger is unchanged"

# --- home --------------------------------------------------------------------
for cmd in "snapshot list" "snapshot verify $T/good.vsnap" \
	"snapshot create --vnf fw --engine dir --source $S -o $OUTF"; do
	expect_rc 4 vs --home "$T/nohome" $cmd
	one_line_stderr || fail "missing home ($cmd): stderr"
	grep -q 'vnfsafe init' "$ERR" || fail "missing home: message does not suggest 'vnfsafe init'"
	[ ! -e "$T/nohome" ] && [ ! -e "$OUTF" ] || fail "missing home: something was created"
done
group_pass "missing home: exit 4, one line suggesting 'vnfsafe init', nothing created"

home_sums() { (cd "$H" && stat -c '%n %a %s %y' . * && sha256sum *); }
home_sums >"$T/sums1"
expect_rc 1 vs --home "$H" init
one_line_stderr || fail "second init: stderr"
grep -q 'exists' "$ERR" || fail "second init: message"
home_sums >"$T/sums2"
diff "$T/sums1" "$T/sums2" >&2 || fail "second init changed the home"
ls -A "$T" | grep -q '\.init-' && fail "second init left a staging directory"
expect_rc 0 vs --home "$H" snapshot verify "$T/good.vsnap"
group_pass "init on an existing home: exit 1, every home file byte-identical, snapshots still verify"

mkdir "$T/nonempty"
echo x >"$T/nonempty/f"
expect_rc 1 vs --home "$T/nonempty" init
[ "$(ls -A "$T/nonempty")" = f ] || fail "init into a non-empty dir changed it"
group_pass "init into a non-empty directory: exit 1, untouched"

[ "$(stat -c %a "$H")" = 700 ] || fail "home mode $(stat -c %a "$H")"
for f in host.key kek vnfsafe.db; do
	[ "$(stat -c %a "$H/$f")" = 600 ] || fail "$f mode $(stat -c %a "$H/$f")"
done
group_pass "home is 0700; host.key, kek and vnfsafe.db are 0600"

for f in kek host.key vnfsafe.db .; do
	chmod g+r "$H/$f"
	expect_rc 4 vs --home "$H" snapshot list
	one_line_stderr || fail "group-readable $f: stderr"
	grep -q 'chmod' "$ERR" || fail "group-readable $f: message should say how to fix it"
	expect_rc 4 vs --home "$H" snapshot create --vnf fw --engine dir --source "$S" -o "$OUTF"
	[ ! -e "$OUTF" ] || fail "create wrote a file with an unsafe home"
	expect_rc 4 vs --home "$H" snapshot verify "$T/good.vsnap"
	chmod g-r "$H/$f"
done
chmod o+x "$H/kek"
expect_rc 4 vs --home "$H" snapshot list
chmod o-x "$H/kek"
expect_rc 0 vs --home "$H" snapshot verify "$T/good.vsnap"
group_pass "kek, host.key, vnfsafe.db or the home readable by group/others: list, create, verify exit 4"

# --- refused sources ---------------------------------------------------------------
cp -a "$S" "$T/fifo-state"
mkfifo "$T/fifo-state/etc/ctl.fifo"
run vs --home "$H" snapshot create --vnf fifo-vnf --engine dir --source "$T/fifo-state" -o "$OUTF"
[ "$RC" != 0 ] || fail "a source with a FIFO was sealed"
one_line_stderr || fail "FIFO: stderr"
grep -q 'ctl.fifo' "$ERR" || fail "FIFO: message does not name the FIFO"
[ ! -e "$OUTF" ] || fail "FIFO: output file created"
ls -A "$T" | grep -q 'partial' && fail "FIFO: partial output left"
expect_rc 0 vs --home "$H" snapshot list --json
grep -B2 -A8 '"vnf": "fifo-vnf"' "$OUT" | grep -q '"state": "FAILED"' || fail "FIFO: no FAILED snapshot in the list"
expect_rc 0 vs --home "$H" snapshot list
grep -E '^[0-9a-f-]{36} +fifo-vnf .* FAILED ' "$OUT" >/dev/null || fail "FIFO: list does not show FAILED"
group_pass "source with a FIFO: exit $RC, no output file, catalog shows FAILED"

if [ "$(id -u)" != 0 ]; then
	cp -a "$S" "$T/unreadable"
	chmod 000 "$T/unreadable/etc/fw.conf"
	expect_rc 4 vs --home "$H" snapshot create --vnf fw --engine dir --source "$T/unreadable" -o "$OUTF"
	[ ! -e "$OUTF" ] || fail "unreadable source: output created"
	chmod 600 "$T/unreadable/etc/fw.conf"
	group_pass "unreadable file in the source: exit 4, no output"
else
	echo "# (running as root: unreadable-source case skipped)"
fi

# --- not snapshots -----------------------------------------------------------
mkdir "$T/rp"
head -c 4096 /dev/urandom >"$T/random.bin"
: >"$T/empty.bin"
printf 'VSNAP\r\n\032' >"$T/magic-only.bin"
cp "$T/good.vsnap" "$T/renamed.txt"
for f in random.bin empty.bin magic-only.bin; do
	expect_rc 2 vs --home "$H" snapshot verify "$T/$f"
	one_line_stderr || fail "verify $f: stderr"
	expect_rc 2 vs --home "$H" snapshot restore "$T/$f" --to "$T/rp/x"
	no_leftovers "$T/rp" || fail "restore $f left something"
	expect_rc 2 vs snapshot inspect "$T/$f"
done
group_pass "random bytes, an empty file, a bare magic: verify, restore and inspect exit 2, nothing restored"
run vs --home "$H" snapshot verify "$T"
[ "$RC" = 1 ] || [ "$RC" = 2 ] || fail "verify of a directory exited $RC"
run vs --home "$H" snapshot restore "$T/rp" --to "$T/rp/x"
[ "$RC" = 1 ] || [ "$RC" = 2 ] || fail "restore of a directory exited $RC"
no_leftovers "$T/rp" || fail "restore of a directory left something"
group_pass "a directory given as the snapshot: exit 1 or 2, nothing restored"
expect_rc 0 vs --home "$H" snapshot verify "$T/renamed.txt"
group_pass "a snapshot is recognised by content, not by file name"

# --- help ----------------------------------------------------------------------
for cmd in "--help" "-h" "help" "init --help" "snapshot --help" "snapshot create --help" \
	"snapshot verify --help" "snapshot inspect --help" "snapshot restore --help" \
	"snapshot list --help" "snapshot delete --help" "vnf --help" "vnf help" \
	"vnf register --help" "vnf status --help"; do
	expect_rc 0 vs --home "$T/nohome" $cmd
	grep -q 'Usage' "$OUT" || fail "'$cmd' does not print Usage on stdout"
	[ ! -s "$ERR" ] || fail "'$cmd' wrote to stderr"
done
# Every verb has its own page: its synopsis names it, and it says what each
# exit code means for that verb.
for cmd in "init" "snapshot create" "snapshot verify" "snapshot inspect" "snapshot restore" \
	"snapshot list" "snapshot delete" "vnf register" "vnf status" "vnf list" "vnf start" \
	"vnf stop" "vnf pause" "vnf resume" "vnf recover" "vnf release" "vnf retire" "log show" \
	"log verify" "log checkpoint" "log proof" "log forward" "log restart"; do
	expect_rc 0 vs --home "$T/nohome" $cmd --help
	head -n1 "$OUT" | grep -q "^Usage: vnfsafe .*$cmd\b" ||
		fail "'$cmd --help' is not its own page: $(head -n1 "$OUT")"
	grep -q '^Exit status' "$OUT" || fail "'$cmd --help' has no exit status section"
	[ ! -s "$ERR" ] || fail "'$cmd --help' wrote to stderr"
	# -h and --help anywhere among the verb's options print the same page
	expect_rc 0 vs --home "$T/nohome" $cmd -h
	head -n1 "$OUT" | grep -q "^Usage: vnfsafe .*$cmd\b" || fail "'$cmd -h' is not its own page"
done
for cmd in "--help" "snapshot --help" "vnf --help" "log --help"; do
	expect_rc 0 vs $cmd
	grep -q '^Exit status' "$OUT" || fail "'$cmd' has no exit status section"
done
expect_rc 0 vs --help
grep -q 'retire' "$OUT" || fail "the top-level help does not name 'vnf retire'"
# A usage error points at the verb's own page.
usage vs --home "$H" vnf stop
grep -q "vnfsafe vnf stop --help" "$ERR" || fail "vnf usage error does not point at the verb's page"
usage vs --home "$H" log proof --bogus
grep -q "vnfsafe log proof --help" "$ERR" || fail "log usage error does not point at the verb's page"
[ ! -e "$T/nohome" ] || fail "--help created a home"
expect_rc 0 vs version
grep -Eq '^vnfsafe [0-9]+\.[0-9]+' "$OUT" || fail "version output"
group_pass "--help of every command and verb: exit 0, 'Usage' on stdout, needs no home"

finish
