#pragma once

// The fleet's journal: what it remembers and tells. The event log (in memory for the API, and in the
// inventory), the active alarms (recomputed from a host's state), and the writes of hosts' records to the
// inventory, on the store's thread, in the order they were made; a write that fails is kept and made again
// by the fleet's audit. Internal to src/fleet.

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <asio/any_io_executor.hpp>

#include "fleet/alarms.hpp"
#include "fleet/host_record.hpp"
#include "fleet/inventory.hpp"
#include "fleet/store.hpp"

namespace mtce::fleet {

/// The wall clock in milliseconds since the epoch (event and alarm times).
[[nodiscard]] std::int64_t wall_ms();

/// The row the inventory keeps of a record (an action being saved counts already: see host_record).
[[nodiscard]] host_row row_of(const host_record& h);

/// Not thread-safe: the event loop's thread; the store writes on its own thread.
class journal {
public:
    /// Events kept in memory (and in the inventory): the API serves `since` from these.
    static constexpr std::size_t event_window = inventory::max_events;

    explicit journal(asio::any_io_executor ex) : ex_{std::move(ex)} {}
    journal(const journal&) = delete;  // the writes' completions find it where it was made
    journal& operator=(const journal&) = delete;

    /// Takes the opened inventory, the alarms and the recent events it holds.
    void open(inventory db, std::vector<alarm_row> alarms, std::vector<event_row> recent);
    /// The store: durable writes the API waits for go through it directly. Null before open().
    [[nodiscard]] store* db() { return db_.get(); }

    // ---- events ----
    void log_event(std::string_view host, std::string_view kind, std::string text);
    [[nodiscard]] const std::deque<event_row>& events() const { return events_; }
    [[nodiscard]] std::uint64_t events_recorded() const { return next_event_ - 1; }

    // ---- alarms ----
    /// Raises and clears `host`'s alarms so that exactly `wanted` stand (a raised alarm keeps its `since`).
    void set_alarms(std::string_view host, const std::vector<alarm>& wanted);
    /// Forgets a deleted host's alarms (the inventory removes them with the host).
    void forget_alarms(std::string_view host);
    [[nodiscard]] const std::map<std::pair<std::string, std::string>, alarm_row>& alarms() const {
        return alarms_;
    }

    // ---- the hosts' records ----
    /// Writes the record as it is now, without waiting; a failure is logged once, counted, and the host is
    /// written again by retry_unsaved().
    void save(const host_record& h);
    /// Writes again the hosts whose last write failed; `find` gives a host's record (null: it is gone).
    void retry_unsaved(const std::function<const host_record*(std::string_view)>& find);
    [[nodiscard]] const std::set<std::string>& unsaved() const { return unsaved_; }
    [[nodiscard]] std::uint64_t store_failures() const { return store_failures_; }

private:
    void count_failure(const tl::expected<void, store_error>& r);

    asio::any_io_executor ex_;
    std::unique_ptr<store> db_;
    std::deque<event_row> events_;
    std::uint64_t next_event_ = 1;
    std::map<std::pair<std::string, std::string>, alarm_row> alarms_;  ///< by (host, id)
    std::set<std::string> unsaved_;                                    ///< hosts whose last write failed
    std::uint64_t store_failures_ = 0;
    /// Outlived by the writes' completions only as a weak reference: a completion that runs after the journal
    /// is gone (the fleet stopped with writes in flight) does nothing.
    std::shared_ptr<journal*> self_ = std::make_shared<journal*>(this);
};

}  // namespace mtce::fleet
