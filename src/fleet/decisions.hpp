#pragma once

// The fleet manager's decisions, sans-io: which requests a host accepts, what a host's mtcAlive says about
// each step of its enable, which job a host's supervisor runs next, how an idle host's availability follows
// its mtcAlive, and which alarms a host's state raises. No clock is read here: time comes in as arguments.
// The coroutines of lifecycles.cpp only wait and act on these answers.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.hpp"
#include "fleet/states.hpp"
#include "heartbeat/accounting.hpp"
#include "net/payloads.hpp"

namespace mtce::fleet {

using time_point = std::chrono::steady_clock::time_point;

// ---------------------------------------------------------------------------------------------------------
// Administrative requests

/// What admission needs to know of one host.
struct admission_view {
    std::string_view name;
    admin_state administrative = admin_state::locked;
    oper_state operational = oper_state::disabled;
    role personality = role::worker;
    bool self = false;     ///< this controller's own host
    bool has_bmc = false;  ///< a BMC type other than "none" is provisioned
    /// The request waiting to run, or the job running for one (force_lock runs to completion and queues
    /// the next request).
    host_action in_progress = host_action::none;
};

/// What admission needs to know of the fleet.
struct fleet_view {
    /// Controllers that are unlocked-enabled, this one included.
    std::size_t enabled_controllers = 0;
    /// Controllers in the inventory, this one included.
    std::size_t controllers = 0;
};

/// Why `action` is refused for this host (the text the CLI prints after "cannot <action> <host>: "), or
/// nothing when it is accepted. `none` and `remove` are not actions of this function (delete has its own
/// check); `remove` is accepted here only for locked hosts, as delete requires.
[[nodiscard]] std::optional<std::string> refusal(const admission_view& host, host_action action,
                                                 const fleet_view& fleet);

/// The administrative state once `action` is accepted: lock and force-lock lock, unlock unlocks, the others
/// leave it as it is. The change is saved before the request is acknowledged.
[[nodiscard]] admin_state admin_after(admin_state current, host_action action) noexcept;

// ---------------------------------------------------------------------------------------------------------
// Jobs

/// What a host's supervisor can be doing.
enum class job_kind : std::uint8_t {
    none,
    add,                 ///< learning the host's live state (controller start, or the host was just added)
    enable,              ///< unlock or retry: reboot if needed, then test, start services, soak, enable
    enable_subfunction,  ///< the worker subfunction of an all-in-one controller
    recover,             ///< an enabled host lost its heartbeat: graceful recovery
    lock,
    force_lock,
    reboot,
    reset,        ///< through the BMC when the host has one, else through its agent
    power_on,     ///< BMC
    power_off,    ///< BMC, verified
    power_cycle,  ///< BMC
    reinstall,    ///< BMC: one-time network boot, then reset (or power on)
};

[[nodiscard]] std::string_view to_string(job_kind k) noexcept;

/// Whether a job works the host's BMC across several exchanges (power, reset, reinstall), so that its BMC
/// must not change under it.
[[nodiscard]] bool works_the_bmc(job_kind k) noexcept;

/// The job that holds the host's BMC, or will once it starts: the running one while it works the BMC (not
/// when it only shows its outcome), else the one a pending request starts; job_kind::none when the BMC may
/// change.
[[nodiscard]] job_kind bmc_holder(job_kind running, bool finishing,
                                  std::optional<host_action> request) noexcept;

/// Whether a running job gives way to a newly accepted request. Adding and force-lock never do: the
/// request waits and runs next.
[[nodiscard]] bool preempted_by(job_kind running, host_action request) noexcept;

/// What the planner needs to know of a host.
struct plan_input {
    host_states states;
    bool has_subfunction = false;        ///< an all-in-one controller
    std::optional<host_action> request;  ///< accepted, not yet started
    bool recovery_due = false;           ///< its heartbeat was lost, or it rebooted on its own, while enabled
    std::optional<time_point> retry_at;  ///< when the next enable may start after a failure
    std::optional<time_point> subfunction_retry_at;
    /// The worker subfunction is to be tested again while it stays in service (after a power loss).
    bool subfunction_recheck = false;
    /// Auto-recovery is disabled: no enable, subfunction enable or recovery starts on its own.
    bool auto_recovery_disabled = false;
    time_point now{};
};

struct plan {
    job_kind job = job_kind::none;
    /// For job none: wake up then even if nothing changes (a retry becomes due).
    std::optional<time_point> wake_at;
};

/// The next job: an accepted request first; then, for an unlocked host, recovery after a heartbeat loss or
/// a spontaneous reboot, the enable of a disabled host once its retry is due, or the enable of a disabled
/// subfunction; nothing for a locked host, or for one whose auto-recovery is disabled.
[[nodiscard]] plan next_job(const plan_input& in) noexcept;

/// The task of a host whose auto-recovery was disabled by failures of `cause` (reference §4):
/// "In-Test Failure, threshold reached, Lock/Unlock to retry".
[[nodiscard]] std::string autorecovery_banner(failure_cause cause);

/// The interval before the next enable after a failure of `cause`.
[[nodiscard]] std::chrono::milliseconds retry_interval(failure_cause cause,
                                                       const autorecovery_config& c) noexcept;

// ---------------------------------------------------------------------------------------------------------
// What the host's mtcAlive says

/// The outcome of one enable step as far as the host has reported it.
enum class step : std::uint8_t { pending, passed, failed };

struct verdict {
    step result = step::pending;
    std::string reason;  ///< for failed: what failed, for the task
};

/// The host's configuration: failed when it says it is not configured, its encrypted volume failed, or it
/// is not healthy without a failed self-test or service to explain it. A flags word of 0 says nothing yet.
[[nodiscard]] verdict judge_config(const net::alive_report& alive);
/// The self-tests of the main function or of the worker subfunction.
[[nodiscard]] verdict judge_goenabled(const net::alive_report& alive, bool subfunction);
/// The host services of the main function or of the worker subfunction.
[[nodiscard]] verdict judge_services(const net::alive_report& alive, bool subfunction);
/// The subfunction's configuration (all-in-one): passed once it is reported configured; failed, with the
/// host's own reason, once the host reports its subfunction's self-tests or services failed (the host gives
/// up waiting for its configuration after host.subfunction_config_timeout and says why). A zero flags word is
/// no failure (reference §2.4).
[[nodiscard]] verdict judge_subfunction_config(const net::alive_report& alive);

/// Whether an unlock must reboot the host: it is running (reported within the offline window) and booted at
/// least `fresh_boot_uptime` ago. A host that is not running will boot anyway; a fresh one already runs
/// what it will be enabled with.
[[nodiscard]] bool unlock_needs_reboot(bool reachable, std::uint64_t uptime_s,
                                       std::chrono::milliseconds fresh_boot_uptime) noexcept;

// ---------------------------------------------------------------------------------------------------------
// This controller's own failures (reference §7)

/// What this controller does when its own enable fails.
enum class self_failure : std::uint8_t {
    degrade,  ///< stay unlocked-enabled-degraded with the critical alarm; never reboot itself
    reboot,   ///< fail, and reboot itself at the retry (simplex, under the threshold)
    give_up,  ///< simplex past the threshold: stay degraded with the critical alarm, no more self-reboots
};

/// `peer_controller`: another controller is in the inventory (then this one never reboots itself: with no
/// enabled standby it would take the system down; with one, the fail-over is the standby's, design §8).
/// `failures`: consecutive failures of this cause, this one included (kept across its own reboots).
[[nodiscard]] self_failure self_failure_outcome(bool peer_controller, std::uint32_t failures,
                                                std::uint32_t threshold) noexcept;

// ---------------------------------------------------------------------------------------------------------
// In service

/// Why an enabled host is degraded. A host is degraded while any bit is set, available when none is.
namespace degrade {
inline constexpr std::uint32_t heartbeat_mgmt = 0x1;     ///< heartbeat degraded on the management network
inline constexpr std::uint32_t heartbeat_cluster = 0x2;  ///< heartbeat degraded on the cluster network
inline constexpr std::uint32_t failure_flag = 0x4;       ///< the host reports a failed self-test or service
inline constexpr std::uint32_t service_manager = 0x8;    ///< the host reports its service manager degraded
inline constexpr std::uint32_t subfunction = 0x10;       ///< the worker subfunction failed
/// This controller failed its own enable and stays in service, degraded (it never fails itself while a peer
/// controller exists; reference §7).
inline constexpr std::uint32_t critical_failure = 0x20;
/// This controller reports its configuration failed, in service, for in_service_config_reports reports in a
/// row (another host is failed instead).
inline constexpr std::uint32_t config_failure = 0x40;
inline constexpr std::uint32_t luks = 0x80;  ///< the host reports its encrypted volume not active
}  // namespace degrade

/// Consecutive mtcAlive reports of an enabled host saying its configuration failed before it is acted on
/// (reference §2.10: three audits).
inline constexpr std::uint32_t in_service_config_reports = 3;

/// Whether an mtcAlive flags word says the configuration failed: not healthy without a failed self-test or
/// service to explain it.
[[nodiscard]] bool reports_config_failure(std::uint32_t alive_flags) noexcept;

/// Names of the set bits, for the host document ("heartbeat-mgmt", "failure-flag", ...).
[[nodiscard]] std::vector<std::string> degrade_names(std::uint32_t mask);

/// The degrade bits an mtcAlive report sets (failure_flag, service_manager, luks); the others come from
/// elsewhere.
[[nodiscard]] std::uint32_t alive_degrade(std::uint32_t alive_flags) noexcept;

/// The degrade bit of a heartbeat network.
[[nodiscard]] std::uint32_t heartbeat_degrade_bit(heartbeat::network net) noexcept;

/// An enabled host's availability from its degrade bits.
[[nodiscard]] avail_state in_service_availability(std::uint32_t degrade_mask) noexcept;

/// The availability an idle host gets from whether it reports mtcAlive (reachable: within the offline
/// window): a locked host, or an unlocked host that is disabled and online or offline, is online or
/// offline accordingly; any other state (enabled, failed, power-off, in test) is not for this rule to
/// change (nothing).
[[nodiscard]] std::optional<avail_state> idle_availability(const host_states& st, bool reachable) noexcept;

/// The command that brings a host's own lock in line with its administrative state, if its mtcAlive shows
/// otherwise: lock for a locked host that reports unlocked, unlock for the reverse.
[[nodiscard]] std::optional<net::command_kind> lock_correction(admin_state admin,
                                                               std::uint32_t alive_flags) noexcept;

}  // namespace mtce::fleet
