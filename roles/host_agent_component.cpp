#include "host_agent_component.hpp"

#include <exception>

#include <spdlog/spdlog.h>

#include "host/boot.hpp"
#include "host/flags.hpp"

namespace mtce::roles {

namespace {

/// Heartbeat answers, mtcAlive and the controller's commands, on every provisioned network. Throws if a
/// socket cannot be opened.
void start_reporting(role_context& ctx, agent_parts& parts) {
    const auto cfg = ctx.config.current();
    std::vector<std::string> skipped;
    auto controllers = host::controller_addresses(cfg->agent.controllers, skipped);
    for (const auto& name : skipped) {
        spdlog::warn(
            "agent.controllers: '{}' is not an IP address; ignored for heartbeat, mtcAlive and commands",
            name);
    }
    const auto key = std::as_bytes(std::span{ctx.cluster_key.data(), ctx.cluster_key.size()});
    parts.wire = std::make_unique<net::wire_sender>(
        key, cfg->agent.hostname,
        host::load_boot_identity(cfg->host.run_dir, host::read_boot_id(cfg->agent.boot_id_file),
                                 /*simulated=*/!cfg->agent.boot_id_file.empty()),
        /*first_sequence=*/host::boottime_ns());

    std::uint32_t pulse_flags = net::pulse_flags::process_monitor_ok;  // no process monitor yet: healthy
    if (!cfg->cluster.address.empty()) {
        pulse_flags |= net::pulse_flags::cluster_network;
    }
    for (const auto& [name, network] : {std::pair{"mgmt", &cfg->mgmt}, std::pair{"cluster", &cfg->cluster}}) {
        if (network->address.empty()) {
            continue;
        }
        auto& responder = *parts.responders.emplace_back(
            std::make_unique<host::pulse_responder>(name, controllers, pulse_flags, *parts.wire));
        ctx.tasks.spawn(fmt::format("heartbeat ({})", name),
                        responder.serve(*network, cfg->heartbeat.mode, ctx.tasks));
        ctx.tasks.spawn(fmt::format("heartbeat ({}) drops", name), responder.drops().run(ctx.tasks));
    }
    parts.alive =
        std::make_unique<host::mtc_alive_sender>(ctx.ex, ctx.config, *parts.agent, *parts.wire, controllers);
    parts.agent->on_flags_changed([alive = parts.alive.get()] { alive->flags_may_have_changed(); });
    ctx.tasks.spawn("mtcAlive", parts.alive->run(ctx.tasks));

    parts.commands = std::make_unique<host::command_server>(
        ctx.ex, ctx.config, *parts.agent, *parts.wire, std::move(controllers), ctx.tasks,
        [alive = parts.alive.get()] { alive->send_now(); });
    for (std::size_t i = 0; i < parts.commands->networks(); ++i) {
        ctx.tasks.spawn(fmt::format("commands ({})", parts.commands->network_name(i)),
                        parts.commands->serve(i));
    }
    ctx.tasks.spawn("commands drops", parts.commands->drops().run(ctx.tasks));
    // Raw pointers: `parts` moves into the role, the objects it owns stay where they are.
    std::vector<const host::pulse_responder*> responders;
    for (const auto& responder : parts.responders) {
        responders.push_back(responder.get());
    }
    parts.alive->set_drop_source([responders = std::move(responders), commands = parts.commands.get()] {
        auto counts = commands->dropped();
        for (const auto& responder : responders) {
            counts = host::sum(std::move(counts), responder->dropped());
        }
        return std::map<std::string, std::uint64_t>{counts.begin(), counts.end()};
    });
}

}  // namespace

tl::expected<std::unique_ptr<agent_role>, std::string> start_agent_role(role_context& ctx) {
    agent_parts parts;
    parts.agent = std::make_unique<host::host_agent>(ctx.ex, ctx.config, ctx.tasks);
    if (auto error = parts.agent->prepare()) {
        return tl::unexpected{"host agent: " + *error};
    }
    const auto cfg = ctx.config.current();
    if (!cfg->mgmt.address.empty() || !cfg->cluster.address.empty()) {
        try {
            start_reporting(ctx, parts);
        } catch (const std::exception& e) {
            return tl::unexpected{std::string{"heartbeat, mtcAlive and commands: "} + e.what()};
        }
    }
    ctx.tasks.spawn("host boot sequence", parts.agent->boot());
    return std::make_unique<agent_role>(std::move(parts));
}

}  // namespace mtce::roles
