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
"${SUDO[@]}" apt-get update -q
"${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
