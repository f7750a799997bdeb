// The controller role: a controller is also a host, so it runs the host agent (controller self-tests and
// host services, plus the worker subfunction's on an all-in-one controller), and the fleet manager: for now
// the heartbeat of the hosts in `[[controller.hosts]]` and what the API shows of them. Inventory and
// lifecycles join this composition as they are built.
#include "role.hpp"

#include <spdlog/spdlog.h>

#include "controller/heartbeat_backend.hpp"
#include "heartbeat/monitor.hpp"
#include "host_agent_component.hpp"

namespace mtce::roles {

namespace {

class controller_role : public running_role {
public:
    std::unique_ptr<agent_role> agent;
    std::unique_ptr<heartbeat::monitor> monitor;
    std::unique_ptr<heartbeat_backend> backend;
};

/// The heartbeat of every configured host, on the networks this controller has an address on.
void start_heartbeat(role_context& ctx, controller_role& c) {
    const auto cfg = ctx.config.current();
    auto* wire = c.agent->wire();
    if (wire == nullptr) {
        if (!cfg->controller.hosts.empty()) {
            spdlog::warn("controller: no network address: heartbeat is off");
        }
        return;
    }
    c.monitor = std::make_unique<heartbeat::monitor>(
        cfg->heartbeat, *wire, std::array{!cfg->mgmt.address.empty(), !cfg->cluster.address.empty()});
    for (const auto& h : cfg->controller.hosts) {
        c.monitor->add_host(h);
    }
    c.backend = std::make_unique<heartbeat_backend>(*c.monitor, cfg->agent.hostname);
    ctx.tasks.spawn("heartbeat monitor", heartbeat::run_monitor(*c.monitor, cfg, ctx.tasks));
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
        start_heartbeat(ctx, *c);
    } catch (const std::exception& e) {
        return tl::unexpected{std::string{"heartbeat monitor: "} + e.what()};
    }
    return c;
}

}  // namespace mtce::roles
