#include "core/tasks.hpp"

#include <asio/bind_cancellation_slot.hpp>
#include <asio/co_spawn.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

namespace mtce {

namespace {
constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);
}

std::string exception_message(const std::exception_ptr& e) {
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& ex) {
        return ex.what();
    } catch (...) {
        return "unknown exception";
    }
}

asio::awaitable<std::exception_ptr> catching(asio::awaitable<void> op) {
    std::exception_ptr failure;
    try {
        co_await std::move(op);
    } catch (...) {
        failure = std::current_exception();
    }
    co_return failure;
}

bool is_cancellation(const std::exception_ptr& e) {
    try {
        std::rethrow_exception(e);
    } catch (const std::system_error& se) {
        return se.code() == asio::error::operation_aborted;
    } catch (...) {
        return false;
    }
}

task_set::task_set(const asio::any_io_executor& ex)
    : ex_{ex},
      stop_{ex, asio::steady_timer::time_point::max()},
      idle_{ex, asio::steady_timer::time_point::max()} {}

void task_set::spawn(std::string name, asio::awaitable<void> body) {
    auto& signal = signals_.emplace_back();
    auto it = std::prev(signals_.end());
    ++running_;
    asio::co_spawn(ex_, std::move(body),
                   asio::bind_cancellation_slot(
                       signal.slot(), [this, it, name = std::move(name)](const std::exception_ptr& e) {
                           if (e && !(stopping_ && is_cancellation(e))) {
                               failed_ = true;
                               spdlog::error("task '{}' failed: {}", name, exception_message(e));
                               // A daemon missing one of its parts (a heartbeat that cannot answer) would be
                               // judged by what it no longer does: stop, so that the service manager restarts
                               // it and says so.
                               request_stop();
                           }
                           signals_.erase(it);
                           if (--running_ == 0) {
                               idle_.cancel();
                           }
                       }));
}

void task_set::request_stop() {
    stopping_ = true;
    stop_.cancel();
}

void task_set::abort() {
    for (auto& s : signals_) {
        s.emit(asio::cancellation_type::terminal);
    }
}

asio::awaitable<void> task_set::until_stop() {
    while (!stopping_) {
        co_await stop_.async_wait(use_tuple);
    }
}

asio::awaitable<bool> task_set::drained_within(std::chrono::steady_clock::duration limit) {
    using namespace asio::experimental::awaitable_operators;
    const auto deadline = std::chrono::steady_clock::now() + limit;
    asio::steady_timer timer{ex_, deadline};
    while (running_ != 0 && std::chrono::steady_clock::now() < deadline) {
        auto first = co_await (idle_.async_wait(use_tuple) || timer.async_wait(use_tuple));
        if (first.index() == 1) {
            break;
        }
    }
    co_return running_ == 0;
}

event::event(const asio::any_io_executor& ex) : timer_{ex, asio::steady_timer::time_point::max()} {}

void event::set() {
    set_ = true;
    timer_.cancel();
}

asio::awaitable<void> event::wait() {
    while (!set_) {
        co_await timer_.async_wait(use_tuple);
    }
}

}  // namespace mtce
