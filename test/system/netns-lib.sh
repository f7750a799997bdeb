# Shared by the network-namespace system tests (sourced, not run): messages, the switch namespace with its two
# bridges, namespaces made and removed, and what a killed earlier run left behind; managed hosts (agents that
# reboot, lose power and lose their cables) and the command line that reads their states and events.
# shellcheck shell=bash
# shellcheck disable=SC2154 # ns, port_name, mgmt_ip, cluster_ip, mgmt_if, cluster_if, sw, key, log_level, dir,
# mtce, role, api_url and managed_pid are the caller's.

skip() {
  printf 'SKIPPED: %s\n' "$*"
  exit 77
}

note() {
  printf -- '-- %s\n' "$*"
}

fail() {
  printf 'FAIL: %s\n' "$*" >&2
  exit 1
}

now_ms() {
  local t
  t=$(date +%s%N)
  printf '%s\n' $((t / 1000000))
}

# remove_stale_namespaces REGEX: removes the namespaces whose names match REGEX, where group 1 is the pid of the
# run that made them, if that run no longer exists (a run killed outright, as by a test timeout, could not remove
# them), with whatever still runs in them.
remove_stale_namespaces() {
  local stale p
  while read -r stale _; do
    if [[ $stale =~ $1 ]] && ! kill -0 "${BASH_REMATCH[1]}" 2>/dev/null; then
      note "removing $stale, left by an earlier run"
      for p in $(ip netns pids "$stale" 2>/dev/null); do
        kill -KILL "$p" 2>/dev/null || true
      done
      ip netns del "$stale" 2>/dev/null || true
    fi
  done < <(ip netns list 2>/dev/null)
}

# The namespaces this run made, removed by delete_namespaces.
created_ns=()

new_ns() {
  ip netns add "$1" || return 1
  created_ns+=("$1")
  ip -n "$1" link set lo up
}

# Makes host $1's namespace (${ns[$1]}) and joins it to both bridges of the switch namespace $sw: per network
# a veth made in the switch namespace with its peer straight in the host's (nothing touches the caller's),
# named ${port_name[$1]}-NET outside and $mgmt_if or $cluster_if inside, with the host's address on it.
plug_host() {
  local h=$1 net inside address
  new_ns "${ns[$h]}"
  for net in mgmt cluster; do
    inside=$mgmt_if address=${mgmt_ip[$h]}
    if [[ $net == cluster ]]; then
      inside=$cluster_if address=${cluster_ip[$h]}
    fi
    ip -n "$sw" link add "${port_name[$h]}-$net" type veth peer name "$inside" netns "${ns[$h]}"
    ip -n "$sw" link set "${port_name[$h]}-$net" master "br-$net" up
    ip -n "${ns[$h]}" addr add "$address/24" dev "$inside"
    ip -n "${ns[$h]}" link set "$inside" up
  done
}

# Simulated host $1's directories under $2 for role $3, its copy of the cluster key ($key, mode 0600) and its
# first boot id.
make_host_dir() {
  local h=$1 d=$2 r=$3
  mkdir -p "$d/goenabled.d" "$d/services.d/$r" "$d/run" "$d/state"
  (
    umask 077
    printf '%s\n' "$key" >"$d/key"
  )
  printf '%s-boot-1\n' "$h" >"$d/boot_id"
}

# The start of host $1's mtce.toml (its directories under $2, agent drain timeout $3): the [agent] table, to
# which the caller may add keys, then host_config_dirs.
host_config_agent() {
  cat <<EOF
[agent]
hostname = "$1"
boot_id_file = "$2/boot_id"
drain_timeout = "$3"
log_level = "$log_level"
controllers = ["${mgmt_ip[controller-0]}", "${cluster_ip[controller-0]}"]
EOF
}

# [auth] and the start of the [host] table of a host whose directories are under $1; the caller adds its own
# [host] keys after it.
host_config_dirs() {
  cat <<EOF

[auth]
key_file = "$1/key"

[host]
goenabled_dir = "$1/goenabled.d"
services_dir = "$1/services.d"
run_dir = "$1/run"
state_dir = "$1/state"
kill_grace = "300ms"
EOF
}

delete_namespaces() {
  local n
  for n in "${created_ns[@]}"; do
    ip netns del "$n" 2>/dev/null || true
  done
}

# make_switch NS DIR: the switch namespace NS with the bridges br-mgmt and br-cluster. Returns 1, with the reason
# in DIR/probe.err, when namespaces, bridges or veths are unavailable here (the caller skips).
make_switch() {
  local net
  if ! new_ns "$1" 2>"$2/probe.err" || ! ip -n "$1" link add br-probe type bridge 2>>"$2/probe.err" ||
    ! ip -n "$1" link add probe-a type veth peer name probe-b 2>>"$2/probe.err"; then
    return 1
  fi
  ip -n "$1" link del br-probe
  ip -n "$1" link del probe-a
  for net in mgmt cluster; do
    ip -n "$1" link add "br-$net" type bridge
    # No IGMP snooping: the bridge floods the groups to every port, as a switch without a querier would.
    ip -n "$1" link set "br-$net" type bridge mcast_snooping 0
    ip -n "$1" link set "br-$net" up
  done
}

# finish RC LINES HOST...: the end of a run, after its processes are stopped: removes the namespaces, and on a
# failure (the caller's `failed` is set) prints the last LINES lines of each host's log and keeps the
# directory `dir` (also with MTCE_KEEP_LOGS=1); exits with RC, or 1 for a failure that had none.
# shellcheck disable=SC2154 # failed and dir belong to the test that sources this file
finish() {
  local rc=$1 lines=$2 h
  shift 2
  delete_namespaces
  if ((failed)); then
    for h in "$@"; do
      if [[ -f $dir/$h/log ]]; then
        printf '==== %s log (last %s lines) ====\n' "$h" "$lines" >&2
        tail -n "$lines" "$dir/$h/log" >&2
      fi
    done
    ((rc != 0)) || rc=1
  fi
  if ((failed)) || [[ ${MTCE_KEEP_LOGS:-0} == 1 ]]; then
    printf 'logs and configurations kept in %s\n' "$dir" >&2
  else
    rm -rf "$dir"
  fi
  exit "$rc"
}

# ---------------------------------------------------------------------------------------------------------------
# Managed hosts: one real `mtce agent` per namespace, started, rebooted, killed and powered on by the test, and
# the command line run in the controller's namespace. The caller sets dir, mtce, ns, role, api_url (the
# controller's API, e.g. unix:$dir/controller-0/api.sock) and declares `declare -A managed_pid`. A host H's files are
# under $dir/H: mtce.toml, log, agent.pid, boots (its number of boots so far), boot_id, booted_at (now_ms when
# its agent was last started), reboot (its host.reboot_command: it marks the request and stops the agent) and,
# for an all-in-one controller, subfunction_config_delay (seconds after each boot until the worker
# configuration is complete, i.e. until run/.worker_config_complete appears; "never": it never does; missing:
# complete from the start).

# reboot_command_file H: writes $dir/H/reboot, H's host.reboot_command and host.reset_command.
reboot_command_file() {
  local d=$dir/$1
  # shellcheck disable=SC2016 # the script expands it, not this one
  printf '#!/bin/sh\ntouch %s/reboot-requested\nkill -TERM "$(cat %s/agent.pid)"\n' "$d" "$d" >"$d/reboot"
  chmod 0755 "$d/reboot"
}

# managed_next_boot H: H's next boot: a new boot identity and an empty run directory (a tmpfs on a real host).
managed_next_boot() {
  local h=$1 d=$dir/$1 n
  n=$(($(cat "$d/boots") + 1))
  printf '%s\n' "$n" >"$d/boots"
  printf '%s-boot-%s\n' "$h" "$n" >"$d/boot_id"
  rm -rf "$d/run"
}

# managed_loop H: runs H's agent until $dir/H/stop exists; a reboot that H's reboot command asked for starts it
# again on a new boot after one second. A killed agent stays down until managed_power_on.
managed_loop() {
  local h=$1 d=$dir/$1 delay marker_pid
  while [[ ! -f $d/stop ]]; do
    mkdir -p "$d/run"
    marker_pid=
    delay=$(cat "$d/subfunction_config_delay" 2>/dev/null || printf '0')
    if [[ $delay == 0 ]]; then
      touch "$d/run/.worker_config_complete"
    elif [[ $delay != never ]]; then
      (
        trap 'kill "$sleeper" 2>/dev/null; exit 0' TERM
        sleep "$delay" &
        sleeper=$!
        wait "$sleeper"
        touch "$d/run/.worker_config_complete"
      ) >/dev/null 2>&1 &
      marker_pid=$!
      printf '%s\n' "$marker_pid" >"$d/marker.pid"
    fi
    now_ms >"$d/booted_at"
    ip netns exec "${ns[$h]}" "$mtce" agent --role "${role[$h]}" --config "$d/mtce.toml" --foreground \
      >>"$d/log" 2>&1 &
    printf '%s\n' $! >"$d/agent.pid"
    # (Without the shell's own line about an agent killed on purpose.)
    { wait $!; } 2>/dev/null || true
    if [[ -n $marker_pid ]]; then
      kill "$marker_pid" 2>/dev/null || true
      wait "$marker_pid" 2>/dev/null || true
      rm -f "$d/marker.pid"
    fi
    if [[ -f $d/reboot-requested && ! -f $d/stop ]]; then
      rm -f "$d/reboot-requested"
      sleep 1
      managed_next_boot "$h"
      printf '%s ==== %s reboots (boot %s) ====\n' "$(date +%T)" "$h" "$(cat "$d/boots")" >>"$d/log"
      continue
    fi
    break
  done
  rm -f "$d/agent.pid"
}

# managed_start H: starts H's loop and waits until its agent runs.
managed_start() {
  local h=$1
  rm -f "$dir/$h/stop"
  managed_loop "$h" &
  # shellcheck disable=SC2004 # the caller's associative array, indexed by host name
  managed_pid[$h]=$!
  for _ in $(seq 50); do
    [[ -f $dir/$h/agent.pid ]] && return 0
    sleep 0.1
  done
  fail "$h: its agent did not start"
}

# managed_kill H: SIGKILL of H's agent (the host loses power); it stays down until managed_power_on.
managed_kill() {
  local h=$1 p
  p=$(cat "$dir/$h/agent.pid")
  kill -KILL "$p"
  wait "${managed_pid[$h]}" 2>/dev/null || true
}

# managed_power_on H: H boots again (a new boot identity, an empty run directory).
managed_power_on() {
  local h=$1
  wait "${managed_pid[$h]}" 2>/dev/null || true
  managed_next_boot "$h"
  printf '%s ==== %s powered on (boot %s) ====\n' "$(date +%T)" "$h" "$(cat "$dir/$h/boots")" >>"$dir/$h/log"
  managed_start "$h"
}

# managed_stop_all: stops every host's agent and loop (SIGTERM, then SIGKILL after 5 s).
managed_stop_all() {
  local h p
  for h in "${!managed_pid[@]}"; do
    touch "$dir/$h/stop" 2>/dev/null || true
    p=$(cat "$dir/$h/agent.pid" 2>/dev/null || true)
    if [[ -n $p ]]; then
      kill -TERM "$p" 2>/dev/null || true
    fi
  done
  for h in "${!managed_pid[@]}"; do
    for _ in $(seq 50); do
      kill -0 "${managed_pid[$h]}" 2>/dev/null || break
      sleep 0.1
    done
    p=$(cat "$dir/$h/marker.pid" 2>/dev/null || true)
    if [[ -n $p ]]; then
      kill -TERM "$p" 2>/dev/null || true
    fi
    p=$(cat "$dir/$h/agent.pid" 2>/dev/null || true)
    if [[ -n $p ]]; then
      kill -KILL "$p" 2>/dev/null || true
    fi
    kill -KILL "${managed_pid[$h]}" 2>/dev/null || true
    wait "${managed_pid[$h]}" 2>/dev/null || true
  done
}

# set_links H up|down: H's ports on both bridges of the switch, as a pulled (or plugged) cable.
set_links() {
  local net
  for net in mgmt cluster; do
    ip -n "$sw" link set "${port_name[$1]}-$net" "$2"
  done
}

# cli ARGS...: the mtce command line in the controller's namespace.
cli() {
  ip netns exec "${ns[controller-0]}" "$mtce" "$@" --api "$api_url"
}

# host_field H F: field F of host H's document ("" if unknown).
host_field() {
  cli host show "$1" --json 2>/dev/null | python3 -c "import json,sys; print(json.load(sys.stdin).get('$2',''))" \
    2>/dev/null || true
}

# host_state H: administrative-operational-availability of H ("unknown" if the controller does not answer).
host_state() {
  cli host show "$1" --json 2>/dev/null | python3 -c \
    "import json,sys; d=json.load(sys.stdin); print(d['administrative']+'-'+d['operational']+'-'+d['availability'])" \
    2>/dev/null || printf 'unknown\n'
}

# await_state H STATE SECONDS: fails unless H reaches STATE within SECONDS.
await_state() {
  local out
  if ! out=$(cli host wait "$1" --state "$2" --timeout "$3" 2>&1); then
    printf '%s\n' "$out" >&2
    fail "$1 did not reach $2 within $3 s (it is $(host_state "$1"): $(host_field "$1" task))"
  fi
}

# expect_status STATUS COMMAND...: fails unless COMMAND exits with STATUS.
expect_status() {
  local want=$1 got=0
  shift
  "$@" >"$dir/last.out" 2>&1 || got=$?
  ((got == want)) || fail "'$*' exited $got, not $want: $(cat "$dir/last.out")"
}

# await_api: waits up to 20 s until the controller's API answers.
await_api() {
  for _ in $(seq 100); do
    cli host list >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  fail "the controller's API does not answer at $api_url"
}

# last_event_id: the id of the newest event (0 if none).
last_event_id() {
  cli event list --json | python3 -c "import json,sys; e=json.load(sys.stdin); print(e[-1]['id'] if e else 0)"
}

# events_since ID: the events after ID, as a JSON array.
events_since() {
  cli event list --json |
    python3 -c "import json,sys; print(json.dumps([e for e in json.load(sys.stdin) if e['id'] > $1]))"
}

# await_event ID KIND TEXT SECONDS: the first event after ID of kind KIND whose text contains TEXT, printed as
# "id<TAB>time_ms<TAB>host<TAB>text"; fails if there is none within SECONDS.
await_event() {
  local since=$1 kind=$2 text=$3 limit=$4 t0 found
  t0=$(now_ms)
  while :; do
    found=$(cli event list --json 2>/dev/null | python3 -c '
import json, sys
since, kind, text = int(sys.argv[1]), sys.argv[2], sys.argv[3]
for e in json.load(sys.stdin):
    if e["id"] > since and e["kind"] == kind and text in e["text"]:
        print("{}\t{}\t{}\t{}".format(e["id"], e["time"], e["host"], e["text"]))
        break
' "$since" "$kind" "$text" 2>/dev/null || true)
    if [[ -n $found ]]; then
      printf '%s\n' "$found"
      return 0
    fi
    (($(now_ms) - t0 < limit * 1000)) || fail "no '$kind' event with '$text' within $limit s"
    sleep 0.5
  done
}

# sanitizer_notes HOST...: a note for each host whose log holds a sanitizer report (the product's own
# defects, shown beside the scenarios' verdicts).
sanitizer_notes() {
  local h
  for h in "$@"; do
    if grep -qE 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:' "$dir/$h/log" 2>/dev/null; then
      note "sanitizer report in $h's log: $(grep -m1 -E 'SUMMARY: |runtime error:' "$dir/$h/log" | cut -c1-200)"
    fi
  done
}

# clock_of MS: the time of day of MS (milliseconds since the epoch, as now_ms), as HH:MM:SS.mmm.
clock_of() {
  date -d "@$(($1 / 1000)).$(printf '%03d' $(($1 % 1000)))" +%T.%3N
}
