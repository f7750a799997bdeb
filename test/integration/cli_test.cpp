#define BOOST_TEST_MODULE cli_test
// The command line: help, version, exit statuses, config check, and honest "not implemented yet".
#include <boost/test/unit_test.hpp>

#include "mtce/version.hpp"
#include "process.hpp"
#include "scratch.hpp"

using mtce::test::contains;
using mtce::test::run_command;

BOOST_AUTO_TEST_CASE(version_prints_the_project_version_and_git_revision) {
    mtce::test::scratch s;
    auto r = run_command({MTCE_BINARY, "version"}, s.path());
    BOOST_TEST(r.exit_code == 0);
    BOOST_TEST(r.out == std::string{"mtce "} + mtce::project_version + " (" + mtce::git_revision + ")\n");
}

BOOST_AUTO_TEST_CASE(help_exits_0_and_lists_every_subcommand) {
    mtce::test::scratch s;
    auto r = run_command({MTCE_BINARY, "--help"}, s.path());
    BOOST_TEST(r.exit_code == 0);
    for (const auto* sub : {"agent", "host", "alarm", "event", "config", "demo", "version"}) {
        BOOST_TEST(contains(r.out, sub), sub);
    }
}

BOOST_AUTO_TEST_CASE(usage_errors_exit_2) {
    mtce::test::scratch s;
    BOOST_TEST(run_command({MTCE_BINARY}, s.path()).exit_code == 2);
    BOOST_TEST(run_command({MTCE_BINARY, "frobnicate"}, s.path()).exit_code == 2);
    BOOST_TEST(run_command({MTCE_BINARY, "agent"}, s.path()).exit_code == 2);
    BOOST_TEST(run_command({MTCE_BINARY, "agent", "--role", "router"}, s.path()).exit_code == 2);
    BOOST_TEST(run_command({MTCE_BINARY, "host", "wait", "worker-0"}, s.path()).exit_code == 2);
}

BOOST_AUTO_TEST_CASE(
    the_demo_takes_a_controller_and_two_hosts_through_their_lifecycles_and_a_site_power_loss_and_cleans_up) {
    mtce::test::scratch s;
    auto r = run_command({MTCE_BINARY, "demo", "--hosts", "2"}, s.path(), std::chrono::seconds{300});
    BOOST_TEST_INFO("stdout:\n" << r.out << "\nstderr:\n" << r.err);
    BOOST_TEST(r.exit_code == 0);
    BOOST_TEST(contains(r.out, "All 3 hosts unlocked-enabled-available"));
    BOOST_TEST(contains(r.out, "worker-1 failed"));
    BOOST_TEST(contains(r.out, "worker-1 unlocked-enabled-available again"));
    // The last act: the site loses power. Dead Office Recovery begins then, not at the controller's first
    // start (its inventory had no unlocked host), and ends with every host back, none failed or rebooted.
    const auto power_loss = r.out.find("=== 5/5 the whole site loses power");
    const auto banner = r.out.find("Dead Office Recovery is ACTIVE");
    BOOST_TEST(power_loss != std::string::npos);
    BOOST_TEST(banner != std::string::npos);
    BOOST_TEST(banner > power_loss);
    BOOST_TEST(r.out.find("Dead Office Recovery is ACTIVE", banner + 1) == std::string::npos);
    BOOST_TEST(contains(r.out, "recovering 3 unlocked hosts"));
    BOOST_TEST(contains(r.out, "3 of 3 recovered"));
    BOOST_TEST(contains(r.out, "Dead Office Recovery complete in"));
    BOOST_TEST(contains(r.out, ": 3 of 3 hosts recovered"));
    BOOST_TEST(
        contains(r.out, "s after the last one booted; no host was failed or rebooted during the recovery."));
    // Everything it made is gone: the temporary directory it named.
    const auto at = r.out.find("in /tmp/mtce-demo.");
    BOOST_REQUIRE(at != std::string::npos);
    const auto path = r.out.substr(at + 3, r.out.find(' ', at + 3) - at - 3);
    BOOST_TEST(!std::filesystem::exists(path), path);
    BOOST_TEST(run_command({MTCE_BINARY, "demo", "--hosts", "0"}, s.path()).exit_code == 2);
}

BOOST_AUTO_TEST_CASE(config_check_accepts_the_shipped_file_for_every_role) {
    mtce::test::scratch s;
    auto r = run_command(
        {MTCE_BINARY, "config", "check", "--config", std::string{MTCE_SOURCE_DIR} + "/etc/mtce/mtce.toml"},
        s.path());
    BOOST_TEST(r.exit_code == 0);
    BOOST_TEST(contains(r.out, "valid for the controller role"));
    BOOST_TEST(contains(r.out, "valid for the storage role"));
}

BOOST_AUTO_TEST_CASE(config_check_refuses_a_bad_file_with_exit_2_and_file_line_key) {
    mtce::test::scratch s;
    const auto bad = s.write("bad.toml", "[agent]\nhostname = \"ok\"\n\n[host]\nrun_dir = 7\n");
    auto r =
        run_command({MTCE_BINARY, "config", "check", "--config", bad.string(), "--role", "worker"}, s.path());
    BOOST_TEST(r.exit_code == 2);
    BOOST_TEST(r.err == bad.string() + ":5: host.run_dir: expected a path string, found an integer\n");
    auto missing = run_command(
        {MTCE_BINARY, "config", "check", "--config", (s.path() / "none.toml").string()}, s.path());
    BOOST_TEST(missing.exit_code == 2);
    BOOST_TEST(contains(missing.err, "cannot read the configuration"));
}

BOOST_AUTO_TEST_CASE(config_check_without_a_role_accepts_an_all_in_one_controller_file) {
    mtce::test::scratch s;
    const auto aio = s.write("aio.toml", "[agent]\nsubfunctions = [\"worker\"]\n");
    auto r = run_command({MTCE_BINARY, "config", "check", "--config", aio.string()}, s.path());
    BOOST_TEST(r.exit_code == 0);
    BOOST_TEST(contains(r.out, "valid for the controller role"));
    BOOST_TEST(
        contains(r.out, "not for the worker role: " + aio.string() +
                            ":2: agent.subfunctions: only a controller can have the worker subfunction"));
    auto worker =
        run_command({MTCE_BINARY, "config", "check", "--config", aio.string(), "--role", "worker"}, s.path());
    BOOST_TEST(worker.exit_code == 2);
}
