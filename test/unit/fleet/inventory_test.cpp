#define BOOST_TEST_MODULE fleet_inventory_test
#include "fleet/inventory.hpp"

#include <sqlite3.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "fleet/bmc_secret.hpp"
#include "scratch.hpp"

namespace fs = std::filesystem;
using mtce::role;
using mtce::fleet::alarm_row;
using mtce::fleet::event_row;
using mtce::fleet::host_row;
using mtce::fleet::inventory;
using mtce::fleet::store_errc;
using mtce::fleet::store_error;

namespace mtce::fleet {
std::ostream& operator<<(std::ostream& os, store_errc c) {
    return os << to_string(c);
}
}  // namespace mtce::fleet

namespace {

/// The BMC key of the inventory in `dir`: beside the directory, as /etc/mtce/bmc.key is apart from
/// /var/lib/mtce.
fs::path key_of(const fs::path& dir) {
    return dir.parent_path() / (dir.filename().string() + ".bmc.key");
}

inventory open_at(const fs::path& dir) {
    auto inv = inventory::open(dir, key_of(dir));
    BOOST_REQUIRE_MESSAGE(inv.has_value(), inv.error().message);
    return std::move(*inv);
}

store_error open_error(const fs::path& dir) {
    auto inv = inventory::open(dir, key_of(dir));
    BOOST_REQUIRE_MESSAGE(!inv.has_value(), "the inventory opened");
    BOOST_TEST_MESSAGE("refused: " << inv.error().message);
    return inv.error();
}

template <class T>
T ok(tl::expected<T, store_error> r) {
    BOOST_REQUIRE_MESSAGE(r.has_value(), r.error().message);
    return std::move(*r);
}

void ok(const tl::expected<void, store_error>& r) {
    BOOST_REQUIRE_MESSAGE(r.has_value(), r.error().message);
}

template <class T>
store_error failed(tl::expected<T, store_error> r) {
    BOOST_REQUIRE_MESSAGE(!r.has_value(), "the call succeeded");
    BOOST_TEST_MESSAGE("failed: " << r.error().message);
    return r.error();
}

bool has(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

/// A worker with default states and every optional field empty.
host_row worker(const std::string& name, const std::string& mgmt_ip, const std::string& cluster_ip = "") {
    host_row row;
    row.spec.name = name;
    row.spec.personality = role::worker;
    row.spec.functions = {role::worker};
    row.spec.mgmt_ip = mgmt_ip;
    row.spec.cluster_ip = cluster_ip;
    row.updated_ms = 1000;
    return row;
}

/// An all-in-one controller with a Redfish BMC, every field set away from its default.
host_row full_row() {
    host_row row;
    row.spec.name = "controller-0";
    row.spec.personality = role::controller;
    row.spec.functions = {role::controller, role::worker};
    row.spec.mgmt_ip = "fd00::10";
    row.spec.cluster_ip = "192.168.206.10";
    row.spec.bmc = {"redfish", "[fd00::1:10]:8443", "root"};
    row.states = {mtce::fleet::admin_state::unlocked, mtce::fleet::oper_state::enabled,
                  mtce::fleet::avail_state::degraded, mtce::fleet::oper_state::disabled,
                  mtce::fleet::avail_state::failed};
    row.task = "In-Test Failed: goenabled 'it''s \"quoted\"; DROP TABLE hosts;--";
    row.action = mtce::fleet::host_action::force_lock;
    row.cause = mtce::fleet::failure_cause::services;
    row.updated_ms = 1700000000123;
    row.failure_counts = {{mtce::fleet::failure_cause::goenabled, 2},
                          {mtce::fleet::failure_cause::heartbeat, 1},
                          {mtce::fleet::failure_cause::subfunction, 4294967295U}};
    return row;
}

/// Everything the store holds, to check that a failed write changed nothing.
struct snapshot {
    std::vector<host_row> hosts;
    std::vector<std::string> passwords;
    std::vector<event_row> events;
    std::vector<alarm_row> alarms;

    friend bool operator==(const snapshot&, const snapshot&) = default;
};

snapshot take(inventory& inv) {
    snapshot s;
    s.hosts = ok(inv.load_hosts());
    for (const auto& h : s.hosts) {
        s.passwords.push_back(ok(inv.bmc_password(h.spec.name)));
    }
    s.events = ok(inv.last_events(inventory::max_events));
    s.alarms = ok(inv.alarms());
    return s;
}

/// A second, plain connection to the database file, as another process (or an operator with sqlite3) has.
class raw_db {
public:
    /// Opens an existing file, or with `create` a new one.
    explicit raw_db(const fs::path& file, bool create = false) {
        const int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0);
        if (create) {  // 0600, as the inventory makes its files: the store refuses one others can read
            std::ofstream{file};
            ::chmod(file.c_str(), 0600);
        }
        if (sqlite3_open_v2(file.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
            throw std::runtime_error{"cannot open " + file.string()};
        }
    }
    raw_db(const raw_db&) = delete;
    raw_db& operator=(const raw_db&) = delete;
    ~raw_db() { sqlite3_close_v2(db_); }

    void exec(const std::string& sql) {
        char* err = nullptr;
        const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
        const std::string text = err != nullptr ? err : "";
        sqlite3_free(err);
        BOOST_REQUIRE_MESSAGE(rc == SQLITE_OK, sql << ": " << text);
    }

    /// The first column of the first row `sql` returns, as text ("" for NULL or no row).
    std::string text(const std::string& sql) {
        sqlite3_stmt* s = nullptr;
        BOOST_REQUIRE_MESSAGE(sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr) == SQLITE_OK,
                              sql << ": " << sqlite3_errmsg(db_));
        std::string out;
        if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0) != nullptr) {
            out = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
        }
        sqlite3_finalize(s);
        return out;
    }

private:
    sqlite3* db_ = nullptr;
};

std::string read_bytes(const fs::path& p) {
    std::ifstream in{p, std::ios::binary};
    return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

/// Writes a file 0600, as the inventory's files are.
void write_bytes(const fs::path& p, const std::string& bytes) {
    {
        std::ofstream out{p, std::ios::binary | std::ios::trunc};
        out << bytes;
    }
    ::chmod(p.c_str(), 0600);
}

unsigned mode_of(const fs::path& p) {
    struct stat st {};
    BOOST_REQUIRE_MESSAGE(::stat(p.c_str(), &st) == 0, p << ": " << std::strerror(errno));
    return st.st_mode & 07777U;
}

double ms_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

/// A small tmpfs mounted for one test and unmounted when it ends, even when the test fails.
class tmpfs_mount {
public:
    tmpfs_mount(const fs::path& dir, const std::string& size) : dir_{dir} {
        fs::create_directories(dir);
        const auto options = "size=" + size + ",mode=0700";
        if (::mount("tmpfs", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, options.c_str()) != 0) {
            throw std::runtime_error{std::string{"mount tmpfs: "} + std::strerror(errno)};
        }
    }
    tmpfs_mount(const tmpfs_mount&) = delete;
    tmpfs_mount& operator=(const tmpfs_mount&) = delete;
    ~tmpfs_mount() {
        if (::umount2(dir_.c_str(), 0) != 0) {
            (void)::umount2(dir_.c_str(), MNT_DETACH);
        }
    }

private:
    fs::path dir_;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(files)

BOOST_AUTO_TEST_CASE(a_new_inventory_is_made_in_a_private_directory_with_private_files) {
    mtce::test::scratch dir;
    const auto state = dir.path() / "var" / "controller";
    auto inv = open_at(state);
    BOOST_TEST(inv.path() == state / "inventory.db");
    ok(inv.insert_host(full_row(), "pw"));
    BOOST_TEST(mode_of(state) == 0700U);
    BOOST_TEST(mode_of(dir.path() / "var") == 0700U);
    BOOST_TEST(mode_of(state / "inventory.db") == 0600U);
    BOOST_REQUIRE(fs::exists(state / "inventory.db-wal"));
    BOOST_TEST(mode_of(state / "inventory.db-wal") == 0600U);
    BOOST_TEST(mode_of(state / "inventory.db-shm") == 0600U);
}

BOOST_AUTO_TEST_CASE(a_new_file_is_0600_whatever_the_umask) {
    mtce::test::scratch dir;
    const auto old = ::umask(0);
    auto inv = inventory::open(dir.path(), key_of(dir.path()));
    ::umask(old);
    BOOST_REQUIRE_MESSAGE(inv.has_value(), inv.error().message);
    ok(inv->append_event(1, "h", "k", "t"));
    BOOST_TEST(mode_of(dir.path() / "inventory.db") == 0600U);
    BOOST_TEST(mode_of(dir.path() / "inventory.db-wal") == 0600U);
}

BOOST_AUTO_TEST_CASE(an_existing_file_others_can_read_is_refused_with_the_fix_and_left_as_it_is) {
    mtce::test::scratch dir;
    {
        auto inv = open_at(dir.path());
        ok(inv.insert_host(worker("worker-0", "10.0.0.10"), "pw"));
    }
    const auto db = dir.path() / "inventory.db";
    ::chmod(db.c_str(), 0644);
    const auto before = read_bytes(db);
    const auto e = open_error(dir.path());
    BOOST_TEST(e.message == "cannot open the inventory: '" + db.string() +
                                "' is readable by others (mode 0644); run: chmod 600 '" + db.string() + "'");
    BOOST_TEST(mode_of(db) == 0644U);
    BOOST_TEST(read_bytes(db) == before);
    BOOST_TEST(!fs::exists(dir.path() / "inventory.db-wal"));
}

BOOST_AUTO_TEST_CASE(a_state_directory_others_can_write_is_refused_with_the_fix) {
    mtce::test::scratch dir;
    const auto state = dir.path() / "ctl";
    fs::create_directory(state);
    ::chmod(state.c_str(), 0777);
    const auto e = open_error(state);
    BOOST_TEST(e.message == "cannot open the inventory: '" + state.string() +
                                "' can be written by others (mode 0777); run: chmod 700 '" + state.string() +
                                "'");
    BOOST_TEST(!fs::exists(state / "inventory.db"));
}

BOOST_AUTO_TEST_CASE(a_write_ahead_log_others_can_read_is_refused) {
    mtce::test::scratch dir;
    {
        auto inv = open_at(dir.path());
        ok(inv.insert_host(worker("worker-0", "10.0.0.10"), "pw"));
    }
    const auto wal = dir.write("inventory.db-wal", "", 0644);
    const auto e = open_error(dir.path());
    BOOST_TEST(has(e.message, "'" + wal.string() + "' is readable by others (mode 0644); run: chmod 600"));
}

BOOST_AUTO_TEST_CASE(an_empty_file_is_refused_and_left_as_it_is_with_its_write_ahead_log) {
    for (const bool with_wal : {false, true}) {
        BOOST_TEST_CONTEXT("with a -wal: " << with_wal) {
            mtce::test::scratch dir;
            std::string wal_bytes;
            {
                auto inv = open_at(dir.path());
                ok(inv.insert_host(worker("worker-0", "10.0.0.10"), ""));
                // The database is lost (a crash during a copy, a full disk); its log still holds the host.
                fs::copy_file(dir.path() / "inventory.db-wal", dir.path() / "saved-wal");
            }
            const auto db = dir.path() / "inventory.db";
            const auto wal = dir.path() / "inventory.db-wal";
            fs::resize_file(db, 0);
            fs::remove(wal);
            if (with_wal) {
                fs::copy_file(dir.path() / "saved-wal", wal);
                wal_bytes = read_bytes(wal);
                BOOST_REQUIRE(!wal_bytes.empty());
            }
            const auto e = open_error(dir.path());
            BOOST_TEST(has(e.message, "'" + db.string() + "' is empty"));
            BOOST_TEST(has(e.message, "restore a backup"));
            BOOST_TEST(fs::file_size(db) == 0U);
            BOOST_TEST(fs::exists(wal) == with_wal);
            if (with_wal) {
                BOOST_TEST(read_bytes(wal) == wal_bytes);
            }
            BOOST_TEST(!fs::exists(dir.path() / "inventory.db-shm"));
        }
    }
}

BOOST_AUTO_TEST_CASE(a_file_this_user_cannot_read_is_refused_and_left_as_it_is) {
    if (::geteuid() == 0) {
        return;  // root reads any file
    }
    mtce::test::scratch dir;
    {
        auto inv = open_at(dir.path());
        ok(inv.insert_host(worker("worker-0", "10.0.0.10"), ""));
    }
    const auto db = dir.path() / "inventory.db";
    ::chmod(db.c_str(), 0200);
    const auto e = open_error(dir.path());
    BOOST_TEST(has(e.message, db.string()));
    ::chmod(db.c_str(), 0600);
    BOOST_TEST(open_at(dir.path()).load_hosts().value().size() == 1U);
}

BOOST_AUTO_TEST_CASE(a_bmc_password_is_not_stored_in_clear) {
    mtce::test::scratch dir;
    const std::string secret = "Clear-Text-Secret.4711";
    {
        auto inv = open_at(dir.path());
        ok(inv.insert_host(full_row(), secret));
        auto other = worker("worker-0", "10.0.0.10");
        other.spec.bmc = {"ipmi", "10.0.1.10", "admin"};
        ok(inv.insert_host(other, ""));
        ok(inv.update_host(other, secret + "-2"));
        for (const auto* suffix : {"", "-wal"}) {
            BOOST_TEST(!has(read_bytes(dir.path() / (std::string{"inventory.db"} + suffix)), secret), suffix);
        }
    }
    auto inv = open_at(dir.path());
    BOOST_TEST(ok(inv.bmc_password("controller-0")) == secret);
    BOOST_TEST(ok(inv.bmc_password("worker-0")) == secret + "-2");
    BOOST_TEST(!has(read_bytes(dir.path() / "inventory.db"), secret));
}

BOOST_AUTO_TEST_CASE(a_garbage_file_is_refused_as_corrupt_and_left_as_it_is) {
    mtce::test::scratch dir;
    std::string garbage;
    for (int i = 0; i < 3000; ++i) {
        garbage += static_cast<char>((i * 7919) % 251);
    }
    const auto file = dir.write("inventory.db", garbage, 0600);
    const auto e = open_error(dir.path());
    BOOST_TEST(e.code == store_errc::corrupt);
    BOOST_TEST(has(e.message, file.string()));
    BOOST_TEST(has(e.message, "file is not a database"));  // SQLite's own text
    BOOST_TEST(has(e.message, "the file was left as it is"));
    BOOST_TEST(read_bytes(file) == garbage);
    BOOST_TEST(mode_of(file) == 0600U);
}

BOOST_AUTO_TEST_CASE(a_truncated_copy_of_a_database_is_refused_as_corrupt_and_left_as_it_is) {
    mtce::test::scratch dir;
    {
        auto inv = open_at(dir.path() / "good");
        for (int i = 0; i < 60; ++i) {
            ok(inv.insert_host(worker("worker-" + std::to_string(i), "10.0.1." + std::to_string(i + 1)),
                               "pw"));
        }
        for (int i = 0; i < 400; ++i) {
            ok(inv.append_event(i, "worker-0", "state", "event number " + std::to_string(i)));
        }
    }  // closing checkpoints the WAL into the file
    const auto whole = read_bytes(dir.path() / "good" / "inventory.db");
    BOOST_REQUIRE_GT(whole.size(), 8U * 4096U);
    const auto cut = whole.substr(0, whole.size() / 2);
    fs::create_directories(dir.path() / "bad");
    const auto file = dir.path() / "bad" / "inventory.db";
    write_bytes(file, cut);
    const auto e = open_error(dir.path() / "bad");
    BOOST_TEST(e.code == store_errc::corrupt);
    BOOST_TEST(has(e.message, file.string()));
    BOOST_TEST(has(e.message, "the file was left as it is"));
    BOOST_TEST(read_bytes(file) == cut);
}

BOOST_AUTO_TEST_CASE(a_database_from_a_newer_mtce_is_refused_and_left_as_it_is) {
    mtce::test::scratch dir;
    {
        auto inv = open_at(dir.path());
        ok(inv.insert_host(worker("worker-0", "10.0.0.10"), ""));
    }
    {
        raw_db raw{dir.path() / "inventory.db"};
        raw.exec("UPDATE meta SET value = '4' WHERE key = 'schema_version'");
    }
    const auto before = read_bytes(dir.path() / "inventory.db");
    const auto e = open_error(dir.path());
    BOOST_TEST(e.code == store_errc::other);
    BOOST_TEST(has(e.message, "schema version 4"));
    BOOST_TEST(has(e.message, "knows version 3"));
    BOOST_TEST(has(e.message, "the file was left as it is"));
    BOOST_TEST(read_bytes(dir.path() / "inventory.db") == before);
}

BOOST_AUTO_TEST_CASE(a_write_ahead_log_without_its_database_is_not_replayed_into_a_new_one) {
    mtce::test::scratch dir;
    std::string wal;
    {
        auto inv = open_at(dir.path() / "old");
        ok(inv.insert_host(worker("worker-0", "10.0.0.10"), "pw"));
        wal = read_bytes(inv.path().string() + "-wal");
    }
    BOOST_REQUIRE(!wal.empty());
    const auto file = dir.write("inventory.db-wal", wal, 0600);
    const auto e = open_error(dir.path());
    BOOST_TEST(has(e.message, file.string()));
    BOOST_TEST(has(e.message, "without its database"));
    BOOST_TEST(!fs::exists(dir.path() / "inventory.db"));
    BOOST_TEST(read_bytes(file) == wal);

    write_bytes(file, "");  // an empty one holds nothing to replay
    auto inv = open_at(dir.path());
    BOOST_TEST(ok(inv.load_hosts()).empty());
}

BOOST_AUTO_TEST_CASE(an_sqlite_database_of_another_program_is_refused) {
    mtce::test::scratch dir;
    {
        raw_db raw{dir.write("inventory.db", "", 0600)};
        raw.exec("CREATE TABLE songs (title TEXT)");
    }
    const auto before = read_bytes(dir.path() / "inventory.db");
    const auto e = open_error(dir.path());
    BOOST_TEST(has(e.message, "not an mtce inventory"));
    BOOST_TEST(read_bytes(dir.path() / "inventory.db") == before);
}

BOOST_AUTO_TEST_CASE(an_inventory_that_cannot_be_created_says_where) {
    mtce::test::scratch dir;
    dir.write("file", "");
    const auto e = open_error(dir.path() / "file" / "state");
    BOOST_TEST(has(e.message, (dir.path() / "file" / "state").string()));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(hosts)

BOOST_AUTO_TEST_CASE(every_field_of_a_host_survives_insert_and_load) {
    mtce::test::scratch dir;
    auto inv = open_at(dir.path());
    BOOST_TEST(ok(inv.load_hosts()).empty());
    const auto row = full_row();
    ok(inv.insert_host(row, "Pa55 w0rd\twith tab"));
    const auto loaded = ok(inv.load_hosts());
    BOOST_REQUIRE_EQUAL(loaded.size(), 1U);
    BOOST_TEST((loaded[0] == row));
    BOOST_TEST(loaded[0].spec.bmc.address == "[fd00::1:10]:8443");
    BOOST_TEST(loaded[0].task == row.task);
    BOOST_TEST(ok(inv.bmc_password("controller-0")) == "Pa55 w0rd\twith tab");
}

BOOST_AUTO_TEST_CASE(every_state_value_round_trips) {
    using namespace mtce::fleet;
    mtce::test::scratch dir;
    auto inv = open_at(dir.path());
    int i = 0;
    for (const auto avail : {avail_state::not_installed, avail_state::available, avail_state::degraded,
                             avail_state::failed, avail_state::intest, avail_state::power_off,
                             avail_state::offline, avail_state::online, avail_state::offduty}) {
        for (const auto action :
             {host_action::none, host_action::lock, host_action::force_lock, host_action::unlock,
              host_action::reboot, host_action::reset, host_action::power_on, host_action::power_off,
              host_action::power_cycle, host_action::reinstall, host_action::remove}) {
            auto row = worker("h" + std::to_string(i),
                              "10.1." + std::to_string(i / 200) + "." + std::to_string(i % 200 + 1));
            row.states.availability = avail;
            row.states.subfunction_availability = avail;
            row.action = action;
            row.cause = static_cast<failure_cause>(i % 8);
            row.failure_counts[static_cast<failure_cause>(i % 7 + 1)] = static_cast<std::uint32_t>(i + 1);
            ok(inv.insert_host(row, ""));
            ++i;
        }
    }
    const auto loaded = ok(inv.load_hosts());
    BOOST_REQUIRE_EQUAL(loaded.size(), static_cast<std::size_t>(i));
    for (const auto& row : loaded) {
        auto again = row;
        ok(inv.update_host(again));
    }
    BOOST_TEST((ok(inv.load_hosts()) == loaded));
}

BOOST_AUTO_TEST_CASE(hosts_load_sorted_by_name) {
    mtce::test::scratch dir;
    auto inv = open_at(dir.path());
    ok(inv.insert_host(worker("worker-2", "10.0.0.12"), ""));
    ok(inv.insert_host(worker("worker-0", "10.0.0.10"), ""));
    ok(inv.insert_host(worker("storage-0", "10.0.0.20"), ""));
    const auto loaded = ok(inv.load_hosts());
    BOOST_REQUIRE_EQUAL(loaded.size(), 3U);
    BOOST_TEST(loaded[0].spec.name == "storage-0");
    BOOST_TEST(loaded[1].spec.name == "worker-0");
    BOOST_TEST(loaded[2].spec.name == "worker-2");
}

BOOST_AUTO_TEST_CASE(a_zero_update_time_is_stamped_with_the_wall_clock) {
    mtce::test::scratch dir;
    auto inv = open_at(dir.path());
    auto row = worker("worker-0", "10.0.0.10");
    row.updated_ms = 0;
    const auto now = [] {
        return std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
            .count();
    };
    const auto before = now();
    ok(inv.insert_host(row, ""));
    const auto after = now();
    const auto stored = ok(inv.load_hosts()).at(0).updated_ms;
    BOOST_TEST(stored >= before);
    BOOST_TEST(stored <= after);
}

BOOST_AUTO_TEST_CASE(an_update_rewrites_states_task_action_cause_and_spec) {
    mtce::test::scratch dir;
    auto inv = open_at(dir.path());
    ok(inv.insert_host(worker("worker-0", "10.0.0.10"), ""));
    ok(inv.insert_host(worker("worker-1", "10.0.0.11"), ""));
    auto row = full_row();
    row.spec.name = "worker-0";
    row.spec.personality = role::worker;
    row.spec.functions = {role::worker};
    row.spec.bmc = {"ipmi", "bmc-0.example:623", "operator"};
    ok(inv.update_host(row));
    const auto loaded = ok(inv.load_hosts());
    BOOST_REQUIRE_EQUAL(loaded.size(), 2U);
    BOOST_TEST((loaded[0] == row));
    BOOST_TEST((loaded[1] == worker("worker-1", "10.0.0.11")));
}

BOOST_AUTO_TEST_CASE(an_update_with_a_password_replaces_or_removes_it_with_the_row) {
    mtce::test::scratch dir;
    auto inv = open_at(dir.path());
    auto row = worker("worker-0", "10.0.0.10");
    row.spec.bmc = {"redfish", "10.0.9.10", "admin"};
    ok(inv.insert_host(row, "old"));
    ok(inv.insert_host(worker("worker-1", "10.0.0.11"), "other"));
    row.spec.bmc = {"ipmi", "10.0.9.11:623", "root"};
    ok(inv.update_host(row, "new"));
    BOOST_TEST(ok(inv.bmc_password("worker-0")) == "new");
    BOOST_TEST((ok(inv.load_hosts()).at(0).spec.bmc == row.spec.bmc));
    BOOST_TEST(ok(inv.bmc_password("worker-1")) == "other");
    ok(inv.update_host(row));  // without one: the password stays
    BOOST_TEST(ok(inv.bmc_password("worker-0")) == "new");
    row.spec.bmc = {};
    ok(inv.update_host(row, ""));
    BOOST_TEST(ok(inv.bmc_password("worker-0")).empty());
    BOOST_TEST(ok(inv.load_hosts()).at(0).spec.bmc.type == "none");
    const auto e = failed(inv.update_host(worker("worker-9", "10.0.0.19"), "pw"));
    BOOST_TEST(e.code == store_errc::not_found);
    BOOST_TEST(failed(inv.bmc_password("worker-9")).code == store_errc::not_found);
}

BOOST_AUTO_TEST_CASE(updating_an_unknown_host_is_not_found) {
    mtce::test::scratch dir;
    auto inv = open_at(dir.path());
    ok(inv.insert_host(worker("worker-0", "10.0.0.10"), ""));
    const auto e = failed(inv.update_host(worker("worker-9", "10.0.0.19")));
    BOOST_TEST(e.code == store_errc::not_found);
    BOOST_TEST(has(e.message, "worker-9"));
    BOOST_TEST(ok(inv.load_hosts()).size() == 1U);
}

BOOST_AUTO_TEST_CASE(removing_a_host_takes_its_password_and_alarms_but_not_its_events) {
    mtce::test::scratch dir;
    auto inv = open_at(dir.path());
    ok(inv.insert_host(worker("worker-0", "10.0.0.10"), "pw0"));
    ok(inv.insert_host(worker("worker-1", "10.0.0.11"), "pw1"));
    ok(inv.set_alarm({"worker-0", "200.001", "warning", "locked", 5}));
    ok(inv.set_alarm({"worker-1", "200.001", "warning", "locked", 6}));
    ok(inv.append_event(7, "worker-0", "state", "locked"));
    ok(inv.remove_host("worker-0"));
    const auto hosts = ok(inv.load_hosts());
    BOOST_REQUIRE_EQUAL(hosts.size(), 1U);
    BOOST_TEST(hosts[0].spec.name == "worker-1");
    BOOST_TEST(failed(inv.bmc_password("worker-0")).code == store_errc::not_found);
    BOOST_TEST(ok(inv.bmc_password("worker-1")) == "pw1");
    const auto alarms = ok(inv.alarms());
    BOOST_REQUIRE_EQUAL(alarms.size(), 1U);
    BOOST_TEST(alarms[0].host == "worker-1");
    BOOST_TEST(ok(inv.last_events(10)).size() == 1U);

    // No orphaned password is left behind to be handed to a new host of the same name.
    ok(inv.insert_host(worker("worker-0", "10.0.0.10"), ""));
    BOOST_TEST(ok(inv.bmc_password("worker-0")).empty());
}

BOOST_AUTO_TEST_CASE(removing_an_unknown_host_is_not_found_and_changes_nothing) {
    mtce::test::scratch dir;
    auto inv = open_at(dir.path());
    ok(inv.insert_host(worker("worker-0", "10.0.0.10"), "pw0"));
    ok(inv.set_alarm({"ghost", "200.004", "critical", "enable failed", 1}));
    const auto before = take(inv);
    const auto e = failed(inv.remove_host("ghost"));
    BOOST_TEST(e.code == store_errc::not_found);
    BOOST_TEST((take(inv) == before));  // the alarm deleted inside the transaction came back
}

BOOST_AUTO_TEST_CASE(a_duplicate_name_mgmt_ip_or_cluster_ip_is_refused_with_the_field) {
    mtce::test::scratch dir;
    auto inv = open_at(dir.path());
    ok(inv.insert_host(worker("worker-0", "10.0.0.10", "10.1.0.10"), "pw0"));
    const auto before = take(inv);

    const auto name = failed(inv.insert_host(worker("worker-0", "10.0.0.11"), "new-secret"));
    BOOST_TEST(name.code == store_errc::duplicate);
    BOOST_TEST(name.field == "name");
    BOOST_TEST(has(name.message, "name 'worker-0'"));
    BOOST_TEST(has(name.message, inv.path().string()));
    BOOST_TEST(has(name.message, "UNIQUE constraint failed"));
    BOOST_TEST(!has(name.message, "new-secret"));

    const auto mgmt = failed(inv.insert_host(worker("worker-1", "10.0.0.10"), "new-secret"));
    BOOST_TEST(mgmt.code == store_errc::duplicate);
    BOOST_TEST(mgmt.field == "mgmt_ip");
    BOOST_TEST(has(mgmt.message, "mgmt_ip '10.0.0.10'"));

    const auto cluster = failed(inv.insert_host(worker("worker-1", "10.0.0.11", "10.1.0.10"), "new-secret"));
    BOOST_TEST(cluster.code == store_errc::duplicate);
    BOOST_TEST(cluster.field == "cluster_ip");
    BOOST_TEST(has(cluster.message, "cluster_ip '10.1.0.10'"));

    BOOST_TEST((take(inv) == before));
    BOOST_TEST(failed(inv.bmc_password("worker-1")).code == store_errc::not_found);
}

BOOST_AUTO_TEST_CASE(an_update_onto_another_hosts_address_is_refused_with_the_field) {
    mtce::test::scratch dir;
    auto inv = open_at(dir.path());
    ok(inv.insert_host(worker("worker-0", "10.0.0.10", "10.1.0.10"), ""));
    ok(inv.insert_host(worker("worker-1", "10.0.0.11", "10.1.0.11"), ""));
    const auto before = take(inv);
    auto moved = worker("worker-1", "10.0.0.10", "10.1.0.11");
    BOOST_TEST(failed(inv.update_host(moved)).field == "mgmt_ip");
    moved = worker("worker-1", "10.0.0.11", "10.1.0.10");
    BOOST_TEST(failed(inv.update_host(moved)).field == "cluster_ip");
    BOOST_TEST((take(inv) == before));
}

BOOST_AUTO_TEST_CASE(hosts_without_a_cluster_ip_do_not_clash) {
    mtce::test::scratch dir;
    auto inv = open_at(dir.path());
    ok(inv.insert_host(worker("worker-0", "10.0.0.10"), ""));
    ok(inv.insert_host(worker("worker-1", "10.0.0.11"), ""));
    ok(inv.insert_host(worker("worker-2", "10.0.0.12"), ""));
    BOOST_TEST(ok(inv.load_hosts()).size() == 3U);
}

BOOST_AUTO_TEST_CASE(a_host_without_a_bmc_password_has_an_empty_one_and_an_unknown_host_none) {
    mtce::test::scratch dir;
    auto inv = open_at(dir.path());
    ok(inv.insert_host(worker("worker-0", "10.0.0.10"), ""));
    BOOST_TEST(ok(inv.bmc_password("worker-0")).empty());
    const auto e = failed(inv.bmc_password("worker-9"));
    BOOST_TEST(e.code == store_errc::not_found);
    BOOST_TEST(has(e.message, "worker-9"));
}

BOOST_AUTO_TEST_CASE(states_that_no_longer_parse_fail_the_load_naming_host_and_column) {
    mtce::test::scratch dir;
    {
        auto inv = open_at(dir.path());
        ok(inv.insert_host(worker("worker-0", "10.0.0.10"), ""));
        ok(inv.insert_host(worker("worker-1", "10.0.0.11"), ""));
    }  // closing checkpoints the WAL: the file alone holds both hosts
    const std::pair<const char*, const char*> edits[] = {
        {"personality", "'compute'"},
        {"functions", "'worker,gpu'"},
        {"functions", "'storage'"},
        {"administrative", "'LOCKED'"},
        {"operational", "''"},
        {"availability", "'sleeping'"},
        {"subfunction_operational", "1"},
        {"subfunction_availability", "'failed '"},
        {"action", "'explode'"},
        {"cause", "''"},
        {"cause", "'disk'"},
    };
    for (const auto& [column, value] : edits) {
        mtce::test::scratch copy;
        fs::copy_file(dir.path() / "inventory.db", copy.path() / "inventory.db");
        {
            raw_db raw{copy.path() / "inventory.db"};
            raw.exec(std::string{"UPDATE hosts SET "} + column + " = " + value + " WHERE name = 'worker-1'");
        }
        auto edited = open_at(copy.path());
        const auto e = failed(edited.load_hosts());
        BOOST_TEST(e.code == store_errc::corrupt, column);
        BOOST_TEST(has(e.message, "host 'worker-1'"), e.message);
        BOOST_TEST(has(e.message, std::string{column} + " '"), e.message);
        BOOST_TEST(has(e.message, copy.path().string()), e.message);
    }
}

BOOST_AUTO_TEST_CASE(a_row_that_could_not_be_loaded_back_is_not_written) {
    mtce::test::scratch dir;
    auto inv = open_at(dir.path());
    ok(inv.insert_host(worker("worker-0", "10.0.0.10"), ""));
    const auto before = take(inv);
    auto no_functions = worker("worker-1", "10.0.0.11");
    no_functions.spec.functions.clear();
    BOOST_TEST(has(failed(inv.insert_host(no_functions, "")).message, "functions ''"));
    auto wrong_main = worker("worker-0", "10.0.0.10");
    wrong_main.spec.functions = {role::controller, role::worker};
    BOOST_TEST(has(failed(inv.update_host(wrong_main)).message, "do not start with its personality"));
    auto bad_state = worker("worker-0", "10.0.0.10");
    bad_state.states.availability = static_cast<mtce::fleet::avail_state>(200);
    BOOST_TEST(has(failed(inv.update_host(bad_state)).message, "out of range"));
    auto bad_action = worker("worker-0", "10.0.0.10");
    bad_action.action = static_cast<mtce::fleet::host_action>(200);
    BOOST_TEST(has(failed(inv.update_host(bad_action)).message, "out of range"));
    BOOST_TEST((take(inv) == before));
}

BOOST_AUTO_TEST_CASE(reopening_keeps_hosts_passwords_events_and_alarms) {
    mtce::test::scratch dir;
    snapshot before;
    {
        auto inv = open_at(dir.path());
        ok(inv.insert_host(full_row(), "secret"));
        ok(inv.insert_host(worker("worker-0", "10.0.0.10"), ""));
        ok(inv.append_event(10, "worker-0", "state", "unlocked-enabled-available"));
        ok(inv.set_alarm({"controller-0", "200.004", "critical", "enable failed", 11}));
        before = take(inv);
    }
    auto inv = open_at(dir.path());
    BOOST_TEST((take(inv) == before));
    BOOST_TEST(ok(inv.bmc_password("controller-0")) == "secret");
    BOOST_TEST(ok(inv.append_event(12, "", "k", "t")) == 2U);
}

BOOST_AUTO_TEST_CASE(a_moved_inventory_keeps_working) {
    mtce::test::scratch dir;
    auto first = open_at(dir.path());
    ok(first.insert_host(worker("worker-0", "10.0.0.10"), ""));
    inventory second = std::move(first);
    ok(second.insert_host(worker("worker-1", "10.0.0.11"), ""));
    auto third = open_at(dir.path() / "other");
    third = std::move(second);
    BOOST_TEST(ok(third.load_hosts()).size() == 2U);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(events)

BOOST_AUTO_TEST_CASE(event_ids_increase_and_events_since_returns_the_later_ones_oldest_first) {
    mtce::test::scratch dir;
    auto inv = open_at(dir.path());
    BOOST_TEST(ok(inv.events(0, 100)).empty());
    std::vector<std::uint64_t> ids;
    for (int i = 0; i < 5; ++i) {
        ids.push_back(ok(
            inv.append_event(100 + i, "worker-" + std::to_string(i), "state", "text " + std::to_string(i))));
    }
    for (std::size_t i = 1; i < ids.size(); ++i) {
        BOOST_TEST(ids[i] > ids[i - 1]);
    }
    const auto all = ok(inv.events(0, 100));
    BOOST_REQUIRE_EQUAL(all.size(), 5U);
    BOOST_TEST((all[2] == event_row{ids[2], 102, "worker-2", "state", "text 2"}));
    const auto later = ok(inv.events(ids[1], 100));
    BOOST_REQUIRE_EQUAL(later.size(), 3U);
    BOOST_TEST(later.front().id == ids[2]);
    BOOST_TEST(later.back().id == ids[4]);
    const auto limited = ok(inv.events(ids[0], 2));
    BOOST_REQUIRE_EQUAL(limited.size(), 2U);
    BOOST_TEST(limited[0].id == ids[1]);
    BOOST_TEST(limited[1].id == ids[2]);
    BOOST_TEST(ok(inv.events(ids[4], 100)).empty());
    BOOST_TEST(ok(inv.events(std::numeric_limits<std::uint64_t>::max(), 100)).empty());
    BOOST_TEST(ok(inv.events(0, 0)).empty());
}

BOOST_AUTO_TEST_CASE(last_events_returns_the_newest_n_oldest_first) {
    mtce::test::scratch dir;
    auto inv = open_at(dir.path());
    BOOST_TEST(ok(inv.last_events(3)).empty());
    for (int i = 0; i < 10; ++i) {
        ok(inv.append_event(i, "h", "k", std::to_string(i)));
    }
    const auto last = ok(inv.last_events(3));
    BOOST_REQUIRE_EQUAL(last.size(), 3U);
    BOOST_TEST(last[0].text == "7");
    BOOST_TEST(last[1].text == "8");
    BOOST_TEST(last[2].text == "9");
    BOOST_TEST(ok(inv.last_events(100)).size() == 10U);
}

BOOST_AUTO_TEST_CASE(the_log_keeps_the_newest_10000_events) {
    mtce::test::scratch dir;
    {
        auto inv = open_at(dir.path());
        ok(inv.append_event(0, "h", "k", "first"));
    }
    {
        // 10010 more in one transaction, as if appended over months.
        raw_db raw{dir.path() / "inventory.db"};
        raw.exec(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10010) "
            "INSERT INTO events (time_ms, host, kind, text) SELECT i, 'h', 'k', 'seeded ' || i FROM n");
    }
    auto inv = open_at(dir.path());
    const auto id = ok(inv.append_event(99, "h", "k", "newest"));
    BOOST_TEST(id == 10012U);
    const auto all = ok(inv.events(0, 20000));
    BOOST_REQUIRE_EQUAL(all.size(), inventory::max_events);
    BOOST_TEST(all.front().id == id - inventory::max_events + 1);
    BOOST_TEST(all.back().text == "newest");
    const auto id2 = ok(inv.append_event(100, "h", "k", "newer"));
    const auto again = ok(inv.events(0, 20000));
    BOOST_REQUIRE_EQUAL(again.size(), inventory::max_events);
    BOOST_TEST(again.front().id == id2 - inventory::max_events + 1);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(alarms)

BOOST_AUTO_TEST_CASE(alarms_are_set_replaced_cleared_and_listed) {
    mtce::test::scratch dir;
    auto inv = open_at(dir.path());
    BOOST_TEST(ok(inv.alarms()).empty());
    const alarm_row locked{"worker-1", "200.001", "warning", "worker-1 was administratively locked", 10};
    const alarm_row enable{"worker-0", "200.004", "critical",
                           "worker-0 experienced a service-affecting failure", 11};
    const alarm_row bmc{"worker-0", "200.010", "warning", "BMC access error", 12};
    ok(inv.set_alarm(locked));
    ok(inv.set_alarm(enable));
    ok(inv.set_alarm(bmc));
    auto listed = ok(inv.alarms());
    BOOST_REQUIRE_EQUAL(listed.size(), 3U);
    BOOST_TEST((listed[0] == enable));  // sorted by host, then id
    BOOST_TEST((listed[1] == bmc));
    BOOST_TEST((listed[2] == locked));

    auto major = enable;
    major.severity = "major";
    major.reason = "in-service failure";
    major.since_ms = 20;
    ok(inv.set_alarm(major));
    listed = ok(inv.alarms());
    BOOST_REQUIRE_EQUAL(listed.size(), 3U);
    BOOST_TEST((listed[0] == major));

    ok(inv.clear_alarm("worker-0", "200.004"));
    ok(inv.clear_alarm("worker-0", "200.004"));  // already clear: nothing to do
    ok(inv.clear_alarm("nobody", "200.001"));
    listed = ok(inv.alarms());
    BOOST_REQUIRE_EQUAL(listed.size(), 2U);
    BOOST_TEST((listed[0] == bmc));
    BOOST_TEST((listed[1] == locked));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(failures)

BOOST_AUTO_TEST_CASE(a_write_while_another_process_holds_the_lock_fails_busy_and_changes_nothing) {
    mtce::test::scratch dir;
    auto inv = open_at(dir.path());
    ok(inv.insert_host(worker("worker-0", "10.0.0.10"), "pw"));
    const auto before = take(inv);
    {
        raw_db other{inv.path()};
        other.exec("BEGIN EXCLUSIVE");
        other.exec("UPDATE hosts SET task = 'uncommitted'");

        auto changed = worker("worker-0", "10.0.0.10");
        changed.task = "Testing";
        const auto start = std::chrono::steady_clock::now();
        const auto e = failed(inv.update_host(changed));
        const auto waited = ms_since(start);
        BOOST_TEST_MESSAGE("busy after " << waited << " ms");
        BOOST_TEST(e.code == store_errc::busy);
        BOOST_TEST(
            has(e.message, "inventory database '" + inv.path().string() + "' is locked by another process"));
        BOOST_TEST(has(e.message, "database is locked"));
        BOOST_TEST(waited >= 1500.0);
        BOOST_TEST(waited < 3500.0);

        BOOST_TEST(failed(inv.insert_host(worker("worker-1", "10.0.0.11"), "secret-1")).code ==
                   store_errc::busy);
        BOOST_TEST(failed(inv.append_event(1, "h", "k", "t")).code == store_errc::busy);
        BOOST_TEST(failed(inv.set_alarm({"h", "200.001", "warning", "r", 1})).code == store_errc::busy);
        BOOST_TEST((take(inv) == before));  // readers are not blocked by the writer (WAL)
        other.exec("ROLLBACK");
    }
    BOOST_TEST((take(inv) == before));
    ok(inv.update_host(worker("worker-0", "10.0.0.10")));
}

BOOST_AUTO_TEST_CASE(a_full_disk_fails_a_write_which_changes_nothing_and_later_writes_work) {
    if (::geteuid() != 0) {
        BOOST_TEST_MESSAGE("skipped: mounting a small tmpfs needs root (CI runs as root)");
        return;
    }
    mtce::test::scratch dir;
    const auto mount_point = dir.path() / "small";
    std::optional<tmpfs_mount> mounted;
    try {
        mounted.emplace(mount_point, "256k");
    } catch (const std::exception& e) {
        BOOST_TEST_MESSAGE("skipped: " << e.what() << " (no CAP_SYS_ADMIN in this container?)");
        return;
    }
    const auto state = mount_point / "state";
    {
        auto inv = open_at(state);
        ok(inv.insert_host(worker("worker-0", "10.0.0.10"), "pw0"));
        ok(inv.set_alarm({"worker-0", "200.001", "warning", "locked", 1}));

        // Fill the file system.
        const auto filler = mount_point / "filler";
        {
            std::FILE* f = std::fopen(filler.c_str(), "wb");
            BOOST_REQUIRE(f != nullptr);
            const std::string block(4096, 'x');
            while (std::fwrite(block.data(), 1, block.size(), f) == block.size() && std::fflush(f) == 0) {
            }
            std::fclose(f);
        }

        // Writes may still fit in the space the WAL already has; keep writing until one does not.
        std::optional<store_error> full;
        int added = 0;
        for (int i = 1; i < 2000 && !full; ++i) {
            const auto before = take(inv);
            auto row = worker("worker-" + std::to_string(i),
                              "10.0." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1));
            row.task = std::string(500, 't');
            auto r = inv.insert_host(row, "secret-" + std::to_string(i));
            if (r) {
                ++added;
                continue;
            }
            full = r.error();
            BOOST_TEST_MESSAGE("after " << added << " more hosts: " << full->message);
            BOOST_TEST(full->code == store_errc::full);
            BOOST_TEST(has(full->message, "the disk is full"));
            BOOST_TEST(has(full->message, inv.path().string()));
            BOOST_TEST(!has(full->message, "secret-"));
            BOOST_TEST((take(inv) == before));
            BOOST_TEST(failed(inv.bmc_password(row.spec.name)).code == store_errc::not_found);
        }
        BOOST_REQUIRE_MESSAGE(full.has_value(), "no write failed on a full file system");

        fs::remove(filler);
        ok(inv.insert_host(worker("worker-late", "10.9.0.1"), "pw-late"));
        auto updated = worker("worker-0", "10.0.0.10");
        updated.task = "after the disk was freed";
        ok(inv.update_host(updated));
        ok(inv.append_event(2, "worker-0", "state", "ok again"));
        BOOST_TEST(ok(inv.load_hosts()).size() == static_cast<std::size_t>(added + 2));
    }
    auto reopened = open_at(state);
    BOOST_TEST(ok(reopened.bmc_password("worker-late")) == "pw-late");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(timings)

BOOST_AUTO_TEST_CASE(durable_writes_and_loads_take_milliseconds) {
    mtce::test::scratch dir;
    auto inv = open_at(dir.path());
    struct statfs fs_info {};
    (void)::statfs(dir.path().c_str(), &fs_info);
    BOOST_TEST_MESSAGE("timings in " << dir.path() << " (file system type 0x" << std::hex << fs_info.f_type
                                     << std::dec << ")");

    auto start = std::chrono::steady_clock::now();
    constexpr int hosts = 1000;
    for (int i = 0; i < hosts; ++i) {
        auto row = worker("worker-" + std::to_string(i),
                          "10.2." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1),
                          "10.3." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1));
        row.spec.bmc = {"redfish", "10.4.0.1:443", "admin"};
        ok(inv.insert_host(row, "password-" + std::to_string(i)));
    }
    const auto insert_ms = ms_since(start);
    BOOST_TEST_MESSAGE("insert " << hosts << " hosts one by one: " << insert_ms << " ms ("
                                 << insert_ms / hosts << " ms each)");

    start = std::chrono::steady_clock::now();
    const auto loaded = ok(inv.load_hosts());
    const auto load_ms = ms_since(start);
    BOOST_TEST(loaded.size() == static_cast<std::size_t>(hosts));
    BOOST_TEST_MESSAGE("load_hosts with " << hosts << " hosts: " << load_ms << " ms");

    constexpr int updates = 200;
    auto row = loaded.at(500);
    start = std::chrono::steady_clock::now();
    for (int i = 0; i < updates; ++i) {
        row.task = "update " + std::to_string(i);
        ok(inv.update_host(row));
    }
    const auto update_ms = ms_since(start);
    BOOST_TEST_MESSAGE("update_host (one durable commit): " << update_ms / updates << " ms each over "
                                                            << updates);

    start = std::chrono::steady_clock::now();
    for (int i = 0; i < updates; ++i) {
        ok(inv.append_event(i, "worker-500", "state", "event " + std::to_string(i)));
    }
    BOOST_TEST_MESSAGE("append_event: " << ms_since(start) / updates << " ms each over " << updates);

    start = std::chrono::steady_clock::now();
    { auto other = open_at(dir.path() / "other"); }
    BOOST_TEST_MESSAGE("open a new inventory: " << ms_since(start) << " ms");
    start = std::chrono::steady_clock::now();
    { auto again = open_at(dir.path()); }
    BOOST_TEST_MESSAGE("open the inventory of " << hosts << " hosts (quick_check): " << ms_since(start)
                                                << " ms");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(an_event_keeps_the_id_its_caller_gave_it) {
    mtce::test::scratch dir;
    auto inv = ok(inventory::open(dir.path() / "ctl", key_of(dir.path() / "ctl")));
    ok(inv.record_event({41, 1000, "worker-0", "state", "given"}));
    ok(inv.record_event({42, 1001, "worker-0", "state", "next"}));
    BOOST_TEST(failed(inv.record_event({42, 1002, "worker-0", "state", "again"})).code ==
               store_errc::duplicate);
    const auto events = ok(inv.events(0, 10));
    BOOST_REQUIRE(events.size() == 2U);
    BOOST_TEST(events[0].id == 41U);
    BOOST_TEST(events[1].text == "next");
    // An appended event follows the highest id given.
    BOOST_TEST(ok(inv.append_event(1003, "", "k", "t")) == 43U);
}

BOOST_AUTO_TEST_CASE(a_version_1_inventory_is_upgraded_in_place_and_keeps_its_hosts) {
    mtce::test::scratch dir;
    {
        auto inv = open_at(dir.path());
        ok(inv.insert_host(worker("worker-0", "10.0.0.10"), "secret"));
    }
    {
        // What version 1 wrote: no BMC protocol or TLS column, no failure counts.
        raw_db raw{dir.path() / "inventory.db"};
        raw.exec("ALTER TABLE hosts DROP COLUMN failure_counts");
        raw.exec("ALTER TABLE hosts DROP COLUMN bmc_protocol");
        raw.exec("ALTER TABLE hosts DROP COLUMN bmc_verify_tls");
        raw.exec("UPDATE meta SET value = '1' WHERE key = 'schema_version'");
    }
    auto inv = open_at(dir.path());
    const auto hosts = ok(inv.load_hosts());
    BOOST_REQUIRE(hosts.size() == 1U);
    BOOST_TEST(hosts[0].spec.name == "worker-0");
    BOOST_TEST(hosts[0].bmc_protocol.empty());
    BOOST_TEST(hosts[0].spec.bmc.verify_tls);
    BOOST_TEST(hosts[0].failure_counts.empty());
    auto row = hosts[0];
    row.bmc_protocol = "ipmi";
    row.failure_counts = {{mtce::fleet::failure_cause::boot, 1}};
    ok(inv.update_host(row));
    BOOST_TEST((ok(inv.load_hosts())[0] == row));
    BOOST_TEST(raw_db{dir.path() / "inventory.db"}.text(
                   "SELECT value FROM meta WHERE key = 'schema_version'") == "3");
}

BOOST_AUTO_TEST_CASE(a_version_2_inventory_is_upgraded_in_place_and_keeps_every_row_with_no_failure_counts) {
    mtce::test::scratch dir;
    fs::create_directories(dir.path());
    {
        // Version 2 as it was written, with raw SQL.
        raw_db raw{dir.path() / "inventory.db", /*create=*/true};
        raw.exec(R"sql(
PRAGMA journal_mode = WAL;
CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);
CREATE TABLE hosts (
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
    bmc_protocol             TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX hosts_cluster_ip ON hosts (cluster_ip) WHERE cluster_ip <> '';
CREATE TABLE bmc_secrets (
    name     TEXT PRIMARY KEY NOT NULL REFERENCES hosts (name) ON DELETE CASCADE ON UPDATE CASCADE,
    password TEXT NOT NULL
);
CREATE TABLE events (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    time_ms INTEGER NOT NULL,
    host    TEXT NOT NULL,
    kind    TEXT NOT NULL,
    text    TEXT NOT NULL
);
CREATE TABLE alarms (
    host     TEXT NOT NULL,
    alarm_id TEXT NOT NULL,
    severity TEXT NOT NULL,
    reason   TEXT NOT NULL,
    since_ms INTEGER NOT NULL,
    PRIMARY KEY (host, alarm_id)
);
INSERT INTO meta (key, value) VALUES ('schema_version', '2');
INSERT INTO hosts VALUES ('controller-0', 'controller', 'controller,worker', 'fd00::10', '192.168.206.10',
    'redfish', '[fd00::1:10]:8443', 'root', 'unlocked', 'enabled', 'degraded', 'disabled', 'failed',
    'In-Test Failed: goenabled', 'force-lock', 'services', 1700000000123, 0, 'redfish');
INSERT INTO hosts VALUES ('worker-0', 'worker', 'worker', '10.0.0.10', '', 'none', '', '', 'locked',
    'disabled', 'offline', 'disabled', 'offline', '', '', 'none', 1000, 1, '');
INSERT INTO bmc_secrets VALUES ('controller-0', 'Pa55 w0rd');
INSERT INTO events (time_ms, host, kind, text) VALUES (1000, 'worker-0', 'added', 'added as a worker');
INSERT INTO alarms VALUES ('controller-0', '200.004', 'critical', 'controller-0 experienced a failure', 1001);
)sql");
    }
    auto inv = open_at(dir.path());
    auto expected = full_row();
    expected.spec.bmc.verify_tls = false;
    expected.task = "In-Test Failed: goenabled";
    expected.bmc_protocol = "redfish";
    expected.failure_counts.clear();
    const auto hosts = ok(inv.load_hosts());
    BOOST_REQUIRE(hosts.size() == 2U);
    BOOST_TEST((hosts[0] == expected));
    BOOST_TEST((hosts[1] == worker("worker-0", "10.0.0.10")));
    BOOST_TEST(hosts[1].failure_counts.empty());
    BOOST_TEST(ok(inv.bmc_password("controller-0")) == "Pa55 w0rd");
    // The password an older mtce stored in clear is sealed when the inventory opens, and gone from the files.
    for (const auto* suffix : {"", "-wal"}) {
        const auto file = dir.path() / (std::string{"inventory.db"} + suffix);
        BOOST_TEST((!fs::exists(file) || !has(read_bytes(file), "Pa55 w0rd")), suffix);
    }
    BOOST_TEST(mode_of(key_of(dir.path())) == 0600U);
    const auto events = ok(inv.last_events(10));
    BOOST_REQUIRE(events.size() == 1U);
    BOOST_TEST(events[0].text == "added as a worker");
    const auto alarms = ok(inv.alarms());
    BOOST_REQUIRE(alarms.size() == 1U);
    BOOST_TEST(alarms[0].alarm_id == "200.004");
    BOOST_TEST(ok(inv.append_event(1002, "worker-0", "k", "t")) == 2U);

    auto row = hosts[1];
    row.failure_counts = {{mtce::fleet::failure_cause::heartbeat, 3}};
    ok(inv.update_host(row));
    BOOST_TEST((ok(inv.load_hosts())[1] == row));
    raw_db raw{dir.path() / "inventory.db"};
    BOOST_TEST(raw.text("SELECT value FROM meta WHERE key = 'schema_version'") == "3");
}

BOOST_AUTO_TEST_CASE(failure_counts_are_stored_as_compact_text_without_zero_counts) {
    using mtce::fleet::failure_cause;
    mtce::test::scratch dir;
    auto inv = open_at(dir.path());
    auto row = worker("worker-0", "10.0.0.10");
    row.failure_counts = {{failure_cause::heartbeat, 1}, {failure_cause::goenabled, 2}};
    ok(inv.insert_host(row, ""));
    BOOST_TEST((ok(inv.load_hosts())[0] == row));
    const auto stored = [&] {
        return raw_db{dir.path() / "inventory.db"}.text(
            "SELECT failure_counts FROM hosts WHERE name = 'worker-0'");
    };
    BOOST_TEST(stored() == "goenabled=2,heartbeat=1");

    row.failure_counts = {{failure_cause::goenabled, 0}, {failure_cause::luks, 7}};
    ok(inv.update_host(row));
    BOOST_TEST(stored() == "luks=7");
    const auto loaded = ok(inv.load_hosts());
    BOOST_TEST(
        (loaded[0].failure_counts == std::map<failure_cause, std::uint32_t>{{failure_cause::luks, 7}}));

    row.failure_counts.clear();
    ok(inv.update_host(row));
    BOOST_TEST(stored().empty());
    BOOST_TEST((ok(inv.load_hosts())[0] == row));
}

BOOST_AUTO_TEST_CASE(failure_counts_that_do_not_parse_fail_the_load_naming_host_and_column) {
    mtce::test::scratch dir;
    {
        auto inv = open_at(dir.path());
        ok(inv.insert_host(worker("worker-0", "10.0.0.10"), ""));
        ok(inv.insert_host(worker("worker-1", "10.0.0.11"), ""));
    }
    for (const char* value :
         {"goenabled", "goenabled=", "=2", "goenabled=0", "goenabled=-1", "goenabled=+1", "goenabled=1x",
          "goenabled= 1", " goenabled=1", "goenabled=4294967296", "goenabled=1,goenabled=2", "none=1",
          "disk=1", "goenabled=1,", ",goenabled=1", "goenabled=1;heartbeat=2", "GOENABLED=1"}) {
        mtce::test::scratch copy;
        fs::copy_file(dir.path() / "inventory.db", copy.path() / "inventory.db");
        {
            raw_db raw{copy.path() / "inventory.db"};
            raw.exec(std::string{"UPDATE hosts SET failure_counts = '"} + value +
                     "' WHERE name = 'worker-1'");
        }
        auto edited = open_at(copy.path());
        const auto e = failed(edited.load_hosts());
        BOOST_TEST(e.code == store_errc::corrupt, value);
        BOOST_TEST(has(e.message, "host 'worker-1'"), e.message);
        BOOST_TEST(has(e.message, std::string{"failure_counts '"} + value + "'"), e.message);
    }
    // Any order is read, as long as each cause is named once.
    {
        raw_db raw{dir.path() / "inventory.db"};
        raw.exec("UPDATE hosts SET failure_counts = 'heartbeat=1,config=4294967295' WHERE name = 'worker-1'");
    }
    auto inv = open_at(dir.path());
    const auto hosts = ok(inv.load_hosts());
    using mtce::fleet::failure_cause;
    BOOST_TEST((hosts[1].failure_counts ==
                std::map<failure_cause, std::uint32_t>{{failure_cause::config, 4294967295U},
                                                       {failure_cause::heartbeat, 1}}));
}

BOOST_AUTO_TEST_CASE(a_failure_count_without_a_cause_is_not_written) {
    mtce::test::scratch dir;
    auto inv = open_at(dir.path());
    ok(inv.insert_host(worker("worker-0", "10.0.0.10"), ""));
    const auto before = take(inv);
    for (const auto cause :
         {mtce::fleet::failure_cause::none, static_cast<mtce::fleet::failure_cause>(200)}) {
        auto row = worker("worker-0", "10.0.0.10");
        row.failure_counts = {{cause, 1}};
        BOOST_TEST(has(failed(inv.update_host(row)).message, "failure counts has no cause"));
        auto other = worker("worker-1", "10.0.0.11");
        other.failure_counts = {{cause, 1}};
        BOOST_TEST(has(failed(inv.insert_host(other, "")).message, "failure counts has no cause"));
    }
    BOOST_TEST((take(inv) == before));
}

BOOST_AUTO_TEST_CASE(bmc_passwords_need_their_key_and_a_wrong_one_names_the_host) {
    mtce::test::scratch dir;
    const auto state = dir.path() / "ctl";
    {
        auto inv = open_at(state);
        ok(inv.insert_host(worker("worker-0", "10.0.0.10"), ""));
        BOOST_TEST(!fs::exists(key_of(state)));  // no password, no key yet
        ok(inv.update_host(worker("worker-0", "10.0.0.10"), "pw-0"));
        BOOST_TEST(mode_of(key_of(state)) == 0600U);
    }
    const auto key_text = read_bytes(key_of(state));
    BOOST_TEST(key_text.size() == 65U);

    // Another key: the host is named, with what to do; the key file is not replaced.
    write_bytes(key_of(state), std::string(64, 'a') + "\n");
    {
        auto inv = open_at(state);
        const auto e = failed(inv.bmc_password("worker-0"));
        BOOST_TEST(has(e.message, "host 'worker-0'"));
        BOOST_TEST(has(e.message, key_of(state).string()));
        BOOST_TEST(has(e.message, "put that key back"));
    }
    // No key at all: none is made, since it could not open what is stored.
    fs::remove(key_of(state));
    {
        auto inv = open_at(state);
        const auto e = failed(inv.bmc_password("worker-0"));
        BOOST_TEST(has(e.message, "is missing"));
        BOOST_TEST(has(e.message, "put it back"));
        BOOST_TEST(!fs::exists(key_of(state)));
    }
    // A key others can read is refused with the fix; the right key, private, opens it again.
    write_bytes(key_of(state), key_text);
    ::chmod(key_of(state).c_str(), 0644);
    {
        auto inv = open_at(state);
        BOOST_TEST(has(failed(inv.bmc_password("worker-0")).message, "run: chmod 600"));
    }
    ::chmod(key_of(state).c_str(), 0600);
    auto inv = open_at(state);
    BOOST_TEST(ok(inv.bmc_password("worker-0")) == "pw-0");
}

BOOST_AUTO_TEST_CASE(a_sealed_password_opens_only_for_its_host_and_key) {
    using namespace mtce::fleet;
    const auto key = parse_bmc_key(std::string(64, '1') + "\n").value();
    const auto sealed = seal_bmc_password(key, "worker-0", "secret");
    BOOST_TEST(sealed.rfind("v1:", 0) == 0U);
    BOOST_TEST(!has(sealed, "secret"));
    BOOST_TEST(seal_bmc_password(key, "worker-0", "secret") != sealed);  // a new nonce each time
    BOOST_TEST(open_bmc_password(key, "worker-0", sealed).value() == "secret");
    BOOST_TEST(!open_bmc_password(key, "worker-1", sealed).has_value());
    const auto other = parse_bmc_key(std::string(64, '2')).value();
    BOOST_TEST(!open_bmc_password(other, "worker-0", sealed).has_value());
    auto damaged = sealed;
    damaged[10] = damaged[10] == 'A' ? 'B' : 'A';
    BOOST_TEST(!open_bmc_password(key, "worker-0", damaged).has_value());
    BOOST_TEST(!open_bmc_password(key, "worker-0", "secret").has_value());
    BOOST_TEST(!open_bmc_password(key, "worker-0", "v1:").has_value());
    BOOST_TEST(!parse_bmc_key("abc").has_value());
    BOOST_TEST(!parse_bmc_key(std::string(64, 'g')).has_value());
}
