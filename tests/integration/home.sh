#!/usr/bin/env bash
# Home selection (--home before or after the command, $VNFSAFE_HOME, the
# default under $HOME) and symlinks that point outside the state directory.
source "$(dirname "$0")/lib.sh" "$@"

S=$T/state
make_state "$S" 1000
export HOME=$T/userhome # the default home must land here, never in the real one
mkdir "$HOME"

# --- $VNFSAFE_HOME ---------------------------------------------------------
HE=$T/env-home
VNFSAFE_HOME=$HE expect_rc 0 vs init
[ -f "$HE/kek" ] && [ -f "$HE/host.key" ] && [ -f "$HE/vnfsafe.db" ] || fail "VNFSAFE_HOME: no home at $HE"
[ -z "$(ls -A "$HOME")" ] || fail "VNFSAFE_HOME: something was written under \$HOME"
VNFSAFE_HOME=$HE expect_rc 0 vs vnf register env-vnf
[ -f "$HE/ledger.db" ] || fail "VNFSAFE_HOME: the default ledger is not \$VNFSAFE_HOME/ledger.db"
VNFSAFE_HOME=$HE expect_rc 0 vs snapshot create --vnf env-vnf --engine dir --source "$S" -o "$T/env.vsnap"
VNFSAFE_HOME=$HE expect_rc 0 vs snapshot verify "$T/env.vsnap"
VNFSAFE_HOME=$HE expect_rc 0 vs snapshot list
grep -q env-vnf "$OUT" || fail "VNFSAFE_HOME: list does not show the snapshot"
[ -z "$(ls -A "$HOME")" ] || fail "VNFSAFE_HOME: something was written under \$HOME"
pass "VNFSAFE_HOME selects the home (and its ledger) for init, vnf register, create, verify and list; \$HOME untouched"

# --- --home after the command or verb ----------------------------------------
HA="$T/after home" # with a space
expect_rc 0 vs init --home "$HA"
[ -f "$HA/kek" ] || fail "init --home DIR: no home"
expect_rc 0 vs vnf register after-vnf --home "$HA"
VNFSAFE_HOME=$HE expect_rc 1 vs vnf status after-vnf
expect_rc 0 vs snapshot create --vnf after-vnf --engine dir --source "$S" -o "$T/after.vsnap" --home "$HA"
expect_rc 0 vs snapshot verify "$T/after.vsnap" --home "$HA"
expect_rc 0 vs snapshot list --home "$HA"
grep -q after-vnf "$OUT" || fail "--home after the verb: list"
grep -q env-vnf "$OUT" && fail "--home after the verb: list shows the other home's snapshot"
expect_rc 0 vs snapshot restore "$T/after.vsnap" --to "$T/r-after" --home "$HA"
same_tree "$S" "$T/r-after" || fail "--home after the verb: restore differs"
[ "$(vnf_state after-vnf "$HA" | cut -d' ' -f1)" = ACTIVE ] || fail "after-vnf after the restore: $(vnf_state after-vnf "$HA")"
pass "--home after the command/verb (path with a space): init, vnf register, create, verify, list, restore"

# --- precedence ----------------------------------------------------------------
VNFSAFE_HOME=$HE expect_rc 0 vs --home "$HA" snapshot verify "$T/after.vsnap"
VNFSAFE_HOME=$HE expect_rc 2 vs --home "$HA" snapshot verify "$T/env.vsnap"
VNFSAFE_HOME=$HE expect_rc 0 vs snapshot verify "$T/env.vsnap"
VNFSAFE_HOME=$HE expect_rc 2 vs snapshot verify "$T/after.vsnap"
pass "--home wins over VNFSAFE_HOME; each home trusts only its own snapshots (others: exit 2)"

# --- default home ---------------------------------------------------------------
expect_rc 4 vs snapshot list
grep -q "$HOME/.local/share/vnfsafe" "$ERR" || fail "default home is not \$HOME/.local/share/vnfsafe: $(cat "$ERR")"
expect_rc 0 vs init
[ -f "$HOME/.local/share/vnfsafe/kek" ] || fail "default home not created under \$HOME"
expect_rc 0 vs vnf register default-vnf
[ -f "$HOME/.local/share/vnfsafe/ledger.db" ] || fail "default home: no ledger.db in it"
[ "$(stat -c %a "$HOME/.local/share/vnfsafe")" = 700 ] || fail "default home is not 0700"
VNFSAFE_HOME= expect_rc 0 vs snapshot list
pass "without --home or VNFSAFE_HOME (or with it empty) the home is \$HOME/.local/share/vnfsafe"

# --- symlinks pointing outside the state ------------------------------------------
H=$HA
OUTSIDE=$T/outside
mkdir "$OUTSIDE"
echo canary >"$OUTSIDE/canary"
touch -d '2001-01-01 00:00:00.5 UTC' "$OUTSIDE/canary" "$OUTSIDE"
L=$T/linkstate
mkdir -p "$L/conf"
echo local >"$L/conf/local.conf"
ln -s /etc "$L/etc-link"
ln -s /etc/passwd "$L/conf/passwd-link"
ln -s "$OUTSIDE" "$L/outside-dir"
ln -s "$OUTSIDE/canary" "$L/conf/canary-link"
ln -s ../../../../.. "$L/conf/up"
ln -s nowhere/at/all "$L/dangling"
find "$L" -type l -exec touch -h -d "$MT_LINK" {} +
touch -d "$MT_DIR" "$L/conf" "$L"

snap_outside() {
	(cd "$OUTSIDE" && find . -printf '%y %m %T@ %s %p\n' | sort) >"$1"
	ls -A --full-time /etc | sha256sum >>"$1"
	stat -c '%Y %s' /etc/passwd >>"$1"
}
snap_outside "$T/outside.before"
register links
expect_rc 0 vs --home "$H" snapshot create --vnf links --engine dir --source "$L" \
	--domain conf=conf -o "$T/links.vsnap"
expect_rc 0 vs --home "$H" snapshot restore "$T/links.vsnap" --to "$T/r-links"
snap_outside "$T/outside.after"
diff "$T/outside.before" "$T/outside.after" >&2 || fail "restore changed something outside the target"
same_tree "$L" "$T/r-links" || fail "symlinks not restored exactly"
for p in etc-link conf/passwd-link outside-dir conf/canary-link conf/up dangling; do
	[ -L "$T/r-links/$p" ] || fail "$p is not a symlink after restore"
done
[ "$(readlink "$T/r-links/etc-link")" = /etc ] || fail "etc-link target changed"
[ "$(readlink "$T/r-links/conf/passwd-link")" = /etc/passwd ] || fail "passwd-link target changed"
[ "$(cat "$OUTSIDE/canary")" = canary ] || fail "canary changed"
[ "$(find "$T/r-links" -type f | wc -l)" = 1 ] || fail "restore made regular files out of symlinks"
pass "symlinks to /etc, /etc/passwd, an outside dir, upward and dangling restore as symlinks; nothing outside touched"

# Restoring only the domain holding the links behaves the same.
stop_vnf links
expect_rc 0 vs --home "$H" snapshot restore "$T/links.vsnap" --to "$T/r-conf" --domain conf --allow-rollback
[ -L "$T/r-conf/conf/passwd-link" ] && [ -L "$T/r-conf/conf/up" ] || fail "--domain conf: links"
[ ! -e "$T/r-conf/etc-link" ] && [ ! -L "$T/r-conf/etc-link" ] || fail "--domain conf restored etc-link"
snap_outside "$T/outside.after2"
diff "$T/outside.before" "$T/outside.after2" >&2 || fail "restore --domain changed something outside"
pass "restore --domain conf: links restored as links, nothing outside touched"

# A restore target reached through a symlink to the outside dir is not
# followed into: the staging directory is beside the target's name.
# (links is stopped, so the ledger would accept the restore: only the
# target is refused.)
stop_vnf links
ln -s "$OUTSIDE" "$T/via-link"
expect_rc 1 vs --home "$H" snapshot restore "$T/links.vsnap" --to "$T/via-link"
snap_outside "$T/outside.after3"
diff "$T/outside.before" "$T/outside.after3" >&2 || fail "restore --to a symlink wrote outside"
pass "restore --to an existing symlink (to a non-empty dir) is refused, exit 1, nothing written"

mkdir "$T/empty-outside"
ln -s "$T/empty-outside" "$T/via-link2"
expect_rc 1 vs --home "$H" snapshot restore "$T/links.vsnap" --to "$T/via-link2"
[ -z "$(ls -A "$T/empty-outside")" ] || fail "restore --to a symlink to an empty dir wrote through it"
[ -L "$T/via-link2" ] || fail "the symlink target was replaced"
pass "restore --to a symlink to an empty directory is refused, exit 1, nothing written through it"

finish
