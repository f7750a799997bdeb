#include "core/output_capture.hpp"

#include <algorithm>
#include <chrono>
#include <vector>

#include <asio/buffer.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

namespace mtce::detail {

namespace {

constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);
/// Once the whole group is gone, only an escaped process (setsid) can still hold the pipes; the data already
/// in them takes microseconds to drain, so this only bounds how long such an escapee can delay us.
constexpr auto output_linger = std::chrono::seconds{1};
constexpr std::size_t read_chunk = std::size_t{64} * 1024;

}  // namespace

asio::awaitable<void> throw_if_cancelled() {
    asio::cancellation_state state = co_await asio::this_coro::cancellation_state;
    if (state.cancelled() != asio::cancellation_type::none) {
        throw asio::system_error(asio::error::operation_aborted);
    }
}

output_capture::output_capture(const asio::any_io_executor& ex, std::size_t limit)
    : limit_{limit}, out_{ex}, err_{ex}, readers_done_{ex} {}

void output_capture::adopt(unique_fd& out, unique_fd& err) {
    out_.assign(out.get());
    out.release();
    err_.assign(err.get());
    err.release();
}

asio::awaitable<void> output_capture::finish() {
    if (readers_running_ > 0) {
        readers_done_.expires_after(output_linger);
        co_await readers_done_.async_wait(use_tuple);  // cancelled by the last reader
        co_await throw_if_cancelled();
    }
    asio::error_code ignored;
    out_.close(ignored);
    err_.close(ignored);
}

asio::awaitable<void> output_capture::read(asio::posix::stream_descriptor& pipe, std::string& kept,
                                           std::size_t& dropped) {
    std::vector<char> buffer(read_chunk);
    for (;;) {
        auto [ec, n] = co_await pipe.async_read_some(asio::buffer(buffer), use_tuple);
        const std::size_t keep = std::min(n, limit_ - std::min(limit_, kept.size()));
        kept.append(buffer.data(), keep);
        dropped += n - keep;
        // An error is EOF, or the pipe closed by finish(); either way this stream is done. A cancellation may
        // have arrived while this read's completion was queued: stop then too, or the next read could wait
        // forever on a program that is about to be killed. (No co_await in the condition: g++ 12 miscompiles
        // that.)
        asio::cancellation_state state = co_await asio::this_coro::cancellation_state;
        if (ec || state.cancelled() != asio::cancellation_type::none) {
            break;
        }
    }
    if (--readers_running_ == 0) {
        readers_done_.cancel();
    }
}

}  // namespace mtce::detail
