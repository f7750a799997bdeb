#pragma once

// How `mtce alarm list` and `mtce event list` print the API's alarms and events (design §3.4) for a person.
// Pure: JSON in, text out (times in the local time zone); fields shown as host_view's cell_text() does.

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

namespace mtce::cli {

/// `epoch_ms` (milliseconds since 1970-01-01 UTC) as local ISO 8601 time to the second with the UTC offset,
/// e.g. "2026-11-30T12:03:04+01:00".
[[nodiscard]] std::string format_local_time(std::int64_t epoch_ms);

/// A time field of `doc`: an integer as format_local_time(), anything else as cell_text().
[[nodiscard]] std::string time_cell(const nlohmann::json& doc, std::string_view field);

/// The `alarm list` table: a header line ID HOST SEVERITY SINCE REASON and one line per element of `alarms`
/// (`since` in local time), columns aligned, each line ending in '\n'.
[[nodiscard]] std::string render_alarm_table(const nlohmann::json& alarms);

/// The header line of the `event list` table: ID TIME HOST KIND TEXT.
[[nodiscard]] std::string render_event_header();

/// One event as a line of the `event list` table (`time` in local time). The columns have fixed minimum
/// widths, so that events printed later (--follow) line up with the first ones; a longer value shifts the
/// rest of its line.
[[nodiscard]] std::string render_event(const nlohmann::json& event);

}  // namespace mtce::cli
