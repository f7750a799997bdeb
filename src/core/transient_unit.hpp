#pragma once

// Scripts as transient systemd units: the daemon asks systemd (StartTransientUnit on the system bus) to run a
// program as root in its own cgroup, so that the daemon itself can run as an unprivileged user. The contract
// is run_child's (child.hpp): deadline, then SIGTERM to the whole cgroup, then SIGKILL after kill_grace;
// output captured and bounded; the exit code or signal in the result.
//
// The decisions (unit name, property list, result mapping) are plain functions below, tested without a bus.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <asio/awaitable.hpp>

#include "core/child.hpp"

namespace mtce {

/// Whether systemd is the init system (sd_booted()): only then can scripts run as transient units.
[[nodiscard]] bool systemd_is_running();

/// Runs `spec` as the transient unit `mtce-script-<name>-<pid>-<n>.service` (root, its own cgroup), with the
/// same contract as run_child(). Errors of the bus or of systemd (no bus, access denied, the program cannot
/// be executed) are reported in the result as a start error. Every call on the bus has a deadline.
/// Cancellation SIGKILLs the unit's whole cgroup, as run_child kills the process group, and rethrows.
asio::awaitable<child_result> run_transient_unit(child_spec spec);

/// Starts a unit of the system manager (StartUnit) and waits, with a deadline, for systemd to accept the job
/// (not for the job to finish); e.g. ("reboot.target", "replace-irreversibly"). Returns an empty string or
/// why it failed.
asio::awaitable<std::string> start_system_unit(std::string unit, std::string mode);

namespace transient {

/// The prefix of every script unit's name; the polkit rule allows the daemon's user exactly these.
inline constexpr std::string_view unit_prefix = "mtce-script-";

/// `mtce-script-<name>-<pid>-<n>.service`, where <name> is the program's file name reduced to the characters
/// a unit name allows (others become '_') and at most 64 of them, <pid> the daemon's (a unit left behind by
/// an earlier daemon cannot collide) and <n> counts the daemon's runs.
[[nodiscard]] std::string unit_name(std::string_view program, std::int64_t pid, std::uint64_t n);

/// ExecStart=: the program, its whole argv (argv[0] first) and whether a failure is ignored.
struct exec_command {
    std::string path;
    std::vector<std::string> argv;
    bool ignore_failure = false;
    bool operator==(const exec_command&) const = default;
};

/// A file descriptor the unit gets as its standard output or error: the write end of a pipe.
enum class stdio_fd { out, err };

/// One property of the transient unit, as StartTransientUnit takes it: bool "b", uint64 "t", string "s",
/// string array "as", exec command "a(sasb)", file descriptor "h".
struct property {
    using value_type =
        std::variant<bool, std::uint64_t, std::string, std::vector<std::string>, exec_command, stdio_fd>;
    std::string name;
    value_type value;
    bool operator==(const property&) const = default;
};

/// The unit's properties for `spec`. No clock is read here.
[[nodiscard]] std::vector<property> properties(const child_spec& spec);

/// What systemd reports about a finished (or never started) unit.
struct unit_outcome {
    std::string job_result;             ///< of the start job: "done" once the program was executed
    std::int32_t exec_main_code = 0;    ///< ExecMainCode: a CLD_* code (1 exited, 2 killed, 3 dumped)
    std::int32_t exec_main_status = 0;  ///< ExecMainStatus: exit status or signal number
    std::string result;                 ///< Result: "success", "exit-code", "signal", "timeout", ...
};

/// Fills `result` (started, start_error, exit_code, signal) from what systemd reported.
void apply_outcome(const child_spec& spec, const unit_outcome& outcome, child_result& result);

}  // namespace transient

}  // namespace mtce
