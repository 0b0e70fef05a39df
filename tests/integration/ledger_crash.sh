# Crash tests: the CLI is killed with SIGKILL (VNFSAFE_FAULT) at every step of
# every transition, then 'vnf recover' runs (twice, and twice at once). After
# it: never two owners, the generation never lower, no recorded snapshot or
# key lost, no plaintext staging left, and the host can carry on.
source "$(dirname "$0")/lib.sh" "$@"

make_state "$T/state"

# fresh NAME: a new home + registered VNF; sets H, V.
fresh() {
	H=$T/home-$1
	V=vnf-$1
	expect_rc 0 vs --home "$H" init
	expect_rc 0 vs --home "$H" vnf register "$V"
}

gen_of() {
	vs --home "$H" vnf status --json "$V" | sed -n 's/.*"generation": \([0-9]*\),.*/\1/p'
}
state_of() {
	vs --home "$H" vnf status --json "$V" | sed -n 's/.*"state": "\(.*\)".*/\1/p'
}

# crash POINT CMD...: CMD must die by SIGKILL at POINT.
crash() {
	local point=$1
	shift
	VNFSAFE_FAULT=$point "$@" >"$OUT" 2>"$ERR"
	local rc=$?
	[ "$rc" -eq 137 ] || fail "$point: expected death by SIGKILL (137), got $rc"
}

# recover_all: recover twice in a row, then twice at once; all exit 0.
recover_all() {
	expect_rc 0 vs --home "$H" vnf recover "$V"
	cp "$ERR" "$T/recover1.log"
	expect_rc 0 vs --home "$H" vnf recover "$V"
	grep -q 'nothing to recover' "$ERR" || fail "second recover still had work: $(cat "$ERR")"
	vs --home "$H" vnf recover "$V" >/dev/null 2>&1 &
	vs --home "$H" vnf recover "$V" >/dev/null 2>&1
	local b=$?
	wait $!
	local a=$?
	[ "$a" -eq 0 ] && [ "$b" -eq 0 ] || fail "concurrent recovers: exit $a and $b"
}

no_staging() {
	if ls -A "$1" | grep -q '^\.vs'; then
		fail "staging left in $1: $(ls -A "$1" | grep '^\.vs' | tr '\n' ' ')"
	fi
}

# --- start / stop ------------------------------------------------------------
fresh start
crash start.after_cas vs --home "$H" vnf start "$V"
[ "$(state_of)" = ACTIVE ] || fail "start.after_cas: not ACTIVE"
expect_rc 3 vs --home "$H" vnf stop "$V" # no token stored before the crash
recover_all
grep -q 'had activated it: this host holds its token' "$T/recover1.log" ||
	fail "start.after_cas: token not issued: $(cat "$T/recover1.log")"
expect_rc 0 vs --home "$H" vnf stop "$V"
pass "killed after the start CAS: recover finds its activation id in the ledger, keeps the token; stop works"

fresh start-journal
crash start.after_journal vs --home "$H" vnf start "$V"
recover_all
grep -q 'never activated' "$T/recover1.log" || fail "start.after_journal: $(cat "$T/recover1.log")"
[ "$(state_of)" = REGISTERED ] || fail "start.after_journal: state $(state_of)"
expect_rc 0 vs --home "$H" vnf start "$V"
pass "killed before the start CAS: recover fences the ledger and drops the journal; start works"

# Gap 5: a token is never made from a read. The ledger says ACTIVE here, but
# the home has neither a token nor a journal of the activation.
fresh adopt
expect_rc 0 vs --home "$H" vnf start "$V"
sqlite3 "$H/vnfsafe.db" "DELETE FROM fences" || fail "cannot edit the home database"
expect_rc 0 vs --home "$H" vnf recover "$V"
grep -q 'not adopting' "$ERR" || fail "recover adopted or said nothing: $(cat "$ERR")"
expect_rc 3 vs --home "$H" vnf stop "$V"
pass "a token lost without a journal is not re-made from a read: recover says so, stop stays refused"

fresh stop
expect_rc 0 vs --home "$H" vnf start "$V"
crash stop.after_cas vs --home "$H" vnf stop "$V"
[ "$(state_of)" = STOPPED ] || fail "stop.after_cas: not STOPPED"
recover_all
grep -q 'stale' "$T/recover1.log" || fail "stop.after_cas: stale token not dropped"
g=$(gen_of)
expect_rc 0 vs --home "$H" vnf start "$V"
[ "$(gen_of)" -eq $((g + 1)) ] || fail "stop.after_cas: generation after restart"
pass "killed after the stop CAS: recover drops the stale token; start works, generation +1"

# --- snapshot create -----------------------------------------------------------
for point in create.after_publish create.after_record; do
	fresh "${point//./-}"
	expect_rc 0 vs --home "$H" snapshot create --vnf "$V" --engine dir --source "$T/state" -o "$T/$point-s0.vsnap"
	crash "$point" vs --home "$H" snapshot create --vnf "$V" --engine dir --source "$T/state" -o "$T/$point-s1.vsnap"
	recover_all
	expect_rc 0 vs --home "$H" snapshot list --json
	if [ "$point" = create.after_publish ]; then
		grep -q '"state": "FAILED"' "$OUT" || fail "$point: unrecorded snapshot not FAILED"
		grep -q 'keys erased' "$T/recover1.log" || fail "$point: keys not erased"
		# The previous latest is intact and still the one to restore.
		expect_rc 0 vs --home "$H" snapshot verify "$T/$point-s0.vsnap"
		expect_rc 0 vs --home "$H" snapshot restore "$T/$point-s0.vsnap" --to "$T/$point-r"
	else
		grep -c '"state": "AVAILABLE"' "$OUT" | grep -q 2 || fail "$point: recorded snapshot not AVAILABLE"
		expect_rc 0 vs --home "$H" snapshot restore "$T/$point-s1.vsnap" --to "$T/$point-r"
		# And the older one is now a roll-back.
		expect_rc 0 vs --home "$H" vnf stop "$V"
		expect_rc 3 vs --home "$H" snapshot restore "$T/$point-s0.vsnap" --to "$T/$point-r0"
	fi
	same_tree "$T/state" "$T/$point-r" || fail "$point: restored tree differs"
	pass "killed at $point: recover settles the snapshot; the latest restores, nothing lost"
done

# --- snapshot restore -----------------------------------------------------------
for point in restore.after_journal restore.before_ready restore.after_ready restore.after_cas \
	restore.after_publish; do
	fresh "${point//./-}"
	expect_rc 0 vs --home "$H" snapshot create --vnf "$V" --engine dir --source "$T/state" -o "$T/$point.vsnap"
	g=$(gen_of)
	mkdir -p "$T/$point-p"
	crash "$point" vs --home "$H" snapshot restore "$T/$point.vsnap" --to "$T/$point-p/target"
	recover_all
	no_staging "$T/$point-p"
	[ "$(gen_of)" -ge "$g" ] || fail "$point: generation went down"
	case $point in
	restore.after_cas | restore.after_publish)
		# The ledger activated it here: the state must be in place.
		[ "$(state_of)" = ACTIVE ] || fail "$point: not ACTIVE"
		same_tree "$T/state" "$T/$point-p/target" || fail "$point: restored tree differs"
		expect_rc 0 vs --home "$H" vnf stop "$V"
		;;
	*)
		# Never activated: nothing visible, and a new restore works.
		[ "$(state_of)" = REGISTERED ] || fail "$point: state $(state_of)"
		[ ! -e "$T/$point-p/target" ] || fail "$point: target exists without activation"
		expect_rc 0 vs --home "$H" snapshot restore "$T/$point.vsnap" --to "$T/$point-p/target"
		;;
	esac
	pass "killed at $point: recover leaves exactly one consistent outcome, no staging left"
done
finish
