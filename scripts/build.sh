#!/usr/bin/env bash
# build.sh [release|asan|fuzz]: configures and builds into build/, build-asan/
# or build-fuzz/. The binary of the default build is build/vnfsafe.
# These are developer and CI builds: warnings are errors (VS_WERROR), and the
# builds the test suite runs on have the fault and pause points compiled in
# (VS_TEST_HOOKS). A package build has neither (debian/rules).
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:-release}
case "$kind" in
  release) dir=build; args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DVS_TEST_HOOKS=ON) ;;
  asan)    dir=build-asan; args=(-DCMAKE_BUILD_TYPE=Debug -DVS_SANITIZE=ON -DVS_TEST_HOOKS=ON) ;;
  fuzz)    dir=build-fuzz; args=(-DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang -DVS_FUZZ=ON
                                 -DVS_FUZZ_SECONDS="${VS_FUZZ_SECONDS:-60}") ;;
  *) echo "usage: scripts/build.sh [release|asan|fuzz]" >&2; exit 1 ;;
esac
cmake -S . -B "$dir" -G Ninja -DVS_WERROR=ON "${args[@]}" >/dev/null
ninja -C "$dir"
