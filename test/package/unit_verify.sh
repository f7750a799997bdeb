#!/usr/bin/env bash
# unit_verify: `systemd-analyze verify` on the built unit (build/packaging/mtce@.service) for each role
# instance, with ExecStart pointed at the binary just built so that it works without installing. It must
# print nothing. Also checks the fixed settings the daemon relies on. Skipped (77) without systemd-analyze.
set -euo pipefail
# shellcheck source=common.sh
source "$(dirname -- "$0")/common.sh"
require_env MTCE_BUILD_DIR MTCE_BINARY MTCE_INSTALL_BINDIR
command -v systemd-analyze >/dev/null || skip "systemd-analyze is not installed (package systemd)"

unit=$MTCE_BUILD_DIR/packaging/mtce@.service
[[ -f $unit ]] || fail "$unit was not generated (install rules not configured?)"
[[ -x $MTCE_BINARY ]] || fail "the binary $MTCE_BINARY is not built"

# Settings the daemon and the packaging rely on (the unit explains each).
# shellcheck disable=SC2016 # $MAINPID is literal unit text
for setting in "Type=notify" "NotifyAccess=main" "ExecStart=$MTCE_INSTALL_BINDIR/mtce agent --role %i" \
  'ExecReload=/bin/kill -HUP $MAINPID' "WatchdogSec=" "Restart=on-failure" "KillMode=mixed" \
  "TimeoutStopSec=" "After=network-online.target" "Documentation=man:mtce(8) man:mtce.toml(5)"; do
  grep -q -F -e "$setting" "$unit" || fail "$unit lacks '$setting'"
done
stop_s=$(sed -n 's/^TimeoutStopSec=\([0-9]*\)s$/\1/p' "$unit")
if [[ -z $stop_s ]] || ((stop_s <= 20)); then
  fail "TimeoutStopSec= must be above the 20 s drain, is '${stop_s:-unset}'"
fi

tmp=$(mktemp -d)
trap 'rm -rf -- "$tmp"' EXIT
sed "s|^ExecStart=$MTCE_INSTALL_BINDIR/mtce |ExecStart=$MTCE_BINARY |" "$unit" >"$tmp/mtce@.service"
grep -q "^ExecStart=$MTCE_BINARY agent --role %i$" "$tmp/mtce@.service" || fail "could not point ExecStart at $MTCE_BINARY"
for role in controller worker storage; do
  # --man=no: the pages are checked once installed (package_deb_install); here they are not on MANPATH.
  output=$(systemd-analyze verify --man=no "$tmp/mtce@$role.service" 2>&1) ||
    fail "systemd-analyze verify mtce@$role.service failed: $output"
  [[ -z $output ]] || fail "systemd-analyze verify mtce@$role.service printed: $output"
  note "mtce@$role.service verifies cleanly"
done
echo "PASS: the unit verifies for every role"
