#pragma once

// The fleet simulator's decisions, sans-io: which simulated host a pulse request is for, whether the host's
// faults let it answer, and the authenticated pulse response it sends. mtce-fleet-sim (fleet_sim.cpp) only
// moves datagrams; everything here is tested without sockets (fleet_test.cpp).

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <tl/expected.hpp>

#include "net/message.hpp"

namespace mtce::bench {

/// The two heartbeat networks; the values index per-network arrays.
enum class network_id : std::uint8_t { mgmt = 0, cluster = 1 };
inline constexpr std::size_t network_count = 2;

[[nodiscard]] std::string_view to_string(network_id n);
[[nodiscard]] std::optional<network_id> parse_network(std::string_view s);

/// An IPv4 address in host byte order (so that host i's address is base + 1 + i).
using ipv4 = std::uint32_t;

[[nodiscard]] std::optional<ipv4> parse_ipv4(std::string_view s);
[[nodiscard]] std::string format_ipv4(ipv4 a);

/// Whether `a` is an IPv4 multicast group (224.0.0.0/4).
[[nodiscard]] constexpr bool is_multicast(ipv4 a) noexcept {
    return (a >> 28) == 0xeU;
}

/// What the whole simulated fleet looks like.
struct fleet_options {
    std::size_t hosts = 0;
    std::string prefix = "sim-";  ///< host i is named prefix + i in 5 digits ("sim-00000")
    /// Host i's address on network n is base[n] + 1 + i ("127.1.0.0" -> host 0 is 127.1.0.1).
    std::array<ipv4, network_count> base{0x7f010000U, 0x7f020000U};
    std::array<bool, network_count> networks{true, true};  ///< which networks the hosts heartbeat on
    std::vector<ipv4> controllers{0x7f000001U};            ///< sources whose pulse requests are answered
    std::string boot_tag = "sim";      ///< boot id text of host i is boot_tag + "/" + its name
    std::uint64_t boot_time = 0;       ///< seconds since the epoch; every host booted then
    std::uint64_t first_sequence = 1;  ///< first sequence number of every host
    std::uint64_t seed = 1;            ///< for drop decisions and `random K`
};

/// The faults a simulated host is under.
struct host_faults {
    bool killed = false;  ///< for good: nothing brings it back
    bool frozen = false;
    std::uint32_t drop_percent = 0;
    std::uint32_t delay_ms = 0;
    std::array<bool, network_count> down{};  ///< per network: not answering there
};

/// One simulated host: its identity on the wire and what it has learnt from the controllers.
struct sim_host {
    std::string name;
    net::boot_id boot{};
    std::uint64_t next_sequence = 1;  ///< one sequence across both networks, like wire_sender
    std::array<std::uint32_t, network_count> taught{};  ///< host index taught per network
    std::array<net::replay_guard, network_count> guards{net::replay_guard{4}, net::replay_guard{4}};
    host_faults faults;
};

/// Counters of one network.
struct network_counters {
    std::uint64_t requests = 0;        ///< datagrams received for a simulated host
    std::uint64_t replies = 0;         ///< responses produced (sent now or after a delay)
    std::uint64_t dropped = 0;         ///< not answered because of a fault (kill, freeze, down, drop %)
    std::uint64_t delayed = 0;         ///< of the replies, those held back by `delay`
    std::uint64_t unknown_target = 0;  ///< destination address is no simulated host
    std::uint64_t unknown_source = 0;  ///< authenticated, but not from a listed controller
    std::uint64_t not_a_request = 0;   ///< authenticated, but not a pulse request
    net::reject_counters rejected;     ///< decode and replay failures, by reason

    /// Everything refused for not being a valid pulse request for a simulated host.
    [[nodiscard]] std::uint64_t rejected_total() const noexcept {
        return rejected.total() + unknown_target + unknown_source + not_a_request;
    }
};

/// A command read from the simulator's standard input.
enum class verb : std::uint8_t { kill, freeze, thaw, drop, delay, net, stats, quit };

struct command {
    verb what = verb::stats;
    std::uint32_t amount = 0;  ///< drop: percent; delay: milliseconds
    network_id network = network_id::mgmt;
    bool up = false;       ///< net: up (true) or down
    std::string selector;  ///< which hosts; empty for stats and quit
};

/// Parses one command line: `kill SEL`, `freeze SEL`, `thaw SEL`, `drop PCT SEL`, `delay MS SEL`,
/// `net mgmt|cluster down|up SEL`, `stats`, `quit`. Words are separated by blanks; the selector is the rest
/// of the line. Returns a message saying what is wrong otherwise.
[[nodiscard]] tl::expected<command, std::string> parse_command(std::string_view line);

/// The response to one pulse request, to send to the request's source at the network's reply port.
struct reply {
    std::size_t host = 0;
    std::span<const std::byte> datagram;  ///< valid until the next on_request()
    std::chrono::milliseconds delay{0};
    std::uint64_t period = 0;  ///< the controller's period number, from the request
};

/// N simulated hosts. Not thread-safe; owns one codec (one HMAC context).
class fleet {
public:
    /// Throws std::invalid_argument for a short key, a bad prefix or more hosts than names or addresses.
    fleet(fleet_options options, std::span<const std::byte> key);

    /// The decision for one datagram that arrived on network `n`, sent by `source` to `destination`.
    [[nodiscard]] std::optional<reply> on_request(network_id n, ipv4 destination, ipv4 source,
                                                  std::span<const std::byte> datagram);

    /// The decisions for one datagram sent to a multicast group on network `n`: it is for every simulated
    /// host on that network. The request is authenticated once; then every host that answers on `n` checks it
    /// against its own replay table, learns the index if it is the request's target (or the target is empty),
    /// applies its own faults and answers from its own address with its own taught index. `emit` is called
    /// once per reply, in host order; the reply's datagram is valid only during the call. Returns how many
    /// replies were emitted.
    std::size_t on_multicast_request(network_id n, ipv4 source, std::span<const std::byte> datagram,
                                     const std::function<void(const reply&)>& emit);

    /// The hosts `selector` names: `all`, `random K` (K hosts not yet killed, chosen at random), or a comma
    /// list of indexes (`7`), index ranges (`0-99`) and names (`sim-00007`). Sorted, without duplicates.
    [[nodiscard]] tl::expected<std::vector<std::size_t>, std::string> select(std::string_view selector);

    /// Applies a fault command to the hosts it selects and returns them; on error nothing changes.
    /// stats and quit select no one.
    tl::expected<std::vector<std::size_t>, std::string> apply(const command& c);

    [[nodiscard]] std::size_t size() const noexcept { return hosts_.size(); }
    [[nodiscard]] const sim_host& host(std::size_t i) const { return hosts_.at(i); }
    [[nodiscard]] const fleet_options& options() const noexcept { return options_; }
    [[nodiscard]] const network_counters& counters(network_id n) const {
        return counters_[static_cast<std::size_t>(n)];
    }
    /// The simulated host with this address on network n, if any. O(1).
    [[nodiscard]] std::optional<std::size_t> host_at(network_id n, ipv4 address) const noexcept;
    /// Host i's address on network n.
    [[nodiscard]] ipv4 address_of(network_id n, std::size_t i) const noexcept;
    /// How many hosts are killed.
    [[nodiscard]] std::size_t killed() const noexcept { return killed_; }

private:
    [[nodiscard]] bool answers(const sim_host& h, network_id n) const noexcept;
    [[nodiscard]] tl::expected<std::vector<std::size_t>, std::string> select_random(std::string_view count);
    [[nodiscard]] tl::expected<void, std::string> select_item(std::string_view item,
                                                              std::vector<std::size_t>& out) const;
    /// A request that decoded, authenticated, came from a controller and carries a valid payload.
    struct checked_request {
        net::message_view message;
        net::pulse_request request;
    };
    /// The checks every host shares; counts what fails.
    [[nodiscard]] std::optional<checked_request> check_request(network_id n, ipv4 source,
                                                               std::span<const std::byte> datagram);
    /// One host's own part: its replay check, what it learns, its random drop, and its reply.
    [[nodiscard]] std::optional<reply> answer(std::size_t index, network_id n, const checked_request& r);
    [[nodiscard]] std::optional<std::span<const std::byte>> respond(sim_host& h, network_id n,
                                                                    const net::pulse_request& request);

    fleet_options options_;
    net::codec codec_;
    std::vector<sim_host> hosts_;
    std::unordered_map<std::string, std::size_t> by_name_;
    std::array<network_counters, network_count> counters_{};
    std::mt19937_64 rng_;
    std::size_t killed_ = 0;
    std::array<std::byte, net::max_datagram_size> out_{};
};

}  // namespace mtce::bench
