#include "cli/host_view.hpp"

#include <algorithm>
#include <array>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace mtce::cli {

namespace {

using nlohmann::json;

std::string value_text(const json& v) {
    if (v.is_null()) {
        return "-";
    }
    if (v.is_string()) {
        const auto& s = v.get_ref<const std::string&>();
        return s.empty() ? "-" : printable(s);
    }
    if (v.is_array()) {
        std::vector<std::string> parts;
        for (const auto& e : v) {
            parts.push_back(e.is_string() ? printable(e.get_ref<const std::string&>()) : printable(e.dump()));
        }
        return parts.empty() ? "-" : fmt::format("{}", fmt::join(parts, ","));
    }
    return printable(v.dump(-1, ' ', /*ensure_ascii=*/false, json::error_handler_t::replace));
}

/// The host document fields in the order `host show` prints them (design §3.4); heartbeat is printed apart.
constexpr std::array<std::string_view, 14> show_fields{"name",
                                                       "personality",
                                                       "subfunctions",
                                                       "administrative",
                                                       "operational",
                                                       "availability",
                                                       "subfunction_operational",
                                                       "subfunction_availability",
                                                       "task",
                                                       "uptime_s",
                                                       "mgmt_ip",
                                                       "cluster_ip",
                                                       "bmc_type",
                                                       "auto_recovery_disabled"};

constexpr std::array<std::string_view, 2> networks{"mgmt", "cluster"};

/// The `autorecovery` line of `host show`, e.g. "goenabled, 3 in a row": the cause auto-recovery counts most
/// consecutive failures of and their count; nothing while there are none.
std::optional<std::string> autorecovery_text(const json& host) {
    const auto it = host.find("autorecovery");
    if (it == host.end() || !it->is_object()) {
        return std::nullopt;
    }
    const auto count = it->find("count");
    if (count == it->end() || !count->is_number_integer() || count->get<std::int64_t>() <= 0) {
        return std::nullopt;
    }
    return fmt::format("{}, {} in a row", cell_text(*it, "cause"), count->get<std::int64_t>());
}

}  // namespace

std::string printable(std::string_view s) {
    std::string out{s};
    for (auto& c : out) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) {
            c = '?';
        }
    }
    return out;
}

std::string aligned_table(const std::vector<std::vector<std::string>>& rows) {
    std::vector<std::size_t> width;
    for (const auto& row : rows) {
        width.resize(std::max(width.size(), row.size()), 0);
        for (std::size_t i = 0; i < row.size(); ++i) {
            width[i] = std::max(width[i], row[i].size());
        }
    }
    std::string out;
    for (const auto& row : rows) {
        std::string line;
        for (std::size_t i = 0; i < row.size(); ++i) {
            line += i + 1 == row.size() ? row[i] : fmt::format("{:<{}}  ", row[i], width[i]);
        }
        out += line + "\n";
    }
    return out;
}

std::string cell_text(const json& doc, std::string_view field) {
    if (!doc.is_object()) {
        return "-";
    }
    const auto it = doc.find(field);
    return it == doc.end() ? "-" : value_text(*it);
}

std::string heartbeat_cell(const json& host, std::string_view network) {
    if (!host.is_object()) {
        return "-";
    }
    const auto hb = host.find("heartbeat");
    if (hb == host.end() || !hb->is_object()) {
        return "-";
    }
    const auto net = hb->find(network);
    if (net == hb->end() || !net->is_object()) {
        return "-";
    }
    auto text = cell_text(*net, "state");
    const auto misses = net->find("misses");
    if (misses != net->end() && misses->is_number_integer() && misses->get<std::int64_t>() > 0) {
        text += fmt::format("({})", misses->get<std::int64_t>());
    }
    return text;
}

std::string format_uptime(std::uint64_t seconds) {
    const std::array<std::pair<std::uint64_t, char>, 4> units{
        {{86400, 'd'}, {3600, 'h'}, {60, 'm'}, {1, 's'}}};
    std::vector<std::string> parts;
    for (const auto& [size, unit] : units) {
        const auto n = seconds / size;
        seconds %= size;
        if (n > 0 || (!parts.empty()) || unit == 's') {
            parts.push_back(fmt::format("{}{}", n, unit));
        }
    }
    return fmt::format("{}", fmt::join(parts, " "));
}

std::string render_host_table(const json& hosts) {
    std::vector<std::vector<std::string>> rows{
        {"NAME", "PERSONALITY", "ADMIN", "OPER", "AVAIL", "TASK", "MGMT-HB", "CLUSTER-HB"}};
    if (hosts.is_array()) {
        for (const auto& h : hosts) {
            rows.push_back({cell_text(h, "name"), cell_text(h, "personality"), cell_text(h, "administrative"),
                            cell_text(h, "operational"), cell_text(h, "availability"), cell_text(h, "task"),
                            heartbeat_cell(h, "mgmt"), heartbeat_cell(h, "cluster")});
        }
    }
    return aligned_table(rows);
}

std::string state_text(const json& host) {
    return fmt::format("{}-{}-{}", cell_text(host, "administrative"), cell_text(host, "operational"),
                       cell_text(host, "availability"));
}

std::string render_wait_line(std::string_view clock, std::string_view name, const json& host) {
    const auto task = cell_text(host, "task");
    return fmt::format("{} {} {}{}\n", clock, printable(name), state_text(host),
                       task == "-" ? "" : " " + task);
}

std::string render_host(const json& host) {
    std::vector<std::pair<std::string, std::string>> lines;
    for (const auto field : show_fields) {
        auto value = cell_text(host, field);
        if (field == "uptime_s" && host.is_object() && host.contains("uptime_s") &&
            host["uptime_s"].is_number_integer() && host["uptime_s"].get<std::int64_t>() >= 0) {
            value += fmt::format(" ({})", format_uptime(host["uptime_s"].get<std::uint64_t>()));
        }
        lines.emplace_back(std::string{field}, std::move(value));
        if (field == "auto_recovery_disabled" && host.is_object()) {
            if (auto text = autorecovery_text(host)) {
                lines.emplace_back("autorecovery", std::move(*text));
            }
        }
    }
    for (const auto network : networks) {
        lines.emplace_back(fmt::format("heartbeat {}", network), heartbeat_cell(host, network));
    }
    if (host.is_object()) {
        const std::set<std::string_view> shown(show_fields.begin(), show_fields.end());
        for (const auto& [key, value] : host.items()) {
            if (key != "heartbeat" && key != "autorecovery" && !shown.contains(key)) {
                lines.emplace_back(printable(key), value_text(value));
            }
        }
    }
    std::size_t width = 0;
    for (const auto& [key, value] : lines) {
        width = std::max(width, key.size() + 1);
    }
    std::string out;
    for (const auto& [key, value] : lines) {
        out += fmt::format("{:<{}} {}\n", key + ":", width, value);
    }
    return out;
}

}  // namespace mtce::cli
