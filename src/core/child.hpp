#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <asio/awaitable.hpp>

#include "core/config.hpp"

namespace mtce {

/// What to run and under which limits.
struct child_spec {
    std::filesystem::path program;                         ///< absolute path; not looked up in PATH
    std::vector<std::string> args;                         ///< argv[1..]; argv[0] is `program`
    std::vector<std::pair<std::string, std::string>> env;  ///< the child's whole environment
    std::filesystem::path cwd = "/";
    std::chrono::milliseconds deadline{std::chrono::seconds{60}};   ///< then SIGTERM to the whole group
    std::chrono::milliseconds kill_grace{std::chrono::seconds{5}};  ///< then SIGKILL to the whole group
    std::size_t output_limit = std::size_t{64} * 1024;  ///< bytes kept per stream; the rest is counted
    /// How the child and everything it starts are contained (see run_child): `systemd`, `cgroup` or
    /// `process_group`, as chosen by choose_isolation(); `automatic` runs as `process_group`.
    script_isolation isolation = script_isolation::process_group;
};

/// How a child ended. Exactly one of `exit_code` / `signal` is set once the child was started and reaped.
struct child_result {
    bool started = false;
    std::string start_error;  ///< why it could not be started (exec failure, missing program, ...)
    std::optional<int> exit_code;
    std::optional<int> signal;
    bool timed_out = false;       ///< the deadline passed and the group was killed
    std::string out;              ///< first `output_limit` bytes of stdout
    std::string err;              ///< first `output_limit` bytes of stderr
    std::size_t out_dropped = 0;  ///< stdout bytes read past the limit and discarded
    std::size_t err_dropped = 0;
    std::chrono::milliseconds elapsed{0};

    /// Started, not timed out, exited with 0.
    [[nodiscard]] bool ok() const { return started && !timed_out && exit_code == 0; }
    /// A short human reason: "exit code 3", "killed by signal 9 (SIGKILL)", "timed out after 5s",
    /// "could not start: ...", or "ok".
    [[nodiscard]] std::string describe() const;
};

/// Runs a program to completion without blocking the event loop.
///
/// The child gets its own process group (and with script_isolation::cgroup its own cgroup v2, joined before
/// exec, which a process cannot leave by calling setsid), a pidfd, the given environment and working
/// directory, stdin from /dev/null, and default signal dispositions. When the deadline passes, the whole
/// group gets SIGTERM, then SIGKILL after `kill_grace`. When the child exits, anything it left in its group
/// is killed the same way. Output beyond `output_limit` is drained and counted, so a chatty child never
/// stalls. The child is always reaped. Cancellation (e.g. shutdown) kills the whole group at once, reaps it
/// and rethrows. Never throws for a child that fails or cannot start: that is reported in the result.
/// With `isolation` systemd, the program runs as a transient systemd unit instead (transient_unit.hpp), with
/// the same contract.
asio::awaitable<child_result> run_child(child_spec spec);

/// What the host offers to contain scripts.
struct isolation_probes {
    bool systemd_pid1 = false;     ///< systemd is PID 1
    bool transient_units = false;  ///< scripts can run as transient systemd units
    bool cgroup = false;           ///< a cgroup v2 child of our own cgroup can be created
};

/// The isolation used and, if it is weaker than it should be, a warning for the log.
struct isolation_choice {
    script_isolation mode = script_isolation::process_group;
    std::string warning;
};

/// The isolation scripts get for host.script_isolation = `requested` on a host that offers `probes`. Pure.
///
/// `automatic` takes the first the host offers of systemd (PID 1 and transient units), cgroup and
/// process_group. An explicit choice is used if offered, else the next one down the same order, with a
/// warning. process_group always comes with the warning that a process that calls setsid escapes it.
[[nodiscard]] isolation_choice choose_isolation(script_isolation requested, const isolation_probes& probes);

/// Looks at this host: whether systemd is PID 1, and whether a child cgroup of this process's cgroup v2 can
/// be created (by creating and removing one). transient_units is left false: the host agent knows
/// whether it runs as its own systemd unit (host/systemd_actions.hpp).
[[nodiscard]] isolation_probes probe_isolation();

/// The cgroup v2 directory of this process (found through /proc/self/mountinfo and /proc/self/cgroup), in
/// which `cgroup` runs get their own child cgroup named mtce-script-<our pid>-<n>; empty if there is none.
/// Found once per process: moving a running agent to another cgroup is not followed.
[[nodiscard]] std::filesystem::path script_cgroup_parent();

/// Kills whatever runs in script cgroups left under script_cgroup_parent() by an agent process that no longer
/// exists (killed before it could clean up), and removes them; returns how many were removed. The cgroups
/// of live processes (another agent on the same host) are left alone. Blocks for at
/// most about a second per cgroup: call it at start, before the event loop runs.
std::size_t clear_stale_script_cgroups();

/// The environment a script gets: a fixed PATH and LANG plus `extra`.
[[nodiscard]] std::vector<std::pair<std::string, std::string>> script_environment(
    std::vector<std::pair<std::string, std::string>> extra);

}  // namespace mtce
