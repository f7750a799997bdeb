#pragma once

// The REST API's request bodies and queries (design §3.4), parsed without I/O: the JSON shape is checked
// here (an object, the known fields, their JSON types); what the values mean (a valid host name, address or
// action) is the backend's to decide. Every error is a reason for a 400 answer.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <tl/expected.hpp>

#include "api/backend.hpp"

namespace mtce::api {

/// The most events one GET /v1/events answers with, and its default.
inline constexpr std::size_t max_events_limit = 1000;

/// GET /v1/events?since=N&limit=M
struct events_query {
    std::uint64_t since = 0;               ///< only events with a larger id
    std::size_t limit = max_events_limit;  ///< 1 to max_events_limit

    friend bool operator==(const events_query&, const events_query&) = default;
};

/// The body of POST /v1/hosts: a JSON object with the strings `name`, `personality` and `mgmt_ip`, and
/// optionally `subfunctions` (an array of strings), `cluster_ip`, `bmc_type`, `bmc_address`, `bmc_username`
/// and `bmc_password` (strings; null is taken as absent). Any other field is an error ("unknown field 'x'"),
/// as is a field of the wrong type ("'mgmt_ip' must be a string") or a body that is not JSON ("the body is
/// not valid JSON: <where>").
[[nodiscard]] tl::expected<add_host_request, std::string> parse_add_host(std::string_view body);

/// The body of PATCH /v1/hosts/{name}: a JSON object with at least one of the strings `bmc_type`,
/// `bmc_address`, `bmc_username`, `bmc_password` and the boolean `bmc_insecure`. A host's other fields
/// (`name`, `personality`, `subfunctions`, `mgmt_ip`, `cluster_ip`) cannot be changed: naming one is an error
/// that says so; any other field is unknown. null is a type error here (not "absent"): a PATCH says what to
/// change.
[[nodiscard]] tl::expected<modify_host_request, std::string> parse_modify_host(std::string_view body);

/// The action of POST /v1/hosts/{name}/actions: a JSON object whose only field is the string `action`.
[[nodiscard]] tl::expected<std::string, std::string> parse_action(std::string_view body);

/// The query of GET /v1/events (without the '?'): `since` (a whole number, default 0) and `limit` (1 to
/// max_events_limit, default max_events_limit), each at most once, separated by '&'. Anything else is an
/// error.
[[nodiscard]] tl::expected<events_query, std::string> parse_events_query(std::string_view query);

}  // namespace mtce::api
