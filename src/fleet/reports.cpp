#include "fleet/reports.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/duration.hpp"
#include "heartbeat/monitor.hpp"

namespace mtce::fleet {

namespace {

/// A discovered host not heard from for this long is forgotten.
constexpr auto discovered_expiry = std::chrono::minutes{10};
constexpr std::size_t max_discovered = 10000;

void on_alive(fleet_parts& fleet, host_slot& slot, net::alive_report r) {
    auto& h = slot.host();
    const auto now = slot.now();
    const auto cfg = fleet.cfg();
    const auto uptime = r.uptime_s;
    const bool new_boot = h.on_report(std::move(r), now);
    if (new_boot) {
        spdlog::info("host {}: reports from a new boot ({})", h.spec.name, h.boot_id());
        slot.log_event("boot", fmt::format("reports from a new boot (uptime {} s)", uptime));
        if (h.recovery == recovery_reason::new_boot) {
            slot.log_event("recovery", "rebooted on its own while in service: it is tested again");
        }
    }
    spdlog::trace("host {}: mtcAlive flags={:#x}", h.spec.name, h.alive_flags());
    if (h.running == job_kind::none) {
        if (h.enabled()) {
            refresh_in_service(slot);
        } else if (const auto a = idle_availability(h.states, /*reachable=*/true);
                   a && *a != h.states.availability) {
            set_oper_avail(slot, h.states.operational, *a, "mtcAlive");
        }
        // The host's own lock must agree with its administrative state.
        if (const auto fix = lock_correction(h.states.administrative, h.alive->flags);
            fix && now - h.last_correction >= cfg->host.mtcalive_period) {
            h.last_correction = now;
            spdlog::info("host {}: reports itself {}; telling it it is {}", h.spec.name,
                         *fix == net::command_kind::lock ? "unlocked" : "locked",
                         to_string(h.states.administrative));
            slot.send({*fix, 0, 0, false, {}, 0, 0});
        }
    }
    slot.notify();
}

}  // namespace

void on_message(fleet_parts& fleet, inbound in) {
    auto* slot = fleet.find(in.sender);
    if (auto* alive = std::get_if<net::alive_report>(&in.body)) {
        if (slot != nullptr) {
            on_alive(fleet, *slot, std::move(*alive));
            return;
        }
        if (fleet.monitor_only.count(in.sender) != 0) {
            return;  // known, heartbeated, not managed
        }
        auto it = fleet.discovered.find(in.sender);
        if (it == fleet.discovered.end()) {
            if (fleet.discovered.size() >= max_discovered) {
                fleet.agents.inbox().counters(in.net).rejected.add(net::reject_reason::unknown_sender);
                return;
            }
            spdlog::info("host {} reports mtcAlive but is not in the inventory: listed as discovered",
                         in.sender);
            fleet.log.log_event(in.sender, "discovered", "reports mtcAlive; not in the inventory");
            it = fleet.discovered.emplace(in.sender, discovered_host{}).first;
        }
        it->second.alive = std::move(*alive);
        it->second.seen = std::chrono::steady_clock::now();
        return;
    }
    if (slot == nullptr) {
        fleet.agents.inbox().counters(in.net).rejected.add(net::reject_reason::unknown_sender);
        return;
    }
    auto& h = slot->host();
    if (auto* ack = std::get_if<net::command_ack>(&in.body)) {
        if (auto r = h.replies.find(ack->id); r != h.replies.end()) {
            r->second.acked = true;
            r->second.ack_error = ack->error;
            slot->notify();
        }
        return;
    }
    auto& result = std::get<net::command_result>(in.body);
    spdlog::info("host {}: {} (id {}) {}{}", h.spec.name, result.name, result.id,
                 result.ok ? "succeeded" : "failed", result.reason.empty() ? "" : ": " + result.reason);
    if (auto r = h.replies.find(result.id); r != h.replies.end()) {
        r->second.acked = true;
        r->second.result = std::move(result);
        slot->notify();
    }
}

void log_notes(fleet_parts& fleet, const std::vector<policy_note>& notes) {
    for (const auto& n : notes) {
        if (n.host.empty()) {
            spdlog::warn("{}", n.text);
        } else if (n.kind != "heartbeat") {
            spdlog::info("host {}: {}", n.host, n.text);
        }
        fleet.log.log_event(n.host, n.kind, n.text);
    }
}

void apply_plan(fleet_parts& fleet, const period_plan& plan) {
    log_notes(fleet, plan.notes);
    if (plan.period_factor && fleet.monitor != nullptr) {
        fleet.monitor->set_period_factor(*plan.period_factor);
    }
    for (auto* h : plan.changed) {
        auto* slot = fleet.find(h->spec.name);
        refresh_in_service(*slot);
        slot->update_alarms();
        slot->notify();
    }
    for (auto* h : plan.hold) {
        if (h->running == job_kind::none) {
            fleet.find(h->spec.name)->set_task(std::string{graceful_recovery_wait});
        }
    }
    for (auto* h : plan.release) {
        if (h->running == job_kind::none && h->task == graceful_recovery_wait) {
            fleet.find(h->spec.name)->set_task({});
        }
    }
    for (auto* h : plan.recover) {
        spdlog::warn("host {}: heartbeat lost; recovering it", h->spec.name);
        fleet.find(h->spec.name)->notify();
    }
}

void on_heartbeat_period(fleet_parts& fleet, std::span<const heartbeat_report> events) {
    auto find = [&fleet](std::string_view name) -> host_record* {
        auto* slot = fleet.find(name);
        return slot == nullptr ? nullptr : &slot->host();
    };
    // Whether the system is standard matters only for events; a quiet period (the usual one) does not scan
    // the hosts for it.
    const bool standard = events.empty() || fleet.standard_system();
    const auto settings = policy_settings::from(*fleet.cfg(), standard);
    apply_plan(fleet, fleet.policy.on_period(events, find, settings, std::chrono::steady_clock::now()));
}

void audit_availability(fleet_parts& fleet, time_point now) {
    const auto cfg = fleet.cfg();
    for (auto& [name, slot] : fleet.hosts) {
        auto& h = slot->host();
        if (h.deleting) {
            continue;
        }
        const bool locked_disabled = h.locked() && !h.enabled();
        if (h.running == job_kind::none || locked_disabled) {
            const auto a = idle_availability(h.states, h.reachable(now, cfg->controller.offline_window));
            if (a && *a != h.states.availability) {
                set_oper_avail(
                    *slot, h.states.operational, *a,
                    *a == avail_state::offline
                        ? fmt::format("no mtcAlive for {}", format_duration(cfg->controller.offline_window))
                        : std::string{"mtcAlive"});
            }
        }
    }
    for (auto it = fleet.discovered.begin(); it != fleet.discovered.end();) {
        it = now - it->second.seen > discovered_expiry ? fleet.discovered.erase(it) : std::next(it);
    }
}

}  // namespace mtce::fleet
