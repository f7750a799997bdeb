#pragma once

// What a job may do to its host, and wait for: the narrow interface every runbook of src/fleet/jobs is
// written against. The fleet gives each managed host one (host_slot); a unit test gives a job a fake one,
// with a fake agent, a fake BMC and a simulated clock, and runs it in milliseconds.
//
// The rules a job follows:
// - Time is ctx.now(); waiting is ctx.wait_change(deadline), through wait_until() and pause() below. A job
//   never reads a clock or makes a timer of its own, so a simulated clock drives it entirely.
// - What the host reports arrives in ctx.host() (its record) while the job waits; every such change wakes
//   wait_change.
// - A step that fails throws job_failure; the supervisor turns it into the host's failure. A cancelled job
//   (preempted by a request, or the fleet stopping) ends with operation_aborted at its next await.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <asio/awaitable.hpp>

#include "bmc/types.hpp"
#include "core/config.hpp"
#include "fleet/decisions.hpp"
#include "fleet/host_record.hpp"
#include "net/payloads.hpp"

namespace mtce::fleet {

/// A job step that failed: the host becomes failed with `task`, and is enabled again after its cause's
/// interval (`at_once`: without waiting for it).
struct job_failure {
    failure_cause cause;
    std::string task;
    bool at_once = false;
};

/// A request to a host's BMC other than reading the power state.
enum class bmc_request : std::uint8_t { power_on, power_off, power_cycle, reset, boot_pxe_once };

[[nodiscard]] std::string_view to_string(bmc_request r) noexcept;

/// One managed host's world, as its jobs see it. Not thread-safe: the event loop's thread.
class host_context {
public:
    virtual ~host_context() = default;

    // ---- the host and the settings ----
    [[nodiscard]] virtual host_record& host() = 0;
    /// The configuration in force (a job takes it once at its start).
    [[nodiscard]] virtual std::shared_ptr<const config> settings() const = 0;
    /// What the fleet's rules need to know of the other hosts.
    [[nodiscard]] virtual fleet_view fleet() const = 0;

    // ---- time ----
    [[nodiscard]] virtual time_point now() const = 0;
    /// Completes at `deadline` or at the next change of the host (a report, an ack, a request, a state
    /// change), whichever comes first; the caller checks what it waits for again. Completes at once when the
    /// job is cancelled, which the caller then sees at its next await.
    virtual asio::awaitable<void> wait_change(time_point deadline) = 0;

    // ---- the fleet's failure policy ----
    /// The end of the Dead Office Recovery window while it is open: until then no host is failed for being
    /// late, rebooted or reset.
    [[nodiscard]] virtual std::optional<time_point> dor_deadline() const = 0;
    /// The host is back after the power loss (`recovered`), or failed for a reason of its own: it checks in
    /// with the Dead Office Recovery window (nothing when none is open or it checked in already).
    virtual void dor_check_in(bool recovered) = 0;

    // ---- the journal: each logs, records an event where it says so, saves the host and updates its alarms
    // ----
    /// Writes the host's states (an event "before -> after (why)"), unless they are already these.
    virtual void set_states(const host_states& st, std::string_view why) = 0;
    virtual void set_task(std::string task) = 0;
    /// Saves the host's record as it is now (action, cause, counts...).
    virtual void save() = 0;
    virtual void log_event(std::string_view kind, std::string text) = 0;
    /// Recomputes the host's alarms from its record.
    virtual void update_alarms() = 0;
    /// An enable (or recovery) ended: took `took` when it succeeded, or failed with `cause` (metrics).
    virtual void count_enable(std::optional<std::chrono::milliseconds> took, failure_cause cause) = 0;

    // ---- the host's agent ----
    /// A new command id: ids only grow, across controller restarts too.
    [[nodiscard]] virtual std::uint64_t next_command_id() = 0;
    /// Sends `c` (with a new id unless it has one) on every network the host and this controller share;
    /// returns the id. Acks and results arrive in host().replies, for ids a job registered there.
    virtual std::uint64_t send(net::command c) = 0;

    // ---- the heartbeat ----
    virtual void start_heartbeat() = 0;
    virtual void stop_heartbeat() = 0;

    // ---- the BMC ----
    /// Whether the host has a BMC this controller can use.
    [[nodiscard]] virtual bool bmc_usable() const = 0;
    /// The power state; on success it is also in host().bmc_state.power.
    virtual asio::awaitable<bmc::result<bmc::power_state>> bmc_power() = 0;
    virtual asio::awaitable<bmc::result<void>> bmc_act(bmc_request r) = 0;
};

// ---------------------------------------------------------------------------------------------------------
// Steps every runbook uses; each only waits and acts through the context.

/// Waits until `done()` is true (checked now and after every change) or `deadline`; returns done().
asio::awaitable<bool> wait_until(host_context& ctx, std::function<bool()> done, time_point deadline);

/// Waits `d` (or until cancelled).
asio::awaitable<void> pause(host_context& ctx, std::chrono::milliseconds d);

/// Sends `c` until the host acknowledges it, every controller.command_timeout, at most
/// controller.command_retries times; whether it did. An ack with an error counts as no ack (logged).
asio::awaitable<bool> request(host_context& ctx, net::command c);

/// Main (and subfunction) operational and availability together; the subfunction follows the main function
/// down and comes up with its own enable.
void set_oper_avail(host_context& ctx, oper_state oper, avail_state avail, std::string_view why);

/// An enabled host's degrade causes from its last report, and its availability from them.
void refresh_in_service(host_context& ctx);

/// The personality's boot timeout.
[[nodiscard]] std::chrono::milliseconds boot_timeout(const config& cfg, role personality);

/// "<what> Failed: ..." with a BMC error's words.
[[nodiscard]] std::string bmc_failure(std::string_view what, const bmc::error& e);

}  // namespace mtce::fleet
