#pragma once

#include <memory>
#include <vector>

#include "host/agent.hpp"
#include "host/commands.hpp"
#include "host/mtc_alive.hpp"
#include "host/pulse_responder.hpp"
#include "net/wire.hpp"
#include "role.hpp"

namespace mtce::roles {

/// The host agent's parts: the agent itself, and on a host with a provisioned network its heartbeat
/// responders, mtcAlive sender and command server.
struct agent_parts {
    std::unique_ptr<host::host_agent> agent;
    std::unique_ptr<net::wire_sender> wire;
    std::vector<std::unique_ptr<host::pulse_responder>> responders;
    std::unique_ptr<host::mtc_alive_sender> alive;
    std::unique_ptr<host::command_server> commands;
};

/// A role made of the host agent alone: prepared, then its boot sequence, pulse responders, mtcAlive
/// sender and command server spawned as supervised tasks.
class agent_role : public running_role {
public:
    explicit agent_role(agent_parts parts) : parts_{std::move(parts)} {}
    [[nodiscard]] host::host_agent& agent() { return *parts_.agent; }
    /// This host's message signer; null when no network is provisioned.
    [[nodiscard]] net::wire_sender* wire() { return parts_.wire.get(); }

private:
    agent_parts parts_;
};

[[nodiscard]] tl::expected<std::unique_ptr<agent_role>, std::string> start_agent_role(role_context& ctx);

}  // namespace mtce::roles
