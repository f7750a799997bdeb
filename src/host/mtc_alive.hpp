#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <asio/awaitable.hpp>
#include <asio/ip/address.hpp>
#include <asio/ip/udp.hpp>
#include <asio/steady_timer.hpp>

#include "core/config.hpp"
#include "core/tasks.hpp"
#include "host/wire.hpp"
#include "net/message.hpp"
#include "net/payloads.hpp"

namespace mtce::host {

class host_agent;

/// What the mtcAlive flags are computed from: which flag files of this boot exist, and the lock.
struct alive_inputs {
    bool goenabled = false;              ///< goenabled
    bool goenabled_failed = false;       ///< goenabled_failed
    bool goenabled_subf = false;         ///< goenabled_subf
    bool goenabled_subf_failed = false;  ///< goenabled_subf_failed
    bool services_failed = false;        ///< services_<main function>_failed
    bool services_subf_failed = false;   ///< services_worker_failed (all-in-one)
    bool locked = false;
    bool has_worker_subfunction = false;
    bool subfunction_configured = false;  ///< host.subfunction_config_marker exists
};

/// The net::alive_flags bits for `in`. Pure.
///
/// configured is always set (the agent runs with a valid configuration); locked mirrors the lock; the
/// goenabled and services bits mirror their flag files, the subfunction ones only on an all-in-one host.
/// healthy once the main self-tests passed and nothing failed; not_healthy as soon as anything failed;
/// neither while the self-tests have not finished.
[[nodiscard]] std::uint32_t compute_alive_flags(const alive_inputs& in);

/// Sends mtcAlive to every controller on every provisioned network, every `host.mtcalive_period`, and at
/// once when the flags change (the host agent tells it when it writes a flag or changes the lock).
/// Not thread-safe: lives on the event loop's thread.
class mtc_alive_sender {
public:
    /// Opens one sending socket per provisioned network; throws std::system_error if one cannot be bound.
    mtc_alive_sender(asio::any_io_executor ex, config_store& config, host_agent& agent, wire_sender& wire,
                     std::vector<asio::ip::address> controllers);

    /// Sends until the tasks are asked to stop.
    asio::awaitable<void> run(task_set& tasks);

    /// The flags may have changed: send now if they did.
    void flags_may_have_changed();

    [[nodiscard]] std::uint32_t current_flags() const;

private:
    void send();

    config_store& config_;
    host_agent& agent_;
    wire_sender& wire_;
    std::vector<asio::ip::address> controllers_;
    std::vector<std::pair<network_config, asio::ip::udp::socket>> sockets_;
    asio::steady_timer next_;
    std::uint32_t sent_flags_ = 0;
    bool sent_once_ = false;
    std::array<std::byte, net::max_datagram_size> out_{};
};

}  // namespace mtce::host
