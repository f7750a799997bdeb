#pragma once

// What the REST API shows of the heartbeat: a host's levels as JSON, a monitor-only host's document, and the
// monitor's Prometheus metrics. Pure functions of the monitor's state.

#include <array>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "heartbeat/monitor.hpp"

namespace mtce::heartbeat {

/// {"mgmt": {"state": ..., "misses": n}, "cluster": {...}}.
[[nodiscard]] nlohmann::json levels_document(const std::array<net_status, network_count>& status);

/// A host heartbeated but not managed (a `[[controller.hosts]]` entry): design §3.4's fields, with
/// "management": "monitor-only", administrative "unlocked", and operational/availability from the heartbeat
/// alone (disabled-failed while lost on a network, degraded at the degrade threshold, else
/// enabled-available; the task names a loss).
[[nodiscard]] nlohmann::json monitor_only_document(const monitored_view& h);

/// The monitor's families in Prometheus text format: hosts by heartbeat state per network, periods, late
/// periods, requests, send failures, replies, events, datagrams dropped by reason, responses by result.
[[nodiscard]] std::string monitor_metrics(const monitor& m);

}  // namespace mtce::heartbeat
