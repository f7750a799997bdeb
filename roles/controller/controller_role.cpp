// The controller role: a controller is also a host, so it runs the host agent (controller self-tests and
// host services, plus the worker subfunction's on an all-in-one controller), and the fleet manager: the
// inventory, the host lifecycles, the heartbeat of the managed hosts (and of the monitor-only hosts of
// `[[controller.hosts]]`), alarms, events, and the REST API that shows and changes all of it.
#include "role.hpp"

#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

#include "api/server.hpp"
#include "bmc/http_client.hpp"
#include "bmc/ipmi.hpp"
#include "bmc/redfish.hpp"
#include "core/files.hpp"
#include "fleet/fleet.hpp"
#include "heartbeat/monitor.hpp"
#include "host_agent_component.hpp"

namespace mtce::roles {

namespace {

class controller_role : public running_role {
public:
    std::unique_ptr<agent_role> agent;
    std::unique_ptr<heartbeat::monitor> monitor;
    std::unique_ptr<bmc::http_client> redfish;  // outlives the fleet's drivers
    std::unique_ptr<fleet::fleet_manager> fleet;
    std::unique_ptr<api::server> api;  // declared last: destroyed first, before what it serves
};

/// The bearer token of controller.api_token_file (surrounding whitespace dropped); empty when none is set.
std::string read_token(const config& cfg) {
    const auto& path = cfg.controller.api_token_file;
    if (path.empty()) {
        return {};
    }
    auto text = read_small_file(path, 4096);
    if (!text) {
        throw std::runtime_error{fmt::format("controller.api_token_file: cannot read '{}': {}", path.string(),
                                             std::strerror(errno))};
    }
    const auto first = text->find_first_not_of(" \t\r\n");
    const auto last = text->find_last_not_of(" \t\r\n");
    if (first == std::string::npos) {
        throw std::runtime_error{fmt::format("controller.api_token_file: '{}' is empty", path.string())};
    }
    return text->substr(first, last - first + 1);
}

/// The REST API on controller.api_listen, bound now so that a taken port stops the start.
void start_api(role_context& ctx, controller_role& c) {
    const auto cfg = ctx.config.current();
    auto where = api::parse_listen(cfg->controller.api_listen);
    if (!where) {
        throw std::runtime_error{"controller.api_listen: " + where.error()};
    }
    c.api = std::make_unique<api::server>(ctx.ex, *where, *c.fleet, read_token(*cfg));
    const auto port = c.api->bind();
    spdlog::info("api: serving on {}:{}", where->host, port);
    ctx.tasks.spawn("api", c.api->run(ctx.tasks));
}

/// The heartbeat (of the monitor-only hosts now, of managed hosts as they are enabled) and the fleet manager.
void start_fleet(role_context& ctx, controller_role& c) {
    const auto cfg = ctx.config.current();
    auto* wire = c.agent->wire();
    if (wire == nullptr) {
        throw std::runtime_error{
            "this controller has no network address (network.mgmt.address or network.cluster.address): it "
            "cannot reach any host"};
    }
    c.monitor = std::make_unique<heartbeat::monitor>(
        cfg->heartbeat, *wire, std::array{!cfg->mgmt.address.empty(), !cfg->cluster.address.empty()});
    for (const auto& h : cfg->controller.hosts) {
        c.monitor->add_host(h);
    }
    c.fleet = std::make_unique<fleet::fleet_manager>(ctx.ex, ctx.config, *wire, c.monitor.get());
    c.redfish = std::make_unique<bmc::http_client>(ctx.ex, cfg->bmc.ca_file);
    c.fleet->use_bmc([&c, ex = ctx.ex, ipmitool = cfg->bmc.ipmitool, cipher = cfg->bmc.ipmi_cipher_suite](
                         std::string_view protocol, const bmc::endpoint& where,
                         const bmc::timing& timing) -> std::unique_ptr<bmc::driver> {
        if (protocol == "redfish") {
            return bmc::make_redfish_driver(*c.redfish, where, timing);
        }
        if (protocol == "ipmi") {
            bmc::ipmi_options options;
            if (cipher >= 0) {
                options.cipher_suite = static_cast<std::uint8_t>(cipher);
            }
            return bmc::make_ipmi_driver(ex, where, timing, ipmitool, options);
        }
        return nullptr;
    });
    c.fleet->open();
    ctx.tasks.spawn("heartbeat monitor", heartbeat::run_monitor(*c.monitor, ctx.config, ctx.tasks));
    ctx.tasks.spawn("fleet manager", c.fleet->run(ctx.tasks));
}

}  // namespace

tl::expected<std::unique_ptr<running_role>, std::string> start_controller(role_context& ctx) {
    auto c = std::make_unique<controller_role>();
    auto agent = start_agent_role(ctx);
    if (!agent) {
        return tl::unexpected{std::move(agent.error())};
    }
    c->agent = std::move(*agent);
    try {
        start_fleet(ctx, *c);
    } catch (const std::exception& e) {
        return tl::unexpected{std::string{"fleet manager: "} + e.what()};
    }
    try {
        start_api(ctx, *c);
    } catch (const std::exception& e) {
        return tl::unexpected{std::string{"api: "} + e.what()};
    }
    return c;
}

}  // namespace mtce::roles
