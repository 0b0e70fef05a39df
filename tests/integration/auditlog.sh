#!/usr/bin/env bash
# The audit log through the CLI (docs/audit.md): every audited command leaves
# one record, refusals and failures included; 'log verify' finds modified,
# deleted, inserted, reordered, truncated and replayed records and a torn
# tail, each with its kind and the first bad record; a forger holding the
# host's current key (and the host key, and the ledger) is caught by the
# verification seed; a log that lost an anchored record takes no further
# commands.
# usage: auditlog.sh /path/to/vnfsafe /path/to/audit_forge
. "$(dirname "$0")/lib.sh"
FORGE=$2
[ -x "$FORGE" ] || fail "usage: auditlog.sh VNFSAFE AUDIT_FORGE"

H=$T/home
SEED=$T/seed
S=$T/state
expect_rc 0 vs --home "$H" init --audit-seed "$SEED" --audit-interval 1
[ -f "$SEED" ] && [ ! -e "$H/audit-seed" ] || fail "the seed is not where --audit-seed said"
[ "$(stat -c %a "$SEED")" = 600 ] || fail "seed mode $(stat -c %a "$SEED")"
make_state "$S"
register fw
expect_rc 0 vs --home "$H" vnf start fw
expect_rc 3 vs --home "$H" vnf start fw                       # refused: fork
expect_rc 0 vs --home "$H" snapshot create --vnf fw --engine dir --source "$S" -o "$T/a.vsnap"
ID=$(cat "$OUT")
cp "$T/a.vsnap" "$T/bad.vsnap"
flip_bit "$T/bad.vsnap" 300 1
expect_rc 2 vs --home "$H" snapshot verify "$T/bad.vsnap"     # integrity failure
expect_rc 3 vs --home "$H" snapshot restore "$T/a.vsnap" --to "$T/r" # refused: live
expect_rc 3 vs --home "$H" snapshot delete "$ID"              # refused: latest
expect_rc 0 vs --home "$H" vnf stop fw
expect_rc 1 vs --home "$H" vnf start no-such-vnf              # failed: unknown
sleep 2 # the next records are in a later key epoch (interval 1 s)
expect_rc 0 vs --home "$H" snapshot verify "$T/a.vsnap"
# A garbled audit/frontier is not trusted: the whole log is read, the
# command runs, and the frontier is written back whole (12 records).
printf 'vnfsafe-audit-frontier 1\nsize 999\n' >"$H/audit/frontier"
expect_rc 0 vs --home "$H" log checkpoint
grep -qx 'size 12' "$H/audit/frontier" || fail "audit/frontier not rewritten: $(head -3 "$H/audit/frontier")"
expect_rc 0 vs --home "$H" vnf status fw                      # a read: not audited

expect_rc 0 vs --home "$H" log show
want="home.init ok
vnf.register ok
vnf.start ok
vnf.start refused
snapshot.create ok
snapshot.verify integrity
snapshot.restore refused
snapshot.delete refused
vnf.stop ok
vnf.start failed
snapshot.verify ok
log.checkpoint ok"
got=$(awk 'NR > 1 { print $4, $3 }' "$OUT")
[ "$got" = "$want" ] || fail "log show: records differ:
$got"
grep 'vnf.start' "$OUT" | grep refused | grep -q 'fork' || fail "the refusal's reason is not recorded"
grep 'snapshot.verify' "$OUT" | grep integrity | grep -q 'authentication' ||
	fail "the integrity failure's reason is not recorded"
grep 'snapshot.create' "$OUT" | grep -q "$ID" || fail "the snapshot id is not recorded"
grep -qE "uid:$(id -un)( |$)" "$OUT" || fail "the actor (principal uid:<user name>) is not recorded"
vs --home "$H" log show --json | grep -q "\"uid\": $(id -u)$" || fail "the numeric uid is not recorded beside the actor"
pass "12 audited commands: 12 records in order, with outcome ok/refused/integrity/failed, reason, snapshot id, actor"

expect_rc 0 vs --home "$H" log show --json --vnf fw
[ "$(grep -c '"seq"' "$OUT")" = 9 ] || fail "log show --vnf fw: $(grep -c '"seq"' "$OUT") records, want 9"
expect_rc 0 vs --home "$H" log show --since 2000-01-01
expect_rc 0 vs --home "$H" log show --since "@$(($(date +%s) + 3600))"
[ "$(wc -l <"$OUT")" = 1 ] || fail "--since in the future still shows records"
expect_rc 1 vs --home "$H" log show --since yesterday
pass "log show --json --vnf filters by VNF; --since by time; a bad --since is a usage error"

expect_rc 0 vs --home "$H" log verify --seed "$SEED"
grep -q '^intact: 12 records, 1 signed checkpoints; MACs checked with the seed; ledger anchor: 12 records' "$OUT" ||
	fail "verify: $(cat "$OUT")"
epochs=$(vs --home "$H" log show --json | grep -o '"epoch": [0-9]*' | sort -u | wc -l)
[ "$epochs" -ge 2 ] || fail "the log spans $epochs key epoch(s), want >= 2"
pass "log verify --seed: intact, every MAC checked over $epochs key epochs, anchored in the ledger"

expect_rc 0 vs --home "$H" log proof --seq 5
grep -q '^verified' "$OUT" && grep -q 'latest signed checkpoint' "$OUT" || fail "proof: $(cat "$OUT")"
expect_rc 0 vs --home "$H" log proof --seq 5 --json
grep -q '"tree_size": 11' "$OUT" || fail "proof --json: $(cat "$OUT")"
expect_rc 1 vs --home "$H" log proof --seq 999
expect_rc 1 vs --home "$H" log proof
pass "log proof: an RFC 6962 path from record 5 to the signed checkpoint, checked; bad --seq is exit 1"

# --- many commands at once, some killed with SIGKILL ---------------------------
before=$(vs --home "$H" log show --json | grep -c '"action": "snapshot.verify"')
mkdir -p "$T/par"
for i in $(seq 1 16); do
	( vs --home "$H" snapshot verify "$T/a.vsnap" >/dev/null 2>&1; echo $? >"$T/par/rc.$i" ) &
	pids[i]=$!
done
sleep 0.15
for i in 3 7 11 15; do pkill -KILL -P "${pids[i]}" 2>/dev/null; done
wait
oks=$(cat "$T/par"/rc.* | grep -c '^0$')
expect_rc 0 vs --home "$H" log verify --seed "$SEED"
after=$(vs --home "$H" log show --json | grep -c '"action": "snapshot.verify"')
[ $((after - before)) -ge "$oks" ] ||
	fail "$oks commands reported success but only $((after - before)) records were added"
pass "16 commands at once, some SIGKILLed: every command that exited 0 has its record ($oks), the log verifies, the anchor holds"

# --- attacks: each on a copy of the home (log and ledger together) -------------
# attack NAME KIND SEQ CMD: CMD damages $C/audit/log; verify must exit 2
# naming KIND at record SEQ.
attack() {
	local name=$1 kind=$2 seq=$3
	shift 3
	C=$T/atk-$name
	rm -rf "$C"
	cp -a "$H" "$C"
	"$@" || fail "$name: could not damage the copy"
	run vs --home "$C" log verify --seed "$SEED"
	[ "$RC" = 2 ] || fail "$name: verify exited $RC, want 2"
	one_line_stderr || fail "$name: verify stderr"
	grep -q "^vnfsafe log verify: $kind at record $seq " "$ERR" ||
		fail "$name: want '$kind at record $seq': $(cat "$ERR")"
}
L() { echo "$C/audit/log"; }
line() { sed -n "${1}p" "$H/audit/log"; }

attack modify modified 4 sed -i '4s/"refused"/"ok"/' "$T/atk-modify/audit/log"
attack delete sequence 4 sed -i '3d' "$T/atk-delete/audit/log"
attack insert sequence 3 sed -i "3r /dev/stdin" "$T/atk-insert/audit/log" <<<"$(line 3)"
attack reorder sequence 5 bash -c "awk 'NR==4{h=\$0;next} NR==5{print;print h;next} {print}' '$H/audit/log' >'$T/atk-reorder/audit/log'"
attack truncate truncated 11 bash -c "head -n 10 '$H/audit/log' >'$T/atk-truncate/audit/log'"
N=$(wc -l <"$H/audit/log")
attack torn torn-tail $((N + 1)) bash -c "printf '{\"seq\":$((N + 1)),\"time\":\"20' >>'$T/atk-torn/audit/log'"
pass "modify, delete, insert, reorder, truncate and a torn tail: verify exits 2 naming the damage and the first bad record"

# Replay: the log as it was (12 records) put back after more were written.
cp "$H/audit/log" "$T/old-log"
expect_rc 0 vs --home "$H" vnf start fw
expect_rc 0 vs --home "$H" vnf stop fw
C=$T/atk-replay
cp -a "$H" "$C"
cp "$T/old-log" "$C/audit/log"
run vs --home "$C" log verify --seed "$SEED"
[ "$RC" = 2 ] && grep -Eq 'truncated|inconsistent' "$ERR" || fail "replay: rc $RC: $(cat "$ERR")"
run vs --home "$C" vnf start fw
[ "$RC" = 2 ] && grep -q 'nothing done' "$ERR" || fail "replayed log: start ran (rc $RC): $(cat "$ERR")"
[ "$(vnf_state fw "$C" | cut -d' ' -f1)" = STOPPED ] || fail "replayed log: the command changed the ledger"
pass "an old copy of the log put back: verify exits 2, and audited commands refuse to run (exit 2, nothing done)"

# The operator's way out: a new log, the old one kept, the restart counted.
expect_rc 1 vs --home "$C" log restart
expect_rc 0 vs --home "$C" log restart --reason "old copy found on disk" --audit-seed "$T/seed2"
ls -d "$C"/audit.retired-* >/dev/null 2>&1 || fail "the damaged log was not kept aside"
cmp -s "$T/old-log" "$(ls -d "$C"/audit.retired-* | head -1)/log" || fail "the kept log is not the damaged one"
expect_rc 0 vs --home "$C" vnf start fw
expect_rc 0 vs --home "$C" log show
sed -n 2p "$OUT" | grep 'log.restart' | grep -Eq 'old copy found on disk.*anchored [0-9]+ records.*restart 1' ||
	fail "the new log does not open with the restart: $(sed -n 2p "$OUT")"
expect_rc 0 vs --home "$C" log verify --seed "$T/seed2"
grep -q 'restarted by an operator' "$OUT" || fail "verify does not show the restart: $(cat "$OUT")"
pass "log restart: the damaged log kept aside, a new log opening with why and what was anchored, the restart counted in the ledger, commands run again"

# A torn tail left by a crash is repaired by the next writer, and said so.
C=$T/atk-torn
expect_rc 0 vs --home "$C" vnf start fw
expect_rc 0 vs --home "$C" log verify --seed "$SEED"
expect_rc 0 vs --home "$C" log show
grep -q 'audit.torn_tail' "$OUT" || fail "the repair of the torn tail is not recorded"
ls "$C/audit" | grep -q '^log.torn-' || fail "the torn bytes were not kept aside"
pass "a torn tail is repaired by the next command: bytes kept aside, an audit.torn_tail record, verify intact"

# The forger holds everything on the host: the current MAC key, the host key,
# the ledger. Record 4 (an earlier epoch) rewritten, the chain re-MACed with
# the current key, checkpoints dropped, the ledger anchor moved to match.
C=$T/atk-forge
rm -rf "$C"
cp -a "$H" "$C"
read -r off size head < <("$FORGE" "$C/audit" 4 "nothing happened") || fail "audit_forge failed"
host=$(sed -n '1s/.*"host":"\([^"]*\)".*/\1/p' "$C/audit/log")
sqlite3 "$C/ledger.db" "UPDATE log_anchors SET offset=$off, head=X'$head' WHERE host='$host' AND size=$size" ||
	fail "cannot move the anchor"
expect_rc 0 vs --home "$C" log verify
pass "a full forgery with the host's current key passes verify without the seed (as documented)"
run vs --home "$C" log verify --seed "$SEED"
[ "$RC" = 2 ] && grep -q '^vnfsafe log verify: modified at record 4 ' "$ERR" ||
	fail "the seed did not catch the forgery: rc $RC: $(cat "$ERR")"
pass "with the seed it fails at record 4: the key of that epoch is gone from the host, the forger used a later one"

# init killed while it made the audit log: init is all or nothing, so no
# home is there and a new init succeeds.
C=$T/init-crash
VNFSAFE_FAULT=audit.init_before_rename "$VS" --quiet --home "$C" init >/dev/null 2>&1
[ $? = 137 ] || fail "init was not killed at audit.init_before_rename"
[ ! -e "$C" ] || fail "a half-made home is in place"
expect_rc 4 vs --home "$C" vnf register after-crash
grep -q 'no vnfsafe home' "$ERR" || fail "a command after the crash did not say there is no home: $(cat "$ERR")"
[ ! -e "$C" ] || fail "a command after the crash made a home"
expect_rc 0 vs --home "$C" init
expect_rc 0 vs --home "$C" vnf register after-crash
expect_rc 0 vs --home "$C" log verify --seed "$C/audit-seed"
expect_rc 0 vs --home "$C" log show
grep -q 'vnf.register' "$OUT" || fail "the command after the new init is not recorded"
pass "init killed while making the audit log: no home left; a new init works and records"

# The whole audit directory deleted: not silently started anew.
C=$T/atk-rmdir
rm -rf "$C"
cp -a "$H" "$C"
rm -rf "$C/audit"
run vs --home "$C" vnf start fw
[ "$RC" = 2 ] && grep -q 'audit log of this home is gone' "$ERR" || fail "deleted log: rc $RC: $(cat "$ERR")"
one_line_stderr || fail "deleted log: stderr"
[ ! -e "$C/audit/log" ] && [ "$(vnf_state fw "$C" | cut -d' ' -f1)" = STOPPED ] ||
	fail "deleted log: a new log was started or the command ran"
pass "the audit directory deleted: commands refuse (exit 2), no fresh log is started in its place"

# Without a writable audit log, nothing runs (a directory where the log
# should be: unwritable even for root).
C=$T/atk-gone
rm -rf "$C"
cp -a "$H" "$C"
rm "$C/audit/log"
mkdir "$C/audit/log"
run vs --home "$C" vnf start fw
[ "$RC" = 4 ] && grep -q 'does not run' "$ERR" || fail "unwritable log: rc $RC: $(cat "$ERR")"
one_line_stderr || fail "unwritable log: stderr"
[ "$(vnf_state fw "$C" | cut -d' ' -f1)" = STOPPED ] || fail "unwritable log: start ran"
pass "an audit log that cannot be written: the command does not run (exit 4, one line)"
finish
