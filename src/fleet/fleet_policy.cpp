#include "fleet/fleet_policy.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace mtce::fleet {

namespace {

using heartbeat::hb_event_kind;
using heartbeat::hb_state;
using heartbeat::network;

constexpr std::array<network, heartbeat::network_count> all_networks{network::mgmt, network::cluster};

void add_once(std::vector<host_record*>& list, host_record* h) {
    if (std::find(list.begin(), list.end(), h) == list.end()) {
        list.push_back(h);
    }
}

}  // namespace

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

policy_settings policy_settings::from(const config& c, bool standard_system) {
    return {c.heartbeat.on_failure, c.mnfa.threshold, c.mnfa.timeout, c.mnfa.backoff_factor, standard_system};
}

std::size_t dor_view::recovered() const {
    return static_cast<std::size_t>(
        std::count_if(hosts.begin(), hosts.end(), [](const host& h) { return h.recovered; }));
}

fleet_mode fleet_policy::mode() const noexcept {
    if (dor_.active) {
        return fleet_mode::dor;
    }
    return mnfa_.active ? fleet_mode::mnfa : fleet_mode::normal;
}

std::size_t fleet_policy::missing_on(network net) const {
    const auto i = static_cast<std::size_t>(net);
    return static_cast<std::size_t>(
        std::count_if(missing_.begin(), missing_.end(), [i](const auto& m) { return m.second.on[i]; }));
}

void fleet_policy::hold(missing_host& m, host_record& h, period_plan& plan) {
    if (m.held || !h.enabled()) {
        return;
    }
    m.held = true;
    add_once(plan.hold, &h);
}

void fleet_policy::enter_mnfa(const policy_settings& s, time_point now, network net, period_plan& plan,
                              const std::function<host_record*(std::string_view)>& find) {
    mnfa_.active = true;
    mnfa_.since = now;
    recovered_early_ = 0;
    ++mnfa_.episodes;
    plan.period_factor = s.mnfa_backoff_factor;
    for (auto& [name, m] : missing_) {
        if (auto* h = find(name)) {
            hold(m, *h, plan);
        }
    }
    plan.notes.push_back(
        {"", "mnfa",
         fmt::format(
             "Multi-node failure avoidance entered: {} hosts miss heartbeats on the {} network at once "
             "(threshold {}); no host is failed while the network is suspected, the heartbeat period is "
             "multiplied by {}{}",
             missing_on(net), heartbeat::to_string(net), s.mnfa_threshold, s.mnfa_backoff_factor,
             s.mnfa_timeout.count() > 0
                 ? fmt::format(", hosts still missing after {} s are failed",
                               std::chrono::duration_cast<std::chrono::seconds>(s.mnfa_timeout).count())
                 : std::string{})});
}

void fleet_policy::exit_mnfa(bool timed_out, period_plan& plan,
                             const std::function<host_record*(std::string_view)>& find) {
    std::size_t recovered = 0;
    std::size_t still_missing = 0;
    for (auto it = missing_.begin(); it != missing_.end();) {
        auto& [name, m] = *it;
        auto* h = find(name);
        const bool missing = m.on[0] || m.on[1];
        if (h != nullptr && m.held) {
            m.held = false;
            // Every held host is recovered: gracefully when it answers from the boot it was enabled in, else
            // as a host that lost communication (failed, and enabled in full).
            if (h->recovery_due(recovery_reason::heartbeat_loss)) {
                add_once(plan.recover, h);
                ++recovered;
                still_missing += missing ? 1 : 0;
            } else {
                add_once(plan.release, h);
            }
        }
        it = missing ? std::next(it) : missing_.erase(it);
    }
    mnfa_.active = false;
    mnfa_.hosts.clear();
    plan.period_factor = 1;
    plan.notes.push_back(
        {"", "mnfa",
         timed_out
             ? fmt::format("Multi-node failure avoidance timed out: {} held hosts recovered ({} of them "
                           "back before), {} still missing heartbeats; the heartbeat period is restored",
                           recovered + recovered_early_, recovered_early_, still_missing)
             : fmt::format("Multi-node failure avoidance exited: the network is back; {} held hosts "
                           "recovered gracefully ({} of them back before); the heartbeat period is restored",
                           recovered + recovered_early_, recovered_early_)});
}

period_plan fleet_policy::on_period(std::span<const heartbeat_report> events,
                                    const std::function<host_record*(std::string_view)>& find,
                                    const policy_settings& s, time_point now) {
    period_plan plan;
    const bool avoid = s.action == failure_action::fail || s.action == failure_action::degrade;
    if (mnfa_.active && !avoid) {
        plan = cancel_mnfa(find, fmt::format("heartbeat.failure_action is now {}", to_string(s.action)));
    }
    // Hosts that left the heartbeat (locked, deleted, being recovered) are no longer missing.
    for (auto it = missing_.begin(); it != missing_.end();) {
        auto* h = find(it->first);
        const bool gone = h == nullptr || !h->monitored || h->admin_in_effect() == admin_state::locked;
        if (gone && it->second.held && h != nullptr) {
            add_once(plan.release, h);
        }
        it = gone ? missing_.erase(it) : std::next(it);
    }
    std::optional<network> crossed;  // a network on which the threshold was reached this period
    for (const auto& [name, e] : events) {
        auto* h = find(name);
        if (h == nullptr) {
            continue;
        }
        const auto i = static_cast<std::size_t>(e.net);
        const auto bit = heartbeat_degrade_bit(e.net);
        auto& level = h->heartbeat_alarm[i];
        const auto net = heartbeat::to_string(e.net);
        const bool unlocked = h->admin_in_effect() == admin_state::unlocked;
        // A controller's cluster-network loss on a standard system degrades only (reference §6).
        const bool degrade_only =
            s.action == failure_action::degrade ||
            (s.standard_system && e.net == network::cluster && h->spec.personality == role::controller);
        switch (e.kind) {
        case hb_event_kind::minor_set:
        case hb_event_kind::degrade_set:
        case hb_event_kind::loss:
            if (avoid && unlocked) {
                auto& m = missing_[std::string{name}];
                if (!m.on[i]) {
                    m.on[i] = true;
                    if (mnfa_.active) {
                        hold(m, *h, plan);
                    } else if (missing_on(e.net) >= s.mnfa_threshold) {
                        crossed = e.net;
                    }
                }
            }
            break;
        case hb_event_kind::minor_clear:
        case hb_event_kind::degrade_clear:
        case hb_event_kind::recovered:
            if (auto it = missing_.find(name); it != missing_.end()) {
                it->second.on[i] = false;
                if (!it->second.on[0] && !it->second.on[1]) {
                    // Back on every network: a held host leaves the pool and is recovered gracefully.
                    if (it->second.held) {
                        if (h->recovery_due(recovery_reason::heartbeat_loss)) {
                            add_once(plan.recover, h);
                            ++recovered_early_;
                        } else {
                            add_once(plan.release, h);
                        }
                    }
                    missing_.erase(it);
                }
            }
            break;
        }
        switch (e.kind) {
        case hb_event_kind::degrade_set:
            if (s.action == failure_action::none) {
                continue;
            }
            if (level != hb_state::failed) {
                level = hb_state::degraded;
            }
            if (avoid) {
                h->degrade_mask |= bit;
            }
            plan.notes.push_back(
                {h->spec.name, "heartbeat", fmt::format("degraded on {} ({} misses)", net, e.misses)});
            break;
        case hb_event_kind::degrade_clear:
            level = hb_state::unmonitored;
            h->degrade_mask &= ~bit;
            plan.notes.push_back({h->spec.name, "heartbeat", fmt::format("degrade cleared on {}", net)});
            break;
        case hb_event_kind::loss:
            ++h->losses;  // a soak fails on any loss, whatever the action
            if (s.action == failure_action::none) {
                continue;
            }
            level = hb_state::failed;
            if (avoid) {
                h->degrade_mask |= bit;
            }
            if (s.action != failure_action::fail || degrade_only) {
                plan.notes.push_back(
                    {h->spec.name, "heartbeat",
                     fmt::format("lost on {} ({} misses); {}", net, e.misses,
                                 s.action == failure_action::alarm ? "alarmed only (heartbeat.failure_action)"
                                                                   : "degraded only")});
                break;
            }
            plan.notes.push_back(
                {h->spec.name, "heartbeat", fmt::format("lost on {} ({} misses)", net, e.misses)});
            break;
        case hb_event_kind::recovered:
            level = hb_state::unmonitored;
            plan.notes.push_back({h->spec.name, "heartbeat", fmt::format("recovered on {}", net)});
            break;
        case hb_event_kind::minor_set:
        case hb_event_kind::minor_clear:
            continue;
        }
        add_once(plan.changed, h);
    }
    if (crossed && !mnfa_.active) {
        enter_mnfa(s, now, *crossed, plan, find);
    }
    // Lone losses (no avoidance active or entered) recover their hosts.
    if (!mnfa_.active && s.action == failure_action::fail) {
        for (const auto& [name, e] : events) {
            auto* h = find(name);
            const bool degrade_only = s.standard_system && e.net == network::cluster && h != nullptr &&
                                      h->spec.personality == role::controller;
            if (h != nullptr && e.kind == hb_event_kind::loss && !degrade_only &&
                h->recovery_due(recovery_reason::heartbeat_loss)) {
                add_once(plan.recover, h);
            }
        }
    }
    if (mnfa_.active) {
        const bool below = std::all_of(all_networks.begin(), all_networks.end(),
                                       [&](network n) { return missing_on(n) < s.mnfa_threshold; });
        const bool timed_out = s.mnfa_timeout.count() > 0 && now - mnfa_.since >= s.mnfa_timeout;
        if (below || timed_out) {
            exit_mnfa(!below, plan, find);
        }
    }
    mnfa_.missing = {missing_on(network::mgmt), missing_on(network::cluster)};
    if (mnfa_.active) {
        mnfa_.hosts.clear();
        for (const auto& [name, m] : missing_) {
            if (m.held) {
                mnfa_.hosts.push_back(name);
            }
        }
    }
    return plan;
}

period_plan fleet_policy::cancel_mnfa(const std::function<host_record*(std::string_view)>& find,
                                      std::string_view why) {
    period_plan plan;
    if (!mnfa_.active) {
        return plan;
    }
    for (auto& [name, m] : missing_) {
        if (auto* h = find(name); h != nullptr && m.held) {
            add_once(plan.release, h);
        }
        m.held = false;
    }
    mnfa_.active = false;
    mnfa_.hosts.clear();
    plan.period_factor = 1;
    plan.notes.push_back({"", "mnfa",
                          fmt::format("Multi-node failure avoidance cancelled ({}); the heartbeat period is "
                                      "restored",
                                      why)});
    return plan;
}

// ---------------------------------------------------------------------------------------------------------
// Dead Office Recovery

std::string fleet_policy::begin_dor(time_point now, time_point deadline,
                                    const std::vector<std::pair<std::string, std::string>>& hosts,
                                    std::string_view why) {
    dor_ = {};
    dor_.active = !hosts.empty();
    dor_.started = now;
    dor_.deadline = deadline;
    std::vector<std::string> listed;
    for (const auto& [name, state] : hosts) {
        listed.push_back(fmt::format("{} {}", name, state));
        dor_.hosts.push_back({name, state, false, false});
    }
    if (!dor_.active) {
        dor_.ended = now;
    }
    const auto window = std::chrono::duration_cast<std::chrono::seconds>(deadline - now).count();
    return fmt::format(
        "Dead Office Recovery is ACTIVE ({}): recovering {} unlocked hosts within {} s, 0 of {} "
        "recovered: {}",
        why, dor_.hosts.size(), window, dor_.hosts.size(), fmt::join(listed, ", "));
}

std::optional<time_point> fleet_policy::dor_deadline() const noexcept {
    if (!dor_.active) {
        return std::nullopt;
    }
    return dor_.deadline;
}

std::vector<policy_note> fleet_policy::dor_check_in(std::string_view name, bool recovered, std::string state,
                                                    time_point now) {
    std::vector<policy_note> notes;
    if (!dor_.active) {
        return notes;
    }
    auto it =
        std::find_if(dor_.hosts.begin(), dor_.hosts.end(), [&](const auto& h) { return h.name == name; });
    if (it == dor_.hosts.end() || it->checked_in) {
        return notes;
    }
    it->checked_in = true;
    it->recovered = recovered;
    it->state = std::move(state);
    const auto seconds = std::chrono::duration<double>(now - dor_.started).count();
    notes.push_back(
        {it->name, "dor",
         fmt::format("{} after the power loss, {:.1f} s into the recovery ({}): {} of {} recovered",
                     recovered ? "recovered" : "FAILED", seconds, it->state, dor_.recovered(),
                     dor_.hosts.size())});
    const bool all_in =
        std::all_of(dor_.hosts.begin(), dor_.hosts.end(), [](const auto& h) { return h.checked_in; });
    if (all_in) {
        auto end = close_dor(now, /*timed_out=*/false);
        notes.insert(notes.end(), end.begin(), end.end());
    }
    return notes;
}

std::vector<policy_note> fleet_policy::dor_forget(std::string_view name, time_point now) {
    std::vector<policy_note> notes;
    if (!dor_.active) {
        return notes;
    }
    const auto before = dor_.hosts.size();
    std::erase_if(dor_.hosts, [&](const auto& h) { return h.name == name && !h.checked_in; });
    if (dor_.hosts.size() != before &&
        std::all_of(dor_.hosts.begin(), dor_.hosts.end(), [](const auto& h) { return h.checked_in; })) {
        notes = close_dor(now, /*timed_out=*/false);
    }
    return notes;
}

std::vector<policy_note> fleet_policy::dor_tick(time_point now) {
    if (!dor_.active || now < dor_.deadline) {
        return {};
    }
    return close_dor(now, /*timed_out=*/true);
}

std::vector<policy_note> fleet_policy::close_dor(time_point now, bool timed_out) {
    dor_.active = false;
    dor_.ended = now;
    const auto seconds = std::chrono::duration<double>(now - dor_.started).count();
    std::vector<std::string> late;
    std::vector<std::string> failed;
    for (auto& h : dor_.hosts) {
        if (!h.checked_in) {
            late.push_back(h.name);
        } else if (!h.recovered) {
            failed.push_back(h.name);
        }
    }
    std::string text =
        timed_out ? fmt::format("Dead Office Recovery Timeout after {:.1f} s: {} of {} hosts recovered",
                                seconds, dor_.recovered(), dor_.hosts.size())
                  : fmt::format("Dead Office Recovery complete in {:.1f} s: {} of {} hosts recovered",
                                seconds, dor_.recovered(), dor_.hosts.size());
    if (!late.empty()) {
        text +=
            fmt::format("; not back: {} (the usual rules apply to them from now on)", fmt::join(late, ", "));
    }
    if (!failed.empty()) {
        text += fmt::format("; failed: {}", fmt::join(failed, ", "));
    }
    return {{"", "dor", std::move(text)}};
}

}  // namespace mtce::fleet
