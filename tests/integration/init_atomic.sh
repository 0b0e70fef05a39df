#!/usr/bin/env bash
# 'init' is all or nothing: whatever can be checked is checked before
# anything is made, the home and its audit log are built in staging and
# renamed into place last, and a failure leaves no home (and no seed).
source "$(dirname "$0")/lib.sh" "$@"

H=$T/home
# no_home: nothing at $H and no staging directory beside it.
no_home() {
	[ ! -e "$H" ] || { echo "a home was left at $H: $(ls -A "$H")" >&2; return 1; }
	ls -A "$T" | grep -q '^\.home\.init-' && { echo "staging left: $(ls -A "$T")" >&2; return 1; }
	return 0
}

echo precious >"$T/exists"
expect_rc 1 vs --home "$H" init --audit-seed "$T/exists"
one_line_stderr || fail "seed exists: not one line"
grep -q 'already exists' "$ERR" || fail "seed exists: message: $(cat "$ERR")"
no_home || fail "seed exists: a home is left"
[ "$(cat "$T/exists")" = precious ] || fail "the existing file was changed"
pass "--audit-seed FILE that exists: exit 1, no home, the file untouched"

ln -s "$T/exists" "$T/link"
ln -s "$T/nowhere" "$T/dangling"
for s in "$T/link" "$T/dangling"; do
	expect_rc 1 vs --home "$H" init --audit-seed "$s"
	grep -q 'symbolic link' "$ERR" || fail "seed $s: message: $(cat "$ERR")"
	no_home || fail "seed $s: a home is left"
done
[ ! -e "$T/nowhere" ] || fail "a seed was written through a dangling link"
pass "--audit-seed LINK (to a file, dangling): exit 1, no home, nothing written through it"

expect_rc 1 vs --home "$H" init --audit-seed "$T/missing-dir/seed"
grep -q 'does not exist' "$ERR" || fail "seed dir missing: message: $(cat "$ERR")"
no_home || fail "seed dir missing: a home is left"
pass "--audit-seed in a missing directory: exit 1, no home"

# A command after a refused init does not quietly make a home or a log.
expect_rc 4 vs --home "$H" vnf list
no_home || fail "a command after the refused init made a home"

# Killed just before the rename: no home, no seed.
VNFSAFE_FAULT=init.before_rename "$VS" --quiet --home "$H" init --audit-seed "$T/seed-crash" >/dev/null 2>&1
[ $? = 137 ] || fail "init was not killed at init.before_rename"
[ ! -e "$H" ] || fail "a killed init left a home"
ls -d "$T"/.home.init-* >/dev/null 2>&1 || fail "the killed init left no staging (the crash point moved?)"
rm -f "$T/seed-crash"

expect_rc 0 vs --home "$H" init --audit-seed "$T/seed"
ls -d "$T"/.home.init-* >/dev/null 2>&1 && fail "the killed init's staging (keys) was not swept: $(ls -A "$T")"
[ -f "$H/kek" ] && [ -d "$H/audit" ] && [ -f "$T/seed" ] || fail "good init: home or seed missing"
[ ! -e "$H/audit-seed" ] || fail "good init with --audit-seed: a seed is also in the home"
expect_rc 0 vs --home "$H" vnf register fw
expect_rc 0 vs --home "$H" log verify --seed "$T/seed"
expect_rc 1 vs --home "$H" init
grep -q 'already exists' "$ERR" || fail "second init: $(cat "$ERR")"
pass "after the refusals a good init works (and sweeps the killed init's staging), its log verifies with the seed, and a second init is refused"

finish
