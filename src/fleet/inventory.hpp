#pragma once

// The controller's persistent state (design §1 "persists what must survive its own restart", §3.3): managed
// hosts with their states, BMC passwords, the event log and active alarms, in one SQLite database,
// <state_dir>/inventory.db. Blocking: every write is one transaction that is durable on disk (fsync) before
// it returns, so the controller acknowledges a change only once a power loss can no longer undo it.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

#include "fleet/host_spec.hpp"
#include "fleet/states.hpp"

namespace mtce::fleet {

/// A managed host as stored: what it is and where it stands. The BMC password is kept apart
/// (inventory::bmc_password).
struct host_row {
    host_spec spec;
    host_states states;
    std::string task;                        ///< human task text ("Testing", "In-Test Failed: ...")
    host_action action = host_action::none;  ///< a pending administrative action (survives a restart)
    failure_cause cause = failure_cause::none;
    /// Wall clock (ms since the epoch) of the last write. Stored as given; 0 makes the store write the
    /// current wall clock instead (load_hosts then returns that time).
    std::int64_t updated_ms = 0;
    /// The BMC protocol learned for a host whose bmc type is "auto" ("redfish" or "ipmi"; "" until known).
    std::string bmc_protocol;
    /// Consecutive failures of each cause (design §7, auto-recovery), so that they survive a controller
    /// restart. Only non-zero counts: a zero count is not stored (load_hosts leaves it out), and a cause of
    /// none or out of range is refused by insert_host and update_host.
    std::map<failure_cause, std::uint32_t> failure_counts = {};

    friend bool operator==(const host_row&, const host_row&) = default;
};

/// One entry of the event log; ids increase with every event and are never reused.
struct event_row {
    std::uint64_t id = 0;
    std::int64_t time_ms = 0;
    std::string host;
    std::string kind;
    std::string text;

    friend bool operator==(const event_row&, const event_row&) = default;
};

/// An active alarm; at most one per host and alarm id.
struct alarm_row {
    std::string host;
    std::string alarm_id;  ///< "200.001"
    std::string severity;  ///< critical, major, minor or warning
    std::string reason;
    std::int64_t since_ms = 0;

    friend bool operator==(const alarm_row&, const alarm_row&) = default;
};

enum class store_errc {
    busy,       ///< another process holds the database lock (longer than the busy timeout)
    full,       ///< the disk (or the file system's quota) is full
    corrupt,    ///< not a database, damaged, or holding values this program cannot read
    read_only,  ///< the file or its file system cannot be written
    io,         ///< an I/O error, or the file cannot be opened
    duplicate,  ///< a host with the same name, mgmt_ip or cluster_ip exists
    not_found,  ///< no such host
    other,      ///< anything else, such as a database from a newer mtce
};

/// "busy", "full", ... (for logs and metrics).
[[nodiscard]] std::string_view to_string(store_errc code) noexcept;

struct store_error {
    store_errc code = store_errc::other;
    std::string field;    ///< for duplicate: "name", "mgmt_ip" or "cluster_ip"; else empty
    std::string message;  ///< complete sentence naming the database file and quoting SQLite's own text
};

/// The store. One connection; not thread-safe: one thread at a time uses it (the controller's store thread).
/// It may be created on one thread and used on another. Move-only; the connection closes on destruction. A
/// moved-from inventory may only be destroyed or assigned to.
class inventory {
public:
    /// The schema this code reads and writes (meta.schema_version). open() upgrades an older one in place
    /// (1: no BMC TLS and protocol columns; 2: no failure counts), in one transaction.
    static constexpr int schema_version = 3;
    /// How many events the log keeps; older ones are removed as new ones come in.
    static constexpr std::size_t max_events = 10000;
    /// How long a write waits for another process's lock before it fails with `busy`.
    static constexpr int busy_timeout_ms = 2000;

    /// Opens <state_dir>/inventory.db, creating the directory (0700) and a new database (0600) when missing,
    /// so that SQLite makes its -wal and -shm files 0600 too. Refuses, leaving every file as it is: a state
    /// directory others can write, a database (or -wal, -shm) others can read, or not owned by this user or
    /// root (the message says the command that fixes it); an empty or unreadable database; a file that is not
    /// an SQLite database, fails `PRAGMA quick_check`, is not an mtce inventory or has a newer schema
    /// version.
    ///
    /// BMC passwords are sealed (fleet/bmc_secret.hpp) under the key in `bmc_key_file`, read when a password
    /// is first stored or read, and created then if no sealed password exists yet. Passwords in clear (an
    /// inventory from an older mtce) are sealed here, in one transaction.
    [[nodiscard]] static tl::expected<inventory, store_error> open(const std::filesystem::path& state_dir,
                                                                   const std::filesystem::path& bmc_key_file);

    inventory(inventory&&) noexcept;
    inventory& operator=(inventory&&) noexcept;
    inventory(const inventory&) = delete;
    inventory& operator=(const inventory&) = delete;
    ~inventory();

    /// The database file.
    [[nodiscard]] const std::filesystem::path& path() const;

    /// Every host, sorted by name. A stored value that does not parse (a file edited by hand) fails the whole
    /// load with `corrupt`, naming the host and the column.
    [[nodiscard]] tl::expected<std::vector<host_row>, store_error> load_hosts();
    /// Adds a host and, when not empty, its BMC password. `duplicate` names the field that clashes.
    [[nodiscard]] tl::expected<void, store_error> insert_host(const host_row& row,
                                                              const std::string& bmc_password);
    /// Rewrites the host named row.spec.name: spec fields, states, task, action, cause, failure counts,
    /// updated_ms, BMC protocol.
    [[nodiscard]] tl::expected<void, store_error> update_host(const host_row& row);
    /// update_host, and the host's BMC password replaced by `bmc_password` ("" for none), in one transaction.
    [[nodiscard]] tl::expected<void, store_error> update_host(const host_row& row,
                                                              const std::string& bmc_password);
    /// Removes a host with its BMC password and its alarms (its events stay in the log).
    [[nodiscard]] tl::expected<void, store_error> remove_host(const std::string& name);
    /// The host's BMC password; "" if it has none, `not_found` if there is no such host; an error naming the
    /// host and the key file if its sealed password does not open with the key.
    [[nodiscard]] tl::expected<std::string, store_error> bmc_password(const std::string& name);

    /// Appends an event and returns its id; the oldest events beyond max_events go in the same transaction.
    [[nodiscard]] tl::expected<std::uint64_t, store_error> append_event(std::int64_t time_ms,
                                                                        const std::string& host,
                                                                        const std::string& kind,
                                                                        const std::string& text);
    /// Records an event under the id its caller gave it (the controller numbers events as they happen, and
    /// writes them later); the oldest beyond max_events go in the same transaction. An id already used is a
    /// `duplicate`.
    [[nodiscard]] tl::expected<void, store_error> record_event(const event_row& e);
    /// At most `limit` events with ids above `since_id`, oldest first.
    [[nodiscard]] tl::expected<std::vector<event_row>, store_error> events(std::uint64_t since_id,
                                                                           std::size_t limit);
    /// The newest `n` events, oldest first.
    [[nodiscard]] tl::expected<std::vector<event_row>, store_error> last_events(std::size_t n);

    /// Raises an alarm, or replaces every field of the one with the same host and alarm id.
    [[nodiscard]] tl::expected<void, store_error> set_alarm(const alarm_row& a);
    /// Clears an alarm; clearing one that is not set succeeds and changes nothing.
    [[nodiscard]] tl::expected<void, store_error> clear_alarm(const std::string& host,
                                                              const std::string& alarm_id);
    /// Every active alarm, sorted by host, then alarm id.
    [[nodiscard]] tl::expected<std::vector<alarm_row>, store_error> alarms();

    /// Raises the controller's epoch by one and returns it (1 the first time): called once at every start of
    /// the fleet, so that every term of this controller has a higher epoch than the ones before
    /// (design §8). Kept in meta.epoch; no schema change.
    [[nodiscard]] tl::expected<std::uint64_t, store_error> raise_epoch();

private:
    struct impl;
    explicit inventory(std::unique_ptr<impl> state);
    /// update_host; with the BMC password too when `bmc_password` is not null.
    tl::expected<void, store_error> write_host(const host_row& row, const std::string* bmc_password);
    tl::expected<std::uint64_t, store_error> write_event(std::optional<std::uint64_t> id,
                                                         std::int64_t time_ms, const std::string& host,
                                                         const std::string& kind, const std::string& text);
    std::unique_ptr<impl> impl_;
};

}  // namespace mtce::fleet
