#!/usr/bin/env bash
# audit_crash.sh HELPER: SIGKILL during heavy appending (4 threads, group
# commit) never loses an acknowledged record, and a torn tail is reported,
# then moved aside by the next writer and recorded, never taken as valid.
#   rounds 1-4: kill -9 at a random moment
#   round 5:    VNFSAFE_FAULT=audit.mid_write (killed between the halves of a
#               batch write: a torn tail for certain), then a repair killed at
#               audit.torn_moved (bytes copied aside, not yet cut off)
set -euo pipefail
helper=$1
work=$(mktemp -d "${TMPDIR:-/tmp}/vnfsafe-audit-crash.XXXXXX")
trap 'rm -rf "$work"' EXIT
d=$work/audit
"$helper" init "$d" "$work/seed" "$work/key.pem"
fail() { echo "audit_crash: FAIL: $*" >&2; exit 1; }

max_acked=0
for round in 1 2 3 4 5; do
  out=$work/acked.$round
  if [ "$round" = 5 ]; then
    VNFSAFE_FAULT=audit.mid_write "$helper" append "$d" "$work/key.pem" 4 >"$out" &
  else
    "$helper" append "$d" "$work/key.pem" 4 >"$out" &
  fi
  pid=$!
  if [ "$round" != 5 ]; then
    sleep "0.$((RANDOM % 7 + 2))"
    kill -9 "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
  # Only complete lines are acknowledgements (the kill may cut the last one).
  last=$(grep -x '[0-9]*' "$out" | sort -n | tail -1 || true)
  [ -n "$last" ] && [ "$last" -gt "$max_acked" ] && max_acked=$last
  set +e
  v=$("$helper" verify "$d" "$work/seed"); rc=$?
  set -e
  case "$rc:$v" in
    0:intact*) ;;
    2:"damage torn-tail "*) echo "round $round: $v" ;;
    *) fail "round $round: verify before repair: $v (exit $rc)" ;;
  esac
  if [ "$round" = 5 ] && [ "$rc" != 2 ]; then
    fail "round 5: a kill mid-write must leave a torn tail, verify said: $v"
  fi
  if [ "$round" = 5 ]; then
    # A crash in the middle of the repair (copied aside, not yet cut off):
    # still a torn tail, and the next repair finishes the job.
    VNFSAFE_FAULT=audit.torn_moved "$helper" repair "$d" "$work/key.pem" && fail "repair was not killed"
    v=$("$helper" verify "$d" "$work/seed") && fail "round 5: repair killed midway, yet: $v"
    case "$v" in "damage torn-tail "*) ;; *) fail "round 5: after a killed repair: $v" ;; esac
  fi
  "$helper" repair "$d" "$work/key.pem"
  v=$("$helper" verify "$d" "$work/seed") || fail "round $round: after repair: $v"
  n=${v#intact }
  [ "$n" -ge "$max_acked" ] || fail "round $round: $n records but seq $max_acked was acknowledged"
  echo "round $round: $v, highest acknowledged seq $max_acked"
done
ls "$d"/log.torn-* >/dev/null 2>&1 || fail "no log.torn-* file after the mid-write kill"
grep -q '"action":"audit.torn_tail"' "$d/log" || fail "no audit.torn_tail record"
echo "audit_crash: OK ($max_acked acknowledged records all present; torn tails moved aside)"
