#pragma once

// What the REST API shows of the fleet (design §3.4): host documents, alarms, events, health, the system
// view and the Prometheus metrics. Reads only. Internal to src/fleet.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "fleet/parts.hpp"

namespace mtce::fleet {

/// "controller", "worker": the functions' names, main function first (a host document's `subfunctions`).
[[nodiscard]] std::vector<std::string> function_names(const std::vector<role>& functions);
[[nodiscard]] nlohmann::json host_document(const fleet_parts& fleet, const host_slot& slot);
[[nodiscard]] nlohmann::json hosts_document(const fleet_parts& fleet);
/// A managed, monitor-only or discovered host's document; false if there is no such host.
[[nodiscard]] bool find_host_document(const fleet_parts& fleet, std::string_view name, nlohmann::json& out);
[[nodiscard]] nlohmann::json health_document(const fleet_parts& fleet);
/// GET /v1/system (design §7): the fleet policy's mode, where Dead Office Recovery and multi-node failure
/// avoidance stand (their moments in UTC; null for one that has not come, and MNFA's `since` only while it
/// is active), and every controller of the inventory with its state.
[[nodiscard]] nlohmann::json system_document(const fleet_parts& fleet);
[[nodiscard]] nlohmann::json alarms_document(const fleet_parts& fleet);
[[nodiscard]] nlohmann::json events_document(const fleet_parts& fleet, std::uint64_t since,
                                             std::size_t limit);
[[nodiscard]] std::string metrics_text(const fleet_parts& fleet);

}  // namespace mtce::fleet
