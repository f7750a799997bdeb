#include "host/systemd_actions.hpp"

#include <cstdlib>
#include <string>

#include <spdlog/spdlog.h>
#include <systemd/sd-login.h>

#include "core/transient_unit.hpp"

namespace mtce::host {

namespace {

/// host.reboot_command's default (config.hpp): what reboot.target does anyway.
constexpr std::string_view default_reboot_command = "systemctl reboot";

}  // namespace

script_isolation effective_isolation(script_isolation requested, systemd_probe probe) {
    switch (requested) {
    case script_isolation::automatic:
        return probe.running && probe.our_unit ? script_isolation::systemd : script_isolation::process_group;
    case script_isolation::systemd:
        return probe.running ? script_isolation::systemd : script_isolation::process_group;
    case script_isolation::cgroup:
    case script_isolation::process_group:
        return requested;
    }
    return script_isolation::process_group;
}

systemd_probe probe_systemd() {
    systemd_probe probe;
    probe.running = systemd_is_running();
    char* unit = nullptr;
    if (probe.running && ::sd_pid_get_unit(0, &unit) >= 0 && unit != nullptr) {
        probe.our_unit = std::string_view{unit}.starts_with("mtce");
    }
    std::free(unit);  // NOLINT(cppcoreguidelines-no-malloc): allocated by libsystemd
    return probe;
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
