#!/usr/bin/env bash
# Audit forwarding (include/vnfsafe/forward.h) against a real rsyslogd
# receiving RFC 5425 syslog over TLS (imtcp + the "ossl" netstream driver,
# mutual TLS), run in the foreground as the current user on a loopback port.
#
#   bash rsyslog.sh /path/to/forward_tool
#
# Asserts: every record arrives exactly once, in order, with the record line
# verbatim as MSG and the right PRI / MSGID / structured data; a torn last
# line is not sent; collector down -> exit 4, cursor unchanged, nothing lost
# after the restart; a crash after sending resends (duplicates, checked by
# seq), never loses; a server certificate for another name or from another CA,
# a plaintext collector, and a collector refusing our (missing) client
# certificate all leave the cursor where it was; a cursor that does not match
# the log is refused with exit 2.
# Exits 77 when rsyslogd, its ossl driver or the openssl CLI is missing.
source "$(dirname "$0")/lib.sh" "$@"
FT=$VS # the driver binary (lib.sh calls its argument VS)
CLI=${2:-} # the vnfsafe CLI, for its 'log forward' (optional)

RSYSLOGD=$(command -v rsyslogd || echo /usr/sbin/rsyslogd)
if [ ! -x "$RSYSLOGD" ]; then
	echo "SKIP: rsyslogd not installed (Debian package rsyslog)"
	exit 77
fi
if ! compgen -G '/usr/lib/*/rsyslog/lmnsd_ossl.so' >/dev/null &&
	! [ -e /usr/lib/rsyslog/lmnsd_ossl.so ]; then
	echo "SKIP: rsyslog's ossl TLS driver not installed (Debian package rsyslog-openssl)"
	exit 77
fi
if ! command -v openssl >/dev/null 2>&1; then
	echo "SKIP: openssl CLI not installed"
	exit 77
fi

PORT_LO=25000
PORT_HI=25999
C=$T/collector     # rsyslogd's config, pid, work dir, output
D=$T/audit         # the audit log directory
P=$T/pki
mkdir -p "$C/work" "$D" "$P"
RS_PID=

# ---- throwaway PKI: CA1 (server + client certs), CA2 (a stranger) ----
pki() {
	local o=$P/openssl.log
	mkca() {
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
			-subj "/CN=$1" -keyout "$P/$1.key" -out "$P/$1.pem" >>"$o" 2>&1
	}
	# mkcert NAME CA EXT
	mkcert() {
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$1" \
			-keyout "$P/$1.key" -out "$P/$1.csr" >>"$o" 2>&1 &&
			printf '%b' "$3" >"$P/$1.ext" &&
			openssl x509 -req -in "$P/$1.csr" -CA "$P/$2.pem" -CAkey "$P/$2.key" \
				-CAcreateserial -days 2 -extfile "$P/$1.ext" -out "$P/$1.pem" >>"$o" 2>&1
	}
	local srv='subjectAltName=DNS:%s\nextendedKeyUsage=serverAuth\n'
	# shellcheck disable=SC2059 # srv is a format
	mkca ca1 && mkca ca2 &&
		mkcert collector ca1 "$(printf "$srv" collector.test)" &&
		mkcert wrongname ca1 "$(printf "$srv" other.test)" &&
		mkcert stranger ca2 "$(printf "$srv" collector.test)" &&
		mkcert client ca1 'extendedKeyUsage=clientAuth\n'
}
pki || { cat "$P/openssl.log" >&2; fail "cannot make the test certificates"; }
chmod 600 "$P"/*.key

port_free() {
	if command -v ss >/dev/null 2>&1; then
		[ -z "$(ss -Htan "( sport = :$1 )" 2>/dev/null)" ] || return 1
	fi
	! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}
listening() {
	if command -v ss >/dev/null 2>&1; then
		[ -n "$(ss -Hltn "( sport = :$1 )" 2>/dev/null)" ]
	else
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
	fi
}
pick_port() {
	local p _
	for _ in $(seq 1 500); do
		p=$((PORT_LO + (RANDOM * 32768 + RANDOM) % (PORT_HI - PORT_LO + 1)))
		port_free "$p" && { echo "$p"; return 0; }
	done
	return 1
}
PORT=$(pick_port) || fail "no free port in $PORT_LO-$PORT_HI"

# start_collector CERTNAME [tls|plain]: rsyslogd on 127.0.0.1:$PORT with
# CERTNAME's cert, requiring a client cert from ca1; records (app-name
# vnfsafe) go to $C/msgs (MSG only) and $C/meta (header fields), the rest to
# $C/other.
start_collector() {
	local cert=$1 mode=${2:-tls} attempt _
	CUR_COLLECTOR=("$@")
	local driver='StreamDriver.Name="ossl" StreamDriver.Mode="1" StreamDriver.AuthMode="x509/certvalid"'
	[ "$mode" = plain ] && driver='StreamDriver.Name="ptcp"'
	for attempt in 1 2 3; do
		cat >"$C/rsyslog.conf" <<-EOF
			global(workDirectory="$C/work" maxMessageSize="128k"
			       defaultNetstreamDriverCAFile="$P/ca1.pem"
			       defaultNetstreamDriverCertFile="$P/$cert.pem"
			       defaultNetstreamDriverKeyFile="$P/$cert.key")
			module(load="imtcp" $driver)
			input(type="imtcp" address="127.0.0.1" port="$PORT")
			template(name="msg" type="string" string="%msg%\n")
			template(name="meta" type="string"
			         string="%pri%|%app-name%|%procid%|%msgid%|%timereported:::date-rfc3339%|%hostname%|%structured-data%\n")
			if \$app-name == "vnfsafe" then {
			  action(type="omfile" file="$C/msgs" template="msg")
			  action(type="omfile" file="$C/meta" template="meta")
			} else {
			  action(type="omfile" file="$C/other")
			}
		EOF
		rm -f "$C/pid"
		"$RSYSLOGD" -n -f "$C/rsyslog.conf" -i "$C/pid" </dev/null >>"$C/rsyslogd.out" 2>&1 &
		RS_PID=$!
		for _ in $(seq 1 200); do
			kill -0 "$RS_PID" 2>/dev/null || break
			listening "$PORT" && return 0
			sleep 0.05
		done
		echo "rsyslogd start $attempt on port $PORT failed: $(tail -n 3 "$C/rsyslogd.out")" >&2
		kill -KILL "$RS_PID" 2>/dev/null
		wait "$RS_PID" 2>/dev/null
		RS_PID=
		PORT=$(pick_port) || return 1
		sed -i "s/^port=.*/port=$PORT/" "$D/forward.conf" 2>/dev/null
	done
	return 1
}

stop_collector() {
	[ -n "$RS_PID" ] || return 0
	kill -TERM "$RS_PID" 2>/dev/null
	local _
	for _ in $(seq 1 200); do
		kill -0 "$RS_PID" 2>/dev/null || break
		sleep 0.05
	done
	kill -KILL "$RS_PID" 2>/dev/null
	wait "$RS_PID" 2>/dev/null
	RS_PID=
}
trap 'stop_collector; cleanup' EXIT
# On failure, show what rsyslogd said too.
eval "lib_fail() $(declare -f fail | tail -n +2)"
fail() {
	echo "  rsyslogd output (last 15 lines):" >&2
	tail -n 15 "$C/rsyslogd.out" 2>/dev/null | sed 's/^/    /' >&2
	lib_fail "$@"
}

seqs_of() { sed -n 's/^{"seq":\([0-9]*\),.*/\1/p' "$1"; }
distinct() { seqs_of "$1" 2>/dev/null | sort -u | wc -l; }

# wait_lines FILE N: FILE holds at least N distinct records (bounded poll:
# rsyslogd writes from its own queue, after our connection closed).
wait_lines() {
	local _
	for _ in $(seq 1 400); do
		[ "$(distinct "$1")" -ge "$2" ] && return 0
		sleep 0.05
	done
	echo "$1 has $(distinct "$1") distinct records, want $2" >&2
	return 1
}

# rsyslogd 8.2302 under heavy load now and then drops a session after the
# handshake (we then read garbage, or nothing, instead of its close_notify).
# The flush must then fail with exit 4 and keep the cursor; the test retries
# it. Records of such an attempt may have arrived: from then on duplicates are
# allowed (loss is still checked, by seq), and GLITCH says so.
GLITCH=0
glitch() {
	[ "$1" = 4 ] && grep -q 'unreachable: no confirmation of receipt' "$ERR" || return 1
	GLITCH=$((GLITCH + 1))
	echo "note: collector dropped a session ($(cat "$ERR")); retrying"
}
# A collector that dropped a session once may keep doing so: restart it (the
# output files stay) before the next try.
restart_collector() {
	stop_collector
	start_collector "${CUR_COLLECTOR[@]}" || fail "cannot restart rsyslogd"
}
# deliver: a flush that must succeed (retried after a collector glitch).
deliver() {
	local try rc
	for try in 1 2 3 4; do
		"$FT" send "$D" >"$OUT" 2>"$ERR"
		rc=$?
		[ $rc = 0 ] && return 0
		glitch $rc || fail "flush failed with exit $rc"
		[ $try -ge 2 ] && restart_collector
	done
	fail "flush failed 4 times"
}
# once WANT: the collector's records are WANT exactly (each once, in order);
# after a glitch, WANT exactly once de-duplicated by seq.
once() {
	if [ "$GLITCH" = 0 ]; then
		cmp -s "$1" "$C/msgs"
	else
		awk -F'[:,]' '!seen[$2]++' "$C/msgs" | cmp -s "$1" -
	fi
}

# ---- the audit log ----
NEXT=1
# append N [OUTCOME]: N records in the log's format, canonical JSON.
append() {
	local n=$1 outcome=${2:-ok} i s
	for i in $(seq 1 "$n"); do
		s=$NEXT
		printf '{"seq":%d,"time":"2026-11-23T21:15:%02d.%06dZ","epoch":1,"host":"host-a","actor":"uid:1000","action":"snapshot.create","vnf":"fw-%d","snapshot":"snap-%d","generation":%d,"outcome":"%s","reason":"","prev":"%064x","mac":"%064x"}\n' \
			"$s" $((s % 60)) "$s" "$s" "$s" "$s" "$outcome" $((s - 1)) "$s" >>"$D/log"
		NEXT=$((s + 1))
	done
}
# special: one record with characters that need escaping or sanitising.
special() {
	printf '{"seq":%d,"time":"2026-11-23T21:16:00.000001Z","epoch":1,"host":"host a","actor":"uid:0","action":"vnf migrate\\u0001 step","vnf":"fw-é","snapshot":"","generation":0,"outcome":"refused","reason":"quote \\" bracket ] backslash \\\\ ünïcode","prev":"p\\"]\\\\x","mac":"%064x"}\n' \
		"$NEXT" "$NEXT" >>"$D/log"
	NEXT=$((NEXT + 1))
}
cursor() { cat "$D/forward.cursor" 2>/dev/null || echo none; }

send() { expect_rc "$1" "$FT" send "$D"; }

# ---- configuration ----
conf() {
	printf 'host=127.0.0.1\nport=%s\nca=%s\nserver_name=collector.test\ntimeout_ms=5000\n' \
		"$PORT" "$P/ca1.pem"
	[ "${1:-}" = nocert ] || printf 'cert=%s\nkey=%s\n' "$P/client.pem" "$P/client.key"
}
printf 'host=127.0.0.1\nfrobnicate=1\nca=/x\n' >"$T/bad.conf"
expect_rc 1 "$FT" configure "$D" <"$T/bad.conf"
check "unknown config key: exit 1, one line naming it" one_line_stderr
grep -q 'line 2: unknown key frobnicate' "$ERR" || fail "message does not name line and key: $(cat "$ERR")"
[ ! -e "$D/forward.conf" ] || fail "a refused config was saved"
conf | expect_rc 0 "$FT" configure "$D"
check "forward.conf saved with mode 0600" test "$(stat -c %a "$D/forward.conf")" = 600

# ---- 1. everything arrives, once, in order, verbatim; torn tail held back ----
append 40
special
append 9 refused
printf '{"seq":%d,"time":"2026-11-23T21:17:00.000000Z","host":"host-a","act' "$NEXT" >>"$D/log"
start_collector collector || fail "cannot start rsyslogd"
deliver
grep -q '^sent=50 queued=0 seq=50 .* torn=1$' "$OUT" || fail "unexpected stats: $(cat "$OUT")"
wait_lines "$C/msgs" 50 || fail "records did not arrive"
head -n 50 "$D/log" >"$T/want"
check "50 records arrived exactly once, in order, each MSG the record line verbatim" \
	once "$T/want"
check "torn tail not sent" test "$(grep -c '"act$' "$C/msgs")" = 0
check "cursor at the end of the last complete line" \
	test "$(cursor)" = "$(printf 'offset=%s\nseq=50' "$(wc -c <"$T/want")")"
m1=$(sed -n 1p "$C/meta")
m41=$(sed -n 41p "$C/meta")
m42=$(sed -n 42p "$C/meta")
check "header of an ok record: authpriv.notice, MSGID, time, host, SD with seq/prev/mac" \
	test "$m1" = "85|vnfsafe|-|snapshot.create|2026-11-23T21:15:01.000001Z|host-a|[vnfsafe@32473 seq=\"1\" prev=\"$(printf %064x 0)\" mac=\"$(printf %064x 1)\"]"
check "header of the special record: warning, sanitised MSGID and host, escaped SD" \
	test "$m41" = "84|vnfsafe|-|vnf_migrate__step|2026-11-23T21:16:00.000001Z|host_a|[vnfsafe@32473 seq=\"41\" prev=\"p\\\"\\]\\\\x\" mac=\"$(printf %064x 41)\"]"
check "refused record is authpriv.warning" test "${m42%%|*}" = 84

# Nothing new: a flush sends nothing and keeps the cursor.
c0=$(cursor)
send 0
check "second flush sends nothing" grep -q '^sent=0 queued=0 seq=50 ' "$OUT"

# ---- 2. collector down: exit 4, cursor unchanged; restart: all arrives ----
stop_collector
# Finish the torn line (as a writer does) and log more while it is down.
printf 'ion":"x","outcome":"ok","mac":"%064x"}\n' "$NEXT" >>"$D/log"
NEXT=$((NEXT + 1))
append 20
send 4
check "collector down: one-line error" one_line_stderr
grep -q "collector 127.0.0.1:$PORT unreachable: .*; 21 records queued" "$ERR" ||
	fail "message: $(cat "$ERR")"
check "collector down: cursor unchanged" test "$(cursor)" = "$c0"
start_collector collector || fail "cannot restart rsyslogd"
deliver
grep -q '^sent=21 queued=0 seq=71 .* torn=0$' "$OUT" || fail "after restart: $(cat "$OUT")"
wait_lines "$C/msgs" 71 || fail "queued records did not arrive"
check "after the outage: every record exactly once, in order" once "$D/log"

# ---- 3. crash after the collector has the bytes, before the cursor moves ----
c0=$(cursor)
append 5
for try in 1 2 3 4; do
	VNFSAFE_FAULT=forward.before_cursor "$FT" send "$D" >"$OUT" 2>"$ERR"
	rc=$?
	[ $rc = 137 ] && break
	glitch $rc || break
	[ $try -ge 2 ] && restart_collector
done
check "fault point forward.before_cursor kills the flush" test $rc = 137
check "crash: cursor unchanged" test "$(cursor)" = "$c0"
# The collector answered our close_notify before the kill, so it should have
# 72-76. rsyslogd 8.2302 under load has been seen to lose such a batch after
# answering (docs/forwarding.md, Limits); the resend below must then cover it.
FIRST_COPY=1
if ! wait_lines "$C/msgs" 76; then
	FIRST_COPY=0
	echo "note: rsyslogd lost records it had confirmed before the crash; the resend must bring them"
fi
deliver
grep -q '^sent=5 queued=0 seq=76 ' "$OUT" || fail "after the crash: $(cat "$OUT")"
wait_lines "$C/msgs" 76 || fail "records lost after the crash and the resend"
# The resent copies: wait until every one of 72-76 is there twice.
for _ in $(seq 1 400); do
	[ "$FIRST_COPY" = 0 ] && break
	[ "$(seqs_of "$C/msgs" | sort -n | uniq -d | wc -l)" -ge 5 ] && break
	sleep 0.05
done
# De-duplicate by seq, as a collector would: the log again, exactly.
seqs_of "$C/msgs" >"$T/seqs"
dups=$(sort -n "$T/seqs" | uniq -d | tr '\n' ' ')
if [ "$GLITCH" = 0 ] && [ "$FIRST_COPY" = 1 ]; then
	check "duplicates only for the 5 records in flight at the crash" \
		test "$dups" = "72 73 74 75 76 "
else
	check "duplicates only among the records in flight at the crash" \
		test -z "$(sort -n "$T/seqs" | uniq -d | awk '$1 < 72 || $1 > 76')"
fi
awk -F'[:,]' '!seen[$2]++' "$C/msgs" >"$T/dedup"
check "de-duplicated by seq: the log exactly, nothing lost" cmp -s "$D/log" "$T/dedup"
cp "$C/msgs" "$T/msgs.before"

# ---- 4. collectors that must be refused: nothing sent, cursor unchanged ----
c0=$(cursor)
append 3
refused() { # refused NAME RC PATTERN
	send "$2"
	one_line_stderr || fail "$1: stderr not one line"
	grep -q -- "$3" "$ERR" || fail "$1: message: $(cat "$ERR")"
	test "$(cursor)" = "$c0" || fail "$1: cursor moved"
	pass "$1: refused with exit $2, cursor unchanged"
}
stop_collector
start_collector wrongname || fail "cannot start rsyslogd"
refused "server cert for another name" 2 "not trusted: certificate refused (expected name collector.test)"
stop_collector
start_collector stranger || fail "cannot start rsyslogd"
refused "server cert from another CA" 2 "not trusted: certificate refused"
stop_collector
start_collector collector plain || fail "cannot start rsyslogd"
refused "plaintext collector" 4 "unreachable: TLS handshake failed"
stop_collector
start_collector collector || fail "cannot start rsyslogd"
conf nocert | expect_rc 0 "$FT" configure "$D"
# TLS 1.3: the server refuses after our handshake is done; we see its alert
# while waiting for close_notify, or a reset while still writing (slow runs).
refused "collector refuses us without a client cert" 4 \
	"unreachable: .*\(certificate required\|Connection reset by peer\)"
check "no refused attempt delivered anything" cmp -s "$T/msgs.before" "$C/msgs"
conf | expect_rc 0 "$FT" configure "$D"
n_before=$(wc -l <"$C/msgs")
deliver
wait_lines "$C/msgs" 79 || fail "records after the refusals did not arrive"
tail -n 3 "$D/log" >"$T/want"
if [ "$GLITCH" = 0 ]; then
	check "after the refusals: the 3 queued records, once" \
		cmp -s "$T/want" <(tail -n +$((n_before + 1)) "$C/msgs")
else
	check "after the refusals: the 3 queued records, nothing lost" \
		cmp -s "$D/log" <(awk -F'[:,]' '!seen[$2]++' "$C/msgs")
fi
n_after=$(wc -l <"$C/msgs")

# ---- 5. a cursor that does not match the log is refused ----
good=$(cursor)
size=$(wc -c <"$D/log")
bad_cursor() { # bad_cursor NAME CONTENT
	printf '%b' "$2" >"$D/forward.cursor"
	send 2
	one_line_stderr || fail "$1: stderr not one line"
	grep -q "forward.cursor" "$ERR" || fail "$1: message: $(cat "$ERR")"
	test "$(cat "$D/forward.cursor")" = "$(printf '%b' "$2")" || fail "$1: cursor rewritten"
	pass "cursor $1: exit 2, one line"
}
bad_cursor "past the end of the log" "offset=$((size + 10))\nseq=79\n"
first=$(head -n 1 "$D/log" | wc -c)
bad_cursor "whose seq is not the record before it" "offset=$first\nseq=7\n"
bad_cursor "in the middle of a line" "offset=$((first + 3))\nseq=1\n"
bad_cursor "that is malformed" "offset=12\nseq=x\n"
printf '%s\n' "$good" >"$D/forward.cursor"
send 0
check "the good cursor again: nothing to send" grep -q '^sent=0 queued=0 seq=79 ' "$OUT"
check "nothing was sent meanwhile" test "$(wc -l <"$C/msgs")" = "$n_after"

# ---- 6. the CLI: 'log forward --save', then every audited command forwards ----
# has_record ACTION VNF: the collector got that command's record (bounded poll).
has_record() {
	local _
	for _ in $(seq 1 200); do
		grep -q "\"action\":\"$1\",\"vnf\":\"$2\"" "$C/msgs" && return 0
		sleep 0.05
	done
	return 1
}
# cli_delivered ACTION VNF: has_record, but after a collector loss (the
# rsyslogd flaw above: a session confirmed by its close_notify whose last
# record never reaches the file, seen about once in 20 ASan runs) the whole
# log is sent once more from the start: duplicates are allowed from then on,
# a record still missing fails.
cli_delivered() {
	has_record "$1" "$2" && return 0
	GLITCH=$((GLITCH + 1))
	echo "note: the collector confirmed but did not write the $1 record; sending the log again"
	rm -f "$HC/audit/forward.cursor"
	cli log forward >/dev/null 2>&1 || return 1
	has_record "$1" "$2"
}
if [ -n "$CLI" ]; then
	HC=$T/cli-home
	cli() { "$CLI" --quiet --home "$HC" "$@"; }
	expect_rc 0 cli init --audit-seed "$T/cli-seed"
	fwd_opts=(--to "127.0.0.1:$PORT" --ca "$P/ca1.pem" --cert "$P/client.pem" --key "$P/client.key"
		  --server-name collector.test --timeout 5000)
	expect_rc 0 cli log forward "${fwd_opts[@]}" --save
	grep -q '^forwarded 1 record to 127.0.0.1' "$OUT" || fail "log forward: $(cat "$OUT")"
	check "CLI: log forward --save sent the home.init record" cli_delivered home.init ""
	expect_rc 0 cli vnf register cli-fw
	[ ! -s "$ERR" ] || fail "an audited command with a collector up printed: $(cat "$ERR")"
	check "CLI: an audited command's record reaches the collector by itself" cli_delivered vnf.register cli-fw
	stop_collector
	expect_rc 0 cli vnf register cli-fw2
	grep -q 'audit forwarding: .*queued' "$ERR" || fail "no queued warning: $(cat "$ERR")"
	check "CLI: collector down: the command still succeeds, says the record is queued" \
		test "$(wc -l <"$ERR")" = 1
	start_collector collector || fail "cannot restart rsyslogd"
	fwd_opts[1]="127.0.0.1:$PORT"
	expect_rc 0 cli log forward "${fwd_opts[@]}" --save
	check "CLI: after the outage, log forward delivers the queued record" cli_delivered vnf.register cli-fw2
	expect_rc 0 cli log verify --seed "$T/cli-seed"
else
	echo "note: no vnfsafe CLI given: its 'log forward' is not tested here"
fi

finish
