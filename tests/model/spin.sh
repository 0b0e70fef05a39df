#!/usr/bin/env bash
# Model check of the lineage ledger protocol (docs/ledger.md) with SPIN:
# model/ledger.pml, see model/README.md.
#
#   tests/model/spin.sh            the standard checks (< 60 s on 2 cores)
#   VS_SPIN_DEEP=1 tests/model/spin.sh
#                                  also two faults per run (minutes, ~2 GB each)
#   VS_SPIN_JOBS=N                 checks run in parallel (default 2)
#
# Exit 0 only if every "must hold" check verifies with no error over its
# whole state space AND every "must be caught" check (a deliberately broken
# variant, or the protocol as written against property (e)) makes SPIN
# report the expected assertion. Exit 77 when spin (or a C compiler) is missing.
set -u

here=$(cd "$(dirname "$0")" && pwd)
model=$(cd "$here/../.." && pwd)/model/ledger.pml

if ! command -v spin >/dev/null 2>&1; then
	echo "SKIP: spin not installed"
	exit 77
fi
cc=${CC:-}
if [ -z "$cc" ]; then
	for c in gcc cc clang; do
		if command -v "$c" >/dev/null 2>&1; then cc=$c; break; fi
	done
fi
if [ -z "$cc" ]; then
	echo "SKIP: no C compiler for spin's verifier"
	exit 77
fi
[ -r "$model" ] || { echo "FAIL: $model not found"; exit 1; }

jobs=${VS_SPIN_JOBS:-2}
work=$(mktemp -d "${TMPDIR:-/tmp}/vs-spin.XXXXXX")
trap 'rm -rf "$work"' EXIT

P_AD="(a) fencing (b) generation monotone (c) no roll-back (d) migration recovery, one executing host"
P_AE="$P_AD (e) state preserved, latest restorable"

# name | expect (hold|caught) | spin -D flags | assertion text expected when caught | properties
checks=(
"protocol-2-hosts|hold|-DFIX -DCHECK_STATE|-|$P_AE"
"protocol-3-hosts|hold|-DFIX -DCHECK_STATE -DNH=3 -DOPS0=2 -DOPS=1|-|$P_AE"
"bug-no-fence|caught|-DBUG_NO_FENCE|(r_gen==tk))&&(r_owner==f)|(a) must fail"
"bug-no-cas|caught|-DBUG_NO_CAS|exe[0]&&exe[1]|(d) must fail"
"before-fixes|caught|-DCHECK_STATE|data[me]==head|(e) fails on the protocol before the fixes"
"gap1-restore-stopped|caught|-DCHECK_STATE -DFIX_FENCE -DFIX_CONFIRM|data[me]==head|(e) fails without FIX_FINAL"
"gap2-recover-reads|caught|-DCHECK_STATE -DFIX_FINAL -DFIX_CONFIRM|erased[r_latest]|(e) fails without FIX_FENCE"
"gap2-migration-target|caught|-DCHECK_STATE -DFIX_FINAL -DFIX_CONFIRM -DNSNAP=0|data[me]==head|(e) fails without FIX_FENCE (migration)"
"gap3-refusal-final|caught|-DCHECK_STATE -DFIX_FINAL -DFIX_FENCE -DMAXFAULTS=2 -DOPS0=2|erased[r_latest]|(e) fails without FIX_CONFIRM"
"gap4-id-by-generation|caught|-DFIX -DCHECK_STATE -DFIX_NO_ACTID -DOPS0=5 -DOPS=1|data[me]==head|(e) fails without activation ids"
"gap5-restart-by-read|caught|-DBOOT_READ|(r_gen==tok[me]))|(a) fails if a host restarts on a read"
)
if [ "${VS_SPIN_DEEP:-0}" = 1 ]; then
	checks+=(
	"deep-before-fixes-2-faults|hold|-DMAXFAULTS=2|-|$P_AD"
	"deep-protocol-2-faults|hold|-DFIX -DCHECK_STATE -DMAXFAULTS=2|-|$P_AE"
	)
fi

# one check: build the verifier, run it, write a one-line verdict
run_check() {
	local i=$1 name expect defs want props dir o
	IFS='|' read -r name expect defs want props <<<"${checks[$i]}"
	dir=$work/$i-$name
	mkdir -p "$dir" && cp "$model" "$dir/ledger.pml" && cd "$dir" || return
	local t0=$SECONDS
	# shellcheck disable=SC2086  # defs is a word list
	if ! spin -a $defs ledger.pml >spin.out 2>&1; then
		echo "FAIL $name: spin -a failed: $(head -3 spin.out | tr '\n' ' ')" >verdict
		return
	fi
	if [ "$expect" = hold ]; then
		o="-O1 -DCOLLAPSE -DMEMLIM=4096"   # long runs: compress states; -O1 builds faster than -O2, runs as fast
	else
		o="-O0"                            # stops at the first error: build fast
	fi
	# shellcheck disable=SC2086
	if ! "$cc" $o -DSAFETY -w -o pan pan.c >cc.out 2>&1; then
		echo "FAIL $name: $cc failed: $(head -3 cc.out | tr '\n' ' ')" >verdict
		return
	fi
	./pan -m400000 -n >pan.out 2>&1
	local secs=$((SECONDS - t0))
	local errors states trans first
	errors=$(sed -n 's/.*errors: \([0-9]*\).*/\1/p' pan.out | head -1)
	states=$(awk '/states, stored/ {print $1; exit}' pan.out)
	trans=$(awk '/transitions \(= stored\+matched\)/ {print $1; exit}' pan.out)
	first=$(grep -m1 '^pan:1:' pan.out | sed 's/^pan:1: //')
	local info="states=${states:-?} transitions=${trans:-?} ${secs}s [$defs]"
	if [ "$expect" = hold ]; then
		if [ "$errors" = 0 ] && ! grep -qE 'Search not completed|max search depth too small|out of memory|error: max search depth' pan.out; then
			echo "PASS $name: holds, exhaustive, $info; checked $props" >verdict
		else
			echo "FAIL $name: errors=${errors:-?} ${first:-incomplete search} $info" >verdict
			cp pan.out "$work/$name.pan.out"
			# shellcheck disable=SC2086
			spin -t $defs -p ledger.pml 2>/dev/null | tail -60 >"$work/$name.trail.txt" || true
		fi
	else
		if [ "${errors:-0}" -ge 1 ] && [[ "$first" == *"$want"* ]]; then
			echo "PASS $name: caught as expected, $props: $first; $info" >verdict
		else
			echo "FAIL $name: expected an error containing '$want', got errors=${errors:-?} ${first:-none}; $info" >verdict
		fi
	fi
}

echo "spin: $(spin -V 2>&1 | head -1); compiler: $cc; model: $model; jobs: $jobs"
start=$SECONDS
running=0
for i in "${!checks[@]}"; do
	(run_check "$i") &
	running=$((running + 1))
	if [ "$running" -ge "$jobs" ]; then
		wait -n
		running=$((running - 1))
	fi
done
wait

status=0
total_states=0
for i in "${!checks[@]}"; do
	name=${checks[$i]%%|*}
	v=$(cat "$work/$i-$name/verdict" 2>/dev/null || echo "FAIL $name: no verdict")
	echo "$v"
	case $v in
	PASS*) s=$(sed -n 's/.*states=\([0-9]*\).*/\1/p' <<<"$v"); total_states=$((total_states + ${s:-0})) ;;
	*) status=1 ;;
	esac
done
for f in "$work"/*.trail.txt; do
	[ -e "$f" ] || continue
	echo "--- $(basename "$f"):"; cat "$f"
done
echo "states explored: $total_states in total; wall time $((SECONDS - start)) s"
if [ "$status" = 0 ]; then
	echo "OK: every property holds where it must, and every broken variant is caught"
else
	echo "FAILED"
fi
exit "$status"
