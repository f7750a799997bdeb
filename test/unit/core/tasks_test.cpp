#define BOOST_TEST_MODULE core_tasks_test
#include "core/tasks.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/io_context.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/use_future.hpp>
#include <boost/test/unit_test.hpp>

using namespace std::chrono_literals;

namespace {
constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

asio::awaitable<void> cooperative(mtce::task_set& tasks, int& jobs) {
    while (!tasks.stopping()) {
        ++jobs;
        co_await tasks.until_stop();
    }
}

asio::awaitable<void> stuck(bool& cancelled) {
    asio::steady_timer t{co_await asio::this_coro::executor, 1h};
    auto [ec] = co_await t.async_wait(use_tuple);
    cancelled = ec == asio::error::operation_aborted;
}

asio::awaitable<void> failing() {
    throw std::runtime_error{"boom"};
    co_return;
}
}  // namespace

BOOST_AUTO_TEST_CASE(a_cooperative_task_ends_when_a_stop_is_requested) {
    asio::io_context io;
    mtce::task_set tasks{io.get_executor()};
    int jobs = 0;
    bool drained = false;
    tasks.spawn("cooperative", cooperative(tasks, jobs));
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            tasks.request_stop();
            drained = co_await tasks.drained_within(5s);
        },
        asio::detached);
    io.run();
    BOOST_TEST(drained);
    BOOST_TEST(jobs == 1);
    BOOST_TEST(!tasks.failed());
}

BOOST_AUTO_TEST_CASE(a_stuck_task_outlives_the_drain_and_abort_cancels_it) {
    asio::io_context io;
    mtce::task_set tasks{io.get_executor()};
    bool cancelled = false;
    bool drained_first = true;
    bool drained_after_abort = false;
    tasks.spawn("stuck", stuck(cancelled));
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            tasks.request_stop();
            drained_first = co_await tasks.drained_within(100ms);
            tasks.abort();
            drained_after_abort = co_await tasks.drained_within(5s);
        },
        asio::detached);
    const auto start = std::chrono::steady_clock::now();
    io.run();
    BOOST_TEST(!drained_first);
    BOOST_TEST(drained_after_abort);
    BOOST_TEST(cancelled);
    BOOST_TEST((std::chrono::steady_clock::now() - start < 5s));
}

BOOST_AUTO_TEST_CASE(a_task_that_throws_marks_the_set_failed) {
    asio::io_context io;
    mtce::task_set tasks{io.get_executor()};
    tasks.spawn("failing", failing());
    io.run();
    BOOST_TEST(tasks.failed());
    BOOST_TEST(tasks.running() == 0u);
}

BOOST_AUTO_TEST_CASE(a_task_that_throws_asks_the_others_to_stop) {
    asio::io_context io;
    mtce::task_set tasks{io.get_executor()};
    bool stopped = false;
    tasks.spawn("cooperative", [](mtce::task_set& t, bool& done) -> asio::awaitable<void> {
        co_await t.until_stop();
        done = true;
    }(tasks, stopped));
    tasks.spawn("failing", failing());
    io.run();
    BOOST_TEST(tasks.failed());
    BOOST_TEST(stopped);
    BOOST_TEST(tasks.running() == 0u);
}

BOOST_AUTO_TEST_CASE(an_event_wakes_every_waiter_and_later_waits_return_at_once) {
    asio::io_context io;
    mtce::event ev{io.get_executor()};
    int woken = 0;
    for (int i = 0; i < 3; ++i) {
        asio::co_spawn(
            io,
            [&]() -> asio::awaitable<void> {
                co_await ev.wait();
                ++woken;
            },
            asio::detached);
    }
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            ev.set();
            co_return;
        },
        asio::detached);
    io.run();
    BOOST_TEST(woken == 3);
    io.restart();
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            co_await ev.wait();
            ++woken;
        },
        asio::detached);
    io.run();
    BOOST_TEST(woken == 4);
}

BOOST_AUTO_TEST_CASE(an_exception_is_described_and_a_cancellation_is_recognised) {
    auto aborted = std::make_exception_ptr(std::system_error{asio::error::operation_aborted, "wait"});
    auto other = std::make_exception_ptr(std::runtime_error{"disk on fire"});
    BOOST_TEST(mtce::is_cancellation(aborted));
    BOOST_TEST(!mtce::is_cancellation(other));
    BOOST_TEST(mtce::exception_message(other) == "disk on fire");
    BOOST_TEST(mtce::exception_message(std::make_exception_ptr(42)) == "unknown exception");
}

BOOST_AUTO_TEST_CASE(a_raced_operand_that_fails_ends_the_race_at_once_with_its_error) {
    using namespace asio::experimental::awaitable_operators;
    asio::io_context io;
    const auto start = std::chrono::steady_clock::now();
    auto raced = asio::co_spawn(
        io,
        []() -> asio::awaitable<std::exception_ptr> {
            asio::steady_timer timer{co_await asio::this_coro::executor, 10s};
            auto first = co_await (mtce::catching(failing()) || timer.async_wait(use_tuple));
            co_return first.index() == 0 ? std::get<0>(first) : nullptr;
        }(),
        asio::use_future);
    io.run();
    BOOST_TEST((std::chrono::steady_clock::now() - start < 5s));
    const auto failure = raced.get();
    BOOST_TEST_REQUIRE(static_cast<bool>(failure));
    BOOST_TEST(mtce::exception_message(failure) == "boom");
}

BOOST_AUTO_TEST_CASE(a_raced_value_is_handed_back_and_a_failure_rethrown_by_get) {
    asio::io_context io;
    auto ok =
        asio::co_spawn(io, mtce::catching([]() -> asio::awaitable<int> { co_return 7; }()), asio::use_future);
    auto bad = asio::co_spawn(io, mtce::catching([]() -> asio::awaitable<int> {
                                  throw std::runtime_error{"boom"};
                                  co_return 0;
                              }()),
                              asio::use_future);
    io.run();
    BOOST_TEST(ok.get().get() == 7);
    BOOST_CHECK_THROW(bad.get().get(), std::runtime_error);
}
