#pragma once

#include <string>

#include "api/backend.hpp"
#include "heartbeat/monitor.hpp"

namespace mtce::roles {

/// The API's view of the hosts while the controller only heartbeats them (no inventory or lifecycles
/// yet): host documents with design §3.4's fields, states derived from the heartbeat alone.
///
/// A monitored host counts as in service (unlocked). Its operational state is "disabled" and its
/// availability "failed" while heartbeat is lost on any network it is monitored on, "degraded" at the
/// degrade threshold, else "enabled"/"available"; the task names a loss. Fields the heartbeat cannot know
/// (uptime, BMC, subfunction states) are empty or zero.
class heartbeat_backend : public api::backend {
public:
    heartbeat_backend(const heartbeat::monitor& m, std::string controller_name)
        : monitor_{m}, controller_{std::move(controller_name)} {}

    [[nodiscard]] nlohmann::json hosts() const override;
    [[nodiscard]] bool host(std::string_view name, nlohmann::json& out) const override;
    [[nodiscard]] nlohmann::json health() const override;
    [[nodiscard]] std::string metrics() const override;
    [[nodiscard]] nlohmann::json alarms() const override;
    [[nodiscard]] nlohmann::json events(std::uint64_t since, std::size_t limit) const override;
    asio::awaitable<api::outcome> add_host(api::add_host_request request) override;
    asio::awaitable<api::outcome> delete_host(std::string name) override;
    asio::awaitable<api::outcome> act(std::string name, std::string action) override;

private:
    const heartbeat::monitor& monitor_;
    std::string controller_;
};

}  // namespace mtce::roles
