#pragma once

// What the controller's REST API serves (design §3.4). The server (api/server.cpp) owns HTTP; the controller
// implements this interface and owns the data. Everything is called on the event loop's thread.

#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

namespace mtce::api {

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
};

}  // namespace mtce::api
