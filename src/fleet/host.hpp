#pragma once

// One managed host as the fleet manager holds it: what the inventory says (persisted), what the host last
// reported (live), and how its supervising coroutine is woken. Internal to src/fleet.

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <optional>
#include <string>

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/steady_timer.hpp>

#include "bmc/driver.hpp"
#include "fleet/bmc_policy.hpp"
#include "fleet/decisions.hpp"
#include "fleet/host_spec.hpp"
#include "fleet/states.hpp"
#include "net/payloads.hpp"

namespace mtce::fleet {

/// Wakes coroutines waiting for "something about this host changed". Each waiter owns a timer; notify()
/// cancels them all, and each waiter re-checks what it waits for. Not thread-safe.
class change_signal {
public:
    void notify();
    /// Completes at `deadline` or at the next notify(), whichever is first. Cancellation ends it at once.
    asio::awaitable<void> wait(time_point deadline);

private:
    std::list<asio::steady_timer*> waiters_;
};

/// What a host acknowledged or reported for one command.
struct command_reply {
    bool acked = false;
    std::string ack_error;
    std::optional<net::command_result> result;
};

struct managed_host {
    // ---- persisted (inventory) ----
    host_spec spec;
    host_states states;
    std::string task;
    host_action action = host_action::none;  ///< the accepted request not yet finished
    failure_cause cause = failure_cause::none;

    // ---- fixed ----
    bool self = false;  ///< this controller's own host

    // ---- live ----
    std::optional<net::alive_report> alive;  ///< the newest mtcAlive
    /// When it arrived; at the controller's start, the start (a host is given one window to report).
    time_point alive_at{};
    std::uint64_t alive_count = 0;  ///< reports received since the controller started
    std::uint32_t degrade_mask = 0;
    bool monitored = false;       ///< in the heartbeat monitor
    bool heartbeat_lost = false;  ///< a loss was reported while enabled; cleared when recovery starts
    std::uint64_t losses = 0;     ///< loss events since the controller started (soaks compare counts)
    /// The heartbeat level per network the alarms show: set by degrade and loss events, cleared when the
    /// heartbeat recovers, and forgotten when the host is locked or enabled again. It outlives the
    /// monitoring itself, so a host failed after a loss keeps its heartbeat alarm until it is back.
    std::array<heartbeat::hb_state, heartbeat::network_count> heartbeat_alarm{
        heartbeat::hb_state::unmonitored, heartbeat::hb_state::unmonitored};
    std::optional<time_point> retry_at;
    std::optional<time_point> subfunction_retry_at;
    std::optional<host_action> request;  ///< accepted, waiting for its job to start
    job_kind running = job_kind::none;
    bool finishing = false;  ///< the running job is done and only shows its outcome
    bool preempt = false;  ///< a request arrived that the running job gives way to
    bool deleting = false;
    bool modifying = false;                          ///< its BMC is being changed (PATCH)
    /// An accepted action being saved, with the administrative state it sets: the fleet's rules see it at
    /// once, any other write of this host made meanwhile carries it too (the store writes in order, so a
    /// later write must not undo it on disk), and no other change of this host is taken meanwhile.
    struct pending_action {
        admin_state administrative;
        host_action action;
    };
    std::optional<pending_action> being_saved;
    std::map<std::uint64_t, command_reply> replies;  ///< by command id; pruned by the job that waits
    time_point last_correction{};                    ///< when a lock/unlock correction was last sent
    std::optional<time_point> enable_started;

    // ---- BMC (a host whose spec.bmc.type is "none" has none) ----
    std::string bmc_password;  ///< from the inventory; never logged or shown
    std::string bmc_protocol;  ///< learned for "auto" (persisted), else the configured type once it answered
    std::unique_ptr<bmc::driver> bmc;  ///< made when the BMC first answers
    bmc::capabilities bmc_caps;
    bmc_health bmc_state;
    bool bmc_busy = false;  ///< one exchange at a time per BMC
    bool bmc_alarm = false;  ///< its access alarm was due when last looked at
    std::optional<asio::cancellation_signal> bmc_stop;
    bool bmc_supervised = false;  ///< its BMC audit coroutine is running

    // ---- supervision ----
    change_signal changed;
    /// Wakes the BMC audit when an exchange changed what it knows of the BMC (not on every mtcAlive, as
    /// `changed` does).
    change_signal bmc_changed;
    std::optional<asio::cancellation_signal> stop;  ///< made anew for each supervisor
    bool supervised = false;                        ///< its supervisor coroutine is running

    /// Waits until `done()` is true (checked now and after every change) or `deadline`; returns done().
    asio::awaitable<bool> wait_until(std::function<bool()> done, time_point deadline);

    [[nodiscard]] bool has_subfunction() const;
    [[nodiscard]] bool has_bmc() const { return !spec.bmc.type.empty() && spec.bmc.type != "none"; }
    [[nodiscard]] bool reachable(time_point now, std::chrono::milliseconds window) const;
    [[nodiscard]] std::string boot_id() const { return alive ? alive->boot_id : std::string{}; }
    [[nodiscard]] std::uint32_t alive_flags() const { return alive ? alive->flags : 0; }
};

/// Holds a host's BMC (acquired by the fleet manager) for one exchange: frees it and wakes whoever waits for
/// it when it goes out of scope, also when the exchange is cancelled.
class bmc_lease {
public:
    explicit bmc_lease(managed_host& h) : h_{h} {}
    ~bmc_lease() {
        h_.bmc_busy = false;
        h_.changed.notify();
    }
    bmc_lease(const bmc_lease&) = delete;
    bmc_lease& operator=(const bmc_lease&) = delete;

private:
    managed_host& h_;
};

}  // namespace mtce::fleet
