#!/usr/bin/env bash
# Files and names under a local unprivileged user who writes the restore
# target's parent (a sticky, world-writable directory like /tmp) and races
# file operations; and state that changes while it is captured.
#  - the stale-staging sweep follows no link, chmods nothing by name, and
#    removes only directories owned by the effective uid;
#  - --to LINK or LINK/ is refused before anything is activated; a publish
#    that fails after the activation says so, the plaintext stays 0700, and
#    'vnf recover' publishes it with the snapshot root's mode;
#  - --domain NAME=LINK and an unmapped sensitive domain are refused;
#  - a file appended or rewritten during capture fails the create (exit 4)
#    with no output that looks whole.
# Pause points (VNFSAFE_PAUSE) stop vnfsafe where a racer would act.
source "$(dirname "$0")/lib.sh" "$@"

H=$T/home
S=$T/state
P=$T/shared # plays /tmp
mkdir -m 1777 "$P"
expect_rc 0 vs --home "$H" init
register fw
make_state "$S" 1000
expect_rc 0 vs --home "$H" snapshot create --vnf fw --engine dir --source "$S" -o "$T/fw.vsnap"
DEAD=$(($(cat /proc/sys/kernel/pid_max) + 1)) # no process has this pid
# next_snapshot: fw stopped and snapshotted again, so the next restore is of
# its latest state (not a roll-back).
next_snapshot() {
	stop_vnf fw
	rm -f "$T/fw.vsnap"
	expect_rc 0 vs --home "$H" snapshot create --vnf fw --engine dir --source "$S" -o "$T/fw.vsnap"
}

# --- the stale-staging sweep ---------------------------------------------------
ROOT_UID=$(id -u)
if [ "$ROOT_UID" != 0 ]; then
	echo "SKIP part: the foreign-owner cases need root to chown (running as uid $ROOT_UID)"
else
	# A canary owned by someone else, behind a staging-looking symlink.
	mkdir -m 0500 "$T/canary"
	echo keep >"$T/canary/file"
	chown -R nobody "$T/canary"
	ln -s "$T/canary" "$P/.vsrestore-$DEAD-link00"
	# A staging-looking directory of another user.
	mkdir -m 0700 "$P/.vsrestore-$DEAD-other0"
	echo theirs >"$P/.vsrestore-$DEAD-other0/f"
	chown -R nobody "$P/.vsrestore-$DEAD-other0"
	# A stale one of ours, read-only inside (a killed restore): removed.
	mkdir -p "$P/.vsrestore-$DEAD-ours00/d"
	chmod 0500 "$P/.vsrestore-$DEAD-ours00/d" "$P/.vsrestore-$DEAD-ours00"
	expect_rc 0 vs --home "$H" snapshot restore "$T/fw.vsnap" --to "$P/r1"
	same_tree "$S" "$P/r1" || fail "restore beside stale entries differs"
	[ "$(stat -c '%a %U' "$T/canary")" = "500 nobody" ] || fail "canary changed: $(stat -c '%a %U' "$T/canary")"
	[ -f "$T/canary/file" ] || fail "canary content removed"
	[ -L "$P/.vsrestore-$DEAD-link00" ] || fail "another user's symlink was removed"
	[ -f "$P/.vsrestore-$DEAD-other0/f" ] || fail "another user's staging-looking directory was swept"
	[ "$(stat -c %a "$P/.vsrestore-$DEAD-other0")" = 700 ] || fail "another user's directory was chmodded"
	[ ! -e "$P/.vsrestore-$DEAD-ours00" ] || fail "our own stale staging directory was not swept"
	pass "sweep: a symlink to someone else's directory is not followed or chmodded; another user's entry is left alone; ours is removed"
	next_snapshot

	# The race itself: the sweep saw a directory of ours, then a racer swaps
	# in a link to the canary before it is removed.
	rm -rf "$P"/.vsrestore-* # the pause below must stop at this entry only
	mkdir -m 0500 "$P/.vsrestore-$DEAD-race00"
	VNFSAFE_PAUSE=restore.sweep_entry "$VS" --quiet --home "$H" snapshot restore "$T/fw.vsnap" \
		--to "$P/r2" >"$OUT" 2>"$ERR" &
	pid=$!
	wait_stopped "$pid" || fail "restore did not stop at restore.sweep_entry"
	mv "$P/.vsrestore-$DEAD-race00" "$T/moved-race"
	ln -s "$T/canary" "$P/.vsrestore-$DEAD-race00"
	resume "$pid" || fail "restore with a swapped staging entry failed: $(cat "$ERR")"
	[ "$(stat -c '%a %U' "$T/canary")" = "500 nobody" ] || fail "swapped-in canary chmodded: $(stat -c '%a' "$T/canary")"
	[ -f "$T/canary/file" ] || fail "swapped-in canary emptied"
	same_tree "$S" "$P/r2" || fail "restore after the swap differs"
	pass "sweep race: a link swapped in after the name was read is neither followed nor chmodded"
	next_snapshot
	rm -f "$P"/.vsrestore-*-race00 "$P"/.vsrestore-*-link00
fi

# --- --to through a link ----------------------------------------------------------
mkdir "$T/elsewhere"
ln -s "$T/elsewhere" "$P/link"
before=$(vnf_state fw)
for to in "$P/link" "$P/link/"; do
	expect_rc 1 vs --home "$H" snapshot restore "$T/fw.vsnap" --to "$to"
	grep -q 'symbolic link' "$ERR" || fail "--to $to: message does not say link: $(cat "$ERR")"
	one_line_stderr || fail "--to $to: not one line"
done
[ "$(vnf_state fw)" = "$before" ] || fail "a refused --to LINK changed the ledger: $(vnf_state fw)"
[ -z "$(ls -A "$T/elsewhere")" ] || fail "something was written through the link"
ls -A "$P" | grep -q '^\.vs' && fail "staging left in $P: $(ls -A "$P")"
pass "--to LINK and --to LINK/: exit 1 before anything is activated or written"

# --- publish fails after the activation -------------------------------------------
# Killed right after the ledger CAS: the staged state is still 0700.
VNFSAFE_FAULT=restore.after_cas "$VS" --quiet --home "$H" snapshot restore "$T/fw.vsnap" \
	--to "$P/r3" >/dev/null 2>&1
[ $? = 137 ] || fail "restore was not killed at restore.after_cas"
ready=$(ls -d "$P"/.vsready-* 2>/dev/null)
[ -n "$ready" ] || fail "no staged state after the kill"
[ "$(stat -c %a "$ready")" = 700 ] || fail "staged plaintext has mode $(stat -c %a "$ready"), not 700"
expect_rc 0 vs --home "$H" vnf recover fw
grep -q "published the interrupted restore" "$ERR" || fail "recover did not publish: $(cat "$ERR")"
[ "$(stat -c %a "$P/r3")" = "$(stat -c %a "$S")" ] || fail "published mode $(stat -c %a "$P/r3") is not the snapshot root's"
same_tree "$S" "$P/r3" || fail "recovered restore differs"
pass "staged state stays 0700 until published; recover publishes it with the recorded root mode"
next_snapshot

# The target replaced by a link after every check, before the publish.
VNFSAFE_PAUSE=restore.before_publish "$VS" --quiet --home "$H" snapshot restore "$T/fw.vsnap" \
	--to "$P/r4" >"$OUT" 2>"$ERR" &
pid=$!
wait_stopped "$pid" || fail "restore did not stop at restore.before_publish"
ln -s "$T/elsewhere" "$P/r4"
resume "$pid"
rc=$?
[ "$rc" = 4 ] || fail "publish into a swapped-in link: exit $rc, not 4"
one_line_stderr || fail "publish failure: not one line"
grep -q "is now ACTIVE on this host" "$ERR" && grep -q "vnfsafe vnf recover fw" "$ERR" ||
	fail "the message does not say the VNF is active and what recover does: $(cat "$ERR")"
[ "$(vnf_state fw | cut -d' ' -f1)" = ACTIVE ] || fail "fw is not ACTIVE: $(vnf_state fw)"
ready=$(ls -d "$P"/.vsready-* 2>/dev/null)
[ -n "$ready" ] && [ "$(stat -c %a "$ready")" = 700 ] || fail "restored state not kept 0700: $(ls -la "$P")"
grep -qF "$ready" "$ERR" || fail "the message does not name the staging directory"
[ -z "$(ls -A "$T/elsewhere")" ] || fail "something was written through the link"
expect_rc 4 vs --home "$H" vnf recover fw
[ -L "$P/r4" ] || fail "recover replaced the link"
rm "$P/r4"
expect_rc 0 vs --home "$H" vnf recover fw
same_tree "$S" "$P/r4" || fail "recover after the link was removed: tree differs"
[ -z "$(ls -A "$T/elsewhere")" ] || fail "something was written through the link"
pass "publish into a target swapped for a link after activation: exit 4, says ACTIVE and what recover does; recover refuses the link, then publishes"
stop_vnf fw

# --- --domain through a link; sensitive domains ----------------------------------
D=$T/dstate
mkdir -p "$D/real-keys" "$D/conf"
echo key >"$D/real-keys/k.pem"
echo conf >"$D/conf/a"
ln -s real-keys "$D/keys"
ln -s . "$D/conf/self"
expect_rc 1 vs --home "$H" snapshot create --vnf fw --engine dir --source "$D" --domain keys=keys -o "$T/d1.vsnap"
grep -q 'symbolic link' "$ERR" || fail "--domain keys=LINK: message does not say link: $(cat "$ERR")"
one_line_stderr || fail "--domain LINK: not one line"
[ ! -e "$T/d1.vsnap" ] || fail "--domain LINK left an output file"
expect_rc 1 vs --home "$H" snapshot create --vnf fw --engine dir --source "$D" --domain keys=conf/self/a -o "$T/d1.vsnap"
grep -q 'symbolic link' "$ERR" || fail "--domain through a link: message does not say link: $(cat "$ERR")"
pass "--domain NAME=LINK and a path through a link: exit 1, no output"

expect_rc 0 vs --home "$H" vnf register sens --sensitive-domain keys
expect_rc 3 vs --home "$H" snapshot create --vnf sens --engine dir --source "$D" -o "$T/d2.vsnap"
grep -q "sensitive domain 'keys'" "$ERR" || fail "unmapped sensitive domain: $(cat "$ERR")"
one_line_stderr || fail "unmapped sensitive domain: not one line"
[ ! -e "$T/d2.vsnap" ] || fail "unmapped sensitive domain left an output file"
expect_rc 3 vs --home "$H" snapshot create --vnf sens --engine dir --source "$D" --domain other=conf -o "$T/d2.vsnap"
expect_rc 0 vs --home "$H" snapshot create --vnf sens --engine dir --source "$D" --domain keys=real-keys -o "$T/d2.vsnap"
pass "a registered sensitive domain without a --domain mapping: exit 3, no output; mapped: created"

# --- a file changed while it is captured -------------------------------------------
C=$T/cstate
mkdir "$C"
head -c 300000 /dev/urandom >"$C/data.bin"
touch -d '2021-01-01 00:00:00 UTC' "$C/data.bin"
# change_during_capture HOW OUT: create paused after reading data.bin, the
# file changed (append | middle), then resumed; sets RC.
change_during_capture() {
	VNFSAFE_PAUSE=capture.after_file "$VS" --quiet --home "$H" snapshot create --vnf fw \
		--engine dir --source "$C" -o "$2" >"$T/cap.out" 2>"$ERR" &
	local pid=$!
	wait_stopped "$pid" || fail "create did not stop at capture.after_file"
	case $1 in
	append) printf 'more' >>"$C/data.bin" ;;
	middle) printf 'XXXX' | dd of="$C/data.bin" bs=1 seek=1000 conv=notrunc status=none ;;
	esac
	resume "$pid"
	RC=$?
}
for how in append middle; do
	change_during_capture $how "$T/c-$how.vsnap"
	[ "$RC" = 4 ] || fail "file changed ($how) during capture: exit $RC, not 4"
	grep -q 'data.bin changed while being captured' "$ERR" || fail "$how: message: $(cat "$ERR")"
	one_line_stderr || fail "$how: not one line"
	[ ! -e "$T/c-$how.vsnap" ] || fail "$how: the output file appeared"
	ls -A "$T" | grep -q "partial" && fail "$how: a partial file is left: $(ls -A "$T")"
done
change_during_capture append -
[ "$RC" = 4 ] || fail "changed file with -o -: exit $RC"
expect_rc 2 vs --home "$H" snapshot verify - <"$T/cap.out"
pass "a file appended or rewritten in the middle during capture: exit 4, no -o file, and the -o - stream does not verify"

finish
