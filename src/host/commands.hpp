#pragma once

// The controller's commands on the host (mtce-protocol(7), "PAYLOADS"): lock, unlock, reboot, reset,
// goenabled and mtcalive, received over the authenticated UDP protocol, acknowledged and carried out.

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/ip/address.hpp>
#include <asio/ip/udp.hpp>

#include "core/child.hpp"
#include "core/config.hpp"
#include "core/tasks.hpp"
#include "host/drops.hpp"
#include "host/command_fence.hpp"
#include "host/flags.hpp"
#include "net/message.hpp"
#include "net/payloads.hpp"
#include "net/wire.hpp"

namespace mtce::host {

class host_agent;

/// What the inbox made of one datagram it did not drop.
struct inbound_command {
    std::string controller;   ///< the authenticated sender (the controller's host name)
    std::size_t network = 0;  ///< index of the network it arrived on
    std::uint64_t id = 0;
    std::string name;         ///< the command's name as received
    std::uint64_t nonce = 0;  ///< the controller's nonce, echoed by every answer
    /// Set for a command to carry out: new from this controller. Its handler sends the acknowledgement.
    std::optional<net::command> execute;
    /// With `execute`: the fence position to make durable before carrying it out (none for mtcalive, which
    /// changes nothing on the host and so is not recorded).
    std::optional<fence_position> advance;
    /// To send back at once, without carrying anything out: the acknowledgement of a repeated id (none for a
    /// repeated mtcalive), or the refusal of a payload that names a command it cannot be (`error` set).
    std::optional<net::command_ack> ack;
    bool repeat = false;  ///< this controller already sent this id
};

/// The sans-io decisions of the command receive path, for all of this host's networks.
///
/// A datagram is acted on only if, in this order: it decodes and authenticates under the cluster key; its
/// source address is one of `agent.controllers`; it is a command; it passes the replay guard of the network
/// it arrived on (one per network: a controller may send a command on both, and they may arrive out of
/// order); its payload parses. A payload that does not parse but has an id and a name is answered with an
/// acknowledgement carrying the error (an unsupported command, a bad argument). Then the fence rules
/// (command_fence.hpp): a command for another host, of a lower epoch than the highest seen, or whose id is
/// not above the last carried out in its epoch is dropped and counted, without an answer (a replay is not
/// told anything). Anything else that fails is dropped and counted too.
///
/// Command ids are remembered per controller (the last `remembered_ids`, forgotten when that controller's
/// boot changes): a repeated id, on any network, is acknowledged again as it was the first time and is not
/// carried out again; ids are remembered within one epoch. Not thread-safe: lives on the event loop's
/// thread.
class command_inbox {
public:
    static constexpr std::size_t remembered_ids = 64;
    static constexpr std::size_t max_controllers = 16;

    /// `hostname`: this host, as commands must name it. `at`: the durable fence position at start.
    command_inbox(std::size_t networks, std::vector<asio::ip::address> controllers, net::codec& codec,
                  std::string hostname, fence_position at = {});

    /// The decision for one datagram from `from` on network `network` (< networks); nothing for a drop.
    [[nodiscard]] std::optional<inbound_command> on_datagram(std::size_t network,
                                                             const asio::ip::address& from,
                                                             std::span<const std::byte> data);

    /// Replaces the acknowledgement remembered for `id` from `controller` (the handler found an error, say),
    /// so that a repeat gets the same answer.
    void remember_ack(std::string_view controller, std::uint64_t id, std::optional<net::command_ack> ack);

    [[nodiscard]] const net::reject_counters& rejected() const { return rejected_; }
    [[nodiscard]] std::uint64_t not_from_a_controller() const { return not_from_a_controller_; }
    [[nodiscard]] std::uint64_t not_a_command() const { return not_a_command_; }
    [[nodiscard]] std::uint64_t unreadable() const { return unreadable_; }
    /// Commands dropped by the fence rules, by verdict (carry_out is never counted).
    [[nodiscard]] std::uint64_t fenced(fence_verdict v) const { return fenced_[static_cast<std::size_t>(v)]; }
    [[nodiscard]] std::uint64_t dropped() const {
        return rejected_.total() + not_from_a_controller_ + not_a_command_ + unreadable_ +
               fenced(fence_verdict::wrong_target) + fenced(fence_verdict::stale_epoch) +
               fenced(fence_verdict::old_id);
    }
    /// The same by reason.
    [[nodiscard]] drop_counts dropped_by_reason() const;
    /// The fence position the decisions are made against (durable or about to be).
    [[nodiscard]] const fence_position& position() const { return at_; }

private:
    struct remembered {
        std::uint64_t id = 0;
        std::optional<net::command_ack> ack;
    };
    struct controller_ids {
        net::boot_id boot{};
        std::uint64_t boot_time = 0;
        std::uint64_t epoch = 0;     ///< the epoch the ids belong to
        std::deque<remembered> ids;  ///< oldest first
    };

    std::vector<asio::ip::address> controllers_;
    net::codec& codec_;
    std::string hostname_;
    fence_position at_;
    std::array<std::uint64_t, 4> fenced_{};
    std::vector<net::replay_guard> guards_;
    std::map<std::string, controller_ids, std::less<>> seen_;
    net::reject_counters rejected_;
    std::uint64_t not_from_a_controller_ = 0;
    std::uint64_t not_a_command_ = 0;
    std::uint64_t unreadable_ = 0;
};

/// Receives the controller's commands on every provisioned network and carries them out.
///
/// Acknowledgements (type 5) and results (type 6) leave from the socket the command arrived on, to the
/// command's source address at the network's `controller_port`. What each command does is in
/// mtce-protocol(7); in short:
///   lock       persist the lock (else acknowledge with the error and stop there), acknowledge, stop host
///              services (worker subfunction first, then the main function), send the result
///   unlock     persist the unlock, acknowledge, resume the boot sequence (host_agent::resume_boot)
///   reboot     acknowledge, wait `delay_s`, run host.reboot_command; if the agent still runs
///              host.failsafe_delay after that started, run host.reset_command
///   reset      acknowledge, run host.reset_command
///   goenabled  acknowledge, run or join the self-tests, send the result
///   mtcalive   send an mtcAlive on every network at once; no acknowledgement
/// While a reboot or reset is in progress, another one is acknowledged but not run.
/// Not thread-safe: lives on the event loop's thread.
class command_server {
public:
    /// Opens one socket per provisioned network, bound to `address:agent_port`; throws std::system_error if
    /// one cannot be bound. `send_alive` sends one mtcAlive on every network.
    command_server(asio::any_io_executor ex, config_store& config, host_agent& agent, net::wire_sender& wire,
                   std::vector<asio::ip::address> controllers, task_set& tasks,
                   std::function<void()> send_alive);

    [[nodiscard]] std::size_t networks() const { return endpoints_.size(); }
    [[nodiscard]] const std::string& network_name(std::size_t network) const {
        return endpoints_.at(network).name;
    }

    /// Receives on network `network` until the tasks are asked to stop. Throws on socket errors.
    asio::awaitable<void> serve(std::size_t network);

    /// Everything dropped since start, on every network; logged at a rate limit by drops().run().
    [[nodiscard]] drop_log& drops() { return drops_; }
    [[nodiscard]] drop_counts dropped() const { return inbox_.dropped_by_reason(); }

private:
    struct endpoint {
        std::string name;
        network_config network;
        asio::ip::udp::socket socket;
    };
    /// Where the answers to one command go.
    struct reply_to {
        std::size_t network = 0;
        asio::ip::address address;
        std::uint64_t nonce = 0;  ///< the command's, echoed in every answer
    };

    void on_datagram(std::size_t network, const asio::ip::address& from, std::span<const std::byte> data);
    void carry_out(const inbound_command& in, const net::command& command, const reply_to& to);
    void send(const reply_to& to, net::message_type type, const std::string& json);
    void acknowledge(const inbound_command& in, const reply_to& to, std::string error = {});
    void send_result(const reply_to& to, std::string_view name, std::uint64_t id, const verdict& outcome);

    void log_drops();

    asio::awaitable<void> stop_services_for_lock(reply_to to, std::uint64_t id);
    asio::awaitable<void> run_goenabled_for(reply_to to, std::uint64_t id, context ctx);
    asio::awaitable<void> reboot(std::string controller, std::uint32_t delay_s);
    asio::awaitable<void> reset(std::string controller);
    /// Runs `command` with /bin/sh -c in its own process group, under host.failsafe_delay; logs how it ended.
    asio::awaitable<child_result> run_shell(std::string what, std::string command);

    config_store& config_;
    host_agent& agent_;
    net::wire_sender& wire_;
    task_set& tasks_;
    std::function<void()> send_alive_;
    std::vector<endpoint> endpoints_;
    command_fence fence_;
    command_inbox inbox_;
    bool restarting_ = false;  ///< a reboot or reset is in progress
    drop_log drops_{"commands", drop_log_interval, [this] { return inbox_.dropped_by_reason(); }};
    std::array<std::byte, net::max_datagram_size> out_{};
};

}  // namespace mtce::host
