#include "fleet/host.hpp"

#include <algorithm>

#include <asio/experimental/as_tuple.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

namespace mtce::fleet {

void change_signal::notify() {
    for (auto* t : waiters_) {
        t->cancel();
    }
}

asio::awaitable<void> change_signal::wait(time_point deadline) {
    asio::steady_timer timer{co_await asio::this_coro::executor, deadline};
    waiters_.push_back(&timer);
    const auto it = std::prev(waiters_.end());
    // A notify() and a cancellation both end the wait with operation_aborted; the caller re-checks.
    (void)co_await timer.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
    waiters_.erase(it);
}

asio::awaitable<bool> managed_host::wait_until(std::function<bool()> done, time_point deadline) {
    for (;;) {
        if (done()) {
            co_return true;
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            co_return false;
        }
        co_await changed.wait(deadline);
        // A cancelled wait must not turn into a busy loop: throw as every other await of a cancelled
        // coroutine does.
        auto state = co_await asio::this_coro::cancellation_state;
        if (state.cancelled() != asio::cancellation_type::none) {
            throw std::system_error{asio::error::operation_aborted};
        }
    }
}

bool managed_host::has_subfunction() const {
    return std::find(spec.functions.begin(), spec.functions.end(), role::worker) != spec.functions.end() &&
           spec.personality == role::controller;
}

bool managed_host::reachable(time_point now, std::chrono::milliseconds window) const {
    return now - alive_at < window;
}

}  // namespace mtce::fleet
