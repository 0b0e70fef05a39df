#!/usr/bin/env bash
# Fencing and lineage through the real CLI, two homes (two hosts) sharing one
# ledger (docs/ledger.md): a start that would discard a final latest snapshot
# taken on the other host is refused; a fencing token is a secret only the
# activating home holds (its public fields copied into another home's table
# are refused); 'vnf release' asserts a host is dead, needs --reason, and
# refuses the caller's own live VNF.
# LEDGER_URI (optional) selects the shared ledger (default: a SQLite file).
source "$(dirname "$0")/lib.sh" "$@"

command -v sqlite3 >/dev/null || { echo "SKIP: sqlite3 shell not installed (edits a home's token table)"; exit 77; }
LEDGER=${LEDGER_URI:-sqlite:$T/shared-ledger.db}
echo "# ledger: $LEDGER"
A=$T/home-a
B=$T/home-b
expect_rc 0 vs --home "$A" init
expect_rc 0 vs --home "$B" init
va() { vs --home "$A" --ledger "$LEDGER" "$@"; }
vb() { vs --home "$B" --ledger "$LEDGER" "$@"; }
make_state "$T/state"
sfx=$$-$RANDOM

# field NAME KEY: a string or number field of 'vnf status --json'.
field() {
	va vnf status "$1" --json | sed -n "s/^ *\"$2\": \"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}$/\1/p"
}
expect_rc 0 va vnf register "probe-$sfx"
HOST_A=$(field "probe-$sfx" this_host)
[ -n "$HOST_A" ] || fail "cannot learn home A's host name"
state() { field "$1" state; }
audit_has() { # HOME TEXT: the home's audit log holds TEXT
	vs --home "$1" log show --json >"$T/log.json" || fail "log show failed"
	grep -qF -- "$2" "$T/log.json"
}

# --- 1. a start elsewhere would discard a final latest snapshot ----------------
V=keep-$sfx
expect_rc 0 va vnf register "$V"
expect_rc 0 va snapshot create --vnf "$V" --engine dir --source "$T/state" -o "$T/keep.vsnap"
SID=$(cat "$OUT")
expect_rc 3 vb vnf start "$V"
one_line_stderr || fail "start refusal: stderr"
grep -q -- '--discard-latest' "$ERR" && grep -q 'restore' "$ERR" && grep -q "$SID" "$ERR" ||
	fail "start refusal does not say how to proceed: $(cat "$ERR")"
[ "$(state "$V")" = REGISTERED ] || fail "refused start changed the state: $(state "$V")"
pass "REGISTERED with a snapshot taken on A: start on B exits 3 naming the snapshot, restore and --discard-latest; nothing changed"
expect_rc 1 vb vnf start "$V" --discard-latest
grep -q -- '--reason' "$ERR" || fail "--discard-latest without --reason: $(cat "$ERR")"
expect_rc 1 vb vnf start "$V" --reason "why not"
[ "$(state "$V")" = REGISTERED ] || fail "a usage error changed the state"
pass "--discard-latest needs --reason, and --reason alone does not apply to start: exit 1"
expect_rc 0 vb vnf start "$V" --discard-latest --reason "ticket 42: A's copy is obsolete"
[ "$(state "$V")" = ACTIVE ] && [ "$(field "$V" host)" != "$HOST_A" ] || fail "discarding start did not activate on B"
audit_has "$B" "ticket 42: A's copy is obsolete" || fail "B's audit log lacks the reason"
pass "start --discard-latest --reason on B: ACTIVE on B, the reason is in B's audit record"
# The host that took the snapshot may start from it.
V2=own-$sfx
expect_rc 0 va vnf register "$V2"
expect_rc 0 va snapshot create --vnf "$V2" --engine dir --source "$T/state" -o "$T/own.vsnap"
expect_rc 0 va vnf start "$V2"
pass "the host that took the final latest snapshot starts it without --discard-latest"

# --- 2. a token is a secret, not its public fields ---------------------------------
V3=tok-$sfx
expect_rc 0 va vnf register "$V3"
expect_rc 0 va vnf start "$V3"
LIN=$(field "$V3" lineage_id | tr -d -)
GEN=$(field "$V3" generation)
[ ${#LIN} -eq 32 ] && [ -n "$GEN" ] || fail "cannot read the public token fields"
# Home B writes A's public token fields (all a status shows) into its own table.
sqlite3 "$B/vnfsafe.db" "INSERT OR REPLACE INTO fences(vnf, lineage, generation, host) VALUES('$V3', X'$LIN', $GEN, '$HOST_A')" ||
	fail "cannot edit home B's token table"
for op in pause stop; do
	expect_rc 3 vb vnf "$op" "$V3"
	one_line_stderr || fail "$op with a copied token: stderr"
done
expect_rc 3 vb snapshot create --vnf "$V3" --engine dir --source "$T/state" -o "$T/forged.vsnap"
[ ! -e "$T/forged.vsnap" ] || fail "a refused snapshot left a file"
[ "$(state "$V3")" = ACTIVE ] && [ "$(field "$V3" generation)" = "$GEN" ] || fail "B changed the record"
pass "A's public token fields copied into B's table: B's pause, stop and snapshot create exit 3, record unchanged"
# A guessed secret does no better.
sqlite3 "$B/vnfsafe.db" "UPDATE fences SET secret=randomblob(32) WHERE vnf='$V3'" || fail "cannot set a secret"
expect_rc 3 vb vnf stop "$V3"
expect_rc 0 va vnf pause "$V3"
expect_rc 0 va vnf resume "$V3"
expect_rc 0 va vnf stop "$V3"
pass "with a random secret too: refused; A (holding the secret) pauses, resumes and stops"
mode=$(stat -c %a "$A/vnfsafe.db")
[ "$mode" = 600 ] || fail "home A's token table file is mode $mode"
pass "the secret lives in home A's 0600 database"

# --- 3. release asserts a host is dead ----------------------------------------------
V4=rel-$sfx
expect_rc 0 va vnf register "$V4"
expect_rc 0 va vnf start "$V4"
expect_rc 1 va vnf release "$V4" --host "$HOST_A"
grep -q -- '--reason' "$ERR" && grep -q 'dead' "$ERR" || fail "release without --reason: $(cat "$ERR")"
expect_rc 3 va vnf release "$V4" --host "$HOST_A" --reason "testing"
one_line_stderr || fail "own release: stderr"
grep -q 'dead' "$ERR" && grep -q 'vnf stop' "$ERR" || fail "own release refusal: $(cat "$ERR")"
[ "$(state "$V4")" = ACTIVE ] || fail "refused release changed the state"
pass "release of A's own live VNF from A: exit 1 without --reason, exit 3 with it (this home holds the token: stop it)"
expect_rc 0 vb vnf release "$V4" --host "$HOST_A" --reason "A powered off by facilities"
[ "$(state "$V4")" = STOPPED ] || fail "release did not stop it"
audit_has "$B" "A powered off by facilities" || fail "B's audit log lacks the release reason"
grep -B10 -F "A powered off by facilities" "$T/log.json" | grep -q '"actor": "uid:' || fail "the release record names no actor"
expect_rc 3 va vnf stop "$V4"
pass "B releases A (alive or not: the operator's word): STOPPED, reason and actor in B's audit log, A is fenced"
# Own host without a valid token (lost): releasing it is how to go on, and
# it makes the live snapshot final, so it restores without --allow-rollback.
V5=lost-$sfx
expect_rc 0 va vnf register "$V5"
expect_rc 0 va vnf start "$V5"
expect_rc 0 va snapshot create --vnf "$V5" --engine dir --source "$T/state" -o "$T/live.vsnap"
sqlite3 "$A/vnfsafe.db" "DELETE FROM fences WHERE vnf='$V5'" || fail "cannot drop A's token"
expect_rc 0 va vnf release "$V5" --host "$HOST_A" --reason "token lost on A"
expect_rc 0 va snapshot restore "$T/live.vsnap" --to "$T/live-r"
[ "$(state "$V5")" = ACTIVE ] || fail "restore after release did not activate"
pass "A without its token releases its own host; the live snapshot is then final and restores without --allow-rollback"
finish
