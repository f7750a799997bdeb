#define BOOST_TEST_MODULE fleet_bmc_test
// The fleet manager with real (simulated) BMCs: redfish-sim over HTTPS with a CA this test makes, and
// OpenIPMI's ipmi_sim. A BMC's power hook kills and starts the simulated host's agent (cluster.hpp), so a
// power-off, a power-on, a reset and a reinstall are seen by the controller as they would be on hardware.
#include <sys/stat.h>

#include <algorithm>
#include <fstream>

#include "cluster.hpp"
#include "api/client.hpp"
#include "ipmi_sim.hpp"

using namespace std::chrono_literals;
using mtce::test::cluster;
using mtce::test::contains;
using mtce::test::with;
using nlohmann::json;

namespace {

const std::string bmc_password = "Bmc-Secret.4711";

/// A throwaway CA and a server certificate for 127.0.0.1, made with the openssl command.
struct test_ca {
    mtce::test::scratch dir;
    std::filesystem::path ca, cert, key;

    test_ca() {
        const auto d = dir.path().string();
        ca = dir.path() / "ca.crt";
        cert = dir.path() / "server.crt";
        key = dir.path() / "server.key";
        (void)dir.write(
            "ext.cnf",
            "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n");
        for (const auto& argv : std::vector<std::vector<std::string>>{
                 {"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                  "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", d + "/ca.key", "-out", ca.string(),
                  "-days", "2", "-subj", "/CN=mtce test CA"},
                 {"/usr/bin/openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                  "-nodes", "-keyout", key.string(), "-out", d + "/server.csr", "-subj", "/CN=127.0.0.1"},
                 {"/usr/bin/openssl", "x509", "-req", "-in", d + "/server.csr", "-CA", ca.string(), "-CAkey",
                  d + "/ca.key", "-set_serial", "1", "-days", "2", "-extfile", d + "/ext.cnf", "-out",
                  cert.string()}}) {
            const auto r = mtce::test::run_command(argv, dir.path());
            if (r.exit_code != 0) {
                throw std::runtime_error{"openssl: " + r.err};
            }
        }
    }
};

/// redfish-sim for one host, its power hook driving that host's agent.
class redfish_bmc {
public:
    redfish_bmc(const test_ca& ca, const std::filesystem::path& dir, const std::filesystem::path& hook)
        : dir_{dir} {
        std::filesystem::create_directories(dir_);
        sim_ = std::make_unique<mtce::test::process>(
            std::vector<std::string>{
                std::string{MTCE_SOURCE_DIR} + "/test/bmc/redfish-sim", "--cert", ca.cert.string(), "--key",
                ca.key.string(), "--user", "admin", "--password", bmc_password, "--power-hook", hook.string(),
                "--control", (dir_ / "faults.json").string(), "--state", (dir_ / "state.json").string()},
            dir_ / "port", dir_ / "sim.err");
        const auto deadline = std::chrono::steady_clock::now() + 20s;
        while (mtce::test::read_file(dir_ / "port").find('\n') == std::string::npos &&
               std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(50ms);
        }
        port_ = static_cast<std::uint16_t>(std::stoul(mtce::test::read_file(dir_ / "port")));
    }

    [[nodiscard]] std::uint16_t port() const { return port_; }

    /// Faults from now on (redfish-sim's control file); `{}` for none.
    void faults(const json& f) const {
        {
            std::ofstream out{dir_ / "faults.json.new"};
            out << f.dump();
        }
        std::filesystem::rename(dir_ / "faults.json.new", dir_ / "faults.json");
    }

    [[nodiscard]] json state() const {
        return json::parse(mtce::test::read_file(dir_ / "state.json"), nullptr, false);
    }

private:
    std::filesystem::path dir_;
    std::unique_ptr<mtce::test::process> sim_;
    std::uint16_t port_ = 0;
};

std::string bmc_tables(const test_ca& ca) {
    return fmt::format(
        "[bmc]\nca_file = \"{}\"\naudit_period_s = 1\nreset_delay_s = 3\nrequest_timeout = \"2s\"\n"
        "retries = 1\nbackoff = \"200ms\"\npower_off_timeout = \"10s\"\npower_on_timeout = \"10s\"\n"
        "access_alarm_delay = \"3s\"\n"
        "quarantine_failures = 3\nreprobe_interval = \"4s\"\nipmi_cipher_suite = 3\n",
        ca.ca.string());
}

/// `mtce host add NAME` with a BMC at 127.0.0.1:PORT.
mtce::test::command_result add_with_bmc(cluster& c, const std::string& name, const std::string& type,
                                        std::uint16_t port, const std::string& password) {
    const auto file = c.dir().write(name + "-bmc-password", password + "\n", 0600);
    const auto& h = c.host(name);
    return c.run({"host", "add", name, "--personality", h.role, "--mgmt-ip", h.mgmt_ip, "--cluster-ip",
                  h.cluster_ip, "--bmc-type", type, "--bmc-address", fmt::format("127.0.0.1:{}", port),
                  "--bmc-username", "admin", "--bmc-password-file", file.string()});
}

/// Waits until the host document satisfies `pred`.
template <class Pred>
bool until_doc(cluster& c, const std::string& name, Pred pred, std::chrono::seconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
        const auto doc = c.show(name);
        if (doc.is_object() && pred(doc)) {
            return true;
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            BOOST_TEST_MESSAGE(name << ": " << doc.dump());
            return false;
        }
        std::this_thread::sleep_for(200ms);
    }
}

bool boot_is(cluster& c, const std::string& name, const std::string& boot) {
    return until_doc(
        c, name, [&](const json& d) { return d.value("boot_id", "") == boot; }, 60s);
}

bool has_event(cluster& c, const std::string& text) {
    return contains(c.run({"event", "list"}).out, text);
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_redfish_bmc_is_learned_and_powers_resets_and_reinstalls_a_locked_host) {
    test_ca ca;
    cluster c{with([&](auto& o) { o.controller_tables = bmc_tables(ca); })};
    redfish_bmc bmc{ca, c.dir().path() / "bmc-worker-0", c.host("worker-0").dir / "power-hook"};
    const auto added = add_with_bmc(c, "worker-0", "auto", bmc.port(), bmc_password);
    BOOST_TEST_INFO(added.out << added.err);
    BOOST_REQUIRE(added.exit_code == 0);
    BOOST_REQUIRE(c.wait("worker-0", "locked-disabled-online", 30s));
    BOOST_REQUIRE(until_doc(
        c, "worker-0",
        [](const json& d) {
            return d.value("bmc_type", "") == "redfish" && d.value("bmc_accessible", false) &&
                   d.value("power_state", "") == "on";
        },
        30s));
    // The password is nowhere to be read.
    BOOST_TEST(!contains(c.run({"host", "show", "worker-0", "--json"}).out, bmc_password));
    BOOST_TEST(!contains(c.log("controller-0"), bmc_password));

    BOOST_REQUIRE(c.run({"host", "power-off", "worker-0"}).exit_code == 0);
    BOOST_REQUIRE(c.wait("worker-0", "locked-disabled-power-off", 30s));
    BOOST_TEST(bmc.state().value("power", "") == "Off");
    BOOST_TEST(has_event(c, "Power-Off Completed"));

    BOOST_REQUIRE(c.run({"host", "power-on", "worker-0"}).exit_code == 0);
    BOOST_REQUIRE(boot_is(c, "worker-0", "worker-0-boot-2"));
    BOOST_REQUIRE(c.wait("worker-0", "locked-disabled-online", 30s));

    BOOST_REQUIRE(c.run({"host", "reset", "worker-0"}).exit_code == 0);
    BOOST_REQUIRE(boot_is(c, "worker-0", "worker-0-boot-3"));
    BOOST_TEST(contains(bmc.state().dump(), "ForceRestart"));

    BOOST_REQUIRE(c.wait("worker-0", "locked-disabled-online", 30s));
    BOOST_REQUIRE(c.run({"host", "reinstall", "worker-0"}).exit_code == 0);
    BOOST_REQUIRE(boot_is(c, "worker-0", "worker-0-boot-4"));
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (!has_event(c, "Reinstall Completed") && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(200ms);
    }
    BOOST_TEST(has_event(c, "Reinstall Completed"));
    BOOST_TEST(contains(bmc.state().dump(), "Pxe"));
}

BOOST_AUTO_TEST_CASE(a_bmc_that_accepts_a_power_off_and_leaves_the_power_on_fails_it) {
    test_ca ca;
    cluster c{with([&](auto& o) { o.controller_tables = bmc_tables(ca); })};
    redfish_bmc bmc{ca, c.dir().path() / "bmc-worker-0", c.host("worker-0").dir / "power-hook"};
    BOOST_REQUIRE(add_with_bmc(c, "worker-0", "redfish", bmc.port(), bmc_password).exit_code == 0);
    BOOST_REQUIRE(c.wait("worker-0", "locked-disabled-online", 30s));
    bmc.faults({{"ignore_power", true}, {"only", "Actions"}});
    BOOST_REQUIRE(c.run({"host", "power-off", "worker-0"}).exit_code == 0);
    BOOST_REQUIRE(until_doc(
        c, "worker-0", [](const json& d) { return contains(d.value("task", ""), "Power-Off Failed"); }, 40s));
    BOOST_TEST(contains(c.show("worker-0").value("task", ""), "still on"));
    BOOST_TEST(c.state("worker-0") == "locked-disabled-online");
    BOOST_TEST(bmc.state().value("power", "") == "On");
}

BOOST_AUTO_TEST_CASE(an_ipmi_bmc_is_learned_when_redfish_does_not_answer_and_powers_the_host) {
    cluster c;
    mtce::test::ipmi_sim_bmc::options o;
    o.password = bmc_password;
    o.hook = (c.host("worker-1").dir / "power-hook").string();
    mtce::test::ipmi_sim_bmc bmc{c.dir().path() / "bmc-worker-1", o};
    BOOST_REQUIRE(add_with_bmc(c, "worker-1", "auto", bmc.port(), bmc_password).exit_code == 0);
    BOOST_REQUIRE(c.wait("worker-1", "locked-disabled-online", 30s));
    BOOST_REQUIRE(until_doc(
        c, "worker-1",
        [](const json& d) { return d.value("bmc_type", "") == "ipmi" && d.value("bmc_accessible", false); },
        60s));
    BOOST_REQUIRE(c.run({"host", "power-off", "worker-1"}).exit_code == 0);
    BOOST_REQUIRE(c.wait("worker-1", "locked-disabled-power-off", 60s));
    BOOST_TEST(bmc.power() == "off");
    BOOST_REQUIRE(c.run({"host", "power-on", "worker-1"}).exit_code == 0);
    BOOST_REQUIRE(boot_is(c, "worker-1", "worker-1-boot-2"));
    BOOST_REQUIRE(c.wait("worker-1", "locked-disabled-online", 30s));
    BOOST_TEST(!contains(c.log("controller-0"), bmc_password));
}

BOOST_AUTO_TEST_CASE(an_unreachable_bmc_raises_its_alarm_is_quarantined_and_recovers) {
    test_ca ca;
    cluster c{with([&](auto& o) { o.controller_tables = bmc_tables(ca); })};
    redfish_bmc bmc{ca, c.dir().path() / "bmc-worker-0", c.host("worker-0").dir / "power-hook"};
    BOOST_REQUIRE(add_with_bmc(c, "worker-0", "redfish", bmc.port(), bmc_password).exit_code == 0);
    BOOST_REQUIRE(until_doc(
        c, "worker-0", [](const json& d) { return d.value("bmc_accessible", false); }, 30s));
    bmc.faults({{"status", 503}});
    BOOST_REQUIRE(until_doc(
        c, "worker-0", [](const json& d) { return !d.value("bmc_accessible", true); }, 30s));
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (!contains(c.run({"alarm", "list"}).out, "200.010") &&
           std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(200ms);
    }
    BOOST_TEST(contains(c.run({"alarm", "list"}).out, "200.010"));
    BOOST_TEST(contains(c.show("worker-0").value("bmc_error", ""), "503"));
    const auto metrics_deadline = std::chrono::steady_clock::now() + 30s;
    auto quarantined = [&] {
        const auto r = mtce::api::get(c.api_url(), "/metrics", 5s);
        return r && contains(r->body, "mtce_bmc_hosts{state=\"quarantined\"} 1");
    };
    while (!quarantined() && std::chrono::steady_clock::now() < metrics_deadline) {
        std::this_thread::sleep_for(200ms);
    }
    BOOST_TEST(quarantined());
    bmc.faults(json::object());
    BOOST_REQUIRE(until_doc(
        c, "worker-0", [](const json& d) { return d.value("bmc_accessible", false); }, 30s));
    const auto cleared = std::chrono::steady_clock::now() + 10s;
    while (contains(c.run({"alarm", "list"}).out, "200.010") && std::chrono::steady_clock::now() < cleared) {
        std::this_thread::sleep_for(200ms);
    }
    BOOST_TEST(!contains(c.run({"alarm", "list"}).out, "200.010"));
}

/// The controller's alarms (GET /v1/alarms).
json alarm_list(cluster& c) {
    const auto r = mtce::api::get(c.api_url(), "/v1/alarms", 5s);
    if (!r) {
        return json::array();
    }
    auto doc = json::parse(r->body, nullptr, false);
    return doc.is_object() ? doc.value("alarms", json::array()) : doc;
}

/// The `since` of `host`'s alarm `id`; -1 when it is not raised.
std::int64_t alarm_since(cluster& c, const std::string& host, const std::string& id) {
    for (const auto& a : alarm_list(c)) {
        if (a.value("host", "") == host && a.value("id", "") == id) {
            return a.value("since", std::int64_t{-1});
        }
    }
    return -1;
}

/// Kills the controller and starts it again; true once its API answers.
bool restart_controller(cluster& c) {
    c.kill("controller-0");
    c.start_again("controller-0", /*new_boot=*/false);
    const auto back = std::chrono::steady_clock::now() + 30s;
    while (!mtce::api::get(c.api_url(), "/v1/health", 1s) && std::chrono::steady_clock::now() < back) {
        std::this_thread::sleep_for(100ms);
    }
    return mtce::api::get(c.api_url(), "/v1/health", 1s).has_value();
}

BOOST_AUTO_TEST_CASE(a_bmc_password_is_sealed_in_the_inventory_and_opens_the_bmc_after_a_restart) {
    test_ca ca;
    cluster c{with([&](auto& o) { o.controller_tables = bmc_tables(ca); })};
    redfish_bmc bmc{ca, c.dir().path() / "bmc-worker-0", c.host("worker-0").dir / "power-hook"};
    BOOST_REQUIRE(add_with_bmc(c, "worker-0", "redfish", bmc.port(), bmc_password).exit_code == 0);
    BOOST_REQUIRE(until_doc(
        c, "worker-0", [](const json& d) { return d.value("bmc_accessible", false); }, 30s));
    const auto state = c.host("controller-0").dir / "ctl";
    for (const auto* file : {"inventory.db", "inventory.db-wal"}) {
        BOOST_TEST(!contains(mtce::test::read_file(state / file), bmc_password), file);
    }
    struct stat st {};
    BOOST_TEST(::stat((c.host("controller-0").dir / "bmc.key").c_str(), &st) == 0);
    BOOST_TEST((st.st_mode & 07777U) == 0600U);
    BOOST_REQUIRE(restart_controller(c));
    // The password read back from the inventory is the one the BMC takes.
    BOOST_TEST(until_doc(
        c, "worker-0", [](const json& d) { return d.value("bmc_accessible", false); }, 30s));
    BOOST_TEST(c.show("worker-0").value("bmc_error", "") == "");
    BOOST_TEST(!contains(c.log("controller-0"), bmc_password));
}

BOOST_AUTO_TEST_CASE(an_alarm_keeps_its_since_across_a_controller_restart_until_its_cause_is_gone) {
    test_ca ca;
    cluster c{with([&](auto& o) { o.controller_tables = bmc_tables(ca); })};
    redfish_bmc bmc{ca, c.dir().path() / "bmc-worker-0", c.host("worker-0").dir / "power-hook"};
    BOOST_REQUIRE(add_with_bmc(c, "worker-0", "redfish", bmc.port(), bmc_password).exit_code == 0);
    BOOST_REQUIRE(until_doc(
        c, "worker-0", [](const json& d) { return d.value("bmc_accessible", false); }, 30s));
    bmc.faults({{"status", 503}});
    const auto raised = std::chrono::steady_clock::now() + 30s;
    while (alarm_since(c, "worker-0", "200.010") < 0 && std::chrono::steady_clock::now() < raised) {
        std::this_thread::sleep_for(200ms);
    }
    const auto since = alarm_since(c, "worker-0", "200.010");
    BOOST_REQUIRE(since > 0);
    std::this_thread::sleep_for(500ms);  // the alarm written to the inventory
    BOOST_REQUIRE(restart_controller(c));
    // Restored as it was, and not cleared while the BMC is tried again (bmc.access_alarm_delay is 3 s).
    BOOST_TEST(alarm_since(c, "worker-0", "200.010") == since);
    std::this_thread::sleep_for(4s);
    BOOST_TEST(alarm_since(c, "worker-0", "200.010") == since);
    BOOST_TEST(!has_event(c, "cleared 200.010"));

    // The BMC answers again: the alarm is cleared then.
    bmc.faults(json::object());
    BOOST_REQUIRE(until_doc(
        c, "worker-0", [](const json& d) { return d.value("bmc_accessible", false); }, 30s));
    const auto cleared = std::chrono::steady_clock::now() + 10s;
    while (alarm_since(c, "worker-0", "200.010") >= 0 && std::chrono::steady_clock::now() < cleared) {
        std::this_thread::sleep_for(200ms);
    }
    BOOST_TEST(alarm_since(c, "worker-0", "200.010") < 0);
    BOOST_TEST(has_event(c, "cleared 200.010"));
}

BOOST_AUTO_TEST_CASE(a_hung_host_is_reset_by_its_bmc_after_the_delay_and_enabled_again) {
    test_ca ca;
    cluster c{with([&](auto& o) { o.controller_tables = bmc_tables(ca); })};
    redfish_bmc bmc{ca, c.dir().path() / "bmc-worker-0", c.host("worker-0").dir / "power-hook"};
    BOOST_REQUIRE(add_with_bmc(c, "worker-0", "redfish", bmc.port(), bmc_password).exit_code == 0);
    BOOST_REQUIRE(c.wait("worker-0", "locked-disabled-online", 30s));
    BOOST_REQUIRE(c.run({"host", "unlock", "worker-0"}).exit_code == 0);
    BOOST_REQUIRE(c.wait("worker-0", "unlocked-enabled-available", 60s));
    // The host hangs: no heartbeat, no mtcAlive, no answer to reboot requests.
    c.host("worker-0").agent->signal(SIGSTOP);
    BOOST_REQUIRE(boot_is(c, "worker-0", "worker-0-boot-2"));
    BOOST_TEST(has_event(c, "reset by its BMC"));
    BOOST_REQUIRE(c.wait("worker-0", "unlocked-enabled-available", 60s));
}

BOOST_AUTO_TEST_CASE(a_bmc_with_wrong_credentials_is_mended_by_modify_and_learned_again_when_it_moves) {
    test_ca ca;
    cluster c{with([&](auto& o) { o.controller_tables = bmc_tables(ca); })};
    mtce::test::ipmi_sim_bmc::options o;
    o.password = bmc_password;
    o.hook = (c.host("worker-1").dir / "power-hook").string();
    mtce::test::ipmi_sim_bmc ipmi{c.dir().path() / "bmc-worker-1", o};
    const std::string wrong = "Not-The-Password.1";
    // The BMC answers, in this protocol.
    const auto speaks = [&c](const std::string& protocol) {
        return until_doc(
            c, "worker-1",
            [&](const json& d) {
                return d.value("bmc_type", "") == protocol && d.value("bmc_accessible", false);
            },
            60s);
    };
    BOOST_REQUIRE(add_with_bmc(c, "worker-1", "auto", ipmi.port(), wrong).exit_code == 0);
    BOOST_REQUIRE(c.wait("worker-1", "locked-disabled-online", 30s));
    // Neither Redfish nor IPMI accepts it: the access alarm stands after its delay.
    const auto alarmed = std::chrono::steady_clock::now() + 60s;
    while (!contains(c.run({"alarm", "list"}).out, "200.010") && std::chrono::steady_clock::now() < alarmed) {
        std::this_thread::sleep_for(200ms);
    }
    BOOST_REQUIRE(contains(c.run({"alarm", "list"}).out, "200.010"));
    BOOST_TEST(!c.show("worker-1").value("bmc_accessible", true));

    // The right password: the alarm clears, the protocol is learned, the host's states stay.
    const auto right = c.dir().write("right-password", bmc_password + "\n", 0600);
    const auto fixed = c.run({"host", "modify", "worker-1", "--bmc-password-file", right.string()});
    BOOST_TEST_INFO(fixed.out << fixed.err);
    BOOST_REQUIRE(fixed.exit_code == 0);
    BOOST_TEST(fixed.out == "worker-1: modified\n");
    BOOST_REQUIRE(speaks("ipmi"));
    const auto cleared = std::chrono::steady_clock::now() + 20s;
    while (contains(c.run({"alarm", "list"}).out, "200.010") && std::chrono::steady_clock::now() < cleared) {
        std::this_thread::sleep_for(200ms);
    }
    BOOST_TEST(!contains(c.run({"alarm", "list"}).out, "200.010"));
    BOOST_TEST(c.state("worker-1") == "locked-disabled-online");

    // The board is replaced by one that speaks Redfish elsewhere: the protocol is learned again, and the
    // change outlives a controller restart.
    redfish_bmc redfish{ca, c.dir().path() / "bmc-worker-1-redfish", c.host("worker-1").dir / "power-hook"};
    const auto moved =
        c.run({"host", "modify", "worker-1", "--bmc-address", fmt::format("127.0.0.1:{}", redfish.port())});
    BOOST_TEST_INFO(moved.out << moved.err);
    BOOST_REQUIRE(moved.exit_code == 0);
    BOOST_REQUIRE(speaks("redfish"));
    BOOST_TEST(has_event(c, fmt::format("BMC changed to auto at 127.0.0.1:{} as admin", redfish.port())));
    c.kill("controller-0");
    c.start_again("controller-0", /*new_boot=*/false);
    BOOST_REQUIRE(speaks("redfish"));
    BOOST_REQUIRE(c.run({"host", "power-off", "worker-1"}).exit_code == 0);
    BOOST_REQUIRE(c.wait("worker-1", "locked-disabled-power-off", 30s));
    BOOST_TEST(redfish.state().value("power", "") == "Off");
    BOOST_TEST(ipmi.power() == "on");  // the old board was not touched
    // A combination that is not valid is refused; nothing changes.
    const auto invalid = c.run({"host", "modify", "worker-1", "--bmc-type", "ipmi", "--bmc-insecure"});
    BOOST_TEST(invalid.exit_code == 2);
    BOOST_TEST(contains(invalid.err, "bmc_insecure applies to Redfish BMCs"), invalid.err);
    BOOST_TEST(c.show("worker-1").value("bmc_type", "") == "redfish");

    // While a power job works the BMC (its request answered slowly here), the BMC is not to be changed.
    redfish.faults({{"delay_ms", 1500}, {"only", "Actions"}, {"count", 1}});
    BOOST_REQUIRE(c.run({"host", "power-on", "worker-1"}).exit_code == 0);
    const auto busy = c.run({"host", "modify", "worker-1", "--bmc-type", "none"});
    BOOST_TEST(busy.exit_code == 4);
    BOOST_TEST(contains(busy.err, "mtce: cannot modify worker-1: its power-on is using the BMC"), busy.err);
    BOOST_REQUIRE(c.wait("worker-1", "locked-disabled-online", 60s));
    redfish.faults(json::object());

    // No BMC at all: no access alarm, nothing to audit.
    const auto none = c.run({"host", "modify", "worker-1", "--bmc-type", "none"});
    BOOST_TEST_INFO(none.out << none.err);
    BOOST_REQUIRE(none.exit_code == 0);
    BOOST_TEST(c.show("worker-1").value("bmc_type", "") == "none");
    std::this_thread::sleep_for(4s);  // past the access alarm delay
    BOOST_TEST(!contains(c.run({"alarm", "list"}).out, "200.010"));
    for (const auto& secret : {bmc_password, wrong}) {
        BOOST_TEST(!contains(c.log("controller-0"), secret));
        BOOST_TEST(!contains(c.run({"host", "show", "worker-1", "--json"}).out, secret));
    }
}

BOOST_AUTO_TEST_CASE(a_modify_while_the_audit_waits_on_a_hung_bmc_frees_the_bmc_and_audits_again) {
    test_ca ca;
    cluster c{with([&](auto& o) { o.controller_tables = bmc_tables(ca); })};
    redfish_bmc bmc{ca, c.dir().path() / "bmc-worker-0", c.host("worker-0").dir / "power-hook"};
    BOOST_REQUIRE(add_with_bmc(c, "worker-0", "redfish", bmc.port(), bmc_password).exit_code == 0);
    BOOST_REQUIRE(until_doc(
        c, "worker-0", [](const json& d) { return d.value("bmc_accessible", false); }, 30s));
    // The BMC holds every request: the audit is cancelled in the middle of an exchange.
    bmc.faults({{"hang", true}});
    BOOST_REQUIRE(until_doc(
        c, "worker-0", [](const json& d) { return !d.value("bmc_accessible", true); }, 30s));
    const auto file = c.dir().write("same-password", bmc_password + "\n", 0600);
    // Caught while the BMC holds an audit's request (each is held until the request timeout, 2 s).
    const auto held = bmc.state().value("faults_served", 0);
    const auto next = std::chrono::steady_clock::now() + 30s;
    while (bmc.state().value("faults_served", 0) == held && std::chrono::steady_clock::now() < next) {
        std::this_thread::sleep_for(20ms);
    }
    BOOST_REQUIRE(bmc.state().value("faults_served", 0) > held);
    const auto t0 = std::chrono::steady_clock::now();
    const auto modified = c.run({"host", "modify", "worker-0", "--bmc-username", "admin",
                                 "--bmc-password-file", file.string(), "--bmc-type", "auto"});
    BOOST_TEST_INFO(modified.out << modified.err);
    BOOST_REQUIRE(modified.exit_code == 0);
    BOOST_TEST((std::chrono::steady_clock::now() - t0 < 10s));
    // The BMC is free again: the new audit reaches it once it answers, and an operation goes through.
    bmc.faults(json::object());
    BOOST_REQUIRE(until_doc(
        c, "worker-0",
        [](const json& d) {
            return d.value("bmc_type", "") == "redfish" && d.value("bmc_accessible", false);
        },
        60s));
    BOOST_REQUIRE(c.run({"host", "power-off", "worker-0"}).exit_code == 0);
    BOOST_REQUIRE(c.wait("worker-0", "locked-disabled-power-off", 30s));
}
