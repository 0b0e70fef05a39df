#!/usr/bin/env bash
# The whole test suite: installs what it needs, then unit, integration and
# memory tests on the normal build, everything again under ASan+UBSan, each
# libFuzzer target for a bounded time, and the Debian package (built, lintian,
# unpacked, demo run with its binary). Exit 0 only if all passed.
set -euo pipefail
cd "$(dirname "$0")/.."
export TMPDIR=${TMPDIR:-/tmp}

scripts/install-deps.sh

# ctest shows no output of a skipped test: print why each one skipped.
skipped() {
	local log=$1/Testing/Temporary/LastTest.log
	[ -f "$log" ] || return 0
	grep -h '^SKIP: ' "$log" | sort | uniq -c | sed 's/^ */  skipped (x/; s/ SKIP: /): /' || true
}

echo "== normal build: unit, integration, memory tests"
scripts/build.sh release
ctest --test-dir build --output-on-failure --timeout 600
skipped build

echo "== ASan+UBSan build: unit and integration tests"
scripts/build.sh asan
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 VS_SANITIZED=1 \
  ctest --test-dir build-asan --output-on-failure --timeout 900 -LE memory
skipped build-asan

echo "== libFuzzer targets (${VS_FUZZ_SECONDS:-60} s each)"
scripts/build.sh fuzz
ctest --test-dir build-fuzz --output-on-failure -j2 -L fuzz

echo "== Debian package: dpkg-buildpackage (nocheck), lintian, demo with the unpacked binary"
scripts/pkg-check.sh
