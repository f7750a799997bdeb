#include "fleet/decisions.hpp"

#include <algorithm>
#include <tuple>

#include <fmt/format.h>

#include "net/message.hpp"

namespace mtce::fleet {

namespace {

namespace f = net::alive_flags;

bool is_bmc_action(host_action a) noexcept {
    return a == host_action::power_on || a == host_action::power_off || a == host_action::power_cycle ||
           a == host_action::reinstall;
}

bool has(std::uint32_t flags, std::uint32_t bit) noexcept {
    return (flags & bit) != 0;
}

verdict failed(std::string reason) {
    return {step::failed, std::move(reason)};
}

/// The host's own words for a failure, or `fallback` when it sent none.
std::string why(const net::alive_report& alive, std::string_view fallback) {
    return alive.failure.empty() ? std::string{fallback} : alive.failure;
}

}  // namespace

std::optional<std::string> refusal(const admission_view& host, host_action action, const fleet_view& fleet) {
    const bool locked = host.administrative == admin_state::locked;
    if (host.in_progress == host_action::remove) {
        return std::string{"host is being deleted"};
    }
    switch (action) {
    case host_action::lock:
    case host_action::force_lock:
        if (locked) {
            return std::string{"host is already locked"};
        }
        if (host.self) {
            return std::string{"it is the active controller (this one)"};
        }
        if (host.personality == role::controller && host.operational == oper_state::enabled &&
            fleet.enabled_controllers <= 1) {
            return std::string{"it is the only enabled controller"};
        }
        return std::nullopt;
    case host_action::unlock:
        if (!locked) {
            return std::string{"host is already unlocked"};
        }
        return std::nullopt;
    case host_action::reboot:
    case host_action::reset:
        if (host.self) {
            return std::string{"it is the active controller (this one)"};
        }
        if (!locked) {
            return fmt::format("host is unlocked; lock it first");
        }
        return std::nullopt;
    case host_action::remove:
        if (host.self) {
            return std::string{"it is the active controller (this one)"};
        }
        if (!locked) {
            return std::string{"host is unlocked; lock it first"};
        }
        return std::nullopt;
    case host_action::none:
        return std::string{"no action given"};
    default:
        break;
    }
    if (is_bmc_action(action)) {
        if (!host.has_bmc) {
            return std::string{"host has no BMC provisioned"};
        }
        if (host.self) {
            return std::string{"it is the active controller (this one)"};
        }
        if (!locked) {
            return std::string{"host is unlocked; lock it first"};
        }
        return std::nullopt;
    }
    return std::string{"unknown action"};
}

admin_state admin_after(admin_state current, host_action action) noexcept {
    switch (action) {
    case host_action::lock:
    case host_action::force_lock:
        return admin_state::locked;
    case host_action::unlock:
        return admin_state::unlocked;
    default:
        return current;
    }
}

bool works_the_bmc(job_kind k) noexcept {
    return k == job_kind::reset || k == job_kind::power_on || k == job_kind::power_off ||
           k == job_kind::power_cycle || k == job_kind::reinstall;
}

std::string_view to_string(job_kind k) noexcept {
    switch (k) {
    case job_kind::none:
        return "none";
    case job_kind::add:
        return "add";
    case job_kind::enable:
        return "enable";
    case job_kind::enable_subfunction:
        return "enable-subfunction";
    case job_kind::recover:
        return "recover";
    case job_kind::lock:
        return "lock";
    case job_kind::force_lock:
        return "force-lock";
    case job_kind::reboot:
        return "reboot";
    case job_kind::reset:
        return "reset";
    case job_kind::power_on:
        return "power-on";
    case job_kind::power_off:
        return "power-off";
    case job_kind::power_cycle:
        return "power-cycle";
    case job_kind::reinstall:
        return "reinstall";
    }
    return "unknown";
}

job_kind bmc_holder(job_kind running, bool finishing, std::optional<host_action> request) noexcept {
    if (works_the_bmc(running) && !finishing) {
        return running;
    }
    if (request) {
        plan_input in;
        in.request = request;
        const auto next = next_job(in).job;
        if (works_the_bmc(next)) {
            return next;
        }
    }
    return job_kind::none;
}

bool preempted_by(job_kind running, host_action request) noexcept {
    if (request == host_action::none) {
        return false;
    }
    return running != job_kind::add && running != job_kind::force_lock && running != job_kind::none;
}

plan next_job(const plan_input& in) noexcept {
    if (in.request) {
        switch (*in.request) {
        case host_action::lock:
            return {job_kind::lock, std::nullopt};
        case host_action::force_lock:
            return {job_kind::force_lock, std::nullopt};
        case host_action::unlock:
            return {job_kind::enable, std::nullopt};
        case host_action::reboot:
            return {job_kind::reboot, std::nullopt};
        case host_action::reset:
            return {job_kind::reset, std::nullopt};
        case host_action::power_on:
            return {job_kind::power_on, std::nullopt};
        case host_action::power_off:
            return {job_kind::power_off, std::nullopt};
        case host_action::power_cycle:
            return {job_kind::power_cycle, std::nullopt};
        case host_action::reinstall:
            return {job_kind::reinstall, std::nullopt};
        default:
            break;  // not a job (delete is carried out by the request itself)
        }
    }
    const auto& st = in.states;
    if (st.administrative == admin_state::locked) {
        return {};
    }
    if (in.auto_recovery_disabled) {
        return {};  // until a person locks and unlocks it, powers it on or off
    }
    auto due = [&](const std::optional<time_point>& at) { return !at || *at <= in.now; };
    if (st.operational == oper_state::enabled) {
        if (in.recovery_due) {
            return {job_kind::recover, std::nullopt};
        }
        if (in.has_subfunction &&
            (st.subfunction_operational == oper_state::disabled || in.subfunction_recheck)) {
            if (due(in.subfunction_retry_at)) {
                return {job_kind::enable_subfunction, std::nullopt};
            }
            return {job_kind::none, in.subfunction_retry_at};
        }
        return {};
    }
    if (due(in.retry_at)) {
        return {job_kind::enable, std::nullopt};
    }
    return {job_kind::none, in.retry_at};
}

std::chrono::milliseconds retry_interval(failure_cause cause, const autorecovery_config& c) noexcept {
    switch (cause) {
    case failure_cause::config:
        return c.config_interval;
    case failure_cause::goenabled:
        return c.goenabled_interval;
    case failure_cause::services:
        return c.services_interval;
    case failure_cause::heartbeat:
        return c.heartbeat_interval;
    case failure_cause::boot:
        return c.boot_interval;
    // No interval of their own (design §7 names only the causes): an encrypted volume is part of the host's
    // configuration, and the subfunction's enable runs its own self-tests, so they retry as those do.
    case failure_cause::luks:
        return c.config_interval;
    case failure_cause::subfunction:
        return c.goenabled_interval;
    case failure_cause::none:
        break;
    }
    return std::chrono::milliseconds{0};
}

std::string autorecovery_banner(failure_cause cause) {
    std::string_view what = "Failure";
    switch (cause) {
    case failure_cause::config:
        what = "Configuration failure";
        break;
    case failure_cause::goenabled:
        what = "In-Test Failure";
        break;
    case failure_cause::services:
        what = "Service Failure";
        break;
    case failure_cause::heartbeat:
        what = "Heartbeat Failure";
        break;
    case failure_cause::luks:
        what = "LUKS volume failure";
        break;
    case failure_cause::subfunction:
        what = "Worker Configuration failure";
        break;
    case failure_cause::boot:
    case failure_cause::none:
        break;
    }
    return fmt::format("{}, threshold reached, Lock/Unlock to retry", what);
}

verdict judge_config(const net::alive_report& alive) {
    const auto flags = alive.flags;
    if (flags == 0) {
        return {};
    }
    if (!has(flags, f::configured)) {
        return failed(why(alive, "the host reports it is not configured"));
    }
    if (has(flags, f::luks_failed)) {
        return failed("the host's encrypted volume failed");
    }
    if (reports_config_failure(flags)) {
        return failed(why(alive, "the host reports it is not healthy"));
    }
    return {step::passed, {}};
}

verdict judge_goenabled(const net::alive_report& alive, bool subfunction) {
    const auto pass = subfunction ? f::subf_goenabled : f::main_goenabled;
    const auto fail = subfunction ? f::subf_goenabled_failed : f::main_goenabled_failed;
    if (has(alive.flags, fail)) {
        return failed(why(alive, "a self-test failed"));
    }
    if (has(alive.flags, pass)) {
        return {step::passed, {}};
    }
    return {};
}

verdict judge_services(const net::alive_report& alive, bool subfunction) {
    const auto pass = subfunction ? f::subf_services_started : f::main_services_started;
    const auto fail = subfunction ? f::subf_services_failed : f::main_services_failed;
    if (has(alive.flags, fail)) {
        return failed(why(alive, "a host service failed to start"));
    }
    if (has(alive.flags, pass)) {
        return {step::passed, {}};
    }
    return {};
}

verdict judge_subfunction_config(const net::alive_report& alive) {
    // A zero flags word is no failure (reference §2.4): the host has not said anything yet.
    if (has(alive.flags, f::subf_configured)) {
        return {step::passed, {}};
    }
    if (has(alive.flags, f::subf_goenabled_failed | f::subf_services_failed)) {
        return failed(why(alive, "the host reports its worker subfunction failed"));
    }
    return {};
}

self_failure self_failure_outcome(bool peer_controller, std::uint32_t failures,
                                  std::uint32_t threshold) noexcept {
    if (peer_controller) {
        return self_failure::degrade;
    }
    return failures > threshold ? self_failure::give_up : self_failure::reboot;
}

bool unlock_needs_reboot(bool reachable, std::uint64_t uptime_s,
                         std::chrono::milliseconds fresh_boot_uptime) noexcept {
    if (!reachable) {
        return false;
    }
    return std::chrono::seconds{uptime_s} >= fresh_boot_uptime;
}

std::vector<std::string> degrade_names(std::uint32_t mask) {
    std::vector<std::string> out;
    for (const auto& [bit, name] :
         {std::pair{degrade::heartbeat_mgmt, "heartbeat-mgmt"},
          std::pair{degrade::heartbeat_cluster, "heartbeat-cluster"},
          std::pair{degrade::failure_flag, "failure-flag"},
          std::pair{degrade::service_manager, "service-manager"},
          std::pair{degrade::subfunction, "subfunction"},
          std::pair{degrade::critical_failure, "critical-failure"},
          std::pair{degrade::config_failure, "config-failure"}, std::pair{degrade::luks, "luks"}}) {
        if (has(mask, bit)) {
            out.emplace_back(name);
        }
    }
    return out;
}

std::uint32_t alive_degrade(std::uint32_t alive_flags) noexcept {
    std::uint32_t out = 0;
    const auto failures = f::main_goenabled_failed | f::subf_goenabled_failed | f::main_services_failed |
                          f::subf_services_failed;
    if (has(alive_flags, failures)) {
        out |= degrade::failure_flag;
    }
    if (has(alive_flags, f::sm_degraded)) {
        out |= degrade::service_manager;
    }
    if (has(alive_flags, f::luks_failed)) {
        out |= degrade::luks;
    }
    return out;
}

bool reports_config_failure(std::uint32_t alive_flags) noexcept {
    const auto explained = f::main_goenabled_failed | f::subf_goenabled_failed | f::main_services_failed |
                           f::subf_services_failed;
    return has(alive_flags, f::not_healthy) && !has(alive_flags, explained);
}

std::uint32_t heartbeat_degrade_bit(heartbeat::network net) noexcept {
    return net == heartbeat::network::mgmt ? degrade::heartbeat_mgmt : degrade::heartbeat_cluster;
}

avail_state in_service_availability(std::uint32_t degrade_mask) noexcept {
    return degrade_mask == 0 ? avail_state::available : avail_state::degraded;
}

std::optional<avail_state> idle_availability(const host_states& st, bool reachable) noexcept {
    if (st.operational == oper_state::enabled) {
        return std::nullopt;
    }
    const bool follows =
        st.administrative == admin_state::locked
            ? st.availability != avail_state::power_off
            : st.availability == avail_state::online || st.availability == avail_state::offline;
    if (!follows) {
        return std::nullopt;
    }
    return reachable ? avail_state::online : avail_state::offline;
}

std::optional<net::command_kind> lock_correction(admin_state admin, std::uint32_t alive_flags) noexcept {
    if (alive_flags == 0) {
        return std::nullopt;
    }
    const bool reports_locked = has(alive_flags, f::locked);
    if (admin == admin_state::locked && !reports_locked) {
        return net::command_kind::lock;
    }
    if (admin == admin_state::unlocked && reports_locked) {
        return net::command_kind::unlock;
    }
    return std::nullopt;
}

}  // namespace mtce::fleet
