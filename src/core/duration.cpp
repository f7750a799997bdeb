#include "core/duration.hpp"

#include <charconv>
#include <cstdint>

namespace mtce {

tl::expected<std::chrono::milliseconds, std::string> parse_duration(std::string_view text) {
    std::int64_t value = 0;
    const auto* first = text.data();
    const auto* last = text.data() + text.size();
    auto [end, ec] = std::from_chars(first, last, value);
    if (ec != std::errc{} || end == first) {
        return tl::unexpected{std::string{"expected a duration such as \"500ms\", \"5s\", \"2m\" or \"1h\""}};
    }
    if (value < 0) {
        return tl::unexpected{std::string{"a duration cannot be negative"}};
    }
    const std::string_view unit{end, static_cast<std::size_t>(last - end)};
    std::int64_t factor = 0;
    if (unit == "ms") {
        factor = 1;
    } else if (unit == "s") {
        factor = 1000;
    } else if (unit == "m") {
        factor = std::int64_t{60} * 1000;
    } else if (unit == "h") {
        factor = std::int64_t{60} * 60 * 1000;
    } else {
        return tl::unexpected{"unknown unit '" + std::string{unit} + "' (use ms, s, m or h)"};
    }
    if (value > INT64_MAX / factor / 1000) {
        return tl::unexpected{std::string{"duration too large"}};
    }
    return std::chrono::milliseconds{value * factor};
}

std::string format_duration(std::chrono::milliseconds d) {
    using namespace std::chrono_literals;
    if (d != 0ms && d % 1h == 0ms) {
        return std::to_string(d / 1h) + "h";
    }
    if (d != 0ms && d % 1min == 0ms) {
        return std::to_string(d / 1min) + "m";
    }
    if (d != 0ms && d % 1s == 0ms) {
        return std::to_string(d / 1s) + "s";
    }
    return std::to_string(d.count()) + "ms";
}

}  // namespace mtce
