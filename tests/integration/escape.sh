#!/usr/bin/env bash
# Untrusted names reach the terminal escaped: a file name, path or record
# field with a newline or a terminal escape never forges a second line (or
# moves the cursor) in an error message, a warning or a listing.
source "$(dirname "$0")/lib.sh" "$@"

H=$T/home
S=$T/state
expect_rc 0 vs --home "$H" init
register fw
mkdir "$S"
echo ok >"$S/plain"
NL=$'a\nFORGED: vnfsafe says all is well'
ESC=$'b\e[2J\rFORGED'
mkfifo "$S/$NL"

# An error naming the file (the dir engine refuses a FIFO).
expect_rc 4 vs --home "$H" snapshot create --vnf fw --engine dir --source "$S" -o "$T/x.vsnap"
one_line_stderr || fail "error about a file named with a newline is not one line: $(cat -A "$ERR")"
grep -q 'FORGED' "$ERR" && grep -qF 'a\x0aFORGED' "$ERR" || fail "the name is not shown escaped: $(cat -A "$ERR")"
pass "an error naming a file with a newline in its name: exactly one stderr line, the newline shown as \\x0a"

rm "$S/$NL"
mkfifo "$S/$ESC"
expect_rc 4 vs --home "$H" snapshot create --vnf fw --engine dir --source "$S" -o "$T/x.vsnap"
one_line_stderr || fail "escape sequence: not one line"
grep -q $'\e' "$ERR" && fail "an ESC byte reached stderr: $(cat -A "$ERR")"
grep -q $'\r' "$ERR" && fail "a CR reached stderr: $(cat -A "$ERR")"
grep -qF 'b\x1b[2J\x0dFORGED' "$ERR" || fail "the name is not shown escaped: $(cat -A "$ERR")"
pass "an error naming a file with ESC and CR: no control byte reaches the terminal"
rm "$S/$ESC"

# Invalid UTF-8 is escaped, valid UTF-8 kept.
mkfifo "$S/"$'caf\xc3\xa9-\xff'
expect_rc 4 vs --home "$H" snapshot create --vnf fw --engine dir --source "$S" -o "$T/x.vsnap"
grep -qF $'caf\xc3\xa9-\\xff' "$ERR" || fail "UTF-8 handling: $(cat -A "$ERR")"
pass "valid UTF-8 is kept, an invalid byte is shown as \\xHH"
rm "$S/"$'caf\xc3\xa9-\xff'

# A listing: the catalog holds the output path as given.
mkdir "$T/$NL"
expect_rc 0 vs --home "$H" snapshot create --vnf fw --engine dir --source "$S" -o "$T/$NL/s.vsnap"
expect_rc 0 vs --home "$H" snapshot list
tail -n +2 "$OUT" | grep -Ev '^[0-9a-f]{8}-[0-9a-f-]{27}  ' &&
	fail "snapshot list: a path with a newline made a row of its own: $(cat -A "$OUT")"
grep -qF 'a\x0aFORGED' "$OUT" || fail "snapshot list: the path is not shown escaped"
pass "snapshot list: a path with a newline stays on its row"

# The audit log keeps the (escaped) reason; log show prints one line per record.
expect_rc 0 vs --home "$H" log show
grep -q '^FORGED' "$OUT" && fail "log show: forged line: $(cat -A "$OUT")"
grep -q 'a\\x0aFORGED' "$OUT" || fail "log show: the failed create's reason is missing or raw: $(cat -A "$OUT")"
pass "log show: the reason naming the file stays on its record's line"

finish
