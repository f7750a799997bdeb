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

/// Writes the policy's notes to the event log (a note of the whole system is logged as a warning too).
void log_notes(fleet_parts& fleet, const std::vector<policy_note>& notes);

/// Carries out what the fleet policy decided: notes, the heartbeat period, alarms and availability, held and
/// released hosts, recoveries.
void apply_plan(fleet_parts& fleet, const period_plan& plan);

/// One heartbeat period's events, seen together by the fleet policy.
void on_heartbeat_period(fleet_parts& fleet, std::span<const heartbeat_report> events);

/// Idle hosts' availability from their mtcAlive (online/offline); forgets discovered hosts not heard from.
void audit_availability(fleet_parts& fleet, time_point now);

}  // namespace mtce::fleet
