#pragma once

#include <optional>
#include <string_view>

namespace mtce {

/// Sets up the default spdlog logger: stderr when `foreground`, the journal otherwise
/// (SYSLOG_IDENTIFIER=mtce). A failing sink is reported on stderr, never silently.
void init_logging(bool foreground, std::string_view level);

/// Changes the level of the default logger; false if `level` is not a level name.
bool set_log_level(std::string_view level);

}  // namespace mtce
