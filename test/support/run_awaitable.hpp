#pragma once

#include <chrono>
#include <utility>

#include <asio/awaitable.hpp>
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/use_future.hpp>

namespace mtce::test {

/// Drives one coroutine to completion on a fresh io_context and returns its result (or rethrows).
template <typename T>
T run_awaitable(asio::awaitable<T> body) {
    asio::io_context io;
    auto result = asio::co_spawn(io, std::move(body), asio::use_future);
    io.run();
    return result.get();
}

}  // namespace mtce::test
