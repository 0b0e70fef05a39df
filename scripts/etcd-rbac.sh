#!/usr/bin/env bash
# etcd-rbac.sh: turn on etcd authentication for a vnfsafe ledger and give
# every host its own etcd user and role (docs/ledger.md, "TLS, users and
# RBAC").
#
# usage: scripts/etcd-rbac.sh --endpoints URL[,URL...] --cacert FILE
#            --cert FILE --key FILE --root-password-file FILE
#            --password-dir DIR [--prefix /vnfsafe/] HOST...
#
#   --endpoints       the cluster's https:// client URLs
#   --cacert          CA of the servers' certificates
#   --cert, --key     a client certificate WITHOUT a Common Name (etcd 3.4's
#                     JSON gateway refuses CN certificates once auth is on)
#   --root-password-file
#                     the password of etcd's "root" user, one line, mode 0600;
#                     root is created with it if auth is still off
#   --password-dir    where each host's password is kept, DIR/HOST.password
#                     (0600); an existing file is used as it is, a missing one
#                     is made with 32 random bytes (base64). Copy it to the host
#                     and pass it there with --etcd-password-file.
#   --prefix          the ledger's key prefix (default /vnfsafe/)
#   HOST...           host names as vnfsafe names them ('vnfsafe vnf status
#                     --json' shows this_host), e.g. node1-1a2b3c4d
#
# For each HOST it creates (or updates) user and role "vnfsafe-HOST" with
#   readwrite on PREFIXlog-anchor/HOST  (this host's audit anchor, one key)
#   readwrite on PREFIXvnf/ (prefix)     (every VNF record: the ledger)
# and nothing else: no host may write another host's anchor. Then it
# enables auth (if still off). Safe to run again to add hosts.
#
# Passwords never appear in argv: etcdctl reads them on stdin
# (--interactive=false) and root's from ETCDCTL_PASSWORD in etcdctl's own
# environment. Needs etcdctl (Debian: etcd-client), API v3.
set -euo pipefail
export ETCDCTL_API=3

die() { echo "etcd-rbac.sh: $*" >&2; exit 1; }

endpoints="" cacert="" cert="" key="" rootpw="" pwdir="" prefix=/vnfsafe/
hosts=()
while [ $# -gt 0 ]; do
	case $1 in
	--endpoints) endpoints=${2:?}; shift 2 ;;
	--cacert) cacert=${2:?}; shift 2 ;;
	--cert) cert=${2:?}; shift 2 ;;
	--key) key=${2:?}; shift 2 ;;
	--root-password-file) rootpw=${2:?}; shift 2 ;;
	--password-dir) pwdir=${2:?}; shift 2 ;;
	--prefix) prefix=${2:?}; shift 2 ;;
	-h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	--*) die "unknown option $1 (see --help)" ;;
	*) hosts+=("$1"); shift ;;
	esac
done
[ -n "$endpoints" ] && [ -n "$cacert" ] && [ -n "$cert" ] && [ -n "$key" ] &&
	[ -n "$rootpw" ] && [ -n "$pwdir" ] || die "missing a required option (see --help)"
[ ${#hosts[@]} -gt 0 ] || die "name at least one HOST"
command -v etcdctl >/dev/null || die "etcdctl not found (apt-get install etcd-client)"
case $endpoints in *http://*) die "refused: --endpoints must be https://" ;; esac
case $prefix in /*/) ;; *) die "--prefix must start and end with '/'" ;; esac

# A password file: one line, regular, ours, 0600 or stricter.
check_secret() {
	local f=$1 mode owner
	[ -f "$f" ] && [ ! -L "$f" ] || die "$f is not a regular file"
	mode=$(stat -c %a "$f") owner=$(stat -c %u "$f")
	[ "$owner" = "$(id -u)" ] || die "$f is not owned by you"
	[ $((8#$mode & 8#077)) -eq 0 ] || die "$f has mode $mode; chmod 600 it"
	[ -s "$f" ] || die "$f is empty"
}
check_secret "$rootpw"
for h in "${hosts[@]}"; do
	case $h in ''|*/*|*[[:space:]]*) die "invalid host name '$h'" ;; esac
done
mkdir -p "$pwdir" && chmod 700 "$pwdir"

ctl() {
	etcdctl --endpoints="$endpoints" --cacert="$cacert" --cert="$cert" --key="$key" "$@"
}
# As root, once auth is on; root's password only in etcdctl's environment.
ctl_root() {
	ETCDCTL_USER=root ETCDCTL_PASSWORD=$(head -n1 "$rootpw") ctl "$@"
}

# etcdctl 3.4 has no "auth status": an anonymous request refused for want of
# a user means auth is on already (then root adds the new hosts).
auth_on=0
if ! out=$(ctl user list 2>&1); then
	case $out in
	*"user name is empty"*) auth_on=1 ;;
	*) die "cannot reach etcd: $(printf %s "$out" | tail -1)" ;;
	esac
fi
as() { if [ $auth_on -eq 1 ]; then ctl_root "$@"; else ctl "$@"; fi; }

if [ $auth_on -eq 0 ]; then
	as user get root >/dev/null 2>&1 || head -n1 "$rootpw" | as user add root --interactive=false >/dev/null
	as role get root >/dev/null 2>&1 || as role add root >/dev/null
	as user grant-role root root >/dev/null
fi

for h in "${hosts[@]}"; do
	u=vnfsafe-$h pw=$pwdir/$h.password
	if [ ! -e "$pw" ]; then
		(umask 077 && head -c 32 /dev/urandom | base64 >"$pw")
	fi
	check_secret "$pw"
	as user get "$u" >/dev/null 2>&1 || head -n1 "$pw" | as user add "$u" --interactive=false >/dev/null
	as role get "$u" >/dev/null 2>&1 || as role add "$u" >/dev/null
	as role grant-permission "$u" readwrite "${prefix}log-anchor/$h" >/dev/null
	as role grant-permission --prefix=true "$u" readwrite "${prefix}vnf/" >/dev/null
	as user grant-role "$u" "$u" >/dev/null
	echo "etcd user $u: readwrite ${prefix}log-anchor/$h and ${prefix}vnf/*; password in $pw"
done

if [ $auth_on -eq 0 ]; then
	ctl auth enable >/dev/null
	echo "etcd authentication enabled"
fi
