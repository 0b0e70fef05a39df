#!/usr/bin/env bash
# The etcd ledger over TLS with etcd users and RBAC (docs/ledger.md, "TLS,
# users and RBAC"; docs/audit.md, "The signed anchor in etcd"), on a real
# 3-member cluster with --client-cert-auth and --trusted-ca-file, auth
# enabled by scripts/etcd-rbac.sh, simple tokens that expire after 3 s.
#
#   - register, start, snapshot create, stop, restore, log verify over https
#     as this host's etcd user; status and verify say so
#   - this host's anchor is refused to: a client certificate without a
#     token, no client certificate, another host's etcd user (curl and CLI)
#   - a token that expires during a command is renewed (the command succeeds)
#   - this host's own credentials moving its anchor back (an older value put
#     back; delete and recreate; delete outright, also with a fresh genesis) are found by 'log verify --seed' (exit 2,
#     kind anchor-moved) and refused by the next audited command
#   - a password file with mode 0644, and credentials over http://, are refused
#   - a plain http:// cluster still works and is reported unauthenticated
#
# usage: etcd_tls.sh VNFSAFE_BIN     (exit 77: etcd, etcdctl, openssl or curl missing)
for tool in etcd etcdctl openssl curl; do
	command -v "$tool" >/dev/null ||
		{ echo "SKIP: $tool not installed (etcd-server, etcd-client, openssl, curl)"; exit 77; }
done
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/integration/lib.sh
source "$here/lib.sh" "$@"
# shellcheck source=tests/integration/lib_etcd.sh
source "$here/lib_etcd.sh"
RBAC=$here/../../scripts/etcd-rbac.sh
export ETCDCTL_API=3

C=$T/cluster P=$T/plain
trap 'etcd_cluster_stop "$C"; etcd_cluster_stop "$P"; cleanup' EXIT
VS_ETCD_TOKEN_TTL=3 etcd_cluster_start "$C" tls || fail "cannot start the TLS etcd cluster"
EPS=$(cat "$C/endpoints")
EP1=${EPS%%,*}
TLS=$C/tls
case $EPS in https://*) pass "3 members serve https with --client-cert-auth: $EPS" ;;
*) fail "endpoints are not https: $EPS" ;; esac

# Two hosts: H (the one under test) and H2 (another host of the cluster).
H=$T/h1 H2=$T/h2
expect_rc 0 vs --home "$H" init
expect_rc 0 vs --home "$H2" init
host_of() {
	"$VS" --quiet --home "$1" --ledger "sqlite:$T/probe-$2.db" vnf register probe --json |
		sed -n 's/^ *"this_host": "\(.*\)",\{0,1\}$/\1/p'
}
HOST=$(host_of "$H" 1) HOST2=$(host_of "$H2" 2)
[ -n "$HOST" ] && [ -n "$HOST2" ] && [ "$HOST" != "$HOST2" ] || fail "host names: '$HOST' '$HOST2'"

(umask 077 && echo "root-$RANDOM$RANDOM" >"$T/root.pw")
expect_rc 0 bash "$RBAC" --endpoints "$EPS" --cacert "$TLS/ca.pem" --cert "$TLS/client.pem" \
	--key "$TLS/client.key" --root-password-file "$T/root.pw" --password-dir "$T/pw" \
	"$HOST" "$HOST2"
grep -q "etcd authentication enabled" "$OUT" || fail "rbac script: $(cat "$OUT")"
pass "etcd-rbac.sh made users vnfsafe-$HOST and vnfsafe-$HOST2 and enabled auth"

U=vnfsafe-$HOST U2=vnfsafe-$HOST2
export VNFSAFE_LEDGER=etcd:$EPS VNFSAFE_ETCD_CACERT=$TLS/ca.pem \
	VNFSAFE_ETCD_CERT=$TLS/client.pem VNFSAFE_ETCD_KEY=$TLS/client.key
as_h() { VNFSAFE_ETCD_USER=$U VNFSAFE_ETCD_PASSWORD_FILE=$T/pw/$HOST.password vs --home "$H" "$@"; }
as_h2() { VNFSAFE_ETCD_USER=$U2 VNFSAFE_ETCD_PASSWORD_FILE=$T/pw/$HOST2.password vs --home "$H2" "$@"; }
KEY=/vnfsafe/log-anchor/$HOST
ctl_as() { # ctl_as USER PWFILE ARGS...: etcdctl as that etcd user
	local u=$1 pwf=$2
	shift 2
	ETCDCTL_USER=$u ETCDCTL_PASSWORD=$(cat "$pwf") etcdctl --endpoints="$EPS" \
		--cacert="$TLS/ca.pem" --cert="$TLS/client.pem" --key="$TLS/client.key" "$@"
}
ctl_h() { ctl_as "$U" "$T/pw/$HOST.password" "$@"; }

# --- end to end over https as this host's user -------------------------------
S=$T/state
mkdir -p "$S/etc" && echo "rules v1" >"$S/etc/fw.conf" && head -c 300000 /dev/urandom >"$S/blob"
expect_rc 0 as_h vnf register fw
expect_rc 0 as_h vnf status fw
grep -q "^ledger auth  authenticated as etcd user $U over TLS" "$OUT" ||
	fail "status does not name the etcd user: $(cat "$OUT")"
pass "vnf register and status over https; status: authenticated as etcd user $U"
expect_rc 0 as_h vnf start fw
expect_rc 0 as_h vnf stop fw
expect_rc 0 as_h snapshot create --vnf fw --engine dir --source "$S" -o "$T/a.vsnap"
expect_rc 0 as_h snapshot restore "$T/a.vsnap" --to "$T/r1"
cmp -s "$S/blob" "$T/r1/blob" || fail "restored state differs"
expect_rc 0 as_h log verify --seed "$H/audit-seed"
grep -q "^intact: " "$OUT" && grep -q "^ledger: authenticated as etcd user $U" "$OUT" ||
	fail "log verify output: $(cat "$OUT")"
pass "start, snapshot create, stop, restore, log verify --seed over https (verify: authenticated)"
ctl_h get "$KEY" --print-value-only >"$T/v.now" || fail "cannot read the anchor as $U"
grep -q '"count":[0-9]*,"create_rev":[0-9]*,"sig":"[0-9a-f]\{128\}"' "$T/v.now" ||
	fail "the anchor is not in the signed form: $(cat "$T/v.now")"
pass "the anchor in etcd carries count, create_rev and an Ed25519 signature"

# --- refusals at this host's anchor ---------------------------------------------
printf '{"key":"%s","value":"%s"}' "$(printf %s "$KEY" | base64 -w0)" \
	"$(printf '{"size":1}' | base64 -w0)" >"$T/put.json"
curl -s --noproxy '*' --cacert "$TLS/ca.pem" --cert "$TLS/client.pem" --key "$TLS/client.key" \
	-X POST "$EP1/v3/kv/put" -d @"$T/put.json" >"$T/c1" 2>&1
grep -q "user name is empty" "$T/c1" || fail "put with a client cert and no token: $(cat "$T/c1")"
pass "anonymous put (client certificate, no token) refused: user name is empty"
curl -s --noproxy '*' --cacert "$TLS/ca.pem" -X POST "$EP1/v3/kv/put" -d @"$T/put.json" \
	>"$T/c2" 2>&1
rc=$?
[ $rc -ne 0 ] && ! grep -q '"header"' "$T/c2" || fail "put without a client certificate: rc $rc $(cat "$T/c2")"
pass "put without a client certificate refused at the TLS handshake (curl exit $rc)"
printf '{"name":"%s","password":"%s"}' "$U2" "$(cat "$T/pw/$HOST2.password")" >"$T/auth2.json"
TOK2=$(curl -s --noproxy '*' --cacert "$TLS/ca.pem" --cert "$TLS/client.pem" \
	--key "$TLS/client.key" -X POST "$EP1/v3/auth/authenticate" -d @"$T/auth2.json" |
	sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
[ -n "$TOK2" ] || fail "cannot authenticate as $U2"
curl -s --noproxy '*' --cacert "$TLS/ca.pem" --cert "$TLS/client.pem" --key "$TLS/client.key" \
	-H "Authorization: $TOK2" -X POST "$EP1/v3/kv/put" -d @"$T/put.json" >"$T/c3" 2>&1
grep -q "permission denied" "$T/c3" || fail "put as $U2: $(cat "$T/c3")"
pass "another host's user ($U2) refused at $KEY: permission denied"
# The CLI with another host's credentials on this home: the command runs (its
# anchor is a warning), the anchor write is refused.
expect_rc 0 env VNFSAFE_ETCD_USER="$U2" VNFSAFE_ETCD_PASSWORD_FILE="$T/pw/$HOST2.password" \
	"$VS" --quiet --home "$H" log checkpoint
grep -q "permission denied" "$ERR" || fail "anchor write as $U2: $(cat "$ERR")"
ctl_h get "$KEY" --print-value-only >"$T/v.after"
cmp -s "$T/v.now" "$T/v.after" || fail "the anchor changed after the refused writes"
expect_rc 0 as_h2 vnf status fw
pass "the CLI as $U2 cannot move $HOST's anchor (permission denied); the anchor is unchanged"

# --- a token that expires during a command -------------------------------------
tokens_gone() { # distinct tokens of user $1 that etcd has expired so far
	grep -h '"deleted a simple token"' "$C"/m*.log | grep -F "\"user-name\":\"$1\"" |
		sed -n 's/.*"token":"\([^"]*\)".*/\1/p' | sort -u | wc -l
}
sleep 6 # every earlier token of $U expires (TTL 3 s)
before=$(tokens_gone "$U") # fw is ACTIVE here since the restore
# The stream waits 6 s on a full pipe between the ledger check and the
# ledger write, so the token taken at the start expires in between.
VNFSAFE_ETCD_USER=$U VNFSAFE_ETCD_PASSWORD_FILE=$T/pw/$HOST.password \
	"$VS" --quiet --home "$H" snapshot create --vnf fw --engine dir --source "$S" -o - \
	2>"$ERR" | { sleep 6; cat; } >"$T/b.vsnap"
rc=${PIPESTATUS[0]}
[ "$rc" -eq 0 ] || fail "snapshot create across a token expiry: exit $rc"
after=$(tokens_gone "$U")
[ "$after" -gt "$before" ] || fail "no token of $U expired during the command ($before -> $after)"
expect_rc 0 as_h snapshot verify "$T/b.vsnap"
pass "a token that expired mid-command ($((after - before)) expired) was renewed: snapshot create succeeded"

# --- this host's own credentials move its anchor back ---------------------------
ctl_h get "$KEY" --print-value-only >"$T/v.old" || fail "cannot read the anchor"
expect_rc 0 as_h log checkpoint # an audited command: the anchor moves on
ctl_h put "$KEY" "$(cat "$T/v.old")" >/dev/null || fail "put-back as $U failed"
expect_rc 2 as_h log verify --seed "$H/audit-seed"
grep -q "anchor-moved" "$ERR" && grep -q "older value was put back" "$ERR" ||
	fail "put-back not reported: $(cat "$ERR")"
pass "an older signed anchor put back with $U's own credentials: log verify exit 2, anchor-moved"
expect_rc 2 as_h log verify --seed "$H/audit-seed" --json
grep -q '"kind": "anchor-moved"' "$OUT" || fail "--json kind: $(cat "$OUT")"
expect_rc 2 as_h log checkpoint
grep -q "put back" "$ERR" || fail "audited command after a put-back: $(cat "$ERR")"
pass "the next audited command refuses to sign over the moved anchor"
expect_rc 0 as_h log restart --reason "test: anchor put back" --audit-seed "$T/seed2"
expect_rc 0 as_h log verify --seed "$T/seed2"
pass "log restart (operator) re-signs the anchor; verify is clean again"

ctl_h get "$KEY" --print-value-only >"$T/v.cur"
ctl_h del "$KEY" >/dev/null && ctl_h put "$KEY" "$(cat "$T/v.cur")" >/dev/null ||
	fail "delete and recreate as $U failed"
expect_rc 2 as_h log verify --seed "$T/seed2"
grep -q "anchor-moved" "$ERR" && grep -q "deleted and recreated" "$ERR" ||
	fail "delete+recreate not reported: $(cat "$ERR")"
pass "the anchor deleted and recreated with the same value: log verify exit 2, anchor-moved"
ctl_h put "$KEY" '{"size":1}' >/dev/null || fail "cannot write garbage as $U"
expect_rc 2 as_h log verify --seed "$T/seed2"
grep -q "anchor-moved" "$ERR" || fail "garbage anchor not reported: $(cat "$ERR")"
pass "an anchor value that does not parse: log verify exit 2, anchor-moved"
expect_rc 0 as_h log restart --reason "test: garbage anchor" --audit-seed "$T/seed3"
expect_rc 0 as_h log verify --seed "$T/seed3"
pass "log restart replaces even an anchor that does not parse; verify is clean again"

# Deleted outright (etcd's RBAC cannot keep a user from deleting a key it may
# write): the home's witness of the key says there was one.
ctl_h del "$KEY" >/dev/null || fail "delete as $U failed"
expect_rc 2 as_h log verify --seed "$T/seed3"
grep -q "anchor-moved" "$ERR" && grep -q "anchor is gone" "$ERR" ||
	fail "deleted anchor not reported: $(cat "$ERR")"
expect_rc 2 as_h log checkpoint
grep -q "anchor is gone" "$ERR" || fail "audited command after a delete: $(cat "$ERR")"
pass "the anchor deleted with $U's own credentials: log verify exit 2, the next audited command refuses"
ctl_h put "$KEY" "{\"genesis\":\"$HOST\"}" >/dev/null || fail "genesis as $U failed"
expect_rc 2 as_h log verify --seed "$T/seed3"
grep -q "anchor is gone" "$ERR" || fail "deleted anchor, new genesis: $(cat "$ERR")"
pass "the anchor deleted and replaced by a fresh genesis value: log verify exit 2"
expect_rc 0 as_h log restart --reason "test: anchor deleted" --audit-seed "$T/seed4"
expect_rc 0 as_h log verify --seed "$T/seed4"
expect_rc 0 as_h log checkpoint
expect_rc 0 as_h log verify --seed "$T/seed4"
pass "log restart after a deleted anchor: verify and audited commands clean again"

# --- refused configurations -----------------------------------------------------
cp "$T/pw/$HOST.password" "$T/open.pw" && chmod 644 "$T/open.pw"
expect_rc 1 env VNFSAFE_ETCD_USER="$U" VNFSAFE_ETCD_PASSWORD_FILE="$T/open.pw" \
	"$VS" --quiet --home "$H2" vnf list
one_line_stderr && grep -q "mode 0644" "$ERR" || fail "0644 password file: $(cat "$ERR")"
grep -qF "$(cat "$T/open.pw")" "$ERR" && fail "the password appears in the message"
pass "a password file with mode 0644 is refused (exit 1, one line, no password)"
expect_rc 1 env VNFSAFE_ETCD_USER=vnfsafe-x VNFSAFE_ETCD_PASSWORD_FILE="$T/pw/$HOST.password" \
	VNFSAFE_ETCD_CACERT= VNFSAFE_ETCD_CERT= VNFSAFE_ETCD_KEY= \
	"$VS" --quiet --home "$H2" --ledger etcd:http://127.0.0.1:1 vnf list
one_line_stderr && grep -q "plain http://" "$ERR" || fail "credentials over http: $(cat "$ERR")"
pass "credentials over plain http:// are refused (exit 1)"
expect_rc 1 env VNFSAFE_ETCD_USER="$U" VNFSAFE_ETCD_PASSWORD_FILE="$T/pw/$HOST.password" \
	"$VS" --quiet --home "$H2" --etcd-user "$U" vnf list --etcd-password-file "$T/open.pw"
grep -q "mode 0644" "$ERR" || fail "options: $(cat "$ERR")"
pass "--etcd-user/--etcd-password-file options are read (and win over the environment)"

# --- the RBAC script again, auth already on: it adds a host as root ------------
expect_rc 0 bash "$RBAC" --endpoints "$EPS" --cacert "$TLS/ca.pem" --cert "$TLS/client.pem" \
	--key "$TLS/client.key" --root-password-file "$T/root.pw" --password-dir "$T/pw" node-3
grep -q "etcd user vnfsafe-node-3" "$OUT" && ! grep -q "enabled" "$OUT" || fail "rbac again: $(cat "$OUT")"
ctl_as vnfsafe-node-3 "$T/pw/node-3.password" put /vnfsafe/log-anchor/node-3 x >/dev/null ||
	fail "node-3 cannot write its own anchor"
ctl_as vnfsafe-node-3 "$T/pw/node-3.password" put "$KEY" x >"$T/c4" 2>&1 &&
	fail "node-3 wrote $HOST's anchor"
grep -q "permission denied" "$T/c4" || fail "node-3 at $KEY: $(cat "$T/c4")"
pass "etcd-rbac.sh run again adds node-3 as root; node-3 writes only its own anchor"

# --- failover over TLS with a token: member 1 (listed first) killed ------------
etcd_kill_member "$C" 1 && etcd_wait_healthy "$C" 30 || fail "cluster unhealthy without m1"
expect_rc 0 as_h vnf status fw
grep -q "^ledger auth  authenticated as etcd user $U" "$OUT" || fail "status: $(cat "$OUT")"
pass "with member 1 killed, the CLI fails over to another member over TLS as $U"

# --- plain http:// still works, reported unauthenticated -------------------------
unset VNFSAFE_ETCD_CACERT VNFSAFE_ETCD_CERT VNFSAFE_ETCD_KEY
etcd_cluster_start "$P" || fail "cannot start the plain etcd cluster"
export VNFSAFE_LEDGER=etcd:$(cat "$P/endpoints")
expect_rc 0 vs --home "$H2" vnf register fw
expect_rc 0 vs --home "$H2" vnf status fw
grep -q "^ledger auth  unauthenticated: etcd over plain http://" "$OUT" || fail "status: $(cat "$OUT")"
expect_rc 0 vs --home "$H2" log verify
grep -q "^ledger: unauthenticated" "$OUT" || fail "verify: $(cat "$OUT")"
pass "plain http:// works and status/verify say: unauthenticated"
finish
