// The storage role: the host agent, running the storage self-tests and the storage host services.
// Its scripts are in goenabled.d/ and services.d/storage/ beside this file; its defaults in defaults.toml.
#include "role.hpp"

#include "host_agent_component.hpp"

namespace mtce::roles {

tl::expected<std::unique_ptr<running_role>, std::string> start_storage(role_context& ctx) {
    return start_agent_role(ctx);
}

}  // namespace mtce::roles
