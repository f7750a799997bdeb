#!/usr/bin/env bash
# roles_goenabled: runs every shipped goenabled self-test the way the agent does (clean environment, cwd /,
# argument "start") for each kind of run — controller main, AIO worker subfunction, worker main, storage main —
# and checks that each one passes here and gates itself to the functions and contexts it is for. Then drives
# the failure paths with settings no machine meets (or fake inputs) and checks that they fail with a reason on
# stderr. Machine-dependent limits (fill level, free memory) are relaxed for the passing runs so that the test
# checks the scripts, not how full this machine's disk is.
set -euo pipefail
# shellcheck source=common.sh
source "$(dirname -- "$0")/common.sh"
require_env MTCE_SOURCE_DIR

tmp=$(mktemp -d)
trap 'rm -rf -- "$tmp"' EXIT
run_dir=$tmp/run
state_dir=$tmp/state
mkdir -p "$run_dir"
mkdir -m 0700 "$state_dir"
conf=$MTCE_SOURCE_DIR/roles/common/goenabled.conf   # the shipped file: it must parse

mapfile -t scripts < <(find "$MTCE_SOURCE_DIR"/roles/*/goenabled.d -type f | sort)
((${#scripts[@]} > 0)) || fail "no goenabled scripts found under $MTCE_SOURCE_DIR/roles/*/goenabled.d"

# agent_env ROLE FUNCTION CONTEXT FUNCTIONS [VAR=value...] -- COMMAND...: the agent's clean environment.
agent_env() {
  local role=$1 function=$2 context=$3 functions=$4
  shift 4
  local extra=()
  while [[ $1 != -- ]]; do extra+=("$1"); shift; done
  shift
  (cd / && env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
    MTCE_ROLE="$role" MTCE_FUNCTION="$function" MTCE_CONTEXT="$context" MTCE_FUNCTIONS="$functions" \
    MTCE_HOSTNAME=test-host MTCE_RUN_DIR="$run_dir" MTCE_STATE_DIR="$state_dir" MTCE_GOENABLED_CONF="$conf" \
    "${extra[@]}" "$@")
}

# applies SCRIPT FUNCTION CONTEXT: whether the script should run its checks (not just say "not applicable").
applies() {
  local base=${1##*/} function=$2 context=$3
  case $1 in
    */common/*) [[ $context == main ]] ;;
    */controller/*) [[ $function == controller && $context == main ]] ;;
    */worker/*) [[ $function == worker ]] ;;
    */storage/*) [[ $function == storage && $context == main ]] ;;
    *) fail "no gating rule for $base" ;;
  esac
}

relaxed=(GOENABLED_FS_MAX_USED_PCT=100 GOENABLED_MEM_MIN_AVAILABLE_PCT=0 GOENABLED_SWAP_MAX_USED_PCT=100
         GOENABLED_STATE_MIN_FREE_MB=1 GOENABLED_CONTROLLER_STATE_DIR="$state_dir")
runs=("controller controller main controller,worker"
      "controller worker subfunction controller,worker"
      "worker worker main worker"
      "storage storage main storage")
for script in "${scripts[@]}"; do
  base=${script##*/}
  [[ -x $script ]] || fail "$script is not executable"
  head -n 1 "$script" | grep -q '^#!' || fail "$script has no #! line"
  expect_rc 2 agent_env worker worker main worker -- "$script"
  [[ $err == *usage* ]] || fail "$base without an argument printed no usage line: $err"

  for run in "${runs[@]}"; do
    read -r role function context functions <<<"$run"
    expect_rc 0 agent_env "$role" "$function" "$context" "$functions" "${relaxed[@]}" -- "$script" start
    [[ -z $err ]] || fail "$base passed ($run) but wrote to stderr: $err"
    [[ $out == "$base: "* ]] || fail "$base ($run) printed no '$base: ...' line: ${out:-<nothing>}"
    if applies "$script" "$function" "$context"; then
      [[ $out != *"not applicable"* ]] || fail "$base should run for $run but said: $out"
    else
      [[ $out == *"not applicable"* ]] || fail "$base should not apply to $run but said: $out"
    fi
    note "$base ($function/$context): ${out//$'\n'/ | }"
  done
done

# Failure paths: exit 1 with "<name>: FAILED: <reason>" on stderr.
# expect_failure SCRIPT-PATH-BELOW-roles REASON-PATTERN ENV... : runs it as a controller main run.
expect_failure() {
  local script=$MTCE_SOURCE_DIR/roles/$1 pattern=$2 function=${FUNCTION:-controller}
  shift 2
  expect_rc 1 agent_env controller "$function" main "$function" "$@" -- "$script" start
  [[ $err == "${script##*/}: FAILED: "* ]] || fail "${script##*/} failed without a 'FAILED:' reason: $err"
  [[ $err == *$pattern* ]] || fail "${script##*/} failed for another reason than '$pattern': $err"
  note "fails as expected: $err"
}
expect_failure common/goenabled.d/filesystems "% full (limit 0%)" GOENABLED_FS_MAX_USED_PCT=0
expect_failure common/goenabled.d/filesystems "is not a directory" GOENABLED_FS_PATHS=/nonexistent
expect_failure common/goenabled.d/memory "memory available" GOENABLED_MEM_MIN_AVAILABLE_PCT=101
expect_failure common/goenabled.d/memory "failed DIMM" GOENABLED_MEM_MIN_TOTAL_MB=999999999
expect_failure common/goenabled.d/clock "before" GOENABLED_CLOCK_MIN_EPOCH=99999999999
expect_failure controller/goenabled.d/controller-state "MiB free" GOENABLED_STATE_MIN_FREE_MB=999999999 \
  GOENABLED_CONTROLLER_STATE_DIR="$state_dir"
chmod 0755 "$state_dir"
expect_failure controller/goenabled.d/controller-state "accessible by group or others" "${relaxed[@]}"
chmod 0700 "$state_dir"

# A bad setting is a usage error (2), named with its file.
expect_rc 2 agent_env controller controller main controller GOENABLED_FS_MAX_USED_PCT=lots -- \
  "$MTCE_SOURCE_DIR/roles/common/goenabled.d/filesystems" start
[[ $err == *GOENABLED_FS_MAX_USED_PCT* ]] || fail "bad setting not named: $err"
expect_rc 2 agent_env worker worker main worker GOENABLED_CGROUP2=maybe -- \
  "$MTCE_SOURCE_DIR/roles/worker/goenabled.d/worker-cgroups" start

# md arrays, through a fake /sys/block: degraded fails, rebuilding passes (default), clean passes.
sys=$tmp/sys
mkdir -p "$sys/md0/md/dev-sda1" "$sys/md0/md/dev-sdb1" "$sys/md1/md"
printf 'clean\n' >"$sys/md0/md/array_state"
printf 'raid1\n' >"$sys/md0/md/level"
printf '1\n' >"$sys/md0/md/degraded"
printf '2\n' >"$sys/md0/md/raid_disks"
printf 'idle\n' >"$sys/md0/md/sync_action"
printf 'in_sync\n' >"$sys/md0/md/dev-sda1/state"
printf 'faulty\n' >"$sys/md0/md/dev-sdb1/state"
printf 'active\n' >"$sys/md1/md/array_state"
printf 'raid1\n' >"$sys/md1/md/level"
printf '0\n' >"$sys/md1/md/degraded"
printf '2\n' >"$sys/md1/md/raid_disks"
FUNCTION=storage expect_failure storage/goenabled.d/storage-md-raid "md0' (raid1) is degraded: 1 of 2 members missing; faulty: sdb1" \
  MTCE_SYSFS_BLOCK="$sys"
printf 'recover\n' >"$sys/md0/md/sync_action"
printf '100 / 2000\n' >"$sys/md0/md/sync_completed"
expect_rc 0 agent_env storage storage main storage MTCE_SYSFS_BLOCK="$sys" -- \
  "$MTCE_SOURCE_DIR/roles/storage/goenabled.d/storage-md-raid" start
[[ $out == *"rebuilding"* && $out == *"md1: raid1, active, all 2 members in sync"* ]] ||
  fail "storage-md-raid did not report the rebuild and the clean array: $out"
FUNCTION=storage expect_failure storage/goenabled.d/storage-md-raid "sync_action recover" \
  MTCE_SYSFS_BLOCK="$sys" GOENABLED_MD_ALLOW_RECOVERY=no
printf 'inactive\n' >"$sys/md1/md/array_state"
FUNCTION=storage expect_failure storage/goenabled.d/storage-md-raid "md1' (raid1) is inactive" MTCE_SYSFS_BLOCK="$sys"

echo "PASS: ${#scripts[@]} goenabled scripts pass here, gate themselves and fail with a reason"
