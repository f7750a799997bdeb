#include "core/inotify.hpp"

#include <sys/inotify.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <system_error>

#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

namespace mtce {

namespace {
constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);
}

asio::awaitable<bool> wait_for_file(std::filesystem::path path, std::chrono::milliseconds limit) {
    using namespace asio::experimental::awaitable_operators;
    using clock = std::chrono::steady_clock;
    auto ex = co_await asio::this_coro::executor;
    const auto deadline = clock::now() + limit;
    asio::steady_timer timer{ex, deadline};
    std::error_code ec;

    for (;;) {
        if (std::filesystem::exists(path, ec)) {
            co_return true;
        }
        if (clock::now() >= deadline) {
            co_return false;
        }
        const int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (fd < 0) {
            throw std::system_error{errno, std::system_category(), "inotify_init1"};
        }
        asio::posix::stream_descriptor watch{ex, fd};
        const auto parent = path.parent_path();
        if (::inotify_add_watch(fd, parent.c_str(), IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE) < 0) {
            // The directory is not there yet: look again in a second (or at the deadline).
            asio::steady_timer retry{ex, std::min(deadline, clock::now() + std::chrono::seconds{1})};
            co_await retry.async_wait(use_tuple);
            continue;
        }
        // The file may have appeared between the check above and the watch: check again before waiting.
        while (!std::filesystem::exists(path, ec)) {
            auto first = co_await (watch.async_wait(asio::posix::descriptor_base::wait_read, use_tuple) ||
                                   timer.async_wait(use_tuple));
            if (first.index() == 1) {
                co_return std::filesystem::exists(path, ec);
            }
            std::array<char, 4096> events{};
            while (::read(fd, events.data(), events.size()) > 0) {
                // Drain; which file changed does not matter, existence is checked below.
            }
        }
        co_return true;
    }
}

}  // namespace mtce
