# Races on the lineage ledger through the real CLI: many processes (several
# hosts = several homes sharing one ledger) try to activate the same VNF at
# once; exactly one wins, every other one gets exit 3.
# LEDGER_URI (optional) selects the shared ledger (default: a SQLite file).
source "$(dirname "$0")/lib.sh" "$@"

N=${RACERS:-8}
LEDGER=${LEDGER_URI:-sqlite:$T/shared-ledger.db}
echo "# ledger: $LEDGER, $N racers"
for i in $(seq 1 "$N"); do
	expect_rc 0 vs --home "$T/h$i" init
done
lv() { vs --ledger "$LEDGER" "$@"; }
uniq_name() { echo "race-$1-$$-$RANDOM"; }

# race OUTDIR CMD...: runs CMD (with {i} replaced by 1..N) N times at once,
# released together; leaves each exit status in OUTDIR/rc.i.
race() {
	local out=$1 i
	shift
	mkdir -p "$out"
	rm -f "$T/go"
	for i in $(seq 1 "$N"); do
		(
			while [ ! -e "$T/go" ]; do sleep 0.01; done
			args=()
			for a in "$@"; do args+=("${a//\{i\}/$i}"); done
			"${args[@]}" >"$out/out.$i" 2>"$out/err.$i"
			echo $? >"$out/rc.$i"
		) &
	done
	sleep 0.2
	touch "$T/go"
	kill_during
	wait
}

# KILL_DURING (optional): a command run once, just as the first race starts
# (e.g. SIGKILL an etcd member); the races must still have one winner.
kill_during() {
	if [ -n "${KILL_DURING:-}" ]; then
		echo "# during the race: $KILL_DURING"
		$KILL_DURING >/dev/null 2>&1 || fail "KILL_DURING command failed"
		KILL_DURING=
	fi
}

# one_winner OUTDIR: exactly one rc 0, all others 3; prints the winner.
one_winner() {
	local out=$1 wins=0 winner= i rc
	for i in $(seq 1 "$N"); do
		rc=$(cat "$out/rc.$i")
		case $rc in
		0) wins=$((wins + 1)); winner=$i ;;
		3) ;;
		*) echo "racer $i: exit $rc: $(head -1 "$out/err.$i")" >&2; return 1 ;;
		esac
	done
	[ "$wins" -eq 1 ] || { echo "$wins winners" >&2; return 1; }
	WINNER=$winner
}

# --- N hosts race `vnf start` ------------------------------------------------
for round in 1 2 3; do
	V=$(uniq_name start)
	expect_rc 0 lv --home "$T/h1" vnf register "$V"
	race "$T/start$round" "$VS" --quiet --ledger "$LEDGER" --home "$T/h{i}" vnf start "$V"
	one_winner "$T/start$round" || fail "start race round $round"
	expect_rc 0 lv --home "$T/h$WINNER" vnf status --json "$V"
	grep -q '"state": "ACTIVE"' "$OUT" || fail "winner's VNF is not ACTIVE"
	grep -q '"generation": 1,' "$OUT" || fail "generation is not 1 after one activation"
	grep -q '"this_host": "\(.*\)"' "$OUT"
	host=$(sed -n 's/.*"host": "\(.*\)".*/\1/p' "$OUT")
	this=$(sed -n 's/.*"this_host": "\(.*\)".*/\1/p' "$OUT")
	[ "$host" = "$this" ] || fail "ledger owner $host is not the winner $this"
	# Every loser was refused as a fork, and holds no token: stop fails there.
	for i in $(seq 1 "$N"); do
		[ "$i" = "$WINNER" ] && continue
		grep -q 'fork' "$T/start$round/err.$i" || fail "loser $i not refused as a fork"
		expect_rc 3 lv --home "$T/h$i" vnf stop "$V"
	done
	expect_rc 0 lv --home "$T/h$WINNER" vnf stop "$V"
done
pass "3 rounds of $N hosts racing 'vnf start': one winner, $((N - 1)) refused (exit 3) as forks"

# --- N processes race `snapshot restore` of the latest snapshot --------------
V=$(uniq_name restore)
make_state "$T/state"
expect_rc 0 lv --home "$T/h1" vnf register "$V"
expect_rc 0 lv --home "$T/h1" snapshot create --vnf "$V" --engine dir --source "$T/state" -o "$T/r.vsnap"
for round in 1 2 3; do
	mkdir -p "$T/rr$round"
	# After a round the VNF ran and stopped: its latest snapshot is no longer
	# final, so each round races on a snapshot taken while it is stopped.
	[ "$round" = 1 ] || expect_rc 0 lv --home "$T/h1" snapshot create --vnf "$V" --engine dir \
		--source "$T/state" -o "$T/r$round.vsnap"
	[ "$round" = 1 ] || mv "$T/r$round.vsnap" "$T/r.vsnap"
	race "$T/restore$round" "$VS" --quiet --ledger "$LEDGER" --home "$T/h1" snapshot restore \
		"$T/r.vsnap" --to "$T/rr$round/t{i}"
	one_winner "$T/restore$round" || fail "restore race round $round"
	[ "$(ls "$T/rr$round" | wc -l)" -eq 1 ] || fail "restore race: $(ls "$T/rr$round" | wc -l) targets exist"
	same_tree "$T/state" "$T/rr$round/t$WINNER" || fail "the winner's restored tree differs"
	ls -A "$T/rr$round" | grep -q '^\.vs' && fail "staging directories left behind"
	expect_rc 0 lv --home "$T/h1" vnf stop "$V"
done
pass "3 rounds of $N processes racing 'snapshot restore': one restored tree, no staging left"

# --- restores on one host race starts on the others --------------------------
V=$(uniq_name mixed)
expect_rc 0 lv --home "$T/h1" vnf register "$V"
expect_rc 0 lv --home "$T/h1" snapshot create --vnf "$V" --engine dir --source "$T/state" -o "$T/m.vsnap"
mkdir -p "$T/mixed"
rm -f "$T/go"
for i in $(seq 1 "$N"); do
	(
		while [ ! -e "$T/go" ]; do sleep 0.01; done
		if [ "$i" -le $((N / 2)) ]; then
			"$VS" --quiet --ledger "$LEDGER" --home "$T/h1" snapshot restore "$T/m.vsnap" \
				--to "$T/mixed/t$i" >/dev/null 2>&1
		else
			"$VS" --quiet --ledger "$LEDGER" --home "$T/h$i" vnf start "$V" >/dev/null 2>&1
		fi
		echo $? >"$T/mixed/rc.$i"
	) &
done
sleep 0.2
touch "$T/go"
wait
one_winner "$T/mixed" || fail "mixed race"
pass "restores and starts racing from different hosts: exactly one activation"
finish
