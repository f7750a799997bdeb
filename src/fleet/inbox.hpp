#pragma once

// What the controller receives from host agents on network.X.controller_port: mtcAlive reports, command
// acks and command results (mtce-protocol(7) types 3, 5, 6). Sans-io: bytes in, a typed message or a
// counted drop out.

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <variant>

#include "heartbeat/accounting.hpp"
#include "net/message.hpp"
#include "net/payloads.hpp"

namespace mtce::fleet {

/// An authenticated, fresh, well-formed message from a host.
struct inbound {
    std::string sender;
    heartbeat::network net = heartbeat::network::mgmt;
    std::variant<net::alive_report, net::command_ack, net::command_result> body;
};

/// Drops on one network, by reason, for metrics and the rate-limited log.
struct inbox_counters {
    net::reject_counters rejected;   ///< codec and replay rejections; unknown_sender is counted by the caller
    std::uint64_t not_expected = 0;  ///< authenticated, but a type the controller does not receive here
    std::uint64_t bad_payload = 0;   ///< authenticated, but the JSON payload is not what its type requires
    std::uint64_t accepted = 0;

    [[nodiscard]] std::uint64_t dropped() const noexcept {
        return rejected.total() + not_expected + bad_payload;
    }
};

/// Checks, in mtce-protocol(7)'s order: decode and authenticate, type, replay (one guard per network: a
/// host numbers its messages on both networks from one sequence, and they may arrive out of order across
/// networks), payload, and for acks and results the nonce they echo: one that is not this run's answers a
/// command of an earlier run (a replay after a restart) and is dropped as `wrong_nonce`. Whether the sender
/// is managed is the caller's question. Not thread-safe.
class controller_inbox {
public:
    /// `nonce`: the one this controller's commands carry, for this run.
    controller_inbox(net::codec& codec, std::uint64_t nonce) : codec_{codec}, nonce_{nonce} {}

    [[nodiscard]] std::optional<inbound> on_datagram(heartbeat::network net, std::span<const std::byte> data);
    /// Forget a host's replay state (deleted, so that a re-added host's older boot is not refused).
    void forget(std::string_view sender);

    [[nodiscard]] inbox_counters& counters(heartbeat::network net) {
        return counters_[static_cast<std::size_t>(net)];
    }
    [[nodiscard]] const inbox_counters& counters(heartbeat::network net) const {
        return counters_[static_cast<std::size_t>(net)];
    }

private:
    net::codec& codec_;
    std::uint64_t nonce_;
    std::array<net::replay_guard, heartbeat::network_count> guards_;
    std::array<inbox_counters, heartbeat::network_count> counters_;
};

}  // namespace mtce::fleet
