#pragma once

#include <functional>

#include <asio/awaitable.hpp>

#include "core/config.hpp"
#include "host/flags.hpp"
#include "host/scripts.hpp"

namespace mtce::host {

enum class service_action { start, stop };

[[nodiscard]] std::string_view to_string(service_action a);

/// Called as each script finishes, for live progress; may be empty.
using script_observer = std::function<void(const script_run&)>;

/// Runs every executable of `host.goenabled_dir` at once, each as `<script> start` under
/// `host.goenabled_timeout`, and passes if all exit 0. An empty directory passes; a missing one fails.
/// `function` is the function under test: the main function, or worker for the subfunction context.
/// Each script runs under `isolation` (child_spec::isolation). Cancellation kills every script's process
/// group (and cgroup) and rethrows.
asio::awaitable<run_report> run_goenabled(const config& cfg, context ctx, script_observer observer = {},
                                          script_isolation isolation = script_isolation::process_group);

/// Runs `host.services_dir/<function>/*` one at a time, each under `host.services_timeout`:
/// `start` in name order, stopping at the first failure (later services may depend on it);
/// `stop` in reverse order, running every script and reporting the first failure.
asio::awaitable<run_report> run_services(const config& cfg, role function, service_action action,
                                         script_observer observer = {},
                                         script_isolation isolation = script_isolation::process_group);

/// The environment every script gets (see mtce.toml(5)): MTCE_ROLE, MTCE_FUNCTION, MTCE_CONTEXT,
/// MTCE_FUNCTIONS, MTCE_HOSTNAME, MTCE_RUN_DIR, MTCE_STATE_DIR on top of a fixed PATH and LANG.
[[nodiscard]] std::vector<std::pair<std::string, std::string>> script_env(const config& cfg, role function,
                                                                          std::string_view ctx);

}  // namespace mtce::host
