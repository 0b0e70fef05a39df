#!/usr/bin/env bash
# Installs every Debian 12 package vnfsafe needs to build, test, fuzz and
# benchmark. Uses apt-get as root, sudo otherwise; does nothing when all is there.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config   # toolchain (gcc, ASan/UBSan runtimes)
  libssl-dev openssl                             # OpenSSL 3: all crypto
  libsqlite3-dev sqlite3                         # keystore and catalog
  libjansson-dev                                 # JSON output, etcd records
  libcurl4-openssl-dev                           # etcd v3 JSON gateway client
  etcd-server etcd-client curl                   # ledger tests: real 3-node cluster
  spin                                           # ledger protocol model check
  libcmocka-dev                                  # unit tests
  swtpm swtpm-tools tpm2-tools libtss2-dev       # ledger anchor: TPM NV counter (tpm2-tss), swtpm in tests
  clang libclang-rt-14-dev                       # libFuzzer targets
  age                                            # benchmark peer (bench/seal)
  strace                                         # bench/cli: syncs per operation, by file
  rsyslog rsyslog-openssl                        # audit forwarding test: real collector over TLS
  debhelper dpkg-dev fakeroot lintian git        # the .deb: dpkg-buildpackage, lintian (scripts/pkg-check.sh)
  man-db groff-base                              # man page checks: man -l, lexgrog (docs.man)
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1; then
  SUDO=(sudo)
else
  echo "install-deps: missing packages (${missing[*]}) and not root, no sudo: install them as root" >&2
  exit 4
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# rsyslog's maintainer scripts start the system syslog daemon. Without systemd
# as PID 1 (container, chroot) keep them from starting anything, unless the
# image already has a policy: a temporary policy-rc.d denying every action.
POLICY=/usr/sbin/policy-rc.d
if [ ! -e "$POLICY" ] && [ "$(cat /proc/1/comm 2>/dev/null)" != systemd ]; then
  printf '#!/bin/sh\n# install-deps.sh: no service starts during this install\nexit 101\n' |
    "${SUDO[@]}" tee "$POLICY" >/dev/null
  "${SUDO[@]}" chmod 755 "$POLICY"
  trap '"${SUDO[@]}" rm -f "$POLICY"' EXIT
fi
"${SUDO[@]}" apt-get update -q
"${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
