#pragma once

#include <memory>

#include "host/agent.hpp"
#include "role.hpp"

namespace mtce::roles {

/// A role made of the host agent alone: prepared, then its boot sequence spawned as a supervised task.
class agent_role : public running_role {
public:
    explicit agent_role(std::unique_ptr<host::host_agent> agent) : agent_{std::move(agent)} {}
    [[nodiscard]] host::host_agent& agent() { return *agent_; }

private:
    std::unique_ptr<host::host_agent> agent_;
};

[[nodiscard]] tl::expected<std::unique_ptr<agent_role>, std::string> start_agent_role(role_context& ctx);

}  // namespace mtce::roles
