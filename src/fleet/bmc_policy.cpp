#include "fleet/bmc_policy.hpp"

#include <algorithm>
#include <charconv>

namespace mtce::fleet {

tl::expected<std::pair<std::string, std::uint16_t>, std::string> split_bmc_address(std::string_view text) {
    auto port_of = [](std::string_view p) -> std::optional<std::uint16_t> {
        unsigned v = 0;
        const auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
        if (p.empty() || ec != std::errc{} || end != p.data() + p.size() || v == 0 || v > 65535) {
            return std::nullopt;
        }
        return static_cast<std::uint16_t>(v);
    };
    if (text.empty()) {
        return tl::unexpected{std::string{"no BMC address"}};
    }
    if (text.front() == '[') {
        const auto close = text.find(']');
        if (close == std::string_view::npos) {
            return tl::unexpected{"'" + std::string{text} + "' has no closing ']'"};
        }
        const auto host = text.substr(1, close - 1);
        const auto rest = text.substr(close + 1);
        if (rest.empty()) {
            return std::pair{std::string{host}, std::uint16_t{0}};
        }
        const auto port = rest.front() == ':' ? port_of(rest.substr(1)) : std::nullopt;
        if (!port) {
            return tl::unexpected{"'" + std::string{text} + "' has no valid port after ']'"};
        }
        return std::pair{std::string{host}, *port};
    }
    const auto colon = text.find(':');
    if (colon == std::string_view::npos) {
        return std::pair{std::string{text}, std::uint16_t{0}};
    }
    if (text.find(':', colon + 1) != std::string_view::npos) {
        return std::pair{std::string{text}, std::uint16_t{0}};  // a bare IPv6 address
    }
    const auto port = port_of(text.substr(colon + 1));
    if (!port) {
        return tl::unexpected{"'" + std::string{text} + "' has no valid port"};
    }
    return std::pair{std::string{text.substr(0, colon)}, *port};
}

std::vector<std::string> protocols_to_try(std::string_view configured, std::string_view learned) {
    if (configured == "redfish" || configured == "ipmi") {
        return {std::string{configured}};
    }
    if (configured != "auto") {
        return {};
    }
    if (learned == "redfish" || learned == "ipmi") {
        return {std::string{learned}};
    }
    return {"redfish", "ipmi"};
}

bmc_health new_bmc_health(bmc_clock::time_point now) {
    bmc_health h;
    h.unreachable_since = now;
    h.next_audit = now;
    return h;
}

std::chrono::milliseconds audit_period(const bmc_config& c) {
    return std::chrono::seconds{c.audit_period_s};
}

void record_success(bmc_health& h, bmc_clock::time_point now, const bmc_config& c) {
    h.accessible = true;
    h.failures = 0;
    h.unreachable_since.reset();
    h.quarantined_until.reset();
    h.last_error.clear();
    const auto period = audit_period(c);
    h.next_audit = period.count() == 0 ? bmc_clock::time_point::max() : now + period;
}

void record_failure(bmc_health& h, bmc_clock::time_point now, const bmc_config& c, std::string why) {
    h.accessible = false;
    ++h.failures;
    if (!h.unreachable_since) {
        h.unreachable_since = now;
    }
    h.last_error = std::move(why);
    h.power = bmc::power_state::unknown;
    if (h.failures >= c.quarantine_failures) {
        h.quarantined_until = now + c.reprobe_interval;
        h.next_audit = *h.quarantined_until;
        return;
    }
    const auto period = audit_period(c);
    h.next_audit = period.count() == 0 ? bmc_clock::time_point::max() : now + period;
}

bool access_alarm(const bmc_health& h, bmc_clock::time_point now, const bmc_config& c) {
    return h.unreachable_since && now - *h.unreachable_since >= c.access_alarm_delay;
}

bool quarantined(const bmc_health& h, bmc_clock::time_point now) {
    return h.quarantined_until && now < *h.quarantined_until;
}

}  // namespace mtce::fleet
