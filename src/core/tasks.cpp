#include "core/tasks.hpp"

#include <string_view>
#include <utility>

#include <asio/experimental/as_tuple.hpp>
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

task_set::task_set(const asio::any_io_executor& ex) : group_{ex, "process"} {
    group_.on_failure([this](std::string_view task, const std::exception_ptr& e) {
        failed_ = true;
        spdlog::error("task '{}' failed: {}", task, exception_message(e));
        // A daemon missing one of its parts (a heartbeat that cannot answer) would be judged by what it no
        // longer does: stop, so that the service manager restarts it and says so.
        request_stop();
    });
}

void task_set::spawn(std::string name, asio::awaitable<void> body) {
    group_.spawn(std::move(name), std::move(body));
}

void task_set::request_stop() {
    group_.request_stop();
}

void task_set::abort() {
    group_.cancel(asio::cancellation_type::terminal);
}

asio::awaitable<void> task_set::until_stop() {
    return group_.until_stop();
}

asio::awaitable<bool> task_set::drained_within(std::chrono::steady_clock::duration limit) {
    return group_.idle_by(std::chrono::steady_clock::now() + limit);
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
