#!/usr/bin/env bash
# Memory is bounded by chunk size x sections, not by the state's size: a
# 4 GiB (sparse) file streams through create | verify with a peak RSS under
# 64 MiB in each process, no more than for 256 MiB.
source "$(dirname "$0")/lib.sh" "$@"

LIMIT_KIB=65536

if [ "${VS_SANITIZED:-0}" = 1 ]; then
	echo "# skipped: VS_SANITIZED=1 (sanitizer shadow memory makes RSS meaningless)"
	finish
fi
if [ -z "${PEAKRSS:-}" ]; then
	for c in "$(dirname "$VS")/tests/peakrss" "$(dirname "$VS")/peakrss"; do
		[ -x "$c" ] && PEAKRSS=$c && break
	done
fi
[ -n "${PEAKRSS:-}" ] && [ -x "$PEAKRSS" ] ||
	fail "set PEAKRSS to the peakrss helper (tests/tools/peakrss.c; ctest sets it)"

# The state lives in /dev/shm when it has room (fast), else in $TMPDIR.
AVAIL=$(df --output=avail -B1 /dev/shm 2>/dev/null | tail -n1 | tr -d ' ')
if [ -n "$AVAIL" ] && [ "$AVAIL" -gt $((5 * 1024 * 1024 * 1024)) ] && [ -w /dev/shm ]; then
	BASE=/dev/shm
else
	BASE=${TMPDIR:-/tmp}
fi
W=$(mktemp -d "$BASE/vnfsafe-mem.XXXXXX") || fail "cannot make a work dir in $BASE"
CLEAN_DIRS+=("$W")
echo "# state in $W"

H=$T/home
expect_rc 0 vs --home "$H" init
register mem

# rss FILE: the peakrss_kib figure in FILE.
rss() {
	sed -n 's/^peakrss_kib=\([0-9]\+\)$/\1/p' "$1" | tail -n1
}

# pipeline SIZE: state = one sparse file of SIZE + a small secrets domain;
# sets RSS_C and RSS_V (KiB) of create -o - | verify -.
pipeline() {
	local size=$1 d=$W/state-$1 t0 t1
	mkdir -p "$d/secrets"
	truncate -s "$size" "$d/disk.img"
	head -c 100000 /dev/urandom >"$d/secrets/key"
	t0=$(date +%s%N)
	"$PEAKRSS" "$VS" --quiet --home "$H" snapshot create --vnf mem --engine dir --source "$d" \
		--domain secrets=secrets -o - 2>"$T/c.err" |
		"$PEAKRSS" "$VS" --quiet --home "$H" snapshot verify - >"$OUT" 2>"$T/v.err"
	local st=("${PIPESTATUS[@]}")
	t1=$(date +%s%N)
	[ "${st[0]}" = 0 ] && [ "${st[1]}" = 0 ] ||
		fail "$size: create | verify exited ${st[*]}: $(cat "$T/c.err" "$T/v.err")"
	RSS_C=$(rss "$T/c.err")
	RSS_V=$(rss "$T/v.err")
	[ -n "$RSS_C" ] && [ -n "$RSS_V" ] || fail "no peakrss figure"
	echo "# $size: create peak RSS ${RSS_C} KiB, verify peak RSS ${RSS_V} KiB, $(((t1 - t0) / 1000000)) ms"
}

pipeline 256M
grep -q '256\.[0-9] MiB of state verified' "$OUT" || fail "256M: verify output: $(cat "$OUT")"
C256=$RSS_C V256=$RSS_V
[ "$C256" -lt $LIMIT_KIB ] && [ "$V256" -lt $LIMIT_KIB ] || fail "256 MiB: RSS $C256/$V256 KiB >= $LIMIT_KIB"
pass "256 MiB through create -o - | verify -: create ${C256} KiB, verify ${V256} KiB (< $LIMIT_KIB)"

# Restore of the same size: bounded too, and byte-exact (a hole reads as zeros).
D=$W/state-256M
"$PEAKRSS" "$VS" --quiet --home "$H" snapshot create --vnf mem --engine dir --source "$D" \
	--domain secrets=secrets -o - 2>/dev/null |
	"$PEAKRSS" "$VS" --quiet --home "$H" snapshot restore - --to "$W/restored" >"$OUT" 2>"$T/r.err"
st=("${PIPESTATUS[@]}")
if [ "${st[0]}" = 0 ] && [ "${st[1]}" = 0 ]; then
	RSS_R=$(rss "$T/r.err")
	cmp "$D/disk.img" "$W/restored/disk.img" || fail "restored 256 MiB file differs"
	cmp "$D/secrets/key" "$W/restored/secrets/key" || fail "restored secrets differ"
	rm -rf "$W/restored" "$D"
	[ "$RSS_R" -lt $LIMIT_KIB ] || fail "restore of 256 MiB: RSS $RSS_R KiB"
	pass "256 MiB restore from a pipe: ${RSS_R} KiB (< $LIMIT_KIB), byte-exact"
else
	# Soft: the 4 GiB checks below do not depend on it.
	ERR=$T/r.err soft_fail "create | restore of 256 MiB exited ${st[*]}, want 0 0"
	rm -rf "$W/restored" "$D"
fi

pipeline 4G
grep -q '4\.0 GiB of state verified' "$OUT" || fail "4G: verify output: $(cat "$OUT")"
C4=$RSS_C V4=$RSS_V
[ "$C4" -lt $LIMIT_KIB ] && [ "$V4" -lt $LIMIT_KIB ] || fail "4 GiB: RSS $C4/$V4 KiB >= $LIMIT_KIB"
pass "4 GiB through create -o - | verify -: create ${C4} KiB, verify ${V4} KiB (< $LIMIT_KIB)"

# 16x the data, (almost) the same memory: allow 8 MiB of noise.
[ "$C4" -le $((C256 + 8192)) ] && [ "$V4" -le $((V256 + 8192)) ] ||
	fail "RSS grows with size: create $C256 -> $C4 KiB, verify $V256 -> $V4 KiB"
pass "RSS does not grow with size: create $C256 -> $C4 KiB, verify $V256 -> $V4 KiB (256 MiB -> 4 GiB)"

finish
