#pragma once

// One managed host at run time: its record, what wakes its waiters, its BMC driver, and its own tasks (the
// supervisor and the BMC audit, each in a task group of its own). The slot is the real host_context its
// jobs run against: it writes through the journal, sends through the agent link and reaches the BMC
// through BMC access. Internal to src/fleet.

#include <chrono>
#include <list>
#include <memory>
#include <string>

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/steady_timer.hpp>

#include "bmc/driver.hpp"
#include "core/task_group.hpp"
#include "fleet/host_record.hpp"
#include "fleet/jobs/context.hpp"

namespace mtce::fleet {

struct fleet_parts;

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

/// Not thread-safe: the event loop's thread.
class host_slot final : public host_context {
public:
    host_slot(fleet_parts& parts, host_record record);
    ~host_slot() override;
    host_slot(const host_slot&) = delete;
    host_slot& operator=(const host_slot&) = delete;

    // host_context
    [[nodiscard]] host_record& host() override { return record_; }
    [[nodiscard]] std::shared_ptr<const config> settings() const override;
    [[nodiscard]] fleet_view fleet() const override;
    [[nodiscard]] std::optional<time_point> dor_deadline() const override;
    void dor_check_in(bool recovered) override;
    [[nodiscard]] time_point now() const override { return std::chrono::steady_clock::now(); }
    asio::awaitable<void> wait_change(time_point deadline) override;
    void set_states(const host_states& st, std::string_view why) override;
    void set_task(std::string task) override;
    void save() override;
    void log_event(std::string_view kind, std::string text) override;
    void update_alarms() override;
    void count_enable(std::optional<std::chrono::milliseconds> took, failure_cause cause) override;
    [[nodiscard]] std::uint64_t next_command_id() override;
    std::uint64_t send(net::command c) override;
    void start_heartbeat() override;
    void stop_heartbeat() override;
    [[nodiscard]] bool bmc_usable() const override;
    asio::awaitable<bmc::result<bmc::power_state>> bmc_power() override;
    asio::awaitable<bmc::result<void>> bmc_act(bmc_request r) override;

    [[nodiscard]] const host_record& record() const { return record_; }
    [[nodiscard]] const std::string& name() const { return record_.spec.name; }
    /// Wakes whoever waits for a change of this host (its jobs, its supervisor).
    void notify() { changed_.notify(); }
    /// Wakes the BMC audit: an exchange changed what is known of the BMC (not on every mtcAlive).
    void notify_bmc() { bmc_changed_.notify(); }
    [[nodiscard]] change_signal& bmc_changed() { return bmc_changed_; }
    /// The driver of the host's BMC, made when the BMC first answers.
    [[nodiscard]] std::unique_ptr<bmc::driver>& driver() { return driver_; }

    /// Starts the host's supervisor and its BMC audit (when it has a usable BMC).
    void start();
    /// Stops both and waits for them: cancelled, each ends at its next await.
    asio::awaitable<void> stop();
    /// The BMC audit alone (a change of the BMC stops it while the change is saved).
    void start_bmc_audit();
    asio::awaitable<void> stop_bmc_audit();

private:
    fleet_parts& parts_;
    host_record record_;
    change_signal changed_;
    change_signal bmc_changed_;
    std::unique_ptr<bmc::driver> driver_;
    task_group supervisor_;
    task_group bmc_audit_;
};

/// Holds a host's BMC (acquired by BMC access) for one exchange: frees it and wakes whoever waits for it when
/// it goes out of scope, also when the exchange is cancelled.
class bmc_lease {
public:
    explicit bmc_lease(host_slot& h) : h_{h} {}
    ~bmc_lease() {
        h_.host().bmc_busy = false;
        h_.notify();
    }
    bmc_lease(const bmc_lease&) = delete;
    bmc_lease& operator=(const bmc_lease&) = delete;

private:
    host_slot& h_;
};

}  // namespace mtce::fleet
