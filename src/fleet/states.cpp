#include "fleet/states.hpp"

#include <array>
#include <utility>

#include <fmt/format.h>

namespace mtce::fleet {

namespace {

template <class E, std::size_t N>
std::string_view name_of(const std::array<std::pair<E, std::string_view>, N>& names, E value) noexcept {
    for (const auto& [v, n] : names) {
        if (v == value) {
            return n;
        }
    }
    return "unknown";
}

template <class E, std::size_t N>
std::optional<E> value_of(const std::array<std::pair<E, std::string_view>, N>& names,
                          std::string_view text) noexcept {
    for (const auto& [v, n] : names) {
        if (n == text && !n.empty()) {
            return v;
        }
    }
    return std::nullopt;
}

constexpr std::array<std::pair<admin_state, std::string_view>, 2> admin_names{{
    {admin_state::locked, "locked"},
    {admin_state::unlocked, "unlocked"},
}};

constexpr std::array<std::pair<oper_state, std::string_view>, 2> oper_names{{
    {oper_state::disabled, "disabled"},
    {oper_state::enabled, "enabled"},
}};

constexpr std::array<std::pair<avail_state, std::string_view>, 9> avail_names{{
    {avail_state::not_installed, "not-installed"},
    {avail_state::available, "available"},
    {avail_state::degraded, "degraded"},
    {avail_state::failed, "failed"},
    {avail_state::intest, "intest"},
    {avail_state::power_off, "power-off"},
    {avail_state::offline, "offline"},
    {avail_state::online, "online"},
    {avail_state::offduty, "offduty"},
}};

constexpr std::array<std::pair<host_action, std::string_view>, 11> action_names{{
    {host_action::none, ""},
    {host_action::lock, "lock"},
    {host_action::force_lock, "force-lock"},
    {host_action::unlock, "unlock"},
    {host_action::reboot, "reboot"},
    {host_action::reset, "reset"},
    {host_action::power_on, "power-on"},
    {host_action::power_off, "power-off"},
    {host_action::power_cycle, "power-cycle"},
    {host_action::reinstall, "reinstall"},
    {host_action::remove, "delete"},
}};

constexpr std::array<std::pair<failure_cause, std::string_view>, 8> cause_names{{
    {failure_cause::none, "none"},
    {failure_cause::config, "config"},
    {failure_cause::goenabled, "goenabled"},
    {failure_cause::services, "services"},
    {failure_cause::heartbeat, "heartbeat"},
    {failure_cause::boot, "boot"},
    {failure_cause::luks, "luks"},
    {failure_cause::subfunction, "subfunction"},
}};

}  // namespace

std::string_view to_string(admin_state s) noexcept {
    return name_of(admin_names, s);
}
std::string_view to_string(oper_state s) noexcept {
    return name_of(oper_names, s);
}
std::string_view to_string(avail_state s) noexcept {
    return name_of(avail_names, s);
}
std::string_view to_string(host_action a) noexcept {
    return name_of(action_names, a);
}
std::string_view to_string(failure_cause c) noexcept {
    return name_of(cause_names, c);
}

std::optional<admin_state> parse_admin_state(std::string_view s) noexcept {
    return value_of(admin_names, s);
}
std::optional<oper_state> parse_oper_state(std::string_view s) noexcept {
    return value_of(oper_names, s);
}
std::optional<avail_state> parse_avail_state(std::string_view s) noexcept {
    return value_of(avail_names, s);
}
std::optional<host_action> parse_host_action(std::string_view s) noexcept {
    return value_of(action_names, s);
}
std::optional<failure_cause> parse_failure_cause(std::string_view s) noexcept {
    return value_of(cause_names, s);
}

std::string states_text(const host_states& s) {
    return fmt::format("{}-{}-{}", to_string(s.administrative), to_string(s.operational),
                       to_string(s.availability));
}

}  // namespace mtce::fleet
