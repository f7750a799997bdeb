#pragma once

// How `mtce host list` and `mtce host show` print host documents (design §3.4) for a person. Pure: JSON in,
// text out. A field that is missing, null or empty is shown as "-", so an older or newer controller's
// documents still print.

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

namespace mtce::cli {

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

/// `host show`: one aligned "key: value" line per field of the host document, in the design's order, the
/// heartbeat as one line per network, then any other fields the document has.
[[nodiscard]] std::string render_host(const nlohmann::json& host);

}  // namespace mtce::cli
