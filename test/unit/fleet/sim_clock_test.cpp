#define BOOST_TEST_MODULE fleet_sim_clock_test
#include "sim_clock.hpp"

#include <chrono>
#include <exception>
#include <memory>
#include <vector>

#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/co_spawn.hpp>
#include <asio/error.hpp>
#include <asio/io_context.hpp>
#include <boost/test/unit_test.hpp>

using namespace std::chrono_literals;
using mtce::test::sim_clock;

namespace {

struct outcome {
    bool done = false;
    std::exception_ptr error;
};

std::shared_ptr<outcome> spawn(asio::io_context& io, asio::awaitable<void> body,
                               asio::cancellation_signal* stop = nullptr) {
    auto out = std::make_shared<outcome>();
    auto handler = [out](std::exception_ptr e) {
        out->done = true;
        out->error = e;
    };
    if (stop != nullptr) {
        asio::co_spawn(io, std::move(body), asio::bind_cancellation_slot(stop->slot(), handler));
    } else {
        asio::co_spawn(io, std::move(body), handler);
    }
    return out;
}

asio::awaitable<void> wait_and_note(sim_clock& clock, sim_clock::time_point deadline,
                                    std::vector<sim_clock::time_point>& woke) {
    co_await clock.wait(deadline);
    woke.push_back(clock.now());
}

}  // namespace

BOOST_AUTO_TEST_CASE(time_starts_far_from_the_epoch_and_moves_only_when_the_clock_runs) {
    asio::io_context io;
    sim_clock clock{io};
    const auto t0 = clock.now();
    BOOST_TEST((t0 - sim_clock::time_point{} >= 1h));
    io.poll();
    BOOST_TEST((clock.now() == t0));
    clock.run_for(90s);
    BOOST_TEST((clock.now() == t0 + 90s));
}

BOOST_AUTO_TEST_CASE(a_waiter_wakes_at_its_simulated_deadline_and_not_before) {
    asio::io_context io;
    sim_clock clock{io};
    const auto t0 = clock.now();
    std::vector<sim_clock::time_point> woke;
    auto w = spawn(io, wait_and_note(clock, t0 + 300s, woke));
    clock.run_for(299s);
    BOOST_TEST(woke.empty());
    BOOST_TEST(!w->done);
    const bool finished = clock.run_until([&] { return w->done; }, t0 + 1h);
    BOOST_TEST(finished);
    BOOST_REQUIRE_EQUAL(woke.size(), 1U);
    BOOST_TEST((woke[0] == t0 + 300s));
    BOOST_TEST((clock.now() == t0 + 300s));  // it stopped at the moment the waiter woke
}

BOOST_AUTO_TEST_CASE(waiters_wake_in_the_order_of_their_deadlines) {
    asio::io_context io;
    sim_clock clock{io};
    const auto t0 = clock.now();
    std::vector<sim_clock::time_point> woke;
    auto a = spawn(io, wait_and_note(clock, t0 + 20s, woke));
    auto b = spawn(io, wait_and_note(clock, t0 + 5s, woke));
    clock.run_for(1min);
    BOOST_REQUIRE_EQUAL(woke.size(), 2U);
    BOOST_TEST((woke[0] == t0 + 5s));
    BOOST_TEST((woke[1] == t0 + 20s));
}

BOOST_AUTO_TEST_CASE(notify_wakes_every_waiter_at_the_current_time) {
    asio::io_context io;
    sim_clock clock{io};
    const auto t0 = clock.now();
    std::vector<sim_clock::time_point> woke;
    auto a = spawn(io, wait_and_note(clock, t0 + 1h, woke));
    auto b = spawn(io, wait_and_note(clock, t0 + 2h, woke));
    clock.at(t0 + 10s, [&clock] { clock.notify(); });
    const bool both = clock.run_until([&] { return a->done && b->done; }, t0 + 30s);
    BOOST_TEST(both);
    BOOST_REQUIRE_EQUAL(woke.size(), 2U);
    BOOST_TEST((woke[0] == t0 + 10s));
    BOOST_TEST((woke[1] == t0 + 10s));
    BOOST_TEST(clock.waiters() == 0U);
}

BOOST_AUTO_TEST_CASE(a_deadline_already_passed_completes_at_once) {
    asio::io_context io;
    sim_clock clock{io};
    std::vector<sim_clock::time_point> woke;
    auto w = spawn(io, wait_and_note(clock, clock.now() - 1s, woke));
    clock.settle();
    BOOST_TEST(w->done);
    BOOST_TEST(woke.size() == 1U);
}

BOOST_AUTO_TEST_CASE(an_hour_of_simulated_waits_runs_in_well_under_a_second) {
    asio::io_context io;
    sim_clock clock{io};
    const auto t0 = clock.now();
    std::uint64_t ticks = 0;
    auto loop = [&clock, &ticks]() -> asio::awaitable<void> {
        for (int i = 0; i < 3600 * 10; ++i) {  // every 100 ms of an hour
            co_await clock.sleep_until(clock.now() + 100ms);
            ++ticks;
        }
    };
    const auto real = std::chrono::steady_clock::now();
    auto w = spawn(io, loop());
    const bool finished = clock.run_until([&] { return w->done; }, t0 + 2h);
    const auto took = std::chrono::steady_clock::now() - real;
    BOOST_TEST(finished);
    BOOST_TEST(ticks == 36000U);
    BOOST_TEST((clock.now() == t0 + 1h));
    BOOST_TEST(std::chrono::duration<double>(took).count() < 1.0);
}

BOOST_AUTO_TEST_CASE(cancellation_ends_a_wait_and_the_next_await_throws) {
    asio::io_context io;
    sim_clock clock{io};
    const auto t0 = clock.now();
    asio::cancellation_signal stop;
    bool resumed = false;
    auto body = [&clock, &resumed, t0]() -> asio::awaitable<void> {
        co_await clock.wait(t0 + 1h);
        resumed = true;
        co_await clock.wait(t0 + 2h);  // a cancelled coroutine's next await throws
    };
    auto w = spawn(io, body(), &stop);
    clock.run_for(1min);
    BOOST_TEST(!w->done);
    stop.emit(asio::cancellation_type::terminal);
    clock.settle();
    BOOST_TEST(w->done);
    BOOST_TEST(resumed);
    BOOST_TEST((clock.now() == t0 + 1min));  // at once, not at the deadline
    BOOST_REQUIRE(w->error);
    try {
        std::rethrow_exception(w->error);
    } catch (const std::system_error& e) {
        BOOST_TEST((e.code() == asio::error::operation_aborted));
    }
    BOOST_TEST(clock.waiters() == 0U);
}

BOOST_AUTO_TEST_CASE(run_until_stops_at_the_limit_and_says_so) {
    asio::io_context io;
    sim_clock clock{io};
    const auto t0 = clock.now();
    std::vector<sim_clock::time_point> woke;
    auto w = spawn(io, wait_and_note(clock, t0 + 10min, woke));
    const bool finished = clock.run_until([&] { return w->done; }, t0 + 5min);
    BOOST_TEST(!finished);
    BOOST_TEST((clock.now() == t0 + 5min));
    BOOST_TEST(woke.empty());
}

BOOST_AUTO_TEST_CASE(scheduled_actions_run_at_their_time_in_order) {
    asio::io_context io;
    sim_clock clock{io};
    const auto t0 = clock.now();
    std::vector<std::pair<int, sim_clock::time_point>> ran;
    clock.at(t0 + 30s, [&] { ran.emplace_back(2, clock.now()); });
    clock.at(t0 + 10s, [&] { ran.emplace_back(1, clock.now()); });
    const auto gone = clock.at(t0 + 20s, [&] { ran.emplace_back(9, clock.now()); });
    clock.cancel(gone);
    clock.run_for(1min);
    BOOST_REQUIRE_EQUAL(ran.size(), 2U);
    BOOST_TEST(ran[0].first == 1);
    BOOST_TEST((ran[0].second == t0 + 10s));
    BOOST_TEST(ran[1].first == 2);
    BOOST_TEST((ran[1].second == t0 + 30s));
}
