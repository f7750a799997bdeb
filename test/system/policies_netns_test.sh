#!/usr/bin/env bash
# System test: the fleet's failure policies, Dead Office Recovery and multi-node failure avoidance, with one
# controller and real host agents in network namespaces, driven through `mtce host …` and read from
# `mtce event list`.
#
#   usage: policies_netns_test.sh /path/to/mtce
#
# A "switch" namespace holds two bridges (mgmt 10.93.0.0/24, cluster 10.94.0.0/24). controller-0 (.1, a
# standard controller: no subfunction), worker-0 (.10), worker-1 (.11) and storage-0 (.20) each live in their
# own namespace with one veth into each bridge. Heartbeat is multicast on both networks every 100 ms.
#
# Every host runs a real `mtce agent` in its role. Its self-test and host-services scripts take a set time
# (storage-0's the longest), so that the time a recovery takes can be compared with what the host itself
# needs. A host reboots as its host.reboot_command asks (a new boot identity and an empty run directory); its
# number of boots is counted, so that a reboot nobody expected is seen.
#
# Scenarios (the states are read through the CLI, the policies' decisions from the event log):
#   1. install of a standard system: controller-0 unlocked first (it reboots itself), then worker-0, worker-1
#      and storage-0: all unlocked-enabled-available
#   2. Dead Office Recovery: every agent is killed at once (the site loses power); every host boots again,
#      the controller first, worker-0 2 s later, worker-1 4 s after that, storage-0 25 s after the controller
#      (well past the heartbeat-loss and offline windows, within the recovery window). The banner lists every
#      unlocked host with its state and "0 of 4"; storage-0 waits enabled with the task "Dead Office Recovery:
#      waiting for the host"; every host ends unlocked-enabled-available, none is ever disabled or rebooted;
#      the window closes with "4 of 4". The time from storage-0's boot to every host enabled is printed beside
#      its target (storage-0's self-test and host-services durations + the heartbeat soak + 5 s).
#   3. multi-node failure avoidance: the cables of worker-0 and worker-1 are pulled at once for 4 s: the
#      controller enters and exits it, holds both in "Graceful Recovery Wait", backs the heartbeat period off
#      and restores it; no host is failed or rebooted, all end unlocked-enabled-available with no task left
#   4. the same with every host but the controller
#   5. mnfa.timeout (15 s, applied by SIGHUP): the three non-controller hosts are cut and only worker-0 is
#      plugged back before the timeout; at the timeout worker-1 and storage-0 are failed, worker-0 is not;
#      once plugged back they are enabled again
#   6. worker-0 and worker-1 are cut and only worker-0 is plugged back: fewer hosts than mnfa.threshold miss
#      heartbeats, so the avoidance ends before its timeout and worker-1, still silent, is failed; plugged
#      back, it is enabled again
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

all_hosts=(controller-0 worker-0 worker-1 storage-0)
others=(worker-0 worker-1 storage-0)
remove_stale_namespaces '^mtcp-([0-9]+)-(switch|controller-0|worker-0|worker-1|storage-0)$'

prefix="mtcp-$$"
sw="$prefix-switch"
declare -A ns role mgmt_ip cluster_ip port_name managed_pid goenabled_s services_s
for h in "${all_hosts[@]}"; do
  ns[$h]="$prefix-$h"
done
role=([controller-0]=controller [worker-0]=worker [worker-1]=worker [storage-0]=storage)
mgmt_ip=([controller-0]=10.93.0.1 [worker-0]=10.93.0.10 [worker-1]=10.93.0.11 [storage-0]=10.93.0.20)
cluster_ip=([controller-0]=10.94.0.1 [worker-0]=10.94.0.10 [worker-1]=10.94.0.11 [storage-0]=10.94.0.20)
port_name=([controller-0]=c0 [worker-0]=w0 [worker-1]=w1 [storage-0]=s0)
# How long each host's self-test and each host-services start take (seconds).
goenabled_s=([controller-0]=1 [worker-0]=1 [worker-1]=2 [storage-0]=3)
services_s=([controller-0]=1 [worker-0]=1 [worker-1]=1 [storage-0]=2)
mgmt_if=eth-mgmt
cluster_if=eth-cluster
heartbeat_soak_s=3
dor_timeout_s=60
mnfa_timeout_s=15

dir=$(mktemp -d "${TMPDIR:-/tmp}/mtce-policies.XXXXXX")
# The command line talks to the controller over its local socket, as on a real controller.
api_url=unix:$dir/controller-0/api.sock
passed=0
failed=1 # cleared when every scenario has passed
started_ms=$(now_ms)

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  managed_stop_all
  sanitizer_notes "${all_hosts[@]}"
  finish "$rc" 80 "${all_hosts[@]}"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

passed_scenario() {
  passed=$((passed + 1))
  note "PASS: $* ($((($(now_ms) - started_ms) / 1000)) s into the run)"
}

# ---------------------------------------------------------------------------------------------------------------
# The network

if ! make_switch "$sw" "$dir"; then
  failed=0
  skip "network namespaces or bridges are unavailable here: $(tr '\n' ' ' <"$dir/probe.err")"
fi
for h in "${all_hosts[@]}"; do
  plug_host "$h"
done
note "namespaces: ${created_ns[*]}"

# ---------------------------------------------------------------------------------------------------------------
# The hosts

key=$(head -c 32 /dev/urandom | base64)

# controller_tables MNFA_TIMEOUT: the controller's own tables, with mnfa.timeout MNFA_TIMEOUT.
controller_tables() {
  local d=$dir/controller-0
  cat <<EOF

[controller]
state_dir = "$d/ctl"
api_listen = "127.0.0.1:2112"
api_socket = "$d/api.sock"
controller_boot_timeout = "60s"
worker_boot_timeout = "30s"
storage_boot_timeout = "30s"
goenabled_timeout = "30s"
services_timeout = "30s"
heartbeat_soak = "${heartbeat_soak_s}s"
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
timeout_s = $dor_timeout_s

[mnfa]
timeout = "$1"
EOF
}

# write_config H [MNFA_TIMEOUT]: H's mtce.toml.
write_config() {
  local h=$1 r=${role[$1]} d=$dir/$1
  {
    host_config_agent "$h" "$d" 2s
    host_config_dirs "$d"
    cat <<EOF
mtcalive_period = "1s"
goenabled_timeout = "20s"
services_timeout = "20s"
reboot_command = "$d/reboot"
reset_command = "$d/reboot"

[heartbeat]
mode = "multicast"

[network.mgmt]
address = "${mgmt_ip[$h]}"
interface = "$mgmt_if"

[network.cluster]
address = "${cluster_ip[$h]}"
interface = "$cluster_if"
EOF
    if [[ $r == controller ]]; then
      controller_tables "${2:-0s}"
    fi
  } >"$d/mtce.toml.new"
  mv "$d/mtce.toml.new" "$d/mtce.toml"
}

write_host() {
  local h=$1 r=${role[$1]} d=$dir/$1
  make_host_dir "$h" "$d" "$r"
  printf '1\n' >"$d/boots"
  printf '#!/bin/sh\n# The self-test of this simulated host.\nsleep %s\ntest -d %s\n' "${goenabled_s[$h]}" "$d" \
    >"$d/goenabled.d/10-basic"
  # shellcheck disable=SC2016 # the script expands them, not this one
  printf '#!/bin/sh\n[ "$1" = start ] && sleep %s\necho "$(date +%%T) %s $1" >> %s/services.log\n' \
    "${services_s[$h]}" "$r" "$d" >"$d/services.d/$r/10-platform"
  chmod 0755 "$d/goenabled.d/10-basic" "$d/services.d/$r/10-platform"
  reboot_command_file "$h"
  write_config "$h"
}

# sleep_until_ms MS: sleeps until now_ms reaches MS (at once if it has).
sleep_until_ms() {
  local left=$(($1 - $(now_ms)))
  if ((left > 0)); then
    sleep "$((left / 1000)).$(printf '%03d' $((left % 1000)))"
  fi
}

# boots_of H: how many times H has booted.
boots_of() {
  cat "$dir/$1/boots"
}

# no_disabled_state SINCE WHAT: fails if any host was disabled (failed, offline, in test) after event SINCE.
no_disabled_state() {
  local bad
  bad=$(events_since "$1" | python3 -c '
import json, sys
for e in json.load(sys.stdin):
    if e["kind"] == "state" and "-> " in e["text"] and "-disabled-" in e["text"].split("-> ", 1)[1].split(" ", 1)[0]:
        print("{} {}: {}".format(e["time_text"], e["host"], e["text"]))
')
  [[ -z $bad ]] || fail "$2: a host was disabled: $bad"
}

# all_available SECONDS: waits until every host is unlocked-enabled-available with no task.
all_available() {
  local t0 h ok
  t0=$(now_ms)
  while :; do
    ok=1
    for h in "${all_hosts[@]}"; do
      if [[ $(host_state "$h") != unlocked-enabled-available || -n $(host_field "$h" task) ]]; then
        ok=0
        break
      fi
    done
    ((ok)) && return 0
    (($(now_ms) - t0 < $1 * 1000)) ||
      fail "$h is not unlocked-enabled-available with no task after $1 s:" \
        "$(host_state "$h"), task '$(host_field "$h" task)'"
    sleep 0.5
  done
}

# same_boots WHAT: fails if a host booted since the counts in $boots_before were taken.
declare -A boots_before
count_boots() {
  local h
  for h in "${all_hosts[@]}"; do
    boots_before[$h]=$(boots_of "$h")
  done
}
same_boots() {
  local h
  for h in "${all_hosts[@]}"; do
    (($(boots_of "$h") == ${boots_before[$h]})) ||
      fail "$1: $h rebooted (boot $(boots_of "$h"), was ${boots_before[$h]})"
  done
}

# period_lines MS: how many times the controller logged that the heartbeat period is now MS ms.
period_lines() {
  grep -c "heartbeat: period now $1 ms" "$dir/controller-0/log" || true
}

# await_task H TASK SECONDS: waits until H's task is TASK.
await_task() {
  local t0
  t0=$(now_ms)
  until [[ $(host_field "$1" task) == "$2" ]]; do
    (($(now_ms) - t0 < $3 * 1000)) || fail "$1's task is not '$2' after $3 s: '$(host_field "$1" task)'"
    sleep 0.2
  done
}

for h in "${all_hosts[@]}"; do
  write_host "$h"
done
for h in "${all_hosts[@]}"; do
  managed_start "$h"
done
await_api

# ---------------------------------------------------------------------------------------------------------------
note "scenario 1: install of a standard system"
await_state controller-0 locked-disabled-online 60
for h in "${others[@]}"; do
  expect_status 0 cli host add "$h" --personality "${role[$h]}" --mgmt-ip "${mgmt_ip[$h]}" \
    --cluster-ip "${cluster_ip[$h]}"
done
for h in "${others[@]}"; do
  await_state "$h" locked-disabled-online 30
done
# An unlock reboots a host that has been up for controller.fresh_boot_uptime (5 s here) or more.
for _ in $(seq 100); do
  (($(host_field controller-0 uptime_s) > 5)) && break
  sleep 0.2
done
t0=$(now_ms)
expect_status 0 cli host unlock controller-0
await_state controller-0 unlocked-enabled-available 180
note "controller-0: unlock to unlocked-enabled-available in $(($(now_ms) - t0)) ms (with its own reboot)"
[[ -z $(host_field controller-0 subfunction_operational) ]] || fail "controller-0 has a subfunction"
t0=$(now_ms)
for h in "${others[@]}"; do
  expect_status 0 cli host unlock "$h"
done
for h in "${others[@]}"; do
  await_state "$h" unlocked-enabled-available 120
done
note "worker-0, worker-1, storage-0: unlock to unlocked-enabled-available in $(($(now_ms) - t0)) ms"
all_available 30
cli host list
passed_scenario "standard system installed: every host unlocked-enabled-available"

# ---------------------------------------------------------------------------------------------------------------
note "scenario 2: Dead Office Recovery of the standard system"
before=$(last_event_id)
for h in "${all_hosts[@]}"; do
  managed_kill "$h"
done
note "every agent killed: the site lost power"
sleep 1
managed_power_on controller-0
t_controller=$(cat "$dir/controller-0/booted_at")
# Each host's power-on is its last boot until the end of the recovery; the others have not booted yet.
count_boots
for h in "${others[@]}"; do
  boots_before[$h]=$((boots_before[$h] + 1))
done
await_api
banner=$(await_event "$before" dor "Dead Office Recovery is ACTIVE" 20)
note "banner: ${banner##*$'\t'}"
[[ $banner == *"recovering 4 unlocked hosts"* && $banner == *"0 of 4 recovered"* ]] ||
  fail "the banner does not announce 4 unlocked hosts, 0 of 4 recovered: ${banner##*$'\t'}"
for h in "${all_hosts[@]}"; do
  [[ $banner == *"$h unlocked-enabled-available"* ]] ||
    fail "the banner does not list $h with its state: ${banner##*$'\t'}"
done
[[ $banner == *"within $((dor_timeout_s + 4)) s"* ]] ||
  fail "the window is not dor.timeout_s + 1 s per unlocked host ($((dor_timeout_s + 4)) s): ${banner##*$'\t'}"
sleep_until_ms $((t_controller + 2000))
managed_power_on worker-0
sleep_until_ms $((t_controller + 6000))
managed_power_on worker-1
# storage-0 is still off well past the heartbeat-loss (1 s) and offline (5 s) windows: it is awaited, enabled.
sleep_until_ms $((t_controller + 20000))
state=$(host_state storage-0)
task=$(host_field storage-0 task)
[[ $state == unlocked-enabled-* ]] || fail "storage-0, still off, is $state during the recovery window"
[[ $task == "Dead Office Recovery: waiting for the host" ]] ||
  fail "storage-0, still off, has the task '$task' during the recovery window"
for h in "${all_hosts[@]}"; do
  [[ $(host_state "$h") == unlocked-enabled-* ]] || fail "$h is $(host_state "$h") during the recovery window"
done
sleep_until_ms $((t_controller + 25000))
managed_power_on storage-0
t_last=$(cat "$dir/storage-0/booted_at")
done_event=$(await_event "$before" dor "Dead Office Recovery " $((dor_timeout_s + 30)))
until [[ $done_event == *"complete in"* || $done_event == *"Timeout"* ]]; do
  done_event=$(await_event "$(cut -f1 <<<"$done_event")" dor "Dead Office Recovery " $((dor_timeout_s + 30)))
done
note "end: ${done_event##*$'\t'}"
t_done=$(cut -f2 <<<"$done_event")
[[ $done_event == *"Dead Office Recovery complete in"* && $done_event == *"4 of 4 hosts recovered"* ]] ||
  fail "the recovery did not complete with 4 of 4 hosts: ${done_event##*$'\t'}"
all_available 30
no_disabled_state "$before" "Dead Office Recovery"
same_boots "Dead Office Recovery"
checkins=$(events_since "$before" | python3 -c '
import json, sys
ev = [e for e in json.load(sys.stdin) if e["kind"] == "dor" and "after the power loss" in e["text"]]
for e in ev:
    print("{}: {}".format(e["host"], e["text"]))
')
printf '%s\n' "$checkins"
for h in "${all_hosts[@]}"; do
  grep -q "^$h: recovered after the power loss" <<<"$checkins" || fail "$h did not check in as recovered"
done
! grep -q "FAILED after the power loss" <<<"$checkins" || fail "a host checked in as failed"
measured_ms=$((t_done - t_last))
target_s=$((goenabled_s[storage-0] + services_s[storage-0] + heartbeat_soak_s + 5))
printf 'DOR: last host booted at %s; all enabled after %d.%d s (target %d s: self-test %d s + host services %d s' \
  "$(clock_of "$t_last")" $((measured_ms / 1000)) $((measured_ms % 1000 / 100)) "$target_s" \
  "${goenabled_s[storage-0]}" "${services_s[storage-0]}"
printf ' + heartbeat soak %d s + 5 s)\n' "$heartbeat_soak_s"
if ((measured_ms > target_s * 1000)); then
  note "the recovery of the last host took longer than its target"
fi
passed_scenario "Dead Office Recovery: 4 of 4 hosts recovered, none disabled or rebooted"

# ---------------------------------------------------------------------------------------------------------------
# cut_and_restore SECONDS HOST...: pulls the cables of HOSTs at once and plugs them back after SECONDS; checks
# that multi-node failure avoidance holds them and then recovers every one without a failure or a reboot.
cut_and_restore() {
  local hold_s=$1 h t_cut since entered exited backoff restored
  shift
  since=$(last_event_id)
  count_boots
  restored=$(period_lines 100)
  backoff=$(period_lines 400)
  t_cut=$(now_ms)
  for h in "$@"; do
    set_links "$h" down
  done
  entered=$(await_event "$since" mnfa "Multi-node failure avoidance entered" 10)
  note "${entered##*$'\t'}"
  for h in "$@"; do
    await_task "$h" "Graceful Recovery Wait" 5
  done
  sleep_until_ms $((t_cut + hold_s * 1000))
  for h in "$@"; do
    set_links "$h" up
  done
  exited=$(await_event "$since" mnfa "Multi-node failure avoidance exited" 30)
  note "${exited##*$'\t'}"
  all_available 40
  no_disabled_state "$since" "multi-node failure avoidance"
  same_boots "multi-node failure avoidance"
  (($(period_lines 400) > backoff)) || fail "the heartbeat period was not backed off to 400 ms"
  for _ in $(seq 50); do
    (($(period_lines 100) > restored)) && break
    sleep 0.2
  done
  (($(period_lines 100) > restored)) || fail "the heartbeat period was not restored to 100 ms"
}

note "scenario 3: multi-node failure avoidance, two hosts cut for 4 s"
cut_and_restore 4 worker-0 worker-1
passed_scenario "two hosts cut and restored: avoidance entered and exited, nobody failed or rebooted"

note "scenario 4: multi-node failure avoidance, every host but the controller cut for 4 s"
cut_and_restore 4 worker-0 worker-1 storage-0
passed_scenario "three hosts cut and restored: avoidance entered and exited, nobody failed or rebooted"

# ---------------------------------------------------------------------------------------------------------------
note "scenario 5: mnfa.timeout ${mnfa_timeout_s} s; three hosts cut, one plugged back before the timeout"
write_config controller-0 "${mnfa_timeout_s}s"
reloads=$(grep -c 'reload: configuration .* is in force' "$dir/controller-0/log" || true)
kill -HUP "$(cat "$dir/controller-0/agent.pid")"
for _ in $(seq 50); do
  (($(grep -c 'reload: configuration .* is in force' "$dir/controller-0/log" || true) > reloads)) && break
  sleep 0.1
done
(($(grep -c 'reload: configuration .* is in force' "$dir/controller-0/log" || true) > reloads)) ||
  fail "the controller did not reload its configuration"
sleep 1 # mnfa.* apply from the next heartbeat period
since=$(last_event_id)
count_boots
t_cut=$(now_ms)
for h in "${others[@]}"; do
  set_links "$h" down
done
entered=$(await_event "$since" mnfa "Multi-node failure avoidance entered" 10)
note "${entered##*$'\t'}"
[[ $entered == *"still missing after $mnfa_timeout_s s are failed"* ]] ||
  fail "the avoidance does not announce the $mnfa_timeout_s s timeout: ${entered##*$'\t'}"
t_entered=$(cut -f2 <<<"$entered")
sleep_until_ms $((t_cut + 2000))
set_links worker-0 up
timed_out=$(await_event "$since" mnfa "Multi-node failure avoidance timed out" $((mnfa_timeout_s + 15)))
note "${timed_out##*$'\t'}"
t_timeout=$(cut -f2 <<<"$timed_out")
after=$((t_timeout - t_entered))
((after >= mnfa_timeout_s * 1000 - 500 && after <= mnfa_timeout_s * 1000 + 3000)) ||
  fail "the avoidance timed out ${after} ms after it began, not $mnfa_timeout_s s"
[[ $timed_out == *"3 held hosts recovered (1 of them back before), 2 still missing"* ]] ||
  fail "the timeout does not recover exactly the two hosts still missing: ${timed_out##*$'\t'}"
for h in worker-1 storage-0; do
  await_state "$h" unlocked-disabled-failed 20
done
[[ $(host_state worker-0) == unlocked-enabled-* ]] || fail "worker-0, plugged back, is $(host_state worker-0)"
bad=$(events_since "$since" | python3 -c '
import json, sys
for e in json.load(sys.stdin):
    new_state = e["text"].split("-> ", 1)[-1].split(" ", 1)[0]
    if e["host"] == "worker-0" and e["kind"] == "state" and "-disabled-" in new_state:
        print(e["text"])
')
[[ -z $bad ]] || fail "worker-0, plugged back before the timeout, was disabled: $bad"
note "worker-1 and storage-0 failed after the timeout; plugging them back"
set_links worker-1 up
set_links storage-0 up
t0=$(now_ms)
for h in worker-1 storage-0; do
  await_state "$h" unlocked-enabled-available 120
done
note "worker-1 and storage-0 enabled again $(($(now_ms) - t0)) ms after they were plugged back"
all_available 40
(($(boots_of worker-0) == ${boots_before[worker-0]})) || fail "worker-0 rebooted"
passed_scenario "at the timeout the two hosts still missing were failed, the one back was not; all enabled again"

# ---------------------------------------------------------------------------------------------------------------
note "scenario 6: two hosts cut, one plugged back: the avoidance ends before its timeout"
since=$(last_event_id)
count_boots
t_cut=$(now_ms)
set_links worker-0 down
set_links worker-1 down
entered=$(await_event "$since" mnfa "Multi-node failure avoidance entered" 10)
t_entered=$(cut -f2 <<<"$entered")
sleep_until_ms $((t_cut + 2000))
set_links worker-0 up
exited=$(await_event "$since" mnfa "Multi-node failure avoidance exited" $((mnfa_timeout_s + 5)))
note "${exited##*$'\t'}"
t_exited=$(cut -f2 <<<"$exited")
((t_exited - t_entered < mnfa_timeout_s * 1000)) ||
  fail "the avoidance ended $((t_exited - t_entered)) ms after it began, not before its timeout"
await_state worker-1 unlocked-disabled-failed 20
[[ $(host_state worker-0) == unlocked-enabled-* ]] || fail "worker-0, plugged back, is $(host_state worker-0)"
set_links worker-1 up
await_state worker-1 unlocked-enabled-available 120
all_available 40
(($(boots_of worker-0) == ${boots_before[worker-0]})) || fail "worker-0 rebooted"
passed_scenario "the avoidance ended when one host was back; the other, still silent, was failed and enabled again"

failed=0
note "all $passed scenarios passed in $((($(now_ms) - started_ms) / 1000)) s"
