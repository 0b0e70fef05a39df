#!/usr/bin/env bash
# What a new user meets: a home that this user may not read (permission
# denied, with its owner, not "no home" then "home exists"), a full disk
# (reads still work, audited commands exit 4 before acting, ENOSPC says
# "no space left"), and a restore target whose parent is missing (usage).
# Parts that need root (another user, a tmpfs) skip with the reason.
source "$(dirname "$0")/lib.sh" "$@"

# Under swtpm.sh (integration.newuser_tpm) each home is bound to its own
# pair of NV counters: tpm_home N selects home N's.
tpm_home() {
	[ -n "${VNFSAFE_TPM:-}" ] || return 0
	export VNFSAFE_TPM_NV_INDEX=$(printf '0x%08x' $((0x01c10300 + 2 * $1)))
	export VNFSAFE_TPM_KEYSTORE_NV_INDEX=$(printf '0x%08x' $((0x01c10301 + 2 * $1)))
}

H=$T/home
S=$T/state
tpm_home 0
expect_rc 0 vs --home "$H" init
register fw
make_state "$S" 1000

# --- the file modes docs/audit.md states -------------------------------------------
modes=$(cd "$H" && stat -c '%a %n' . audit audit/log audit/checkpoints audit/key audit/params \
	kek host.key host.pub vnfsafe.db ledger.db audit-seed | tr '\n' ' ')
want=". 700|audit 700|audit/log 600|audit/checkpoints 600|audit/key 600|audit/params 600|kek 600|"
want+="host.key 600|host.pub 600|vnfsafe.db 600|ledger.db 600|audit-seed 600"
IFS='|' read -ra pairs <<<"$want"
for p in "${pairs[@]}"; do
	name=${p% *} mode=${p##* }
	echo " $modes" | grep -q " $mode $name " || fail "mode of $name is not $mode: $modes"
done
pass "a fresh home: directories 0700, files 0600 (docs/audit.md)"

# --- a missing --to parent is a usage error ------------------------------------
expect_rc 0 vs --home "$H" snapshot create --vnf fw --engine dir --source "$S" -o "$T/fw.vsnap"
expect_rc 1 vs --home "$H" snapshot restore "$T/fw.vsnap" --to "$T/no/such/dir"
one_line_stderr || fail "missing --to parent: not one line"
grep -q "$T/no/such.*does not exist" "$ERR" || fail "missing --to parent not named: $(cat "$ERR")"
[ ! -e "$T/no" ] || fail "a restore with a missing parent created it"
[ "$(vnf_state fw | cut -d' ' -f1)" = REGISTERED ] || fail "a refused restore activated the VNF"
pass "restore --to with a missing parent directory: exit 1, one line naming it, nothing done"

# --- a home this user cannot read ------------------------------------------------
# as_nobody CMD...: runs CMD as user nobody, no groups.
as_nobody() {
	setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups "$@"
}
if [ "$(id -u)" != 0 ]; then
	echo "# skip: permission test: needs root to run the CLI as another user (uid $(id -u))"
elif ! command -v setpriv >/dev/null || ! id nobody >/dev/null 2>&1; then
	echo "# skip: permission test: setpriv or user nobody missing"
elif ! as_nobody test -x "$VS"; then
	echo "# skip: permission test: user nobody cannot run $VS (a private build directory)"
else
	P=$(mktemp -d "${TMPDIR:-/tmp}/vnfsafe-perm.XXXXXX") || fail "mktemp"
	CLEAN_DIRS+=("$P")
	chmod 755 "$P"
	tpm_home 1
	expect_rc 0 vs --home "$P/home" init
	[ "$(stat -c '%a %U' "$P/home")" = "700 root" ] || fail "home mode: $(stat -c '%a %U' "$P/home")"
	for cmd in "vnf list" "vnf status fw" "log show" "snapshot list" "init"; do
		expect_rc 4 as_nobody "$VS" --quiet --home "$P/home" $cmd
		one_line_stderr || fail "'$cmd' as nobody: not one line"
		grep -q "permission denied on $P/home (owned by root)" "$ERR" ||
			fail "'$cmd' as nobody: $(cat "$ERR")"
		! grep -qi "no vnfsafe home\|already exists\|not an empty" "$ERR" ||
			fail "'$cmd' as nobody blames the home's existence"
	done
	# A directory above it that nobody may search ($T is 0700).
	expect_rc 4 as_nobody "$VS" --quiet --home "$H" vnf list
	grep -q "permission denied on $H" "$ERR" || fail "unsearchable parent: $(cat "$ERR")"
	pass "a root home as another user: exit 4, 'permission denied on HOME (owned by root)', for reads and init"
fi

# --- a full disk -----------------------------------------------------------------
M=$T/full
mkdir "$M"
if [ "$(id -u)" != 0 ]; then
	echo "# skip: full-disk test: needs root to mount a tmpfs (uid $(id -u))"
	finish
fi
if ! mount -t tmpfs -o size=8m,mode=0700 vnfsafe-test "$M" 2>"$T/mount.err"; then
	echo "# skip: full-disk test: cannot mount a tmpfs here: $(head -n1 "$T/mount.err")"
	finish
fi
trap 'umount "$M" 2>/dev/null; cleanup' EXIT
FH=$M/home
tpm_home 2
expect_rc 0 vs --home "$FH" init
register fw "$FH"
cp "$FH/ledger.db" "$T/ledger.old" # for the roll-back check below (TPM)
expect_rc 0 vs --home "$FH" vnf start fw
expect_rc 0 vs --home "$FH" snapshot create --vnf fw --engine dir --source "$S" -o "$M/fw.vsnap"
log_before=$(file_size "$FH/audit/log")
# Fill it: large blocks, then pages, until ENOSPC.
dd if=/dev/zero of="$M/fill" bs=64k 2>/dev/null
dd if=/dev/zero of="$M/fill2" bs=4k 2>/dev/null
[ "$(df --output=avail "$M" | tail -n1 | tr -d ' ')" = 0 ] || fail "the tmpfs is not full: $(df "$M")"

# Unaudited reads work.
expect_rc 0 vs --home "$FH" vnf status fw
grep -q '^state *ACTIVE' "$OUT" || fail "vnf status on a full disk: $(cat "$OUT")"
if [ -n "${VNFSAFE_TPM:-}" ]; then # read-only, and still checked against the TPM
	grep -q '^anti-rollback TPM NV counter' "$OUT" || fail "ledger not TPM-checked: $(cat "$OUT")"
	grep -q '^keystore anti-rollback TPM NV counter' "$OUT" ||
		fail "keystore not TPM-checked: $(cat "$OUT")"
	# A ledger file put back from before 'vnf start' is still refused.
	cp "$FH/ledger.db" "$T/ledger.now"
	cat "$T/ledger.old" >"$FH/ledger.db" || fail "cannot put the old ledger back"
	expect_rc 2 vs --home "$FH" vnf status fw
	cat "$T/ledger.now" >"$FH/ledger.db" || fail "cannot put the ledger back"
	expect_rc 0 vs --home "$FH" vnf status fw
	pass "full disk, TPM: the read-only ledger still refuses a rolled-back copy (exit 2)"
fi
expect_rc 0 vs --home "$FH" vnf list
grep -q '^fw ' "$OUT" || fail "vnf list on a full disk: $(cat "$OUT")"
expect_rc 0 vs snapshot inspect "$M/fw.vsnap"
expect_rc 0 vs --home "$FH" snapshot list
grep -q AVAILABLE "$OUT" || fail "snapshot list on a full disk"
expect_rc 0 vs --home "$FH" log show
grep -q 'snapshot.create' "$OUT" || fail "log show on a full disk: $(cat "$OUT")"
expect_rc 0 vs --home "$FH" log verify
grep -q '^intact' "$OUT" || fail "log verify on a full disk: $(cat "$OUT")"
pass "full disk: vnf status, vnf list, snapshot inspect/list, log show, log verify still work"

# init on a full disk: says so, leaves nothing.
expect_rc 4 vs --home "$M/home2" init
one_line_stderr || fail "init on a full disk: not one line"
grep -q "no space left" "$ERR" || fail "init on a full disk: $(cat "$ERR")"
[ -z "$(ls -A "$M" | grep -v '^home$\|^fw.vsnap$\|^fill')" ] || fail "init on a full disk left: $(ls -A "$M")"

# Audited commands refuse before acting, with one line saying why.
for cmd in "snapshot verify $M/fw.vsnap" "vnf stop fw" "vnf pause fw" "log checkpoint" \
	"vnf register other" "snapshot restore $M/fw.vsnap --to $M/r"; do
	expect_rc 4 vs --home "$FH" $cmd
	one_line_stderr || fail "'$cmd' on a full disk: not one line"
	grep -q "no space left" "$ERR" || fail "'$cmd' on a full disk: $(cat "$ERR")"
done
[ "$(file_size "$FH/audit/log")" = "$log_before" ] || fail "the audit log changed on a full disk"
rm -f "$M/fill" "$M/fill2"
[ "$(vnf_state fw "$FH" | cut -d' ' -f1)" = ACTIVE ] || fail "vnf stop acted on a full disk"
expect_rc 1 vs --home "$FH" vnf status other
[ ! -e "$M/r" ] || fail "restore left $M/r"
pass "full disk: audited commands (snapshot verify included) exit 4 'no space left' before acting"

# With space again, everything works (the read-only opens left nothing in the way).
expect_rc 0 vs --home "$FH" vnf stop fw
expect_rc 0 vs --home "$FH" log verify
pass "after the disk is freed: audited commands work again, the log verifies"

# ENOSPC met while writing says so: a snapshot written to the full disk.
tpm_home 0
dd if=/dev/zero of="$M/fill" bs=64k 2>/dev/null
dd if=/dev/zero of="$M/fill2" bs=4k 2>/dev/null
expect_rc 4 vs --home "$H" snapshot create --vnf fw --engine dir --source "$S" -o "$M/big.vsnap"
one_line_stderr || fail "snapshot create onto a full disk: not one line"
grep -qi "no space left" "$ERR" || fail "snapshot create onto a full disk: $(cat "$ERR")"
[ ! -e "$M/big.vsnap" ] || fail "a failed create left its output"
pass "ENOSPC while writing a snapshot: exit 4, one line 'no space left'"
finish
