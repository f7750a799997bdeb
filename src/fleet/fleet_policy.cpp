#include "fleet/fleet_policy.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace mtce::fleet {

std::string_view to_string(fleet_mode m) noexcept {
    switch (m) {
    case fleet_mode::normal:
        return "normal";
    case fleet_mode::dor:
        return "dor";
    case fleet_mode::mnfa:
        return "mnfa";
    }
    return "unknown";
}

std::size_t dor_view::recovered() const {
    return static_cast<std::size_t>(
        std::count_if(hosts.begin(), hosts.end(), [](const host& h) { return h.recovered; }));
}

period_plan fleet_policy::on_period(std::span<const heartbeat_report> events,
                                    const std::function<host_record*(std::string_view)>& find) {
    using heartbeat::hb_event_kind;
    using heartbeat::hb_state;
    period_plan plan;
    for (const auto& [name, e] : events) {
        auto* h = find(name);
        if (h == nullptr) {
            continue;
        }
        const auto bit = heartbeat_degrade_bit(e.net);
        auto& level = h->heartbeat_alarm[static_cast<std::size_t>(e.net)];
        const auto net = heartbeat::to_string(e.net);
        switch (e.kind) {
        case hb_event_kind::degrade_set:
            if (level != hb_state::failed) {
                level = hb_state::degraded;
            }
            h->degrade_mask |= bit;
            plan.notes.emplace_back(name, fmt::format("degraded on {} ({} misses)", net, e.misses));
            break;
        case hb_event_kind::degrade_clear:
            level = hb_state::unmonitored;
            h->degrade_mask &= ~bit;
            plan.notes.emplace_back(name, fmt::format("degrade cleared on {}", net));
            break;
        case hb_event_kind::loss:
            level = hb_state::failed;
            ++h->losses;
            plan.notes.emplace_back(name, fmt::format("lost on {} ({} misses)", net, e.misses));
            if (h->recovery_due(recovery_reason::heartbeat_loss) &&
                std::find(plan.recover.begin(), plan.recover.end(), h) == plan.recover.end()) {
                plan.recover.push_back(h);
            }
            break;
        case hb_event_kind::recovered:
            level = hb_state::unmonitored;
            plan.notes.emplace_back(name, fmt::format("recovered on {}", net));
            break;
        case hb_event_kind::minor_set:
        case hb_event_kind::minor_clear:
            continue;  // multi-node failure avoidance counts these (not yet)
        }
        if (std::find(plan.changed.begin(), plan.changed.end(), h) == plan.changed.end()) {
            plan.changed.push_back(h);
        }
    }
    return plan;
}

}  // namespace mtce::fleet
