#pragma once

// What the host agent asks systemd to do for it when it runs unprivileged: scripts as transient units
// (core/transient_unit.hpp) and the reboot as reboot.target. The choices are plain functions.

#include <string_view>

#include <asio/awaitable.hpp>

#include "core/config.hpp"

namespace mtce::host {

/// What the host offers for running scripts through systemd.
struct systemd_probe {
    bool running = false;   ///< systemd is PID 1
    bool our_unit = false;  ///< the daemon runs as a unit of its own (mtce@ROLE.service or another mtce*)
};

/// How scripts actually run: `systemd` when asked for and systemd is PID 1; `auto` takes it only when the
/// daemon also runs as its own unit (the packaged, unprivileged daemon), so that a daemon started by hand,
/// by `mtce demo` or by the tests keeps running its scripts itself. Otherwise the agent runs them itself.
/// `cgroup` and `process-group` are kept as asked.
[[nodiscard]] script_isolation effective_isolation(script_isolation requested, systemd_probe probe);

/// Probes this host (sd_booted(), sd_pid_get_unit()).
[[nodiscard]] systemd_probe probe_systemd();

/// How a reboot request is carried out.
enum class reboot_method {
    start_reboot_target,  ///< StartUnit("reboot.target", "replace-irreversibly") over D-Bus
    run_command,          ///< host.reboot_command, through run_child (a transient unit under systemd)
};

/// The default host.reboot_command ("systemctl reboot") is reboot.target started over D-Bus when scripts run
/// through systemd: nothing to fork, and the daemon's own authorization covers it. A command an operator
/// configured is run as configured.
[[nodiscard]] reboot_method choose_reboot_method(script_isolation effective, std::string_view reboot_command);

/// Starts reboot.target (replace-irreversibly: no later job can cancel it). Logs the outcome; returns
/// whether systemd accepted the job.
asio::awaitable<bool> start_reboot_target();

}  // namespace mtce::host
