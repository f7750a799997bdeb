#!/usr/bin/env bash
# System test: the fleet manager and real host agents in network namespaces, driven through `mtce host …`.
#
#   usage: fleet_netns_test.sh /path/to/mtce /path/to/mtce-forge
#
# A "switch" namespace holds two bridges (mgmt 10.91.0.0/24, cluster 10.92.0.0/24). controller-0 (.1, an
# all-in-one controller with the worker subfunction), worker-0 (.10), worker-1 (.11) and storage-0 (.20) each
# live in their own namespace with one veth into each bridge; an "intruder" namespace has a veth into the mgmt
# bridge only (.99). Heartbeat is multicast on both networks.
#
# Every host runs a real `mtce agent` in its role, with its own configuration, key copy, directories and
# scripts. A host "reboots" as its host.reboot_command asks: the command marks the request and stops the
# agent; the host's loop below then waits a moment, gives the host a new boot identity, empties its run
# directory (a tmpfs on a real host) and starts the agent again. The controller's own unlock reboots it the
# same way, so the controller restarts and takes its hosts up again from the inventory.
#
# Scenarios (the states are read through the CLI):
#   1. controller-0 adds itself locked; worker-0, worker-1, storage-0 are added and go locked-disabled-online
#   2. controller-0 is unlocked (it reboots itself), then the three hosts (each reboots): all end
#      unlocked-enabled-available; controller-0's worker subfunction is enabled after its main function
#   3. worker-0 is locked and unlocked three times
#   4. worker-1 with a failing self-test: unlocked-disabled-failed, the script named in the task; repaired, it
#      is enabled by the next retry
#   5. storage-0 with a failing host service: the same, "Host Services Failed"
#   6. kill -9 of the controller while every host is enabled, then restart: no host changes state or reboots
#   7. worker-1 locked and its agent killed: locked-disabled-offline within the offline window
#   8. forged lock commands at worker-0 from the intruder (wrong key; right key from a non-controller
#      address): ignored, counted
# Namespaces and processes are removed on exit, also when a step fails; the logs are then printed and the
# temporary directory kept. Exit status 77: skipped (not root, or no network namespaces here).
# Environment: MTCE_LOG_LEVEL (agent.log_level, default info); MTCE_KEEP_LOGS=1 keeps the directory.
set -euo pipefail

mtce=${1:-${MTCE_BINARY:-}}
forge=${2:-}
log_level=${MTCE_LOG_LEVEL:-info}
# shellcheck source=test/system/netns-lib.sh
source "$(dirname "$0")/netns-lib.sh"

[[ -n $mtce && -x $mtce && -n $forge && -x $forge ]] || {
  printf 'usage: %s /path/to/mtce /path/to/mtce-forge\n' "$0" >&2
  exit 2
}
mtce=$(realpath "$mtce")
forge=$(realpath "$forge")
((EUID == 0)) || skip "needs root for network namespaces"
command -v ip >/dev/null || skip "needs ip (iproute2)"

all_hosts=(controller-0 worker-0 worker-1 storage-0)
remove_stale_namespaces '^mtcf-([0-9]+)-(switch|controller-0|worker-0|worker-1|storage-0|intruder)$'

prefix="mtcf-$$"
sw="$prefix-switch"
intruder="$prefix-intruder"
declare -A ns role mgmt_ip cluster_ip port_name loop_pid
for h in "${all_hosts[@]}"; do
  ns[$h]="$prefix-$h"
done
role=([controller-0]=controller [worker-0]=worker [worker-1]=worker [storage-0]=storage)
mgmt_ip=([controller-0]=10.91.0.1 [worker-0]=10.91.0.10 [worker-1]=10.91.0.11 [storage-0]=10.91.0.20)
cluster_ip=([controller-0]=10.92.0.1 [worker-0]=10.92.0.10 [worker-1]=10.92.0.11 [storage-0]=10.92.0.20)
port_name=([controller-0]=c0 [worker-0]=w0 [worker-1]=w1 [storage-0]=s0)
mgmt_if=eth-mgmt
cluster_if=eth-cluster
reboot_delay=1

dir=$(mktemp -d "${TMPDIR:-/tmp}/mtce-fleet.XXXXXX")
passed=0
failed=1 # cleared when every scenario has passed

stop_hosts() {
  local h p
  for h in "${all_hosts[@]}"; do
    touch "$dir/$h/stop" 2>/dev/null || true
    p=$(cat "$dir/$h/agent.pid" 2>/dev/null || true)
    if [[ -n $p ]]; then
      kill -TERM "$p" 2>/dev/null || true
    fi
  done
  for h in "${!loop_pid[@]}"; do
    for _ in $(seq 50); do
      kill -0 "${loop_pid[$h]}" 2>/dev/null || break
      sleep 0.1
    done
    p=$(cat "$dir/$h/agent.pid" 2>/dev/null || true)
    if [[ -n $p ]]; then
      kill -KILL "$p" 2>/dev/null || true
    fi
    kill -KILL "${loop_pid[$h]}" 2>/dev/null || true
    wait "${loop_pid[$h]}" 2>/dev/null || true
  done
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_hosts
  finish "$rc" 80 "${all_hosts[@]}"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------------------------------------------
# The network

if ! make_switch "$sw" "$dir"; then
  failed=0
  skip "network namespaces or bridges are unavailable here: $(tr '\n' ' ' <"$dir/probe.err")"
fi
for h in "${all_hosts[@]}"; do
  plug_host "$h"
done
new_ns "$intruder"
ip -n "$sw" link add in-mgmt type veth peer name "$mgmt_if" netns "$intruder"
ip -n "$sw" link set in-mgmt master br-mgmt up
ip -n "$intruder" addr add 10.91.0.99/24 dev "$mgmt_if"
ip -n "$intruder" link set "$mgmt_if" up
note "namespaces: ${created_ns[*]}"

# ---------------------------------------------------------------------------------------------------------------
# The hosts

key=$(head -c 32 /dev/urandom | base64)

write_host() {
  local h=$1 r=${role[$1]} d=$dir/$1
  make_host_dir "$h" "$d" "$r"
  printf '1\n' >"$d/boots"
  printf '#!/bin/sh\n# A quick self-test of this simulated host.\ntest -d %s\n' "$d" >"$d/goenabled.d/10-basic"
  # shellcheck disable=SC2016 # the script expands them, not this one
  printf '#!/bin/sh\necho "$(date +%%T) %s $1" >> %s/services.log\n' "$r" "$d" >"$d/services.d/$r/10-platform"
  if [[ $r == controller ]]; then
    mkdir -p "$d/services.d/worker"
    # shellcheck disable=SC2016
    printf '#!/bin/sh\necho "$(date +%%T) worker $1" >> %s/services.log\n' "$d" >"$d/services.d/worker/10-compute"
  fi
  # A reboot (or reset) is a request to this host's loop below.
  # shellcheck disable=SC2016
  printf '#!/bin/sh\ntouch %s/reboot-requested\nkill -TERM "$(cat %s/agent.pid)"\n' "$d" "$d" >"$d/reboot"
  chmod 0755 "$d/goenabled.d/10-basic" "$d/services.d"/*/* "$d/reboot"
  {
    host_config_agent "$h" "$d" 2s
    [[ $r == controller ]] && printf 'subfunctions = ["worker"]\n'
    host_config_dirs "$d"
    cat <<EOF
mtcalive_period = "1s"
goenabled_timeout = "20s"
services_timeout = "20s"
reboot_command = "$d/reboot"
reset_command = "$d/reboot"
subfunction_config_marker = "$d/run/.worker_config_complete"
subfunction_config_timeout = "30s"

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
      cat <<EOF

[controller]
state_dir = "$d/ctl"
api_listen = "127.0.0.1:2112"
api_socket = "$d/api.sock"
controller_boot_timeout = "90s"
worker_boot_timeout = "60s"
storage_boot_timeout = "60s"
goenabled_timeout = "30s"
services_timeout = "30s"
subfunction_config_timeout = "60s"
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
EOF
    fi
  } >"$d/mtce.toml"
}

# host_loop H: runs H's agent until the host is stopped; a requested reboot restarts it on a new boot.
host_loop() {
  local h=$1 d=$dir/$1 n
  while [[ ! -f $d/stop ]]; do
    # The worker subfunction's configuration is complete from the start of every boot.
    mkdir -p "$d/run"
    touch "$d/run/.worker_config_complete"
    ip netns exec "${ns[$h]}" "$mtce" agent --role "${role[$h]}" --config "$d/mtce.toml" --foreground \
      >>"$d/log" 2>&1 &
    printf '%s\n' $! >"$d/agent.pid"
    wait $! || true
    if [[ -f $d/reboot-requested && ! -f $d/stop ]]; then
      rm -f "$d/reboot-requested"
      sleep "$reboot_delay"
      n=$(($(cat "$d/boots") + 1))
      printf '%s\n' "$n" >"$d/boots"
      printf '%s-boot-%s\n' "$h" "$n" >"$d/boot_id"
      rm -rf "$d/run"
      printf '%s ==== %s reboots (boot %s) ====\n' "$(date +%T)" "$h" "$n" >>"$d/log"
      continue
    fi
    if [[ -f $d/restart ]]; then
      rm -f "$d/restart"
      continue
    fi
    break # killed: the host stays down until start_host
  done
  rm -f "$d/agent.pid"
}

start_host() {
  local h=$1
  rm -f "$dir/$h/stop"
  host_loop "$h" &
  loop_pid[$h]=$!
  for _ in $(seq 50); do
    [[ -f $dir/$h/agent.pid ]] && return 0
    sleep 0.1
  done
  fail "$h: its agent did not start"
}

# kill_agent H [restart]: SIGKILL of H's agent; with "restart", started again in the same boot.
kill_agent() {
  local h=$1 p
  p=$(cat "$dir/$h/agent.pid")
  [[ ${2:-} == restart ]] && touch "$dir/$h/restart"
  kill -KILL "$p"
  for _ in $(seq 50); do
    kill -0 "$p" 2>/dev/null || break
    sleep 0.1
  done
}

# power_on H: a host whose agent was killed boots again (a new boot identity).
power_on() {
  local h=$1 d=$dir/$1 n
  wait "${loop_pid[$h]}" 2>/dev/null || true
  n=$(($(cat "$d/boots") + 1))
  printf '%s\n' "$n" >"$d/boots"
  printf '%s-boot-%s\n' "$h" "$n" >"$d/boot_id"
  rm -rf "$d/run"
  start_host "$h"
}

for h in "${all_hosts[@]}"; do
  write_host "$h"
done
for h in "${all_hosts[@]}"; do
  start_host "$h"
done

# ---------------------------------------------------------------------------------------------------------------
# The command line, run in the controller's namespace

ctl() {
  ip netns exec "${ns[controller-0]}" "$mtce" "$@" --api "unix:$dir/controller-0/api.sock"
}

# field H F: field F of host H's document ("" if unknown).
field() {
  ctl host show "$1" --json 2>/dev/null | python3 -c "import json,sys; print(json.load(sys.stdin).get('$2',''))" \
    2>/dev/null || true
}

state_of() {
  ctl host show "$1" --json 2>/dev/null | python3 -c \
    "import json,sys; d=json.load(sys.stdin); print(d['administrative']+'-'+d['operational']+'-'+d['availability'])" \
    2>/dev/null || printf 'unknown\n'
}

# wait_state H STATE SECONDS: prints how long it took (ms).
wait_state() {
  local t0 out
  t0=$(now_ms)
  if ! out=$(ctl host wait "$1" --state "$2" --timeout "$3" 2>&1); then
    printf '%s\n' "$out" >&2
    fail "$1 did not reach $2 within $3 s (it is $(state_of "$1"): $(field "$1" task))"
  fi
  printf '%s\n' $(($(now_ms) - t0))
}

# Host $1 with the failing script $2 (under its directory): locked and unlocked, it fails with a task that
# says $3 and names the script, raises the enable-failure alarm, and is available again once the script is
# removed. Sets $task to the failed task.
fails_until_repaired() {
  local h=$1 script=$2 why=$3
  chmod 0755 "$dir/$h/$script"
  lock_host "$h"
  expect_exit 0 ctl host unlock "$h"
  wait_state "$h" unlocked-disabled-failed 120 >/dev/null
  task=$(field "$h" task)
  [[ $task == *"$why"* && $task == *"${script##*/}"* ]] || fail "$h's task does not name ${script##*/}: $task"
  ctl alarm list | grep -F 200.004 >/dev/null || fail "no enable-failure alarm for $h"
  rm -f "${dir:?}/$h/$script"
  wait_state "$h" unlocked-enabled-available 120 >/dev/null
}

# Locks $1 and waits until it is locked-disabled-online.
lock_host() {
  expect_exit 0 ctl host lock "$1"
  wait_state "$1" locked-disabled-online 60 >/dev/null
}

expect_exit() {
  local want=$1 got=0
  shift
  "$@" >"$dir/last.out" 2>&1 || got=$?
  ((got == want)) || fail "'$*' exited $got, not $want: $(cat "$dir/last.out")"
}

passed_scenario() {
  passed=$((passed + 1))
  note "PASS: $*"
}

# The API answers once the controller runs.
for _ in $(seq 100); do
  ctl host list >/dev/null 2>&1 && break
  sleep 0.2
done

# ---------------------------------------------------------------------------------------------------------------
note "scenario 1: the controller adds itself locked; the other hosts are added and report online"
wait_state controller-0 locked-disabled-online 60 >/dev/null
for h in worker-0 worker-1 storage-0; do
  expect_exit 0 ctl host add "$h" --personality "${role[$h]}" --mgmt-ip "${mgmt_ip[$h]}" --cluster-ip "${cluster_ip[$h]}"
done
expect_exit 4 ctl host add worker-0 --personality worker --mgmt-ip 10.91.0.50
expect_exit 3 ctl host unlock worker-9
for h in worker-0 worker-1 storage-0; do
  wait_state "$h" locked-disabled-online 30 >/dev/null
done
ctl host list
passed_scenario "controller-0 added itself; three hosts added, all locked-disabled-online"

# ---------------------------------------------------------------------------------------------------------------
note "scenario 2: unlock controller-0 (it reboots itself), then the others (each reboots)"
# An unlock reboots a host that has been up for controller.fresh_boot_uptime (5 s here) or more.
for h in "${all_hosts[@]}"; do
  for _ in $(seq 100); do
    (($(field "$h" uptime_s) > 5)) && break
    sleep 0.2
  done
done
t0=$(now_ms)
expect_exit 0 ctl host unlock controller-0
wait_state controller-0 unlocked-enabled-available 180 >/dev/null
note "controller-0: unlock to unlocked-enabled-available in $(($(now_ms) - t0)) ms (with its own reboot)"
for _ in $(seq 300); do
  [[ $(field controller-0 subfunction_availability) == available ]] && break
  sleep 0.2
done
[[ $(field controller-0 subfunction_operational) == enabled ]] || fail "controller-0's worker subfunction is not enabled"
[[ $(field controller-0 subfunction_availability) == available ]] ||
  fail "controller-0's worker subfunction is not available"
[[ $(field controller-0 boot_id) == controller-0-boot-2 ]] || fail "controller-0 did not reboot on its unlock"
events=$(ctl event list --json)
python3 - "$events" <<'PY' || fail "controller-0's subfunction was not enabled after its main function"
import json, sys
ev = [e for e in json.loads(sys.argv[1]) if e["host"] == "controller-0" and e["kind"] == "state"]
main = next(i for i, e in enumerate(ev) if "-> unlocked-enabled-available (enabled)" in e["text"])
subf = next(i for i, e in enumerate(ev) if "subfunction enabled" in e["text"])
sys.exit(0 if main < subf else 1)
PY
declare -A unlocked_at
for h in worker-0 worker-1 storage-0; do
  unlocked_at[$h]=$(now_ms)
  expect_exit 0 ctl host unlock "$h"
done
for h in worker-0 worker-1 storage-0; do
  wait_state "$h" unlocked-enabled-available 120 >/dev/null
  note "$h: unlock to unlocked-enabled-available in $(($(now_ms) - ${unlocked_at[$h]})) ms (with a reboot)"
  [[ $(field "$h" boot_id) == "$h-boot-2" ]] || fail "$h did not reboot on its unlock"
done
ctl host list
passed_scenario "every host unlocked-enabled-available; controller-0's subfunction enabled after its main function"

# ---------------------------------------------------------------------------------------------------------------
note "scenario 3: lock and unlock worker-0 three times"
for i in 1 2 3; do
  lock_host worker-0
  t0=$(now_ms)
  expect_exit 0 ctl host unlock worker-0
  wait_state worker-0 unlocked-enabled-available 120 >/dev/null
  note "round $i: unlock to available in $(($(now_ms) - t0)) ms"
done
for h in worker-1 storage-0; do
  [[ $(state_of "$h") == unlocked-enabled-available ]] || fail "$h changed state during worker-0's rounds"
done
passed_scenario "three lock/unlock rounds of worker-0; the other hosts undisturbed"

# ---------------------------------------------------------------------------------------------------------------
note "scenario 4: a failing self-test on worker-1"
printf '#!/bin/sh\necho "memory: 3 uncorrectable ECC errors on DIMM B2" >&2\nexit 1\n' >"$dir/worker-1/goenabled.d/50-memory"
fails_until_repaired worker-1 goenabled.d/50-memory "In-Test Failed"
passed_scenario "worker-1 failed with '$task', then recovered on a retry once repaired"

# ---------------------------------------------------------------------------------------------------------------
note "scenario 5: a failing host service on storage-0"
# shellcheck disable=SC2016
printf '#!/bin/sh\n[ "$1" = start ] && { echo "ceph-osd: cannot mount /dev/sdb1" >&2; exit 3; }\nexit 0\n' \
  >"$dir/storage-0/services.d/storage/50-osd"
fails_until_repaired storage-0 services.d/storage/50-osd "Host Services Failed"
passed_scenario "storage-0 failed with '$task', then recovered"

# ---------------------------------------------------------------------------------------------------------------
note "scenario 6: kill -9 of the controller while every host is enabled, then restart it"
declare -A boot_before
for h in "${all_hosts[@]}"; do
  [[ $(state_of "$h") == unlocked-enabled-available ]] || fail "$h is not enabled before the controller restart"
  boot_before[$h]=$(field "$h" boot_id)
done
last_event=$(ctl event list --json | python3 -c "import json,sys; e=json.load(sys.stdin); print(e[-1]['id'] if e else 0)")
kill_agent controller-0 restart
for _ in $(seq 100); do
  ctl host list >/dev/null 2>&1 && break
  sleep 0.2
done
sleep 10 # a soak and more: time enough to disturb anyone
for h in "${all_hosts[@]}"; do
  [[ $(state_of "$h") == unlocked-enabled-available ]] || fail "$h changed state over the controller restart"
  [[ $(field "$h" boot_id) == "${boot_before[$h]}" ]] || fail "$h rebooted over the controller restart"
done
changes=$(ctl event list --json | python3 -c "
import json, sys
print(sum(1 for e in json.load(sys.stdin) if e['id'] > $last_event and e['kind'] == 'state'))")
((changes == 0)) || fail "$changes state change(s) over the controller restart: $(ctl event list | tail -n 20)"
passed_scenario "the controller restarted; no host changed state or rebooted"

# ---------------------------------------------------------------------------------------------------------------
note "scenario 7: a locked host's agent is killed"
lock_host worker-1
t0=$(now_ms)
kill_agent worker-1
wait_state worker-1 locked-disabled-offline 30 >/dev/null
took=$(($(now_ms) - t0))
note "worker-1 offline ${took} ms after its agent was killed (offline window 5 s)"
((took >= 4000)) || fail "worker-1 went offline after ${took} ms, before the window"
power_on worker-1
wait_state worker-1 locked-disabled-online 60 >/dev/null
passed_scenario "worker-1 offline ${took} ms after its agent died, online again once it booted"

# ---------------------------------------------------------------------------------------------------------------
note "scenario 8: forged lock commands at worker-0 from the intruder's namespace"
printf 'a key the cluster does not use, long enough\n' >"$dir/wrong.key"
for i in 1 2 3; do
  ip netns exec "$intruder" "$forge" --key "$dir/wrong.key" --sender controller-0 --to "${mgmt_ip[worker-0]}:2118" \
    --from 10.91.0.99 --id "$i"
  ip netns exec "$intruder" "$forge" --key "$dir/worker-0/key" --sender controller-0 \
    --to "${mgmt_ip[worker-0]}:2118" --from 10.91.0.99 --id $((100 + i))
done
sleep 3
[[ $(state_of worker-0) == unlocked-enabled-available ]] || fail "worker-0 changed state after the forged commands"
if grep -E 'command .*lock.*from' "$dir/worker-0/log" | grep -F 10.91.0.99 >/dev/null; then
  fail "worker-0 acted on a forged command"
fi
[[ ! -s $dir/worker-0/state/admin_state ]] || ! grep -qx locked "$dir/worker-0/state/admin_state" ||
  fail "worker-0 persisted a lock"
for _ in $(seq 150); do
  grep -F 'dropped' "$dir/worker-0/log" | grep -F 'bad_mac' >/dev/null && break
  sleep 0.1
done
grep -F 'dropped' "$dir/worker-0/log" | grep -F 'bad_mac' >/dev/null || fail "worker-0 did not count the forged datagrams"
passed_scenario "forged lock commands (wrong key; right key from a non-controller address) ignored and counted"

failed=0
note "all $passed scenarios passed"
