#define BOOST_TEST_MODULE agent_process_test
// The real `mtce agent` process: boot sequence, sd_notify, SIGHUP reload, SIGTERM drain, bad configuration.
#include <boost/test/unit_test.hpp>
#include <fmt/format.h>

#include "process.hpp"
#include "scratch.hpp"

using namespace std::chrono_literals;
using mtce::test::contains;
using mtce::test::process;

namespace {

struct agent_host {
    mtce::test::scratch dir;

    explicit agent_host(const std::string& host_extra = "") {
        dir.write("key", "0123456789abcdef0123456789abcdef\n", 0600);
        dir.write("boot_id", "boot-1\n");
        std::filesystem::create_directories(dir.path() / "goenabled.d");
        std::filesystem::create_directories(dir.path() / "services.d/worker");
        write_config(host_extra);
    }

    void write_config(const std::string& host_extra) const {
        dir.write("mtce.toml", mtce::test::host_config(dir.path(), "worker-0", "drain_timeout = \"1s\"",
                                                       "kill_grace = \"300ms\"\n" + host_extra));
    }

    std::unique_ptr<process> start(const std::vector<std::string>& env = {}) const {
        return std::make_unique<process>(
            std::vector<std::string>{MTCE_BINARY, "agent", "--role", "worker", "--config",
                                     (dir.path() / "mtce.toml").string(), "--foreground", "--log-level",
                                     "debug"},
            dir.path() / "agent.out", dir.path() / "agent.err", env);
    }

    [[nodiscard]] std::string log() const { return dir.read("agent.err"); }

    bool wait_for_file(const std::string& name, std::chrono::milliseconds limit) const {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        while (std::chrono::steady_clock::now() < deadline) {
            if (dir.exists(name)) {
                return true;
            }
            std::this_thread::sleep_for(50ms);
        }
        return dir.exists(name);
    }
};

}  // namespace

BOOST_AUTO_TEST_CASE(the_agent_runs_goenabled_then_host_services_and_writes_the_flags) {
    agent_host h;
    h.dir.script("goenabled.d/10-check", "sleep 0.2");
    h.dir.script("services.d/worker/10-svc",
                 fmt::format("echo \"$1\" >> '{}/svc.log'", h.dir.path().string()));
    auto agent = h.start();
    BOOST_TEST(h.wait_for_file("run/services_worker", 30s));
    BOOST_TEST(h.dir.exists("run/goenabled"));
    BOOST_TEST(h.dir.read("svc.log") == "start\n");
    agent->signal(SIGTERM);
    BOOST_TEST(agent->exit_code(30s).value_or(-99) == 0);
    BOOST_TEST(contains(h.log(), "goenabled: passed"));
    BOOST_TEST(contains(h.log(), "stopped"));
}

BOOST_AUTO_TEST_CASE(the_agent_tells_systemd_ready_watchdog_reloading_and_stopping) {
    agent_host h;
    mtce::test::notify_socket notify{h.dir.path() / "notify.sock"};
    auto agent = h.start({notify.env(), "WATCHDOG_USEC=400000"});
    BOOST_TEST(notify.wait_for("READY=1", 30s).has_value());
    BOOST_TEST(notify.wait_for("WATCHDOG=1", 10s).has_value());
    agent->signal(SIGHUP);
    BOOST_TEST(notify.wait_for("RELOADING=1", 10s).has_value());
    BOOST_TEST(notify.wait_for("READY=1", 10s).has_value());
    agent->signal(SIGTERM);
    BOOST_TEST(notify.wait_for("STOPPING=1", 10s).has_value());
    BOOST_TEST(agent->exit_code(30s).value_or(-99) == 0);
}

BOOST_AUTO_TEST_CASE(sighup_with_a_bad_configuration_keeps_the_old_one_and_the_agent_runs_on) {
    agent_host h;
    mtce::test::notify_socket notify{h.dir.path() / "notify.sock"};
    auto agent = h.start({notify.env()});
    BOOST_REQUIRE(notify.wait_for("READY=1", 30s).has_value());
    h.dir.write("mtce.toml", "[heartbeat]\nperiod_ms = 1\n");
    agent->signal(SIGHUP);
    BOOST_TEST(notify.wait_for("RELOADING=1", 10s).has_value());
    BOOST_TEST(notify.wait_for("READY=1", 10s).has_value());
    BOOST_TEST(!agent->wait(300ms).has_value());
    const auto log = h.log();
    BOOST_TEST(contains(log, "mtce.toml:2: heartbeat.period_ms: 1 is out of range"));
    BOOST_TEST(contains(log, "keeping the configuration in force"));
    // The old configuration is still the one in force: a good file is taken on the next SIGHUP.
    h.write_config("");
    agent->signal(SIGHUP);
    BOOST_TEST(notify.wait_for("READY=1", 10s).has_value());
    agent->signal(SIGTERM);
    BOOST_TEST(agent->exit_code(30s).value_or(-99) == 0);
    BOOST_TEST(contains(h.log(), "is in force"));
}

BOOST_AUTO_TEST_CASE(sigterm_drains_within_the_bound_then_kills_a_hung_script_group) {
    agent_host h;
    h.dir.script(
        "goenabled.d/10-hang",
        fmt::format("trap '' TERM\nsleep 300 &\necho $! > '{0}/grandchild'\nwait", h.dir.path().string()));
    auto agent = h.start();
    BOOST_REQUIRE(h.wait_for_file("grandchild", 30s));
    std::this_thread::sleep_for(100ms);
    const pid_t grandchild = std::stoi(h.dir.read("grandchild"));
    const auto start = std::chrono::steady_clock::now();
    agent->signal(SIGTERM);
    BOOST_TEST(agent->exit_code(30s).value_or(-99) == 0);
    const auto took = std::chrono::steady_clock::now() - start;
    BOOST_TEST((took >= 900ms));  // it waited for the drain
    BOOST_TEST((took < 15s));
    bool gone = false;
    for (int i = 0; i < 100 && !gone; ++i) {
        gone = ::kill(grandchild, 0) != 0;
        std::this_thread::sleep_for(50ms);
    }
    BOOST_TEST(gone);
    BOOST_TEST(contains(h.log(), "still running after 1000ms, cancelling them"));
}

BOOST_AUTO_TEST_CASE(a_bad_configuration_exits_2_naming_file_line_and_key) {
    agent_host h;
    h.dir.write("mtce.toml", "[host]\ngoenabled_timeout = \"soon\"\n");
    auto agent = h.start();
    BOOST_TEST(agent->exit_code(30s).value_or(-99) == 2);
    BOOST_TEST(contains(h.log(), (h.dir.path() / "mtce.toml").string() + ":2: host.goenabled_timeout:"));
    BOOST_TEST(!h.dir.exists("run"));
}

BOOST_AUTO_TEST_CASE(a_key_readable_by_others_or_missing_stops_the_agent_with_exit_2) {
    agent_host h;
    ::chmod((h.dir.path() / "key").c_str(), 0644);
    auto first = h.start();
    BOOST_TEST(first->exit_code(30s).value_or(-99) == 2);
    BOOST_TEST(contains(h.log(), "auth.key_file"));
    BOOST_TEST(contains(h.log(), "is readable by others (mode 0644)"));
    std::filesystem::remove(h.dir.path() / "key");
    auto second = h.start();
    BOOST_TEST(second->exit_code(30s).value_or(-99) == 2);
    BOOST_TEST(contains(h.log(), "auth.key_file: cannot read"));
}

BOOST_AUTO_TEST_CASE(the_agent_says_which_script_isolation_it_uses_and_warns_about_a_process_group) {
    agent_host h{"script_isolation = \"process-group\"\n"};
    auto agent = h.start();
    BOOST_TEST(h.wait_for_file("run/services_worker", 30s));
    agent->signal(SIGTERM);
    BOOST_TEST(agent->exit_code(30s).value_or(-99) == 0);
    BOOST_TEST_INFO("agent log: " << h.log());
    BOOST_TEST(
        contains(h.log(), "scripts run isolated by: process-group (host.script_isolation = process-group)"));
    BOOST_TEST(contains(h.log(), "a process that calls setsid escapes the deadline"));
}
