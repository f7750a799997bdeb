#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
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
/// Costs one map copy per call; drop_log calls on_drop only when a line is due, not per drop. Not
/// thread-safe.
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
    /// Whether a drop at `now` would be logged at once (no line for `interval`), so that a caller can leave
    /// its counts uncounted until a line is due.
    [[nodiscard]] bool logs_at_once(clock_type::time_point now) const {
        return !last_line_ || now - *last_line_ >= interval_;
    }
    /// When the next line may be logged (at once if none was).
    [[nodiscard]] clock_type::time_point next_line() const {
        return last_line_ ? *last_line_ + interval_ : clock_type::time_point::min();
    }

private:
    [[nodiscard]] drop_counts since_last_line() const;

    clock_type::duration interval_;
    drop_counts totals_;
    drop_counts logged_;  ///< totals_ as of the previous line
    std::optional<clock_type::time_point> last_line_;
};

/// A drop_reporter on the event loop: logs a warning "<what>: N datagram(s) dropped: reason=count ...", at
/// once or when a summary is due, and what is pending at shutdown. The receiver's counters are read (by
/// `read_totals`) only when a line is logged: a flood of bad datagrams costs a timestamp per drop, not a map
/// of every reason. Not thread-safe; not copyable (`read_totals` refers to its owner).
class drop_log {
public:
    drop_log(std::string what, std::chrono::steady_clock::duration interval,
             std::function<drop_counts()> read_totals);
    drop_log(const drop_log&) = delete;
    drop_log& operator=(const drop_log&) = delete;

    /// Called after every drop.
    void on_drop();
    /// Logs held summaries when they are due until the tasks are asked to stop, then what is still held.
    asio::awaitable<void> run(task_set& tasks);

private:
    /// Reads the counters and logs what they gained since the last line, if anything.
    void log_line(std::string_view when);

    std::string what_;
    drop_reporter reporter_;
    std::function<drop_counts()> read_totals_;
    bool held_ = false;                       ///< drops came since the last line, within its interval
    std::optional<asio::steady_timer> wake_;  ///< while run() waits for the next summary
};

/// How often an agent logs drops at most, after the first one.
inline constexpr std::chrono::seconds drop_log_interval{10};

}  // namespace mtce::host
