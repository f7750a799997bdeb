#include "host_agent_component.hpp"

namespace mtce::roles {

tl::expected<std::unique_ptr<agent_role>, std::string> start_agent_role(role_context& ctx) {
    auto agent = std::make_unique<host::host_agent>(ctx.ex, ctx.config, ctx.tasks);
    if (auto error = agent->prepare()) {
        return tl::unexpected{"host agent: " + *error};
    }
    auto& boot_agent = *agent;
    ctx.tasks.spawn("host boot sequence", boot_agent.boot());
    return std::make_unique<agent_role>(std::move(agent));
}

}  // namespace mtce::roles
