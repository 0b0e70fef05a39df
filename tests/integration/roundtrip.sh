#!/usr/bin/env bash
# Round trip: create with two trust domains, restore everything or one
# domain, catalog and header as JSON, crypto-erase, refusals to overwrite.
# Restoring activates the VNF in the home's ledger: a second restore needs
# 'vnf stop' first (else a fork, exit 3), and an older snapshot needs
# --allow-rollback (else a roll-back, exit 3).
source "$(dirname "$0")/lib.sh" "$@"

H=$T/home
S=$T/state
expect_rc 0 vs --home "$H" init
HOSTKEY=$(sed -n 's/^host key id \([0-9a-f]\{64\}\)$/\1/p' "$OUT")
[ -n "$HOSTKEY" ] || fail "init did not print the host key id"
pass "init creates a home and prints a 64-hex host key id"
register fw-1
[ "$(vnf_state fw-1)" = "REGISTERED 0 null" ] || fail "fw-1 after register: $(vnf_state fw-1)"

make_state "$S"
SRC_SHA=$(cd "$S" && find . -type f -exec sha256sum {} + | sort | sha256sum)

A=$T/a.vsnap
expect_rc 0 vs --home "$H" snapshot create --vnf fw-1 --engine dir --source "$S" \
	--domain secrets=secrets --domain db=db -o "$A"
ID=$(cat "$OUT")
[[ $ID =~ ^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$ ]] ||
	fail "create printed '$ID', not a snapshot id"
[ -f "$A" ] || fail "no snapshot file at $A"
[ "$(stat -c %a "$A")" = 600 ] || fail "snapshot file mode is $(stat -c %a "$A"), want 600"
pass "create with domains secrets and db prints the id and writes a 0600 file"

# The snapshot is encrypted: no plaintext of any domain is in the file.
for s in TOPSECRETKEYMATERIAL SECRET-TOKEN-42 'zone lan' 'ACCEPT 10.0.0.0' fw.conf key.pem; do
	if grep -aqF -- "$s" "$A"; then fail "plaintext '$s' found in the snapshot file"; fi
done
pass "no file content or path appears in clear in the snapshot"

expect_rc 0 vs --home "$H" snapshot verify "$A"
grep -q "^OK snapshot $ID of fw-1" "$OUT" || fail "verify output: $(cat "$OUT")"
pass "verify accepts the fresh snapshot"

# --- full restore ---------------------------------------------------------
R=$T/r-full
expect_rc 0 vs --home "$H" snapshot restore "$A" --to "$R"
check "full restore: same content (diff -r) and same types, modes, ns mtimes, symlink targets, empty dirs" \
	same_tree "$S" "$R"
[ -d "$R/spool" ] && [ -z "$(ls -A "$R/spool")" ] && [ -d "$R/secrets/vault" ] ||
	fail "empty directories not restored"
[ -L "$R/current" ] && [ "$(readlink "$R/current")" = etc/fw.conf ] ||
	fail "symlink not restored as a symlink"
[ -f "$R/empty.dat" ] && [ ! -s "$R/empty.dat" ] || fail "0-byte file not restored"
cmp -s "$S/big.bin" "$R/big.bin" || fail "multi-chunk file differs"
[ "$(stat -c %a "$R/etc/fw.conf")/$(stat -c %a "$R/run.sh")/$(stat -c %a "$R/secrets/token")" = 640/755/600 ] ||
	fail "modes 0640/0755/0600 not kept"
[ "$(stat -c %y "$R/etc/fw.conf")" = "$(stat -c %y "$S/etc/fw.conf")" ] || fail "mtime ns differ"
pass "empty dirs, symlink, 0-byte file, multi-chunk file, 0640/0755/0600 and ns mtimes are exact"
[ "$(cd "$S" && find . -type f -exec sha256sum {} + | sort | sha256sum)" = "$SRC_SHA" ] ||
	fail "the source was modified"
ls -A "$T" | grep -q '^\.vsrestore-' && fail "staging directory left beside the target"
pass "source untouched and no staging directory left after a restore"
[ "$(vnf_state fw-1)" = "ACTIVE 1 $ID" ] || fail "fw-1 after the restore: $(vnf_state fw-1)"
pass "the restore made fw-1 ACTIVE here at generation 1, latest = the restored snapshot"

# --- restoring an ACTIVE VNF: a fork ------------------------------------------
expect_rc 3 vs --home "$H" snapshot restore "$A" --to "$T/r-fork"
one_line_stderr || fail "fork refusal: stderr"
grep -q 'fork' "$ERR" || fail "fork refusal does not say fork: $(cat "$ERR")"
[ ! -e "$T/r-fork" ] || fail "refused restore created its target"
ls -A "$T" | grep -Eq '^\.vs(restore|ready)-' && fail "refused restore left a staging directory: $(ls -A "$T")"
[ "$(vnf_state fw-1)" = "ACTIVE 1 $ID" ] || fail "fw-1 after the refused restore: $(vnf_state fw-1)"
pass "a second restore while fw-1 is ACTIVE: exit 3 (fork), no target, no staging, ledger unchanged"
stop_vnf fw-1

# --- stopped after running: its state is newer than its latest snapshot -------
# A is still the latest, but fw-1 ran from it and stopped: restoring A would
# silently drop what it wrote since (a roll-back in substance).
expect_rc 3 vs --home "$H" snapshot restore "$A" --to "$T/r-stale"
one_line_stderr || fail "stale-latest refusal: stderr"
grep -q 'newer' "$ERR" && grep -q 'allow-rollback' "$ERR" ||
	fail "stale-latest refusal does not explain: $(cat "$ERR")"
[ ! -e "$T/r-stale" ] || fail "refused restore created its target"
[ "$(vnf_state fw-1)" = "STOPPED 1 $ID" ] || fail "fw-1 after the refused restore: $(vnf_state fw-1)"
pass "restoring the latest snapshot of a VNF that ran after it: exit 3 (its stopped state is newer), nothing changed"
# The domain restores below knowingly restore A again: authorized.

# --- one domain -----------------------------------------------------------
R2=$T/r-secrets
expect_rc 0 vs --home "$H" snapshot restore "$A" --to "$R2" --domain secrets --allow-rollback
diff -r --no-dereference "$S/secrets" "$R2/secrets" >&2 || fail "secrets domain content differs"
tree_listing "$S/secrets" >"$T/l1"
tree_listing "$R2/secrets" >"$T/l2"
diff "$T/l1" "$T/l2" >&2 || fail "secrets domain metadata differs"
pass "--domain secrets restores the secrets subtree exactly"
extra=$(cd "$R2" && find . -mindepth 1 ! -path './secrets' ! -path './secrets/*')
[ -z "$extra" ] || fail "--domain secrets restored other domains' entries: $extra"
for p in etc run.sh big.bin empty.dat current spool deep db; do
	[ ! -e "$R2/$p" ] && [ ! -L "$R2/$p" ] || fail "--domain secrets restored $p"
done
pass "--domain secrets restores no default-domain and no db-domain entry"
stop_vnf fw-1

R3=$T/r-two
expect_rc 0 vs --home "$H" snapshot restore "$A" --to "$R3" --domain db --domain secrets --allow-rollback
extra=$(cd "$R3" && find . -mindepth 1 ! -path './secrets' ! -path './secrets/*' ! -path './db' ! -path './db/*')
[ -z "$extra" ] || fail "--domain db --domain secrets restored: $extra"
cmp -s "$S/db/conntrack.db" "$R3/db/conntrack.db" && [ -d "$R3/db/wal" ] &&
	cmp -s "$S/secrets/token" "$R3/secrets/token" || fail "db+secrets restore incomplete"
pass "--domain db --domain secrets restores exactly those two domains"
stop_vnf fw-1

expect_rc 1 vs --home "$H" snapshot restore "$A" --to "$T/r-none" --domain nosuch
[ ! -e "$T/r-none" ] || fail "restore with an unknown domain left $T/r-none"
pass "restore --domain of a domain not in the snapshot exits 1, nothing created"

# --- JSON -----------------------------------------------------------------
expect_rc 0 vs --home "$H" snapshot list --json
for pat in "\"snapshot_id\": \"$ID\"" '"vnf": "fw-1"' '"engine": "dir"' '"state": "AVAILABLE"' \
	"\"file_size\": $(file_size "$A")" '"trust_domains": "default,secrets,db"' "\"file\": \"$A\"" \
	'"created_at": "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z"'; do
	grep -Eq -- "$pat" "$OUT" || fail "list --json lacks $pat: $(cat "$OUT")"
done
[ "$(head -c1 "$OUT")" = "[" ] && [ "$(tail -n1 "$OUT")" = "]" ] || fail "list --json is not an array"
pass "list --json: id, vnf, engine, AVAILABLE, exact file size, domains, absolute file path, time"

expect_rc 0 vs snapshot inspect --json "$A"
for pat in "\"snapshot_id\": \"$ID\"" '"vnf": "fw-1"' '"format_version": 1' '"chunk_size": 262144' \
	"\"signer_key_id\": \"$HOSTKEY\"" '"encryption": "AES-256-GCM"' '"verified": false' \
	"\"file_size\": $(file_size "$A")" '"algorithm": "SHA-256"' '"hash": "[0-9a-f]{64}"' \
	'"trust_domain": "default"' '"trust_domain": "secrets"' '"trust_domain": "db"' \
	'"key_id": "[0-9a-f]{32}"' '"expires_at": null' '"generation": 0'; do
	grep -Eq -- "$pat" "$OUT" || fail "inspect --json lacks $pat: $(cat "$OUT")"
done
[ "$(grep -c '"key_id"' "$OUT")" = 3 ] || fail "inspect --json should list 3 sections"
[ "$(grep -Eo '"key_id": "[0-9a-f]{32}"' "$OUT" | sort -u | wc -l)" = 3 ] ||
	fail "the three trust domains do not have three distinct key ids"
HLEN=$(be_uint "$A" 10 4)
grep -q "\"header_length\": $((HLEN + 14))" "$OUT" || fail "header_length does not match the file"
pass "inspect --json (no home needed): id, signer = host key, v1, sizes, 3 distinct domain key ids"

# --- refusals ---------------------------------------------------------------
B=$T/b.vsnap
expect_rc 0 vs --home "$H" snapshot create --vnf fw-1 --engine dir --source "$S" -o "$B"
BID=$(cat "$OUT")
SHA_B=$(sha_of "$B")
expect_rc 1 vs --home "$H" snapshot create --vnf fw-1 --engine dir --source "$S" -o "$B"
[ "$(sha_of "$B")" = "$SHA_B" ] || fail "existing output file was modified"
ls -A "$T" | grep -q partial && fail "partial file left: $(ls -A "$T")"
grep -q 'exists' "$ERR" || fail "message does not say the file exists: $(cat "$ERR")"
pass "create -o EXISTING exits 1 and leaves the file untouched"

mkdir "$T/busy"
echo keep >"$T/busy/mine"
expect_rc 1 vs --home "$H" snapshot restore "$B" --to "$T/busy"
[ "$(ls -A "$T/busy")" = mine ] && [ "$(cat "$T/busy/mine")" = keep ] || fail "non-empty target changed"
ls -A "$T" | grep -q '^\.vsrestore-' && fail "staging directory left"
pass "restore into a non-empty directory exits 1 and changes nothing"

echo x >"$T/afile"
expect_rc 1 vs --home "$H" snapshot restore "$B" --to "$T/afile"
[ "$(cat "$T/afile")" = x ] || fail "restore over a file changed it"
pass "restore --to an existing file exits 1"

mkdir "$T/empty-target"
expect_rc 0 vs --home "$H" snapshot restore "$B" --to "$T/empty-target"
check "restore into an existing empty directory works and matches" same_tree "$S" "$T/empty-target"
stop_vnf fw-1

# --- roll-back --------------------------------------------------------------------
# B is now the latest snapshot of fw-1; A is older.
GEN=$(vnf_state fw-1 | cut -d' ' -f2)
[ "$(vnf_state fw-1)" = "STOPPED $GEN $BID" ] || fail "fw-1 before the roll-back: $(vnf_state fw-1)"
expect_rc 3 vs --home "$H" snapshot restore "$A" --to "$T/r-old"
one_line_stderr || fail "roll-back refusal: stderr"
grep -q 'roll-back' "$ERR" && grep -q -- '--allow-rollback' "$ERR" ||
	fail "roll-back refusal does not name the roll-back and --allow-rollback: $(cat "$ERR")"
[ ! -e "$T/r-old" ] || fail "refused roll-back created its target"
ls -A "$T" | grep -Eq '^\.vs(restore|ready)-' && fail "refused roll-back left a staging directory"
[ "$(vnf_state fw-1)" = "STOPPED $GEN $BID" ] || fail "fw-1 after the refused roll-back: $(vnf_state fw-1)"
pass "restoring the older snapshot without --allow-rollback: exit 3 (roll-back), nothing restored, ledger unchanged"
expect_rc 0 vs --home "$H" snapshot restore "$A" --to "$T/r-old" --allow-rollback
check "restore of the older snapshot with --allow-rollback works and matches" same_tree "$S" "$T/r-old"
[ "$(vnf_state fw-1)" = "ACTIVE $((GEN + 1)) $ID" ] || fail "fw-1 after the roll-back: $(vnf_state fw-1)"
pass "the authorized roll-back is a new generation ($((GEN + 1))) with the older snapshot as latest"
stop_vnf fw-1

# --- crypto-erase ------------------------------------------------------------
# A is fw-1's latest snapshot again: fw-1 continues from it.
expect_rc 3 vs --home "$H" snapshot delete "$ID"
one_line_stderr || fail "delete of the latest: stderr"
grep -q 'latest' "$ERR" && grep -q -- '--force' "$ERR" || fail "delete of the latest: $(cat "$ERR")"
[ -f "$A" ] && expect_rc 0 vs --home "$H" snapshot verify "$A"
pass "deleting the latest snapshot of a VNF is refused (exit 3) without --force; file and keys kept"
cp "$A" "$T/a-copy.vsnap"
expect_rc 0 vs --home "$H" snapshot delete --force "$ID"
grep -q "erased 3 data keys" "$OUT" || fail "delete output: $(cat "$OUT")"
[ ! -e "$A" ] || fail "delete did not remove the file at its recorded path"
pass "delete erases 3 data keys and removes the recorded file"
expect_rc 2 vs --home "$H" snapshot verify "$T/a-copy.vsnap"
one_line_stderr || fail "verify after delete: stderr"
mkdir "$T/rp"
expect_rc 2 vs --home "$H" snapshot restore "$T/a-copy.vsnap" --to "$T/rp/x"
no_leftovers "$T/rp" || fail "restore of an erased snapshot left something"
expect_rc 2 vs --home "$H" snapshot restore "$T/a-copy.vsnap" --to "$T/rp/x" --domain secrets
no_leftovers "$T/rp" || fail "restore --domain of an erased snapshot left something"
pass "after delete a copy of the file fails verify and restore with exit 2, nothing restored"
expect_rc 0 vs --home "$H" snapshot list --json
grep -A4 "\"snapshot_id\": \"$ID\"" "$OUT" | grep -q '"state": "ERASED"' || fail "deleted snapshot not ERASED"
grep -A4 "\"snapshot_id\": \"$BID\"" "$OUT" | grep -q '"state": "AVAILABLE"' || fail "other snapshot not AVAILABLE"
expect_rc 0 vs --home "$H" snapshot verify "$B"
pass "list shows the deleted snapshot ERASED; the other snapshot still verifies"

cp "$B" "$T/b-copy.vsnap"
expect_rc 0 vs --home "$H" snapshot delete --keep-file "$BID"
[ -f "$B" ] || fail "delete --keep-file removed the file"
expect_rc 2 vs --home "$H" snapshot verify "$B"
pass "delete --keep-file keeps the file, which no longer verifies"

finish
