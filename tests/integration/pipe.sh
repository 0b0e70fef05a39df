#!/usr/bin/env bash
# Streaming: create to standard output, verify and restore from standard
# input, truncated streams, and refusing to write a snapshot to a terminal.
source "$(dirname "$0")/lib.sh" "$@"

H=$T/home
S=$T/state
expect_rc 0 vs --home "$H" init
register fw-pipe
register fw-tty
make_state "$S"

create_stdout() {
	vs --home "$H" snapshot create --vnf fw-pipe --engine dir --source "$S" \
		--domain secrets=secrets --domain db=db --chunk-size 4096 -o -
}

# --- create | restore ----------------------------------------------------------
R=$T/restored
# The snapshot being restored is the one being created, so it must be the
# latest of fw-pipe's lineage by the time the restore activates fw-pipe.
create_stdout 2>"$T/create.err" | vs --home "$H" snapshot restore - --to "$R" >"$OUT" 2>"$ERR"
st=("${PIPESTATUS[@]}")
grep -q 'to standard output' "$T/create.err" || fail "create -o - did not report streaming"
if [ "${st[0]}" = 0 ] && [ "${st[1]}" = 0 ]; then
	same_tree "$S" "$R" || fail "restore from a pipe differs from the source"
	[ "$(vnf_state fw-pipe | cut -d' ' -f1,2)" = "ACTIVE 1" ] || fail "fw-pipe after the restore: $(vnf_state fw-pipe)"
	pass "create -o - | restore - --to DIR: both exit 0, tree identical (content and metadata), fw-pipe ACTIVE"
	stop_vnf fw-pipe
else
	# Soft: the rest of the script does not depend on it.
	soft_fail "create -o - | restore - --to DIR exited ${st[*]}, want 0 0"
	[ ! -e "$R" ] || fail "the failed restore from a pipe left $R"
	ls -A "$T" | grep -Eq '^\.vs(restore|ready)-' && fail "the failed restore from a pipe left a staging directory"
fi

# The catalog knows the streamed snapshot.
expect_rc 0 vs --home "$H" snapshot list --json
grep -A5 '"vnf": "fw-pipe"' "$OUT" | grep -q '"state": "AVAILABLE"' || fail "streamed snapshot not AVAILABLE"
grep -q '"file": "-"' "$OUT" || fail "streamed snapshot's file is not '-'"
pass "a streamed snapshot is in the catalog, AVAILABLE, file '-'"

# --- create | verify --------------------------------------------------------------
create_stdout 2>/dev/null | vs --home "$H" snapshot verify - >"$OUT" 2>"$ERR"
st=("${PIPESTATUS[@]}")
[ "${st[0]}" = 0 ] && [ "${st[1]}" = 0 ] || fail "create | verify exited ${st[*]}"
grep -q '^OK snapshot .* of fw-pipe' "$OUT" || fail "verify - output: $(cat "$OUT")"
pass "create -o - | verify -: OK"

# Keep one stream as a file for the cases below.
F=$T/s.vsnap
create_stdout >"$F" 2>/dev/null || fail "create -o - > file"
SIZE=$(file_size "$F")
[ "$SIZE" -gt 600000 ] || fail "stream only $SIZE bytes"

cat "$F" | vs --home "$H" snapshot verify - >"$OUT" 2>"$ERR"
[ "${PIPESTATUS[1]}" = 0 ] || fail "cat file | verify - failed: $(cat "$ERR")"
vs --home "$H" snapshot verify - <"$F" >"$OUT" 2>"$ERR" || fail "verify - < file failed"
expect_rc 0 vs --home "$H" snapshot verify "$F"
pass "cat FILE | verify -, verify - < FILE and verify FILE: OK"

cat "$F" | vs --home "$H" snapshot restore - --to "$T/r2" --domain secrets >"$OUT" 2>"$ERR"
[ "${PIPESTATUS[1]}" = 0 ] || fail "cat | restore --domain secrets failed: $(cat "$ERR")"
diff -r "$S/secrets" "$T/r2/secrets" >&2 || fail "secrets differ"
[ ! -e "$T/r2/etc" ] || fail "restore --domain secrets from a pipe restored etc"
[ "$(vnf_state fw-pipe | cut -d' ' -f1)" = ACTIVE ] || fail "fw-pipe after the restore: $(vnf_state fw-pipe)"
pass "cat FILE | restore - --domain secrets: only that domain"

# --- truncated streams -------------------------------------------------------------
# fw-pipe is ACTIVE here (the restore above): integrity is checked first, so a
# damaged stream is still exit 2, never the ledger's refusal (3).
mkdir "$T/rp"
for N in 0 10 100 5000 $((SIZE / 2)) $((SIZE - 97)) $((SIZE - 1)); do
	# The producer is always drained to its end, so create itself succeeds
	# and the damage is exactly the truncation.
	create_stdout 2>"$T/create.err" | { head -c "$N"; cat >/dev/null; } |
		vs --home "$H" snapshot verify - >"$OUT" 2>"$ERR"
	st=("${PIPESTATUS[@]}")
	[ "${st[0]}" = 0 ] || fail "create exited ${st[0]} with a drained pipe: $(cat "$T/create.err")"
	[ "${st[2]}" = 2 ] || fail "verify of a stream cut at $N bytes exited ${st[2]}, want 2"
	one_line_stderr || fail "cut at $N: stderr"
	grep -Eq 'truncated|empty input|signature' "$ERR" || fail "cut at $N: message: $(cat "$ERR")"
	head -c "$N" "$F" | vs --home "$H" snapshot restore - --to "$T/rp/x" >"$OUT" 2>"$ERR"
	[ "${PIPESTATUS[1]}" = 2 ] || fail "restore of a stream cut at $N bytes exited ${PIPESTATUS[1]}"
	no_leftovers "$T/rp" || fail "restore of a stream cut at $N left something"
done
pass "streams cut at 0, 10, 100, 5000, half, 97 and 1 byte(s) short: verify - and restore - exit 2, nothing left"

# The literal pipeline: head closes early, create may see EPIPE; verify
# must fail either way, and a failed create leaves no AVAILABLE entry.
create_stdout 2>"$T/create.err" | head -c 20000 | vs --home "$H" snapshot verify - >"$OUT" 2>"$ERR"
st=("${PIPESTATUS[@]}")
[ "${st[2]}" = 2 ] || fail "create | head -c 20000 | verify - : verify exited ${st[2]}"
if [ "${st[0]}" != 0 ]; then
	[ "${st[0]}" = 4 ] || fail "create writing into a closed pipe exited ${st[0]}, want 4"
	[ "$(wc -l <"$T/create.err")" = 1 ] || fail "create into a closed pipe: stderr is not one line"
	expect_rc 0 vs --home "$H" snapshot list --json
	[ "$(grep -c '"state": "FAILED"' "$OUT")" -ge 1 ] || fail "create cut by EPIPE is not FAILED"
	echo "# create saw the closed pipe: exit 4, catalog FAILED"
fi
pass "create -o - | head -c 20000 | verify -: verify exits 2 (create: ${st[0]})"

# --- terminal -----------------------------------------------------------------------
if command -v script >/dev/null 2>&1 && script -qec true /dev/null >/dev/null 2>&1; then
	# script(1) gives the command a pseudo-terminal as standard output.
	script -qec "'$VS' --quiet --home '$H' snapshot create --vnf fw-tty --engine dir --source '$S' -o -; echo \"rc=\$?\"" \
		/dev/null >"$T/tty.out" 2>&1 </dev/null
	grep -q 'rc=1' "$T/tty.out" || fail "create -o - to a terminal: $(tr -d '\r' <"$T/tty.out" | head -3)"
	grep -q 'terminal' "$T/tty.out" || fail "create to a terminal: no message"
	grep -aq 'VSNAP' "$T/tty.out" && fail "snapshot bytes were written to the terminal"
	pass "create -o - with a terminal as standard output: refused (exit 1), nothing written"
else
	echo "# (no script(1) with a pseudo-terminal: terminal refusal not tested)"
fi

finish
