#pragma once

// How `mtce system show` prints the system view (design §7) for a person: the fleet's failure-policy mode,
// where Dead Office Recovery and multi-node failure avoidance stand, and the controllers. Pure: JSON in,
// text out. A field that is missing, null or empty is shown as "-", as host_view's cell_text() does.

#include <string>

#include <nlohmann/json_fwd.hpp>

namespace mtce::cli {

/// The Dead Office Recovery line: "active since STARTED, deadline DEADLINE, R of T hosts recovered" while it
/// is active, "ended ENDED (started STARTED), R of T hosts recovered" once it ended, "inactive" if it never
/// started.
[[nodiscard]] std::string dor_summary(const nlohmann::json& dor);

/// The multi-node failure avoidance line: "active since SINCE, hosts missing: mgmt M, cluster C (entered
/// N times)" while it is active, else "inactive (entered N times)".
[[nodiscard]] std::string mnfa_summary(const nlohmann::json& mnfa);

/// `system show`: aligned "mode:", "dor:", "mnfa:" and "controllers:" lines; under "dor:" one indented line
/// per host it waits for (name, state, "recovered", "checked in" or "waiting"), under "mnfa:" one per
/// host it counts missing; one line per controller (name, state, and "(this controller)" for the one that
/// answered), each line ending in '\n'.
[[nodiscard]] std::string render_system(const nlohmann::json& system);

}  // namespace mtce::cli
