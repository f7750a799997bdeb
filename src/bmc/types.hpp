#pragma once

// What the controller knows and says of a BMC, whatever the protocol: power states, errors, capabilities,
// where it is and how long to wait for it. Plain values, no I/O: the fleet's rules use them without Asio.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

namespace mtce::bmc {

/// The host's power as its BMC reports it.
enum class power_state : std::uint8_t { on, off, unknown };

[[nodiscard]] std::string_view to_string(power_state p) noexcept;

/// Why an operation failed.
enum class errc : std::uint8_t {
    /// No answer, connection refused, name or route unknown.
    unreachable,
    /// No complete answer within the deadline (after the retries).
    timeout,
    /// Credentials refused (HTTP 401/403, IPMI "invalid user name / password").
    auth,
    /// The BMC's certificate failed verification.
    tls,
    /// The BMC does not offer what is asked (no reset type, no boot override, not Redfish).
    unsupported,
    /// The BMC answered with an error (HTTP 4xx/5xx other than the above, IPMI completion code).
    refused,
    /// The answer is not what the protocol promises (garbage JSON, unexpected ipmitool output).
    bad_answer,
};

[[nodiscard]] std::string_view to_string(errc e) noexcept;

struct error {
    errc code = errc::refused;
    int http_status = 0;  ///< Redfish: the HTTP status when there was one
    std::string message;  ///< what happened, with the BMC's own message when it gave one; never a password
    /// The request may have reached the BMC. False only when it provably did not (no connection, no
    /// session), so that even a request that must not run twice can be sent again.
    bool may_have_reached = true;
};

template <class T>
using result = tl::expected<T, error>;

/// The reset types a Redfish ComputerSystem advertises, or what IPMI offers.
struct capabilities {
    std::vector<std::string> reset_types;  ///< e.g. "On", "ForceOff", "GracefulShutdown", "ForceRestart"
    bool boot_override = false;            ///< one-time boot override to PXE
};

/// Where and who: one host's BMC.
struct endpoint {
    std::string address;     ///< IP address or DNS name, as given (no port)
    std::uint16_t port = 0;  ///< 0: the protocol's default (443 for Redfish, 623 for IPMI)
    std::string username;
    std::string password;
    bool verify_tls = true;  ///< Redfish: verify the certificate (bmc.ca_file, else the system's store)
};

/// Timing of one driver.
struct timing {
    /// One exchange (or one ipmitool run).
    std::chrono::milliseconds request_timeout{std::chrono::seconds{20}};
    /// Attempts after a timeout, an unreachable BMC or a 5xx, with back-off.
    std::uint32_t retries = 3;
    /// The first pause, doubled each time, at most 8x.
    std::chrono::milliseconds backoff{std::chrono::seconds{1}};
};

/// The pause before retry number `retry` (0 for the first): timing.backoff, doubled each time, at most 8
/// times it.
[[nodiscard]] std::chrono::milliseconds backoff_delay(const timing& t, unsigned retry) noexcept;

/// Whether a failed request is worth sending again: after a timeout or no answer only, and for a request that
/// must not run twice (`repeatable` false: a reset, a power cycle) only when it never reached the BMC.
[[nodiscard]] bool worth_retrying(const error& e, bool repeatable) noexcept;

/// `text` with every occurrence of `secret` replaced by "****" (nothing replaced when `secret` is empty).
[[nodiscard]] std::string redact(std::string text, std::string_view secret);

}  // namespace mtce::bmc
