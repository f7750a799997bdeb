#pragma once

// How `mtce host list` and `mtce host show` print host documents (design §3.4) for a person. Pure: JSON in,
// text out. A field that is missing, null or empty is shown as "-", so an older or newer controller's
// documents still print.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace mtce::cli {

/// `s` with control characters (a terminal escape sequence, say) replaced by '?'.
[[nodiscard]] std::string printable(std::string_view s);

/// `rows` as lines of columns separated by two spaces, each column as wide as its widest cell (the last one
/// not padded), each line ending in '\n'.
[[nodiscard]] std::string aligned_table(const std::vector<std::vector<std::string>>& rows);

/// One value as a table cell: strings as they are (control characters replaced by '?'), arrays joined with
/// ',', numbers and booleans as JSON, anything missing, null or empty as "-".
[[nodiscard]] std::string cell_text(const nlohmann::json& doc, std::string_view field);

/// A network's heartbeat from host["heartbeat"][network]: its state, plus "(N)" when it has N > 0 misses,
/// e.g. "degraded(7)"; "-" if the document has none.
[[nodiscard]] std::string heartbeat_cell(const nlohmann::json& host, std::string_view network);

/// "3d 4h 5m 6s", leading zero units left out ("42s", "0s").
[[nodiscard]] std::string format_uptime(std::uint64_t seconds);

/// The `host list` table: a header line NAME PERSONALITY ADMIN OPER AVAIL TASK MGMT-HB CLUSTER-HB and one
/// line per element of `hosts` (an array of host documents), columns aligned, each line ending in '\n'.
[[nodiscard]] std::string render_host_table(const nlohmann::json& hosts);

/// A host document's state as ADMIN-OPER-AVAIL, e.g. "unlocked-enabled-available" (cell_text() of each
/// field, so "-" for a missing one).
[[nodiscard]] std::string state_text(const nlohmann::json& host);

/// The line `host wait` prints when the host's state or task changes: "CLOCK NAME STATE TASK\n", e.g.
/// "12:03:04 worker-0 unlocked-disabled-intest Testing"; without the task when it is empty.
[[nodiscard]] std::string render_wait_line(std::string_view clock, std::string_view name,
                                           const nlohmann::json& host);

/// `host show`: one aligned "key: value" line per field of the host document, in the design's order, the
/// heartbeat as one line per network, then any other fields the document has. After
/// `auto_recovery_disabled`, while auto-recovery counts consecutive failures, an `autorecovery` line says of
/// which cause and how many, e.g. "goenabled, 3 in a row".
[[nodiscard]] std::string render_host(const nlohmann::json& host);

}  // namespace mtce::cli
