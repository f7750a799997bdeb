#include "core/task_group.hpp"

#include <cassert>
#include <utility>

#include <asio/bind_cancellation_slot.hpp>
#include <asio/co_spawn.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/io_context.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include "core/tasks.hpp"

namespace mtce {

namespace {

constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

/// Whether `ex` belongs to an io_context that has stopped: its handlers do not run unless it is restarted.
[[maybe_unused]] bool loop_has_stopped(const asio::any_io_executor& ex) {
    const auto* io = ex.target<asio::io_context::executor_type>();
    return io != nullptr && io->context().stopped();
}

}  // namespace

task_group::task_group(asio::any_io_executor ex, std::string name)
    : ex_{std::move(ex)},
      name_{std::move(name)},
      stop_{ex_, asio::steady_timer::time_point::max()},
      idle_{ex_, asio::steady_timer::time_point::max()} {}

task_group::~task_group() {
    assert((tasks_.empty() || loop_has_stopped(ex_)) && "a task_group is destroyed with tasks running");
}

void task_group::on_failure(std::function<void(std::string_view task, std::exception_ptr)> f) {
    on_failure_ = std::move(f);
}

void task_group::spawn(std::string name, asio::awaitable<void> body) {
    auto& t = tasks_.emplace_back();
    t.name = std::move(name);
    auto it = std::prev(tasks_.end());
    asio::co_spawn(ex_, std::move(body),
                   asio::bind_cancellation_slot(t.signal.slot(), [this, it](const std::exception_ptr& e) {
                       const bool failed = e && is_failure(e);
                       // The name outlives the node: the callback may spawn, stop or cancel.
                       auto ended = std::move(it->name);
                       tasks_.erase(it);
                       if (tasks_.empty()) {
                           idle_.cancel();
                       }
                       if (failed && on_failure_) {
                           on_failure_(ended, e);
                       }
                   }));
}

bool task_group::is_failure(const std::exception_ptr& e) const {
    return !((stopping_ || cancelled_) && is_cancellation(e));
}

void task_group::request_stop() {
    if (!stopping_) {
        stopping_ = true;
        ++stops_;
    }
    stop_.cancel();
}

asio::awaitable<void> task_group::until_stop() {
    // Most waits lose an `||` race and are cancelled (an mtcAlive period ends, a drop report is due). They
    // return rather than throw operation_aborted: a throw costs an unwind each time, and an idle host agent
    // would keep the unwinder and the exception tables resident for it.
    const bool throws = co_await asio::this_coro::throw_if_cancelled();
    co_await asio::this_coro::throw_if_cancelled(false);
    const auto seen = stops_;
    while (!stopping_ && stops_ == seen) {
        const auto state = co_await asio::this_coro::cancellation_state;
        if (state.cancelled() != asio::cancellation_type::none) {
            break;
        }
        co_await stop_.async_wait(use_tuple);
    }
    co_await asio::this_coro::throw_if_cancelled(throws);
}

void task_group::cancel(asio::cancellation_type type) {
    cancelled_ = true;
    for (auto& t : tasks_) {
        t.signal.emit(type);
    }
}

asio::awaitable<bool> task_group::idle_by(std::chrono::steady_clock::time_point deadline) {
    using namespace asio::experimental::awaitable_operators;
    asio::steady_timer timer{ex_, deadline};
    while (!tasks_.empty() && std::chrono::steady_clock::now() < deadline) {
        const auto first = co_await (idle_.async_wait(use_tuple) || timer.async_wait(use_tuple));
        if (first.index() == 1) {
            break;
        }
    }
    co_return tasks_.empty();
}

asio::awaitable<void> task_group::stop(std::chrono::steady_clock::duration grace) {
    request_stop();
    // g++ 12 miscompiled `if (!co_await ...)` here (SIGILL when the frame resumed): the results are named.
    const auto grace_ends = std::chrono::steady_clock::now() + grace;
    const bool ended = co_await idle_by(grace_ends);
    if (!ended) {
        cancel();
        const bool cancelled = co_await idle_by(std::chrono::steady_clock::time_point::max());
        (void)cancelled;  // true: without a deadline it returns only once no task is left
    }
    stopping_ = false;
    cancelled_ = false;
}

}  // namespace mtce
