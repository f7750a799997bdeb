#pragma once

// What core/child.cpp and core/transient_unit.cpp share to run a program: a file descriptor's owner, and the
// capture of its standard output and error through two pipes, bounded. Internal to src/core.

#include <unistd.h>

#include <cstddef>
#include <string>
#include <utility>

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/steady_timer.hpp>

namespace mtce::detail {

/// Owns one file descriptor.
class unique_fd {
public:
    unique_fd() = default;
    explicit unique_fd(int fd) : fd_(fd) {}
    unique_fd(const unique_fd&) = delete;
    unique_fd& operator=(const unique_fd&) = delete;
    ~unique_fd() { reset(); }

    [[nodiscard]] int get() const { return fd_; }
    int release() { return std::exchange(fd_, -1); }
    void reset(int fd = -1) {
        if (fd_ >= 0) {
            ::close(fd_);
        }
        fd_ = fd;
    }

private:
    int fd_ = -1;
};

/// Throws operation_aborted if the calling coroutine has been cancelled: for the end of a wait whose own
/// cancellation is also how it is ended early.
asio::awaitable<void> throw_if_cancelled();

/// The read ends of a program's output and error pipes, read to their ends. The first `limit` bytes of each
/// are kept and the rest counted, so a chatty program never fills memory.
class output_capture {
public:
    output_capture(const asio::any_io_executor& ex, std::size_t limit);

    /// Takes the read ends (non-blocking). The descriptors are released only once owned here, so a failing
    /// assign cannot leak them.
    void adopt(unique_fd& out, unique_fd& err);
    /// Reads the output pipe, then the error pipe (each to its end, or until finish() closes it).
    asio::awaitable<void> read_out(std::string& kept, std::size_t& dropped) {
        return read(out_, kept, dropped);
    }
    asio::awaitable<void> read_err(std::string& kept, std::size_t& dropped) {
        return read(err_, kept, dropped);
    }
    /// Gives the readers a short while (1 s) to see their end, then closes the pipes, which ends them: once
    /// the program is gone only an escaped process can still hold them.
    asio::awaitable<void> finish();

private:
    asio::awaitable<void> read(asio::posix::stream_descriptor& pipe, std::string& kept, std::size_t& dropped);

    std::size_t limit_;
    asio::posix::stream_descriptor out_;
    asio::posix::stream_descriptor err_;
    asio::steady_timer readers_done_;
    int readers_running_ = 2;
};

}  // namespace mtce::detail
