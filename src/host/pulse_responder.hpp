#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <asio/awaitable.hpp>
#include <asio/ip/address.hpp>

#include "core/config.hpp"
#include "core/tasks.hpp"
#include "host/drops.hpp"
#include "net/message.hpp"
#include "net/wire.hpp"

namespace mtce::host {

/// Answers the controllers' heartbeat pulses on one network (design §4, mtce-protocol(7) types 1 and 2).
///
/// A pulse request is answered only if it decodes and authenticates under the cluster key, is not a replay
/// (one replay_guard per network: the controller numbers its pulses on both networks from one sequence, and
/// they may arrive out of order across networks), and comes from a source address listed in
/// `agent.controllers`. Anything else is dropped and counted. The reply goes to the source address at the
/// network's `pulse_reply_port`, and echoes the request's period and nonce (the controller counts only
/// replies to its own run).
///
/// The reply's flags always say "process monitor alive": there is no process monitor yet, so its health is
/// reported as good. Not thread-safe: lives on the event loop's thread.
class pulse_responder {
public:
    pulse_responder(std::string network_name, std::vector<asio::ip::address> controllers, std::uint32_t flags,
                    net::wire_sender& wire);

    /// The sans-io decision for one datagram from `from`: the response datagram to send back (pointing into
    /// an internal buffer valid until the next call), or nothing.
    [[nodiscard]] std::optional<std::span<const std::byte>> on_datagram(const asio::ip::address& from,
                                                                        std::span<const std::byte> data);

    /// Receives on `network.address:pulse_port` until the tasks are asked to stop. Throws on socket errors.
    asio::awaitable<void> serve(network_config network, heartbeat_mode mode, task_set& tasks);

    [[nodiscard]] const net::reject_counters& rejected() const { return rejected_; }
    [[nodiscard]] std::uint64_t unknown_source() const { return unknown_source_; }
    [[nodiscard]] std::uint64_t answered() const { return answered_; }
    /// Everything dropped since start, by reason; logged at a rate limit by drops().run().
    [[nodiscard]] drop_log& drops() { return drops_; }
    [[nodiscard]] drop_counts dropped() const;

private:
    void log_drops();

    std::string network_;
    std::vector<asio::ip::address> controllers_;
    std::uint32_t flags_;
    net::wire_sender& wire_;
    net::replay_guard guard_;
    net::reject_counters rejected_;
    std::uint64_t unknown_source_ = 0;
    std::uint64_t not_a_request_ = 0;
    std::uint64_t answered_ = 0;
    drop_log drops_;
    std::map<std::string, std::uint32_t, std::less<>> host_index_;  ///< taught by each controller
    std::array<std::byte, net::max_datagram_size> out_{};
};

/// The IP addresses of `agent.controllers`; entries that are not IP literals are returned in `skipped`.
[[nodiscard]] std::vector<asio::ip::address> controller_addresses(const std::vector<std::string>& names,
                                                                  std::vector<std::string>& skipped);

}  // namespace mtce::host
