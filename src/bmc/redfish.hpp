#pragma once

// The Redfish driver: a host's BMC over HTTPS (DMTF DSP0266), through the controller's http_client.
//
// What it reads: the service root (RedfishVersion, the Systems collection, the SessionService), the first
// member of Systems, that ComputerSystem's PowerState, its #ComputerSystem.Reset action (the target and the
// reset types, from ResetType@Redfish.AllowableValues or else from the @Redfish.ActionInfo resource) and its
// Boot object. What it sends: the reset action with a reset type the BMC advertised, never another, and a
// PATCH of Boot for a one-time PXE boot. Basic authentication first; a session (X-Auth-Token) when the BMC
// refuses basic authentication and offers a SessionService.
//
// The parsers below are pure (no I/O) and tested alone.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bmc/driver.hpp"
#include "bmc/http_client.hpp"

namespace mtce::bmc {

namespace redfish {

/// What the service root (/redfish/v1/) says.
struct service_root {
    std::string version;                          ///< RedfishVersion, e.g. "1.15.0"
    std::string systems = "/redfish/v1/Systems";  ///< Systems.@odata.id
    std::string sessions;  ///< the Sessions collection (Links.Sessions) if a SessionService is advertised
};

/// A Redfish service root with RedfishVersion major >= 1. unsupported: not Redfish (no RedfishVersion, or
/// major 0); bad_answer: not a JSON object.
[[nodiscard]] result<service_root> parse_service_root(std::string_view body);

/// The @odata.id of a collection's first member. unsupported: the collection is empty.
[[nodiscard]] result<std::string> parse_first_member(std::string_view collection);

/// A ComputerSystem's PowerState: On and PoweringOn are on, Off and PoweringOff are off, anything else (or
/// none) is unknown.
[[nodiscard]] result<power_state> parse_power_state(std::string_view system);

/// A ComputerSystem's #ComputerSystem.Reset action.
struct reset_action {
    std::string target;                    ///< where to POST {"ResetType": ...}
    std::vector<std::string> reset_types;  ///< ResetType@Redfish.AllowableValues, if given
    std::string action_info;               ///< @Redfish.ActionInfo, if given
};

/// The reset action of a ComputerSystem. unsupported: the system has no #ComputerSystem.Reset action.
[[nodiscard]] result<reset_action> parse_reset_action(std::string_view system);

/// The AllowableValues of the ResetType parameter of an ActionInfo resource (empty if it lists none).
[[nodiscard]] result<std::vector<std::string>> parse_action_info(std::string_view body);

/// Whether the ComputerSystem offers a boot source override to Pxe: it has a Boot object, and Pxe is among
/// BootSourceOverrideTarget@Redfish.AllowableValues when that is given.
[[nodiscard]] result<bool> parse_boot_override(std::string_view system);

/// The BMC's own message in an error body: @Message.ExtendedInfo[0].Message, else error.message, else "".
/// Control characters become spaces; at most 300 characters.
[[nodiscard]] std::string error_message(std::string_view body);

/// Whether a reset of this type leaves the system in the same state however often it runs (On, ForceOn,
/// ForceOff, GracefulShutdown), so that it may be sent again when its answer is lost; a restart or a power
/// cycle may not.
[[nodiscard]] bool repeatable_reset(std::string_view type) noexcept;

/// The first of `preferred` that `offered` contains.
[[nodiscard]] std::optional<std::string> choose_reset_type(const std::vector<std::string>& offered,
                                                           std::span<const std::string_view> preferred);

/// "https://ADDRESS:PORT" for an endpoint (an IPv6 address gets brackets; port 0 is 443). unreachable: the
/// address is not a host name or an IP address (it has '@', '/', blanks, brackets...).
[[nodiscard]] result<std::string> base_url(const endpoint& ep);

}  // namespace redfish

/// A Redfish BMC. Learns the system, its reset types and its boot override on probe() (or on the first
/// operation), and keeps them until the next probe(). Not thread-safe; one operation at a time. A reset that
/// the BMC accepts is a success even if the power does not change: callers verify with power().
class redfish_driver final : public driver {
public:
    /// Loads libcurl through `client` (which must outlive the driver). If it cannot be loaded, every
    /// operation fails with errc::unsupported and the loader's message; if the address is not a host name or
    /// an IP address, with errc::unreachable.
    redfish_driver(http_client& client, endpoint ep, timing t);
    /// Logs out of the session, if one was opened (best effort, not awaited).
    ~redfish_driver() override;
    redfish_driver(const redfish_driver&) = delete;
    redfish_driver& operator=(const redfish_driver&) = delete;

    [[nodiscard]] std::string_view protocol() const noexcept override { return "redfish"; }
    asio::awaitable<result<capabilities>> probe() override;
    asio::awaitable<result<power_state>> power() override;
    asio::awaitable<result<void>> power_on() override;
    asio::awaitable<result<void>> power_off() override;
    asio::awaitable<result<void>> power_cycle() override;
    asio::awaitable<result<void>> reset() override;
    asio::awaitable<result<void>> boot_pxe_once() override;

private:
    // Arguments by reference: callers pass named locals, which live until the call completes.
    // A request that is not `repeatable` (a restart, a power cycle) is sent again only after a failure that
    // proves it never reached the BMC: its answer may have been lost after the BMC acted on it.
    asio::awaitable<result<http_response>> exchange(std::string_view method, const std::string& path,
                                                    const std::string& body, bool repeatable = true);
    asio::awaitable<result<std::string>> get(const std::string& path);
    asio::awaitable<result<void>> discover();
    asio::awaitable<result<void>> ensure_discovered();
    asio::awaitable<bool> log_in();
    asio::awaitable<result<void>> send_reset(std::span<const std::string_view> preferred);
    [[nodiscard]] http_request request(const std::string& method, const std::string& path,
                                       const std::string& body) const;
    [[nodiscard]] error scrub(error e) const;

    http_client& client_;
    endpoint ep_;
    timing timing_;
    std::string base_;
    std::optional<error> unusable_;  ///< why every operation fails at once (no libcurl, a bad address)

    std::optional<redfish::service_root> root_;
    std::string system_path_;
    std::string reset_target_;
    std::vector<std::string> reset_types_;
    bool boot_pxe_ = false;
    bool discovered_ = false;

    std::string token_;         ///< X-Auth-Token of the open session, if any
    std::string session_path_;  ///< the session resource, deleted on destruction
};

/// The driver for one Redfish BMC, sharing the controller's `client`.
[[nodiscard]] std::unique_ptr<driver> make_redfish_driver(http_client& client, endpoint ep, timing t);

}  // namespace mtce::bmc
