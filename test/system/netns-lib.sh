# Shared by the network-namespace system tests (sourced, not run): messages, the switch namespace with its two
# bridges, namespaces made and removed, and what a killed earlier run left behind.
# shellcheck shell=bash
# shellcheck disable=SC2154 # ns, port_name, mgmt_ip, cluster_ip, mgmt_if, cluster_if, sw, key and log_level
# are the caller's.

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
