#define BOOST_TEST_MODULE fleet_test
// The fleet manager end to end on loopback: a real controller and real host agents, each on its own 127.x
// addresses with its own directories, driven through the real `mtce` command line. A host "reboots" by
// running its host.reboot_command, which asks this test to restart its agent with a new boot identity.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include <boost/test/results_collector.hpp>
#include <boost/test/unit_test.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "process.hpp"
#include "scratch.hpp"

using namespace std::chrono_literals;
using mtce::test::contains;
using nlohmann::json;

namespace {

const std::string key_text = "fleet-test-cluster-key-0123456789abcdef\n";

struct options {
    std::string fresh_boot_uptime = "120s";
    bool all_in_one = false;
    std::string inventory_bytes;  ///< written to the controller's inventory.db before it starts, if not empty
    bool small_state_disk = false;  ///< the controller's state on a 1 MiB tmpfs (root only)
};

/// One simulated host: its directory, configuration and agent process; "rebooted" on request.
struct sim_host {
    std::string name;
    std::string role;
    std::string mgmt_ip;
    std::string cluster_ip;
    std::filesystem::path dir;
    std::unique_ptr<mtce::test::process> agent;
    int boots = 1;
};

class cluster {
public:
    explicit cluster(const options& o = {}) : opts_{o} {
        const auto base = static_cast<std::uint16_t>(40000 + (::getpid() % 2000) * 10);
        ports_ = {base, static_cast<std::uint16_t>(base + 1), static_cast<std::uint16_t>(base + 2),
                  static_cast<std::uint16_t>(base + 3)};
        cluster_ports_ = {static_cast<std::uint16_t>(base + 4), static_cast<std::uint16_t>(base + 5),
                          static_cast<std::uint16_t>(base + 6), static_cast<std::uint16_t>(base + 7)};
        api_port_ = static_cast<std::uint16_t>(base + 9);
        add_sim("controller-0", "controller", 1);
        add_sim("worker-0", "worker", 10);
        add_sim("worker-1", "worker", 11);
        const auto state = dir_.path() / "controller-0" / "ctl";
        std::filesystem::create_directories(state);
        if (o.small_state_disk) {
            mounted_ = state;
            (void)mtce::test::run_command(
                {"/bin/mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", state.string()},
                dir_.path());
        }
        if (!o.inventory_bytes.empty()) {
            dir_.write("controller-0/ctl/inventory.db", o.inventory_bytes, 0600);
        }
        for (auto& [name, h] : hosts_) {
            start(h);
        }
        watcher_ = std::thread{[this] { watch_reboots(); }};
        // The API answers once the controller is up.
        const auto deadline = std::chrono::steady_clock::now() + 30s;
        while (run({"host", "list"}).exit_code != 0 && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(200ms);
        }
    }

    ~cluster() {
        stop_ = true;
        watcher_.join();
        for (auto& [name, h] : hosts_) {
            h.agent.reset();
        }
        if (!mounted_.empty()) {
            (void)mtce::test::run_command({"/bin/umount", "-l", mounted_.string()}, "/");
        }
        // A failed case shows what every process said.
        const auto id = boost::unit_test::framework::current_test_case().p_id;
        if (!boost::unit_test::results_collector.results(id).passed()) {
            for (auto& [name, h] : hosts_) {
                collect_log(h);
                auto text = dir_.read(name + "/err.log");
                if (text.size() > 6000) {
                    text = text.substr(text.size() - 6000);
                }
                BOOST_TEST_MESSAGE("==== " << name << " ====\n" << text);
            }
        }
    }

    cluster(const cluster&) = delete;
    cluster& operator=(const cluster&) = delete;

    /// Runs `mtce ARGS --api URL` (the URL after the subcommand's own arguments).
    mtce::test::command_result run(std::vector<std::string> args, std::chrono::seconds limit = 60s) const {
        std::vector<std::string> argv{MTCE_BINARY};
        argv.insert(argv.end(), args.begin(), args.end());
        argv.emplace_back("--api");
        argv.emplace_back(api_url());
        return mtce::test::run_command(argv, dir_.path(), limit);
    }

    [[nodiscard]] std::string api_url() const { return fmt::format("http://127.0.0.1:{}", api_port_); }

    /// `mtce host add` for one of the simulated hosts.
    mtce::test::command_result add(const std::string& name) const {
        const auto& h = hosts_.at(name);
        return run({"host", "add", name, "--personality", h.role, "--mgmt-ip", h.mgmt_ip, "--cluster-ip",
                    h.cluster_ip});
    }

    /// The host document, or null if the controller does not know the host.
    [[nodiscard]] json show(const std::string& name) const {
        const auto r = run({"host", "show", name, "--json"});
        if (r.exit_code != 0) {
            return nullptr;
        }
        return json::parse(r.out, nullptr, false);
    }

    [[nodiscard]] std::string state(const std::string& name) const {
        const auto doc = show(name);
        if (!doc.is_object()) {
            return "unknown";
        }
        return fmt::format("{}-{}-{}", doc.value("administrative", ""), doc.value("operational", ""),
                           doc.value("availability", ""));
    }

    /// `mtce host wait NAME --state S`; true if reached in time.
    bool wait(const std::string& name, const std::string& state, std::chrono::seconds limit) const {
        const auto r =
            run({"host", "wait", name, "--state", state, "--timeout", std::to_string(limit.count())},
                limit + 30s);
        BOOST_TEST_MESSAGE("wait " << name << " " << state << ": exit " << r.exit_code << "\n"
                                   << r.out << r.err);
        return r.exit_code == 0;
    }

    sim_host& host(const std::string& name) { return hosts_.at(name); }
    [[nodiscard]] std::string log(const std::string& name) const { return dir_.read(name + "/err.log"); }
    [[nodiscard]] const mtce::test::scratch& dir() const { return dir_; }

    /// Kills a host's agent outright; it stays down until start_again().
    void kill(const std::string& name, int sig = SIGKILL) {
        std::lock_guard lock{mutex_};
        auto& h = hosts_.at(name);
        h.agent->signal(sig);
        (void)h.agent->wait(10s);
        h.agent.reset();
    }

    /// Starts a killed host again; with `new_boot`, as after a power cycle (a new boot identity).
    void start_again(const std::string& name, bool new_boot) {
        std::lock_guard lock{mutex_};
        auto& h = hosts_.at(name);
        if (new_boot) {
            next_boot(h);
        }
        start(h);
    }

    void write_script(const std::string& name, const std::string& path, const std::string& body) const {
        (void)dir_.script(name + "/" + path, body);
    }
    void remove(const std::string& name, const std::string& path) const {
        std::filesystem::remove(dir_.path() / name / path);
    }

private:
    void add_sim(const std::string& name, const std::string& role, int n) {
        sim_host h;
        h.name = name;
        h.role = role;
        h.mgmt_ip = fmt::format("127.51.0.{}", n);
        h.cluster_ip = fmt::format("127.52.0.{}", n);
        h.dir = dir_.path() / name;
        const auto d = h.dir.string();
        std::filesystem::create_directories(h.dir / "goenabled.d");
        for (const auto* f : {"controller", "worker", "storage"}) {
            std::filesystem::create_directories(h.dir / "services.d" / f);
        }
        dir_.write(name + "/key", key_text, 0600);
        dir_.write(name + "/boot_id", name + "-boot-1\n");
        // A reboot is a request to this test: it restarts the agent with a new boot identity.
        (void)dir_.script(name + "/reboot", "touch " + d + "/reboot-requested");
        (void)dir_.script(name + "/services.d/" + role + "/10-marker",
                          "echo \"$1\" >> " + d + "/services.log");
        auto network = [&](const char* which, const std::string& address,
                           const std::array<std::uint16_t, 4>& p) {
            return fmt::format(
                "[network.{}]\naddress = \"{}\"\nagent_port = {}\ncontroller_port = {}\npulse_port = {}\n"
                "pulse_reply_port = {}\n",
                which, address, p[0], p[1], p[2], p[3]);
        };
        const bool controller = role == "controller";
        const std::string subfunctions =
            controller && opts_.all_in_one ? "subfunctions = [\"worker\"]\n" : std::string{};
        std::string tables = "[heartbeat]\nmode = \"unicast\"\n" + network("mgmt", h.mgmt_ip, ports_) +
                             network("cluster", h.cluster_ip, cluster_ports_);
        if (controller) {
            tables += fmt::format(
                "[controller]\nstate_dir = \"{0}/ctl\"\napi_listen = \"127.0.0.1:{1}\"\n"
                "worker_boot_timeout = \"30s\"\ncontroller_boot_timeout = \"30s\"\ngoenabled_timeout = "
                "\"20s\"\n"
                "services_timeout = \"20s\"\nsubfunction_config_timeout = \"20s\"\nheartbeat_soak = \"2s\"\n"
                "command_timeout = \"1s\"\ncommand_retries = 3\nreboot_timeout = \"15s\"\noffline_window = "
                "\"4s\"\n"
                "fresh_boot_uptime = \"{2}\"\nloss_recovery_timeout = \"2s\"\nself_reboot_delay = \"1s\"\n"
                "task_display = \"1s\"\n"
                "[autorecovery]\nconfig_interval = \"2s\"\ngoenabled_interval = \"2s\"\nservices_interval = "
                "\"2s\"\n"
                "heartbeat_interval = \"2s\"\nboot_interval = \"2s\"\n",
                d, api_port_, opts_.fresh_boot_uptime);
        }
        const auto marker = d + "/run/.worker_config_complete";
        dir_.write(
            name + "/mtce.toml",
            mtce::test::host_config(
                h.dir, name,
                subfunctions + "drain_timeout = \"2s\"\ncontrollers = [\"127.51.0.1\", \"127.52.0.1\"]",
                fmt::format(
                    "kill_grace = \"300ms\"\nmtcalive_period = \"1s\"\nreboot_command = \"{0}/reboot\"\n"
                    "reset_command = \"{0}/reboot\"\nsubfunction_config_marker = \"{1}\"\n"
                    "subfunction_config_timeout = \"20s\"\ngoenabled_timeout = \"10s\"\n"
                    "services_timeout = \"10s\"",
                    d, marker),
                tables));
        hosts_.emplace(name, std::move(h));
    }

    void start(sim_host& h) {
        // The all-in-one worker subfunction's configuration is complete from the start of every boot.
        std::filesystem::create_directories(h.dir / "run");
        (void)dir_.write(h.name + "/run/.worker_config_complete", "");
        h.agent = std::make_unique<mtce::test::process>(
            std::vector<std::string>{MTCE_BINARY, "agent", "--role", h.role, "--config",
                                     (h.dir / "mtce.toml").string(), "--foreground"},
            h.dir / "out.log", h.dir / "err.log.tmp");
    }

    void next_boot(sim_host& h) {
        ++h.boots;
        dir_.write(h.name + "/boot_id", fmt::format("{}-boot-{}\n", h.name, h.boots));
        // /run is a tmpfs: a reboot empties it.
        std::filesystem::remove_all(h.dir / "run");
    }

    void watch_reboots() {
        while (!stop_) {
            {
                std::lock_guard lock{mutex_};
                for (auto& [name, h] : hosts_) {
                    collect_log(h);
                    const auto marker = h.dir / "reboot-requested";
                    if (!std::filesystem::exists(marker) || !h.agent) {
                        continue;
                    }
                    std::filesystem::remove(marker);
                    h.agent->signal(SIGTERM);
                    if (!h.agent->wait(10s)) {
                        h.agent->signal(SIGKILL);
                        (void)h.agent->wait(5s);
                    }
                    collect_log(h);
                    // A reboot takes time; a boot's time is counted in seconds, so the next boot must start
                    // in a later second to be seen as newer.
                    std::this_thread::sleep_for(1100ms);
                    next_boot(h);
                    start(h);
                }
            }
            std::this_thread::sleep_for(100ms);
        }
    }

    /// The agent writes to err.log.tmp; its lines are moved into err.log so that logs of every boot stay.
    void collect_log(sim_host& h) {
        const auto tmp = h.dir / "err.log.tmp";
        const auto text = dir_.read(h.name + "/err.log.tmp");
        const auto seen = copied_[h.name];
        if (text.size() > seen) {
            std::ofstream out{h.dir / "err.log", std::ios::app};
            out << text.substr(seen);
            copied_[h.name] = text.size();
        } else if (text.size() < seen) {
            copied_[h.name] = 0;  // a new boot truncated it
            std::ofstream out{h.dir / "err.log", std::ios::app};
            out << text;
            copied_[h.name] = text.size();
        }
    }

    options opts_;
    mtce::test::scratch dir_;
    std::filesystem::path mounted_;
    std::array<std::uint16_t, 4> ports_{};
    std::array<std::uint16_t, 4> cluster_ports_{};
    std::uint16_t api_port_ = 0;
    std::map<std::string, sim_host> hosts_;
    std::map<std::string, std::size_t> copied_;
    std::mutex mutex_;
    std::atomic<bool> stop_{false};
    std::thread watcher_;
};

}  // namespace

BOOST_AUTO_TEST_CASE(this_controller_adds_itself_locked) {
    cluster c;
    BOOST_REQUIRE(c.wait("controller-0", "locked-disabled-online", 30s));
    const auto doc = c.show("controller-0");
    BOOST_TEST(doc.value("this_controller", false));
    BOOST_TEST(doc.value("management", "") == "managed");
}

BOOST_AUTO_TEST_CASE(a_worker_is_added_unlocked_enabled_and_locked_again) {
    cluster c;
    const auto added = c.add("worker-0");
    BOOST_TEST_INFO(added.out << added.err);
    BOOST_REQUIRE(added.exit_code == 0);
    BOOST_REQUIRE(c.wait("worker-0", "locked-disabled-online", 30s));
    // A locked host stops its services (it started them when it booted unlocked): the controller tells it it
    // is locked when its mtcAlive says otherwise.
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (c.dir().exists("worker-0/run/services_worker") && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(100ms);
    }
    BOOST_TEST(!c.dir().exists("worker-0/run/services_worker"));
    BOOST_TEST(contains(c.dir().read("worker-0/services.log"), "stop"));

    const auto t0 = std::chrono::steady_clock::now();
    BOOST_REQUIRE(c.run({"host", "unlock", "worker-0"}).exit_code == 0);
    BOOST_REQUIRE(c.wait("worker-0", "unlocked-enabled-available", 60s));
    BOOST_TEST_MESSAGE(
        "unlock to unlocked-enabled-available: "
        << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
               .count()
        << " ms (no reboot: the host booted moments ago)");
    const auto doc = c.show("worker-0");
    BOOST_TEST(doc["heartbeat"]["mgmt"]["state"] == "ok");
    BOOST_TEST(doc["heartbeat"]["cluster"]["state"] == "ok");
    BOOST_TEST(c.dir().exists("worker-0/run/services_worker"));
    BOOST_TEST(doc.value("boot_id", "") == "worker-0-boot-1");

    BOOST_REQUIRE(c.run({"host", "lock", "worker-0"}).exit_code == 0);
    BOOST_REQUIRE(c.wait("worker-0", "locked-disabled-online", 60s));
    BOOST_TEST(!c.dir().exists("worker-0/run/services_worker"));
    const auto alarms = c.run({"alarm", "list", "--json"});
    BOOST_TEST(contains(alarms.out, "200.001"));
    const auto events = c.run({"event", "list", "--json"});
    BOOST_TEST(contains(events.out, "unlocked-enabled-available"));
}

BOOST_AUTO_TEST_CASE(refusals_carry_a_reason_and_their_exit_status) {
    cluster c;
    BOOST_REQUIRE(c.add("worker-0").exit_code == 0);
    BOOST_TEST(c.run({"host", "unlock", "no-such-host"}).exit_code == 3);
    BOOST_TEST(c.add("worker-0").exit_code == 4);  // already exists
    const auto bad =
        c.run({"host", "add", "Bad_Name", "--personality", "worker", "--mgmt-ip", "127.51.0.99"});
    BOOST_TEST(bad.exit_code == 2);
    const auto lock = c.run({"host", "lock", "worker-0"});
    BOOST_TEST(lock.exit_code == 4);
    BOOST_TEST(contains(lock.err, "already locked"));
    const auto self = c.run({"host", "lock", "controller-0"});
    BOOST_TEST(self.exit_code == 4);
    BOOST_REQUIRE(c.wait("worker-0", "locked-disabled-online", 30s));
    BOOST_REQUIRE(c.run({"host", "unlock", "worker-0"}).exit_code == 0);
    const auto again = c.run({"host", "unlock", "worker-0"});
    BOOST_TEST(again.exit_code == 4);
    BOOST_TEST(contains(again.err, "already unlocked"));
    const auto del = c.run({"host", "delete", "worker-0"});
    BOOST_TEST(del.exit_code == 4);
    BOOST_TEST(contains(del.err, "lock it first"));
    const auto reboot = c.run({"host", "reboot", "worker-0"});
    BOOST_TEST(reboot.exit_code == 4);
}

BOOST_AUTO_TEST_CASE(an_unlock_reboots_a_host_that_has_been_up_and_enables_it_on_its_new_boot) {
    cluster c{{"0s", false, {}, false}};
    BOOST_REQUIRE(c.add("worker-1").exit_code == 0);
    BOOST_REQUIRE(c.wait("worker-1", "locked-disabled-online", 30s));
    const auto t0 = std::chrono::steady_clock::now();
    BOOST_REQUIRE(c.run({"host", "unlock", "worker-1"}).exit_code == 0);
    BOOST_REQUIRE(c.wait("worker-1", "unlocked-enabled-available", 90s));
    BOOST_TEST_MESSAGE(
        "unlock to unlocked-enabled-available with a reboot: "
        << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
               .count()
        << " ms");
    BOOST_TEST(c.show("worker-1").value("boot_id", "") == "worker-1-boot-2");
}

BOOST_AUTO_TEST_CASE(a_failing_self_test_fails_the_enable_naming_the_script_and_a_retry_recovers) {
    cluster c{{"0s", false, {}, false}};  // the unlock reboots the host, which then runs the broken self-test
    c.write_script("worker-0", "goenabled.d/20-memory", "echo 'ECC errors' >&2\nexit 1");
    BOOST_REQUIRE(c.add("worker-0").exit_code == 0);
    BOOST_REQUIRE(c.wait("worker-0", "locked-disabled-online", 30s));
    BOOST_REQUIRE(c.run({"host", "unlock", "worker-0"}).exit_code == 0);
    BOOST_REQUIRE(c.wait("worker-0", "unlocked-disabled-failed", 90s));
    auto doc = c.show("worker-0");
    BOOST_TEST_INFO(doc.dump());
    BOOST_TEST(contains(doc.value("task", ""), "In-Test Failed"));
    BOOST_TEST(contains(doc.value("task", ""), "20-memory"));
    BOOST_TEST(doc.value("failure_cause", "") == "goenabled");
    BOOST_TEST(contains(c.run({"alarm", "list", "--json"}).out, "200.004"));
    // Repaired: the next retry (after autorecovery.goenabled_interval) enables it.
    c.remove("worker-0", "goenabled.d/20-memory");
    BOOST_REQUIRE(c.wait("worker-0", "unlocked-enabled-available", 120s));
    BOOST_TEST(!contains(c.run({"alarm", "list", "--json"}).out, "200.004"));
}

BOOST_AUTO_TEST_CASE(a_host_services_failure_fails_the_enable_naming_the_service) {
    cluster c{{"0s", false, {}, false}};  // the unlock reboots the host, which then starts the broken service
    c.write_script("worker-1", "services.d/worker/20-broken", "[ \"$1\" = start ] && exit 4\nexit 0");
    BOOST_REQUIRE(c.add("worker-1").exit_code == 0);
    BOOST_REQUIRE(c.wait("worker-1", "locked-disabled-online", 30s));
    BOOST_REQUIRE(c.run({"host", "unlock", "worker-1"}).exit_code == 0);
    BOOST_REQUIRE(c.wait("worker-1", "unlocked-disabled-failed", 90s));
    const auto doc = c.show("worker-1");
    BOOST_TEST_INFO(doc.dump());
    BOOST_TEST(contains(doc.value("task", ""), "Host Services Failed"));
    BOOST_TEST(contains(doc.value("task", ""), "20-broken"));
    BOOST_TEST(doc.value("failure_cause", "") == "services");
}

BOOST_AUTO_TEST_CASE(the_controller_restarts_without_disturbing_an_enabled_host) {
    cluster c;
    for (const auto* w : {"worker-0", "worker-1"}) {
        BOOST_REQUIRE(c.add(w).exit_code == 0);
    }
    for (const auto* w : {"worker-0", "worker-1"}) {
        BOOST_REQUIRE(c.wait(w, "locked-disabled-online", 30s));
        BOOST_REQUIRE(c.run({"host", "unlock", w}).exit_code == 0);
    }
    for (const auto* w : {"worker-0", "worker-1"}) {
        BOOST_REQUIRE(c.wait(w, "unlocked-enabled-available", 60s));
    }
    const auto before = json::parse(c.run({"event", "list", "--json"}).out, nullptr, false);
    BOOST_REQUIRE(before.is_array());
    const auto last_id = before.empty() ? 0 : before.back().value("id", 0);

    c.kill("controller-0");
    c.start_again("controller-0", false);
    // Give it a soak and more to disturb anyone.
    std::this_thread::sleep_for(8s);
    for (const auto* w : {"worker-0", "worker-1"}) {
        BOOST_TEST(c.state(w) == "unlocked-enabled-available");
        BOOST_TEST(c.show(w).value("boot_id", "") == std::string{w} + "-boot-1");
        BOOST_TEST(!contains(c.log(w), "reboot requested"));
    }
    const auto after = json::parse(c.run({"event", "list", "--json"}).out, nullptr, false);
    BOOST_REQUIRE(after.is_array());
    for (const auto& e : after) {
        if (e.value("id", 0) > last_id && e.value("kind", "") == "state") {
            BOOST_TEST(!contains(e.value("host", ""), "worker"), e.dump());
        }
    }
}

BOOST_AUTO_TEST_CASE(a_locked_host_whose_agent_dies_goes_offline_and_comes_back_online) {
    cluster c;
    BOOST_REQUIRE(c.add("worker-0").exit_code == 0);
    BOOST_REQUIRE(c.wait("worker-0", "locked-disabled-online", 30s));
    const auto t0 = std::chrono::steady_clock::now();
    c.kill("worker-0");
    BOOST_REQUIRE(c.wait("worker-0", "locked-disabled-offline", 30s));
    const auto took = std::chrono::steady_clock::now() - t0;
    BOOST_TEST_MESSAGE("offline after " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                                        << " ms (window 4 s)");
    BOOST_TEST(took >= 3s);
    c.start_again("worker-0", true);
    BOOST_REQUIRE(c.wait("worker-0", "locked-disabled-online", 30s));
}

BOOST_AUTO_TEST_CASE(an_enabled_host_that_dies_is_failed_and_enabled_again_when_it_boots) {
    cluster c;
    BOOST_REQUIRE(c.add("worker-0").exit_code == 0);
    BOOST_REQUIRE(c.wait("worker-0", "locked-disabled-online", 30s));
    BOOST_REQUIRE(c.run({"host", "unlock", "worker-0"}).exit_code == 0);
    BOOST_REQUIRE(c.wait("worker-0", "unlocked-enabled-available", 60s));
    c.kill("worker-0");
    BOOST_REQUIRE(c.wait("worker-0", "unlocked-disabled-failed", 30s));
    const auto doc = c.show("worker-0");
    BOOST_TEST(contains(doc.value("task", ""), "Graceful Recovery"));
    c.start_again("worker-0", true);
    BOOST_REQUIRE(c.wait("worker-0", "unlocked-enabled-available", 60s));
}

BOOST_AUTO_TEST_CASE(a_frozen_host_recovers_gracefully_without_a_reboot) {
    cluster c;
    BOOST_REQUIRE(c.add("worker-1").exit_code == 0);
    BOOST_REQUIRE(c.wait("worker-1", "locked-disabled-online", 30s));
    BOOST_REQUIRE(c.run({"host", "unlock", "worker-1"}).exit_code == 0);
    BOOST_REQUIRE(c.wait("worker-1", "unlocked-enabled-available", 60s));
    c.host("worker-1").agent->signal(SIGSTOP);
    std::this_thread::sleep_for(1500ms);  // heartbeat lost (10 x 100 ms), recovery asks for an mtcAlive
    c.host("worker-1").agent->signal(SIGCONT);
    std::this_thread::sleep_for(6s);
    BOOST_REQUIRE(c.wait("worker-1", "unlocked-enabled-available", 30s));
    BOOST_TEST(c.show("worker-1").value("boot_id", "") == "worker-1-boot-1");
    BOOST_TEST(contains(c.run({"event", "list", "--json"}).out, "gracefully recovered"));
}

BOOST_AUTO_TEST_CASE(a_locked_host_is_rebooted_and_deleted) {
    cluster c;
    BOOST_REQUIRE(c.add("worker-0").exit_code == 0);
    BOOST_REQUIRE(c.wait("worker-0", "locked-disabled-online", 30s));
    BOOST_REQUIRE(c.run({"host", "reboot", "worker-0"}).exit_code == 0);
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (c.show("worker-0").value("boot_id", "") != "worker-0-boot-2" &&
           std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(200ms);
    }
    BOOST_TEST(c.show("worker-0").value("boot_id", "") == "worker-0-boot-2");
    BOOST_REQUIRE(c.wait("worker-0", "locked-disabled-online", 30s));
    BOOST_REQUIRE(c.run({"host", "delete", "worker-0"}).exit_code == 0);
    // Still reporting, it is now listed as discovered, not managed.
    std::this_thread::sleep_for(2500ms);
    const auto doc = c.show("worker-0");
    BOOST_TEST_INFO(doc.dump());
    BOOST_TEST(doc.value("management", "") == "discovered");
}

BOOST_AUTO_TEST_CASE(an_all_in_one_controller_enables_its_worker_subfunction_after_the_main_function) {
    cluster c{{"120s", true, {}, false}};
    BOOST_REQUIRE(c.wait("controller-0", "locked-disabled-online", 30s));
    BOOST_REQUIRE(c.run({"host", "unlock", "controller-0"}).exit_code == 0);
    BOOST_REQUIRE(c.wait("controller-0", "unlocked-enabled-available", 60s));
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (c.show("controller-0").value("subfunction_availability", "") != "available" &&
           std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(200ms);
    }
    const auto doc = c.show("controller-0");
    BOOST_TEST_INFO(doc.dump());
    BOOST_TEST(doc.value("subfunction_operational", "") == "enabled");
    BOOST_TEST(doc.value("subfunction_availability", "") == "available");
    // The main function was enabled first.
    const auto events = c.run({"event", "list", "--json"}).out;
    const auto main_enabled = events.find("-> unlocked-enabled-available (enabled)");
    const auto subf_enabled = events.find("subfunction enabled");
    BOOST_TEST(main_enabled != std::string::npos);
    BOOST_TEST(subf_enabled != std::string::npos);
    BOOST_TEST(main_enabled < subf_enabled);
}

BOOST_AUTO_TEST_CASE(a_corrupt_inventory_stops_the_controller_which_says_so_and_leaves_it_as_it_is) {
    const std::string garbage = "this is not an SQLite database, but an operator's mistake\n";
    cluster c{{"120s", false, garbage, false}};
    const auto code = c.host("controller-0").agent->exit_code(30s);
    BOOST_REQUIRE(code.has_value());
    BOOST_TEST(*code == 1);
    const auto log = c.dir().read("controller-0/err.log.tmp");
    BOOST_TEST_INFO(log);
    BOOST_TEST(contains(log, "inventory.db"));
    BOOST_TEST(contains(log, "left as it is"));
    BOOST_TEST(c.dir().read("controller-0/ctl/inventory.db") == garbage);
}

BOOST_AUTO_TEST_CASE(a_locked_inventory_refuses_changes_with_a_reason_and_loses_nothing) {
    cluster c;
    BOOST_REQUIRE(c.add("worker-0").exit_code == 0);
    BOOST_REQUIRE(c.wait("worker-0", "locked-disabled-online", 30s));
    // Another program holds the database's write lock for a while.
    const auto db = (c.dir().path() / "controller-0/ctl/inventory.db").string();
    mtce::test::process holder{{"/usr/bin/python3", "-c",
                                "import sqlite3, sys, time\n"
                                "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
                                "c.execute('BEGIN EXCLUSIVE')\n"
                                "print('held', flush=True)\n"
                                "time.sleep(8)\n",
                                db},
                               c.dir().path() / "holder.out",
                               c.dir().path() / "holder.err"};
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!contains(c.dir().read("holder.out"), "held") && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(50ms);
    }
    BOOST_REQUIRE(contains(c.dir().read("holder.out"), "held"));
    const auto add = c.add("worker-1");
    BOOST_TEST(add.exit_code == 1);
    BOOST_TEST(contains(add.err, "locked by another process"), add.err);
    const auto unlock = c.run({"host", "unlock", "worker-0"});
    BOOST_TEST(unlock.exit_code == 1);
    BOOST_TEST(c.state("worker-0") == "locked-disabled-online");  // nothing changed
    const auto other = c.show("worker-1");
    BOOST_TEST((other.is_null() || other.value("management", "") != "managed"));
    BOOST_REQUIRE(holder.exit_code(20s).has_value());
    // Released: the same requests go through, and what was there before is all there.
    BOOST_TEST(c.add("worker-1").exit_code == 0);
    BOOST_TEST(c.run({"host", "unlock", "worker-0"}).exit_code == 0);
    BOOST_REQUIRE(c.wait("worker-0", "unlocked-enabled-available", 60s));
}

BOOST_AUTO_TEST_CASE(a_full_disk_refuses_changes_with_a_reason_and_loses_nothing) {
    if (::geteuid() != 0) {
        BOOST_TEST_MESSAGE("skipped: mounting a small tmpfs needs root");
        return;
    }
    cluster c{{"120s", false, {}, true}};
    BOOST_REQUIRE(c.add("worker-0").exit_code == 0);
    BOOST_REQUIRE(c.wait("worker-0", "locked-disabled-online", 30s));
    // Fill the disk the inventory is on.
    const auto filler = c.dir().path() / "controller-0/ctl/filler";
    (void)mtce::test::run_command({"/bin/dd", "if=/dev/zero", "of=" + filler.string(), "bs=64k", "count=100"},
                                  c.dir().path());
    const auto add = c.add("worker-1");
    BOOST_TEST(add.exit_code == 1);
    BOOST_TEST(contains(add.err, "full"), add.err);
    BOOST_TEST(c.state("worker-0") == "locked-disabled-online");
    std::filesystem::remove(filler);
    BOOST_TEST(c.add("worker-1").exit_code == 0);
    BOOST_REQUIRE(c.wait("worker-1", "locked-disabled-online", 30s));
    // A restart finds both.
    c.kill("controller-0");
    c.start_again("controller-0", false);
    BOOST_REQUIRE(c.wait("worker-0", "locked-disabled-online", 60s));
    BOOST_REQUIRE(c.wait("worker-1", "locked-disabled-online", 60s));
}

BOOST_AUTO_TEST_CASE(a_force_lock_reboots_an_enabled_host_and_a_reset_resets_a_locked_one) {
    cluster c;
    BOOST_REQUIRE(c.add("worker-0").exit_code == 0);
    BOOST_REQUIRE(c.wait("worker-0", "locked-disabled-online", 30s));
    BOOST_REQUIRE(c.run({"host", "unlock", "worker-0"}).exit_code == 0);
    BOOST_REQUIRE(c.wait("worker-0", "unlocked-enabled-available", 60s));
    auto boot_becomes = [&](const std::string& boot) {
        const auto deadline = std::chrono::steady_clock::now() + 60s;
        while (c.show("worker-0").value("boot_id", "") != boot && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(200ms);
        }
        return c.show("worker-0").value("boot_id", "") == boot;
    };
    BOOST_REQUIRE(c.run({"host", "lock", "worker-0", "--force"}).exit_code == 0);
    BOOST_TEST(boot_becomes("worker-0-boot-2"));
    BOOST_REQUIRE(c.wait("worker-0", "locked-disabled-online", 60s));
    BOOST_TEST(contains(c.run({"event", "list"}).out, "force-lock accepted"));
    BOOST_REQUIRE(c.run({"host", "reset", "worker-0"}).exit_code == 0);
    BOOST_TEST(boot_becomes("worker-0-boot-3"));
    BOOST_REQUIRE(c.wait("worker-0", "locked-disabled-online", 60s));
    BOOST_TEST(contains(c.run({"event", "list"}).out, "Reset Completed"));
}
