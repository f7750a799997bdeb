#include "fleet/alarms.hpp"

#include <algorithm>
#include <tuple>

#include <fmt/format.h>

#include "fleet/decisions.hpp"

namespace mtce::fleet {

namespace {
constexpr std::uint32_t degrade_failure_flag = degrade::failure_flag;
constexpr std::uint32_t degrade_critical_failure = degrade::critical_failure;
}  // namespace

std::vector<alarm> expected_alarms(const alarm_input& in) {
    std::vector<alarm> out;
    const auto& st = in.states;
    const bool locked = st.administrative == admin_state::locked;
    if (locked) {
        out.push_back({"200.001", "warning",
                       fmt::format("{} was administratively locked to take it out of service.", in.name)});
    }
    const bool failed =
        !locked && st.operational == oper_state::disabled && st.availability == avail_state::failed;
    const bool critical_in_service =
        !locked && st.operational == oper_state::enabled && (in.degrade_mask & degrade_critical_failure) != 0;
    if ((failed && in.cause != failure_cause::config) || critical_in_service) {
        out.push_back(
            {"200.004", "critical",
             fmt::format("{} experienced a service-affecting failure. Auto-recovery in progress.", in.name)});
    } else if (!locked && st.operational == oper_state::enabled &&
               (in.degrade_mask & degrade_failure_flag) != 0) {
        out.push_back(
            {"200.004", "major",
             fmt::format("{} reports a failed self-test or host service while in service.", in.name)});
    }
    for (const auto& [net, id, label] :
         {std::tuple{heartbeat::network::mgmt, "200.005", "Management"},
          std::tuple{heartbeat::network::cluster, "200.009", "Cluster-host"}}) {
        const auto level = in.heartbeat[static_cast<std::size_t>(net)];
        if (level == heartbeat::hb_state::failed) {
            out.push_back(
                {id, "critical",
                 fmt::format("{} experienced a persistent critical '{} Network' communication failure.",
                             in.name, label)});
        } else if (level == heartbeat::hb_state::degraded) {
            out.push_back({id, "major",
                           fmt::format("{} is experiencing intermittent '{} Network' heartbeat failures.",
                                       in.name, label)});
        }
    }
    if (in.bmc_unreachable) {
        out.push_back(
            {"200.010", "warning", fmt::format("{} access to board management module has failed.", in.name)});
    }
    const bool in_service = !locked && st.operational == oper_state::enabled;
    if ((failed && in.cause == failure_cause::config) ||
        (in_service && (in.degrade_mask & degrade::config_failure) != 0)) {
        out.push_back(
            {"200.011", "critical", fmt::format("{} experienced a configuration failure.", in.name)});
    }
    if (in.has_subfunction && !locked && st.subfunction_operational == oper_state::disabled &&
        st.subfunction_availability == avail_state::failed) {
        out.push_back(
            {"200.013", "critical",
             fmt::format("{} compute subfunction experienced a service-affecting failure.", in.name)});
    }
    if (in_service && (in.degrade_mask & degrade::luks) != 0) {
        out.push_back({"200.016", "critical",
                       fmt::format("{} encrypted volume is not active; the host is degraded.", in.name)});
    }
    std::sort(out.begin(), out.end(), [](const alarm& a, const alarm& b) { return a.id < b.id; });
    return out;
}

held_conditions conditions_of(const std::vector<alarm>& held, const host_states& states) {
    held_conditions out;
    const bool in_service =
        states.administrative != admin_state::locked && states.operational == oper_state::enabled;
    for (const auto& a : held) {
        if (a.id == "200.004" && in_service) {
            out.degrade_mask |= a.severity == "critical" ? degrade_critical_failure : degrade_failure_flag;
        } else if (a.id == "200.005" || a.id == "200.009") {
            out.heartbeat[a.id == "200.005" ? 0 : 1] =
                a.severity == "critical" ? heartbeat::hb_state::failed : heartbeat::hb_state::degraded;
        } else if (a.id == "200.010") {
            out.bmc_unreachable = true;
        } else if (a.id == "200.011" && in_service) {
            out.degrade_mask |= degrade::config_failure;
        } else if (a.id == "200.016" && in_service) {
            out.degrade_mask |= degrade::luks;
        }
    }
    return out;
}

}  // namespace mtce::fleet
