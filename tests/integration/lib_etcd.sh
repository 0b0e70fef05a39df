# shellcheck shell=bash
# Helpers to run a throwaway 3-member etcd cluster on 127.0.0.1, for tests
# of the etcd ledger backend. Source it, then:
#
#   etcd_cluster_start DIR [tls]
#                             members m1..m3 with data under DIR/mN, logs in
#                             DIR/mN.log; writes DIR/endpoints (one line,
#                             comma-separated client URLs, member order) and
#                             DIR/pids (one pid per line, member order);
#                             returns once every member reports healthy
#   etcd_cluster_stop DIR     stops the members still running (TERM, then KILL)
#   etcd_kill_member DIR N    SIGKILLs member N (1-based) and waits for it
#   etcd_wait_healthy DIR     waits until every live member reports healthy
#   etcd_curl DIR ARGS...     curl with the cluster's CA and the test client
#                             certificate when it runs TLS
#
# With "tls", etcd_tls_certs first makes, with the openssl CLI, a CA, a
# server certificate for 127.0.0.1/localhost and a client certificate
# WITHOUT a Common Name (etcd 3.4's gateway refuses CN certificates when
# auth is on) under DIR/tls/ (ca.pem, server.pem/.key, client.pem/.key),
# and the members serve clients over https with --client-cert-auth and
# --trusted-ca-file (peers talk plain http on loopback). DIR/endpoints then
# lists https:// URLs. Auth is not enabled here: scripts/etcd-rbac.sh does.
#
# Ports are picked at random in 23000-23999 among those with no socket on
# them; a start that fails (a port taken meanwhile) is retried with others.
# Only the processes started here are signalled, by pid, after checking the
# pid still runs etcd on this data directory.

ETCD_BIN=${ETCD_BIN:-/usr/bin/etcd}
ETCD_MEMBERS=3
ETCD_PORT_LO=23000
ETCD_PORT_HI=23999

etcd_log() { echo "etcd_cluster: $*" >&2; }

# etcd_port_free PORT: nothing listens on or is bound to 127.0.0.1:PORT.
etcd_port_free() {
	local p=$1
	if command -v ss >/dev/null 2>&1; then
		[ -z "$(ss -Htan "( sport = :$p )" 2>/dev/null)" ] || return 1
	fi
	# A connection that succeeds means a listener.
	! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null
}

# etcd_pick_ports N: N distinct free ports on stdout, space-separated.
etcd_pick_ports() {
	local want=$1 span=$((ETCD_PORT_HI - ETCD_PORT_LO + 1)) got=() p tries=0
	while [ ${#got[@]} -lt "$want" ]; do
		tries=$((tries + 1))
		[ $tries -le 2000 ] || { etcd_log "no free ports in $ETCD_PORT_LO-$ETCD_PORT_HI"; return 1; }
		p=$((ETCD_PORT_LO + (RANDOM * 32768 + RANDOM) % span))
		case " ${got[*]} " in *" $p "*) continue ;; esac
		etcd_port_free "$p" && got+=("$p")
	done
	echo "${got[*]}"
}

# etcd_pid_ok DIR N PID: PID is alive and is the etcd of member N in DIR.
etcd_pid_ok() {
	local dir=$1 n=$2 pid=$3
	[ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
	tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -Fxq -- "$dir/m$n"
}

# etcd_member_pid DIR N
etcd_member_pid() {
	sed -n "${2}p" "$1/pids" 2>/dev/null
}

etcd_member_url() {
	tr ',' '\n' <"$1/endpoints" | sed -n "${2}p"
}

# etcd_tls_certs TLSDIR: CA, server (127.0.0.1) and CN-less client certificates.
etcd_tls_certs() {
	local t=$1
	mkdir -p "$t" && chmod 700 "$t" || return 1
	(
		set -e
		cd "$t"
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
			-subj "/O=vnfsafe-test/CN=vnfsafe test CA" -keyout ca.key -out ca.pem \
			-addext "basicConstraints=critical,CA:TRUE" \
			-addext "keyUsage=critical,keyCertSign,cRLSign"
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
			-subj "/O=vnfsafe-test/CN=etcd-server" -keyout server.key -out server.csr
		printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" \
			"extendedKeyUsage=serverAuth,clientAuth" "keyUsage=digitalSignature" >server.ext
		openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
			-days 2 -extfile server.ext -out server.pem
		# No CN: identity comes from the etcd user's token, not the certificate.
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
			-subj "/O=vnfsafe-test" -keyout client.key -out client.csr
		printf '%s\n' "extendedKeyUsage=clientAuth" "keyUsage=digitalSignature" >client.ext
		openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
			-days 2 -extfile client.ext -out client.pem
		chmod 600 ./*.key
	) >"$t/openssl.log" 2>&1 || { etcd_log "openssl failed:"; tail -5 "$t/openssl.log" >&2; return 1; }
}

# etcd_curl DIR ARGS...: curl that trusts the cluster's CA and presents the
# test client certificate when DIR runs TLS.
etcd_curl() {
	local dir=$1
	shift
	if [ -f "$dir/tls/on" ]; then
		curl --noproxy '*' --cacert "$dir/tls/ca.pem" --cert "$dir/tls/client.pem" \
			--key "$dir/tls/client.key" "$@"
	else
		curl --noproxy '*' "$@"
	fi
}

# etcd_healthy DIR URL: the member answers /health with "true".
etcd_healthy() {
	etcd_curl "$1" -s -m 2 "$2/health" 2>/dev/null | grep -q '"health":"true"'
}

# etcd_wait_healthy DIR [SECONDS]: every live member healthy; fails early
# when a member that should run has exited.
etcd_wait_healthy() {
	local dir=$1 limit=${2:-30} n pid url all start=$SECONDS
	while :; do
		all=1
		for n in $(seq 1 $ETCD_MEMBERS); do
			pid=$(etcd_member_pid "$dir" "$n")
			[ -e "$dir/m$n.killed" ] && continue
			if ! etcd_pid_ok "$dir" "$n" "$pid"; then
				etcd_log "member m$n exited; last log lines:"
				tail -5 "$dir/m$n.log" >&2
				return 1
			fi
			url=$(etcd_member_url "$dir" "$n")
			etcd_healthy "$dir" "$url" || all=0
		done
		[ $all -eq 1 ] && return 0
		if [ $((SECONDS - start)) -ge "$limit" ]; then
			etcd_log "cluster in $dir not healthy after $limit s"
			return 1
		fi
		sleep 0.2
	done
}

# etcd_launch DIR PORTS...: starts the members (client ports first, then
# peer ports) in the background, detached from our stdout/stderr.
etcd_launch() {
	local dir=$1 token n cluster="" pids=() eps=()
	shift
	local ports=("$@")
	token=vnfsafe-test-$$-$RANDOM
	local scheme=http tlsargs=()
	if [ -f "$dir/tls/on" ]; then
		scheme=https
		tlsargs=(--cert-file "$dir/tls/server.pem" --key-file "$dir/tls/server.key"
			--client-cert-auth --trusted-ca-file "$dir/tls/ca.pem"
			--auth-token "${VS_ETCD_AUTH_TOKEN:-simple}" --auth-token-ttl "${VS_ETCD_TOKEN_TTL:-300}")
	fi
	for n in $(seq 1 $ETCD_MEMBERS); do
		cluster+="${cluster:+,}m$n=http://127.0.0.1:${ports[ETCD_MEMBERS + n - 1]}"
	done
	for n in $(seq 1 $ETCD_MEMBERS); do
		local c=${ports[n - 1]} p=${ports[ETCD_MEMBERS + n - 1]}
		rm -rf "${dir:?}/m$n" "$dir/m$n.killed"
		"$ETCD_BIN" --name "m$n" --data-dir "$dir/m$n" \
			--listen-client-urls "$scheme://127.0.0.1:$c" \
			--advertise-client-urls "$scheme://127.0.0.1:$c" "${tlsargs[@]}" \
			--listen-peer-urls "http://127.0.0.1:$p" \
			--initial-advertise-peer-urls "http://127.0.0.1:$p" \
			--initial-cluster "$cluster" --initial-cluster-token "$token" \
			--initial-cluster-state new \
			--heartbeat-interval 50 --election-timeout 500 \
			--logger zap --log-outputs stderr \
			</dev/null >"$dir/m$n.log" 2>&1 &
		pids+=($!)
		disown $! # no "Killed" notice from this shell when it is stopped
		eps+=("$scheme://127.0.0.1:$c")
	done
	printf '%s\n' "${pids[@]}" >"$dir/pids"
	(IFS=,; echo "${eps[*]}") >"$dir/endpoints"
}

etcd_cluster_start() {
	local dir=$1 mode=${2:-plain} attempt ports
	mkdir -p "$dir" || return 1
	dir=$(cd "$dir" && pwd) || return 1
	if [ "$mode" = tls ]; then
		etcd_tls_certs "$dir/tls" && : >"$dir/tls/on" || return 1
	fi
	if [ -s "$dir/pids" ]; then
		local n
		for n in $(seq 1 $ETCD_MEMBERS); do
			if etcd_pid_ok "$dir" "$n" "$(etcd_member_pid "$dir" "$n")"; then
				etcd_log "a cluster already runs in $dir"
				return 1
			fi
		done
	fi
	for attempt in 1 2 3; do
		ports=$(etcd_pick_ports $((2 * ETCD_MEMBERS))) || return 1
		# shellcheck disable=SC2086 # word splitting intended
		etcd_launch "$dir" $ports
		etcd_wait_healthy "$dir" 30 && return 0
		etcd_log "start attempt $attempt failed"
		etcd_cluster_stop "$dir"
	done
	return 1
}

# etcd_signal_member DIR N SIGNAL: signals member N if it is still ours;
# waits up to 10 s for it to exit.
etcd_signal_member() {
	local dir=$1 n=$2 sig=$3 pid _
	pid=$(etcd_member_pid "$dir" "$n")
	etcd_pid_ok "$dir" "$n" "$pid" || return 0
	kill "-$sig" "$pid" 2>/dev/null
	for _ in $(seq 1 100); do
		etcd_pid_ok "$dir" "$n" "$pid" || return 0
		sleep 0.1
	done
	return 1
}

etcd_cluster_stop() {
	local dir=$1 n
	[ -f "$dir/pids" ] || return 0
	dir=$(cd "$dir" && pwd) || return 1
	for n in $(seq 1 $ETCD_MEMBERS); do
		etcd_signal_member "$dir" "$n" TERM || etcd_signal_member "$dir" "$n" KILL ||
			etcd_log "member m$n did not exit"
	done
	return 0
}

etcd_kill_member() {
	local dir=$1 n=$2
	dir=$(cd "$dir" && pwd) || return 1
	case $n in
	[1-9]) [ "$n" -le $ETCD_MEMBERS ] || { etcd_log "no member $n"; return 1; } ;;
	*) etcd_log "no member $n"; return 1 ;;
	esac
	etcd_signal_member "$dir" "$n" KILL || { etcd_log "member m$n did not exit"; return 1; }
	: >"$dir/m$n.killed"
}
