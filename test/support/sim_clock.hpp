#pragma once

// A simulated steady clock over one io_context, for tests of code that waits only through it (the fleet's
// jobs wait through host_context::wait_change). Time moves only when the test runs the clock: run_until()
// runs every ready handler, then jumps to the earliest thing due (a waiter's deadline or a scheduled
// action), wakes what is due there, and repeats. A day of timeouts runs in milliseconds.
//
// Not thread-safe: the test's thread runs the io_context (poll only) and the clock.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <iterator>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <utility>

#include <asio/experimental/as_tuple.hpp>
#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

namespace mtce::test {

class sim_clock {
public:
    using clock_type = std::chrono::steady_clock;
    using time_point = clock_type::time_point;
    using duration = clock_type::duration;

    /// Far from time_point{}, so that "never" (time_point{}) is long ago.
    static constexpr time_point default_start = time_point{} + std::chrono::hours{100};

    explicit sim_clock(asio::io_context& io, time_point start = default_start) : io_{io}, now_{start} {}
    sim_clock(const sim_clock&) = delete;
    sim_clock& operator=(const sim_clock&) = delete;

    [[nodiscard]] time_point now() const { return now_; }
    [[nodiscard]] asio::io_context& io() { return io_; }

    /// Completes at the simulated `deadline` (at once when it has passed), at the next notify(), or when the
    /// awaiting coroutine is cancelled (terminal cancellation, as co_spawn's default filter lets through);
    /// the caller sees a cancellation at its next co_await of an awaitable.
    asio::awaitable<void> wait(time_point deadline) {
        if (deadline <= now_) {
            co_return;
        }
        asio::steady_timer timer{io_, time_point::max()};
        // Removed however the wait ends (woken, notified, cancelled, or its frame destroyed with the
        // io_context, which may outlive the clock: the frame shares the list).
        auto list = waiters_;
        const auto it = list->insert(list->end(), waiter{deadline, &timer});
        struct unregister {
            std::shared_ptr<std::list<waiter>> list;
            std::list<waiter>::iterator it;
            ~unregister() { list->erase(it); }
        } guard{list, it};
        auto [ec] = co_await timer.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
        (void)ec;  // woken (operation_aborted) or cancelled: the same to the caller
    }

    /// Waits until `t` whatever notify() says (a fixed delay: a BMC answering, a device taking its time).
    asio::awaitable<void> sleep_until(time_point t) {
        while (now_ < t) {
            co_await wait(t);
        }
    }

    /// Wakes every waiter now.
    void notify() {
        ++notifications_;
        for (auto& w : *waiters_) {
            w.timer->cancel();
        }
    }

    /// Runs `fn` when simulated time reaches `when` (at once, at the next step of the clock, if it has).
    /// Returns a handle for cancel().
    std::uint64_t at(time_point when, std::function<void()> fn) {
        const auto id = ++next_action_;
        actions_.emplace(std::pair{std::max(when, now_), id}, std::move(fn));
        return id;
    }
    std::uint64_t after(duration d, std::function<void()> fn) { return at(now_ + d, std::move(fn)); }
    void cancel(std::uint64_t handle) {
        std::erase_if(actions_, [handle](const auto& a) { return a.first.second == handle; });
    }

    /// Runs ready handlers, then moves time to the next deadline or action (never past `limit`) and wakes
    /// what is due, until `done()` holds (true) or time reaches `limit` with nothing more to run there
    /// (done() then).
    bool run_until(const std::function<bool()>& done, time_point limit) {
        for (;;) {
            drain();
            if (done()) {
                return true;
            }
            auto next = next_due();
            if (!next || *next > limit) {
                if (now_ < limit) {
                    now_ = limit;
                    continue;  // what is due at the limit itself runs
                }
                return done();
            }
            now_ = std::max(now_, *next);
            fire_due();
        }
    }

    /// Runs for `d` of simulated time.
    void run_for(duration d) {
        (void)run_until([] { return false; }, now_ + d);
    }

    /// Runs ready handlers and what is due now, without moving time.
    void settle() {
        drain();
        fire_due();
        drain();
    }

    [[nodiscard]] std::size_t waiters() const { return waiters_->size(); }
    [[nodiscard]] std::uint64_t notifications() const { return notifications_; }

private:
    struct waiter {
        time_point deadline;
        asio::steady_timer* timer;
    };

    void drain() {
        for (;;) {
            io_.restart();
            if (io_.poll() == 0) {
                return;
            }
        }
    }

    [[nodiscard]] std::optional<time_point> next_due() const {
        std::optional<time_point> next;
        for (const auto& w : *waiters_) {
            if (!next || w.deadline < *next) {
                next = w.deadline;
            }
        }
        if (!actions_.empty() && (!next || actions_.begin()->first.first < *next)) {
            next = actions_.begin()->first.first;
        }
        return next;
    }

    void fire_due() {
        // Actions first (what happened at this moment), each one's handlers run before the next.
        while (!actions_.empty() && actions_.begin()->first.first <= now_) {
            auto fn = std::move(actions_.begin()->second);
            actions_.erase(actions_.begin());
            fn();
            drain();
        }
        for (auto& w : *waiters_) {
            if (w.deadline <= now_) {
                w.timer->cancel();
            }
        }
        drain();
    }

    asio::io_context& io_;
    time_point now_;
    std::shared_ptr<std::list<waiter>> waiters_ = std::make_shared<std::list<waiter>>();
    std::map<std::pair<time_point, std::uint64_t>, std::function<void()>> actions_;
    std::uint64_t next_action_ = 0;
    std::uint64_t notifications_ = 0;
};

}  // namespace mtce::test
