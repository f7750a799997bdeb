#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include <asio/awaitable.hpp>
#include <asio/steady_timer.hpp>

#include "core/tasks.hpp"
#include "net/message.hpp"

namespace mtce::host {

/// Dropped datagrams by reason ("bad_mac", "replay", "not_from_a_controller", ...): only reasons counted at
/// least once are present.
using drop_counts = std::map<std::string, std::uint64_t, std::less<>>;

/// The codec's rejections as drop_counts (the names of net::to_string(reject_reason)), zero counts left out.
[[nodiscard]] drop_counts to_drop_counts(const net::reject_counters& rejected);
/// `count` more drops for `reason` in `counts`; nothing for a zero count.
void add_drops(drop_counts& counts, std::string_view reason, std::uint64_t count);
/// `a` plus `b`, reason by reason.
[[nodiscard]] drop_counts sum(drop_counts a, const drop_counts& b);
/// The sum of all counts.
[[nodiscard]] std::uint64_t total(const drop_counts& counts);
/// " reason=count" for every reason, in name order; empty for no drops.
[[nodiscard]] std::string describe(const drop_counts& counts);

/// Decides when a receiver logs what it dropped. Sans-io: the caller passes the time, and logs what comes
/// back.
///
/// The first drop after a quiet spell (no line for `interval`) is logged at once; drops that follow are
/// summed and logged once per interval, each line with the counts since the previous one; due() says when
/// such a summary is owed, so that the tail of a burst is logged even if nothing else arrives, and flush()
/// hands out what is pending at shutdown. Nothing is ever lost: every drop ends up in exactly one line.
/// Costs one map copy per drop (a few reasons). Not thread-safe.
class drop_reporter {
public:
    using clock_type = std::chrono::steady_clock;

    explicit drop_reporter(clock_type::duration interval) : interval_{interval} {}

    /// `totals` is everything dropped since start, now including at least one new drop. Returns the counts
    /// to log now (those since the previous line), or nothing if they are held for a summary.
    [[nodiscard]] std::optional<drop_counts> on_drop(clock_type::time_point now, drop_counts totals);

    /// When the held counts must be logged; nothing if none are held.
    [[nodiscard]] std::optional<clock_type::time_point> due() const;

    /// The held counts (since the previous line), if any: at due() or at shutdown.
    [[nodiscard]] std::optional<drop_counts> flush(clock_type::time_point now);

    /// Everything dropped since start.
    [[nodiscard]] const drop_counts& totals() const { return totals_; }

private:
    [[nodiscard]] drop_counts since_last_line() const;

    clock_type::duration interval_;
    drop_counts totals_;
    drop_counts logged_;  ///< totals_ as of the previous line
    std::optional<clock_type::time_point> last_line_;
};

/// A drop_reporter on the event loop: logs a warning "<what>: N datagram(s) dropped: reason=count ...", at
/// once or when a summary is due, and what is pending at shutdown. Not thread-safe.
class drop_log {
public:
    drop_log(std::string what, std::chrono::steady_clock::duration interval);

    /// Called after every drop with everything dropped so far.
    void on_drop(drop_counts totals);

    /// Logs held summaries when they are due until the tasks are asked to stop, then what is still held.
    asio::awaitable<void> run(task_set& tasks);

    [[nodiscard]] const drop_counts& totals() const { return reporter_.totals(); }

private:
    void log(const drop_counts& counts, std::string_view when) const;

    std::string what_;
    drop_reporter reporter_;
    std::optional<asio::steady_timer> wake_;  ///< while run() waits for the next summary
};

/// How often an agent logs drops at most, after the first one.
inline constexpr std::chrono::seconds drop_log_interval{10};

}  // namespace mtce::host
