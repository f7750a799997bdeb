#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "core/config.hpp"

namespace mtce::heartbeat {

/// The heartbeat networks; the value is the index used for per-network tables and event parameters.
enum class network : std::uint8_t { mgmt = 0, cluster = 1 };

inline constexpr std::size_t network_count = 2;

[[nodiscard]] std::string_view to_string(network n) noexcept;

/// What changed for one host on one network. Sets and clears are edges; the level is `accounting::status`.
enum class hb_event_kind : std::uint8_t {
    minor_set,      ///< `minor` consecutive misses (management network only)
    minor_clear,    ///< the host answered again (after loss: once recovered)
    degrade_set,    ///< `degrade` consecutive misses
    degrade_clear,  ///< the host answered again (after loss: once recovered)
    loss,           ///< `failure` consecutive misses: heartbeat lost on this network
    recovered,      ///< after a loss, `recovery` consecutive answers; followed by the clears
};

[[nodiscard]] std::string_view to_string(hb_event_kind k) noexcept;

/// One event. `misses` is the consecutive-miss count when it was decided (for clears and `recovered`, the
/// count just before it was reset), so a log line can say how long the outage was.
struct hb_event {
    std::uint32_t host;
    network net;
    hb_event_kind kind;
    std::uint32_t misses;

    friend bool operator==(const hb_event&, const hb_event&) = default;
};

/// The level a host is at on one network, worst first when several apply.
enum class hb_state : std::uint8_t { unmonitored, ok, minor, degraded, failed };

[[nodiscard]] std::string_view to_string(hb_state s) noexcept;

/// Consecutive-miss thresholds. Valid when 1 <= minor < degrade < failure and 1 <= recovery <= 65535.
struct thresholds {
    std::uint32_t minor = 4;
    std::uint32_t degrade = 6;
    std::uint32_t failure = 10;
    std::uint32_t recovery = 10;

    [[nodiscard]] static thresholds from(const heartbeat_config& c) noexcept {
        return {c.minor_threshold, c.degrade_threshold, c.failure_threshold, c.recovery_threshold};
    }
    /// Why these thresholds are unusable; empty when they are valid.
    [[nodiscard]] std::string_view invalid_reason() const noexcept;
};

/// One host on one network, for the API.
struct net_status {
    hb_state state;
    std::uint32_t misses;   ///< consecutive misses (while failed: not reset until recovered)
    std::uint32_t answers;  ///< consecutive answers, saturating at 65535
};

/// Result of `on_response`: only `accepted` counts; the rest say why the reply was ignored.
enum class response_result : std::uint8_t {
    accepted,
    duplicate,      ///< already answered this period
    wrong_period,   ///< for another period (a late answer to an earlier one), or no period is open
    unknown_host,   ///< slot not in use
    not_monitored,  ///< host not monitored on that network
};

/// Counters of replies by result, for metrics.
struct response_counters {
    std::uint64_t accepted = 0;
    std::uint64_t duplicate = 0;
    std::uint64_t wrong_period = 0;
    std::uint64_t unknown_host = 0;
    std::uint64_t not_monitored = 0;
};

/// What one `end_period` did. Per network: hosts accounted and, of those, hosts that answered.
struct period_summary {
    bool open = false;    ///< false: no period was open, nothing was done
    bool voided = false;  ///< the controller was late: no misses were counted (see `accounting`)
    std::array<std::uint32_t, network_count> expected{};
    std::array<std::uint32_t, network_count> answered{};
};

/// Per host, per network consecutive-miss accounting of the controller's heartbeat (design §4, reference
/// heartbeat.md §1.3–§1.6, §6.1–§6.3). Sans-io: it never reads a clock, sends or logs; the caller sends
/// the pulse request, feeds authenticated replies and ticks the period, and this class decides what a
/// miss is and which events follow.
///
/// Period flow: `begin_period(seq, sent_at)` when the request for `seq` is sent, `on_response(slot, net,
/// seq)` for each authenticated reply, `end_period(now, events)` when the period timer fires (after
/// draining the replies already received). A host monitored on a network when the period began, whose
/// reply for that period was not accepted by `end_period`, has missed it; a reply for an earlier period
/// does not count (reference: late = miss).
///
/// Cost: `on_response` O(1); `end_period` O(hosts) with a few instructions per host and network and no
/// allocation once `events` has capacity. Memory: 17 bytes per host slot (8 per network + 1), plus 4 per
/// free slot waiting for reuse.
///
/// Decisions (document-worthy differences from the reference):
/// * Self-distrust: if the period's window (`now - sent_at`) is longer than 1.5 periods (the timer fired
///   more than half a period late) or shorter than 0.5 periods (the request went out more than half a
///   period late), the controller did not give the hosts a fair period: nobody's silence counts as a
///   miss, `late_periods()` increments. Accepted answers still count: an authenticated reply with the
///   right sequence is proof of life whatever our own timing, and after a stall that is when the
///   operator most needs alarms to clear. Silence in a void period is no evidence either way, so it
///   neither adds a miss nor breaks a recovery run of answers.
/// * Loss is reported once per outage. The reference re-reports it every 100000 misses to cover a lost
///   UDP event to a late-starting mtcAgent; here events are in-process, and a consumer that starts late
///   reads the level with `status`.
/// * `set_monitored(..., false)` forgets that network's counters and levels without events: the
///   controller stops monitoring on purpose (lock, offline, recovery, reference §6.3) and owns what
///   happens to the alarms then; read `status` first if needed. Monitoring that starts while a period
///   is open counts from the next period, because the host was not asked in this one.
///
/// Thread-safety: none; one instance belongs to one task (strand) and all calls come from it.
class accounting {
public:
    using time_point = std::chrono::steady_clock::time_point;

    /// Throws std::invalid_argument on invalid thresholds or a period that is not positive.
    accounting(const thresholds& t, std::chrono::milliseconds period);
    /// Thresholds and period from the configuration (already validated there).
    explicit accounting(const heartbeat_config& c);

    /// Capacity for `hosts` slots so that adding them does not allocate.
    void reserve(std::size_t hosts);

    /// A new host, not monitored on any network; reuses a removed host's slot first.
    [[nodiscard]] std::uint32_t add_host();
    /// Frees the slot (no events). Returns false if it was not in use.
    bool remove_host(std::uint32_t slot);
    /// Starts or stops monitoring; see the class notes. Returns false if the slot is not in use.
    bool set_monitored(std::uint32_t slot, network net, bool on);

    /// The period length from the next begin_period() on (the configuration was reloaded). Throws
    /// std::invalid_argument unless it is positive.
    void set_period(std::chrono::milliseconds period);
    [[nodiscard]] std::chrono::nanoseconds period() const noexcept { return period_; }

    /// The request for `seq` went out at `sent_at`. A period still open is abandoned (counted as late:
    /// the controller failed to close it) without misses and without answers.
    void begin_period(std::uint64_t seq, time_point sent_at);
    /// The last request of the open period left at `sent_at`: the window the hosts had is counted from
    /// then, so a send phase that took more than half a period voids the period (see the class notes).
    /// Ignored when no period is open or `sent_at` is earlier than the time given to begin_period.
    void requests_sent(time_point sent_at) noexcept;
    /// An authenticated reply from `slot` on `net` for period `seq`. O(1).
    response_result on_response(std::uint32_t slot, network net, std::uint64_t seq);
    /// Closes the open period at `now`: accounts every monitored (host, network) and appends events to
    /// `events` in slot order, management before cluster for one host.
    period_summary end_period(time_point now, std::vector<hb_event>& events);

    /// The host's level on `net`; nullopt when the slot is not in use.
    [[nodiscard]] std::optional<net_status> status(std::uint32_t slot, network net) const;

    [[nodiscard]] bool in_use(std::uint32_t slot) const noexcept;
    [[nodiscard]] std::size_t host_count() const noexcept { return host_count_; }
    [[nodiscard]] bool period_open() const noexcept { return open_; }
    /// Periods in which no misses were counted because the controller was late.
    [[nodiscard]] std::uint64_t late_periods() const noexcept { return late_periods_; }
    [[nodiscard]] const response_counters& responses() const noexcept { return responses_; }
    [[nodiscard]] const thresholds& limits() const noexcept { return limits_; }

private:
    // One host on one network: 8 bytes, so a period's pass over a network walks a dense array.
    struct entry {
        std::uint32_t misses = 0;
        std::uint16_t answers = 0;
        std::uint8_t flags = 0;
        std::uint8_t reserved = 0;
    };
    static_assert(sizeof(entry) == 8, "the bytes-per-host figure in the class notes assumes 8");

    void account_miss(std::uint32_t slot, network net, entry& e, std::vector<hb_event>& events) const;
    void account_answer(std::uint32_t slot, network net, entry& e, std::vector<hb_event>& events) const;
    void abandon_period();

    thresholds limits_;
    std::chrono::nanoseconds period_;
    std::array<std::vector<entry>, network_count> nets_;  // indexed by network, then slot
    std::vector<std::uint8_t> used_;                      // indexed by slot
    std::vector<std::uint32_t> free_;                     // removed slots, reused last-in first-out
    std::size_t host_count_ = 0;

    bool open_ = false;
    std::uint64_t seq_ = 0;
    time_point sent_at_{};
    std::uint64_t late_periods_ = 0;
    response_counters responses_;
};

}  // namespace mtce::heartbeat
