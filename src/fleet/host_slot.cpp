#include "fleet/host_slot.hpp"

#include <asio/experimental/as_tuple.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "fleet/alarms.hpp"
#include "fleet/bmc_policy.hpp"
#include "fleet/jobs/jobs.hpp"
#include "fleet/parts.hpp"
#include "fleet/reports.hpp"
#include "heartbeat/monitor.hpp"

namespace mtce::fleet {

namespace {

/// How long a stopped host's tasks get to end on their own before they are cancelled. They end at their
/// next await once cancelled (child processes and BMC exchanges included), and what they were doing is
/// saved and taken up again.
constexpr std::chrono::milliseconds stop_grace{0};

}  // namespace

void change_signal::notify() {
    for (auto* t : waiters_) {
        t->cancel();
    }
}

asio::awaitable<void> change_signal::wait(time_point deadline) {
    asio::steady_timer timer{co_await asio::this_coro::executor, deadline};
    waiters_.push_back(&timer);
    const auto it = std::prev(waiters_.end());
    // A notify() and a cancellation both end the wait with operation_aborted; the caller re-checks.
    (void)co_await timer.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
    waiters_.erase(it);
}

host_slot::host_slot(fleet_parts& parts, host_record record)
    : parts_{parts},
      record_{std::move(record)},
      supervisor_{parts.ex, "host " + record_.spec.name},
      bmc_audit_{parts.ex, "BMC audit of " + record_.spec.name} {
    auto report = [name = record_.spec.name](std::string_view task, const std::exception_ptr& e) {
        spdlog::error("host {}: {} ended: {}", name, task, exception_message(e));
    };
    supervisor_.on_failure(report);
    bmc_audit_.on_failure(report);
}

host_slot::~host_slot() = default;

std::shared_ptr<const config> host_slot::settings() const {
    return parts_.cfg();
}

fleet_view host_slot::fleet() const {
    return parts_.view();
}

std::optional<time_point> host_slot::dor_deadline() const {
    return parts_.policy.dor_deadline();
}

void host_slot::dor_check_in(bool recovered) {
    log_notes(parts_, parts_.policy.dor_check_in(name(), recovered, states_text(record_.states), now()));
}

asio::awaitable<void> host_slot::wait_change(time_point deadline) {
    co_await changed_.wait(deadline);
}

void host_slot::set_states(const host_states& st, std::string_view why) {
    if (record_.states == st) {
        return;
    }
    const auto before = states_text(record_.states);
    record_.states = st;
    std::string text = fmt::format("{} -> {} ({})", before, states_text(st), why);
    if (record_.has_subfunction()) {
        text += fmt::format("; subfunction {}-{}", to_string(st.subfunction_operational),
                            to_string(st.subfunction_availability));
    }
    spdlog::info("host {}: {}", name(), text);
    parts_.log.log_event(name(), "state", std::move(text));
    parts_.log.save(record_);
    update_alarms();
    notify();
}

void host_slot::set_task(std::string task) {
    if (record_.task == task) {
        return;
    }
    spdlog::debug("host {}: task '{}'", name(), task);
    record_.task = std::move(task);
    parts_.log.save(record_);
    notify();
}

void host_slot::save() {
    parts_.log.save(record_);
}

void host_slot::log_event(std::string_view kind, std::string text) {
    parts_.log.log_event(name(), kind, std::move(text));
}

void host_slot::update_alarms() {
    const auto cfg = settings();
    alarm_input in;
    in.name = name();
    in.states = record_.states;
    in.has_subfunction = record_.has_subfunction();
    in.cause = record_.cause;
    in.degrade_mask = record_.degrade_mask;
    in.heartbeat = record_.heartbeat_alarm;
    in.bmc_unreachable = bmc_usable() && access_alarm(record_.bmc_state, now(), cfg->bmc);
    record_.bmc_alarm = in.bmc_unreachable;
    parts_.log.set_alarms(name(), expected_alarms(in));
}

void host_slot::count_enable(std::optional<std::chrono::milliseconds> took, failure_cause cause) {
    if (took) {
        parts_.enables.observe(std::chrono::duration<double>(*took).count());
    } else {
        parts_.enables.failures[std::string{to_string(cause)}] += 1;
    }
}

std::uint64_t host_slot::next_command_id() {
    return parts_.agents.next_command_id();
}

std::uint64_t host_slot::send(net::command c) {
    return parts_.agents.send(record_.spec, c);
}

void host_slot::start_heartbeat() {
    if (parts_.monitor == nullptr || record_.monitored || record_.self) {
        return;
    }
    monitored_host m;
    m.name = record_.spec.name;
    m.personality = record_.spec.personality;
    m.mgmt_ip = record_.spec.mgmt_ip;
    m.cluster_ip = record_.spec.cluster_ip;
    try {
        parts_.monitor->add_host(m);
        record_.monitored = true;
    } catch (const std::exception& e) {
        spdlog::error("host {}: cannot heartbeat it: {}", name(), e.what());
    }
}

void host_slot::stop_heartbeat() {
    if (parts_.monitor != nullptr && record_.monitored) {
        parts_.monitor->remove_host(record_.spec.name);
    }
    record_.monitored = false;
    record_.degrade_mask &= ~(degrade::heartbeat_mgmt | degrade::heartbeat_cluster);
    update_alarms();
}

bool host_slot::bmc_usable() const {
    return parts_.bmcs.usable(record_);
}

asio::awaitable<bmc::result<bmc::power_state>> host_slot::bmc_power() {
    co_return co_await parts_.bmcs.power(*this);
}

asio::awaitable<bmc::result<void>> host_slot::bmc_act(bmc_request r) {
    co_return co_await parts_.bmcs.act(*this, r);
}

void host_slot::start() {
    supervisor_.spawn("supervisor", supervise(*this));
    start_bmc_audit();
}

void host_slot::start_bmc_audit() {
    if (bmc_usable() && bmc_audit_.size() == 0) {
        bmc_audit_.spawn("BMC audit", parts_.bmcs.audit(*this));
    }
}

asio::awaitable<void> host_slot::stop_bmc_audit() {
    co_await bmc_audit_.stop(stop_grace);
}

asio::awaitable<void> host_slot::stop() {
    co_await supervisor_.stop(stop_grace);
    co_await bmc_audit_.stop(stop_grace);
    notify();
}

}  // namespace mtce::fleet
