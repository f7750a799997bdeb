#pragma once

#include <chrono>
#include <filesystem>

#include <asio/awaitable.hpp>

namespace mtce {

/// Completes when `path` exists (at once if it already does) or after `limit`; returns whether it exists.
/// Waits for the event through inotify on the parent directory; if the parent does not exist yet, checks
/// once a second until it does. Cancellation propagates as an exception.
asio::awaitable<bool> wait_for_file(std::filesystem::path path, std::chrono::milliseconds limit);

}  // namespace mtce
