#pragma once

// How the controller treats a host's BMC, sans-io: where it is, which protocols to try, when to audit it,
// when it is quarantined and when its access alarm (200.010) stands. Times come in as arguments.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

#include "bmc/types.hpp"
#include "core/config.hpp"

namespace mtce::fleet {

using bmc_clock = std::chrono::steady_clock;

/// "ADDR", "ADDR:PORT" or "[IPV6]:PORT" (as validate_host stores it) into address and port (0: the protocol's
/// default). A bare IPv6 address has no port.
[[nodiscard]] tl::expected<std::pair<std::string, std::uint16_t>, std::string> split_bmc_address(
    std::string_view text);

/// The protocols to try, in order, for a configured bmc type: "redfish" → redfish; "ipmi" → ipmi; "auto" →
/// the one learned before if any, else redfish then ipmi; "none" → nothing.
[[nodiscard]] std::vector<std::string> protocols_to_try(std::string_view configured,
                                                        std::string_view learned);

/// What the controller knows of one BMC's health.
struct bmc_health {
    bool accessible = false;                                 ///< the last exchange succeeded
    std::uint32_t failures = 0;                              ///< audits (or operations) failed in a row
    std::optional<bmc_clock::time_point> unreachable_since;  ///< first failure of this run, or provisioning
    std::optional<bmc_clock::time_point> quarantined_until;  ///< no audit before this; then a probe
    bmc_clock::time_point next_audit{};
    bmc::power_state power = bmc::power_state::unknown;
    std::string last_error;  ///< empty while accessible
};

/// A BMC just provisioned (or known at the controller's start): unreachable until it answers, audited at
/// once.
[[nodiscard]] bmc_health new_bmc_health(bmc_clock::time_point now);

/// An exchange succeeded at `now`: accessible, no failures, no quarantine, next audit a period later.
void record_success(bmc_health& h, bmc_clock::time_point now, const bmc_config& c);

/// An exchange failed at `now` with `why`. After `quarantine_failures` in a row the BMC is quarantined: the
/// next audit is a probe, `reprobe_interval` later; else the next audit is a period later.
void record_failure(bmc_health& h, bmc_clock::time_point now, const bmc_config& c, std::string why);

/// Whether the BMC access alarm stands: unreachable for `access_alarm_delay` or more.
[[nodiscard]] bool access_alarm(const bmc_health& h, bmc_clock::time_point now, const bmc_config& c);

[[nodiscard]] bool quarantined(const bmc_health& h, bmc_clock::time_point now);

/// The audit period; 0 when audits are off (then only operations touch the BMC).
[[nodiscard]] std::chrono::milliseconds audit_period(const bmc_config& c);

}  // namespace mtce::fleet
