#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "core/config.hpp"

namespace mtce::cli {

/// Exit statuses of every subcommand (mtce(8), EXIT STATUS).
enum exit_status : int {
    exit_ok = 0,
    exit_failed = 1,
    exit_usage = 2,  ///< usage or configuration error
    exit_no_such_host = 3,
    exit_refused = 4,      ///< refused by the state machine
    exit_unreachable = 5,  ///< controller unreachable
    exit_wait_timeout = 6,
};

/// Parses argv and runs the subcommand; returns the process exit status.
int run(int argc, char** argv);

struct agent_options {
    role self = role::worker;
    std::filesystem::path config_path = default_config_path;
    std::optional<std::string> log_level;  ///< overrides agent.log_level
    bool foreground = false;
};

/// `mtce agent`: runs the role until SIGTERM/SIGINT; SIGHUP reloads the configuration.
int run_agent(const agent_options& options);

struct demo_options {
    int hosts = 3;
    std::filesystem::path self_binary;  ///< the mtce executable to start agents from
};

/// `mtce demo`: a controller and `hosts` hosts on loopback in a temporary directory, their lifecycles shown
/// live.
int run_demo(const demo_options& options);

}  // namespace mtce::cli
