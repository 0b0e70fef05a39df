#!/usr/bin/env bash
# build.sh [release|asan|fuzz]: configures and builds into build/, build-asan/
# or build-fuzz/. The binary of the default build is build/vnfsafe.
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:-release}
case "$kind" in
  release) dir=build; args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo) ;;
  asan)    dir=build-asan; args=(-DCMAKE_BUILD_TYPE=Debug -DVS_SANITIZE=ON) ;;
  fuzz)    dir=build-fuzz; args=(-DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang -DVS_FUZZ=ON
                                 -DVS_FUZZ_SECONDS="${VS_FUZZ_SECONDS:-60}") ;;
  *) echo "usage: scripts/build.sh [release|asan|fuzz]" >&2; exit 1 ;;
esac
cmake -S . -B "$dir" -G Ninja "${args[@]}" >/dev/null
ninja -C "$dir"
