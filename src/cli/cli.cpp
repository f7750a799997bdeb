#include "cli/cli.hpp"

#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <map>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/client_commands.hpp"
#include "cli/host_commands.hpp"
#include "cli/log_commands.hpp"
#include "mtce/version.hpp"

namespace mtce::cli {

namespace {

CLI::Validator role_validator() {
    return CLI::IsMember({"controller", "worker", "storage"});
}

/// Without --role the file is checked for every role: it is valid if some role can run with it (an
/// all-in-one controller's file, with subfunctions, is not a worker's), and each role's verdict is shown.
int check_config(const std::filesystem::path& path, const std::optional<std::string>& role_name) {
    std::vector<role> roles;
    if (role_name) {
        roles.push_back(*parse_role(*role_name));
    } else {
        roles = {role::controller, role::worker, role::storage};
    }
    std::vector<std::pair<role, config_errors>> refused;
    bool valid_for_one = false;
    for (auto r : roles) {
        auto cfg = load_config(path, r);
        if (cfg) {
            valid_for_one = true;
            fmt::print("{}: valid for the {} role\n", path.string(), to_string(r));
        } else {
            refused.emplace_back(r, std::move(cfg.error()));
        }
    }
    if (valid_for_one) {
        for (const auto& [r, errors] : refused) {
            fmt::print("{}: not for the {} role: {}\n", path.string(), to_string(r),
                       errors.front().to_string());
        }
        return exit_ok;
    }
    for (const auto& e : refused.front().second) {
        fmt::print(stderr, "{}\n", e.to_string());
    }
    return exit_usage;
}

std::filesystem::path self_path(const char* argv0) {
    std::error_code ec;
    auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
    return ec ? std::filesystem::path{argv0} : p;
}

}  // namespace

int run(int argc, char** argv) {
    CLI::App app{
        "mtce — bare-metal host maintenance: heartbeat, self-tests, host services, lock/unlock, recovery.\n"
        "One executable for the controller, worker and storage roles. See mtce(8).",
        "mtce"};
    app.require_subcommand(1);
    app.fallthrough();

    // mtce agent
    agent_options agent;
    std::string agent_role;
    std::string agent_config = default_config_path;
    std::string log_level;
    auto* agent_cmd = app.add_subcommand("agent", "Run the maintenance daemon in a role (as systemd does)");
    agent_cmd->add_option("--role", agent_role, "Role to run: controller, worker or storage")
        ->required()
        ->check(role_validator());
    agent_cmd->add_option("--config", agent_config, "Configuration file")->capture_default_str();
    agent_cmd
        ->add_option("--log-level", log_level,
                     "Log level: trace, debug, info, warn, error, critical, off (overrides agent.log_level)")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
    agent_cmd->add_flag("--foreground", agent.foreground, "Log to stderr instead of the journal");

    // Client commands share --api, --config and --json.
    std::string api;
    std::string client_config;
    bool json = false;
    auto add_api = [&](CLI::App* cmd) {
        cmd->add_option("--api", api,
                        "Controller API URL, http://ADDRESS:PORT or unix:/PATH (default: $MTCE_API, else the "
                        "socket controller.api_socket if present, else controller.api_listen)");
        cmd->add_option("--config", client_config,
                        "Configuration file whose controller.api_listen names the API (default: " +
                            std::string{default_config_path} + " if readable)");
    };
    auto add_json = [&](CLI::App* cmd) {
        cmd->add_flag("--json", json, "Print one JSON document on stdout");
    };

    auto* host_cmd = app.add_subcommand("host", "Inspect and act on hosts (controller API client)");
    host_cmd->require_subcommand(1);
    add_api(host_cmd);
    std::string name;
    auto* host_list = host_cmd->add_subcommand("list", "List every host and its state");
    add_json(host_list);
    auto* host_show = host_cmd->add_subcommand("show", "Show one host");
    host_show->add_option("NAME", name, "Host name")->required();
    add_json(host_show);

    auto* host_add = host_cmd->add_subcommand("add", "Add a host to the inventory");
    add_options add;
    host_add->add_option("NAME", add.name, "Host name")->required();
    host_add->add_option("--personality", add.personality, "controller, worker or storage")
        ->required()
        ->check(role_validator());
    host_add->add_option("--subfunctions", add.subfunctions, "Comma-separated subfunctions, e.g. worker");
    host_add->add_option("--mgmt-ip", add.mgmt_ip, "Management network address")->required();
    host_add->add_option("--cluster-ip", add.cluster_ip, "Cluster network address");
    // --bmc-type, --bmc-address, --bmc-username and --bmc-password-file, as add and modify take them.
    const auto add_bmc = [](CLI::App* cmd, std::string& type, std::string& address, std::string& username,
                            std::filesystem::path& password_file, const char* type_help) {
        cmd->add_option("--bmc-type", type, type_help)
            ->check(CLI::IsMember({"redfish", "ipmi", "auto", "none"}));
        cmd->add_option("--bmc-address", address, "BMC address, ADDR[:PORT]");
        cmd->add_option("--bmc-username", username, "BMC user name");
        cmd->add_option("--bmc-password-file", password_file, "File holding the BMC password");
    };
    add_bmc(host_add, add.bmc_type, add.bmc_address, add.bmc_username, add.bmc_password_file,
            "redfish, ipmi, auto (learned: Redfish, else IPMI) or none");
    host_add->add_flag("--bmc-insecure", add.bmc_insecure,
                       "Do not verify this host's Redfish BMC certificate (a BMC with a self-signed one)");

    auto* host_modify =
        host_cmd->add_subcommand("modify", "Change a host's BMC (its protocol is learned again)");
    modify_options modify;
    host_modify->add_option("NAME", modify.name, "Host name")->required();
    add_bmc(host_modify, modify.bmc_type, modify.bmc_address, modify.bmc_username, modify.bmc_password_file,
            "redfish, ipmi, auto or none (none drops the BMC)");
    host_modify->add_flag("--bmc-insecure", modify.bmc_insecure,
                          "Stop verifying this host's Redfish BMC certificate");
    host_modify->add_flag("--bmc-verify", modify.bmc_verify,
                          "Verify this host's Redfish BMC certificate again");

    auto* host_delete = host_cmd->add_subcommand("delete", "Delete a locked host");
    host_delete->add_option("NAME", name, "Host name")->required();

    bool force = false;
    std::map<std::string, CLI::App*> actions;
    for (const char* action :
         {"lock", "unlock", "reboot", "reset", "power-on", "power-off", "power-cycle", "reinstall"}) {
        auto* cmd = host_cmd->add_subcommand(action, fmt::format("{} a host", action));
        cmd->add_option("NAME", name, "Host name")->required();
        cmd->add_flag("--force", force, "With lock: force-lock (takes the host out of service at once)");
        actions[action] = cmd;
    }

    auto* host_wait = host_cmd->add_subcommand("wait", "Wait until a host reaches a state");
    std::string state;
    int wait_timeout = 600;
    host_wait->add_option("NAME", name, "Host name")->required();
    host_wait->add_option("--state", state, "ADMIN-OPER-AVAIL, e.g. unlocked-enabled-available")->required();
    host_wait->add_option("--timeout", wait_timeout, "Seconds to wait (exit 6 when they pass)")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);

    auto* alarm_cmd = app.add_subcommand("alarm", "Active alarms (controller API client)");
    alarm_cmd->require_subcommand(1);
    add_api(alarm_cmd);
    auto* alarm_list = alarm_cmd->add_subcommand("list", "List active alarms");
    add_json(alarm_list);

    auto* event_cmd = app.add_subcommand("event", "The event log (controller API client)");
    event_cmd->require_subcommand(1);
    add_api(event_cmd);
    auto* event_list = event_cmd->add_subcommand("list", "List events");
    add_json(event_list);
    bool follow = false;
    event_list->add_flag("--follow", follow, "Keep printing new events");

    auto* system_cmd =
        app.add_subcommand("system", "The fleet's failure policies and controllers (controller API client)");
    system_cmd->require_subcommand(1);
    add_api(system_cmd);
    auto* system_show = system_cmd->add_subcommand(
        "show",
        "Show the policy mode, Dead Office Recovery, multi-node failure avoidance and the controllers");
    add_json(system_show);

    auto* config_cmd = app.add_subcommand("config", "Configuration tools");
    config_cmd->require_subcommand(1);
    auto* config_check = config_cmd->add_subcommand("check", "Validate a configuration file; exit 0 or 2");
    std::string check_path = default_config_path;
    std::string check_role;
    config_check->add_option("--config", check_path, "Configuration file")->capture_default_str();
    config_check->add_option("--role", check_role, "Check for this role only (default: every role)")
        ->check(role_validator());

    auto* demo_cmd = app.add_subcommand("demo", "Run a live demonstration on loopback, unprivileged");
    demo_options demo;
    demo_cmd->add_option("--hosts", demo.hosts, "Number of hosts")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);

    auto* version_cmd = app.add_subcommand("version", "Print the version and git revision");

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        (void)app.exit(e);
        return exit_usage;
    }

    if (*version_cmd) {
        fmt::print("mtce {} ({})\n", project_version, git_revision);
        return exit_ok;
    }
    if (*agent_cmd) {
        agent.self = *parse_role(agent_role);
        agent.config_path = agent_config;
        if (!log_level.empty()) {
            agent.log_level = log_level;
        }
        return run_agent(agent);
    }
    if (*config_check) {
        return check_config(check_path, check_role.empty() ? std::nullopt : std::optional{check_role});
    }
    if (*demo_cmd) {
        demo.self_binary = self_path(argv[0]);
        return run_demo(demo);
    }
    client_options client;
    if (!api.empty()) {
        client.api = api;
    }
    if (!client_config.empty()) {
        client.config = client_config;
    }
    client.json = json;
    if (*host_list) {
        return run_host_list(client);
    }
    if (*host_show) {
        return run_host_show(client, name);
    }
    if (*host_add) {
        return run_host_add(client, add);
    }
    if (*host_modify) {
        return run_host_modify(client, modify);
    }
    if (*host_delete) {
        return run_host_delete(client, name);
    }
    for (const auto& [action, cmd] : actions) {
        if (*cmd) {
            return run_host_action(client, name, action, force);
        }
    }
    if (*host_wait) {
        return run_host_wait(client, name, state, {.timeout = std::chrono::seconds{wait_timeout}});
    }
    if (*alarm_list) {
        return run_alarm_list(client);
    }
    if (*system_show) {
        return run_system_show(client);
    }
    if (*event_list) {
        return run_event_list(client, {.follow = follow});
    }
    return exit_usage;
}

}  // namespace mtce::cli
