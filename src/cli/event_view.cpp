#include "cli/event_view.hpp"

#include <ctime>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/host_view.hpp"

namespace mtce::cli {

namespace {

using nlohmann::json;

/// Minimum widths of the event columns ID, TIME ("2026-11-30T12:03:04+01:00"), HOST and KIND.
constexpr std::size_t id_width = 6;
constexpr std::size_t time_width = 25;
constexpr std::size_t host_width = 14;
constexpr std::size_t kind_width = 16;

std::string event_line(std::string_view id, std::string_view time, std::string_view host,
                       std::string_view kind, std::string_view text) {
    return fmt::format("{:<{}}  {:<{}}  {:<{}}  {:<{}}  {}\n", id, id_width, time, time_width, host,
                       host_width, kind, kind_width, text);
}

}  // namespace

std::string format_local_time(std::int64_t epoch_ms) {
    // Floor division: -1 ms is 23:59:59 the day before, not 00:00:00.
    const auto seconds = epoch_ms / 1000 - (epoch_ms % 1000 < 0 ? 1 : 0);
    const auto t = static_cast<std::time_t>(seconds);
    std::tm local{};
    if (::localtime_r(&t, &local) == nullptr) {
        return std::to_string(epoch_ms);
    }
    char date[32];
    if (std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &local) == 0) {
        return std::to_string(epoch_ms);
    }
    const long offset = local.tm_gmtoff;
    const long magnitude = offset < 0 ? -offset : offset;
    return fmt::format("{}{}{:02}:{:02}", date, offset < 0 ? '-' : '+', magnitude / 3600,
                       magnitude % 3600 / 60);
}

std::string time_cell(const json& doc, std::string_view field) {
    if (doc.is_object()) {
        const auto it = doc.find(field);
        if (it != doc.end() && it->is_number_integer()) {
            return format_local_time(it->get<std::int64_t>());
        }
    }
    return cell_text(doc, field);
}

std::string render_alarm_table(const json& alarms) {
    std::vector<std::vector<std::string>> rows{{"ID", "HOST", "SEVERITY", "SINCE", "REASON"}};
    if (alarms.is_array()) {
        for (const auto& a : alarms) {
            rows.push_back({cell_text(a, "id"), cell_text(a, "host"), cell_text(a, "severity"),
                            time_cell(a, "since"), cell_text(a, "reason")});
        }
    }
    return aligned_table(rows);
}

std::string render_event_header() {
    return event_line("ID", "TIME", "HOST", "KIND", "TEXT");
}

std::string render_event(const json& event) {
    return event_line(cell_text(event, "id"), time_cell(event, "time"), cell_text(event, "host"),
                      cell_text(event, "kind"), cell_text(event, "text"));
}

}  // namespace mtce::cli
