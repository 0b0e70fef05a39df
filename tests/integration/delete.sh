#!/usr/bin/env bash
# snapshot delete fails closed, and never races a restore of the same
# snapshot (docs/cli.md, "snapshot delete"):
#  - an unreachable etcd ledger or a ledger file that cannot be opened:
#    exit 4, no key erased, the snapshot still restorable; a ledger that
#    does not know the VNF (the wrong one): exit 3, nothing erased;
#  - delete --force against a restore paused (VNFSAFE_FAULT=POINT:pause)
#    before it takes the VNF's lock: the delete wins, the restore is refused
#    and activates nothing; paused holding the lock: the delete waits, the
#    restore activates from intact keys, then the delete erases.
source "$(dirname "$0")/lib.sh" "$@"

H=$T/home
S=$T/state
expect_rc 0 vs --home "$H" init
register fw
make_state "$S" 20000
expect_rc 0 vs --home "$H" snapshot create --vnf fw --engine dir --source "$S" -o "$T/a.vsnap"
ID1=$(cat "$OUT")
expect_rc 0 vs --home "$H" snapshot create --vnf fw --engine dir --source "$S" \
	--domain secrets=secrets -o "$T/b.vsnap"
ID2=$(cat "$OUT")

# catalog_state ID: the snapshot's state in 'snapshot list'.
catalog_state() {
	"$VS" --quiet --home "$H" snapshot list | awk -v id="$1" '$1 == id { print $4 }'
}

# Refused with exit 4, one line naming the cause, and nothing erased.
refused_env() {
	local what=$1 id=$2 f=$3
	shift 3
	expect_rc 4 vs --home "$H" "$@" snapshot delete "$id"
	# The first line is the refusal (the audit log may add why its anchor
	# in that ledger was not advanced).
	head -1 "$ERR" | grep -q '^vnfsafe snapshot delete: .*ledger' || fail "$what: message: $(cat "$ERR")"
	[ "$(catalog_state "$id")" = AVAILABLE ] || fail "$what: catalog says $(catalog_state "$id")"
	[ -f "$f" ] || fail "$what: the file was removed"
	expect_rc 0 vs --home "$H" snapshot verify "$f"
}

# No answer from the ledger: the latest (ID2) and an older one (ID1) alike.
for id in "$ID2" "$ID1"; do
	refused_env "unreachable etcd" "$id" "$([ "$id" = "$ID1" ] && echo "$T/a.vsnap" || echo "$T/b.vsnap")" \
		--ledger etcd:http://127.0.0.1:9
done
pass "unreachable etcd ledger: exit 4, keys and file kept, latest and older snapshot alike"

mkdir "$T/ledgerdir"
refused_env "ledger path in a missing directory" "$ID2" "$T/b.vsnap" --ledger "sqlite:$T/missing/ledger.db"
refused_env "ledger path is a directory" "$ID2" "$T/b.vsnap" --ledger "sqlite:$T/ledgerdir"
printf 'not a database, just bytes that are long enough to be read as a header.....' >"$T/junk.db"
expect_rc 2 vs --home "$H" --ledger "sqlite:$T/junk.db" snapshot delete "$ID2"
[ "$(catalog_state "$ID2")" = AVAILABLE ] || fail "damaged ledger: erased"
pass "ledger files that cannot be opened: exit 4 (2 for a damaged one), nothing erased"

# The wrong ledger (a mistyped path opens an empty one): it does not know
# the VNF, so it cannot vouch that the snapshot is not the latest.
expect_rc 3 vs --home "$H" --ledger "sqlite:$T/typo.db" snapshot delete "$ID1"
grep -q 'does not know VNF' "$ERR" || fail "wrong ledger: message: $(cat "$ERR")"
[ "$(catalog_state "$ID1")" = AVAILABLE ] || fail "wrong ledger: erased"
pass "a ledger that does not know the VNF (wrong ledger): exit 3, nothing erased"

# The right ledger afterwards: the latest is refused, the snapshot restores.
expect_rc 3 vs --home "$H" snapshot delete "$ID2"
expect_rc 0 vs --home "$H" snapshot restore "$T/b.vsnap" --to "$T/r1"
same_tree "$S" "$T/r1" || fail "restore after the refused deletes"
[ "$(vnf_state fw)" = "ACTIVE 1 $ID2" ] || fail "after restore: $(vnf_state fw)"
pass "with the right ledger the snapshot is still the latest and restores intact"

# A definite "not the latest" lets the older one go.
expect_rc 0 vs --home "$H" snapshot delete "$ID1"
[ "$(catalog_state "$ID1")" = ERASED ] || fail "older snapshot: $(catalog_state "$ID1")"
pass "a definite answer (not the latest) erases"

# wait_stopped PID: until the process has stopped itself (SIGSTOP).
wait_stopped() {
	local i
	for ((i = 0; i < 1200; i++)); do
		[ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" = T ] && return 0
		kill -0 "$1" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# wait_lock_blocked PID: until PID waits for an flock (a "->" line of /proc/locks).
wait_lock_blocked() {
	local i
	for ((i = 0; i < 1200; i++)); do
		grep -q -- "-> FLOCK *ADVISORY *WRITE *$1 " /proc/locks && return 0
		kill -0 "$1" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# A fresh final snapshot of the stopped VNF: the latest, restorable.
fresh_snapshot() {
	expect_rc 0 vs --home "$H" snapshot create --vnf fw --engine dir --source "$S" -o "$T/$1.vsnap"
	cat "$OUT"
}

# The delete wins: the restore read the keys, then paused before the lock.
stop_vnf fw
ID3=$(fresh_snapshot c)
before=$(vnf_state fw)
VNFSAFE_FAULT=restore.before_lock:pause "$VS" --quiet --home "$H" snapshot restore \
	"$T/c.vsnap" --to "$T/r3" >"$T/r3.out" 2>"$T/r3.err" &
RP=$!
wait_stopped $RP || fail "the restore did not reach restore.before_lock"
expect_rc 0 vs --home "$H" snapshot delete --force --keep-file "$ID3"
kill -CONT $RP
wait $RP
rc=$?
[ "$rc" = 2 ] || fail "restore after the delete: exit $rc, want 2: $(cat "$T/r3.err")"
grep -q 'deleted during the restore' "$T/r3.err" || fail "restore message: $(cat "$T/r3.err")"
[ ! -e "$T/r3" ] || fail "restore of an erased snapshot left $T/r3"
ls "$T" | grep -q vsrestore && fail "staging left behind: $(ls "$T")"
[ "$(vnf_state fw)" = "$before" ] || fail "ledger changed: $(vnf_state fw), was $before"
pass "delete --force before the restore's lock: the restore is refused (exit 2), nothing activated"

# The restore wins: paused holding the VNF's lock; the delete waits for it.
ID4=$(fresh_snapshot d)
VNFSAFE_FAULT=restore.locked:pause "$VS" --quiet --home "$H" snapshot restore \
	"$T/d.vsnap" --to "$T/r4" >"$T/r4.out" 2>"$T/r4.err" &
RP=$!
wait_stopped $RP || fail "the restore did not reach restore.locked"
"$VS" --quiet --home "$H" snapshot delete --force --keep-file "$ID4" >"$T/d.out" 2>"$T/d.err" &
DP=$!
wait_lock_blocked $DP || fail "the delete did not wait for the restore's lock: $(cat "$T/d.err")"
[ "$(catalog_state "$ID4")" = AVAILABLE ] || fail "erased while the restore held the lock"
kill -CONT $RP
wait $RP
rc=$?
[ "$rc" = 0 ] || fail "restore holding the lock: exit $rc: $(cat "$T/r4.err")"
wait $DP
rc=$?
[ "$rc" = 0 ] || fail "delete after the restore: exit $rc: $(cat "$T/d.err")"
same_tree "$S" "$T/r4" || fail "restored tree"
[ "$(catalog_state "$ID4")" = ERASED ] || fail "not erased after the restore"
expect_rc 2 vs --home "$H" snapshot verify "$T/d.vsnap"
pass "delete --force while the restore holds the lock: it waits, the restore activates from intact keys, then the keys are erased"

finish
