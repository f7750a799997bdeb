#pragma once

// The client subcommands that read the controller's alarms and event log: `mtce alarm list` and
// `mtce event list [--follow]`.

#include <chrono>

#include "cli/client_commands.hpp"

namespace mtce::cli {

/// `mtce alarm list [--json]`; returns the exit status (mtce(8)).
int run_alarm_list(const client_options& options);

/// How `mtce event list` runs.
struct event_options {
    bool follow = false;                       ///< --follow
    std::chrono::milliseconds interval{1000};  ///< between two reads while following
};

/// `mtce event list [--json] [--follow]`: every event, oldest first (as many pages as the API needs). With
/// `follow`, then every `interval` the events after the last one shown, until SIGINT or SIGTERM (exit 0);
/// an unreachable controller is noted once on stderr per outage and the command goes on. With --json, one
/// JSON array; with --json and --follow, one JSON object per line (JSON Lines).
int run_event_list(const client_options& options, const event_options& events);

}  // namespace mtce::cli
