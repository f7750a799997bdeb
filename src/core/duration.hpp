#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include <tl/expected.hpp>

namespace mtce {

/// Parses "250ms", "5s", "2m", "1h" (one number, one unit) into milliseconds.
[[nodiscard]] tl::expected<std::chrono::milliseconds, std::string> parse_duration(std::string_view text);

/// The shortest exact form: 1500ms -> "1500ms", 5000ms -> "5s", 120000ms -> "2m".
[[nodiscard]] std::string format_duration(std::chrono::milliseconds d);

}  // namespace mtce
