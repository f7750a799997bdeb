#include "heartbeat/report.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace mtce::heartbeat {

namespace {
constexpr std::array<network, network_count> networks{network::mgmt, network::cluster};
}  // namespace

nlohmann::json levels_document(const std::array<net_status, network_count>& status) {
    nlohmann::json hb = nlohmann::json::object();
    for (auto net : networks) {
        const auto& s = status[static_cast<std::size_t>(net)];
        hb[std::string{to_string(net)}] = {{"state", to_string(s.state)}, {"misses", s.misses}};
    }
    return hb;
}

nlohmann::json monitor_only_document(const monitored_view& h) {
    bool failed = false;
    bool degraded = false;
    std::vector<std::string_view> lost;
    for (auto net : networks) {
        const auto& s = h.status[static_cast<std::size_t>(net)];
        if (s.state == hb_state::failed) {
            failed = true;
            lost.push_back(to_string(net));
        }
        degraded = degraded || s.state == hb_state::degraded;
    }
    const auto availability = failed ? "failed" : degraded ? "degraded" : "available";
    return {
        {"name", h.name},
        {"personality", to_string(h.personality)},
        {"subfunctions", nlohmann::json::array()},
        {"administrative", "unlocked"},
        {"operational", failed ? "disabled" : "enabled"},
        {"availability", availability},
        {"subfunction_operational", ""},
        {"subfunction_availability", ""},
        {"task", lost.empty() ? std::string{} : fmt::format("Heartbeat Loss ({})", fmt::join(lost, ", "))},
        {"uptime_s", 0},
        {"mgmt_ip", h.address[0]},
        {"cluster_ip", h.address[1]},
        {"bmc_type", "none"},
        {"heartbeat", levels_document(h.status)},
        {"management", "monitor-only"},
        {"auto_recovery_disabled", false},
        {"autorecovery", {{"cause", "none"}, {"count", 0}}},
    };
}

std::string monitor_metrics(const monitor& m) {
    std::string out;
    auto family = [&](std::string_view name, std::string_view type, std::string_view help) {
        out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
    };
    auto per_network = [&](std::string_view name, std::string_view help, auto value) {
        family(name, "counter", help);
        for (auto net : networks) {
            out += fmt::format("{}{{network=\"{}\"}} {}\n", name, to_string(net), value(m.counters(net)));
        }
    };

    family("mtce_heartbeat_hosts", "gauge", "Hosts by heartbeat state, per network.");
    const auto views = m.hosts();
    for (auto net : networks) {
        for (auto state :
             {hb_state::unmonitored, hb_state::ok, hb_state::minor, hb_state::degraded, hb_state::failed}) {
            const auto n = std::count_if(views.begin(), views.end(), [&](const auto& v) {
                return v.status[static_cast<std::size_t>(net)].state == state;
            });
            out += fmt::format("mtce_heartbeat_hosts{{network=\"{}\",state=\"{}\"}} {}\n", to_string(net),
                               to_string(state), n);
        }
    }
    family("mtce_heartbeat_misses", "gauge",
           "Consecutive pulses missed, per host and network (hosts that answer every pulse are left out).");
    for (const auto& v : views) {
        for (auto net : networks) {
            const auto& st = v.status[static_cast<std::size_t>(net)];
            if (st.state != hb_state::unmonitored && st.misses != 0) {
                out += fmt::format("mtce_heartbeat_misses{{host=\"{}\",network=\"{}\"}} {}\n", v.name,
                                   to_string(net), st.misses);
            }
        }
    }
    family("mtce_heartbeat_periods_total", "counter", "Heartbeat periods run.");
    out += fmt::format("mtce_heartbeat_periods_total {}\n", m.period());
    family("mtce_heartbeat_late_periods_total", "counter",
           "Periods that counted no misses because this controller was late.");
    out += fmt::format("mtce_heartbeat_late_periods_total {}\n", m.ledger().late_periods());
    per_network("mtce_heartbeat_requests_sent_total", "Pulse requests sent.",
                [](const auto& c) { return c.requests_sent; });
    per_network("mtce_heartbeat_send_failures_total", "Pulse requests the kernel refused.",
                [](const auto& c) { return c.send_failures; });
    per_network("mtce_heartbeat_replies_total", "Authenticated pulse responses from monitored hosts.",
                [](const auto& c) { return c.replies; });

    family("mtce_heartbeat_events_total", "counter", "Heartbeat events, per network and kind.");
    for (auto net : networks) {
        const auto& c = m.counters(net);
        for (std::size_t k = 0; k < c.events.size(); ++k) {
            out += fmt::format("mtce_heartbeat_events_total{{network=\"{}\",event=\"{}\"}} {}\n",
                               to_string(net), to_string(static_cast<hb_event_kind>(k)), c.events[k]);
        }
    }
    family("mtce_datagrams_dropped_total", "counter", "Heartbeat datagrams dropped, per network and reason.");
    for (auto net : networks) {
        const auto& c = m.counters(net);
        c.rejected.for_each([&](net::reject_reason r, std::uint64_t n) {
            out += fmt::format("mtce_datagrams_dropped_total{{network=\"{}\",reason=\"{}\"}} {}\n",
                               to_string(net), net::to_string(r), n);
        });
        out += fmt::format("mtce_datagrams_dropped_total{{network=\"{}\",reason=\"not_a_response\"}} {}\n",
                           to_string(net), c.not_a_response);
    }
    const auto& r = m.ledger().responses();
    family("mtce_heartbeat_responses_total", "counter", "Authenticated replies by what the accounting did.");
    for (const auto& [name, n] :
         {std::pair{"accepted", r.accepted}, std::pair{"duplicate", r.duplicate},
          std::pair{"wrong_period", r.wrong_period}, std::pair{"unknown_host", r.unknown_host},
          std::pair{"not_monitored", r.not_monitored}}) {
        out += fmt::format("mtce_heartbeat_responses_total{{result=\"{}\"}} {}\n", name, n);
    }
    return out;
}

}  // namespace mtce::heartbeat
