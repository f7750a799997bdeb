#pragma once

// What the hosts tell the fleet and what the fleet makes of it: mtcAlive reports, command acks and results,
// a heartbeat period's events (through the fleet policy), and the availability audit of idle hosts.
// Internal to src/fleet.

#include <span>

#include "fleet/fleet_policy.hpp"
#include "fleet/inbox.hpp"
#include "fleet/parts.hpp"

namespace mtce::fleet {

/// An authenticated message from a host.
void on_message(fleet_parts& fleet, inbound in);

/// One heartbeat period's events, seen together by the fleet policy.
void on_heartbeat_period(fleet_parts& fleet, std::span<const heartbeat_report> events);

/// Idle hosts' availability from their mtcAlive (online/offline); forgets discovered hosts not heard from.
void audit_availability(fleet_parts& fleet, time_point now);

}  // namespace mtce::fleet
