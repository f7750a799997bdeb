#pragma once

// What the controller's REST API serves (design §3.4). The server (api/server.cpp) owns HTTP and the parsing
// of request bodies; the controller implements this interface and owns the data and every decision.
// Everything is called on the event loop's thread.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <asio/awaitable.hpp>
#include <nlohmann/json_fwd.hpp>

namespace mtce::api {

/// POST /v1/hosts, as parsed from the body: fields of the right JSON types, nothing more is checked here.
/// Absent optional fields are empty.
struct add_host_request {
    std::string name;
    std::string personality;
    std::vector<std::string> subfunctions;
    std::string mgmt_ip;
    std::string cluster_ip;
    std::string bmc_type;  ///< "" when absent (the backend treats it as "none")
    std::string bmc_address;
    std::string bmc_username;
    std::string bmc_password;   ///< never logged, never returned
    bool bmc_insecure = false;  ///< Redfish: do not verify the BMC's certificate (this host only)
};

/// PATCH /v1/hosts/{name}, as parsed from the body: the BMC fields to change; a field not given keeps its
/// value. The other fields of a host are fixed once it is added.
struct modify_host_request {
    std::optional<std::string> bmc_type;
    std::optional<std::string> bmc_address;
    std::optional<std::string> bmc_username;
    std::optional<std::string> bmc_password;  ///< never logged, never returned
    std::optional<bool> bmc_insecure;

    friend bool operator==(const modify_host_request&, const modify_host_request&) = default;
};

/// What a mutating call did. `status` is the HTTP status: 201 (added), 202 (action accepted), 204 (deleted),
/// 200 (modified), 400 (invalid), 404 (no such host), 409 (refused by the state machine, or a duplicate), 503
/// (the state could not be saved). For 2xx, `body` is the response document (may be null for 204); otherwise
/// `error` and `reason` make the {"error": ..., "reason": ...} body.
struct outcome {
    int status = 200;
    std::string error;
    std::string reason;
    std::string body;  ///< serialized JSON for 2xx responses; empty for none
};

class backend {
public:
    virtual ~backend() = default;

    /// GET /v1/hosts: a JSON array of host documents (design §3.4), sorted by name.
    [[nodiscard]] virtual nlohmann::json hosts() const = 0;
    /// GET /v1/hosts/{name}: writes the host document to `out`; false if there is no such host (404).
    [[nodiscard]] virtual bool host(std::string_view name, nlohmann::json& out) const = 0;
    /// GET /v1/health: a JSON object; "status" is "ok" while the controller serves.
    [[nodiscard]] virtual nlohmann::json health() const = 0;
    /// GET /metrics: Prometheus text exposition format 0.0.4, every line ending in '\n'.
    [[nodiscard]] virtual std::string metrics() const = 0;
    /// GET /v1/alarms: a JSON array of active alarms, each {"id", "host", "severity", "reason", "since"}.
    [[nodiscard]] virtual nlohmann::json alarms() const = 0;
    /// GET /v1/events?since=N: a JSON array of at most `limit` events with ids above `since`, oldest first,
    /// each {"id", "time", "host", "kind", "text"}.
    [[nodiscard]] virtual nlohmann::json events(std::uint64_t since, std::size_t limit) const = 0;

    /// POST /v1/hosts. Completes once the host is durably in the inventory (201) or refused.
    virtual asio::awaitable<outcome> add_host(add_host_request request) = 0;
    /// PATCH /v1/hosts/{name}. Completes once the change is durable (200 with the host document) or refused.
    virtual asio::awaitable<outcome> modify_host(std::string name, modify_host_request request) = 0;
    /// DELETE /v1/hosts/{name}. Completes once the deletion is accepted and durable (202) or refused.
    virtual asio::awaitable<outcome> delete_host(std::string name) = 0;
    /// POST /v1/hosts/{name}/actions with {"action": ...}. Completes once the request is accepted and durable
    /// (202) or refused (409 with the state machine's reason, 404, 400 for an unknown action).
    virtual asio::awaitable<outcome> act(std::string name, std::string action) = 0;
};

}  // namespace mtce::api
