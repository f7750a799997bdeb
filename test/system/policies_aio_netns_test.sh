#!/usr/bin/env bash
# System test: Dead Office Recovery of an all-in-one simplex system: one controller with the worker
# subfunction, a real `mtce agent` in a network namespace, driven through `mtce host …` and read from
# `mtce event list`.
#
#   usage: policies_aio_netns_test.sh /path/to/mtce
#
# A "switch" namespace holds two bridges (mgmt 10.95.0.0/24, cluster 10.96.0.0/24) and controller-0 (.1) has
# one veth into each. The worker subfunction is tested only once its configuration is complete, which the
# host says by creating host.subfunction_config_marker in its run directory; here that file appears a set
# time after each boot, or never.
#
# Scenarios:
#   1. install: controller-0 adds itself locked and is unlocked (it reboots itself): unlocked-enabled-available,
#      its worker subfunction enabled
#   2. power loss, and the worker configuration completes 15 s after the boot: the recovery window
#      (dor.aio_timeout_s) lists controller-0; it stays enabled while its subfunction is tested again, checks in
#      once the subfunction is enabled, never reports a "Worker Configuration" failure, and does not reboot
#   3. power loss, and the worker configuration never completes (host.subfunction_config_timeout 8 s): the
#      subfunction fails with "Worker Configuration Failed" naming the marker, the host stays in service,
#      degraded, without a reboot, and the recovery ends with the host failed
# Namespaces and processes are removed on exit, also when a step fails; the logs are then printed and the
# temporary directory kept. Exit status 77: skipped (not root, or no network namespaces here).
# Environment: MTCE_LOG_LEVEL (agent.log_level, default info); MTCE_KEEP_LOGS=1 keeps the directory.
set -euo pipefail

mtce=${1:-${MTCE_BINARY:-}}
log_level=${MTCE_LOG_LEVEL:-info}
# shellcheck source=test/system/netns-lib.sh
source "$(dirname "$0")/netns-lib.sh"

[[ -n $mtce && -x $mtce ]] || {
  printf 'usage: %s /path/to/mtce\n' "$0" >&2
  exit 2
}
mtce=$(realpath "$mtce")
((EUID == 0)) || skip "needs root for network namespaces"
command -v ip >/dev/null || skip "needs ip (iproute2)"
command -v python3 >/dev/null || skip "needs python3"

all_hosts=(controller-0)
remove_stale_namespaces '^mtca-([0-9]+)-(switch|controller-0)$'

prefix="mtca-$$"
sw="$prefix-switch"
declare -A ns role mgmt_ip cluster_ip port_name managed_pid
ns=([controller-0]="$prefix-controller-0")
role=([controller-0]=controller)
mgmt_ip=([controller-0]=10.95.0.1)
cluster_ip=([controller-0]=10.96.0.1)
port_name=([controller-0]=c0)
mgmt_if=eth-mgmt
cluster_if=eth-cluster
aio_timeout_s=120
late_config_s=15

dir=$(mktemp -d "${TMPDIR:-/tmp}/mtce-aio.XXXXXX")
# The command line talks to the controller over its local socket, as on a real controller.
api_url=unix:$dir/controller-0/api.sock
d=$dir/controller-0
marker=$d/run/.worker_config_complete
passed=0
failed=1 # cleared when every scenario has passed
started_ms=$(now_ms)

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  managed_stop_all
  sanitizer_notes "${all_hosts[@]}"
  finish "$rc" 120 "${all_hosts[@]}"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

passed_scenario() {
  passed=$((passed + 1))
  note "PASS: $* ($((($(now_ms) - started_ms) / 1000)) s into the run)"
}

if ! make_switch "$sw" "$dir"; then
  failed=0
  skip "network namespaces or bridges are unavailable here: $(tr '\n' ' ' <"$dir/probe.err")"
fi
plug_host controller-0
note "namespaces: ${created_ns[*]}"

key=$(head -c 32 /dev/urandom | base64)

# write_config HOST_SUBF_TIMEOUT CONTROLLER_SUBF_TIMEOUT: controller-0's mtce.toml, with the host's and the
# controller's wait for the worker configuration.
write_config() {
  {
    host_config_agent controller-0 "$d" 2s
    printf 'subfunctions = ["worker"]\n'
    host_config_dirs "$d"
    cat <<EOF
mtcalive_period = "1s"
goenabled_timeout = "20s"
services_timeout = "20s"
reboot_command = "$d/reboot"
reset_command = "$d/reboot"
subfunction_config_marker = "$marker"
subfunction_config_timeout = "$1"

[heartbeat]
mode = "multicast"

[network.mgmt]
address = "${mgmt_ip[controller-0]}"
interface = "$mgmt_if"

[network.cluster]
address = "${cluster_ip[controller-0]}"
interface = "$cluster_if"

[controller]
state_dir = "$d/ctl"
api_listen = "127.0.0.1:2112"
api_socket = "$d/api.sock"
controller_boot_timeout = "60s"
goenabled_timeout = "30s"
services_timeout = "30s"
subfunction_config_timeout = "$2"
heartbeat_soak = "3s"
command_timeout = "1s"
command_retries = 3
reboot_timeout = "20s"
offline_window = "5s"
fresh_boot_uptime = "5s"
self_reboot_delay = "1s"
task_display = "2s"

[autorecovery]
config_interval = "5s"
goenabled_interval = "5s"
services_interval = "5s"
heartbeat_interval = "5s"
boot_interval = "5s"

[dor]
aio_timeout_s = $aio_timeout_s
EOF
  } >"$d/mtce.toml.new"
  mv "$d/mtce.toml.new" "$d/mtce.toml"
}

make_host_dir controller-0 "$d" controller
mkdir -p "$d/services.d/worker"
printf '1\n' >"$d/boots"
printf '#!/bin/sh\n# The self-test of this simulated host (main function and subfunction).\nsleep 1\ntest -d %s\n' \
  "$d" >"$d/goenabled.d/10-basic"
# shellcheck disable=SC2016 # the scripts expand them, not this one
printf '#!/bin/sh\necho "$(date +%%T) controller $1" >> %s/services.log\n' "$d" >"$d/services.d/controller/10-platform"
# shellcheck disable=SC2016
printf '#!/bin/sh\necho "$(date +%%T) worker $1" >> %s/services.log\n' "$d" >"$d/services.d/worker/10-compute"
chmod 0755 "$d/goenabled.d/10-basic" "$d/services.d/controller/10-platform" "$d/services.d/worker/10-compute"
reboot_command_file controller-0
write_config 60s 90s
managed_start controller-0
await_api

# subfunction_state: subfunction operational-availability of controller-0.
subfunction_state() {
  printf '%s-%s\n' "$(host_field controller-0 subfunction_operational)" \
    "$(host_field controller-0 subfunction_availability)"
}

# power_loss DELAY: the agent is killed and the host boots again; its worker configuration completes DELAY
# seconds after the boot ("never": it does not). Sets $before to the last event before it.
power_loss() {
  before=$(last_event_id)
  managed_kill controller-0
  printf '%s\n' "$1" >"$d/subfunction_config_delay"
  sleep 1
  managed_power_on controller-0
  await_api
}

# ---------------------------------------------------------------------------------------------------------------
note "scenario 1: install of an all-in-one simplex controller"
await_state controller-0 locked-disabled-online 60
for _ in $(seq 100); do
  (($(host_field controller-0 uptime_s) > 5)) && break
  sleep 0.2
done
expect_status 0 cli host unlock controller-0
await_state controller-0 unlocked-enabled-available 180
for _ in $(seq 300); do
  [[ $(subfunction_state) == enabled-available ]] && break
  sleep 0.2
done
[[ $(subfunction_state) == enabled-available ]] || fail "controller-0's worker subfunction is $(subfunction_state)"
(($(cat "$d/boots") == 2)) || fail "controller-0 did not reboot (once) on its unlock: boot $(cat "$d/boots")"
passed_scenario "controller-0 unlocked-enabled-available, its worker subfunction enabled-available"

# ---------------------------------------------------------------------------------------------------------------
note "scenario 2: power loss; the worker configuration completes ${late_config_s} s after the boot"
power_loss "$late_config_s"
t_boot=$(cat "$d/booted_at")
boots=$(cat "$d/boots")
banner=$(await_event "$before" dor "Dead Office Recovery is ACTIVE" 20)
note "banner: ${banner##*$'\t'}"
[[ $banner == *"recovering 1 unlocked hosts within $aio_timeout_s s"* && $banner == *"0 of 1 recovered"* &&
  $banner == *"controller-0 unlocked-enabled-available"* ]] ||
  fail "the banner does not announce controller-0 within dor.aio_timeout_s ($aio_timeout_s s): ${banner##*$'\t'}"
# While the worker configuration is not complete, the host stays in service and its subfunction is awaited.
sleep_ms=$((t_boot + (late_config_s - 4) * 1000 - $(now_ms)))
((sleep_ms <= 0)) || sleep "$((sleep_ms / 1000)).$(printf '%03d' $((sleep_ms % 1000)))"
[[ ! -e $marker ]] || fail "the worker configuration completed early"
[[ $(host_state controller-0) == unlocked-enabled-available ]] ||
  fail "controller-0 is $(host_state controller-0) while its worker configuration is not complete"
task=$(host_field controller-0 task)
[[ $task == "Dead Office Recovery: worker subfunction" ]] || fail "controller-0's task is '$task' while it waits"
[[ $(subfunction_state) == enabled-* ]] || fail "controller-0's subfunction is $(subfunction_state) while it waits"
done_event=$(await_event "$before" dor "Dead Office Recovery complete" $((late_config_s + 60)))
note "end: ${done_event##*$'\t'}"
[[ $done_event == *"1 of 1 hosts recovered"* ]] || fail "the recovery did not end with 1 of 1: ${done_event##*$'\t'}"
t_done=$(cut -f2 <<<"$done_event")
((t_done >= t_boot + late_config_s * 1000)) ||
  fail "controller-0 checked in $((t_done - t_boot)) ms after its boot, before its worker configuration completed"
await_state controller-0 unlocked-enabled-available 10
[[ $(subfunction_state) == enabled-available ]] || fail "controller-0's subfunction is $(subfunction_state)"
[[ -z $(host_field controller-0 task) ]] || fail "controller-0 keeps the task '$(host_field controller-0 task)'"
bad=$(events_since "$before" | python3 -c '
import json, sys
for e in json.load(sys.stdin):
    t = e["text"]
    if any(bad in t for bad in ("Worker Configuration", "FAILED", "-> unlocked-disabled", "subfunction disabled-failed")):
        print("{} {} {}: {}".format(e["time_text"], e["host"], e["kind"], t))
')
[[ -z $bad ]] || fail "a false failure during the recovery: $bad"
(($(cat "$d/boots") == boots)) || fail "controller-0 rebooted during the recovery"
checked_in=$((t_done - t_boot))
printf 'AIO DOR: booted at %s; worker configuration complete after %d s; recovered after %d.%d s\n' \
  "$(clock_of "$t_boot")" "$late_config_s" \
  $((checked_in / 1000)) $((checked_in % 1000 / 100))
passed_scenario "controller-0 recovered once its late worker configuration was tested; no false failure, no reboot"

# ---------------------------------------------------------------------------------------------------------------
note "scenario 3: power loss; the worker configuration never completes (host.subfunction_config_timeout 8 s)"
write_config 8s 20s
power_loss never
boots=$(cat "$d/boots")
await_event "$before" dor "Dead Office Recovery is ACTIVE" 20 >/dev/null
done_event=$(await_event "$before" dor "Dead Office Recovery complete" 60)
note "end: ${done_event##*$'\t'}"
[[ $done_event == *"0 of 1 hosts recovered"* && $done_event == *"failed: controller-0"* ]] ||
  fail "the recovery did not end with controller-0 failed: ${done_event##*$'\t'}"
checkin=$(await_event "$before" dor "FAILED after the power loss" 5)
note "check-in: ${checkin##*$'\t'}"
task=$(host_field controller-0 task)
[[ $task == "Worker Configuration Failed: "* && $task == *".worker_config_complete"* ]] ||
  fail "controller-0's task does not report its worker configuration failure and the marker: '$task'"
[[ $(subfunction_state) == disabled-failed ]] || fail "controller-0's subfunction is $(subfunction_state), not failed"
[[ $(host_state controller-0) == unlocked-enabled-degraded ]] ||
  fail "controller-0 is $(host_state controller-0), not in service degraded"
sleep 8 # more than the retry interval: the failure stands and the host does not reboot itself
[[ $(subfunction_state) == disabled-failed ]] || fail "controller-0's subfunction is $(subfunction_state) on retry"
[[ $(host_state controller-0) == unlocked-enabled-degraded ]] || fail "controller-0 is $(host_state controller-0)"
(($(cat "$d/boots") == boots)) || fail "controller-0 rebooted after its subfunction failed"
passed_scenario "the worker configuration that never completed failed the subfunction: '$task'"

failed=0
note "all $passed scenarios passed in $((($(now_ms) - started_ms) / 1000)) s"
