// The fleet manager composed: the parts (journal, agent link, BMC access, heartbeat monitor, policy, the
// hosts' slots) wired together, opened, started and stopped. Behaviour lives in the parts: jobs/ (the
// lifecycles), reports.cpp (what hosts tell), requests.cpp (what the API asks), views.cpp (what it shows).
#include "fleet/fleet.hpp"

#include <algorithm>
#include <map>

#include <asio/experimental/as_tuple.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/task_group.hpp"
#include "fleet/alarms.hpp"
#include "fleet/epoch.hpp"
#include "fleet/parts.hpp"
#include "fleet/reports.hpp"
#include "fleet/requests.hpp"
#include "fleet/views.hpp"
#include "heartbeat/monitor.hpp"

namespace mtce::fleet {

namespace {

using heartbeat::network;
constexpr auto availability_audit_period = std::chrono::milliseconds{500};
/// Failed inventory writes are made again every this many audits (10 s).
constexpr std::uint64_t unsaved_retry_ticks = 20;

/// The hosts' messages on one network, until cancelled; throws if receiving fails for good. (A function, not
/// a lambda: a coroutine's parameters live in its frame, a lambda's captures do not.)
asio::awaitable<void> receive_messages(fleet_parts& s, network net) {
    auto handler = [&s](inbound in) { on_message(s, std::move(in)); };
    const auto ec = co_await s.agents.receive(net, handler);
    if (ec) {
        throw std::system_error{ec, fmt::format("controller ({}): receiving host messages", to_string(net))};
    }
}

/// The availability audit, and the writes to make again, until cancelled.
asio::awaitable<void> audit_loop(fleet_parts& s) {
    asio::steady_timer timer{s.ex};
    for (std::uint64_t tick = 1;; ++tick) {
        timer.expires_after(availability_audit_period);
        co_await timer.async_wait(asio::use_awaitable);  // throws when cancelled: the fleet stops
        const auto now = std::chrono::steady_clock::now();
        audit_availability(s, now);
        log_notes(s, s.policy.dor_tick(now));
        if (tick % unsaved_retry_ticks == 0 && !s.log.unsaved().empty()) {
            s.log.retry_unsaved([&s](std::string_view name) -> const host_record* {
                const auto* slot = s.find(name);
                return slot == nullptr ? nullptr : &slot->record();
            });
        }
    }
}

}  // namespace

/// The fleet's own tasks (the hosts' are in their slots).
class fleet_tasks {
public:
    explicit fleet_tasks(asio::any_io_executor ex) : group{std::move(ex), "fleet manager"} {}
    task_group group;
};

void enable_stats::observe(double seconds) {
    ++count;
    sum += seconds;
    for (std::size_t i = 0; i < bounds.size(); ++i) {
        if (seconds <= bounds[i]) {
            ++buckets[i];
        }
    }
}

host_slot* fleet_parts::find(std::string_view name) {
    const auto it = hosts.find(name);
    return it == hosts.end() ? nullptr : it->second.get();
}

const host_slot* fleet_parts::find(std::string_view name) const {
    const auto it = hosts.find(name);
    return it == hosts.end() ? nullptr : it->second.get();
}

fleet_view fleet_parts::view() const {
    fleet_view v;
    for (const auto& [name, slot] : hosts) {
        const auto& h = slot->record();
        if (h.spec.personality != role::controller) {
            continue;
        }
        ++v.controllers;
        if (h.admin_in_effect() == admin_state::unlocked && h.enabled()) {
            ++v.enabled_controllers;
        }
    }
    return v;
}

bool fleet_parts::standard_system() const {
    return std::none_of(hosts.begin(), hosts.end(), [](const auto& entry) {
        const auto& h = entry.second->record();
        return h.spec.personality == role::controller && h.has_subfunction();
    });
}

namespace {

/// Dead Office Recovery (design §7): this controller started less than dor.detect_s after its host booted,
/// so the site lost power; every unlocked host is awaited in a window, and is tested again once it is back.
void begin_dead_office_recovery(fleet_parts& s, std::chrono::seconds uptime, time_point now) {
    const auto cfg = s.cfg();
    if (cfg->dor.detect_s == 0 || uptime >= std::chrono::seconds{cfg->dor.detect_s}) {
        return;
    }
    std::vector<std::pair<std::string, std::string>> listed;
    for (const auto& [name, slot] : s.hosts) {
        const auto& h = slot->record();
        if (h.admin_in_effect() == admin_state::unlocked) {
            listed.emplace_back(name, states_text(h.states));
        }
    }
    if (listed.empty()) {
        spdlog::info(
            "this controller has been up {} s (< dor.detect_s {} s), but no host is unlocked: no Dead "
            "Office Recovery",
            uptime.count(), cfg->dor.detect_s);
        return;
    }
    // One more second per unlocked host; an all-in-one system's controllers configure their worker
    // subfunction before their heartbeat can start, so they get a window of their own.
    const auto window = s.standard_system()
                            ? std::chrono::seconds{cfg->dor.timeout_s} + std::chrono::seconds{listed.size()}
                            : std::chrono::seconds{cfg->dor.aio_timeout_s};
    const auto banner = s.policy.begin_dor(
        now, now + window, listed,
        fmt::format("this controller has been up {} s, less than dor.detect_s {} s: the site lost power",
                    uptime.count(), cfg->dor.detect_s));
    log_notes(s, {{"", "dor", banner}});
}

}  // namespace

fleet_manager::fleet_manager(const asio::any_io_executor& ex, config_store& config, net::wire_sender& wire,
                             heartbeat::monitor* monitor)
    : parts_{std::make_unique<fleet_parts>(ex, config, wire, monitor)},
      tasks_{std::make_unique<fleet_tasks>(ex)} {}

fleet_manager::~fleet_manager() = default;

void fleet_manager::use_bmc(bmc_factory factory) {
    parts_->bmcs.use(std::move(factory));
}

void fleet_manager::open(std::chrono::seconds controller_uptime) {
    auto& s = *parts_;
    const auto cfg = s.cfg();
    for (const auto& h : cfg->controller.hosts) {
        s.monitor_only.insert(h.name);
    }
    auto db = inventory::open(cfg->controller.state_dir, cfg->controller.bmc_key_file);
    if (!db) {
        throw std::runtime_error{db.error().message};
    }
    auto rows = db->load_hosts();
    if (!rows) {
        throw std::runtime_error{rows.error().message};
    }
    auto alarms = db->alarms();
    if (!alarms) {
        throw std::runtime_error{alarms.error().message};
    }
    auto recent = db->last_events(journal::event_window);
    if (!recent) {
        throw std::runtime_error{recent.error().message};
    }
    // A new term: commands of the earlier ones are refused by every host that has seen one of this term.
    inventory_epoch epochs{*db};
    const auto epoch = epochs.begin_term();
    if (!epoch) {
        throw std::runtime_error{epoch.error()};
    }
    s.agents.set_epoch(*epoch);
    spdlog::info("fleet: controller epoch {}", *epoch);
    const auto now = std::chrono::steady_clock::now();
    for (auto& row : *rows) {
        if (s.monitor_only.count(row.spec.name) != 0) {
            spdlog::warn("host {} is in the inventory and in controller.hosts: it is managed", row.spec.name);
            s.monitor_only.erase(row.spec.name);
        }
        host_record h;
        h.spec = std::move(row.spec);
        h.states = row.states;
        h.task = std::move(row.task);
        h.action = row.action;
        h.cause = row.cause;
        h.failure_counts = std::move(row.failure_counts);
        h.self = h.spec.name == cfg->agent.hostname;
        h.alive_at = now;  // one window to report before an idle host is called offline
        h.adopting = true;
        h.bmc_protocol = std::move(row.bmc_protocol);
        if (h.self && h.enabled() && h.cause != failure_cause::none) {
            h.degrade_mask |= degrade::critical_failure;  // this controller's own failure, kept in service
        }
        if (h.has_bmc()) {
            auto password = db->bmc_password(h.spec.name);
            if (!password) {
                throw std::runtime_error{password.error().message};
            }
            h.bmc_password = std::move(*password);
            h.bmc_state = new_bmc_health(now);
        }
        auto name = h.spec.name;
        s.hosts.emplace(std::move(name), std::make_unique<host_slot>(s, std::move(h)));
    }
    // The alarms stand as they were before the restart, each with its `since`, until what raised them is
    // found gone (alarms.hpp, held_conditions).
    std::map<std::string, std::vector<alarm>, std::less<>> held;
    for (const auto& a : *alarms) {
        held[a.host].push_back({a.alarm_id, a.severity, a.reason});
    }
    for (const auto& [name, host_alarms] : held) {
        auto* slot = s.find(name);
        if (slot == nullptr) {
            continue;
        }
        auto& h = slot->host();
        const auto restored = conditions_of(host_alarms, h.states);
        h.degrade_mask |= restored.degrade_mask;
        h.heartbeat_alarm = restored.heartbeat;
        if (restored.bmc_unreachable && h.has_bmc()) {
            h.bmc_state.unreachable_since = now - cfg->bmc.access_alarm_delay;
        }
    }
    // This controller is a host of the fleet too: it adds itself once, locked, as the original's controller-0
    // does on its first start.
    bool added_self = false;
    if (s.find(cfg->agent.hostname) == nullptr && s.monitor_only.count(cfg->agent.hostname) == 0 &&
        !cfg->mgmt.address.empty()) {
        host_record h;
        h.spec.name = cfg->agent.hostname;
        h.spec.personality = role::controller;
        h.spec.functions = cfg->functions();
        // In the form host add stores addresses in, so that another host cannot be added at the same address
        // spelt differently.
        h.spec.mgmt_ip = canonical_ip(cfg->mgmt.address).value_or(cfg->mgmt.address);
        h.spec.cluster_ip = canonical_ip(cfg->cluster.address).value_or(cfg->cluster.address);
        h.self = true;
        h.alive_at = now;
        if (auto inserted = db->insert_host(row_of(h), {}); !inserted) {
            throw std::runtime_error{"cannot add this controller to the inventory: " +
                                     inserted.error().message};
        }
        auto name = h.spec.name;
        s.hosts.emplace(std::move(name), std::make_unique<host_slot>(s, std::move(h)));
        added_self = true;
    }
    s.log.open(std::move(*db), std::move(*alarms), std::move(*recent));
    if (added_self) {
        spdlog::info("host {}: this controller added itself to the inventory (locked)", cfg->agent.hostname);
        s.log.log_event(cfg->agent.hostname, "added", "this controller added itself (locked)");
    }
    s.agents.open(*cfg);
    if (s.monitor != nullptr) {
        s.monitor->on_period([&s](std::uint64_t, std::span<const heartbeat::host_event> events) {
            std::vector<heartbeat_report> reports;
            reports.reserve(events.size());
            for (const auto& e : events) {
                reports.push_back({e.host, e.event});
            }
            on_heartbeat_period(s, reports);
        });
    }
    for (auto& [name, slot] : s.hosts) {
        slot->update_alarms();
    }
    begin_dead_office_recovery(s, controller_uptime, now);
    spdlog::info("fleet: {} host(s) in the inventory at '{}'", s.hosts.size(),
                 cfg->controller.state_dir.string());
}

void fleet_manager::start(std::function<void(std::string_view task, std::exception_ptr)> on_failure) {
    auto& s = *parts_;
    auto& group = tasks_->group;
    group.on_failure(std::move(on_failure));
    for (auto& [name, slot] : s.hosts) {
        slot->start();
    }
    group.spawn("fleet messages (mgmt)", receive_messages(s, network::mgmt));
    group.spawn("fleet messages (cluster)", receive_messages(s, network::cluster));
    group.spawn("fleet audit", audit_loop(s));
}

asio::awaitable<void> fleet_manager::stop() {
    auto& s = *parts_;
    // The fleet's own tasks first (no message may reach a host being stopped), then every host's.
    co_await tasks_->group.stop(std::chrono::milliseconds{0});
    for (auto& [name, slot] : s.hosts) {
        co_await slot->stop();
    }
}

nlohmann::json fleet_manager::hosts() const {
    return hosts_document(*parts_);
}

bool fleet_manager::host(std::string_view name, nlohmann::json& out) const {
    return find_host_document(*parts_, name, out);
}

nlohmann::json fleet_manager::health() const {
    return health_document(*parts_);
}

nlohmann::json fleet_manager::system() const {
    return system_document(*parts_);
}

std::string fleet_manager::metrics() const {
    return metrics_text(*parts_);
}

nlohmann::json fleet_manager::alarms() const {
    return alarms_document(*parts_);
}

nlohmann::json fleet_manager::events(std::uint64_t since, std::size_t limit) const {
    return events_document(*parts_, since, limit);
}

asio::awaitable<api::outcome> fleet_manager::add_host(api::add_host_request request) {
    co_return co_await fleet::add_host(*parts_, std::move(request));
}

asio::awaitable<api::outcome> fleet_manager::modify_host(std::string name, api::modify_host_request request) {
    co_return co_await fleet::modify_host(*parts_, std::move(name), std::move(request));
}

asio::awaitable<api::outcome> fleet_manager::delete_host(std::string name) {
    co_return co_await fleet::delete_host(*parts_, std::move(name));
}

asio::awaitable<api::outcome> fleet_manager::act(std::string name, std::string action) {
    co_return co_await fleet::act(*parts_, std::move(name), std::move(action));
}

}  // namespace mtce::fleet
