#include "fleet/inventory.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <limits>
#include <map>
#include <optional>
#include <system_error>
#include <utility>

#include <fmt/format.h>
#include <sqlite3.h>

#include "core/files.hpp"
#include "fleet/bmc_secret.hpp"
#include "fleet/sqlite_loader.hpp"

namespace mtce::fleet {

namespace {

// Version 3. A later version adds its migration from the previous one (migrations below), which raises
// meta.schema_version; an older database runs every migration from its version up in one transaction, and a
// database from a newer mtce is refused, not rewritten.
constexpr const char* schema_sql = R"sql(
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS hosts (
    name                     TEXT PRIMARY KEY NOT NULL,
    personality              TEXT NOT NULL,
    functions                TEXT NOT NULL,
    mgmt_ip                  TEXT NOT NULL UNIQUE,
    cluster_ip               TEXT NOT NULL DEFAULT '',
    bmc_type                 TEXT NOT NULL DEFAULT 'none',
    bmc_address              TEXT NOT NULL DEFAULT '',
    bmc_username             TEXT NOT NULL DEFAULT '',
    administrative           TEXT NOT NULL,
    operational              TEXT NOT NULL,
    availability             TEXT NOT NULL,
    subfunction_operational  TEXT NOT NULL,
    subfunction_availability TEXT NOT NULL,
    task                     TEXT NOT NULL DEFAULT '',
    action                   TEXT NOT NULL DEFAULT '',
    cause                    TEXT NOT NULL DEFAULT 'none',
    updated_ms               INTEGER NOT NULL,
    bmc_verify_tls           INTEGER NOT NULL DEFAULT 1,
    bmc_protocol             TEXT NOT NULL DEFAULT '',
    failure_counts           TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX IF NOT EXISTS hosts_cluster_ip ON hosts (cluster_ip) WHERE cluster_ip <> '';
CREATE TABLE IF NOT EXISTS bmc_secrets (
    name     TEXT PRIMARY KEY NOT NULL REFERENCES hosts (name) ON DELETE CASCADE ON UPDATE CASCADE,
    password TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    time_ms INTEGER NOT NULL,
    host    TEXT NOT NULL,
    kind    TEXT NOT NULL,
    text    TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS alarms (
    host     TEXT NOT NULL,
    alarm_id TEXT NOT NULL,
    severity TEXT NOT NULL,
    reason   TEXT NOT NULL,
    since_ms INTEGER NOT NULL,
    PRIMARY KEY (host, alarm_id)
);
INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', '3');
)sql";

/// Version 1 to 2: a host's BMC TLS verification and the BMC protocol learned.
constexpr const char* migrate_1_to_2_sql = R"sql(
ALTER TABLE hosts ADD COLUMN bmc_verify_tls INTEGER NOT NULL DEFAULT 1;
ALTER TABLE hosts ADD COLUMN bmc_protocol TEXT NOT NULL DEFAULT '';
UPDATE meta SET value = '2' WHERE key = 'schema_version';
)sql";

/// Version 2 to 3: the consecutive failures of each cause (design §7, auto-recovery); none for every host.
constexpr const char* migrate_2_to_3_sql = R"sql(
ALTER TABLE hosts ADD COLUMN failure_counts TEXT NOT NULL DEFAULT '';
UPDATE meta SET value = '3' WHERE key = 'schema_version';
)sql";

/// The migration from version `from` to `from` + 1.
struct migration {
    int from;
    const char* sql;
};

constexpr std::array<migration, 2> migrations{{{1, migrate_1_to_2_sql}, {2, migrate_2_to_3_sql}}};
static_assert(migrations.back().from + 1 == inventory::schema_version, "a schema version has no migration");

/// The statements the store runs, prepared once on first use.
enum class query : std::size_t {
    begin,
    commit,
    rollback,
    load_hosts,
    insert_host,
    insert_secret,
    update_host,
    delete_alarms_of,
    delete_secret,
    delete_host,
    password,
    insert_event,
    prune_events,
    events_since,
    last_events,
    set_alarm,
    clear_alarm,
    alarms,
    secrets,
    count_secrets,
    reseal,
    password_format,
    set_password_format,
    count_,
};

constexpr std::array<const char*, static_cast<std::size_t>(query::count_)> query_sql{
    // BEGIN IMMEDIATE takes the write lock first, so that a busy database fails the write before any change
    // and two writers never deadlock upgrading read locks.
    "BEGIN IMMEDIATE",
    "COMMIT",
    "ROLLBACK",
    "SELECT name, personality, functions, mgmt_ip, cluster_ip, bmc_type, bmc_address, bmc_username, "
    "administrative, operational, availability, subfunction_operational, subfunction_availability, task, "
    "action, cause, updated_ms, bmc_verify_tls, bmc_protocol, failure_counts FROM hosts ORDER BY name",
    "INSERT INTO hosts (name, personality, functions, mgmt_ip, cluster_ip, bmc_type, bmc_address, "
    "bmc_username, administrative, operational, availability, subfunction_operational, "
    "subfunction_availability, task, action, cause, updated_ms, bmc_verify_tls, bmc_protocol, "
    "failure_counts) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)",
    "INSERT INTO bmc_secrets (name, password) VALUES (?1, ?2)",
    "UPDATE hosts SET personality = ?2, functions = ?3, mgmt_ip = ?4, cluster_ip = ?5, bmc_type = ?6, "
    "bmc_address = ?7, bmc_username = ?8, administrative = ?9, operational = ?10, availability = ?11, "
    "subfunction_operational = ?12, subfunction_availability = ?13, task = ?14, action = ?15, cause = ?16, "
    "updated_ms = ?17, bmc_verify_tls = ?18, bmc_protocol = ?19, failure_counts = ?20 WHERE name = ?1",
    "DELETE FROM alarms WHERE host = ?1",
    "DELETE FROM bmc_secrets WHERE name = ?1",
    "DELETE FROM hosts WHERE name = ?1",
    "SELECT s.password FROM hosts AS h LEFT JOIN bmc_secrets AS s ON s.name = h.name WHERE h.name = ?1",
    // A NULL id takes the next one (AUTOINCREMENT); a given id is kept.
    "INSERT INTO events (time_ms, host, kind, text, id) VALUES (?1, ?2, ?3, ?4, ?5)",
    // Ids are never reused and only the oldest rows go, so the newest max_events have the highest ids: one
    // range delete on the primary key, normally of one row.
    "DELETE FROM events WHERE id <= ?1",
    "SELECT id, time_ms, host, kind, text FROM events WHERE id > ?1 ORDER BY id LIMIT ?2",
    "SELECT id, time_ms, host, kind, text FROM "
    "(SELECT id, time_ms, host, kind, text FROM events ORDER BY id DESC LIMIT ?1) ORDER BY id",
    "INSERT INTO alarms (host, alarm_id, severity, reason, since_ms) VALUES (?1, ?2, ?3, ?4, ?5) "
    "ON CONFLICT (host, alarm_id) DO UPDATE SET severity = excluded.severity, reason = excluded.reason, "
    "since_ms = excluded.since_ms",
    "DELETE FROM alarms WHERE host = ?1 AND alarm_id = ?2",
    "SELECT host, alarm_id, severity, reason, since_ms FROM alarms ORDER BY host, alarm_id",
    "SELECT name, password FROM bmc_secrets ORDER BY name",
    "SELECT count(*) FROM bmc_secrets",
    "UPDATE bmc_secrets SET password = ?2 WHERE name = ?1",
    // Which form bmc_secrets.password has: 'v1' (sealed, bmc_secret.hpp), or no row (clear: an older mtce).
    "SELECT value FROM meta WHERE key = 'bmc_password_format'",
    "INSERT OR REPLACE INTO meta (key, value) VALUES ('bmc_password_format', 'v1')",
};

struct db_closer {
    void operator()(sqlite3* db) const noexcept { (void)sqlite3_close_v2(db); }
};

struct statement_finalizer {
    void operator()(sqlite3_stmt* s) const noexcept { (void)sqlite3_finalize(s); }
};

using statement_ptr = std::unique_ptr<sqlite3_stmt, statement_finalizer>;

constexpr auto new_file_mode = 0600;
constexpr auto state_dir_mode = std::filesystem::perms{0700};

std::int64_t wall_clock_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::int64_t clamp_to_int64(std::uint64_t v) {
    constexpr auto max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    return static_cast<std::int64_t>(v < max ? v : max);
}

std::string errno_text(int err) {
    return std::error_code{err, std::system_category()}.message();
}

std::string column_text(sqlite3_stmt* s, int i) {
    const auto* p = sqlite3_column_text(s, i);
    const auto n = sqlite3_column_bytes(s, i);
    if (p == nullptr || n <= 0) {
        return {};
    }
    return {reinterpret_cast<const char*>(p), static_cast<std::size_t>(n)};
}

std::string_view action_text(host_action a) {
    return to_string(a);  // "" for none
}

std::optional<host_action> parse_action(std::string_view s) {
    if (s.empty()) {
        return host_action::none;
    }
    return parse_host_action(s);
}

/// The failure_counts column: "cause=count" for every non-zero count, in the map's order, separated by ','
/// ("goenabled=2,heartbeat=1"); "" for none.
std::string failure_counts_text(const std::map<failure_cause, std::uint32_t>& counts) {
    std::string out;
    for (const auto& [cause, count] : counts) {
        if (count == 0) {
            continue;
        }
        if (!out.empty()) {
            out += ',';
        }
        out += fmt::format("{}={}", to_string(cause), count);
    }
    return out;
}

/// The failure_counts column read back, strictly: each cause named once, none "none", each count a positive
/// decimal number without sign or blanks that fits 32 bits; nullopt for anything else.
std::optional<std::map<failure_cause, std::uint32_t>> parse_failure_counts(std::string_view text) {
    std::map<failure_cause, std::uint32_t> out;
    if (text.empty()) {
        return out;
    }
    for (;;) {
        const auto comma = text.find(',');
        const auto entry = text.substr(0, comma);
        const auto equals = entry.find('=');
        if (equals == std::string_view::npos) {
            return std::nullopt;
        }
        const auto cause = parse_failure_cause(entry.substr(0, equals));
        const auto number = entry.substr(equals + 1);
        std::uint32_t count = 0;
        const auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), count);
        if (!cause || *cause == failure_cause::none || number.empty() || ec != std::errc{} ||
            end != number.data() + number.size() || count == 0 || !out.emplace(*cause, count).second) {
            return std::nullopt;
        }
        if (comma == std::string_view::npos) {
            return out;
        }
        text.remove_prefix(comma + 1);
    }
}

/// The store's error code for an SQLite result code.
store_errc code_of(int rc) {
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return store_errc::busy;
    case SQLITE_FULL:
        return store_errc::full;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return store_errc::corrupt;
    case SQLITE_READONLY:
        return store_errc::read_only;
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
        return store_errc::io;
    default:
        return store_errc::other;
    }
}

bool is_unique_violation(int rc) {
    return rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY;
}

/// The hosts column an SQLite uniqueness message names ("UNIQUE constraint failed: hosts.mgmt_ip").
std::string clashing_column(std::string_view sqlite_text) {
    for (const std::string_view column : {"name", "mgmt_ip", "cluster_ip"}) {
        const auto qualified = fmt::format("hosts.{}", column);
        const auto at = sqlite_text.find(qualified);
        if (at != std::string_view::npos) {
            const auto end = at + qualified.size();
            if (end == sqlite_text.size() || sqlite_text[end] == ',' || sqlite_text[end] == ' ') {
                return std::string{column};
            }
        }
    }
    return "name";  // bmc_secrets.name: a stale password row for this name
}

}  // namespace

std::string_view to_string(store_errc code) noexcept {
    switch (code) {
    case store_errc::busy:
        return "busy";
    case store_errc::full:
        return "full";
    case store_errc::corrupt:
        return "corrupt";
    case store_errc::read_only:
        return "read_only";
    case store_errc::io:
        return "io";
    case store_errc::duplicate:
        return "duplicate";
    case store_errc::not_found:
        return "not_found";
    case store_errc::other:
        return "other";
    }
    return "unknown";
}

struct inventory::impl {
    std::filesystem::path path;
    std::filesystem::path key_file;
    std::optional<bmc_key> key;              ///< read on first need
    std::unique_ptr<sqlite3, db_closer> db;  // declared before the statements: they are finalized first
    std::array<statement_ptr, static_cast<std::size_t>(query::count_)> statements;

    /// An error for SQLite result `rc` while doing `what` ("cannot add host 'x'"); `sqlite_text` is SQLite's
    /// message for it, taken before any later call replaced it.
    [[nodiscard]] store_error error(int rc, std::string_view what, std::string_view sqlite_text) const {
        store_error e{code_of(rc), {}, {}};
        switch (e.code) {
        case store_errc::busy:
            e.message = fmt::format("{}: inventory database '{}' is locked by another process ({})", what,
                                    path.string(), sqlite_text);
            break;
        case store_errc::full:
            e.message = fmt::format("{}: inventory database '{}' cannot be written: the disk is full ({})",
                                    what, path.string(), sqlite_text);
            break;
        case store_errc::corrupt:
            e.message = fmt::format("{}: inventory database '{}' is damaged or not an SQLite database ({})",
                                    what, path.string(), sqlite_text);
            break;
        case store_errc::read_only:
            e.message = fmt::format("{}: inventory database '{}' is read-only ({})", what, path.string(),
                                    sqlite_text);
            break;
        case store_errc::io: {
            const int err = db ? sqlite3_system_errno(db.get()) : 0;
            e.message = err != 0 ? fmt::format("{}: I/O error on inventory database '{}' ({}: {})", what,
                                               path.string(), sqlite_text, errno_text(err))
                                 : fmt::format("{}: I/O error on inventory database '{}' ({})", what,
                                               path.string(), sqlite_text);
            break;
        }
        default:
            e.message = fmt::format("{}: inventory database '{}': {}", what, path.string(), sqlite_text);
            break;
        }
        return e;
    }

    /// The error of the connection's last failed call.
    [[nodiscard]] store_error last_error(int rc, std::string_view what) const {
        return error(rc, what, db ? sqlite3_errmsg(db.get()) : sqlite3_errstr(rc));
    }

    /// A prepared statement in use: bound, stepped, and reset (bindings cleared, so no password stays bound)
    /// when it goes out of scope.
    class use {
    public:
        use(impl& owner, query q) : owner_{owner} {
            auto& slot = owner.statements[static_cast<std::size_t>(q)];
            if (!slot) {
                sqlite3_stmt* raw = nullptr;
                rc_ = sqlite3_prepare_v3(owner.db.get(), query_sql[static_cast<std::size_t>(q)], -1,
                                         SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
                slot.reset(raw);
                if (rc_ != SQLITE_OK) {
                    text_ = sqlite3_errmsg(owner.db.get());
                }
            }
            s_ = slot.get();
        }
        use(const use&) = delete;
        use& operator=(const use&) = delete;
        ~use() {
            if (s_ != nullptr) {
                (void)sqlite3_reset(s_);
                (void)sqlite3_clear_bindings(s_);
            }
        }

        void bind(int i, std::string_view v) {
            if (s_ == nullptr) {  // not prepared: step() reports why
                return;
            }
            if (v.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
                keep(SQLITE_TOOBIG);
                return;
            }
            // An empty view may hold a null pointer, which SQLite would bind as NULL.
            keep(sqlite3_bind_text(s_, i, v.empty() ? "" : v.data(), static_cast<int>(v.size()),
                                   SQLITE_TRANSIENT));
        }
        void bind(int i, std::int64_t v) {
            if (s_ != nullptr) {
                keep(sqlite3_bind_int64(s_, i, v));
            }
        }
        void bind_null(int i) {
            if (s_ != nullptr) {
                keep(sqlite3_bind_null(s_, i));
            }
        }

        /// SQLITE_ROW, SQLITE_DONE or the error (the first one of prepare, bind or step).
        int step() {
            if (rc_ != SQLITE_OK) {
                return rc_;
            }
            const int rc = sqlite3_step(s_);
            if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
                rc_ = rc;
                text_ = sqlite3_errmsg(owner_.db.get());
            }
            return rc;
        }

        [[nodiscard]] sqlite3_stmt* get() const { return s_; }
        /// SQLite's text for the failure step() returned.
        [[nodiscard]] const std::string& text() const { return text_; }
        [[nodiscard]] store_error error(int rc, std::string_view what) const {
            return owner_.error(rc, what, text_.empty() ? sqlite3_errstr(rc) : text_);
        }

    private:
        void keep(int rc) {
            if (rc != SQLITE_OK && rc_ == SQLITE_OK) {
                rc_ = rc;
                text_ = sqlite3_errstr(rc);
            }
        }

        impl& owner_;
        sqlite3_stmt* s_ = nullptr;
        int rc_ = SQLITE_OK;
        std::string text_;
    };

    /// Runs a statement that returns no rows; SQLITE_DONE on success.
    tl::expected<void, store_error> run(query q, std::string_view what) {
        use u{*this, q};
        const int rc = u.step();
        if (rc != SQLITE_DONE) {
            return tl::make_unexpected(u.error(rc, what));
        }
        return {};
    }

    void rollback() {
        if (sqlite3_get_autocommit(db.get()) == 0) {  // some errors roll back by themselves
            use u{*this, query::rollback};
            (void)u.step();
        }
    }

    /// Runs `body` in one write transaction: committed (durably, synchronous=FULL) if it succeeds, rolled
    /// back if it or the commit fails, so that a failed write leaves the database as it was.
    template <class Body>
    auto write(std::string_view what, Body&& body) -> decltype(body()) {
        if (auto begun = run(query::begin, what); !begun) {
            rollback();
            return tl::make_unexpected(std::move(begun.error()));
        }
        auto result = body();
        if (!result) {
            rollback();
            return result;
        }
        if (auto committed = run(query::commit, what); !committed) {
            rollback();
            return tl::make_unexpected(std::move(committed.error()));
        }
        return result;
    }

    void bind_host(use& u, const host_row& row) {
        const auto& spec = row.spec;
        u.bind(1, spec.name);
        u.bind(2, to_string(spec.personality));
        u.bind(3, to_string(spec.functions));
        u.bind(4, spec.mgmt_ip);
        u.bind(5, spec.cluster_ip);
        u.bind(6, spec.bmc.type);
        u.bind(7, spec.bmc.address);
        u.bind(8, spec.bmc.username);
        u.bind(9, to_string(row.states.administrative));
        u.bind(10, to_string(row.states.operational));
        u.bind(11, to_string(row.states.availability));
        u.bind(12, to_string(row.states.subfunction_operational));
        u.bind(13, to_string(row.states.subfunction_availability));
        u.bind(14, row.task);
        u.bind(15, action_text(row.action));
        u.bind(16, to_string(row.cause));
        u.bind(17, row.updated_ms != 0 ? row.updated_ms : wall_clock_ms());
        u.bind(18, std::int64_t{spec.bmc.verify_tls ? 1 : 0});
        u.bind(19, row.bmc_protocol);
        u.bind(20, failure_counts_text(row.failure_counts));
    }

    /// The error for a failed insert or update of a host: `duplicate` with the clashing field when a
    /// uniqueness rule was broken.
    store_error host_write_error(const use& u, int rc, std::string_view what, const host_row& row) const {
        if (!is_unique_violation(rc)) {
            return u.error(rc, what);
        }
        store_error e{store_errc::duplicate, clashing_column(u.text()), {}};
        const auto& spec = row.spec;
        const std::string& value = e.field == "mgmt_ip"      ? spec.mgmt_ip
                                   : e.field == "cluster_ip" ? spec.cluster_ip
                                                             : spec.name;
        e.message = fmt::format("{}: another host has the same {} '{}' in inventory database '{}' ({})", what,
                                e.field, value, path.string(), u.text());
        return e;
    }

    /// Refuses a row load_hosts could not read back, so that one bad write cannot make the whole inventory
    /// unloadable: functions that do not start with the personality, or an enumerator out of range.
    std::optional<store_error> unstorable(std::string_view what, const host_row& row) const {
        const auto& spec = row.spec;
        std::string problem;
        if (spec.functions.empty() || spec.functions.front() != spec.personality) {
            problem = fmt::format("its functions '{}' do not start with its personality '{}'",
                                  to_string(spec.functions), to_string(spec.personality));
        }
        for (const auto text : {to_string(spec.personality), to_string(row.states.administrative),
                                to_string(row.states.operational), to_string(row.states.availability),
                                to_string(row.states.subfunction_operational),
                                to_string(row.states.subfunction_availability), to_string(row.cause)}) {
            if (text == "unknown") {
                problem = "one of its states is out of range";
            }
        }
        if (row.action != host_action::none && to_string(row.action) == "unknown") {
            problem = "its action is out of range";
        }
        for (const auto& [cause, count] : row.failure_counts) {
            if (cause == failure_cause::none || to_string(cause) == "unknown") {
                problem = "one of its failure counts has no cause";
            }
        }
        if (problem.empty()) {
            return std::nullopt;
        }
        return store_error{store_errc::other,
                           {},
                           fmt::format("{}: {}; nothing was written to inventory database '{}'", what,
                                       problem, path.string())};
    }

    store_error not_found(std::string_view what, std::string_view name) const {
        return {
            store_errc::not_found,
            {},
            fmt::format("{}: there is no host '{}' in inventory database '{}'", what, name, path.string())};
    }

    store_error unreadable(std::string_view name, std::string_view column, std::string_view value) const {
        return {
            store_errc::corrupt,
            {},
            fmt::format("cannot load hosts: inventory database '{}' holds host '{}' with {} '{}', which this "
                        "mtce cannot read (was the file edited by hand?); the file was left as it is",
                        path.string(), name, column, value)};
    }

    tl::expected<host_row, store_error> read_host(sqlite3_stmt* s) const {
        host_row row;
        auto& spec = row.spec;
        spec.name = column_text(s, 0);
        const auto personality_text = column_text(s, 1);
        const auto personality = parse_role(personality_text);
        if (!personality) {
            return tl::make_unexpected(unreadable(spec.name, "personality", personality_text));
        }
        spec.personality = *personality;
        const auto functions_text = column_text(s, 2);
        auto functions = parse_functions(functions_text);
        if (!functions || functions->front() != spec.personality) {
            return tl::make_unexpected(unreadable(spec.name, "functions", functions_text));
        }
        spec.functions = std::move(*functions);
        spec.mgmt_ip = column_text(s, 3);
        spec.cluster_ip = column_text(s, 4);
        spec.bmc.type = column_text(s, 5);
        spec.bmc.address = column_text(s, 6);
        spec.bmc.username = column_text(s, 7);
        spec.bmc.verify_tls = sqlite3_column_int64(s, 17) != 0;
        row.bmc_protocol = column_text(s, 18);

        struct state_column {
            int index;
            std::string_view name;
        };
        const auto parsed = [&](state_column c, auto parse, auto& out) -> tl::expected<void, store_error> {
            const auto text = column_text(s, c.index);
            const auto v = parse(text);
            if (!v) {
                return tl::make_unexpected(unreadable(spec.name, c.name, text));
            }
            out = *v;
            return {};
        };
        auto& st = row.states;
        const auto avail = [](std::string_view t) { return parse_avail_state(t); };
        const auto oper = [](std::string_view t) { return parse_oper_state(t); };
        if (auto r = parsed(
                {8, "administrative"}, [](std::string_view t) { return parse_admin_state(t); },
                st.administrative);
            !r) {
            return tl::make_unexpected(std::move(r.error()));
        }
        if (auto r = parsed({9, "operational"}, oper, st.operational); !r) {
            return tl::make_unexpected(std::move(r.error()));
        }
        if (auto r = parsed({10, "availability"}, avail, st.availability); !r) {
            return tl::make_unexpected(std::move(r.error()));
        }
        if (auto r = parsed({11, "subfunction_operational"}, oper, st.subfunction_operational); !r) {
            return tl::make_unexpected(std::move(r.error()));
        }
        if (auto r = parsed({12, "subfunction_availability"}, avail, st.subfunction_availability); !r) {
            return tl::make_unexpected(std::move(r.error()));
        }
        row.task = column_text(s, 13);
        if (auto r = parsed({14, "action"}, parse_action, row.action); !r) {
            return tl::make_unexpected(std::move(r.error()));
        }
        if (auto r = parsed(
                {15, "cause"}, [](std::string_view t) { return parse_failure_cause(t); }, row.cause);
            !r) {
            return tl::make_unexpected(std::move(r.error()));
        }
        row.updated_ms = sqlite3_column_int64(s, 16);
        const auto counts_text = column_text(s, 19);
        auto counts = parse_failure_counts(counts_text);
        if (!counts) {
            return tl::make_unexpected(unreadable(spec.name, "failure_counts", counts_text));
        }
        row.failure_counts = std::move(*counts);
        return row;
    }

    /// The BMC key, read on first need. A missing key file is created only while no sealed password exists
    /// (a new key could not open them): none is stored, or `all_clear` (they are about to be sealed).
    tl::expected<const bmc_key*, store_error> need_key(std::string_view what, bool all_clear = false) {
        if (key) {
            return &*key;
        }
        bool none_sealed = all_clear;
        if (!none_sealed) {
            use u{*this, query::count_secrets};
            const int rc = u.step();
            if (rc != SQLITE_ROW) {
                return tl::make_unexpected(u.error(rc, what));
            }
            none_sealed = sqlite3_column_int64(u.get(), 0) == 0;
        }
        auto loaded = load_bmc_key(key_file, /*create=*/none_sealed);
        if (!loaded) {
            return tl::make_unexpected(
                store_error{store_errc::other,
                            {},
                            fmt::format("{}: {}{}", what, loaded.error(),
                                        none_sealed ? ""
                                                    : fmt::format("; inventory database '{}' holds BMC "
                                                                  "passwords sealed with that key: put "
                                                                  "it back",
                                                                  path.string()))});
        }
        key = *loaded;
        return &*key;
    }

    /// `password` as stored for host `name`: sealed.
    tl::expected<std::string, store_error> seal(std::string_view what, std::string_view name,
                                                std::string_view password) {
        auto k = need_key(what);
        if (!k) {
            return tl::make_unexpected(std::move(k.error()));
        }
        return seal_bmc_password(**k, name, password);
    }

    /// Stores `password` (not empty) for host `name`.
    tl::expected<void, store_error> insert_secret(std::string_view what, const host_row& row,
                                                  std::string_view password) {
        auto sealed = seal(what, row.spec.name, password);
        if (!sealed) {
            return tl::make_unexpected(std::move(sealed.error()));
        }
        use u{*this, query::insert_secret};
        u.bind(1, row.spec.name);
        u.bind(2, *sealed);
        if (const int rc = u.step(); rc != SQLITE_DONE) {
            return tl::make_unexpected(host_write_error(u, rc, what, row));
        }
        return {};
    }

    /// Seals the passwords an older mtce stored in clear, all in one transaction, then checkpoints the log so
    /// that the clear text is overwritten in the database file (secure_delete) and gone from the log.
    tl::expected<void, store_error> seal_clear_passwords() {
        constexpr std::string_view what = "cannot seal the BMC passwords of the inventory";
        {
            use u{*this, query::password_format};
            const int rc = u.step();
            if (rc == SQLITE_ROW) {
                const auto format = column_text(u.get(), 0);
                if (format == "v1") {
                    return {};
                }
                return tl::make_unexpected(store_error{
                    store_errc::other,
                    {},
                    fmt::format(
                        "{}: inventory database '{}' has BMC passwords in form '{}', written by a newer "
                        "mtce",
                        what, path.string(), format)});
            }
            if (rc != SQLITE_DONE) {
                return tl::make_unexpected(u.error(rc, what));
            }
        }
        std::vector<std::pair<std::string, std::string>> clear;
        {
            use u{*this, query::secrets};
            for (int rc = u.step(); rc != SQLITE_DONE; rc = u.step()) {
                if (rc != SQLITE_ROW) {
                    return tl::make_unexpected(u.error(rc, what));
                }
                clear.emplace_back(column_text(u.get(), 0), column_text(u.get(), 1));
            }
        }
        auto written = write(what, [&]() -> tl::expected<void, store_error> {
            for (const auto& [name, password] : clear) {
                auto k = need_key(what, /*all_clear=*/true);
                if (!k) {
                    return tl::make_unexpected(std::move(k.error()));
                }
                const auto sealed = seal_bmc_password(**k, name, password);
                use u{*this, query::reseal};
                u.bind(1, name);
                u.bind(2, sealed);
                if (const int rc = u.step(); rc != SQLITE_DONE) {
                    return tl::make_unexpected(u.error(rc, what));
                }
            }
            return run(query::set_password_format, what);
        });
        for (auto& [name, password] : clear) {
            std::fill(password.begin(), password.end(), '\0');
        }
        if (!written) {
            return written;
        }
        if (!clear.empty()) {
            (void)sqlite3_wal_checkpoint_v2(db.get(), nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
        }
        return {};
    }

    tl::expected<std::vector<event_row>, store_error> read_events(use& u, std::string_view what) {
        std::vector<event_row> out;
        for (;;) {
            const int rc = u.step();
            if (rc == SQLITE_DONE) {
                return out;
            }
            if (rc != SQLITE_ROW) {
                return tl::make_unexpected(u.error(rc, what));
            }
            auto* s = u.get();
            out.push_back({static_cast<std::uint64_t>(sqlite3_column_int64(s, 0)), sqlite3_column_int64(s, 1),
                           column_text(s, 2), column_text(s, 3), column_text(s, 4)});
        }
    }
};

namespace {

store_errc code_of_errno(int err) {
    switch (err) {
    case ENOSPC:
    case EDQUOT:
        return store_errc::full;
    case EROFS:
        return store_errc::read_only;
    default:
        return store_errc::io;
    }
}

/// A write-ahead log or rollback journal whose database is gone. SQLite would replay it into a new database
/// of the same name, so a new inventory is not made beside one.
std::optional<std::filesystem::path> orphaned_journal(const std::filesystem::path& db) {
    std::error_code ec;
    if (std::filesystem::exists(db, ec) || ec) {
        return std::nullopt;
    }
    for (const char* suffix : {"-wal", "-journal"}) {
        auto journal = db;
        journal += suffix;
        const auto size = std::filesystem::file_size(journal, ec);
        if (!ec && size > 0) {
            return journal;
        }
    }
    return std::nullopt;
}

/// Refuses what is there and may not be used, before anything is created or opened: a state directory or
/// database files others can reach (their secrets would be theirs), an empty database (SQLite would take it
/// for a new one and drop its write-ahead log), one this user cannot read. Nothing is changed.
tl::expected<void, store_error> refuse_existing(const std::filesystem::path& state_dir,
                                                const std::filesystem::path& db) {
    constexpr std::string_view what = "cannot open the inventory";
    const auto refuse = [&](std::string message) {
        return tl::make_unexpected(store_error{store_errc::other, {}, fmt::format("{}: {}", what, message)});
    };
    if (auto problem = check_access(state_dir, file_use::directory); !problem.empty()) {
        return refuse(std::move(problem));
    }
    auto wal = db;
    wal += "-wal";
    auto shm = db;
    shm += "-shm";
    for (const auto& file : {db, wal, shm}) {
        if (auto problem = check_access(file, file_use::private_file); !problem.empty()) {
            return refuse(std::move(problem));
        }
    }
    struct stat st {};
    if (::stat(db.c_str(), &st) != 0) {
        return {};  // missing (created next) or unreachable (SQLite says why)
    }
    if (st.st_size == 0) {
        std::error_code ec;
        const auto wal_size = std::filesystem::file_size(wal, ec);
        const auto log = !ec && wal_size > 0 ? fmt::format(", and its write-ahead log '{}' holds {} bytes",
                                                           wal.string(), wal_size)
                                             : std::string{};
        return refuse(fmt::format(
            "'{}' is empty (0 bytes){}; the files were left as they are: restore a backup of the database (a "
            "copy of the whole state directory), or move the database away with its -wal and -shm files to "
            "start with an empty inventory",
            db.string(), log));
    }
    const int fd = ::open(db.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        const int err = errno;
        return refuse(
            fmt::format("cannot read '{}': {}; it was left as it is (it must belong to this daemon's "
                        "user, mode 0600)",
                        db.string(), errno_text(err)));
    }
    ::close(fd);
    return {};
}

/// Creates the database file with mode 0600 if it is not there, so that SQLite (which makes its -wal and -shm
/// files with the mode of the database) never creates it with the umask's mode. An existing file is left as
/// it is.
tl::expected<void, store_error> create_if_missing(const std::filesystem::path& path) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, new_file_mode);
    if (fd < 0) {
        if (errno == EEXIST) {
            return {};
        }
        const int err = errno;
        return tl::make_unexpected(store_error{
            code_of_errno(err),
            {},
            fmt::format("cannot create inventory database '{}': {}", path.string(), errno_text(err))});
    }
    int err = 0;
    if (::fchmod(fd, new_file_mode) != 0) {  // the umask may have taken bits away
        err = errno;
    }
    ::close(fd);
    if (err == 0) {
        // The directory entry is made durable too, or a power loss could lose the file with its first commit.
        const int dfd = ::open(path.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            (void)::fsync(dfd);
            ::close(dfd);
        }
        return {};
    }
    (void)::unlink(path.c_str());
    return tl::make_unexpected(store_error{
        code_of_errno(err),
        {},
        fmt::format("cannot set the mode of inventory database '{}': {}", path.string(), errno_text(err))});
}

}  // namespace

inventory::inventory(std::unique_ptr<impl> state) : impl_{std::move(state)} {}
inventory::inventory(inventory&&) noexcept = default;
inventory& inventory::operator=(inventory&&) noexcept = default;
inventory::~inventory() = default;

const std::filesystem::path& inventory::path() const {
    return impl_->path;
}

tl::expected<inventory, store_error> inventory::open(const std::filesystem::path& state_dir,
                                                     const std::filesystem::path& bmc_key_file) {
    // SQLite is loaded on first use (fleet/sqlite_loader.hpp). Without it, open() fails here, before it
    // touches a file, with the loader's error, which names the library and its package; not through
    // sqlite3_open_v2's SQLITE_CANTOPEN, which this file reports as an I/O error on the database and so
    // points at the disk.
    if (auto loaded = sqlite::load(); !loaded) {
        return tl::make_unexpected(
            store_error{store_errc::other, {}, fmt::format("cannot open the inventory: {}", loaded.error())});
    }
    auto im = std::make_unique<impl>();
    im->path = state_dir / "inventory.db";
    im->key_file = bmc_key_file;
    if (auto refused = refuse_existing(state_dir, im->path); !refused) {
        return tl::make_unexpected(std::move(refused.error()));
    }
    if (const auto ec = make_directories(state_dir, state_dir_mode)) {
        return tl::make_unexpected(store_error{
            code_of_errno(ec.value()),
            {},
            fmt::format("cannot create state directory '{}': {}", state_dir.string(), ec.message())});
    }
    if (const auto journal = orphaned_journal(im->path)) {
        return tl::make_unexpected(store_error{
            store_errc::other,
            {},
            fmt::format(
                "cannot open the inventory: '{}' is there without its database '{}'; it was left as it "
                "is (move it away to start with an empty inventory, or put back the database it belongs "
                "to)",
                journal->string(), im->path.string())});
    }
    if (auto created = create_if_missing(im->path); !created) {
        return tl::make_unexpected(std::move(created.error()));
    }

    constexpr std::string_view what = "cannot open the inventory";
    sqlite3* raw = nullptr;
    const int opened = sqlite3_open_v2(
        im->path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE, nullptr);
    im->db.reset(raw);
    if (opened != SQLITE_OK) {
        return tl::make_unexpected(im->last_error(opened, what));
    }
    sqlite3* db = im->db.get();
    (void)sqlite3_extended_result_codes(db, 1);
    (void)sqlite3_busy_timeout(db, busy_timeout_ms);

    // Until the file has passed every check, nothing may write to it: not even the checkpoint SQLite runs
    // when the last connection to a WAL database closes.
    (void)sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, static_cast<int*>(nullptr));
    // A file that is there is never deleted, truncated or recreated: the operator decides what becomes of it.
    const auto refuse = [&](store_error e) {
        e.message += "; the file was left as it is";
        if (e.code == store_errc::corrupt || e.code == store_errc::other) {
            e.message +=
                " (move it away, with its -wal and -shm files, to start with an empty inventory; or "
                "restore a backup)";
        }
        return tl::make_unexpected(std::move(e));
    };
    const auto single_value = [&](const char* sql) -> tl::expected<std::optional<std::string>, store_error> {
        sqlite3_stmt* s = nullptr;
        int rc = sqlite3_prepare_v2(db, sql, -1, &s, nullptr);
        statement_ptr owned{s};
        if (rc == SQLITE_OK) {
            rc = sqlite3_step(s);
        }
        if (rc == SQLITE_ROW) {
            return column_text(s, 0);
        }
        if (rc == SQLITE_DONE) {
            return std::nullopt;
        }
        return tl::make_unexpected(im->last_error(rc, what));
    };

    // quick_check: the b-tree structure of every page, in O(size) (the file is small).
    auto check = single_value("PRAGMA quick_check(1)");
    if (!check) {
        return refuse(std::move(check.error()));
    }
    if (check->value_or("ok") != "ok") {
        return refuse(im->error(SQLITE_CORRUPT, what, fmt::format("quick_check: {}", **check)));
    }
    auto tables = single_value("SELECT count(*) FROM sqlite_schema");
    if (!tables) {
        return refuse(std::move(tables.error()));
    }
    const bool fresh = tables->value_or("0") == "0";
    int version = schema_version;
    if (!fresh) {
        auto has_meta =
            single_value("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'meta'");
        if (!has_meta) {
            return refuse(std::move(has_meta.error()));
        }
        if (has_meta->value_or("0") == "0") {
            return refuse(store_error{
                store_errc::other,
                {},
                fmt::format("{}: '{}' is an SQLite database but not an mtce inventory (it has no meta table)",
                            what, im->path.string())});
        }
        auto version_text = single_value("SELECT value FROM meta WHERE key = 'schema_version'");
        if (!version_text) {
            return refuse(std::move(version_text.error()));
        }
        const std::string text = version_text->value_or("");
        version = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), version);
        if (ec != std::errc{} || end != text.data() + text.size() || version < 1) {
            return refuse(
                store_error{store_errc::corrupt,
                            {},
                            fmt::format("{}: inventory database '{}' has schema version '{}', which is "
                                        "not a version number",
                                        what, im->path.string(), text)});
        }
        if (version > schema_version) {
            return refuse(store_error{
                store_errc::other,
                {},
                fmt::format(
                    "{}: inventory database '{}' has schema version {}, written by a newer mtce (this one "
                    "knows version {})",
                    what, im->path.string(), version, schema_version)});
        }
    }

    // The file is ours. WAL: readers never block the writer; synchronous=FULL: a commit is on disk (the WAL
    // fsynced) when it returns; secure_delete: a removed BMC password is overwritten, not left in a free
    // page.
    auto mode = single_value("PRAGMA journal_mode = WAL");
    if (!mode) {
        return tl::make_unexpected(std::move(mode.error()));
    }
    if (mode->value_or("") != "wal") {
        return tl::make_unexpected(im->error(
            SQLITE_ERROR, what, fmt::format("journal_mode is '{}', not 'wal'", mode->value_or(""))));
    }
    for (const char* pragma :
         {"PRAGMA synchronous = FULL", "PRAGMA foreign_keys = ON", "PRAGMA secure_delete = ON"}) {
        if (const int rc = sqlite3_exec(db, pragma, nullptr, nullptr, nullptr); rc != SQLITE_OK) {
            return tl::make_unexpected(im->last_error(rc, what));
        }
    }
    if (!fresh && version < schema_version) {
        auto migrated = im->write("cannot upgrade the schema", [&]() -> tl::expected<void, store_error> {
            for (const auto& m : migrations) {
                if (m.from < version) {
                    continue;
                }
                if (const int rc = sqlite3_exec(db, m.sql, nullptr, nullptr, nullptr); rc != SQLITE_OK) {
                    return tl::make_unexpected(im->last_error(
                        rc,
                        fmt::format("cannot upgrade the schema from version {} to {}", m.from, m.from + 1)));
                }
            }
            return {};
        });
        if (!migrated) {
            return tl::make_unexpected(std::move(migrated.error()));
        }
    }
    if (fresh) {
        auto created = im->write("cannot create the schema", [&]() -> tl::expected<void, store_error> {
            if (const int rc = sqlite3_exec(db, schema_sql, nullptr, nullptr, nullptr); rc != SQLITE_OK) {
                return tl::make_unexpected(im->last_error(rc, "cannot create the schema"));
            }
            return {};
        });
        if (!created) {
            return tl::make_unexpected(std::move(created.error()));
        }
    }
    if (auto sealed = im->seal_clear_passwords(); !sealed) {
        return tl::make_unexpected(std::move(sealed.error()));
    }
    (void)sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 0, static_cast<int*>(nullptr));
    return inventory{std::move(im)};
}

tl::expected<std::vector<host_row>, store_error> inventory::load_hosts() {
    impl::use u{*impl_, query::load_hosts};
    std::vector<host_row> out;
    for (;;) {
        const int rc = u.step();
        if (rc == SQLITE_DONE) {
            return out;
        }
        if (rc != SQLITE_ROW) {
            return tl::make_unexpected(u.error(rc, "cannot load hosts"));
        }
        auto row = impl_->read_host(u.get());
        if (!row) {
            return tl::make_unexpected(std::move(row.error()));
        }
        out.push_back(std::move(*row));
    }
}

tl::expected<void, store_error> inventory::insert_host(const host_row& row, const std::string& bmc_password) {
    const auto what = fmt::format("cannot add host '{}'", row.spec.name);
    if (auto e = impl_->unstorable(what, row)) {
        return tl::make_unexpected(std::move(*e));
    }
    return impl_->write(what, [&]() -> tl::expected<void, store_error> {
        {
            impl::use u{*impl_, query::insert_host};
            impl_->bind_host(u, row);
            if (const int rc = u.step(); rc != SQLITE_DONE) {
                return tl::make_unexpected(impl_->host_write_error(u, rc, what, row));
            }
        }
        if (!bmc_password.empty()) {
            return impl_->insert_secret(what, row, bmc_password);
        }
        return {};
    });
}

tl::expected<void, store_error> inventory::update_host(const host_row& row) {
    return write_host(row, nullptr);
}

tl::expected<void, store_error> inventory::update_host(const host_row& row, const std::string& bmc_password) {
    return write_host(row, &bmc_password);
}

tl::expected<void, store_error> inventory::write_host(const host_row& row, const std::string* bmc_password) {
    const auto what = fmt::format("cannot update host '{}'", row.spec.name);
    if (auto e = impl_->unstorable(what, row)) {
        return tl::make_unexpected(std::move(*e));
    }
    return impl_->write(what, [&]() -> tl::expected<void, store_error> {
        {
            impl::use u{*impl_, query::update_host};
            impl_->bind_host(u, row);
            if (const int rc = u.step(); rc != SQLITE_DONE) {
                return tl::make_unexpected(impl_->host_write_error(u, rc, what, row));
            }
            if (sqlite3_changes(impl_->db.get()) == 0) {
                return tl::make_unexpected(impl_->not_found(what, row.spec.name));
            }
        }
        if (bmc_password == nullptr) {
            return {};
        }
        {
            impl::use u{*impl_, query::delete_secret};
            u.bind(1, row.spec.name);
            if (const int rc = u.step(); rc != SQLITE_DONE) {
                return tl::make_unexpected(u.error(rc, what));
            }
        }
        if (!bmc_password->empty()) {
            return impl_->insert_secret(what, row, *bmc_password);
        }
        return {};
    });
}

tl::expected<void, store_error> inventory::remove_host(const std::string& name) {
    const auto what = fmt::format("cannot remove host '{}'", name);
    return impl_->write(what, [&]() -> tl::expected<void, store_error> {
        for (const auto q : {query::delete_alarms_of, query::delete_secret, query::delete_host}) {
            impl::use u{*impl_, q};
            u.bind(1, name);
            if (const int rc = u.step(); rc != SQLITE_DONE) {
                return tl::make_unexpected(u.error(rc, what));
            }
        }
        if (sqlite3_changes(impl_->db.get()) == 0) {  // of the last statement: the host row
            return tl::make_unexpected(impl_->not_found(what, name));
        }
        return {};
    });
}

tl::expected<std::string, store_error> inventory::bmc_password(const std::string& name) {
    const auto what = fmt::format("cannot read the BMC password of host '{}'", name);
    impl::use u{*impl_, query::password};
    u.bind(1, name);
    const int rc = u.step();
    if (rc == SQLITE_DONE) {
        return tl::make_unexpected(impl_->not_found(what, name));
    }
    if (rc != SQLITE_ROW) {
        return tl::make_unexpected(u.error(rc, what));
    }
    const auto sealed = column_text(u.get(), 0);
    if (sealed.empty()) {
        return std::string{};
    }
    auto key = impl_->need_key(what);
    if (!key) {
        return tl::make_unexpected(std::move(key.error()));
    }
    auto password = open_bmc_password(**key, name, sealed);
    if (!password) {
        return tl::make_unexpected(store_error{
            store_errc::other,
            {},
            fmt::format("{}: {}: BMC key file '{}' is not the key it was sealed with (put that key back, or "
                        "give the host its password again: mtce host modify {} --bmc-password-file FILE)",
                        what, password.error(), impl_->key_file.string(), name)});
    }
    return std::move(*password);
}

tl::expected<std::uint64_t, store_error> inventory::append_event(std::int64_t time_ms,
                                                                 const std::string& host,
                                                                 const std::string& kind,
                                                                 const std::string& text) {
    return write_event(std::nullopt, time_ms, host, kind, text);
}

tl::expected<void, store_error> inventory::record_event(const event_row& e) {
    auto r = write_event(e.id, e.time_ms, e.host, e.kind, e.text);
    if (!r) {
        return tl::make_unexpected(std::move(r.error()));
    }
    return {};
}

tl::expected<std::uint64_t, store_error> inventory::write_event(std::optional<std::uint64_t> given,
                                                                std::int64_t time_ms, const std::string& host,
                                                                const std::string& kind,
                                                                const std::string& text) {
    constexpr std::string_view what = "cannot append an event";
    return impl_->write(what, [&]() -> tl::expected<std::uint64_t, store_error> {
        std::int64_t id = 0;
        {
            impl::use u{*impl_, query::insert_event};
            u.bind(1, time_ms);
            u.bind(2, host);
            u.bind(3, kind);
            u.bind(4, text);
            if (given) {
                u.bind(5, clamp_to_int64(*given));
            } else {
                u.bind_null(5);
            }
            if (const int rc = u.step(); rc != SQLITE_DONE) {
                if (is_unique_violation(rc)) {
                    return tl::make_unexpected(
                        store_error{store_errc::duplicate, "id",
                                    fmt::format("{}: event {} is already in inventory database '{}'", what,
                                                given.value_or(0), impl_->path.string())});
                }
                return tl::make_unexpected(u.error(rc, what));
            }
            id = sqlite3_last_insert_rowid(impl_->db.get());
        }
        constexpr auto keep = static_cast<std::int64_t>(max_events);
        if (id > keep) {
            impl::use u{*impl_, query::prune_events};
            u.bind(1, id - keep);
            if (const int rc = u.step(); rc != SQLITE_DONE) {
                return tl::make_unexpected(u.error(rc, what));
            }
        }
        return static_cast<std::uint64_t>(id);
    });
}

tl::expected<std::vector<event_row>, store_error> inventory::events(std::uint64_t since_id,
                                                                    std::size_t limit) {
    impl::use u{*impl_, query::events_since};
    u.bind(1, clamp_to_int64(since_id));
    u.bind(2, clamp_to_int64(limit));
    return impl_->read_events(u, "cannot read events");
}

tl::expected<std::vector<event_row>, store_error> inventory::last_events(std::size_t n) {
    impl::use u{*impl_, query::last_events};
    u.bind(1, clamp_to_int64(n));
    return impl_->read_events(u, "cannot read events");
}

tl::expected<void, store_error> inventory::set_alarm(const alarm_row& a) {
    const auto what = fmt::format("cannot raise alarm {} of host '{}'", a.alarm_id, a.host);
    return impl_->write(what, [&]() -> tl::expected<void, store_error> {
        impl::use u{*impl_, query::set_alarm};
        u.bind(1, a.host);
        u.bind(2, a.alarm_id);
        u.bind(3, a.severity);
        u.bind(4, a.reason);
        u.bind(5, a.since_ms);
        if (const int rc = u.step(); rc != SQLITE_DONE) {
            return tl::make_unexpected(u.error(rc, what));
        }
        return {};
    });
}

tl::expected<void, store_error> inventory::clear_alarm(const std::string& host, const std::string& alarm_id) {
    const auto what = fmt::format("cannot clear alarm {} of host '{}'", alarm_id, host);
    return impl_->write(what, [&]() -> tl::expected<void, store_error> {
        impl::use u{*impl_, query::clear_alarm};
        u.bind(1, host);
        u.bind(2, alarm_id);
        if (const int rc = u.step(); rc != SQLITE_DONE) {
            return tl::make_unexpected(u.error(rc, what));
        }
        return {};
    });
}

tl::expected<std::vector<alarm_row>, store_error> inventory::alarms() {
    impl::use u{*impl_, query::alarms};
    std::vector<alarm_row> out;
    for (;;) {
        const int rc = u.step();
        if (rc == SQLITE_DONE) {
            return out;
        }
        if (rc != SQLITE_ROW) {
            return tl::make_unexpected(u.error(rc, "cannot read alarms"));
        }
        auto* s = u.get();
        out.push_back({column_text(s, 0), column_text(s, 1), column_text(s, 2), column_text(s, 3),
                       sqlite3_column_int64(s, 4)});
    }
}

tl::expected<std::uint64_t, store_error> inventory::raise_epoch() {
    constexpr std::string_view what = "cannot raise the controller's epoch";
    // Two statements, prepared here: they run once per start.
    const auto run = [&](const char* sql, auto&& on_row) -> tl::expected<void, store_error> {
        sqlite3_stmt* raw = nullptr;
        if (const int rc = sqlite3_prepare_v2(impl_->db.get(), sql, -1, &raw, nullptr); rc != SQLITE_OK) {
            return tl::make_unexpected(impl_->last_error(rc, what));
        }
        const statement_ptr statement{raw};
        for (;;) {
            const int rc = sqlite3_step(raw);
            if (rc == SQLITE_DONE) {
                return {};
            }
            if (rc != SQLITE_ROW) {
                return tl::make_unexpected(impl_->last_error(rc, what));
            }
            on_row(raw);
        }
    };
    return impl_->write(what, [&]() -> tl::expected<std::uint64_t, store_error> {
        std::optional<std::string> stored;
        auto read = run("SELECT value FROM meta WHERE key = 'epoch'", [&](sqlite3_stmt* row) {
            const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(row, 0));
            stored = text == nullptr ? std::string{} : std::string{text};
        });
        if (!read) {
            return tl::make_unexpected(std::move(read.error()));
        }
        std::uint64_t epoch = 0;
        if (stored) {
            const auto* end = stored->data() + stored->size();
            const auto [ptr, ec] = std::from_chars(stored->data(), end, epoch);
            if (ec != std::errc{} || ptr != end || stored->empty() ||
                epoch == std::numeric_limits<std::uint64_t>::max()) {
                // Never guessed: an epoch lower than one already handed out would make hosts refuse us.
                return tl::make_unexpected(store_error{
                    store_errc::corrupt,
                    {},
                    fmt::format("{}: inventory database '{}' holds epoch '{}', which is not a number", what,
                                impl_->path.string(), *stored)});
            }
        }
        ++epoch;
        const auto sql =
            fmt::format("INSERT OR REPLACE INTO meta (key, value) VALUES ('epoch', '{}')", epoch);
        auto written = run(sql.c_str(), [](sqlite3_stmt*) {});
        if (!written) {
            return tl::make_unexpected(std::move(written.error()));
        }
        return epoch;
    });
}

}  // namespace mtce::fleet
