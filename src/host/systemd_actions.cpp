#include "host/systemd_actions.hpp"

#include <string>

#include <spdlog/spdlog.h>

#include "core/transient_unit.hpp"

namespace mtce::host {

namespace {

/// host.reboot_command's default (config.hpp): what reboot.target does anyway.
constexpr std::string_view default_reboot_command = "systemctl reboot";

}  // namespace

script_isolation effective_isolation(script_isolation requested, bool systemd_running) {
    switch (requested) {
    case script_isolation::automatic:
    case script_isolation::systemd:
        return systemd_running ? script_isolation::systemd : script_isolation::process_group;
    case script_isolation::cgroup:
    case script_isolation::process_group:
        return requested;
    }
    return script_isolation::process_group;
}

script_isolation current_isolation(const config& cfg) {
    return effective_isolation(cfg.host.isolation, systemd_is_running());
}

reboot_method choose_reboot_method(script_isolation effective, std::string_view reboot_command) {
    if (effective == script_isolation::systemd && reboot_command == default_reboot_command) {
        return reboot_method::start_reboot_target;
    }
    return reboot_method::run_command;
}

asio::awaitable<bool> start_reboot_target() {
    const std::string error = co_await start_system_unit("reboot.target", "replace-irreversibly");
    if (!error.empty()) {
        spdlog::error("reboot: systemd did not start reboot.target: {}", error);
        co_return false;
    }
    spdlog::info("reboot: systemd started reboot.target");
    co_return true;
}

}  // namespace mtce::host
