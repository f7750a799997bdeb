// The fleet manager's plumbing: the inventory on its thread, the messages from and to the host agents,
// alarms and events, the availability audit, and what the REST API reads and asks. The host lifecycles
// themselves are in lifecycles.cpp.
#include "fleet/fleet.hpp"

#include <algorithm>
#include <ctime>

#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/ip/address.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "core/duration.hpp"
#include "fleet/manager.hpp"
#include "heartbeat/report.hpp"
#include "net/udp_endpoint.hpp"

namespace mtce::fleet {

namespace {

using clock = std::chrono::steady_clock;
using heartbeat::network;
using nlohmann::json;

constexpr std::array<network, heartbeat::network_count> all_networks{network::mgmt, network::cluster};
/// Events kept in memory (and in the inventory): the API serves `since` from these.
constexpr std::size_t event_window = 10000;
/// A discovered host not heard from for this long is forgotten.
constexpr auto discovered_expiry = std::chrono::minutes{10};
constexpr auto availability_audit_period = std::chrono::milliseconds{500};
constexpr std::size_t max_discovered = 10000;

std::int64_t wall_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string iso_time(std::int64_t ms) {
    const std::time_t t = ms / 1000;
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::string states_text(const host_states& s) {
    return fmt::format("{}-{}-{}", to_string(s.administrative), to_string(s.operational),
                       to_string(s.availability));
}

std::vector<std::string> function_names(const std::vector<role>& functions) {
    std::vector<std::string> out;
    for (auto f : functions) {
        out.emplace_back(to_string(f));
    }
    return out;
}

api::outcome refused(api::result kind, std::string reason) {
    return api::outcome::failure(kind, std::move(reason));
}

std::string store_reason(const store_error& e) {
    return e.message;
}

}  // namespace

void enable_stats::observe(double seconds) {
    ++count;
    sum += seconds;
    for (std::size_t i = 0; i < bounds.size(); ++i) {
        if (seconds <= bounds[i]) {
            ++buckets[i];
        }
    }
}

fleet_manager::impl::impl(asio::any_io_executor e, config_store& c, host::wire_sender& w,
                          heartbeat::monitor* m)
    : ex{e},
      settings{c},
      wire{w},
      monitor{m},
      inbox{w.codec()},
      // Command ids only grow, across controller restarts too: a host carries out an id it has seen only
      // once, so a restarted controller must not reuse its predecessor's.
      next_command{static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                                  std::chrono::system_clock::now().time_since_epoch())
                                                  .count())} {}

std::chrono::milliseconds fleet_manager::impl::boot_timeout(role personality) const {
    const auto& c = cfg()->controller;
    switch (personality) {
    case role::controller:
        return c.controller_boot_timeout;
    case role::storage:
        return c.storage_boot_timeout;
    case role::worker:
        break;
    }
    return c.worker_boot_timeout;
}

managed_host* fleet_manager::impl::find(std::string_view name) {
    const auto it = hosts.find(name);
    return it == hosts.end() ? nullptr : it->second.get();
}

const managed_host* fleet_manager::impl::find(std::string_view name) const {
    const auto it = hosts.find(name);
    return it == hosts.end() ? nullptr : it->second.get();
}

fleet_view fleet_manager::impl::view_of_fleet() const {
    fleet_view v;
    for (const auto& [name, h] : hosts) {
        const auto admin = h->being_saved ? h->being_saved->administrative : h->states.administrative;
        if (h->spec.personality == role::controller && admin == admin_state::unlocked &&
            h->states.operational == oper_state::enabled) {
            ++v.enabled_controllers;
        }
    }
    return v;
}

admission_view fleet_manager::impl::view_of(const managed_host& h) const {
    admission_view v;
    v.name = h.spec.name;
    v.administrative = h.states.administrative;
    v.operational = h.states.operational;
    v.personality = h.spec.personality;
    v.self = h.self;
    v.has_bmc = h.spec.bmc.type != "none" && !h.spec.bmc.type.empty();
    v.in_progress = h.deleting ? host_action::remove : h.action;
    return v;
}

// ---------------------------------------------------------------------------------------------------------
// state changes

host_row fleet_manager::impl::row_of(const managed_host& h) const {
    host_row row{h.spec, h.states, h.task, h.action, h.cause, wall_ms(), h.bmc_protocol};
    if (h.being_saved) {
        row.states.administrative = h.being_saved->administrative;
        row.action = h.being_saved->action;
    }
    return row;
}

void fleet_manager::impl::save(managed_host& h) {
    if (!db) {
        return;
    }
    db->post([row = row_of(h)](inventory& inv) { return inv.update_host(row); }, ex,
             [this, name = h.spec.name](tl::expected<void, store_error> r) {
                 if (r) {
                     unsaved.erase(name);
                     return;
                 }
                 ++store_failures;
                 if (unsaved.insert(name).second) {
                     spdlog::error("host {}: cannot save its state, kept in memory and saved again later: {}",
                                   name, r.error().message);
                 }
             });
}

void fleet_manager::impl::set_states(managed_host& h, const host_states& st, std::string_view why) {
    if (h.states == st) {
        return;
    }
    const auto before = states_text(h.states);
    h.states = st;
    const auto after = states_text(h.states);
    std::string text = fmt::format("{} -> {} ({})", before, after, why);
    if (h.has_subfunction()) {
        text += fmt::format("; subfunction {}-{}", to_string(st.subfunction_operational),
                            to_string(st.subfunction_availability));
    }
    spdlog::info("host {}: {}", h.spec.name, text);
    log_event(h.spec.name, "state", std::move(text));
    save(h);
    update_alarms(h);
    h.changed.notify();
}

void fleet_manager::impl::set_oper_avail(managed_host& h, oper_state oper, avail_state avail,
                                         std::string_view why) {
    auto st = h.states;
    st.operational = oper;
    st.availability = avail;
    if (h.has_subfunction()) {
        // The subfunction follows the main function down, and comes up with its own enable.
        if (oper == oper_state::disabled) {
            st.subfunction_operational = oper_state::disabled;
            st.subfunction_availability = avail;
        }
    }
    set_states(h, st, why);
}

void fleet_manager::impl::set_task(managed_host& h, std::string task) {
    if (h.task == task) {
        return;
    }
    spdlog::debug("host {}: task '{}'", h.spec.name, task);
    h.task = std::move(task);
    save(h);
    h.changed.notify();
}

void fleet_manager::impl::log_event(std::string_view host, std::string_view kind, std::string text) {
    event_row e{next_event++, wall_ms(), std::string{host}, std::string{kind}, std::move(text)};
    if (db) {
        db->post([e](inventory& inv) { return inv.record_event(e); }, ex,
                 [this](tl::expected<void, store_error> r) {
                     if (!r) {
                         ++store_failures;
                         spdlog::warn("cannot save an event: {}", r.error().message);
                     }
                 });
    }
    event_log.push_back(std::move(e));
    while (event_log.size() > event_window) {
        event_log.pop_front();
    }
}

void fleet_manager::impl::update_alarms(managed_host& h) {
    alarm_input in;
    in.name = h.spec.name;
    in.states = h.states;
    in.has_subfunction = h.has_subfunction();
    in.cause = h.cause;
    in.degrade_mask = h.degrade_mask;
    in.heartbeat = h.heartbeat_alarm;
    in.bmc_unreachable = h.has_bmc() && make_driver && access_alarm(h.bmc_state, clock::now(), cfg()->bmc);
    h.bmc_alarm = in.bmc_unreachable;
    const auto wanted = expected_alarms(in);
    // Clear what is no longer wanted.
    for (auto it = active_alarms.lower_bound({h.spec.name, {}});
         it != active_alarms.end() && it->first.first == h.spec.name;) {
        const bool keep = std::any_of(wanted.begin(), wanted.end(),
                                      [&](const alarm& a) { return a.id == it->first.second; });
        if (keep) {
            ++it;
            continue;
        }
        log_event(h.spec.name, "alarm",
                  fmt::format("cleared {}: {}", it->second.alarm_id, it->second.reason));
        if (db) {
            db->post([host = h.spec.name,
                      id = it->second.alarm_id](inventory& inv) { return inv.clear_alarm(host, id); },
                     ex,
                     [this](tl::expected<void, store_error> r) {
                         if (!r) {
                             ++store_failures;
                         }
                     });
        }
        it = active_alarms.erase(it);
    }
    for (const auto& a : wanted) {
        const auto key = std::pair{h.spec.name, a.id};
        auto it = active_alarms.find(key);
        if (it != active_alarms.end() && it->second.severity == a.severity && it->second.reason == a.reason) {
            continue;
        }
        alarm_row row{h.spec.name, a.id, a.severity, a.reason,
                      it == active_alarms.end() ? wall_ms() : it->second.since_ms};
        log_event(h.spec.name, "alarm", fmt::format("raised {} {}: {}", a.id, a.severity, a.reason));
        active_alarms[key] = row;
        if (db) {
            db->post([row](inventory& inv) { return inv.set_alarm(row); }, ex,
                     [this](tl::expected<void, store_error> r) {
                         if (!r) {
                             ++store_failures;
                         }
                     });
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// messages to and from the host agents

std::uint64_t fleet_manager::impl::send(managed_host& h, net::command c) {
    if (c.id == 0) {
        c.id = ++next_command;
    }
    const auto payload = net::to_json(c);
    std::array<std::byte, net::max_datagram_size> out{};
    const auto datagram = wire.encode(net::message_type::command,
                                      std::as_bytes(std::span{payload.data(), payload.size()}), out);
    const std::array<const std::string*, heartbeat::network_count> addresses{&h.spec.mgmt_ip,
                                                                             &h.spec.cluster_ip};
    bool sent = false;
    for (auto net : all_networks) {
        const auto i = static_cast<std::size_t>(net);
        if (!sockets[i] || addresses[i]->empty()) {
            continue;
        }
        std::error_code ec;
        const auto to = asio::ip::make_address(*addresses[i], ec);
        if (ec) {
            continue;
        }
        sockets[i]->send_to(asio::buffer(datagram.data(), datagram.size()), {to, networks[i].agent_port}, 0,
                            ec);
        if (ec) {
            spdlog::debug("host {}: cannot send {} on {}: {}", h.spec.name, to_string(c.kind), to_string(net),
                          ec.message());
        } else {
            sent = true;
        }
    }
    ++commands_sent[std::string{to_string(c.kind)}];
    spdlog::debug("host {}: sent {} id={}{}", h.spec.name, to_string(c.kind), c.id,
                  sent ? "" : " (no network)");
    return c.id;
}

asio::awaitable<bool> fleet_manager::impl::request(managed_host& h, net::command c) {
    const auto cfg = this->cfg();
    if (c.id == 0) {
        c.id = ++next_command;
    }
    for (std::uint32_t attempt = 0; attempt < cfg->controller.command_retries; ++attempt) {
        send(h, c);
        const bool acked = co_await h.wait_until([&] { return h.replies[c.id].acked; },
                                                 clock::now() + cfg->controller.command_timeout);
        if (acked) {
            if (!h.replies[c.id].ack_error.empty()) {
                spdlog::warn("host {}: refused {}: {}", h.spec.name, to_string(c.kind),
                             h.replies[c.id].ack_error);
                co_return false;
            }
            co_return true;
        }
    }
    spdlog::warn("host {}: no answer to {} after {} tries", h.spec.name, to_string(c.kind),
                 cfg->controller.command_retries);
    co_return false;
}

void fleet_manager::impl::on_message(inbound in) {
    auto* h = find(in.sender);
    if (auto* alive = std::get_if<net::alive_report>(&in.body)) {
        if (h != nullptr) {
            on_alive(*h, std::move(*alive));
            return;
        }
        if (monitor_only.count(in.sender) != 0) {
            return;  // known, heartbeated, not managed
        }
        auto it = discovered.find(in.sender);
        if (it == discovered.end()) {
            if (discovered.size() >= max_discovered) {
                inbox.counters(in.net).rejected.add(net::reject_reason::unknown_sender);
                return;
            }
            spdlog::info("host {} reports mtcAlive but is not in the inventory: listed as discovered",
                         in.sender);
            log_event(in.sender, "discovered", "reports mtcAlive; not in the inventory");
            it = discovered.emplace(in.sender, discovered_host{}).first;
        }
        it->second.alive = std::move(*alive);
        it->second.seen = clock::now();
        return;
    }
    if (h == nullptr) {
        inbox.counters(in.net).rejected.add(net::reject_reason::unknown_sender);
        return;
    }
    if (auto* ack = std::get_if<net::command_ack>(&in.body)) {
        if (auto r = h->replies.find(ack->id); r != h->replies.end()) {
            r->second.acked = true;
            r->second.ack_error = ack->error;
            h->changed.notify();
        }
        return;
    }
    auto& result = std::get<net::command_result>(in.body);
    spdlog::info("host {}: {} (id {}) {}{}", h->spec.name, result.name, result.id,
                 result.ok ? "succeeded" : "failed", result.reason.empty() ? "" : ": " + result.reason);
    if (auto r = h->replies.find(result.id); r != h->replies.end()) {
        r->second.acked = true;
        r->second.result = std::move(result);
        h->changed.notify();
    }
}

void fleet_manager::impl::on_alive(managed_host& h, net::alive_report r) {
    const auto now = clock::now();
    const auto cfg = this->cfg();
    const bool new_boot = h.alive && h.alive->boot_id != r.boot_id;
    if (new_boot) {
        spdlog::info("host {}: reports from a new boot ({})", h.spec.name, r.boot_id);
        log_event(h.spec.name, "boot", fmt::format("reports from a new boot (uptime {} s)", r.uptime_s));
        // An enabled host that rebooted on its own is recovered as after a heartbeat loss.
        if (h.states.operational == oper_state::enabled && h.running == job_kind::none && !h.self) {
            h.heartbeat_lost = true;
        }
    }
    spdlog::trace("host {}: mtcAlive flags={:#x}", h.spec.name, r.flags);
    h.alive = std::move(r);
    h.alive_at = now;
    ++h.alive_count;
    if (h.running == job_kind::none) {
        if (h.states.operational == oper_state::enabled) {
            refresh_in_service(h);
        } else if (const auto a = idle_availability(h.states, true); a && *a != h.states.availability) {
            set_oper_avail(h, h.states.operational, *a, "mtcAlive");
        }
        // The host's own lock must agree with its administrative state.
        if (const auto fix = lock_correction(h.states.administrative, h.alive->flags);
            fix && now - h.last_correction >= cfg->host.mtcalive_period) {
            h.last_correction = now;
            spdlog::info("host {}: reports itself {}; telling it it is {}", h.spec.name,
                         *fix == net::command_kind::lock ? "unlocked" : "locked",
                         to_string(h.states.administrative));
            send(h, {*fix, 0, 0, false});
        }
    }
    h.changed.notify();
}

void fleet_manager::impl::refresh_in_service(managed_host& h) {
    std::uint32_t mask = h.degrade_mask & ~(degrade::failure_flag | degrade::service_manager);
    mask |= alive_degrade(h.alive_flags());
    const bool changed = mask != h.degrade_mask;
    h.degrade_mask = mask;
    if (h.states.operational == oper_state::enabled && h.running == job_kind::none) {
        const auto avail = in_service_availability(mask);
        if (avail != h.states.availability) {
            auto st = h.states;
            st.availability = avail;
            const auto names = degrade_names(mask);
            set_states(h, st,
                       names.empty() ? std::string{"degrade cleared"}
                                     : fmt::format("degraded: {}", fmt::join(names, ", ")));
        } else if (changed) {
            update_alarms(h);  // the same availability, another cause (the in-service failure alarm)
        }
    }
}

void fleet_manager::impl::on_heartbeat_event(std::string_view name, const heartbeat::hb_event& e) {
    auto* h = find(name);
    if (h == nullptr) {
        return;  // a monitor-only host
    }
    using k = heartbeat::hb_event_kind;
    using heartbeat::hb_state;
    const auto bit = heartbeat_degrade_bit(e.net);
    auto& level = h->heartbeat_alarm[static_cast<std::size_t>(e.net)];
    switch (e.kind) {
    case k::degrade_set:
        if (level != hb_state::failed) {
            level = hb_state::degraded;
        }
        h->degrade_mask |= bit;
        log_event(name, "heartbeat", fmt::format("degraded on {} ({} misses)", to_string(e.net), e.misses));
        break;
    case k::degrade_clear:
        level = hb_state::unmonitored;
        h->degrade_mask &= ~bit;
        log_event(name, "heartbeat", fmt::format("degrade cleared on {}", to_string(e.net)));
        break;
    case k::loss:
        level = hb_state::failed;
        ++h->losses;
        log_event(name, "heartbeat", fmt::format("lost on {} ({} misses)", to_string(e.net), e.misses));
        if (h->states.operational == oper_state::enabled && h->running == job_kind::none) {
            h->heartbeat_lost = true;
        }
        break;
    case k::recovered:
        level = hb_state::unmonitored;
        log_event(name, "heartbeat", fmt::format("recovered on {}", to_string(e.net)));
        break;
    default:
        break;
    }
    refresh_in_service(*h);
    update_alarms(*h);
    h->changed.notify();
}

void fleet_manager::impl::start_heartbeat(managed_host& h) {
    if (monitor == nullptr || h.monitored || h.self) {
        return;
    }
    monitored_host m;
    m.name = h.spec.name;
    m.personality = h.spec.personality;
    m.mgmt_ip = h.spec.mgmt_ip;
    m.cluster_ip = h.spec.cluster_ip;
    try {
        monitor->add_host(m);
        h.monitored = true;
    } catch (const std::exception& e) {
        spdlog::error("host {}: cannot heartbeat it: {}", h.spec.name, e.what());
    }
}

void fleet_manager::impl::stop_heartbeat(managed_host& h) {
    if (monitor != nullptr && h.monitored) {
        monitor->remove_host(h.spec.name);
    }
    h.monitored = false;
    h.degrade_mask &= ~(degrade::heartbeat_mgmt | degrade::heartbeat_cluster);
    update_alarms(h);
}

asio::awaitable<void> fleet_manager::impl::receive(network net, task_set& tasks) {
    using namespace asio::experimental::awaitable_operators;
    auto& socket = sockets[static_cast<std::size_t>(net)];
    if (!socket) {
        co_return;
    }
    std::chrono::steady_clock::time_point last_log{};
    std::uint64_t logged = 0;
    auto sink = [&, net](const asio::ip::udp::endpoint&, std::span<const std::byte> data) {
        auto in = inbox.on_datagram(net, data);
        if (in) {
            on_message(std::move(*in));
            return;
        }
        const auto& c = inbox.counters(net);
        const auto now = clock::now();
        if (c.dropped() != logged && now - last_log >= std::chrono::seconds{10}) {
            spdlog::warn("controller ({}): {} message(s) dropped so far:{} not_expected={} bad_payload={}",
                         to_string(net), c.dropped(), net::describe(c.rejected), c.not_expected,
                         c.bad_payload);
            logged = c.dropped();
            last_log = now;
        }
    };
    const auto ended = co_await (net::serve_udp(*socket, sink) || tasks.until_stop());
    if (ended.index() == 0 && std::get<0>(ended)) {
        throw std::system_error{std::get<0>(ended),
                                fmt::format("controller ({}): receiving host messages", to_string(net))};
    }
}

void fleet_manager::impl::audit(time_point now) {
    const auto cfg = this->cfg();
    for (auto& [name, h] : hosts) {
        if (h->deleting) {
            continue;
        }
        const bool locked_disabled =
            h->states.administrative == admin_state::locked && h->states.operational == oper_state::disabled;
        if (h->running == job_kind::none || locked_disabled) {
            const auto a = idle_availability(h->states, h->reachable(now, cfg->controller.offline_window));
            if (a && *a != h->states.availability) {
                set_oper_avail(
                    *h, h->states.operational, *a,
                    *a == avail_state::offline
                        ? fmt::format("no mtcAlive for {}", format_duration(cfg->controller.offline_window))
                        : std::string{"mtcAlive"});
            }
        }
    }
    for (auto it = discovered.begin(); it != discovered.end();) {
        it = now - it->second.seen > discovered_expiry ? discovered.erase(it) : std::next(it);
    }
}

void fleet_manager::impl::retry_unsaved() {
    // Writes that failed (a full disk, a locked database) are made again until they succeed.
    for (const auto& name : std::vector<std::string>{unsaved.begin(), unsaved.end()}) {
        if (auto* h = find(name)) {
            save(*h);
        } else {
            unsaved.erase(name);
        }
    }
}

asio::awaitable<void> fleet_manager::impl::audit_loop(task_set& tasks) {
    using namespace asio::experimental::awaitable_operators;
    asio::steady_timer timer{ex};
    for (std::uint64_t tick = 1;; ++tick) {
        timer.expires_after(availability_audit_period);
        const auto woke = co_await (timer.async_wait(asio::experimental::as_tuple(asio::use_awaitable)) ||
                                    tasks.until_stop());
        if (woke.index() == 1) {
            co_return;
        }
        audit(clock::now());
        if (tick % 20 == 0 && !unsaved.empty()) {
            retry_unsaved();
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// fleet_manager

fleet_manager::fleet_manager(asio::any_io_executor ex, config_store& config, host::wire_sender& wire,
                             heartbeat::monitor* monitor)
    : impl_{std::make_unique<impl>(ex, config, wire, monitor)} {}

fleet_manager::~fleet_manager() = default;

void fleet_manager::use_bmc(bmc_factory factory) {
    impl_->make_driver = std::move(factory);
}

void fleet_manager::open() {
    auto& s = *impl_;
    const auto cfg = s.cfg();
    for (const auto& h : cfg->controller.hosts) {
        s.monitor_only.insert(h.name);
    }
    auto db = inventory::open(cfg->controller.state_dir);
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
    auto recent = db->last_events(event_window);
    if (!recent) {
        throw std::runtime_error{recent.error().message};
    }
    const auto now = clock::now();
    for (auto& row : *rows) {
        if (s.monitor_only.count(row.spec.name) != 0) {
            spdlog::warn("host {} is in the inventory and in controller.hosts: it is managed", row.spec.name);
            s.monitor_only.erase(row.spec.name);
        }
        auto h = std::make_unique<managed_host>();
        h->spec = std::move(row.spec);
        h->states = row.states;
        h->task = std::move(row.task);
        h->action = row.action;
        h->cause = row.cause;
        h->self = h->spec.name == cfg->agent.hostname;
        h->alive_at = now;  // one window to report before an idle host is called offline
        h->bmc_protocol = std::move(row.bmc_protocol);
        if (h->has_bmc()) {
            auto password = db->bmc_password(h->spec.name);
            if (!password) {
                throw std::runtime_error{password.error().message};
            }
            h->bmc_password = std::move(*password);
            h->bmc_state = new_bmc_health(now);
        }
        auto name = h->spec.name;
        s.hosts.emplace(std::move(name), std::move(h));
    }
    for (auto& a : *alarms) {
        // A heartbeat alarm stands until the heartbeat recovers, across a controller restart too.
        if (auto* h = s.find(a.host); h != nullptr && (a.alarm_id == "200.005" || a.alarm_id == "200.009")) {
            h->heartbeat_alarm[a.alarm_id == "200.005" ? 0 : 1] =
                a.severity == "critical" ? heartbeat::hb_state::failed : heartbeat::hb_state::degraded;
        }
        auto key = std::pair{a.host, a.alarm_id};
        s.active_alarms.emplace(std::move(key), std::move(a));
    }
    for (auto& e : *recent) {
        s.next_event = std::max(s.next_event, e.id + 1);
        s.event_log.push_back(std::move(e));
    }
    // This controller is a host of the fleet too: it adds itself once, locked, as the original's
    // controller-0 does on its first start.
    bool added_self = false;
    if (s.find(cfg->agent.hostname) == nullptr && s.monitor_only.count(cfg->agent.hostname) == 0 &&
        !cfg->mgmt.address.empty()) {
        auto h = std::make_unique<managed_host>();
        h->spec.name = cfg->agent.hostname;
        h->spec.personality = role::controller;
        h->spec.functions = cfg->functions();
        // In the form host add stores addresses in, so that another host cannot be added at the same
        // address spelt differently.
        h->spec.mgmt_ip = canonical_ip(cfg->mgmt.address).value_or(cfg->mgmt.address);
        h->spec.cluster_ip = canonical_ip(cfg->cluster.address).value_or(cfg->cluster.address);
        h->self = true;
        h->alive_at = now;
        if (auto inserted = db->insert_host(s.row_of(*h), {}); !inserted) {
            throw std::runtime_error{"cannot add this controller to the inventory: " +
                                     inserted.error().message};
        }
        auto name = h->spec.name;
        s.hosts.emplace(std::move(name), std::move(h));
        added_self = true;
    }
    s.db = std::make_unique<store>(std::move(*db));
    if (added_self) {
        spdlog::info("host {}: this controller added itself to the inventory (locked)", cfg->agent.hostname);
        s.log_event(cfg->agent.hostname, "added", "this controller added itself (locked)");
    }

    // The sockets that receive mtcAlive, acks and results, and send commands.
    s.networks = {cfg->mgmt, cfg->cluster};
    for (auto net : all_networks) {
        const auto i = static_cast<std::size_t>(net);
        if (s.networks[i].address.empty()) {
            continue;
        }
        try {
            s.sockets[i].emplace(
                net::open_udp(s.ex, s.networks[i], s.networks[i].controller_port, heartbeat_mode::unicast));
        } catch (const std::system_error& e) {
            throw std::runtime_error{fmt::format("controller ({}): {}", to_string(net), e.what())};
        }
    }
    if (s.monitor != nullptr) {
        s.monitor->on_event(
            [&s](std::string_view host, const heartbeat::hb_event& e) { s.on_heartbeat_event(host, e); });
    }
    for (auto& [name, h] : s.hosts) {
        s.update_alarms(*h);
    }
    spdlog::info("fleet: {} host(s) in the inventory at '{}'", s.hosts.size(),
                 cfg->controller.state_dir.string());
}

asio::awaitable<void> fleet_manager::run(task_set& tasks) {
    using namespace asio::experimental::awaitable_operators;
    auto& s = *impl_;
    for (auto& [name, h] : s.hosts) {
        s.spawn_supervisor(*h);
        s.spawn_bmc_supervisor(*h);
    }
    tasks.spawn("fleet messages (mgmt)", s.receive(network::mgmt, tasks));
    tasks.spawn("fleet messages (cluster)", s.receive(network::cluster, tasks));
    tasks.spawn("fleet audit", s.audit_loop(tasks));
    co_await tasks.until_stop();
    // Stop every supervisor; what they were doing is saved and taken up by the next controller.
    auto supervised = [&s] {
        return std::any_of(s.hosts.begin(), s.hosts.end(),
                           [](const auto& e) { return e.second->supervised || e.second->bmc_supervised; });
    };
    for (auto& [name, h] : s.hosts) {
        if (h->supervised) {
            h->stop->emit(asio::cancellation_type::terminal);
        }
        if (h->bmc_supervised) {
            h->bmc_stop->emit(asio::cancellation_type::terminal);
        }
    }
    const auto deadline = clock::now() + std::chrono::seconds{2};
    while (supervised() && clock::now() < deadline) {
        co_await s.supervisor_ended.wait(deadline);
    }
}

// ---------------------------------------------------------------------------------------------------------
// what the API shows

namespace {

json host_document(const fleet_manager::impl& s, const managed_host& h) {
    const bool subf = h.has_subfunction();
    std::array<heartbeat::net_status, heartbeat::network_count> levels{};
    if (s.monitor != nullptr && h.monitored) {
        if (const auto v = s.monitor->find(h.spec.name)) {
            levels = v->status;
        }
    }
    const auto now = clock::now();
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
        {"auto_recovery_disabled", false},
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
        {"management", "discovered"},
    };
}

}  // namespace

json fleet_manager::hosts() const {
    const auto& s = *impl_;
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

bool fleet_manager::host(std::string_view name, json& out) const {
    const auto& s = *impl_;
    if (const auto* h = s.find(name)) {
        out = host_document(s, *h);
        return true;
    }
    if (s.monitor != nullptr && s.monitor_only.count(name) != 0) {
        if (const auto v = s.monitor->find(name)) {
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

json fleet_manager::health() const {
    const auto& s = *impl_;
    const auto cfg = s.cfg();
    json doc{{"status", "ok"},
             {"controller", cfg->agent.hostname},
             {"hosts", s.hosts.size()},
             {"discovered", s.discovered.size()},
             {"unsaved_hosts", s.unsaved.size()},
             {"store_failures", s.store_failures}};
    if (s.monitor != nullptr) {
        doc["heartbeat_periods"] = s.monitor->period();
        doc["late_periods"] = s.monitor->ledger().late_periods();
    }
    if (!s.unsaved.empty()) {
        doc["status"] = "degraded";
        doc["reason"] = "the inventory cannot be written; the state is kept in memory and written again";
    }
    return doc;
}

std::string fleet_manager::metrics() const {
    const auto& s = *impl_;
    std::string out;
    auto family = [&](std::string_view name, std::string_view type, std::string_view help) {
        out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
    };
    family("mtce_hosts", "gauge", "Managed hosts by administrative, operational and availability state.");
    std::map<std::tuple<std::string_view, std::string_view, std::string_view>, std::size_t> by_state;
    for (const auto& [name, h] : s.hosts) {
        ++by_state[{to_string(h->states.administrative), to_string(h->states.operational),
                    to_string(h->states.availability)}];
    }
    for (const auto& [k, n] : by_state) {
        out += fmt::format("mtce_hosts{{administrative=\"{}\",operational=\"{}\",availability=\"{}\"}} {}\n",
                           std::get<0>(k), std::get<1>(k), std::get<2>(k), n);
    }
    family("mtce_hosts_discovered", "gauge", "Hosts that report mtcAlive but are not in the inventory.");
    out += fmt::format("mtce_hosts_discovered {}\n", s.discovered.size());
    family("mtce_alarms_active", "gauge", "Active alarms.");
    out += fmt::format("mtce_alarms_active {}\n", s.active_alarms.size());
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
    for (const auto& [name, n] : s.commands_sent) {
        out += fmt::format("mtce_commands_sent_total{{command=\"{}\"}} {}\n", name, n);
    }
    family("mtce_messages_dropped_total", "counter",
           "mtcAlive, ack and result datagrams dropped by the controller, per network and reason.");
    for (auto net : all_networks) {
        const auto& c = s.inbox.counters(net);
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
                           s.inbox.counters(net).accepted);
    }
    family("mtce_bmc_hosts", "gauge", "Hosts with a BMC, by what the controller knows of it.");
    std::map<std::string_view, std::size_t> bmc_states{{"accessible", 0}, {"unreachable", 0}, {"quarantined", 0}};
    const auto now = clock::now();
    for (const auto& [name, h] : s.hosts) {
        if (h->has_bmc()) {
            ++bmc_states[quarantined(h->bmc_state, now) ? "quarantined"
                         : h->bmc_state.accessible      ? "accessible"
                                                        : "unreachable"];
        }
    }
    for (const auto& [state, n] : bmc_states) {
        out += fmt::format("mtce_bmc_hosts{{state=\"{}\"}} {}\n", state, n);
    }
    family("mtce_bmc_operations_total", "counter", "BMC exchanges, by outcome.");
    for (const auto& [result, n] : s.bmc_operations) {
        out += fmt::format("mtce_bmc_operations_total{{result=\"{}\"}} {}\n", result, n);
    }
    family("mtce_store_failures_total", "counter", "Inventory writes that failed (retried).");
    out += fmt::format("mtce_store_failures_total {}\n", s.store_failures);
    family("mtce_events_total", "counter", "Events recorded in the event log.");
    out += fmt::format("mtce_events_total {}\n", s.next_event - 1);
    if (s.monitor != nullptr) {
        out += heartbeat::monitor_metrics(*s.monitor);
    }
    return out;
}

json fleet_manager::alarms() const {
    json out = json::array();
    for (const auto& [key, a] : impl_->active_alarms) {
        out.push_back({{"id", a.alarm_id},
                       {"host", a.host},
                       {"severity", a.severity},
                       {"reason", a.reason},
                       {"since", a.since_ms},
                       {"since_text", iso_time(a.since_ms)}});
    }
    return out;
}

json fleet_manager::events(std::uint64_t since, std::size_t limit) const {
    json out = json::array();
    const auto& log = impl_->event_log;
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

// ---------------------------------------------------------------------------------------------------------
// what the API asks

asio::awaitable<api::outcome> fleet_manager::add_host(api::add_host_request request) {
    auto& s = *impl_;
    auto spec = validate_host(request);
    if (!spec) {
        co_return refused(api::result::invalid, spec.error());
    }
    const std::string name = spec->name;
    if (s.monitor_only.count(name) != 0) {
        co_return refused(
            api::result::conflict,
            fmt::format("host {} is listed in controller.hosts (heartbeat only); remove it there first",
                        name));
    }
    if (s.find(name) != nullptr || s.adding.count(name) != 0) {
        co_return refused(api::result::conflict, fmt::format("host {} already exists", name));
    }
    for (const auto& [other, h] : s.hosts) {
        for (const auto* address : {&spec->mgmt_ip, &spec->cluster_ip}) {
            if (!address->empty() && (*address == h->spec.mgmt_ip || *address == h->spec.cluster_ip)) {
                co_return refused(api::result::conflict,
                                  fmt::format("address {} is already used by host {}", *address, other));
            }
        }
    }
    auto h = std::make_unique<managed_host>();
    h->spec = std::move(*spec);
    h->states = {};  // locked-disabled-offline until it reports
    const auto now = clock::now();
    if (auto d = s.discovered.find(name); d != s.discovered.end()) {
        h->alive = d->second.alive;
        h->alive_at = d->second.seen;
        h->alive_count = 1;
        if (h->reachable(now, s.cfg()->controller.offline_window)) {
            h->states.availability = avail_state::online;
        }
    } else {
        h->alive_at = now - s.cfg()->controller.offline_window;  // not heard from yet
    }
    s.adding.insert(name);
    // g++ 12 mishandles a lambda temporary inside a co_await expression (it is relocated bitwise, and a
    // string captured in it then points into the old place): every store call takes a named lambda.
    auto insert = [row = s.row_of(*h), password = request.bmc_password](inventory& inv) {
        return inv.insert_host(row, password);
    };
    const auto saved = co_await s.db->call(std::move(insert));
    s.adding.erase(name);
    if (!saved) {
        if (saved.error().code == store_errc::duplicate) {
            co_return refused(api::result::conflict, store_reason(saved.error()));
        }
        co_return refused(api::result::not_saved, store_reason(saved.error()));
    }
    s.discovered.erase(name);
    auto& added = *h;
    if (added.has_bmc()) {
        added.bmc_password = request.bmc_password;
        added.bmc_state = new_bmc_health(clock::now());
    }
    s.hosts.emplace(name, std::move(h));
    spdlog::info("host {}: added ({} {}, mgmt {}{})", name, to_string(added.spec.personality),
                 fmt::join(function_names(added.spec.functions), ","), added.spec.mgmt_ip,
                 added.spec.cluster_ip.empty() ? "" : ", cluster " + added.spec.cluster_ip);
    s.log_event(name, "added", fmt::format("added as a {} (locked)", to_string(added.spec.personality)));
    s.update_alarms(added);
    s.spawn_supervisor(added);
    s.spawn_bmc_supervisor(added);
    co_return api::outcome::success(host_document(s, added).dump());
}

namespace {

/// What an API request already in progress is doing to `h`, if one is: no other change of it is taken then.
std::optional<std::string_view> being_changed(const managed_host& h) {
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

}  // namespace

asio::awaitable<api::outcome> fleet_manager::modify_host(std::string name, api::modify_host_request request) {
    auto& s = *impl_;
    auto* h = s.find(name);
    if (h == nullptr) {
        co_return refused(api::result::not_found, fmt::format("no host named {} in the inventory", name));
    }
    if (auto busy = being_changed(*h)) {
        co_return refused(api::result::refused, fmt::format("cannot modify {}: {}; try again", name, *busy));
    }
    auto change = modify_bmc(h->spec.bmc, h->bmc_password, request);
    if (!change) {
        co_return refused(api::result::invalid, change.error());
    }
    if (change->bmc == h->spec.bmc && change->password == h->bmc_password) {
        co_return api::outcome::success(host_document(s, *h).dump());
    }
    const auto busy_job = h->has_bmc() ? bmc_holder(h->running, h->finishing, h->request) : job_kind::none;
    if (busy_job != job_kind::none) {
        co_return refused(api::result::refused,
                          fmt::format("cannot modify {}: its {} is using the BMC; try again when it ends",
                                      name, to_string(busy_job)));
    }
    // The BMC audit stops and a job's exchange in flight ends before the BMC changes: nothing talks to the
    // BMC while the change is saved, and nothing uses the old driver after it. The audit is our own
    // coroutine, cancelled: it ends at its next await (its exchange with it), so that wait needs no deadline
    // (and it must end before a new one starts). A job's exchange is bounded by the drivers' deadlines; the
    // wait for it by a little more than that.
    h->modifying = true;
    if (h->bmc_supervised) {
        h->bmc_stop->emit(asio::cancellation_type::terminal);
    }
    (void)co_await h->wait_until([h] { return !h->bmc_supervised; }, time_point::max());
    const auto cfg = s.cfg();
    const auto& timing = cfg->bmc;
    const auto deadline = clock::now() + 2 * (timing.request_timeout + 8 * timing.backoff) * (timing.retries + 1);
    const bool held = co_await s.acquire_bmc(*h, deadline);
    if (!held) {
        h->modifying = false;
        s.spawn_bmc_supervisor(*h);
        co_return refused(api::result::refused,
                          fmt::format("cannot modify {}: its BMC stayed busy; try again", name));
    }
    const bmc_lease lease{*h};
    struct bmc_side {
        bmc_spec spec;
        std::string password;
        std::string protocol;
    };
    const bmc_side before{h->spec.bmc, h->bmc_password, h->bmc_protocol};
    const auto put = [h](bmc_side side) {
        h->spec.bmc = std::move(side.spec);
        h->bmc_password = std::move(side.password);
        h->bmc_protocol = std::move(side.protocol);
    };
    // In memory first: a save of this host made while this one is on its way carries the new BMC, and the
    // store writes in order. The protocol is learned again.
    put({change->bmc, change->password, {}});
    auto update = [row = s.row_of(*h), password = change->password](inventory& inv) {
        return inv.update_host(row, password);
    };
    const auto saved = co_await s.db->call(std::move(update));
    if (!saved) {
        put(before);
        s.save(*h);
    } else {
        h->bmc.reset();
        h->bmc_caps = {};
        h->bmc_state = new_bmc_health(clock::now());
        h->bmc_alarm = false;
    }
    h->modifying = false;
    s.update_alarms(*h);
    s.spawn_bmc_supervisor(*h);
    h->changed.notify();
    if (!saved) {
        co_return refused(api::result::not_saved,
                          fmt::format("cannot modify {}: {}", name, store_reason(saved.error())));
    }
    const auto& bmc = h->spec.bmc;
    const auto what = h->has_bmc() ? fmt::format("{} at {} as {}{}", bmc.type, bmc.address, bmc.username,
                                                 bmc.verify_tls ? "" : " (certificate not verified)")
                                   : std::string{"none"};
    spdlog::info("host {}: BMC changed to {}", name, what);
    s.log_event(name, "bmc", fmt::format("BMC changed to {}", what));
    co_return api::outcome::success(host_document(s, *h).dump());
}

asio::awaitable<api::outcome> fleet_manager::delete_host(std::string name) {
    auto& s = *impl_;
    auto* h = s.find(name);
    if (h == nullptr) {
        co_return refused(api::result::not_found, fmt::format("no host named {} in the inventory", name));
    }
    if (auto why = refusal(s.view_of(*h), host_action::remove, s.view_of_fleet())) {
        co_return refused(api::result::refused, fmt::format("cannot delete {}: {}", name, *why));
    }
    if (auto busy = being_changed(*h)) {
        co_return refused(api::result::refused, fmt::format("cannot delete {}: {}; try again", name, *busy));
    }
    h->deleting = true;
    if (h->supervised) {
        h->stop->emit(asio::cancellation_type::terminal);
    }
    if (h->bmc_supervised) {
        h->bmc_stop->emit(asio::cancellation_type::terminal);
    }
    // Our own coroutines, cancelled: each ends at its next await (the BMC drivers and child processes stop
    // at once). The host may not be freed while one still holds it, so this waits for them, without a
    // deadline.
    (void)co_await h->wait_until([h] { return !h->supervised && !h->bmc_supervised; }, time_point::max());
    auto remove = [name](inventory& inv) { return inv.remove_host(name); };
    const auto removed = co_await s.db->call(std::move(remove));
    if (!removed) {
        h->deleting = false;
        s.spawn_supervisor(*h);
        s.spawn_bmc_supervisor(*h);
        co_return refused(api::result::not_saved,
                          fmt::format("cannot delete {}: {}", name, store_reason(removed.error())));
    }
    s.stop_heartbeat(*h);
    s.inbox.forget(name);
    for (auto it = s.active_alarms.lower_bound({name, {}});
         it != s.active_alarms.end() && it->first.first == name;) {
        it = s.active_alarms.erase(it);
    }
    s.hosts.erase(name);
    spdlog::info("host {}: deleted", name);
    s.log_event(name, "deleted", "deleted from the inventory");
    co_return api::outcome::success();
}

asio::awaitable<api::outcome> fleet_manager::act(std::string name, std::string action_text) {
    auto& s = *impl_;
    const auto action = parse_host_action(action_text);
    if (!action || *action == host_action::remove) {
        co_return refused(
            api::result::invalid,
            fmt::format("unknown action '{}' (lock, force-lock, unlock, reboot, reset, power-on, "
                        "power-off, power-cycle, reinstall)",
                        action_text));
    }
    auto* h = s.find(name);
    if (h == nullptr) {
        co_return refused(api::result::not_found, fmt::format("no host named {} in the inventory", name));
    }
    if (auto why = refusal(s.view_of(*h), *action, s.view_of_fleet())) {
        co_return refused(api::result::refused, fmt::format("cannot {} {}: {}", action_text, name, *why));
    }
    if (auto busy = being_changed(*h)) {
        co_return refused(api::result::refused,
                          fmt::format("cannot {} {}: {}; try again", action_text, name, *busy));
    }
    // The request and the administrative state it sets are durable before they are acknowledged. Until
    // then the fleet's rules count the new state (two controllers locked at once cannot both pass the
    // "only enabled controller" check), and delete, modify and other actions of this host wait.
    auto row = s.row_of(*h);
    row.states.administrative = admin_after(h->states.administrative, *action);
    row.action = *action;
    h->being_saved = managed_host::pending_action{row.states.administrative, row.action};
    auto update = [row](inventory& inv) { return inv.update_host(row); };
    const auto saved = co_await s.db->call(std::move(update));
    h->being_saved.reset();
    if (!saved) {
        s.save(*h);  // a write made meanwhile carried the request: undo it on disk too
        co_return refused(api::result::not_saved,
                          fmt::format("cannot {} {}: the request could not be saved: {}", action_text, name,
                                      store_reason(saved.error())));
    }
    auto st = h->states;
    st.administrative = row.states.administrative;
    h->action = *action;
    h->request = *action;
    if (preempted_by(h->running, *action)) {
        h->preempt = true;
    }
    s.log_event(name, "action", fmt::format("{} accepted", action_text));
    s.set_states(*h, st, fmt::format("{} requested", action_text));
    h->changed.notify();
    co_return api::outcome::success(json{{"host", name}, {"action", action_text}, {"accepted", true}}.dump());
}

}  // namespace mtce::fleet
