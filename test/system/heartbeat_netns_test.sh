#!/usr/bin/env bash
# System test: multicast heartbeat on two networks between real mtce agents in network namespaces.
#
#   usage: heartbeat_netns_test.sh /path/to/mtce
#
# A "switch" namespace holds two bridges (mgmt 10.87.0.0/24, cluster 10.88.0.0/24); controller-0 (.1),
# worker-0 (.10) and worker-1 (.11) each live in their own namespace with one veth into each bridge. Every
# address exists only inside namespaces this script made, so no datagram leaves them. Faults: links set down
# and up, random and total loss with nftables rules inside a host's namespace, a killed agent; lastly, in a
# namespace of its own, that network.mgmt.interface chooses where the group is joined. Every heartbeat check
# reads the controller's log lines
#   heartbeat event: host=<name> network=<mgmt|cluster> event=<kind> misses=<n>
# The namespaces and processes are removed on exit, also when a step fails; the logs are then printed and the
# temporary directory is kept. Exit status 77: skipped (not root, or no network namespaces here).
# Environment: MTCE_LOG_LEVEL (the agents' agent.log_level, default info); MTCE_KEEP_LOGS=1 keeps the temporary
# directory even when every scenario passed.
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

remove_stale_namespaces '^mtce-([0-9]+)-(switch|controller-0|worker-0|worker-1|probe)$'

# Unique names: parallel runs never collide. Interface names inside a namespace need no prefix.
prefix="mtce-$$"
sw="$prefix-switch"
hosts=(controller-0 worker-0 worker-1)
declare -A ns=([controller-0]="$prefix-controller-0" [worker-0]="$prefix-worker-0" [worker-1]="$prefix-worker-1")
declare -A mgmt_ip=([controller-0]=10.87.0.1 [worker-0]=10.87.0.10 [worker-1]=10.87.0.11)
declare -A cluster_ip=([controller-0]=10.88.0.1 [worker-0]=10.88.0.10 [worker-1]=10.88.0.11)
declare -A port_name=([controller-0]=c0 [worker-0]=w0 [worker-1]=w1)
declare -A pid=()
mgmt_if=eth-mgmt
cluster_if=eth-cluster
mgmt_reply_port=2103
cluster_reply_port=2113

dir=$(mktemp -d "${TMPDIR:-/tmp}/mtce-netns.XXXXXX")
passed=0
skipped=0
failed=1 # cleared when every scenario has passed

stop_agents() {
  local h
  for h in "${!pid[@]}"; do
    kill -TERM "${pid[$h]}" 2>/dev/null || true
  done
  for h in "${!pid[@]}"; do
    for _ in $(seq 30); do
      kill -0 "${pid[$h]}" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "${pid[$h]}" 2>/dev/null || true
    wait "${pid[$h]}" 2>/dev/null || true
    unset "pid[$h]"
  done
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_agents
  finish "$rc" 60 "${hosts[@]}"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# sleep_until MS: sleeps until now_ms reaches MS (at once if it has).
sleep_until() {
  local left=$(($1 - $(now_ms)))
  if ((left > 0)); then
    sleep "$((left / 1000)).$(printf '%03d' $((left % 1000)))"
  fi
}

# ---------------------------------------------------------------------------------------------------------------
# The network: probe first (no namespaces, bridges or veths here means skip), then build it.

if ! make_switch "$sw" "$dir"; then
  failed=0
  skip "network namespaces, bridges or veths are unavailable here: $(tr '\n' ' ' <"$dir/probe.err")"
fi
for h in "${hosts[@]}"; do
  plug_host "$h"
done
note "namespaces: ${created_ns[*]}"

# ---------------------------------------------------------------------------------------------------------------
# The hosts: one directory, configuration and log each; the same key everywhere.

key=$(head -c 32 /dev/urandom | base64)

network_tables() {
  local h=$1
  cat <<EOF
[network.mgmt]
address = "${mgmt_ip[$h]}"
interface = "$mgmt_if"
multicast_group = "239.1.1.2"
agent_port = 2118
controller_port = 2101
pulse_port = 2106
pulse_reply_port = $mgmt_reply_port

[network.cluster]
address = "${cluster_ip[$h]}"
interface = "$cluster_if"
multicast_group = "239.1.1.3"
agent_port = 2115
controller_port = 2111
pulse_port = 2116
pulse_reply_port = $cluster_reply_port
EOF
}

write_config() {
  local h=$1 role=$2 d=$dir/$1
  make_host_dir "$h" "$d" "$role"
  {
    host_config_agent "$h" "$d" 1s
    host_config_dirs "$d"
    cat <<EOF
reboot_command = "echo reboot >> '$d/reboot-requested'"
reset_command = "echo reset >> '$d/reset-requested'"

[heartbeat]
mode = "multicast"

EOF
    network_tables "$h"
    if [[ $role == controller ]]; then
      printf '\n[controller]\nstate_dir = "%s/ctl"\napi_socket = "%s/api.sock"\n' "$d" "$d"
      for w in worker-0 worker-1; do
        printf '\n[[controller.hosts]]\nname = "%s"\nmgmt_ip = "%s"\ncluster_ip = "%s"\n' \
          "$w" "${mgmt_ip[$w]}" "${cluster_ip[$w]}"
      done
    fi
  } >"$d/mtce.toml"
}

start_agent() {
  local h=$1 role=$2
  ip netns exec "${ns[$h]}" "$mtce" agent --role "$role" --config "$dir/$h/mtce.toml" --foreground \
    >>"$dir/$h/log" 2>&1 &
  pid[$h]=$!
}

write_config controller-0 controller
write_config worker-0 worker
write_config worker-1 worker
started=$(now_ms)
start_agent controller-0 controller
start_agent worker-0 worker
start_agent worker-1 worker

clog=$dir/controller-0/log

# Byte offset of the controller log's end: checks look only at what was logged after it.
mark() {
  stat -c %s "$clog"
}

since() {
  tail -c +$(($1 + 1)) "$clog"
}

event() {
  printf 'heartbeat event: host=%s network=%s event=%s ' "$1" "$2" "$3"
}

# wait_for OFFSET NEEDLE SECONDS [START_MS]: waits until the controller logged NEEDLE after OFFSET, polling every
# 0.1 s, at most SECONDS after START_MS (default: now); prints the ms from START_MS until it was seen.
wait_for() {
  local from=$1 needle=$2 limit_ms=$(($3 * 1000)) start=${4:-}
  [[ -n $start ]] || start=$(now_ms)
  while :; do
    # Not grep -q: leaving early would kill the writer with SIGPIPE, a failed pipeline under pipefail.
    if since "$from" | grep -F -- "$needle" >/dev/null; then
      printf '%s\n' $(($(now_ms) - start))
      return 0
    fi
    if (($(now_ms) - start > limit_ms)); then
      printf 'FAIL: no "%s" in the controller log within %s s\n' "$needle" "$3" >&2
      return 1
    fi
    kill -0 "${pid[controller-0]}" 2>/dev/null || {
      printf 'FAIL: the controller exited while waiting for "%s"\n' "$needle" >&2
      return 1
    }
    sleep 0.1
  done
}

# refute OFFSET PATTERN WHAT: fails if the controller logged a line matching PATTERN (ERE) after OFFSET.
refute() {
  local lines
  if lines=$(since "$1" | grep -E -- "$2"); then
    fail "$3: $lines"
  fi
}

alive() {
  kill -0 "${pid[$1]}" 2>/dev/null || fail "the $1 agent is no longer running"
}

passed_scenario() {
  passed=$((passed + 1))
  note "PASS: $*"
}

# ---------------------------------------------------------------------------------------------------------------
note "scenario 1: multicast heartbeat on both networks, no events while everyone answers"
t0=$(wait_for 0 "heartbeat (mgmt): monitoring 2 host(s)" 30 "$started") || fail "the controller does not monitor on mgmt"
t1=$(wait_for 0 "heartbeat (cluster): monitoring 2 host(s)" 30 "$started") ||
  fail "the controller does not monitor on cluster"
note "controller monitoring: mgmt ${t0} ms, cluster ${t1} ms after the agents were started"
for h in worker-0 worker-1; do
  for net in mgmt cluster; do
    for _ in $(seq 300); do
      grep -qF "heartbeat ($net): answering pulses" "$dir/$h/log" && break
      sleep 0.1
    done
    grep -qF "heartbeat ($net): answering pulses" "$dir/$h/log" || fail "$h does not answer pulses on $net"
  done
done
# Each group is joined on its own network's veth, and only there.
for h in worker-0 worker-1; do
  groups_mgmt=$(ip -n "${ns[$h]}" maddr show dev "$mgmt_if")
  groups_cluster=$(ip -n "${ns[$h]}" maddr show dev "$cluster_if")
  [[ $groups_mgmt == *239.1.1.2* && $groups_mgmt != *239.1.1.3* ]] ||
    fail "$h: $mgmt_if is not a member of exactly the mgmt group: $groups_mgmt"
  [[ $groups_cluster == *239.1.1.3* && $groups_cluster != *239.1.1.2* ]] ||
    fail "$h: $cluster_if is not a member of exactly the cluster group: $groups_cluster"
done
# Let every host answer long enough (more than the failure threshold) to be lost if it could not.
sleep 2
m=$(mark)
sleep 3
refute "$m" 'heartbeat event:' "events while every host answers"
refute 0 'event=loss' "a loss while every host answers"
for h in "${hosts[@]}"; do alive "$h"; done
passed_scenario "multicast works: no heartbeat event over 3 s"

# ---------------------------------------------------------------------------------------------------------------
note "scenario 2: worker-0's cluster link down, then up again"
m=$(mark)
t=$(now_ms)
ip -n "${ns[worker-0]}" link set "$cluster_if" down
loss=$(wait_for "$m" "$(event worker-0 cluster loss)" 15 "$t") || fail "worker-0 not lost on cluster"
note "worker-0 lost on cluster ${loss} ms after its link went down"
sleep 1
up=$(mark)
t=$(now_ms)
ip -n "${ns[worker-0]}" link set "$cluster_if" up
rec=$(wait_for "$up" "$(event worker-0 cluster recovered)" 15 "$t") || fail "worker-0 did not recover on cluster"
note "worker-0 recovered on cluster ${rec} ms after its link came up"
sleep 0.5
refute "$m" 'host=worker-0 network=mgmt' "worker-0 had an event on mgmt, whose link stayed up"
refute "$m" 'host=worker-1 ' "worker-1 had an event while only worker-0's link was down"
passed_scenario "one network down: loss in ${loss} ms, recovery in ${rec} ms, on cluster only"

# ---------------------------------------------------------------------------------------------------------------
note "scenario 3: random loss (2 %) then total loss on mgmt, with nftables in worker-1's namespace"
nft_in() {
  ip netns exec "${ns[worker-1]}" nft "$@"
}
if ! command -v nft >/dev/null; then
  note "SKIPPED scenario 3: nft (nftables) is not installed"
  skipped=$((skipped + 1))
elif ! nft_in add table inet mtce_loss 2>"$dir/nft.err" ||
  ! nft_in add chain inet mtce_loss out '{ type filter hook output priority 0; }' 2>>"$dir/nft.err"; then
  note "SKIPPED scenario 3: nftables does not work here: $(tr '\n' ' ' <"$dir/nft.err")"
  skipped=$((skipped + 1))
else
  m=$(mark)
  nft_in add rule inet mtce_loss out udp dport "{ $mgmt_reply_port, $cluster_reply_port }" \
    numgen random mod 100 '<' 2 counter drop
  sleep 20
  dropped=$(nft_in list chain inet mtce_loss out | sed -n 's/.*counter packets \([0-9]*\).*/\1/p')
  note "2 % random loss for 20 s: ${dropped:-?} of worker-1's replies dropped"
  refute "$m" 'host=worker-1 network=[a-z]+ event=loss' "worker-1 lost under 2 % random loss"
  others=$(since "$m" | grep -c 'host=worker-1 ' || true)
  note "events for worker-1 under random loss: $others (minor ones are allowed, loss is not)"
  refute "$m" 'host=worker-0 ' "worker-0 had an event while worker-1 had random loss"
  nft_in flush chain inet mtce_loss out
  sleep 2 # every host back to answering everything

  m=$(mark)
  t=$(now_ms)
  nft_in add rule inet mtce_loss out ip daddr "${mgmt_ip[controller-0]}" udp dport "$mgmt_reply_port" counter drop
  loss=$(wait_for "$m" "$(event worker-1 mgmt loss)" 15 "$t") || fail "worker-1 not lost on mgmt under 100 % loss"
  note "100 % loss on mgmt: worker-1 lost on mgmt after ${loss} ms"
  sleep 1
  refute "$m" 'host=worker-1 network=cluster' "worker-1 had a cluster event while only mgmt was dropped"
  up=$(mark)
  t=$(now_ms)
  nft_in delete table inet mtce_loss
  rec=$(wait_for "$up" "$(event worker-1 mgmt recovered)" 15 "$t") || fail "worker-1 did not recover on mgmt"
  note "rule removed: worker-1 recovered on mgmt after ${rec} ms"
  sleep 0.5
  refute "$m" 'host=worker-1 network=cluster' "worker-1 had a cluster event while only mgmt was dropped"
  refute "$m" 'host=worker-0 ' "worker-0 had an event while worker-1's mgmt replies were dropped"
  passed_scenario "random loss: no loss at 2 %; 100 % on mgmt: loss in ${loss} ms on mgmt only, recovery in ${rec} ms"
fi

# ---------------------------------------------------------------------------------------------------------------
note "scenario 4: the controller's own mgmt link down for 3 s"
m=$(mark)
t=$(now_ms)
ip -n "${ns[controller-0]}" link set "$mgmt_if" down
for w in worker-0 worker-1; do
  # Expected (ten misses take about 1 s), but not required: what is required is the recovery below.
  if l=$(wait_for "$m" "$(event "$w" mgmt loss)" 3 "$t" 2>/dev/null); then
    note "$w lost on mgmt ${l} ms after the controller's mgmt link went down"
  else
    note "$w not lost on mgmt while the controller's link was down"
  fi
done
sleep_until $((t + 3000))
alive controller-0
up=$(mark)
t=$(now_ms)
ip -n "${ns[controller-0]}" link set "$mgmt_if" up
down_losses=$(since "$m" | grep -c 'network=mgmt event=loss' || true)
note "while the controller's mgmt link was down: $down_losses mgmt loss event(s)"
for w in worker-0 worker-1; do
  rec=$(wait_for "$up" "$(event "$w" mgmt recovered)" 15 "$t") || fail "$w did not recover on mgmt"
  note "$w recovered on mgmt ${rec} ms after the controller's link came up"
done
sleep 1
for w in worker-0 worker-1; do
  last=$(since "$m" | grep -F "host=$w network=mgmt event=" | tail -n 1 || true)
  [[ $last != *event=loss* ]] || fail "$w still lost on mgmt: $last"
done
refute "$m" 'network=cluster' "a cluster event while only the controller's mgmt link was down"
since "$m" | grep -F 'heartbeat (mgmt)' | tail -n 3 | sed 's/^/   /' || true # send errors, at debug level
alive controller-0
passed_scenario "controller link down: $down_losses loss(es) while down, both workers recovered, controller alive"

# ---------------------------------------------------------------------------------------------------------------
note "scenario 5: worker-1's agent killed (SIGKILL)"
m=$(mark)
t=$(now_ms)
kill -KILL "${pid[worker-1]}"
wait "${pid[worker-1]}" 2>/dev/null || true
unset "pid[worker-1]"
l_mgmt=$(wait_for "$m" "$(event worker-1 mgmt loss)" 5 "$t") || fail "worker-1 not lost on mgmt within 5 s"
l_cluster=$(wait_for "$m" "$(event worker-1 cluster loss)" 5 "$t") || fail "worker-1 not lost on cluster within 5 s"
note "worker-1 lost on mgmt after ${l_mgmt} ms, on cluster after ${l_cluster} ms"
refute "$m" 'host=worker-0 ' "worker-0 had an event when worker-1 was killed"
alive controller-0
alive worker-0
passed_scenario "killed agent: loss on mgmt in ${l_mgmt} ms, on cluster in ${l_cluster} ms"

# ---------------------------------------------------------------------------------------------------------------
note "scenario 6: network.mgmt.interface names the interface the group is joined on"
# A host whose mgmt address is on eth-a but whose configuration names eth-b: the group must be joined on eth-b.
probe="$prefix-probe"
new_ns "$probe"
ip -n "$probe" link add eth-a type veth peer name eth-b
ip -n "$probe" addr add 10.89.0.1/24 dev eth-a
ip -n "$probe" link set eth-a up
ip -n "$probe" link set eth-b up
probe_config() {
  local d=$dir/probe-$1
  mkdir -p "$d/goenabled.d" "$d/services.d/worker"
  cp "$dir/worker-0/key" "$d/key"
  printf 'probe-boot-1\n' >"$d/boot_id"
  cat >"$d/mtce.toml" <<EOF
[agent]
hostname = "probe"
boot_id_file = "$d/boot_id"
drain_timeout = "1s"
controllers = ["10.89.0.2"]

[auth]
key_file = "$d/key"

[host]
goenabled_dir = "$d/goenabled.d"
services_dir = "$d/services.d"
run_dir = "$d/run"
state_dir = "$d/state"
reboot_command = "echo reboot >> '$d/reboot-requested'"
reset_command = "echo reset >> '$d/reset-requested'"

[heartbeat]
mode = "multicast"

[network.mgmt]
address = "10.89.0.1"
interface = "$1"
EOF
}
probe_config eth-b
ip netns exec "$probe" "$mtce" agent --role worker --config "$dir/probe-eth-b/mtce.toml" --foreground \
  >"$dir/probe-eth-b/log" 2>&1 &
pid[probe]=$!
for _ in $(seq 150); do
  grep -qF 'heartbeat (mgmt): answering pulses' "$dir/probe-eth-b/log" && break
  sleep 0.1
done
grep -qF 'heartbeat (mgmt): answering pulses' "$dir/probe-eth-b/log" ||
  fail "the probe agent does not answer pulses: $(tail -n 5 "$dir/probe-eth-b/log")"
on_a=$(ip -n "$probe" maddr show dev eth-a)
on_b=$(ip -n "$probe" maddr show dev eth-b)
[[ $on_b == *239.1.1.2* ]] || fail "239.1.1.2 not joined on eth-b, the configured interface: $on_b"
[[ $on_a != *239.1.1.2* ]] || fail "239.1.1.2 joined on eth-a, not the configured interface: $on_a"
kill -TERM "${pid[probe]}"
wait "${pid[probe]}" 2>/dev/null || true
unset "pid[probe]"
# An interface that does not exist: the heartbeat task fails with an error naming it, and the agent stops with
# status 1 (as for any part that fails), for systemd to restart it and show why.
probe_config no-such-if
ip netns exec "$probe" "$mtce" agent --role worker --config "$dir/probe-no-such-if/mtce.toml" --foreground \
  >"$dir/probe-no-such-if/log" 2>&1 &
pid[probe]=$!
for _ in $(seq 150); do
  grep -qF "no interface 'no-such-if'" "$dir/probe-no-such-if/log" && break
  sleep 0.1
done
missing=$(grep -F "no interface 'no-such-if'" "$dir/probe-no-such-if/log") ||
  fail "no error naming the missing interface: $(tail -n 5 "$dir/probe-no-such-if/log")"
! grep -qF 'answering pulses' "$dir/probe-no-such-if/log" || fail "answering pulses without its interface"
note "${missing#* * }"
for _ in $(seq 100); do
  kill -0 "${pid[probe]}" 2>/dev/null || break
  sleep 0.1
done
! kill -0 "${pid[probe]}" 2>/dev/null || fail "the agent goes on without its heartbeat"
status=0
wait "${pid[probe]}" || status=$?
unset "pid[probe]"
[[ $status == 1 ]] || fail "the agent without its heartbeat exited with status $status, not 1"
passed_scenario "the group is joined on the configured interface; a missing interface stops the agent naming it"

failed=0
printf '%d scenarios passed, %d skipped\n' "$passed" "$skipped"
