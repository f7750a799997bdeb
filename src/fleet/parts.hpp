#pragma once

// The parts the fleet manager is composed of (fleet.cpp wires them): the journal, the link to the host
// agents, BMC access, the heartbeat monitor, the fleet policy, and the managed hosts' slots. Each part has
// its own narrow interface; this struct only holds them together for the files that read several
// (reports.cpp, requests.cpp, views.cpp). Internal to src/fleet.

#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>

#include <asio/any_io_executor.hpp>

#include "core/config.hpp"
#include "fleet/agent_link.hpp"
#include "fleet/bmc_access.hpp"
#include "fleet/fleet_policy.hpp"
#include "fleet/host_slot.hpp"
#include "fleet/journal.hpp"

namespace mtce::heartbeat {
class monitor;
}

namespace mtce::fleet {

/// A host that reports mtcAlive but is not in the inventory.
/// Orders host names ignoring ASCII case: like DNS names, "Worker-0" and "worker-0" name one host.
struct name_less {
    using is_transparent = void;
    bool operator()(std::string_view a, std::string_view b) const noexcept {
        const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
        return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(),
                                            [&](char x, char y) { return lower(x) < lower(y); });
    }
};

struct discovered_host {
    net::alive_report alive;
    time_point seen{};
};

/// Enables that finished or failed, for the metrics.
struct enable_stats {
    static constexpr std::array<double, 12> bounds{1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 3600};
    std::array<std::uint64_t, bounds.size()> buckets{};
    std::uint64_t count = 0;
    double sum = 0;
    std::map<std::string, std::uint64_t> failures;  ///< by cause
    void observe(double seconds);
};

struct fleet_parts {
    fleet_parts(const asio::any_io_executor& e, config_store& c, net::wire_sender& w, heartbeat::monitor* m)
        : ex{e}, settings{c}, log{e}, agents{e, w}, bmcs{c}, monitor{m} {}

    asio::any_io_executor ex;
    config_store& settings;
    journal log;
    agent_link agents;
    bmc_access bmcs;
    heartbeat::monitor* monitor;  ///< null: no network address, nothing to heartbeat
    fleet_policy policy;
    enable_stats enables;

    std::map<std::string, std::unique_ptr<host_slot>, name_less> hosts;
    std::map<std::string, discovered_host, name_less> discovered;
    std::set<std::string, name_less> monitor_only;  ///< [[controller.hosts]]
    std::set<std::string, name_less> adding;        ///< names being saved by an add request

    [[nodiscard]] std::shared_ptr<const config> cfg() const { return settings.current(); }
    [[nodiscard]] host_slot* find(std::string_view name);
    [[nodiscard]] const host_slot* find(std::string_view name) const;
    /// What the fleet's rules need to know of the fleet.
    [[nodiscard]] fleet_view view() const;
    /// No controller has the worker subfunction (not an all-in-one system).
    [[nodiscard]] bool standard_system() const;
};

}  // namespace mtce::fleet
