# shellcheck shell=bash
# The file-level attacker against the TPM-bound ledger (docs/ledger.md,
# "Anti-rollback of the ledger file itself"), through the CLI, with the
# sqlite3 shell as the attacker's tool:
#  (a) an old ledger.db put back with its anchor counter set to the TPM's;
#  (b) the triggers dropped and vnfs.latest / generation / latest_final
#      edited in place;
#  (c) log_anchors edited in place;
#  (d) the genuine ledger keeps working and 'vnf status' names the attacker
#      it stops and the ones it does not.
# Each is refused with exit 2 and one line; an old snapshot is never
# restored without --allow-rollback.
#
#   swtpm.sh run bash ledger_tpm_attacks.sh /path/to/vnfsafe
source "$(dirname "$0")/lib.sh" "$@"

TCTI=${VNFSAFE_TPM:-}
if [ -z "$TCTI" ] || [ "$TCTI" = none ]; then
	echo "SKIP: VNFSAFE_TPM unset (run: tests/integration/swtpm.sh run bash $0 VNFSAFE_BIN)"
	exit 77
fi
if ! command -v sqlite3 >/dev/null 2>&1 || ! command -v tpm2_nvread >/dev/null 2>&1; then
	echo "SKIP: the attacker's tools (sqlite3, tpm2_nvread) are not installed"
	exit 77
fi
export VNFSAFE_TPM_NV_INDEX=0x01c101e8
unset VNFSAFE_TPM_ADOPT VNFSAFE_FAULT VNFSAFE_LEDGER
# shellcheck disable=SC2317 # called by the EXIT trap
on_exit() {
	TPM2TOOLS_TCTI=$TCTI tpm2_nvundefine -C o "$VNFSAFE_TPM_NV_INDEX" >/dev/null 2>&1
	cleanup
}
trap on_exit EXIT

nv_value() {
	local hex
	hex=$(TPM2TOOLS_TCTI=$TCTI tpm2_nvread -s 8 "$VNFSAFE_TPM_NV_INDEX" 2>/dev/null |
		od -An -tx1 | tr -d ' \n')
	echo $((16#$hex))
}
save() {
	mkdir -p "$2" && rm -f "$2"/ledger.db*
	cp -p "$1"/ledger.db* "$2"/
}
put_back() {
	rm -f "$2"/ledger.db-wal "$2"/ledger.db-shm
	cp -p "$1"/ledger.db* "$2"/
}
# attack SQL: runs SQL on HOME/ledger.db as the file-level attacker would.
attack() {
	sqlite3 "$H/ledger.db" "$1" >/dev/null 2>"$T/sqlerr" || fail "sqlite3: $(cat "$T/sqlerr")"
}
DROP="DROP TRIGGER IF EXISTS generation_monotonic; DROP TRIGGER IF EXISTS no_delete;
DROP TRIGGER IF EXISTS log_anchor_monotonic; DROP TRIGGER IF EXISTS log_anchor_no_delete;"

# refused WHAT PATTERN: every command exits 2 with one line naming PATTERN,
# and the old snapshot is not restored.
refused() {
	expect_rc 2 vs --home "$H" vnf status fw
	check "$1: one line on stderr" one_line_stderr
	grep -q "$2" "$ERR" || fail "$1: the refusal does not say '$2': $(cat "$ERR")"
	expect_rc 2 vs --home "$H" snapshot restore "$T/s1.vsnap" --to "$T/r-$RANDOM"
	pass "$1: refused (exit 2): $(cat "$ERR")"
}

H=$T/home
S=$T/state
mkdir -p "$S" && echo one >"$S/f"
expect_rc 0 vs --home "$H" init
register fw
expect_rc 0 vs --home "$H" snapshot create --vnf fw --engine dir --source "$S" -o "$T/s1.vsnap"
S1=$(cat "$OUT")
save "$H" "$T/old" # latest = s1
echo two >"$S/f"
expect_rc 0 vs --home "$H" snapshot create --vnf fw --engine dir --source "$S" -o "$T/s2.vsnap"
expect_rc 3 vs --home "$H" snapshot restore "$T/s1.vsnap" --to "$T/r0"
pass "genuine ledger: restoring the older snapshot s1 is a roll-back (exit 3)"
save "$H" "$T/current"

# (a) old copy put back, its counter set to the TPM's current value.
put_back "$T/old" "$H"
attack "UPDATE anchor SET counter=$(nv_value)"
refused "(a) old copy + counter edited" "old copy was put back with its counter edited"

# (b) in-place edits of the current file, triggers dropped.
put_back "$T/current" "$H"
attack "$DROP ATTACH '$T/old/ledger.db' AS o;
UPDATE vnfs SET latest=(SELECT latest FROM o.vnfs WHERE name='fw') WHERE name='fw';"
refused "(b) vnfs.latest edited" "ledger content mismatch"
for edit in "generation=generation+1" "latest_final=1-latest_final" "generation=7"; do
	put_back "$T/current" "$H"
	attack "$DROP UPDATE vnfs SET $edit WHERE name='fw'"
	refused "(b) vnfs.$edit" "ledger content mismatch"
done
# ... and the stored head made to match: the MAC still does not.
put_back "$T/current" "$H"
attack "$DROP UPDATE vnfs SET generation=generation+1 WHERE name='fw'"
expect_rc 2 vs --home "$H" vnf status fw
put_back "$T/current" "$H"
attack "$DROP UPDATE vnfs SET latest_final=1-latest_final WHERE name='fw'; UPDATE anchor SET head=zeroblob(32)"
refused "(b) content and head edited" "ledger content mismatch\|anchor mismatch"

# (c) the audit anchor edited in place.
put_back "$T/current" "$H"
[ "$(sqlite3 "$H/ledger.db" 'SELECT count(*) FROM log_anchors')" -ge 1 ] ||
	fail "no audit anchor in the ledger to attack"
attack "$DROP UPDATE log_anchors SET size=size-1, version=version+1"
refused "(c) log_anchors edited" "ledger content mismatch"

# ... and the anchor row removed.
put_back "$T/current" "$H"
attack "DELETE FROM anchor"
refused "(b) anchor row removed" "no TPM binding while TPM NV counter"

# (d) the genuine ledger still works, and says what it covers.
put_back "$T/current" "$H"
expect_rc 0 vs --home "$H" vnf status fw
grep -q "copied-back or edited ledger file is refused" "$OUT" ||
	fail "vnf status does not say which attacker is covered: $(cat "$OUT")"
grep -q "not stopped: root using this TPM, VNFSAFE_TPM_ADOPT=1" "$OUT" ||
	fail "vnf status does not say which attacker is not covered: $(cat "$OUT")"
expect_rc 3 vs --home "$H" snapshot restore "$T/s1.vsnap" --to "$T/r1"
expect_rc 0 vs --home "$H" snapshot restore "$T/s2.vsnap" --to "$T/r2"
expect_rc 0 vs --home "$H" vnf stop fw
pass "(d) the genuine ledger keeps working; status: $(grep -o 'TPM NV counter.*' "$OUT" | head -1)"

# (e) the keystore: a backup of the home taken before 'snapshot delete',
# put back (whole, or only vnfsafe.db), would revive the erased data keys.
grep -q "keystore anti-rollback TPM NV counter .*a put-back keystore is refused" "$OUT" ||
	fail "vnf status does not show the keystore anchor: $(cat "$OUT")"
rm -rf "$T/homebak" && cp -a "$H" "$T/homebak"
cp "$T/s1.vsnap" "$T/s1-copy.vsnap" # the attacker's copy of the snapshot file
expect_rc 0 vs --home "$H" snapshot delete "$S1"
expect_rc 2 vs --home "$H" snapshot verify "$T/s1-copy.vsnap" # erased: no key
rm -rf "$T/homecur" && cp -a "$H" "$T/homecur"
rm -rf "$H" && cp -a "$T/homebak" "$H"
expect_rc 2 vs --home "$H" snapshot verify "$T/s1-copy.vsnap"
expect_rc 2 vs --home "$H" snapshot restore "$T/s1-copy.vsnap" --to "$T/r3" --allow-rollback
pass "(e) the whole home put back from before 'snapshot delete': refused (exit 2): $(head -1 "$ERR")"
rm -rf "$H" && cp -a "$T/homecur" "$H"
rm -f "$H"/vnfsafe.db* && cp -a "$T/homebak"/vnfsafe.db* "$H"/
expect_rc 2 vs --home "$H" snapshot verify "$T/s1-copy.vsnap"
grep -q "keystore database is older than the TPM counter" "$ERR" ||
	fail "(e) keystore put back: $(cat "$ERR")"
pass "(e) only the keystore put back: refused (exit 2): $(head -1 "$ERR")"
rm -f "$H"/vnfsafe.db* && cp -a "$T/homecur"/vnfsafe.db* "$H"/
expect_rc 0 vs --home "$H" vnf status fw
pass "(e) the current keystore back: accepted"
# ... edited in place: the erased snapshot's catalog entry made usable again.
rm -f "$H"/vnfsafe.db* && cp -a "$T/homecur"/vnfsafe.db* "$H"/
sqlite3 "$H/vnfsafe.db" "UPDATE snapshots SET state='READY' WHERE state='ERASED'" ||
	fail "sqlite3 on the keystore"
expect_rc 2 vs --home "$H" vnf status fw
grep -q "keystore content mismatch" "$ERR" || fail "(e) keystore edited: $(cat "$ERR")"
pass "(e) keystore edited in place: refused (exit 2): $(head -1 "$ERR")"
rm -f "$H"/vnfsafe.db* && cp -a "$T/homecur"/vnfsafe.db* "$H"/
# Killed between a keystore commit and its NV increment: the next command
# completes the increment.
# shellcheck disable=SC2016 # $@ is the inner shell's
run bash -c '"$@"; exit $?' _ env VNFSAFE_FAULT=keystore.after_commit "$VS" --quiet --home "$H" \
	snapshot create --vnf fw --engine dir --source "$S" -o "$T/s3.vsnap"
[ "$RC" -eq 137 ] || fail "keystore.after_commit: expected death by SIGKILL (137), got $RC"
expect_rc 0 vs --home "$H" vnf status fw
grep -q "keystore anti-rollback .*interrupted counter increment was completed" "$OUT" ||
	fail "keystore.after_commit: not completed: $(cat "$OUT")"
expect_rc 0 vs --home "$H" vnf status fw
pass "(e) killed after a keystore commit, before its increment: the next command completes it"

# The ledger file deleted: a new ledger on the used index is refused.
rm -f "$H"/ledger.db*
expect_rc 2 vs --home "$H" vnf list
grep -q "already exists" "$ERR" || fail "deleted ledger: $(cat "$ERR")"
pass "ledger file deleted: refused on the used NV index (exit 2)"
finish
