#!/usr/bin/env bash
# unit_security: `systemd-analyze security --offline=true` on the built unit (build/packaging/mtce@.service,
# the file the package installs) for each role instance; fails when a role's overall exposure is above 4.0
# (the unit ran at 9.5 "UNSAFE" while the daemon ran as root with every capability). Works without systemd as
# PID 1. Skipped (77) without systemd-analyze or one too old for --offline (systemd < 250).
set -euo pipefail
# shellcheck source=common.sh
source "$(dirname -- "$0")/common.sh"
require_env MTCE_BUILD_DIR MTCE_BINARY MTCE_INSTALL_BINDIR
command -v systemd-analyze >/dev/null || skip "systemd-analyze is not installed (package systemd)"
systemd-analyze security --help 2>&1 | grep -q -- '--offline' || skip "systemd-analyze has no --offline"

unit=$MTCE_BUILD_DIR/packaging/mtce@.service
[[ -f $unit ]] || fail "$unit was not generated (install rules not configured?)"
max=4.0
threshold=40   # systemd-analyze counts exposure in tenths: 40 is 4.0

tmp=$(mktemp -d)
trap 'rm -rf -- "$tmp"' EXIT
for role in controller worker storage; do
  sed "s|^ExecStart=$MTCE_INSTALL_BINDIR/mtce |ExecStart=$MTCE_BINARY |" "$unit" >"$tmp/mtce@$role.service"
  status=0
  output=$(systemd-analyze security --offline=true --threshold="$threshold" "$tmp/mtce@$role.service" 2>&1) ||
    status=$?
  exposure=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' <<<"$output")
  [[ -n $exposure ]] || fail "no overall exposure level for mtce@$role.service in: $output"
  if ((status != 0)) || awk -v e="$exposure" -v m="$max" 'BEGIN { exit !(e > m) }'; then
    grep -F '✗' <<<"$output" >&2 || true
    fail "mtce@$role.service has exposure $exposure, above $max (exposed settings above)"
  fi
  note "mtce@$role.service: exposure $exposure (at most $max)"
done
echo "PASS: every role's unit has an exposure of at most $max"
