#include "fleet/requests.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "fleet/bmc_policy.hpp"
#include "fleet/reports.hpp"
#include "fleet/views.hpp"
#include "heartbeat/monitor.hpp"

namespace mtce::fleet {

namespace {

using api::outcome;
using api::result;

outcome not_found(std::string_view name) {
    return outcome::failure(result::not_found, fmt::format("no host named {} in the inventory", name));
}

/// What an API request already in progress is doing to `h`, if one is: no other change of it is taken then.
std::optional<std::string_view> being_changed(const host_record& h) {
    if (h.deleting) {
        return "it is being deleted";
    }
    if (h.modifying) {
        return "its BMC is being changed";
    }
    if (h.being_saved) {
        return "another request for it is being saved";
    }
    return std::nullopt;
}

admission_view view_of(const host_record& h) {
    admission_view v;
    v.name = h.spec.name;
    v.administrative = h.states.administrative;
    v.operational = h.states.operational;
    v.personality = h.spec.personality;
    v.self = h.self;
    v.has_bmc = h.has_bmc();
    v.in_progress = h.deleting ? host_action::remove : h.action;
    return v;
}

}  // namespace

asio::awaitable<outcome> add_host(fleet_parts& fleet, api::add_host_request request) {
    auto spec = validate_host(request);
    if (!spec) {
        co_return outcome::failure(result::invalid, spec.error());
    }
    const std::string name = spec->name;
    if (fleet.monitor_only.count(name) != 0) {
        co_return outcome::failure(
            result::conflict,
            fmt::format("host {} is listed in controller.hosts (heartbeat only); remove it there first",
                        name));
    }
    if (fleet.find(name) != nullptr || fleet.adding.count(name) != 0) {
        co_return outcome::failure(result::conflict, fmt::format("host {} already exists", name));
    }
    for (const auto& [other, slot] : fleet.hosts) {
        const auto& h = slot->record();
        for (const auto* address : {&spec->mgmt_ip, &spec->cluster_ip}) {
            if (!address->empty() && (*address == h.spec.mgmt_ip || *address == h.spec.cluster_ip)) {
                co_return outcome::failure(
                    result::conflict, fmt::format("address {} is already used by host {}", *address, other));
            }
        }
    }
    host_record h;
    h.spec = std::move(*spec);
    h.states = {};  // locked-disabled-offline until it reports
    const auto cfg = fleet.cfg();
    const auto now = std::chrono::steady_clock::now();
    if (auto d = fleet.discovered.find(name); d != fleet.discovered.end()) {
        h.alive = d->second.alive;
        h.alive_at = d->second.seen;
        h.alive_count = 1;
        if (h.reachable(now, cfg->controller.offline_window)) {
            h.states.availability = avail_state::online;
        }
    } else {
        h.alive_at = now - cfg->controller.offline_window;  // not heard from yet
    }
    fleet.adding.insert(name);
    // g++ 12 mishandles a lambda temporary inside a co_await expression (it is relocated bitwise, and a
    // string captured in it then points into the old place): every store call takes a named lambda.
    auto insert = [row = row_of(h), password = request.bmc_password](inventory& inv) {
        return inv.insert_host(row, password);
    };
    const auto saved = co_await fleet.log.db()->call(std::move(insert));
    fleet.adding.erase(name);
    if (!saved) {
        co_return outcome::failure(
            saved.error().code == store_errc::duplicate ? result::conflict : result::not_saved,
            saved.error().message);
    }
    fleet.discovered.erase(name);
    if (h.has_bmc()) {
        h.bmc_password = request.bmc_password;
        h.bmc_state = new_bmc_health(now);
    }
    auto& slot = *fleet.hosts.emplace(name, std::make_unique<host_slot>(fleet, std::move(h))).first->second;
    const auto& added = slot.record();
    spdlog::info("host {}: added ({} {}, mgmt {}{})", name, to_string(added.spec.personality),
                 fmt::join(function_names(added.spec.functions), ","), added.spec.mgmt_ip,
                 added.spec.cluster_ip.empty() ? "" : ", cluster " + added.spec.cluster_ip);
    fleet.log.log_event(name, "added",
                        fmt::format("added as a {} (locked)", to_string(added.spec.personality)));
    slot.update_alarms();
    slot.start();
    co_return outcome::success(host_document(fleet, slot).dump());
}

asio::awaitable<outcome> modify_host(fleet_parts& fleet, std::string name, api::modify_host_request request) {
    auto* slot = fleet.find(name);
    if (slot == nullptr) {
        co_return not_found(name);
    }
    name = slot->record().spec.name;  // as the inventory spells it
    auto& h = slot->host();
    if (auto busy = being_changed(h)) {
        co_return outcome::failure(result::refused,
                                   fmt::format("cannot modify {}: {}; try again", name, *busy));
    }
    auto change = modify_bmc(h.spec.bmc, h.bmc_password, request);
    if (!change) {
        co_return outcome::failure(result::invalid, change.error());
    }
    if (change->bmc == h.spec.bmc && change->password == h.bmc_password) {
        co_return outcome::success(host_document(fleet, *slot).dump());
    }
    const auto busy_job = h.has_bmc() ? bmc_holder(h.running, h.finishing, h.request) : job_kind::none;
    if (busy_job != job_kind::none) {
        co_return outcome::failure(
            result::refused, fmt::format("cannot modify {}: its {} is using the BMC; try again when it ends",
                                         name, to_string(busy_job)));
    }
    // The BMC audit stops and a job's exchange in flight ends before the BMC changes: nothing talks to the
    // BMC while the change is saved, and nothing uses the old driver after it. The audit is our own task,
    // cancelled: it ends at its next await (its exchange with the BMC), so that wait needs no deadline. A
    // job's exchange is bounded by the drivers' deadlines; the wait for it by a little more than that.
    h.modifying = true;
    co_await slot->stop_bmc_audit();
    const auto cfg = fleet.cfg();
    const auto& timing = cfg->bmc;
    const auto deadline =
        slot->now() + 2 * (timing.request_timeout + 8 * timing.backoff) * (timing.retries + 1);
    const bool held = co_await fleet.bmcs.acquire(*slot, deadline);
    if (!held) {
        h.modifying = false;
        slot->start_bmc_audit();
        co_return outcome::failure(result::refused,
                                   fmt::format("cannot modify {}: its BMC stayed busy; try again", name));
    }
    const bmc_lease lease{*slot};
    struct bmc_side {
        bmc_spec spec;
        std::string password;
        std::string protocol;
    };
    const bmc_side before{h.spec.bmc, h.bmc_password, h.bmc_protocol};
    const auto put = [&h](bmc_side side) {
        h.spec.bmc = std::move(side.spec);
        h.bmc_password = std::move(side.password);
        h.bmc_protocol = std::move(side.protocol);
    };
    // In memory first: a save of this host made while this one is on its way carries the new BMC, and the
    // store writes in order. The protocol is learned again.
    put({change->bmc, change->password, {}});
    auto update = [row = row_of(h), password = change->password](inventory& inv) {
        return inv.update_host(row, password);
    };
    const auto saved = co_await fleet.log.db()->call(std::move(update));
    if (!saved) {
        put(before);
        slot->save();
    } else {
        slot->driver().reset();
        h.bmc_caps = {};
        h.bmc_state = new_bmc_health(slot->now());
        h.bmc_alarm = false;
    }
    h.modifying = false;
    slot->update_alarms();
    slot->start_bmc_audit();
    slot->notify();
    if (!saved) {
        co_return outcome::failure(result::not_saved,
                                   fmt::format("cannot modify {}: {}", name, saved.error().message));
    }
    const auto& bmc = h.spec.bmc;
    const auto what = h.has_bmc() ? fmt::format("{} at {} as {}{}", bmc.type, bmc.address, bmc.username,
                                                bmc.verify_tls ? "" : " (certificate not verified)")
                                  : std::string{"none"};
    spdlog::info("host {}: BMC changed to {}", name, what);
    slot->log_event("bmc", fmt::format("BMC changed to {}", what));
    co_return outcome::success(host_document(fleet, *slot).dump());
}

asio::awaitable<outcome> delete_host(fleet_parts& fleet, std::string name) {
    auto* slot = fleet.find(name);
    if (slot == nullptr) {
        co_return not_found(name);
    }
    name = slot->record().spec.name;  // as the inventory spells it
    auto& h = slot->host();
    if (auto why = refusal(view_of(h), host_action::remove, fleet.view())) {
        co_return outcome::failure(result::refused, fmt::format("cannot delete {}: {}", name, *why));
    }
    if (auto busy = being_changed(h)) {
        co_return outcome::failure(result::refused,
                                   fmt::format("cannot delete {}: {}; try again", name, *busy));
    }
    h.deleting = true;
    // The host's own tasks, cancelled: each ends at its next await (the BMC drivers and child processes stop
    // at once). The host may not be freed while one still holds it, so this waits for them.
    co_await slot->stop();
    auto remove = [name](inventory& inv) { return inv.remove_host(name); };
    const auto removed = co_await fleet.log.db()->call(std::move(remove));
    if (!removed) {
        h.deleting = false;
        slot->start();
        co_return outcome::failure(result::not_saved,
                                   fmt::format("cannot delete {}: {}", name, removed.error().message));
    }
    slot->stop_heartbeat();
    fleet.agents.inbox().forget(name);
    fleet.log.forget_alarms(name);
    fleet.hosts.erase(name);
    spdlog::info("host {}: deleted", name);
    fleet.log.log_event(name, "deleted", "deleted from the inventory");
    log_notes(fleet, fleet.policy.dor_forget(name, std::chrono::steady_clock::now()));
    co_return outcome::success();
}

asio::awaitable<outcome> act(fleet_parts& fleet, std::string name, std::string action_text) {
    const auto action = parse_host_action(action_text);
    if (!action || *action == host_action::remove) {
        co_return outcome::failure(
            result::invalid, fmt::format("unknown action '{}' (lock, force-lock, unlock, reboot, reset, "
                                         "power-on, power-off, power-cycle, reinstall)",
                                         action_text));
    }
    auto* slot = fleet.find(name);
    if (slot == nullptr) {
        co_return not_found(name);
    }
    name = slot->record().spec.name;  // as the inventory spells it
    auto& h = slot->host();
    if (auto why = refusal(view_of(h), *action, fleet.view())) {
        co_return outcome::failure(result::refused, fmt::format("cannot {} {}: {}", action_text, name, *why));
    }
    if (auto busy = being_changed(h)) {
        co_return outcome::failure(result::refused,
                                   fmt::format("cannot {} {}: {}; try again", action_text, name, *busy));
    }
    // The request and the administrative state it sets are durable before they are acknowledged. Until
    // then the fleet's rules count the new state (two controllers locked at once cannot both pass the "only
    // enabled controller" check), and delete, modify and other actions of this host wait.
    auto row = row_of(h);
    row.states.administrative = admin_after(h.states.administrative, *action);
    row.action = *action;
    h.being_saved = host_record::pending_action{row.states.administrative, row.action};
    auto update = [row](inventory& inv) { return inv.update_host(row); };
    const auto saved = co_await fleet.log.db()->call(std::move(update));
    h.being_saved.reset();
    if (!saved) {
        slot->save();  // a write made meanwhile carried the request: undo it on disk too
        co_return outcome::failure(
            result::not_saved, fmt::format("cannot {} {}: the request could not be saved: {}", action_text,
                                           name, saved.error().message));
    }
    auto st = h.states;
    st.administrative = row.states.administrative;
    h.action = *action;
    h.request = *action;
    if (preempted_by(h.running, *action)) {
        h.preempt = true;
    }
    slot->log_event("action", fmt::format("{} accepted", action_text));
    slot->set_states(st, fmt::format("{} requested", action_text));
    if (st.administrative == admin_state::locked) {
        // Dead Office Recovery does not wait for a host a person took out of service.
        log_notes(fleet, fleet.policy.dor_forget(name, slot->now()));
    }
    slot->notify();
    co_return outcome::success(
        nlohmann::json{{"host", name}, {"action", action_text}, {"accepted", true}}.dump());
}

}  // namespace mtce::fleet
