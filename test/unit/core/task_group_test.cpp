#define BOOST_TEST_MODULE core_task_group_test
// A component's task group on a real io_context, with short real timeouts: cooperative stop, cancellation
// after the grace, failures reported by name, and a group that starts again after it stopped.
#include "core/task_group.hpp"

#include <chrono>
#include <exception>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <asio/co_spawn.hpp>
#include <asio/error.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/use_future.hpp>
#include <boost/test/unit_test.hpp>

#include "core/tasks.hpp"

using namespace std::chrono_literals;
using mtce::task_group;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

/// Runs `f`'s coroutine on `io` until nothing is left to do, and rethrows what it threw.
template <typename F>
void run(asio::io_context& io, F f) {
    auto done = asio::co_spawn(io, std::move(f), asio::use_future);
    io.run();
    done.get();
}

/// A failure as on_failure() reported it.
struct failure {
    std::string task;
    std::string what;
};

void record_failures(task_group& g, std::vector<failure>& out) {
    g.on_failure([&out](std::string_view task, std::exception_ptr e) {
        out.push_back({std::string{task}, mtce::exception_message(e)});
    });
}

asio::awaitable<void> sleep_for(clock_type::duration d) {
    asio::steady_timer t{co_await asio::this_coro::executor, d};
    co_await t.async_wait(asio::use_awaitable);
}

/// Waits for the stop request, then finishes its job: a short wait that a cancellation would break.
asio::awaitable<void> cooperative(task_group& g, bool& finished) {
    co_await g.until_stop();
    co_await sleep_for(10ms);
    finished = true;
}

/// Waits an hour on a timer, ignoring stop requests; reports how the wait ended, then rethrows it.
asio::awaitable<void> stuck(asio::error_code& ended) {
    asio::steady_timer t{co_await asio::this_coro::executor, 1h};
    const auto [ec] = co_await t.async_wait(use_tuple);
    ended = ec;
    if (ec) {
        throw std::system_error{ec, "stuck"};
    }
}

asio::awaitable<void> failing_after(clock_type::duration d, std::string what) {
    co_await sleep_for(d);
    throw std::runtime_error{what};
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_task_that_honours_until_stop_ends_in_stop_without_being_cancelled) {
    asio::io_context io;
    task_group g{io.get_executor(), "test"};
    std::vector<failure> failures;
    record_failures(g, failures);
    bool finished = false;
    g.spawn("cooperative", cooperative(g, finished));
    clock_type::duration took{};
    run(io, [&]() -> asio::awaitable<void> {
        co_await sleep_for(10ms);
        BOOST_TEST(g.size() == 1u);
        BOOST_TEST(!g.stopping());
        const auto start = clock_type::now();
        co_await g.stop(5s);
        took = clock_type::now() - start;
    });
    BOOST_TEST(finished);  // its last wait was not cancelled
    BOOST_TEST((took < 2s));
    BOOST_TEST(g.size() == 0u);
    BOOST_TEST(failures.empty());
}

BOOST_AUTO_TEST_CASE(a_task_stuck_on_a_timer_is_cancelled_after_the_grace) {
    asio::io_context io;
    task_group g{io.get_executor(), "test"};
    asio::error_code ended;
    g.spawn("stuck", stuck(ended));
    clock_type::duration took{};
    run(io, [&]() -> asio::awaitable<void> {
        const auto start = clock_type::now();
        co_await g.stop(100ms);
        took = clock_type::now() - start;
    });
    BOOST_TEST((ended == asio::error::operation_aborted), ended.message());
    BOOST_TEST((took >= 100ms));
    BOOST_TEST((took < 5s));
    BOOST_TEST(g.size() == 0u);
}

BOOST_AUTO_TEST_CASE(a_failing_task_is_reported_with_its_name_and_the_others_keep_running) {
    asio::io_context io;
    task_group g{io.get_executor(), "test"};
    std::vector<failure> failures;
    std::size_t running_at_failure = 0;
    bool stopping_at_failure = true;
    g.on_failure([&](std::string_view task, std::exception_ptr e) {
        failures.push_back({std::string{task}, mtce::exception_message(e)});
        running_at_failure = g.size();
        stopping_at_failure = g.stopping();
    });
    bool finished = false;
    g.spawn("cooperative", cooperative(g, finished));
    g.spawn("disk check", failing_after(10ms, "disk on fire"));
    run(io, [&]() -> asio::awaitable<void> {
        co_await sleep_for(100ms);
        BOOST_TEST(g.size() == 1u);  // the cooperative task is still there
        co_await g.stop(5s);
    });
    BOOST_REQUIRE(failures.size() == 1u);
    BOOST_TEST(failures[0].task == "disk check");
    BOOST_TEST(failures[0].what == "disk on fire");
    BOOST_TEST(running_at_failure == 1u);
    BOOST_TEST(!stopping_at_failure);
    BOOST_TEST(finished);
}

BOOST_AUTO_TEST_CASE(a_task_cancelled_on_stop_is_not_a_failure_but_an_abort_of_its_own_is) {
    asio::io_context io;
    task_group g{io.get_executor(), "test"};
    std::vector<failure> failures;
    record_failures(g, failures);
    asio::error_code stuck_ended;
    g.spawn("stuck", stuck(stuck_ended));
    // Its own timer cancelled, with no stop: that is not the group's cancellation.
    g.spawn("aborts", []() -> asio::awaitable<void> {
        co_await sleep_for(10ms);
        throw std::system_error{asio::error::operation_aborted, "its own wait"};
    }());
    run(io, [&]() -> asio::awaitable<void> {
        co_await sleep_for(50ms);
        co_await g.stop(20ms);
    });
    BOOST_TEST((stuck_ended == asio::error::operation_aborted));
    BOOST_REQUIRE(failures.size() == 1u);
    BOOST_TEST(failures[0].task == "aborts");
}

BOOST_AUTO_TEST_CASE(the_group_can_spawn_again_after_stop) {
    asio::io_context io;
    task_group g{io.get_executor(), "test"};
    std::vector<failure> failures;
    record_failures(g, failures);
    bool first = false;
    bool second = false;
    g.spawn("first", cooperative(g, first));
    run(io, [&]() -> asio::awaitable<void> {
        co_await g.stop(5s);
        BOOST_TEST(first);
        BOOST_TEST(!g.stopping());
        g.spawn("second", cooperative(g, second));
        co_await sleep_for(50ms);
        // The old stop request is not seen by the new task.
        BOOST_TEST(g.size() == 1u);
        BOOST_TEST(!second);
        co_await g.stop(5s);
    });
    BOOST_TEST(second);
    BOOST_TEST(g.size() == 0u);
    BOOST_TEST(failures.empty());
}

BOOST_AUTO_TEST_CASE(idle_by_returns_false_at_the_deadline_while_a_task_runs_and_true_once_none_is_left) {
    asio::io_context io;
    task_group g{io.get_executor(), "test"};
    asio::error_code ended;
    g.spawn("stuck", stuck(ended));
    g.spawn("short", sleep_for(100ms));
    bool at_deadline = true;
    clock_type::duration waited{};
    bool once_empty = false;
    run(io, [&]() -> asio::awaitable<void> {
        const auto start = clock_type::now();
        at_deadline = co_await g.idle_by(start + 50ms);
        waited = clock_type::now() - start;
        g.cancel();
        once_empty = co_await g.idle_by(clock_type::now() + 5s);
    });
    BOOST_TEST(!at_deadline);
    BOOST_TEST((waited >= 50ms));
    BOOST_TEST((waited < 2s));
    BOOST_TEST(once_empty);
    BOOST_TEST((ended == asio::error::operation_aborted));
}

BOOST_AUTO_TEST_CASE(stop_of_an_empty_group_returns_at_once) {
    asio::io_context io;
    task_group g{io.get_executor(), "test"};
    clock_type::duration took{};
    run(io, [&]() -> asio::awaitable<void> {
        const auto start = clock_type::now();
        co_await g.stop(1h);
        took = clock_type::now() - start;
    });
    BOOST_TEST((took < 1s));
    BOOST_TEST(!g.stopping());
}

BOOST_AUTO_TEST_CASE(until_stop_completes_at_a_stop_request_and_at_once_after_it) {
    asio::io_context io;
    task_group g{io.get_executor(), "test"};
    int woken = 0;
    run(io, [&]() -> asio::awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        auto waiter = [&]() -> asio::awaitable<void> {
            co_await g.until_stop();
            ++woken;
        };
        auto first = asio::co_spawn(ex, waiter, asio::use_future);
        co_await sleep_for(20ms);
        BOOST_TEST(woken == 0);
        g.request_stop();
        co_await sleep_for(20ms);
        BOOST_TEST(woken == 1);
        co_await g.until_stop();  // already requested
        BOOST_TEST(g.stopping());
    });
    BOOST_TEST(woken == 1);
}
