#include "fleet/views.hpp"

#include <chrono>
#include <ctime>
#include <map>
#include <tuple>

#include <fmt/format.h>

#include "fleet/bmc_policy.hpp"
#include "fleet/states.hpp"
#include "heartbeat/monitor.hpp"
#include "heartbeat/report.hpp"

namespace mtce::fleet {

namespace {

using clock = std::chrono::steady_clock;
using heartbeat::network;
using nlohmann::json;

constexpr std::array<network, heartbeat::network_count> all_networks{network::mgmt, network::cluster};

std::string iso_time(std::int64_t ms) {
    const std::time_t t = ms / 1000;
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

/// Moments of the steady clock as the wall-clock times they correspond to: the steady clock is what the
/// policies measure with, an operator reads UTC. Both clocks are read once, so that the moments of one
/// document keep their distances.
class wall_times {
public:
    wall_times() : steady_{clock::now()}, wall_{std::chrono::system_clock::now()} {}

    /// `t` in ISO 8601 UTC to the second.
    [[nodiscard]] json at(time_point t) const {
        const auto wall =
            wall_ + std::chrono::duration_cast<std::chrono::system_clock::duration>(t - steady_);
        return iso_time(
            std::chrono::duration_cast<std::chrono::milliseconds>(wall.time_since_epoch()).count());
    }
    /// As at(), or null for time_point{} (a moment that never came).
    [[nodiscard]] json at_if_set(time_point t) const { return t == time_point{} ? json(nullptr) : at(t); }

private:
    time_point steady_;
    std::chrono::system_clock::time_point wall_;
};

json dor_document(const dor_view& dor, const wall_times& times) {
    json hosts = json::array();
    for (const auto& h : dor.hosts) {
        hosts.push_back(
            {{"name", h.name}, {"state", h.state}, {"recovered", h.recovered}, {"checked_in", h.checked_in}});
    }
    const bool opened = dor.started != time_point{};
    return {
        {"active", dor.active},
        {"started", opened ? times.at(dor.started) : json(nullptr)},
        {"deadline", opened ? times.at(dor.deadline) : json(nullptr)},
        {"ended", dor.ended ? times.at(*dor.ended) : json(nullptr)},
        {"recovered", dor.recovered()},
        {"total", dor.hosts.size()},
        {"hosts", std::move(hosts)},
    };
}

json mnfa_document(const mnfa_view& mnfa, const wall_times& times) {
    json networks = json::object();
    for (auto net : all_networks) {
        networks[std::string{to_string(net)}] = mnfa.missing[static_cast<std::size_t>(net)];
    }
    return {
        {"active", mnfa.active},
        {"since", mnfa.active ? times.at_if_set(mnfa.since) : json(nullptr)},
        {"networks", std::move(networks)},
        {"hosts", mnfa.hosts},
        {"episodes", mnfa.episodes},
    };
}

}  // namespace

std::vector<std::string> function_names(const std::vector<role>& functions) {
    std::vector<std::string> out;
    out.reserve(functions.size());
    for (auto f : functions) {
        out.emplace_back(to_string(f));
    }
    return out;
}

json host_document(const fleet_parts& s, const host_slot& slot) {
    const auto& h = slot.record();
    const bool subf = h.has_subfunction();
    std::array<heartbeat::net_status, heartbeat::network_count> levels{};
    if (s.monitor != nullptr && h.monitored) {
        if (const auto v = s.monitor->find(h.spec.name)) {
            levels = v->status;
        }
    }
    const auto now = clock::now();
    const auto [recovery_cause, recovery_count] = h.autorecovery_count();
    json doc{
        {"name", h.spec.name},
        {"personality", to_string(h.spec.personality)},
        {"subfunctions", function_names(h.spec.functions)},
        {"administrative", to_string(h.states.administrative)},
        {"operational", to_string(h.states.operational)},
        {"availability", to_string(h.states.availability)},
        {"subfunction_operational",
         subf ? std::string{to_string(h.states.subfunction_operational)} : std::string{}},
        {"subfunction_availability",
         subf ? std::string{to_string(h.states.subfunction_availability)} : std::string{}},
        {"task", h.task},
        {"uptime_s", h.alive && h.alive_count != 0
                         ? h.alive->uptime_s +
                               static_cast<std::uint64_t>(
                                   std::chrono::duration_cast<std::chrono::seconds>(now - h.alive_at).count())
                         : 0},
        {"mgmt_ip", h.spec.mgmt_ip},
        {"cluster_ip", h.spec.cluster_ip},
        {"bmc_type", h.spec.bmc.type == "auto" && !h.bmc_protocol.empty() ? h.bmc_protocol : h.spec.bmc.type},
        {"bmc_configured_type", h.spec.bmc.type},
        {"bmc_accessible", h.has_bmc() && h.bmc_state.accessible},
        {"bmc_error", h.bmc_state.last_error},
        {"power_state", h.has_bmc() ? std::string{to_string(h.bmc_state.power)} : std::string{"unknown"}},
        {"bmc_address", h.spec.bmc.address},
        {"bmc_username", h.spec.bmc.username},
        {"heartbeat", heartbeat::levels_document(levels)},
        {"auto_recovery_disabled", h.auto_recovery_disabled(s.cfg()->autorecovery.threshold)},
        {"autorecovery", {{"cause", to_string(recovery_cause)}, {"count", recovery_count}}},
        {"management", "managed"},
        {"failure_cause", h.cause == failure_cause::none ? std::string{} : std::string{to_string(h.cause)}},
        {"degrade_causes", degrade_names(h.degrade_mask)},
        {"action", std::string{to_string(h.action)}},
        {"boot_id", h.boot_id()},
        {"last_mtcalive_s",
         h.alive_count == 0
             ? json(nullptr)
             : json(std::chrono::duration_cast<std::chrono::seconds>(now - h.alive_at).count())},
        {"this_controller", h.self},
    };
    return doc;
}

namespace {

json discovered_document(const std::string& name, const discovered_host& d) {
    json hb = heartbeat::levels_document({});
    return {
        {"name", name},
        {"personality", d.alive.personality},
        {"subfunctions", d.alive.functions},
        {"administrative", ""},
        {"operational", ""},
        {"availability", ""},
        {"subfunction_operational", ""},
        {"subfunction_availability", ""},
        {"task", "Discovered: not in the inventory"},
        {"uptime_s", d.alive.uptime_s},
        {"mgmt_ip", d.alive.mgmt_ip},
        {"cluster_ip", d.alive.cluster_ip},
        {"bmc_type", "none"},
        {"heartbeat", std::move(hb)},
        {"auto_recovery_disabled", false},
        {"autorecovery", {{"cause", "none"}, {"count", 0}}},
        {"management", "discovered"},
    };
}

}  // namespace

json hosts_document(const fleet_parts& s) {
    std::map<std::string, json> docs;
    for (const auto& [name, h] : s.hosts) {
        docs.emplace(name, host_document(s, *h));
    }
    if (s.monitor != nullptr) {
        for (const auto& v : s.monitor->hosts()) {
            if (s.monitor_only.count(v.name) != 0) {
                docs.emplace(std::string{v.name}, heartbeat::monitor_only_document(v));
            }
        }
    }
    for (const auto& [name, d] : s.discovered) {
        docs.emplace(name, discovered_document(name, d));
    }
    json out = json::array();
    for (auto& [name, doc] : docs) {
        out.push_back(std::move(doc));
    }
    return out;
}

bool find_host_document(const fleet_parts& s, std::string_view name, json& out) {
    if (const auto* h = s.find(name)) {
        out = host_document(s, *h);
        return true;
    }
    if (const auto it = s.monitor_only.find(name); s.monitor != nullptr && it != s.monitor_only.end()) {
        if (const auto v = s.monitor->find(*it)) {
            out = heartbeat::monitor_only_document(*v);
            return true;
        }
    }
    if (const auto it = s.discovered.find(name); it != s.discovered.end()) {
        out = discovered_document(it->first, it->second);
        return true;
    }
    return false;
}

json health_document(const fleet_parts& s) {
    const auto cfg = s.cfg();
    json doc{{"status", "ok"},
             {"controller", cfg->agent.hostname},
             {"hosts", s.hosts.size()},
             {"discovered", s.discovered.size()},
             {"unsaved_hosts", s.log.unsaved().size()},
             {"store_failures", s.log.store_failures()}};
    if (s.monitor != nullptr) {
        doc["heartbeat_periods"] = s.monitor->period();
        doc["late_periods"] = s.monitor->ledger().late_periods();
    }
    if (!s.log.unsaved().empty()) {
        doc["status"] = "degraded";
        doc["reason"] = "the inventory cannot be written; the state is kept in memory and written again";
    }
    return doc;
}

json system_document(const fleet_parts& s) {
    const wall_times times;
    json controllers = json::array();
    for (const auto& [name, slot] : s.hosts) {
        const auto& h = slot->record();
        if (h.spec.personality == role::controller) {
            controllers.push_back({{"name", name}, {"state", states_text(h.states)}, {"self", h.self}});
        }
    }
    return {
        {"mode", to_string(s.policy.mode())},
        {"dor", dor_document(s.policy.dor(), times)},
        {"mnfa", mnfa_document(s.policy.mnfa(), times)},
        {"controllers", std::move(controllers)},
    };
}

std::string metrics_text(const fleet_parts& s) {
    std::string out;
    auto family = [&](std::string_view name, std::string_view type, std::string_view help) {
        out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
    };
    family("mtce_hosts", "gauge", "Managed hosts by administrative, operational and availability state.");
    std::map<std::tuple<std::string_view, std::string_view, std::string_view>, std::size_t> by_state;
    for (const auto& [name, slot] : s.hosts) {
        const auto& h = slot->record();
        ++by_state[{to_string(h.states.administrative), to_string(h.states.operational),
                    to_string(h.states.availability)}];
    }
    for (const auto& [k, n] : by_state) {
        out += fmt::format("mtce_hosts{{administrative=\"{}\",operational=\"{}\",availability=\"{}\"}} {}\n",
                           std::get<0>(k), std::get<1>(k), std::get<2>(k), n);
    }
    family("mtce_hosts_discovered", "gauge", "Hosts that report mtcAlive but are not in the inventory.");
    out += fmt::format("mtce_hosts_discovered {}\n", s.discovered.size());
    family("mtce_alarms_active", "gauge", "Active alarms.");
    out += fmt::format("mtce_alarms_active {}\n", s.log.alarms().size());
    family("mtce_enable_duration_seconds", "histogram", "From unlock (or retry) to enabled.");
    for (std::size_t i = 0; i < enable_stats::bounds.size(); ++i) {
        out += fmt::format("mtce_enable_duration_seconds_bucket{{le=\"{}\"}} {}\n", enable_stats::bounds[i],
                           s.enables.buckets[i]);
    }
    out += fmt::format("mtce_enable_duration_seconds_bucket{{le=\"+Inf\"}} {}\n", s.enables.count);
    out += fmt::format("mtce_enable_duration_seconds_sum {:.3f}\n", s.enables.sum);
    out += fmt::format("mtce_enable_duration_seconds_count {}\n", s.enables.count);
    family("mtce_enable_failures_total", "counter", "Enables (and recoveries) that failed, by cause.");
    for (const auto& [cause, n] : s.enables.failures) {
        out += fmt::format("mtce_enable_failures_total{{cause=\"{}\"}} {}\n", cause, n);
    }
    family("mtce_commands_sent_total", "counter", "Commands sent to host agents (copies included).");
    for (const auto& [name, n] : s.agents.commands_sent()) {
        out += fmt::format("mtce_commands_sent_total{{command=\"{}\"}} {}\n", name, n);
    }
    family("mtce_messages_dropped_total", "counter",
           "mtcAlive, ack and result datagrams dropped by the controller, per network and reason.");
    for (auto net : all_networks) {
        const auto& c = s.agents.inbox().counters(net);
        c.rejected.for_each([&](net::reject_reason r, std::uint64_t n) {
            out += fmt::format("mtce_messages_dropped_total{{network=\"{}\",reason=\"{}\"}} {}\n",
                               to_string(net), net::to_string(r), n);
        });
        out += fmt::format("mtce_messages_dropped_total{{network=\"{}\",reason=\"not_expected\"}} {}\n",
                           to_string(net), c.not_expected);
        out += fmt::format("mtce_messages_dropped_total{{network=\"{}\",reason=\"bad_payload\"}} {}\n",
                           to_string(net), c.bad_payload);
    }
    family("mtce_messages_received_total", "counter",
           "mtcAlive, ack and result datagrams accepted, per network.");
    for (auto net : all_networks) {
        out += fmt::format("mtce_messages_received_total{{network=\"{}\"}} {}\n", to_string(net),
                           s.agents.inbox().counters(net).accepted);
    }
    family("mtce_bmc_hosts", "gauge", "Hosts with a BMC, by what the controller knows of it.");
    std::map<std::string_view, std::size_t> bmc_states{
        {"accessible", 0}, {"unreachable", 0}, {"quarantined", 0}};
    const auto now = clock::now();
    for (const auto& [name, slot] : s.hosts) {
        const auto& h = slot->record();
        if (h.has_bmc()) {
            ++bmc_states[quarantined(h.bmc_state, now) ? "quarantined"
                         : h.bmc_state.accessible      ? "accessible"
                                                       : "unreachable"];
        }
    }
    for (const auto& [state, n] : bmc_states) {
        out += fmt::format("mtce_bmc_hosts{{state=\"{}\"}} {}\n", state, n);
    }
    family("mtce_bmc_operations_total", "counter", "BMC exchanges, by outcome.");
    for (const auto& [result, n] : s.bmcs.operations()) {
        out += fmt::format("mtce_bmc_operations_total{{result=\"{}\"}} {}\n", result, n);
    }
    family("mtce_store_failures_total", "counter", "Inventory writes that failed (retried).");
    out += fmt::format("mtce_store_failures_total {}\n", s.log.store_failures());
    family("mtce_events_total", "counter", "Events recorded in the event log.");
    out += fmt::format("mtce_events_total {}\n", s.log.events_recorded());
    if (s.monitor != nullptr) {
        out += heartbeat::monitor_metrics(*s.monitor);
    }
    return out;
}

json alarms_document(const fleet_parts& s) {
    json out = json::array();
    for (const auto& [key, a] : s.log.alarms()) {
        out.push_back({{"id", a.alarm_id},
                       {"host", a.host},
                       {"severity", a.severity},
                       {"reason", a.reason},
                       {"since", a.since_ms},
                       {"since_text", iso_time(a.since_ms)}});
    }
    return out;
}

json events_document(const fleet_parts& s, std::uint64_t since, std::size_t limit) {
    json out = json::array();
    const auto& log = s.log.events();
    auto it = std::upper_bound(log.begin(), log.end(), since,
                               [](std::uint64_t v, const event_row& e) { return v < e.id; });
    for (; it != log.end() && out.size() < limit; ++it) {
        out.push_back({{"id", it->id},
                       {"time", it->time_ms},
                       {"time_text", iso_time(it->time_ms)},
                       {"host", it->host},
                       {"kind", it->kind},
                       {"text", it->text}});
    }
    return out;
}

}  // namespace mtce::fleet
