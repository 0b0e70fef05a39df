#!/usr/bin/env bash
# Prints docs/cli.md from the binary's own --help texts, so the two never
# disagree (a test compares them): scripts/gen-cli-doc.sh build/vnfsafe > docs/cli.md
set -euo pipefail
vs=${1:-build/vnfsafe}
echo "# vnfsafe command line"
echo
echo "Generated from \`vnfsafe ... --help\` by \`scripts/gen-cli-doc.sh\`; do not edit by hand."
section() {
  echo
  echo "## $1"
  echo
  echo '```'
  shift
  "$vs" "$@" --help
  echo '```'
}
section "vnfsafe"
section "vnfsafe init" init
section "vnfsafe snapshot" snapshot
for verb in create verify inspect restore list delete; do
  section "vnfsafe snapshot $verb" snapshot "$verb"
done
section "vnfsafe vnf" vnf
for verb in register status list start stop pause resume recover release retire; do
  section "vnfsafe vnf $verb" vnf "$verb"
done
section "vnfsafe log" log
for verb in show verify checkpoint proof forward restart; do
  section "vnfsafe log $verb" log "$verb"
done
