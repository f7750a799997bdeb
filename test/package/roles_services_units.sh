#!/usr/bin/env bash
# roles_services_units: exercises services.d/50-units with a stub systemctl on PATH: start in list order,
# stop in reverse, comments and blank lines ignored, the function taken from the install directory, the
# first failing start named and ending the run, a failing stop named while the others still stop, a missing
# or empty list doing nothing, and a malformed list refused with file:line.
set -euo pipefail
# shellcheck source=common.sh
source "$(dirname -- "$0")/common.sh"
require_env MTCE_SOURCE_DIR

tmp=$(mktemp -d)
trap 'rm -rf -- "$tmp"' EXIT
source_script=$MTCE_SOURCE_DIR/roles/common/services.d/50-units
[[ -x $source_script ]] || fail "$source_script is missing or not executable"

# The stub records "ACTION UNIT" per call and fails for units whose name starts with "broken".
mkdir -p "$tmp/bin" "$tmp/units.d" "$tmp/services.d/worker" "$tmp/services.d/storage"
cat >"$tmp/bin/systemctl" <<'STUB'
#!/bin/sh
action=$1
unit=$4   # systemctl ACTION --no-ask-password -- UNIT
echo "$action $unit" >>"$SYSTEMCTL_LOG"
case $unit in
  broken*) echo "Job for $unit failed because the control process exited with error code." >&2
           echo "See \"systemctl status $unit\" and \"journalctl -xeu $unit\" for details." >&2
           exit 1 ;;
esac
STUB
chmod +x "$tmp/bin/systemctl"
cp "$source_script" "$tmp/services.d/worker/50-units"
cp "$source_script" "$tmp/services.d/storage/50-units"
log=$tmp/systemctl.log

# run FUNCTION-DIR ACTION: as the agent runs it; MTCE_FUNCTION deliberately disagrees with the directory.
run() {
  : >"$log"
  (cd / && env -i PATH="$tmp/bin:/usr/bin:/bin" LANG=C.UTF-8 MTCE_ROLE=controller MTCE_FUNCTION=controller \
    MTCE_CONTEXT=main MTCE_UNITS_DIR="$tmp/units.d" SYSTEMCTL_LOG="$log" \
    "$tmp/services.d/$1/50-units" "$2")
}
calls() { paste -sd ' ' "$log"; }

cat >"$tmp/units.d/worker.list" <<'LIST'
# the worker's host services

containerd.service   # first
  kubelet
foo@bar.service
LIST
expect_rc 0 run worker start
[[ $(calls) == "start containerd.service start kubelet start foo@bar.service" ]] ||
  fail "start did not start the units in list order: $(calls)"
expect_rc 0 run worker stop
[[ $(calls) == "stop foo@bar.service stop kubelet stop containerd.service" ]] ||
  fail "stop did not stop the units in reverse order: $(calls)"
note "start and stop order: ok"

printf 'a.service\nbroken.service\nc.service\n' >"$tmp/units.d/worker.list"
expect_rc 1 run worker start
[[ $(calls) == "start a.service start broken.service" ]] || fail "start went on after a failure: $(calls)"
[[ $err == "50-units: failed to start 'broken.service' (listed in $tmp/units.d/worker.list): Job for"* ]] ||
  fail "the failing unit was not named on stderr: $err"
[[ $err != *$'\n'* ]] || fail "the failure took more than one line: $err"
note "failed start: $err"
expect_rc 1 run worker stop
[[ $(calls) == "stop c.service stop broken.service stop a.service" ]] || fail "stop gave up after a failure: $(calls)"
[[ $err == *"failed to stop 'broken.service'"* ]] || fail "the unit that failed to stop was not named: $err"
note "failed stop: $err"

# Nothing to do: no list, or only comments.
expect_rc 0 run storage start
[[ -z $(calls) && $out == *"nothing to do"* ]] || fail "a missing list did something: $(calls) $out"
printf '# nothing yet\n\n' >"$tmp/units.d/storage.list"
expect_rc 0 run storage stop
[[ -z $(calls) && $out == *"nothing to do"* ]] || fail "an empty list did something: $(calls) $out"

# Malformed lists and bad usage.
printf 'ok.service\ntwo words\n' >"$tmp/units.d/storage.list"
expect_rc 2 run storage start
[[ $err == *"storage.list:2: expected one unit name per line"* && -z $(calls) ]] ||
  fail "a line with two words was not refused before starting anything: $err / $(calls)"
printf -- '--now\n' >"$tmp/units.d/storage.list"
expect_rc 2 run storage start
[[ $err == *"storage.list:1: '--now' is not a valid unit name"* ]] || fail "an option-like name was accepted: $err"
expect_rc 2 run storage restart
[[ $err == *usage* ]] || fail "an unknown action printed no usage: $err"

# Outside services.d/<function>/ the function comes from MTCE_FUNCTION.
printf 'x.service\n' >"$tmp/units.d/controller.list"
: >"$log"
expect_rc 0 env -i PATH="$tmp/bin:/usr/bin:/bin" MTCE_FUNCTION=controller MTCE_UNITS_DIR="$tmp/units.d" \
  SYSTEMCTL_LOG="$log" "$source_script" start
[[ $(calls) == "start x.service" ]] || fail "MTCE_FUNCTION was not used outside services.d: $(calls)"
expect_rc 2 env -i PATH="$tmp/bin:/usr/bin:/bin" MTCE_UNITS_DIR="$tmp/units.d" "$source_script" start

echo "PASS: 50-units starts, stops and fails as documented"
