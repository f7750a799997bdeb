#pragma once

// What the controller asks of a host's BMC, whatever the protocol (Redfish over HTTPS, IPMI through
// ipmitool). A driver never blocks the event loop: every operation is a coroutine with its own deadline
// (bmc.request_timeout per exchange, retried with a bounded back-off), and fails with a bmc_error that says
// what went wrong in words an operator can act on. Passwords never appear in errors, logs or argv.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
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
};                          ///< one exchange (or one ipmitool run)
std::uint32_t retries = 3;  ///< attempts after a timeout, an unreachable BMC or a 5xx, with back-off
std::chrono::milliseconds backoff{std::chrono::seconds{1}};  ///< first pause, doubled each time, at most 8x
};

/// The pause before retry number `retry` (0 for the first): timing.backoff, doubled each time, at most 8
/// times it.
[[nodiscard]] std::chrono::milliseconds backoff_delay(const timing& t, unsigned retry) noexcept;

/// Whether a failed request is worth sending again: after a timeout or no answer only, and for a request that
/// must not run twice (`repeatable` false: a reset, a power cycle) only when it never reached the BMC.
[[nodiscard]] bool worth_retrying(const error& e, bool repeatable) noexcept;

/// `text` with every occurrence of `secret` replaced by "****" (nothing replaced when `secret` is empty).
[[nodiscard]] std::string redact(std::string text, std::string_view secret);

/// One BMC. Not thread-safe: used from the event loop's thread. Operations of one driver may be awaited one
/// at a time (the controller serialises them per host).
class driver {
public:
    virtual ~driver() = default;
    [[nodiscard]] virtual std::string_view protocol() const noexcept = 0;  ///< "redfish" or "ipmi"

    /// Reaches the BMC and learns what it offers (Redfish: service root, the system, its reset types).
    /// Succeeds only if the BMC speaks this protocol with these credentials.
    virtual asio::awaitable<result<capabilities>> probe() = 0;
    virtual asio::awaitable<result<power_state>> power() = 0;
    /// The request only; callers verify the outcome by polling power().
    virtual asio::awaitable<result<void>> power_on() = 0;
    virtual asio::awaitable<result<void>> power_off() = 0;  ///< immediate (ForceOff / chassis power off)
    virtual asio::awaitable<result<void>> power_cycle() = 0;
    virtual asio::awaitable<result<void>>
    reset() = 0;  ///< immediate restart (ForceRestart / chassis power reset)
    /// The next boot (only) from the network.
    virtual asio::awaitable<result<void>> boot_pxe_once() = 0;
};

}  // namespace mtce::bmc
