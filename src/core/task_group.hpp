#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <list>
#include <string>
#include <string_view>

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/cancellation_type.hpp>
#include <asio/steady_timer.hpp>

namespace mtce {

/// The long-lived tasks of one component or one host (Beast's task_group, seastar's gate): spawned with a
/// name, stopped cooperatively, then cancelled; a group can be started again after it stopped.
///
/// Stopping has two steps, as the daemon's shutdown (style §8.11): request_stop() makes stopping() true and
/// wakes every until_stop(), so that tasks finish their current job and return; cancel() then emits a
/// cancellation into every task still running, which ends it with operation_aborted at its next await.
/// stop() does both, with a grace period between them, and waits for the last task.
///
/// A task that ends with an exception is reported to on_failure(), except the operation_aborted a task ends
/// with once request_stop() or cancel() was called: that is how a cancelled task ends, not a failure. The
/// group does not log and does not stop the other tasks on a failure; the component decides (task_set stops
/// the process).
///
/// Not thread-safe: use it, and run its tasks, on one thread (the event loop's).
class task_group {
public:
    /// Tasks run on `ex`; `name` names the group in assertion messages and the owner's logs.
    task_group(asio::any_io_executor ex, std::string name);
    /// The group must be empty when it is destroyed (stop() it first): a task that ends later would reach a
    /// destroyed group. Asserted in debug builds. The one exception is an io_context that has stopped for
    /// good (a process leaving with tasks that ignored their cancellation): their frames are destroyed with
    /// it and never resumed.
    ~task_group();
    task_group(const task_group&) = delete;
    task_group& operator=(const task_group&) = delete;

    [[nodiscard]] const std::string& name() const { return name_; }
    [[nodiscard]] const asio::any_io_executor& get_executor() const { return ex_; }

    /// Called once per task that ends with an exception other than the cancellation a stop causes, with the
    /// task's name and its exception, after the task left the group (size() no longer counts it). It may
    /// call the group's members, spawn included. Replaces the previous callback; none by default.
    void on_failure(std::function<void(std::string_view task, std::exception_ptr)> f);

    /// Starts `body` on the group's executor as a task named `name`. It is never detached: it is bound to
    /// its own cancellation signal, which cancel() emits. A task spawned while the group is stopping sees
    /// stopping() true; one spawned after cancel() is not cancelled by that call.
    void spawn(std::string name, asio::awaitable<void> body);

    /// Asks the tasks to stop: stopping() becomes true and every until_stop() completes. Idempotent.
    void request_stop();
    /// True from request_stop() until stop() returns.
    [[nodiscard]] bool stopping() const { return stopping_; }
    /// Completes at request_stop() (at once if it was already called). Cancelling it also completes it,
    /// without an exception (the caller's own next await throws, if its coroutine throws when cancelled).
    asio::awaitable<void> until_stop();

    /// Emits a cancellation of `type` into every task still running (a terminal one by default). Tasks
    /// decide how they end; asio's awaitables throw operation_aborted at their next await.
    void cancel(asio::cancellation_type type = asio::cancellation_type::terminal);

    /// The number of tasks running.
    [[nodiscard]] std::size_t size() const { return tasks_.size(); }

    /// Completes when no task is left (true) or at `deadline` (false), whichever comes first. Never throws
    /// for the deadline; cancelling it ends it with operation_aborted.
    asio::awaitable<bool> idle_by(std::chrono::steady_clock::time_point deadline);

    /// request_stop(); waits up to `grace` for the tasks to end; cancel()s what is left; waits until no task
    /// is left, without a deadline (a cancelled task ends at its next await; one that ignores its
    /// cancellation holds stop() up). Afterwards the group is empty and may spawn again: stopping() is false
    /// again. Cancelling stop() ends it with operation_aborted, the tasks left as they are.
    asio::awaitable<void> stop(std::chrono::steady_clock::duration grace);

private:
    struct task {
        std::string name;
        asio::cancellation_signal signal;
    };

    /// Whether a task that ended with `e` failed (an exception other than the cancellation a stop causes).
    [[nodiscard]] bool is_failure(const std::exception_ptr& e) const;

    asio::any_io_executor ex_;
    std::string name_;
    std::function<void(std::string_view, std::exception_ptr)> on_failure_;
    std::list<task> tasks_;    ///< one per running task: a list, so that each task's node stays where it is
    asio::steady_timer stop_;  ///< never expires: cancelled by request_stop() to wake until_stop()
    asio::steady_timer idle_;  ///< never expires: cancelled when the last task ends to wake idle_by()
    std::uint64_t stops_ = 0;  ///< request_stop() calls that set stopping(), so that a waiter sees the stop
                               ///< even if stop() ends before it resumes
    bool stopping_ = false;
    bool cancelled_ = false;  ///< cancel() was called since the last stop() ended
};

}  // namespace mtce
