#pragma once

// What a managed host is (design §3.1 `mtce host add`, §3.4 POST /v1/hosts), and the validation of a request
// to add one. Pure functions: no I/O, no clock.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

#include "core/config.hpp"

namespace mtce::api {
struct add_host_request;
struct modify_host_request;
}  // namespace mtce::api

namespace mtce::fleet {

/// How the controller reaches a host's board management controller. The password is not here: the inventory
/// keeps it apart (inventory::bmc_password) so that it is never copied into documents or logs.
struct bmc_spec {
    std::string type = "none";  ///< "none", "redfish", "ipmi" or "auto" (learned: Redfish first, else IPMI)
    std::string address;     ///< "" for none; else an IP or DNS name, with an optional ":PORT" ("[v6]:PORT")
    std::string username;    ///< "" for none
    bool verify_tls = true;  ///< Redfish: verify the BMC's certificate (false only when asked per host)

    friend bool operator==(const bmc_spec&, const bmc_spec&) = default;
};

/// A managed host, validated: every field obeys validate_host's rules.
struct host_spec {
    std::string name;
    role personality = role::worker;
    std::vector<role> functions;  ///< the main function (= personality) first, then the worker subfunction of
                                  ///< an all-in-one controller
    std::string mgmt_ip;          ///< canonical text form (inet_ntop)
    std::string cluster_ip;       ///< canonical text form, or "" when the host is not on the cluster network
    bmc_spec bmc;

    /// True for an all-in-one controller (a controller with the worker subfunction).
    [[nodiscard]] bool has_worker_subfunction() const;

    friend bool operator==(const host_spec&, const host_spec&) = default;
};

/// Checks a request to add a host and builds its spec; the error is a reason for a 400 that names the field
/// and quotes the offending value (never the BMC password). The rules:
/// - name: a host name as the wire protocol accepts it (net::is_valid_sender);
/// - personality: controller, worker or storage;
/// - subfunctions: function names, no duplicates; the personality itself may be listed (it is dropped); the
/// only
///   other one allowed is "worker", and only on a controller;
/// - mgmt_ip: required; cluster_ip: optional and not mgmt_ip; each a numeric IPv4 or IPv6 unicast address
/// (not
///   unspecified, multicast or broadcast), stored in canonical form;
/// - bmc_type "" or "none": bmc_address, bmc_username and bmc_password empty; "redfish" or "ipmi": an address
///   (IP or RFC 1123 DNS name, optional ":PORT" 1-65535, IPv6 as "[addr]:PORT"), a username of 1 to 64
///   printable ASCII characters, a password of 1 to 256 bytes without NUL or newline.
[[nodiscard]] tl::expected<host_spec, std::string> validate_host(const api::add_host_request& in);

/// A host's BMC after a change, with its password.
struct bmc_change {
    bmc_spec bmc;
    std::string password;
};

/// Applies a change of a host's BMC (PATCH /v1/hosts/{name}) to what it has, `current` and its `password`,
/// and checks the result by validate_host's BMC rules. A field not given keeps its value, also across a
/// change of type between redfish, ipmi and auto (bmc_insecure then stays only for Redfish); a BMC added to
/// a host without one starts from nothing, and bmc_type "none" drops every BMC field (giving one with it is
/// an error).
[[nodiscard]] tl::expected<bmc_change, std::string> modify_bmc(const bmc_spec& current,
                                                               const std::string& password,
                                                               const api::modify_host_request& patch);

/// "controller,worker": the functions in order, comma-separated (the host document's `subfunctions`).
[[nodiscard]] std::string to_string(const std::vector<role>& functions);

/// The inverse of to_string: one or more function names separated by commas; nullopt if any is unknown.
[[nodiscard]] std::optional<std::vector<role>> parse_functions(std::string_view text);

/// The canonical text form of a numeric IPv4 or IPv6 address ("FD00:0::01" -> "fd00::1"); nullopt if `text`
/// is not one.
[[nodiscard]] std::optional<std::string> canonical_ip(std::string_view text);

}  // namespace mtce::fleet
