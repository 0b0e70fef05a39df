#!/usr/bin/env bash
# The main job on the embedded defaults, narrated: install, build, then seal a
# sample VNF's state with two trust domains, inspect, verify, show a tampered
# copy refused, restore and compare, show a fork and a roll-back refused by
# the lineage ledger, restore one domain alone, crypto-erase, and read and
# verify the tamper-evident audit log that recorded all of it.
# demo.sh [VNFSAFE]: with a binary (an installed or unpacked package's), runs
# the steps with it instead of installing the dependencies and building.
set -euo pipefail
if [ $# -gt 0 ]; then
  VS=$(realpath "$1")
  [ -x "$VS" ] || { echo "demo: $1 is not an executable" >&2; exit 1; }
  cd "$(dirname "$0")/.."
else
  cd "$(dirname "$0")/.."
  scripts/install-deps.sh
  scripts/build.sh release >/dev/null
  VS=$PWD/build/vnfsafe
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/vnfsafe-demo.XXXXXX")
trap 'rm -rf "$work"' EXIT
export VNFSAFE_HOME=$work/home
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

step "1. Initialize a state home (host signing key, key-encryption key, SQLite keystore, audit log)"
run "$VS" init --audit-seed "$work/audit-seed"  # the seed belongs off this host

step "2. A sample AMF state directory: config (domain 'default') and subscriber keys (domain 'subscriber-keys')"
state=$work/amf-state
mkdir -p "$state/config" "$state/sessions" "$state/subscriber-keys/k-amf" "$state/cache"
printf 'plmn: 00101\namf-region: 1\n' > "$state/config/amf.yaml"
head -c 3000000 /dev/urandom > "$state/sessions/ue-contexts.db"
head -c 32 /dev/urandom > "$state/subscriber-keys/k-amf/current.key"
chmod 600 "$state/subscriber-keys/k-amf/current.key"
ln -s config/amf.yaml "$state/active.yaml"
find "$state" -printf '  %M %p\n' | sed "s|$work/||"

step "3. Register the VNF in the lineage ledger, then seal its state: one data key per trust domain"
run "$VS" vnf register amf-1 --sensitive-domain subscriber-keys
run "$VS" snapshot create --vnf amf-1 --engine dir --source "$state" \
    --domain subscriber-keys=subscriber-keys -o "$work/amf-1.vsnap"

step "4. Inspect the header (no keys needed, no secrets shown)"
run "$VS" snapshot inspect "$work/amf-1.vsnap"

step "5. Verify: every chunk of every domain authenticated, signature checked"
run "$VS" snapshot verify "$work/amf-1.vsnap"

step "6. Tamper with a copy (flip one byte in the middle): refused with exit 2"
cp "$work/amf-1.vsnap" "$work/tampered.vsnap"
size=$(stat -c %s "$work/tampered.vsnap")
printf '\xff' | dd of="$work/tampered.vsnap" bs=1 seek=$((size / 2)) conv=notrunc status=none
set +e
"$VS" snapshot restore "$work/tampered.vsnap" --to "$work/from-tampered"; rc=$?
set -e
echo "exit status: $rc (2 = integrity failure); restored directory exists: $([ -e "$work/from-tampered" ] && echo yes || echo no)"
[ "$rc" -eq 2 ] && [ ! -e "$work/from-tampered" ] || { echo "demo: tampering was NOT refused" >&2; exit 1; }

step "7. Restore the genuine snapshot and compare with the original"
run "$VS" snapshot restore "$work/amf-1.vsnap" --to "$work/restored"
run diff -r "$state" "$work/restored" && echo "identical: contents, and (checked below) modes and times"
diff <(cd "$state" && find . -printf '%m %T@ %l %p\n' | sort) \
     <(cd "$work/restored" && find . -printf '%m %T@ %l %p\n' | sort)

step "8. Restoring is activating: amf-1 now runs here; a second restore would fork it (exit 3)"
run "$VS" vnf status amf-1
set +e
"$VS" snapshot restore "$work/amf-1.vsnap" --to "$work/fork"; rc=$?
set -e
echo "exit status: $rc (3 = refused by policy)"
[ "$rc" -eq 3 ] && [ ! -e "$work/fork" ] || { echo "demo: a fork was NOT refused" >&2; exit 1; }

step "9. Stop it, take a newer snapshot: the old one is now a roll-back (exit 3)"
run "$VS" vnf stop amf-1 >/dev/null
printf 'plmn: 00101\namf-region: 2\n' > "$state/config/amf.yaml"
run "$VS" snapshot create --vnf amf-1 --engine dir --source "$state" \
    --domain subscriber-keys=subscriber-keys -o "$work/amf-1-new.vsnap"
set +e
"$VS" snapshot restore "$work/amf-1.vsnap" --to "$work/rollback"; rc=$?
set -e
echo "exit status: $rc (3 = refused by policy)"
[ "$rc" -eq 3 ] || { echo "demo: a roll-back was NOT refused" >&2; exit 1; }

step "10. Restore only the 'subscriber-keys' trust domain of the latest snapshot"
run "$VS" snapshot restore "$work/amf-1-new.vsnap" --to "$work/keys-only" --domain subscriber-keys
find "$work/keys-only" -printf '  %p\n' | sed "s|$work/||"
run "$VS" vnf stop amf-1 >/dev/null

step "11. The catalog, then crypto-erase: the file becomes unreadable everywhere"
run "$VS" snapshot list
id=$("$VS" snapshot inspect --json "$work/amf-1.vsnap" | sed -n 's/.*"snapshot_id": "\(.*\)".*/\1/p')
cp "$work/amf-1.vsnap" "$work/copy-elsewhere.vsnap"
run "$VS" snapshot delete "$id"
set +e
"$VS" snapshot verify "$work/copy-elsewhere.vsnap"; rc=$?
set -e
[ "$rc" -eq 2 ] || { echo "demo: an erased snapshot was still readable" >&2; exit 1; }

step "12. The audit log recorded every command, refusals included; verify it with the seed"
run "$VS" log show
run "$VS" log checkpoint
run "$VS" log verify --seed "$work/audit-seed"
cp -a "$VNFSAFE_HOME" "$work/home-copy"
sed -i '3d' "$work/home-copy/audit/log"   # an intruder deletes a record
set +e
VNFSAFE_HOME=$work/home-copy "$VS" log verify --seed "$work/audit-seed"; rc=$?
set -e
[ "$rc" -eq 2 ] || { echo "demo: a deleted audit record went unnoticed" >&2; exit 1; }
printf '\n\033[1mdemo complete: all steps behaved as expected\033[0m\n'
