#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "api/backend.hpp"

namespace mtce::test {

/// A backend with two hosts, worker-0 (heartbeat degraded on cluster) and controller-0.
class fake_backend : public api::backend {
public:
    fake_backend() {
        hosts_ = nlohmann::json::array();
        hosts_.push_back(
            {{"name", "controller-0"},
             {"personality", "controller"},
             {"subfunctions", {"controller", "worker"}},
             {"administrative", "unlocked"},
             {"operational", "enabled"},
             {"availability", "available"},
             {"subfunction_operational", "enabled"},
             {"subfunction_availability", "available"},
             {"task", ""},
             {"uptime_s", 7322},
             {"mgmt_ip", "192.168.204.2"},
             {"cluster_ip", "192.168.206.2"},
             {"bmc_type", "redfish"},
             {"heartbeat",
              {{"mgmt", {{"state", "ok"}, {"misses", 0}}}, {"cluster", {{"state", "ok"}, {"misses", 0}}}}},
             {"auto_recovery_disabled", false}});
        hosts_.push_back({{"name", "worker-0"},
                          {"personality", "worker"},
                          {"subfunctions", {"worker"}},
                          {"administrative", "unlocked"},
                          {"operational", "enabled"},
                          {"availability", "degraded"},
                          {"subfunction_operational", nullptr},
                          {"subfunction_availability", nullptr},
                          {"task", "Heartbeat degraded"},
                          {"uptime_s", 42},
                          {"mgmt_ip", "192.168.204.11"},
                          {"cluster_ip", "192.168.206.11"},
                          {"bmc_type", "none"},
                          {"heartbeat",
                           {{"mgmt", {{"state", "ok"}, {"misses", 1}}},
                            {"cluster", {{"state", "degraded"}, {"misses", 7}}}}},
                          {"auto_recovery_disabled", false}});
    }

    [[nodiscard]] nlohmann::json hosts() const override { return hosts_; }
    [[nodiscard]] bool host(std::string_view name, nlohmann::json& out) const override {
        for (const auto& h : hosts_) {
            if (h["name"] == name) {
                out = h;
                return true;
            }
        }
        return false;
    }
    [[nodiscard]] nlohmann::json health() const override { return {{"status", "ok"}}; }
    [[nodiscard]] std::string metrics() const override {
        return "# HELP mtce_hosts Hosts in the inventory.\n# TYPE mtce_hosts gauge\nmtce_hosts 2\n";
    }

    [[nodiscard]] nlohmann::json alarms() const override { return nlohmann::json::array(); }
    [[nodiscard]] nlohmann::json events(std::uint64_t, std::size_t) const override {
        return nlohmann::json::array();
    }
    asio::awaitable<api::outcome> add_host(api::add_host_request) override { co_return api::outcome{501, "", "", ""}; }
    asio::awaitable<api::outcome> delete_host(std::string) override { co_return api::outcome{501, "", "", ""}; }
    asio::awaitable<api::outcome> act(std::string, std::string) override { co_return api::outcome{501, "", "", ""}; }

    nlohmann::json hosts_;
};

}  // namespace mtce::test
