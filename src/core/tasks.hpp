#pragma once

#include <chrono>
#include <exception>
#include <string>
#include <type_traits>
#include <utility>

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/steady_timer.hpp>

#include "core/task_group.hpp"

namespace mtce {

/// The message of the exception in `e` ("unknown exception" for one not derived from std::exception).
[[nodiscard]] std::string exception_message(const std::exception_ptr& e);

/// Whether `e` holds the operation_aborted that a cancelled task ends with.
[[nodiscard]] bool is_cancellation(const std::exception_ptr& e);

/// What a raced operation ended with: its value, or the exception it threw.
template <class T>
struct outcome {
    T value{};
    std::exception_ptr failure;

    /// The value, or the failure rethrown.
    T get() && {
        if (failure) {
            std::rethrow_exception(failure);
        }
        return std::move(value);
    }
};

/// `op`, made safe to race with `||`, which waits for the first operand to *succeed*: an operand that
/// throws is ignored until another one completes (asio #900), so its error would wait for a timer, or for
/// ever. Every operand of `||` that can throw goes through catching(); the winner's failure is rethrown
/// after the race (outcome::get(), or rethrow_if_failed()). Cancelling the result cancels `op`.
template <class T>
asio::awaitable<outcome<T>> catching(asio::awaitable<T> op) requires(!std::is_void_v<T>) {
    outcome<T> out;
    try {
        out.value = co_await std::move(op);
    } catch (...) {
        out.failure = std::current_exception();
    }
    co_return out;
}

/// catching() for an operation without a value: the exception it threw, or null.
asio::awaitable<std::exception_ptr> catching(asio::awaitable<void> op);

/// Rethrows `e` unless it is null.
inline void rethrow_if_failed(const std::exception_ptr& e) {
    if (e) {
        std::rethrow_exception(e);
    }
}

/// Supervises the long-lived tasks of a process (Beast's task_group, seastar's gate): a task_group whose
/// failures stop the process.
///
/// Stopping is cooperative first: request_stop() sets a flag and wakes every until_stop(); tasks finish
/// their current job and return. abort() then emits a terminal cancellation into every task still running.
/// A task that ends with an exception is logged and recorded, and the set is asked to stop (the daemon then
/// drains and exits non-zero, for systemd to restart it); failed() tells main to exit non-zero.
/// Not thread-safe: use from the event loop's thread. Destroy it with no task running, or after its
/// io_context has stopped for good (see task_group).
class task_set {
public:
    explicit task_set(const asio::any_io_executor& ex);

    /// Starts `body` as a supervised task named `name`. Never use asio::detached for long-lived work.
    void spawn(std::string name, asio::awaitable<void> body);

    void request_stop();
    void abort();
    [[nodiscard]] bool stopping() const { return group_.stopping(); }
    [[nodiscard]] bool failed() const { return failed_; }
    [[nodiscard]] std::size_t running() const { return group_.size(); }

    /// Completes when request_stop() is called (at once if it already was).
    asio::awaitable<void> until_stop();
    /// Completes when no task is left, or after `limit`; returns whether all tasks ended.
    asio::awaitable<bool> drained_within(std::chrono::steady_clock::duration limit);

private:
    task_group group_;
    bool failed_ = false;
};

/// A one-shot event several coroutines can wait for (a steady_timer that never expires, cancelled to fire).
class event {
public:
    explicit event(const asio::any_io_executor& ex);
    void set();
    [[nodiscard]] bool is_set() const { return set_; }
    /// Completes once set() was called; returns at once if it already was.
    asio::awaitable<void> wait();

private:
    asio::steady_timer timer_;
    bool set_ = false;
};

}  // namespace mtce
