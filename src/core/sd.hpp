#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace mtce::sd {

/// Sends one sd_notify message ("READY=1", "STOPPING=1\nSTATUS=..."); does nothing outside systemd.
/// The result is ignored on purpose, as sd_notify(3) advises.
void notify(std::string_view message);

/// The interval systemd expects WATCHDOG=1 at (half of WatchdogSec=), if the watchdog is enabled.
[[nodiscard]] std::optional<std::chrono::microseconds> watchdog_interval();

}  // namespace mtce::sd
