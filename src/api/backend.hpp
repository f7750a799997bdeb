#pragma once

// What the controller's REST API serves (design §3.4). The server (api/server.cpp) owns HTTP and the parsing
// of request bodies; the controller implements this interface and owns the data and every decision.
// Everything is called on the event loop's thread.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
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

/// What the controller did with a change; the API maps it to HTTP (router.cpp). The backend says what
/// happened, never which status or error title that is.
enum class result : std::uint8_t {
    done,       ///< made: POST /v1/hosts 201, PATCH 200, POST actions 202, DELETE 204
    invalid,    ///< 400 "bad request": the request names something impossible (the reason says what)
    not_found,  ///< 404 "not found": no such host
    refused,    ///< 409 "refused": the state machine's reason ("host is already unlocked")
    conflict,   ///< 409 "conflict": the name or an address is taken
    not_saved,  ///< 503 "not saved": the inventory could not be written; nothing changed
};

/// What a mutating call did.
struct outcome {
    result kind = result::done;
    std::string reason;  ///< why, for every kind but done
    std::string body;    ///< done: the response document (serialized JSON), empty for none; DELETE sends none

    /// The change was made; `body` is the response document, empty for none.
    [[nodiscard]] static outcome success(std::string body = {}) {
        return {result::done, {}, std::move(body)};
    }
    /// The change was not made, because of `kind` (anything but result::done), and `reason` says why.
    [[nodiscard]] static outcome failure(result kind, std::string reason) {
        return {kind, std::move(reason), {}};
    }

    friend bool operator==(const outcome&, const outcome&) = default;
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
    /// GET /v1/system: a JSON object, the fleet's failure-policy mode and where Dead Office Recovery and
    /// multi-node failure avoidance stand, and the controllers (design §7).
    [[nodiscard]] virtual nlohmann::json system() const = 0;
    /// GET /metrics: Prometheus text exposition format 0.0.4, every line ending in '\n'.
    [[nodiscard]] virtual std::string metrics() const = 0;
    /// GET /v1/alarms: a JSON array of active alarms, each {"id", "host", "severity", "reason", "since"}.
    [[nodiscard]] virtual nlohmann::json alarms() const = 0;
    /// GET /v1/events?since=N: a JSON array of at most `limit` events with ids above `since`, oldest first,
    /// each {"id", "time", "host", "kind", "text"}.
    [[nodiscard]] virtual nlohmann::json events(std::uint64_t since, std::size_t limit) const = 0;

    /// POST /v1/hosts. Completes once the host is durably in the inventory (done, with the host document) or
    /// refused (invalid, conflict, not_saved).
    virtual asio::awaitable<outcome> add_host(add_host_request request) = 0;
    /// PATCH /v1/hosts/{name}. Completes once the change is durable (done, with the host document) or refused
    /// (not_found, refused, invalid, not_saved).
    virtual asio::awaitable<outcome> modify_host(std::string name, modify_host_request request) = 0;
    /// DELETE /v1/hosts/{name}. Completes once the deletion is durable (done) or refused (not_found, refused,
    /// not_saved).
    virtual asio::awaitable<outcome> delete_host(std::string name) = 0;
    /// POST /v1/hosts/{name}/actions with {"action": ...}. Completes once the request is accepted and durable
    /// (done) or refused (refused with the state machine's reason, not_found, invalid for an unknown action,
    /// not_saved).
    virtual asio::awaitable<outcome> act(std::string name, std::string action) = 0;
};

}  // namespace mtce::api
