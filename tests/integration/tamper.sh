#!/usr/bin/env bash
# Tampering: bit flips everywhere, truncation, extension, chunk reordering,
# splicing between snapshots, header swap, wrong home, unknown version.
# Every damaged file must fail 'verify' AND 'restore' with exit 2, with a
# one-line message that leaks no key material, and restore must leave
# neither the target nor a staging directory behind, nor change the ledger.
source "$(dirname "$0")/lib.sh" "$@"

H=$T/home
S=$T/state
RP=$T/rp # parent of every restore target; must stay empty
mkdir "$RP"
expect_rc 0 vs --home "$H" init
register fw-1
make_state "$S" 700

A=$T/a.vsnap
B=$T/b.vsnap
mk() {
	expect_rc 0 vs --home "$H" snapshot create --vnf fw-1 --engine dir --source "$S" \
		--domain secrets=secrets --domain db=db --chunk-size 64 -o "$1"
}
# B first, so that A, the file every damaged copy is made from, is the
# latest snapshot of fw-1 and restores without --allow-rollback.
mk "$B"
mk "$A"
AID=$(cat "$OUT")
expect_rc 0 vs --home "$H" snapshot verify "$A"
expect_rc 0 vs --home "$H" snapshot restore "$A" --to "$RP/x"
same_tree "$S" "$RP/x" || fail "baseline restore differs"
rm -rf "$RP/x"
expect_rc 0 vs --home "$H" snapshot verify "$B"
pass "baseline: two snapshots of the same state (64-byte chunks) verify and restore"

SIZE=$(file_size "$A")
HEND=$((14 + $(be_uint "$A" 10 4))) # end of the header = first record
[ "$(file_size "$B")" = "$SIZE" ] || fail "same state, different sizes"

# --- record walk ---------------------------------------------------------
# BYTES[i] = byte i of A (decimal). RECS: "offset section flags length".
mapfile -t BYTES < <(od -An -tu1 -v -w1 "$A" | tr -d ' ')
[ "${#BYTES[@]}" = "$SIZE" ] || fail "od read ${#BYTES[@]} of $SIZE bytes"
u16() { echo $((BYTES[$1] * 256 + BYTES[$1 + 1])); }
u32() { echo $(((BYTES[$1] << 24) + (BYTES[$1 + 1] << 16) + (BYTES[$1 + 2] << 8) + BYTES[$1 + 3])); }
RECS=()
off=$HEND
while [ "${BYTES[$off]}" = 1 ]; do
	len=$(u32 $((off + 4)))
	RECS+=("$off $(u16 $((off + 1))) ${BYTES[$off + 3]} $len")
	off=$((off + 8 + len + 16))
done
TRAILER=$off
NSEC=$(u16 $((TRAILER + 1)))
[ "${BYTES[$TRAILER]}" = 2 ] && [ "$NSEC" = 3 ] ||
	fail "no trailer (type ${BYTES[$TRAILER]}, $NSEC sections) at $TRAILER"
[ $((TRAILER + 3 + 16 * NSEC + 32 + 64)) = "$SIZE" ] || fail "trailer does not end the file"
nfinal=0
for r in "${RECS[@]}"; do
	set -- $r
	[ "$3" = 1 ] && nfinal=$((nfinal + 1))
	{ [ "$3" = 0 ] && [ "$4" != 64 ]; } && fail "non-final chunk of length $4"
done
[ "$nfinal" = 3 ] || fail "$nfinal final chunks, expected 3"
echo "# $SIZE bytes: header 0..$((HEND - 1)), ${#RECS[@]} chunk records, trailer at $TRAILER"
pass "record walk: ${#RECS[@]} chunk records, 3 final, trailer of 3 sections ends the file"

# expect_bad FILE WHAT [MSG_REGEX]: verify and restore of FILE both exit 2,
# one clean line of stderr, nothing left in $RP. Soft failures.
# fw-1 is STOPPED and restore gets --allow-rollback: the ledger would accept
# any snapshot of fw-1's lineage, so a damaged file is staged as far as it
# goes and only the integrity checks can refuse it (integrity comes first
# anyway: see the ACTIVE case below). The ledger must not change.
CASES=0
expect_bad() {
	local f=$1 what=$2 re=${3:-}
	CASES=$((CASES + 1))
	run vs --home "$H" snapshot verify "$f"
	if [ "$RC" != 2 ]; then
		soft_fail "$what: verify exited $RC, want 2"
		return 1
	fi
	one_line_stderr || { soft_fail "$what: verify stderr"; return 1; }
	if [ -n "$re" ] && ! grep -Eq -- "$re" "$ERR"; then
		soft_fail "$what: verify message does not match /$re/"
		return 1
	fi
	run vs --home "$H" snapshot restore "$f" --to "$RP/x" --allow-rollback
	if [ "$RC" != 2 ]; then
		soft_fail "$what: restore exited $RC, want 2"
		rm -rf "${RP:?}"/* "$RP"/.[!.]* 2>/dev/null
		return 1
	fi
	one_line_stderr || { soft_fail "$what: restore stderr"; return 1; }
	if ! no_leftovers "$RP"; then
		soft_fail "$what: restore left files behind"
		rm -rf "${RP:?}"/* "$RP"/.[!.]* 2>/dev/null
		return 1
	fi
	return 0
}

# --- integrity before the ledger ---------------------------------------------
# fw-1 is ACTIVE (the baseline restore): the ledger would refuse any restore
# as a fork, yet a damaged file is an integrity failure (exit 2), both for the
# latest snapshot and for an older one (where it would also be a roll-back).
X=$T/x.vsnap
[ "$(vnf_state fw-1)" = "ACTIVE 1 $AID" ] || fail "fw-1 after the baseline restore: $(vnf_state fw-1)"
before=$FAILED
for f in "$A" "$B"; do
	set -- ${RECS[1]}
	cp "$f" "$X"
	flip_bit "$X" $(($1 + 8 + 5)) 3
	run vs --home "$H" snapshot restore "$X" --to "$RP/x"
	[ "$RC" = 2 ] || soft_fail "damaged copy of $(basename "$f") while ACTIVE: restore exited $RC, want 2"
	one_line_stderr || soft_fail "damaged copy of $(basename "$f") while ACTIVE: stderr"
	no_leftovers "$RP" || soft_fail "damaged copy of $(basename "$f") while ACTIVE: restore left files"
done
[ "$(vnf_state fw-1)" = "ACTIVE 1 $AID" ] || fail "fw-1 after the damaged restores: $(vnf_state fw-1)"
# The same copy, undamaged, is refused by the ledger instead (a fork).
cp "$A" "$X"
expect_rc 3 vs --home "$H" snapshot restore "$X" --to "$RP/x"
no_leftovers "$RP" || fail "refused restore left files"
[ $FAILED = "$before" ] && pass "while fw-1 is ACTIVE, a damaged copy of A or B fails restore with exit 2 (not 3); undamaged: 3"
stop_vnf fw-1
LEDGER_BEFORE=$(vnf_state fw-1)
[ "$LEDGER_BEFORE" = "STOPPED 1 $AID" ] || fail "fw-1 after stop: $LEDGER_BEFORE"

# --- bit flips -------------------------------------------------------------
cp "$A" "$X"
# flip_case OFF: flips bit (OFF mod 8) of byte OFF in X, checks, flips back.
flip_case() {
	local o=$1 bit=$(($1 % 8))
	put_byte "$X" "$o" $((BYTES[o] ^ (1 << bit)))
	expect_bad "$X" "bit $bit of byte $o flipped"
	put_byte "$X" "$o" "${BYTES[$o]}"
}
before=$FAILED
for ((o = 0; o < HEND; o++)); do flip_case $o; done
cmp -s "$A" "$X" || fail "flip helper did not restore the file"
[ $FAILED = "$before" ] && pass "every one of the $HEND header bytes flipped: verify and restore exit 2, nothing left"

before=$FAILED
n=0
offs=()
for ((o = HEND; o < SIZE; o += 37)); do offs+=($o); done
# Plus: trailer type, section count, first count, digest, first and last
# signature byte; first record's type, section, flags, length, tag.
offs+=($TRAILER $((TRAILER + 2)) $((TRAILER + 10)) $((TRAILER + 3 + 16 * NSEC))
	$((SIZE - 64)) $((SIZE - 1)) $HEND $((HEND + 2)) $((HEND + 3)) $((HEND + 7)) $((HEND + 8 + 64)))
for o in "${offs[@]}"; do
	flip_case "$o"
	n=$((n + 1))
done
cmp -s "$A" "$X" || fail "flip helper did not restore the file"
[ $FAILED = "$before" ] && pass "$n flips from the first record to the last signature byte: all exit 2, nothing left"

# --- truncation ---------------------------------------------------------------
set -- ${RECS[3]}
MIDCHUNK=$(($1 + 8 + 30))
before=$FAILED
for L in 0 1 13 14 $((HEND - 1)) $HEND $((HEND + 5)) $((HEND + 8)) $MIDCHUNK \
	$((TRAILER - 16)) $TRAILER $((TRAILER + 8)) $((SIZE - 64)) $((SIZE - 1)); do
	head -c "$L" "$A" >"$X"
	case $L in
	0) re='empty|truncated' ;;
	*) re='truncated|signature' ;;
	esac
	expect_bad "$X" "truncated to $L bytes" "$re"
done
[ $FAILED = "$before" ] && pass "truncation at 0, 1, 13, 14, header end, mid-chunk, before/inside the trailer, 1 short: exit 2"

# --- extension --------------------------------------------------------------
before=$FAILED
cp "$A" "$X" && printf 'x' >>"$X"
expect_bad "$X" "1 byte appended" 'after the signed trailer'
cp "$A" "$X" && tail -c +$((TRAILER + 1)) "$A" >>"$X"
expect_bad "$X" "trailer appended again" 'after the signed trailer'
set -- ${RECS[-1]}
cp "$A" "$X" && dd if="$A" bs=1 skip="$1" count=$((8 + $4 + 16)) status=none >>"$X"
expect_bad "$X" "last chunk record appended after the trailer"
cp "$A" "$X" && cat "$A" >>"$X"
expect_bad "$X" "whole snapshot appended to itself"
[ $FAILED = "$before" ] && pass "extension (1 byte, a second trailer, a record, a second copy): exit 2"

# --- reordering -------------------------------------------------------------
# swap_records I J: X = A with records I and J (same length) exchanged.
swap_records() {
	local i=$1 j=$2 oi li oj lj
	set -- ${RECS[$i]}
	oi=$1 li=$4
	set -- ${RECS[$j]}
	oj=$1 lj=$4
	[ "$li" = "$lj" ] || fail "swap of records of different lengths"
	cp "$A" "$X"
	copy_range "$A" "$oi" $((8 + li + 16)) "$X" "$oj"
	copy_range "$A" "$oj" $((8 + lj + 16)) "$X" "$oi"
	cmp -s "$A" "$X" && fail "swap produced an identical file"
}
same=() diff_sec=()
for ((i = 0; i < ${#RECS[@]}; i++)); do
	set -- ${RECS[$i]}
	[ "$3" = 0 ] || continue
	for ((j = i + 1; j < ${#RECS[@]}; j++)); do
		a=($1 $2 $3 $4)
		set -- ${RECS[$j]}
		if [ "$3" = 0 ]; then
			[ "$2" = "${a[1]}" ] && [ ${#same[@]} = 0 ] && same=($i $j)
			[ "$2" != "${a[1]}" ] && [ $j = $((i + 1)) ] && [ ${#diff_sec[@]} = 0 ] && diff_sec=($i $j)
		fi
		set -- "${a[@]}"
	done
done
[ ${#same[@]} = 2 ] || fail "no two full chunks of one section"
echo "# same-section pair: records ${same[*]}; cross-section adjacent pair: records ${diff_sec[*]:-none}"
before=$FAILED
swap_records "${same[@]}"
expect_bad "$X" "records ${same[0]} and ${same[1]} (same section) swapped" 'authentication'
if [ ${#diff_sec[@]} = 2 ]; then
	# Each section's own order is intact: only the records digest sees it.
	swap_records "${diff_sec[@]}"
	expect_bad "$X" "adjacent records ${diff_sec[0]} and ${diff_sec[1]} of different sections swapped"
else
	echo "# (no adjacent full chunks of different sections: cross-section swap skipped)"
fi
# Drop one full chunk record.
set -- ${RECS[${same[0]}]}
{ head -c "$1" "$A"; tail -c +$(($1 + 8 + 64 + 16 + 1)) "$A"; } >"$X"
expect_bad "$X" "record ${same[0]} removed"
[ $FAILED = "$before" ] && pass "chunk reorder (same section, across sections) and chunk removal: exit 2"

# --- splicing between snapshots -------------------------------------------------
before=$FAILED
cmp -s <(head -c "$HEND" "$A") <(head -c "$HEND" "$B") && fail "A and B have the same header"
k=$((${#RECS[@]} / 2))
set -- ${RECS[$k]}
cp "$A" "$X"
copy_range "$B" "$1" $((8 + $4 + 16)) "$X" "$1"
cmp -s "$A" "$X" && fail "splice produced an identical file"
expect_bad "$X" "record $k of B spliced into A" 'authentication'
# Header of A, body of B (and the other way round).
{ head -c "$HEND" "$A"; tail -c +$((HEND + 1)) "$B"; } >"$X"
expect_bad "$X" "header of A + body of B"
{ head -c "$HEND" "$B"; tail -c +$((HEND + 1)) "$A"; } >"$X"
expect_bad "$X" "header of B + body of A"
# Everything of A but B's trailer.
{ head -c "$TRAILER" "$A"; tail -c +$((TRAILER + 1)) "$B"; } >"$X"
expect_bad "$X" "trailer of B on A"
[ $FAILED = "$before" ] && pass "splice (a chunk of B into A, header swaps, trailer of B): exit 2"

# --- wrong home ------------------------------------------------------------------
H2=$T/home2
expect_rc 0 vs --home "$H2" init
CASES=$((CASES + 1))
expect_rc 2 vs --home "$H2" snapshot verify "$A"
one_line_stderr || fail "wrong home: stderr"
grep -q 'trust' "$ERR" || fail "wrong home: message should say the signer is not trusted"
expect_rc 2 vs --home "$H2" snapshot restore "$A" --to "$RP/x"
no_leftovers "$RP" || fail "wrong home: restore left files"
pass "a snapshot checked with another home: exit 2 (untrusted signer), nothing restored"

# --- unknown version ----------------------------------------------------------
cp "$A" "$X"
put_byte "$X" 8 0
put_byte "$X" 9 2
before=$FAILED
expect_bad "$X" "format version 2" 'version 2'
[ $FAILED = "$before" ] && pass "format version 2: exit 2 and the message names the version"

[ "$(vnf_state fw-1)" = "$LEDGER_BEFORE" ] ||
	fail "the ledger record of fw-1 changed: $LEDGER_BEFORE -> $(vnf_state fw-1)"
pass "after every damaged restore fw-1 is still STOPPED at generation 1 with A as latest"

echo "# $CASES damaged files checked with verify and restore"
finish
