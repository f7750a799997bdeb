// The worker role: the host agent, running the worker self-tests and the worker host services.
// Its scripts are in goenabled.d/ and services.d/worker/ beside this file; its defaults in defaults.toml.
#include "role.hpp"

#include "host_agent_component.hpp"

namespace mtce::roles {

tl::expected<std::unique_ptr<running_role>, std::string> start_worker(role_context& ctx) {
    return start_agent_role(ctx);
}

}  // namespace mtce::roles
