#!/usr/bin/env bash
# Errors are not harmless answers: each case below was once read as "absent"
# or "nothing to do" and went on; now it refuses with the error's own exit.
#  - the audit log missing and the ledger unreachable: no fresh log (exit 4);
#  - a damaged signed checkpoint: 'log proof' fails (exit 2), no unsigned proof;
#  - a damaged fencing token / activation journal row in the keystore:
#    'vnf recover' reports it (exit 2) instead of "nothing to recover".
source "$(dirname "$0")/lib.sh" "$@"
command -v sqlite3 >/dev/null || { echo "SKIP: the sqlite3 shell is not installed"; exit 77; }

H=$T/home
expect_rc 0 vs --home "$H" init
register fw

# The audit log gone, the ledger unreachable: nothing runs, no log is made.
mv "$H/audit" "$T/audit.saved"
expect_rc 4 vs --home "$H" --ledger etcd:http://127.0.0.1:9 snapshot delete 00000000-0000-0000-0000-000000000000
head -1 "$ERR" | grep -q 'audit log of this home is missing' || fail "message: $(cat "$ERR")"
[ ! -e "$H/audit" ] || fail "a fresh audit log was started without the ledger's answer"
mv "$T/audit.saved" "$H/audit"
pass "audit log missing and no answer from the ledger: exit 4, no fresh log started"

# A damaged signed checkpoint is reported, not replaced by an unsigned proof.
expect_rc 0 vs --home "$H" log checkpoint
expect_rc 0 vs --home "$H" log proof --seq 1
grep -q 'signed checkpoint' "$OUT" || fail "proof before damage: $(cat "$OUT")"
sed -i '$ s/"root":"\(.\)/"root":"Z/' "$H/audit/checkpoints"
expect_rc 2 vs --home "$H" log proof --seq 1
pass "a damaged latest checkpoint: log proof exits 2, no unsigned proof instead"

# A damaged fencing token row: recovery says so; it is not "no token".
expect_rc 0 vs --home "$H" vnf start fw
sqlite3 "$H/vnfsafe.db" "UPDATE fences SET lineage=X'00' WHERE vnf='fw'" || fail "sqlite3 update"
expect_rc 2 vs --home "$H" vnf recover fw
grep -q 'fencing token of VNF fw in the keystore is damaged' "$ERR" || fail "token: $(cat "$ERR")"
expect_rc 2 vs --home "$H" vnf stop fw
pass "a damaged fencing token: recover and stop exit 2, not 'this host holds none'"

# A damaged activation journal row: not "nothing to recover".
sqlite3 "$H/vnfsafe.db" "DELETE FROM fences WHERE vnf='fw'; INSERT INTO pending_activations(vnf, kind, activation, snapshot, staging, target)
	VALUES('fw', 2, X'00', X'00', '$T/stage', '$T/target')" || fail "sqlite3 insert"
expect_rc 2 vs --home "$H" vnf recover fw
grep -q 'activation journal of VNF fw in the keystore is damaged' "$ERR" || fail "journal: $(cat "$ERR")"
pass "a damaged activation journal: recover exits 2, not 'nothing to recover'"

finish
