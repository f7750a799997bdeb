#pragma once

// The controller's side of the heartbeat (design §4): who is asked, how replies find their host, and what a
// period's silence means. The decisions are here and sans-io; monitor_io.cpp only sends, receives and waits.

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <asio/awaitable.hpp>
#include <asio/ip/address.hpp>

#include "core/config.hpp"
#include "core/tasks.hpp"
#include "heartbeat/accounting.hpp"
#include "net/message.hpp"
#include "net/wire.hpp"

namespace mtce::heartbeat {

/// What happened to the datagrams of one network, for metrics and the rate-limited drop log.
struct network_counters {
    net::reject_counters rejected;  ///< by reason; unknown_sender = authenticated, but not a monitored host
    std::uint64_t not_a_response = 0;  ///< authenticated, but not a pulse response
    std::uint64_t requests_sent = 0;
    std::uint64_t send_failures = 0;        ///< requests the kernel refused (full buffer, network down, ...)
    std::uint64_t replies = 0;              ///< authenticated pulse responses from monitored hosts
    std::array<std::uint64_t, 6> events{};  ///< by hb_event_kind

    [[nodiscard]] std::uint64_t dropped() const noexcept { return rejected.total() + not_a_response; }
};

/// One monitored host, as the API shows it.
struct monitored_view {
    std::string_view name;
    role personality = role::worker;
    std::array<std::string_view, network_count> address;  ///< empty: not on that network
    std::array<net_status, network_count> status;
};

/// One event of a period as the period listener sees it. `host` stays valid during the listener's call.
struct host_event {
    std::string_view host;
    hb_event event;
};

/// Heartbeats a set of hosts on the networks this controller is on.
///
/// Per period: `begin_period`, then one request per network (`multicast_request`, or `unicast_request` per
/// host), replies through `on_datagram`, and `end_period`. A reply is matched to its host in O(1): the
/// request teaches each host its slot number (`host_index` = slot + 1), which the host echoes; the echoed
/// slot is used only if it belongs to the authenticated sender (its name is compared), else the sender's
/// name is looked up in a hash table. Everything a reply is checked against lives in the slot: the replay
/// state of each network and whether the host knows its index, so a taught host's reply costs one MAC, a
/// name comparison and no lookup or allocation.
///
/// In multicast mode one request reaches every host and teaches as many as it holds (its `target` and a
/// list of names, about 80 per datagram). A host whose reply carried a wrong index is queued per network
/// and taught by the next request: 1000 hosts learn their index in 13 periods. A host that still echoes a
/// wrong index is taught again after 1, 2, 4 ... 64 periods (a request can be lost).
///
/// Every datagram is decoded and authenticated (net::codec), must echo this monitor's nonce (a random
/// number chosen for this run: the replay states are in memory and the period numbers start again at 1
/// after a restart, so a reply captured from an earlier run would otherwise count), must come from a
/// monitored host, and passes its slot's replay check (net::replay_state) before it counts; everything else
/// is counted by reason (`wrong_nonce` for the nonce) and changes nothing.
///
/// Not thread-safe: one event loop thread.
class monitor {
public:
    /// A closed period's number and its events, in the order they were decided.
    using period_listener = std::function<void(std::uint64_t period, std::span<const host_event> events)>;
    using time_point = accounting::time_point;

    /// `on_network[n]`: this controller has an address on network n. `wire` signs requests as this host.
    /// `nonce`: this run's, sent in every request; a reply must echo it (net::random_nonce() by default).
    monitor(const heartbeat_config& hb, net::wire_sender& wire, std::array<bool, network_count> on_network,
            std::uint64_t nonce = net::random_nonce());

    /// Adds a host, monitored on every network it has an address on (and this controller is on).
    /// Throws std::invalid_argument for an invalid or duplicate name or an address that does not parse.
    std::uint32_t add_host(const monitored_host& h);
    /// Stops monitoring a host and forgets it (no events). False if unknown.
    bool remove_host(std::string_view name);
    /// Called once for every end_period() that closed a period, after its events are logged: also for a
    /// quiet period (no events) and for a voided one (then only answers can have raised events), so that the
    /// listener sees every period. The names in the span are the monitor's copies: they stay valid even if
    /// the listener adds or removes hosts. The listener must not call end_period().
    void on_period(period_listener listener) { listener_ = std::move(listener); }

    /// Opens period number `next` (1, 2, ...) at `now`; returns its number.
    std::uint64_t begin_period(time_point now);
    /// The unicast request of this period for `slot` on `net`, encoded in `out` (net::max_datagram_size).
    [[nodiscard]] std::span<const std::byte> unicast_request(network net, std::uint32_t slot,
                                                             std::span<std::byte> out);
    /// The multicast request of this period on `net`, teaching the hosts that need it their index (as many
    /// as one datagram holds).
    [[nodiscard]] std::span<const std::byte> multicast_request(network net, std::span<std::byte> out);
    /// Every request of this period has left, at `now` (a slow send phase shortens the hosts' window).
    void requests_sent(time_point now) { ledger_.requests_sent(now); }
    /// One received datagram on `net`.
    void on_datagram(network net, std::span<const std::byte> data);
    /// Closes the period at `now`: accounts it, logs its events and hands them to the period listener.
    period_summary end_period(time_point now);

    /// Slots monitored on `net`, in slot order; valid until the next add/remove.
    [[nodiscard]] const std::vector<std::uint32_t>& targets(network net) const;
    [[nodiscard]] const asio::ip::address& address(std::uint32_t slot, network net) const {
        return hosts_[slot].address[static_cast<std::size_t>(net)];
    }
    [[nodiscard]] std::optional<monitored_view> find(std::string_view name) const;
    /// Every host, in slot order.
    [[nodiscard]] std::vector<monitored_view> hosts() const;
    [[nodiscard]] bool on_network(network net) const { return on_network_[static_cast<std::size_t>(net)]; }

    [[nodiscard]] const network_counters& counters(network net) const {
        return counters_[static_cast<std::size_t>(net)];
    }
    /// Count a request the kernel refused.
    void count_send_failure(network net, std::uint64_t n = 1) {
        counters_[static_cast<std::size_t>(net)].send_failures += n;
    }
    [[nodiscard]] const accounting& ledger() const { return ledger_; }
    [[nodiscard]] std::uint64_t period() const { return period_; }
    [[nodiscard]] std::uint64_t nonce() const { return nonce_; }
    [[nodiscard]] std::chrono::milliseconds period_length() const { return period_length_; }
    /// The period length from the next begin_period() on: the one the loop waits for, and the one a period's
    /// window is judged against (late or not). Throws std::invalid_argument unless it is positive.
    void set_period_length(std::chrono::milliseconds length) {
        ledger_.set_period(length);
        period_length_ = length;
    }
    /// The multiplier of the configured period (multi-node failure avoidance backs the heartbeat off while it
    /// is active); 1 restores it. The loop applies it from its next period.
    void set_period_factor(std::uint32_t factor) { period_factor_ = factor == 0 ? 1 : factor; }
    [[nodiscard]] std::uint32_t period_factor() const { return period_factor_; }

private:
    /// What a host's replies on one network are checked against.
    struct reply_state {
        net::replay_state replay;
        std::uint64_t taught_in = 0;      ///< the period of the last request that taught the index (0: none)
        std::uint8_t teach_attempts = 0;  ///< requests that taught it since it last echoed the right index
        bool teach_queued = false;
    };
    struct host_entry {
        std::string name;
        role personality = role::worker;
        std::array<std::string, network_count> address_text;
        std::array<asio::ip::address, network_count> address;
        std::array<reply_state, network_count> replies;
        bool in_use = false;
    };

    [[nodiscard]] std::optional<std::uint32_t> slot_of(std::string_view sender, std::uint32_t echoed) const;
    void echoed_index(std::uint32_t slot, network net, std::uint32_t echoed, std::uint64_t period);
    /// The next slot queued on `net` to be taught (stale entries dropped), left in the queue.
    [[nodiscard]] std::optional<std::uint32_t> next_to_teach(network net);
    /// The request of this period teaches the slot next_to_teach returned: out of the queue.
    void taught(network net);
    [[nodiscard]] std::span<const std::byte> request(const net::pulse_request& r, std::span<std::byte> out);
    void rebuild_targets();
    void log_drops(time_point now);
    void log_late(const period_summary& s, time_point now);

    accounting ledger_;
    net::wire_sender& wire_;
    std::array<bool, network_count> on_network_;
    std::chrono::milliseconds period_length_;
    std::uint32_t period_factor_ = 1;
    std::vector<host_entry> hosts_;  // indexed by slot
    // Transparent, so that looking up a sender's name (a view into the datagram) builds no string.
    struct name_hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
    };
    std::unordered_map<std::string, std::uint32_t, name_hash, std::equal_to<>> by_name_;
    std::array<std::vector<std::uint32_t>, network_count> targets_;
    std::array<network_counters, network_count> counters_;
    std::array<std::vector<std::uint32_t>, network_count> teach_;  // slots whose echoed index was wrong
    std::array<std::byte, net::max_teachings_size> teachings_{};   // a multicast request's teachings
    std::vector<hb_event> events_;                                 // reused every period
    // The period's events as handed to the listener, with copies of the hosts' names; reused every period.
    std::vector<std::string> event_hosts_;
    std::vector<host_event> batch_;
    period_listener listener_;
    std::uint64_t period_ = 0;
    std::uint64_t nonce_;

    time_point last_drop_log_{};
    std::uint64_t logged_drops_ = 0;
    time_point last_late_log_{};
};

/// Runs the heartbeat: every period, requests on each network the controller is on; replies received in
/// batches as they come. Returns when the tasks are asked to stop. Throws if a socket cannot be opened.
/// heartbeat.period_ms is read from `config` at the start of every period, so a reload applies it from the
/// next period on; the mode and the networks are read once, at the start.
asio::awaitable<void> run_monitor(monitor& m, const config_store& config, task_set& tasks);

}  // namespace mtce::heartbeat
