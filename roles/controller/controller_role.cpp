// The controller role: a controller is also a host, so it runs the host agent (controller self-tests and
// host services, plus the worker subfunction's on an all-in-one controller). The fleet manager — inventory,
// heartbeat of every host, lifecycles, REST API — joins this composition as it is built.
#include "role.hpp"

#include <spdlog/spdlog.h>

#include "host_agent_component.hpp"

namespace mtce::roles {

tl::expected<std::unique_ptr<running_role>, std::string> start_controller(role_context& ctx) {
    spdlog::warn("controller role: the fleet manager is not implemented yet; running the host agent only");
    return start_agent_role(ctx);
}

}  // namespace mtce::roles
