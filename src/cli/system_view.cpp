#include "cli/system_view.hpp"

#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/host_view.hpp"

namespace mtce::cli {

namespace {

using nlohmann::json;

/// The summary lines' keys, and the column their values start at.
constexpr std::string_view mode_key = "mode:";
constexpr std::string_view dor_key = "dor:";
constexpr std::string_view mnfa_key = "mnfa:";
constexpr std::string_view controllers_key = "controllers:";
constexpr std::size_t value_column = controllers_key.size() + 1;

std::string key_line(std::string_view key, std::string_view value) {
    return fmt::format("{:<{}}{}\n", key, value_column, value);
}

/// `doc[field]` if it is of `kind` (an object, an array), else null: a document from another version may
/// lack it.
const json& member(const json& doc, std::string_view field, json::value_t kind) {
    static const json none;
    if (!doc.is_object()) {
        return none;
    }
    const auto it = doc.find(field);
    return it != doc.end() && it->type() == kind ? *it : none;
}

bool flag(const json& doc, std::string_view field) {
    if (!doc.is_object()) {
        return false;
    }
    const auto it = doc.find(field);
    return it != doc.end() && it->is_boolean() && it->get<bool>();
}

/// A count: a whole number as it is, anything else as "-".
std::string count_text(const json& doc, std::string_view field) {
    if (!doc.is_object()) {
        return "-";
    }
    const auto it = doc.find(field);
    if (it == doc.end() || !it->is_number_integer()) {
        return "-";
    }
    return std::to_string(it->get<std::int64_t>());
}

/// "N hosts" ("1 host").
std::string hosts_text(const std::string& n) {
    return fmt::format("{} {}", n, n == "1" ? "host" : "hosts");
}

/// "entered N times" ("entered once").
std::string entered_text(const std::string& n) {
    return n == "1" ? std::string{"entered once"} : fmt::format("entered {} times", n);
}

/// `rows` as an aligned table, its first line after `first` and the others after `rest`.
std::string prefixed(const std::vector<std::vector<std::string>>& rows, std::string_view first,
                     std::string_view rest) {
    std::string out;
    const auto table = aligned_table(rows);
    for (std::size_t begin = 0; begin < table.size();) {
        const auto end = table.find('\n', begin);
        out += begin == 0 ? first : rest;
        out += table.substr(begin, end - begin + 1);
        begin = end + 1;
    }
    return out;
}

/// Rows under a summary line, indented by two spaces, their columns aligned.
std::string indented(const std::vector<std::vector<std::string>>& rows) {
    return prefixed(rows, "  ", "  ");
}

}  // namespace

std::string dor_summary(const json& dor) {
    const auto recovered =
        fmt::format("{} of {} recovered", count_text(dor, "recovered"), hosts_text(count_text(dor, "total")));
    if (flag(dor, "active")) {
        return fmt::format("active since {}, deadline {}, {}", cell_text(dor, "started"),
                           cell_text(dor, "deadline"), recovered);
    }
    const auto started = cell_text(dor, "started");
    if (started == "-") {
        return "inactive";
    }
    return fmt::format("ended {} (started {}), {}", cell_text(dor, "ended"), started, recovered);
}

std::string mnfa_summary(const json& mnfa) {
    const auto entered = entered_text(count_text(mnfa, "episodes"));
    if (!flag(mnfa, "active")) {
        return fmt::format("inactive ({})", entered);
    }
    const auto& networks = member(mnfa, "networks", json::value_t::object);
    return fmt::format("active since {}, hosts missing: mgmt {}, cluster {} ({})", cell_text(mnfa, "since"),
                       count_text(networks, "mgmt"), count_text(networks, "cluster"), entered);
}

std::string render_system(const json& system) {
    std::string out = key_line(mode_key, cell_text(system, "mode"));

    const auto& dor = member(system, "dor", json::value_t::object);
    out += key_line(dor_key, dor_summary(dor));
    std::vector<std::vector<std::string>> rows;
    for (const auto& h : member(dor, "hosts", json::value_t::array)) {
        const auto progress = flag(h, "recovered")    ? "recovered"
                              : flag(h, "checked_in") ? "checked in"
                                                      : "waiting";
        rows.push_back({cell_text(h, "name"), cell_text(h, "state"), progress});
    }
    out += indented(rows);

    const auto& mnfa = member(system, "mnfa", json::value_t::object);
    out += key_line(mnfa_key, mnfa_summary(mnfa));
    rows.clear();
    for (const auto& name : member(mnfa, "hosts", json::value_t::array)) {
        rows.push_back({name.is_string() ? printable(name.get_ref<const std::string&>()) : "-"});
    }
    out += indented(rows);

    rows.clear();
    for (const auto& c : member(system, "controllers", json::value_t::array)) {
        rows.push_back({cell_text(c, "name"), cell_text(c, "state")});
        if (flag(c, "self")) {
            rows.back().emplace_back("(this controller)");
        }
    }
    if (rows.empty()) {
        out += key_line(controllers_key, "-");
    } else {
        out += prefixed(rows, fmt::format("{:<{}}", controllers_key, value_column),
                        std::string(value_column, ' '));
    }
    return out;
}

}  // namespace mtce::cli
