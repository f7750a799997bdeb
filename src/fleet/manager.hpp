#pragma once

// The fleet manager's state and the operations its parts share (fleet.cpp: messages, API, persistence,
// alarms, events; lifecycles.cpp: the jobs). Internal to src/fleet.

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/ip/udp.hpp>

#include "core/config.hpp"
#include "core/tasks.hpp"
#include "fleet/decisions.hpp"
#include "fleet/fleet.hpp"
#include "fleet/host.hpp"
#include "fleet/inbox.hpp"
#include "fleet/inventory.hpp"
#include "fleet/store.hpp"
#include "heartbeat/monitor.hpp"
#include "net/wire.hpp"

namespace mtce::fleet {

/// A job step that failed: the host becomes failed with `task` and is enabled again after its cause's
/// interval.
struct job_failure {
    failure_cause cause;
    std::string task;
};

/// A host that reports mtcAlive but is not in the inventory.
struct discovered_host {
    net::alive_report alive;
    time_point seen{};
};

/// An enable that finished, for the duration histogram.
struct enable_stats {
    static constexpr std::array<double, 12> bounds{1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 3600};
    std::array<std::uint64_t, bounds.size()> buckets{};
    std::uint64_t count = 0;
    double sum = 0;
    std::map<std::string, std::uint64_t> failures;  ///< by cause
    void observe(double seconds);
};

struct fleet_manager::impl {
    impl(asio::any_io_executor e, config_store& c, net::wire_sender& w, heartbeat::monitor* m);

    asio::any_io_executor ex;
    config_store& settings;
    net::wire_sender& wire;
    heartbeat::monitor* monitor;
    std::unique_ptr<store> db;
    controller_inbox inbox;
    std::array<std::optional<asio::ip::udp::socket>, heartbeat::network_count> sockets;
    std::array<network_config, heartbeat::network_count> networks;

    std::map<std::string, std::unique_ptr<managed_host>, std::less<>> hosts;
    std::map<std::string, discovered_host, std::less<>> discovered;
    std::set<std::string, std::less<>> monitor_only;  ///< [[controller.hosts]]
    std::set<std::string, std::less<>> adding;        ///< names being saved by an add request

    std::deque<event_row> event_log;
    std::uint64_t next_event = 1;
    std::map<std::pair<std::string, std::string>, alarm_row> active_alarms;  ///< by (host, id)

    fleet_manager::bmc_factory make_driver;  ///< empty: no BMC is used
    std::map<std::string, std::uint64_t> bmc_operations;  ///< "ok" / error kinds, for metrics

    std::uint64_t next_command = 0;
    std::map<std::string, std::uint64_t> commands_sent;  ///< by command name
    std::uint64_t store_failures = 0;
    std::set<std::string> unsaved;  ///< hosts whose last write failed; written again by the audit
    enable_stats enables;
    change_signal supervisor_ended;  ///< a host's supervisor returned

    std::shared_ptr<const mtce::config> cfg() const { return settings.current(); }
    std::chrono::milliseconds boot_timeout(role personality) const;

    // ---- hosts ----
    managed_host* find(std::string_view name);
    const managed_host* find(std::string_view name) const;
    void spawn_supervisor(managed_host& h);
    [[nodiscard]] fleet_view view_of_fleet() const;
    [[nodiscard]] admission_view view_of(const managed_host& h) const;

    // ---- state changes: each logs, records an event, saves the host and updates its alarms ----
    void set_states(managed_host& h, const host_states& st, std::string_view why);
    void set_task(managed_host& h, std::string task);
    /// Main (and subfunction) operational and availability together.
    void set_oper_avail(managed_host& h, oper_state oper, avail_state avail, std::string_view why);
    void save(managed_host& h);
    [[nodiscard]] host_row row_of(const managed_host& h) const;
    void update_alarms(managed_host& h);
    void log_event(std::string_view host, std::string_view kind, std::string text);

    // ---- messages ----
    /// Sends `c` (with a new id unless it has one) on every network the host and this controller share;
    /// returns the id.
    std::uint64_t send(managed_host& h, net::command c);
    /// Sends `c` until the host acknowledges it, every controller.command_timeout, at most
    /// controller.command_retries times; whether it did. An ack with an error counts as no ack (logged).
    asio::awaitable<bool> request(managed_host& h, net::command c);
    void on_message(inbound in);
    void on_alive(managed_host& h, net::alive_report r);
    void on_heartbeat_event(std::string_view host, const heartbeat::hb_event& e);
    void start_heartbeat(managed_host& h);
    void stop_heartbeat(managed_host& h);
    void refresh_in_service(managed_host& h);
    asio::awaitable<void> receive(heartbeat::network net, task_set& tasks);
    asio::awaitable<void> audit_loop(task_set& tasks);
    /// Idle hosts' availability from their mtcAlive; forgets discovered hosts not heard from.
    void audit(time_point now);
    void retry_unsaved();

    // ---- jobs (lifecycles.cpp) ----
    asio::awaitable<void> supervise(managed_host& h);
    /// Runs one job; never throws but for cancellation (a failure becomes the host's state).
    asio::awaitable<void> run_job(managed_host& h, job_kind job, bool from_request);
    asio::awaitable<void> add_job(managed_host& h);
    asio::awaitable<void> enable_job(managed_host& h, bool unlock);
    asio::awaitable<void> enable_subfunction_job(managed_host& h);
    asio::awaitable<void> recover_job(managed_host& h);
    asio::awaitable<void> lock_job(managed_host& h, bool force);
    asio::awaitable<void> reboot_job(managed_host& h, net::command_kind kind);
    /// Reboot (or reset) a host through its agent until it goes down or reports from a new boot; throws
    /// job_failure when it does not.
    asio::awaitable<void> reboot_host(managed_host& h, net::command_kind kind);
    /// Waits for an mtcAlive from a boot other than `old_boot` (any boot when it is empty and the report is
    /// newer than `since`); throws job_failure{boot} after the personality's boot timeout.
    asio::awaitable<void> await_boot(managed_host& h, const std::string& old_boot, std::uint64_t since_count,
                                     std::string_view task);
    /// Configuration, self-tests, host services, heartbeat soak, then unlocked-enabled.
    asio::awaitable<void> test_and_enable(managed_host& h);
    /// Waits `controller.heartbeat_soak` for a loss; throws job_failure{heartbeat, task} on one.
    asio::awaitable<void> soak(managed_host& h, std::string_view failed_task);
    /// Waits until `judge(alive)` is not pending, for at most `limit`.
    asio::awaitable<verdict> await_verdict(managed_host& h, verdict (*judge)(const net::alive_report&, bool),
                                           bool subfunction, std::chrono::milliseconds limit);
    void fail(managed_host& h, const job_failure& f);

    // ---- BMC (lifecycles.cpp) ----
    /// Runs `op(driver)` on the host's BMC, one exchange at a time per host, after making sure the BMC answers
    /// (probing it, and learning its protocol for "auto", when it has not answered yet or was quarantined).
    /// Records the outcome in the host's bmc_health and alarms.
    template <class T, class Op>
    asio::awaitable<bmc::result<T>> bmc_call(managed_host& h, Op op) {
        (void)co_await acquire_bmc(h, time_point::max());
        const bmc_lease lease{h};  // frees the BMC however the exchange ends, cancelled or not
        auto ready = co_await ensure_bmc(h);
        if (!ready) {
            record_bmc(h, &ready.error());
            co_return tl::unexpected{ready.error()};
        }
        auto r = co_await op(*h.bmc);
        record_bmc(h, r ? nullptr : &r.error());
        co_return r;
    }
    /// Waits until no exchange holds the host's BMC, then holds it (a bmc_lease frees it); false, not
    /// holding it, if `deadline` came first.
    asio::awaitable<bool> acquire_bmc(managed_host& h, time_point deadline);
    asio::awaitable<bmc::result<void>> ensure_bmc(managed_host& h);
    /// The outcome of an exchange: the BMC's health, metrics and alarms.
    void record_bmc(managed_host& h, const bmc::error* failed);
    void spawn_bmc_supervisor(managed_host& h);
    asio::awaitable<void> bmc_supervise(managed_host& h);
    /// The availability the BMC's power state gives an idle host (power-off, or back from it).
    void apply_power(managed_host& h);
    asio::awaitable<bmc::result<bmc::power_state>> bmc_power(managed_host& h);
    /// Polls the power state until it is `want`, for at most `limit`.
    asio::awaitable<bool> await_power(managed_host& h, bmc::power_state want, std::chrono::milliseconds limit);
    /// Powers the host on or off through its BMC and verifies it (a BMC already there gets no request); ""
    /// when done, else the failed task ("<what> Failed: ...").
    asio::awaitable<std::string> switch_power(managed_host& h, bmc::power_state want, std::string_view what);
    asio::awaitable<void> power_job(managed_host& h, job_kind job);
    asio::awaitable<void> reinstall_job(managed_host& h);
    /// A BMC reset of a host that does not answer reboot requests, `bmc.reset_delay_s` after `first_request`
    /// unless it comes back by itself; throws job_failure when the BMC cannot reset it.
    asio::awaitable<void> bmc_reset_after_delay(managed_host& h, time_point first_request, const std::string& old_boot);
    [[nodiscard]] bmc::endpoint endpoint_of(const managed_host& h) const;
    /// "Reset Failed: ..." with a BMC error's words.
    [[nodiscard]] static std::string bmc_failure(std::string_view what, const bmc::error& e);
    void mark_enabled(managed_host& h);
    asio::awaitable<void> pause(managed_host& h, std::chrono::milliseconds d);
    /// The end of a job that a person started: the event, then `done` as the task for
    /// controller.task_display (the job is `finishing` meanwhile: it no longer uses the BMC).
    asio::awaitable<void> show_outcome(managed_host& h, std::string_view kind, const std::string& done);
};

}  // namespace mtce::fleet
