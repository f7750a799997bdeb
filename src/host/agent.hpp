#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>

#include "core/child.hpp"
#include "core/config.hpp"
#include "core/tasks.hpp"
#include "host/flags.hpp"
#include "host/lock_state.hpp"
#include "host/sequences.hpp"

namespace mtce::host {

/// The host agent of every role: self-tests, host services and the lock, for this host's functions.
///
/// The boot sequence reads top to bottom (see boot()). boot(), goenabled() and services() may also be
/// requested at any time (the controller's commands); a request for a run that is already in progress joins
/// it instead of running it twice. Not thread-safe: lives on the event loop's thread.
class host_agent {
public:
    host_agent(asio::any_io_executor ex, config_store& config, task_set& tasks);

    /// Prepares the run and state directories, forgets flags from an earlier boot, restores the lock.
    /// Errors here are fatal for the agent (the caller exits); the message says which path and why.
    [[nodiscard]] std::optional<std::string> prepare();

    /// Main self-tests, main host services, then (all-in-one) the worker subfunction's.
    /// Steps already done this boot are not repeated (an agent restart does not re-run passed tests), and
    /// host services are started only while the host is unlocked; on an all-in-one host the subfunction's
    /// are not started either when the main function's were left out for the lock. Once a stop is requested
    /// no new step starts. Joins a boot sequence already in progress.
    asio::awaitable<void> boot();

    /// After an unlock: finishes the boot sequence. Joins a boot sequence in progress (it checks the lock
    /// before starting host services, so it goes on to start them); if that one had already left host
    /// services out because of the lock, runs the sequence once more. Never runs two at once.
    asio::awaitable<void> resume_boot();

    /// Runs (or joins) the self-tests of `ctx`. The subfunction's first wait up to
    /// host.subfunction_config_timeout for host.subfunction_config_marker, and fail if it does not appear.
    asio::awaitable<run_report> goenabled(context ctx);
    /// Runs (or joins) the function's host services scripts. A start waits for a stop of the same function
    /// in progress to end first, and a stop for a start.
    asio::awaitable<run_report> services(role function, service_action action);

    [[nodiscard]] bool locked() const { return lock_.locked(); }
    std::error_code set_locked(bool locked);

    [[nodiscard]] const flag_files& flags() const { return flags_; }

    /// How scripts are contained under `cfg` (host.script_isolation) on this host, as probed by prepare().
    [[nodiscard]] script_isolation script_isolation_for(const config& cfg) const;

    /// Calls `f` after every flag write and lock change (so mtcAlive can report a change at once).
    void on_flags_changed(std::function<void()> f) { flag_observers_.push_back(std::move(f)); }

private:
    struct in_flight;
    using run_key = std::tuple<int, int, int>;  // kind, context or function, action

    /// How start_services_if_unlocked() ended.
    enum class start_outcome { started, left_for_lock, failed };

    asio::awaitable<run_report> join_or_run(run_key key, std::function<asio::awaitable<run_report>()> start);
    /// Waits until no run under `key` is in progress.
    asio::awaitable<void> wait_for(run_key key);
    asio::awaitable<run_report> boot_sequence();
    /// Starts the function's host services unless the host is locked or they already started this boot.
    asio::awaitable<start_outcome> start_services_if_unlocked(role function);
    /// The subfunction's self-tests once its configuration marker exists.
    asio::awaitable<run_report> subfunction_goenabled();

    asio::any_io_executor ex_;
    config_store& config_;
    task_set& tasks_;
    flag_files flags_;
    lock_state lock_;
    void flags_changed() const;

    std::map<run_key, std::shared_ptr<in_flight>> running_;
    std::vector<std::function<void()>> flag_observers_;
    bool boot_left_services_for_lock_ = false;
    isolation_probes isolation_probes_;  ///< what this host offers, probed once by prepare()  ///< the last
                                         ///< boot sequence skipped services: locked
};

}  // namespace mtce::host
