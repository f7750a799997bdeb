#pragma once

// The fleet's link to the host agents: the sockets on network.X.controller_port that receive mtcAlive,
// command acks and results (checked by the inbox) and send commands. Internal to src/fleet.

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/ip/udp.hpp>

#include "core/config.hpp"
#include "fleet/host_spec.hpp"
#include "fleet/inbox.hpp"
#include "net/payloads.hpp"

namespace mtce::net {
class wire_sender;
}

namespace mtce::fleet {

/// Not thread-safe: the event loop's thread.
class agent_link {
public:
    agent_link(asio::any_io_executor ex, net::wire_sender& wire);

    /// Binds the sockets of the networks this controller is on. Throws std::runtime_error naming the network
    /// (a port in use).
    void open(const config& cfg);

    /// This term's epoch (fleet start, from the epoch_source); every command carries it.
    void set_epoch(std::uint64_t epoch) { epoch_ = epoch; }
    [[nodiscard]] std::uint64_t epoch() const { return epoch_; }
    /// This run's random nonce: every command carries it, and acks and results must echo it.
    [[nodiscard]] std::uint64_t nonce() const { return nonce_; }

    /// A new command id. Ids only grow during a term; a host carries out a command only if its id is above
    /// the last it carried out in the same epoch. They start from the wall clock, so that they grow across
    /// restarts too (the epoch alone would do; this keeps logs unambiguous).
    [[nodiscard]] std::uint64_t next_command_id() { return ++next_command_; }
    /// Sends `c` (with a new id unless it has one) to the host on every network it and this controller
    /// share, naming the host and carrying this term's epoch and this run's nonce; returns the id.
    std::uint64_t send(const host_spec& to, net::command c);

    using message_handler = std::function<void(inbound)>;
    /// Receives on `net` until cancelled, handing each authenticated, fresh message to `on_message`; drops
    /// are counted and logged at a rate limit. Returns the error that ended it (none when cancelled or the
    /// network is not provisioned): it never throws, so it can be raced.
    asio::awaitable<std::error_code> receive(heartbeat::network net, const message_handler& on_message);

    [[nodiscard]] controller_inbox& inbox() { return inbox_; }
    [[nodiscard]] const controller_inbox& inbox() const { return inbox_; }
    [[nodiscard]] const std::map<std::string, std::uint64_t>& commands_sent() const { return commands_sent_; }

private:
    asio::any_io_executor ex_;
    net::wire_sender& wire_;
    std::uint64_t nonce_;  ///< before inbox_, which is built with it
    std::uint64_t epoch_ = 0;
    controller_inbox inbox_;
    std::array<std::optional<asio::ip::udp::socket>, heartbeat::network_count> sockets_;
    std::array<network_config, heartbeat::network_count> networks_;
    std::uint64_t next_command_;
    std::map<std::string, std::uint64_t> commands_sent_;  ///< by command name
};

}  // namespace mtce::fleet
