#define BOOST_TEST_MODULE fleet_jobs_enable_test
#include "fake_host.hpp"

#include <chrono>

#include <boost/test/unit_test.hpp>

// The enable job (an unlock, and the retry after a failure), through the host's supervisor, in simulated
// time: what the host is asked, which states and tasks it goes through, and when.

using namespace std::chrono_literals;
using namespace mtce::fleet;
using mtce::role;
using mtce::net::command_kind;
using mtce::test::fake_host;

namespace {

/// Seconds between two simulated times.
double secs(fake_host::time_point from, fake_host::time_point to) {
    return std::chrono::duration<double>(to - from).count();
}

}  // namespace

BOOST_AUTO_TEST_CASE(unlock_of_a_host_up_for_hours_reboots_it_once_then_tests_soaks_and_enables_it) {
    fake_host h;
    mtce::test::locked_online(h, 5h);
    const auto t0 = h.now();
    h.request(host_action::unlock);
    const auto sup = h.run_supervisor();

    const bool enabled = h.run_until([&] { return mtce::test::enabled_available_now(h); }, 1h);
    BOOST_TEST_INFO("tasks: " << h.task_history());
    BOOST_TEST_INFO("states: " << h.state_history());
    BOOST_TEST_INFO("commands: " << h.command_history());
    BOOST_REQUIRE(enabled);

    // The host is told it is unlocked, and rebooted once.
    const auto unlocks = h.sent(command_kind::unlock);
    BOOST_REQUIRE(!unlocks.empty());
    BOOST_TEST(secs(t0, unlocks.front().at) < 1.0);
    const auto reboots = h.sent(command_kind::reboot);
    BOOST_REQUIRE_EQUAL(reboots.size(), 1U);
    BOOST_TEST(h.boots() == 2U);
    BOOST_TEST(!h.agent_locked());

    // Its runbook, in order: reboot, down, the new boot, tests, services, soak.
    const char* order[] = {"Unlocking",
                           "Reboot Request",
                           "Rebooting",
                           "Booting",
                           "Testing",
                           "Enabling Host Services",
                           "Initializing: heartbeat soak"};
    fake_host::time_point last = t0;
    for (const auto* task : order) {
        const auto t = h.task_with(task, last);
        BOOST_TEST_INFO("task " << task);
        BOOST_REQUIRE(t.has_value());
        last = t->at;
    }
    // Tested only from the new boot: the first report of the second boot came before "Testing".
    const auto intest = h.reached(oper_state::disabled, avail_state::intest);
    BOOST_REQUIRE(intest.has_value());
    BOOST_TEST(secs(reboots.front().at, *intest) >= h.cfg().host.mtcalive_period.count() / 1000.0);
    BOOST_TEST(h.record().boot_id() == h.agent_boot_id());
    BOOST_TEST(h.record().enabled_boot == h.agent_boot_id());

    // The heartbeat soaked for controller.heartbeat_soak before the host was enabled.
    BOOST_REQUIRE(!h.heartbeat_changes().empty());
    const auto hb = h.heartbeat_changes().back();
    BOOST_TEST(hb.started);
    BOOST_TEST(h.record().monitored);
    const auto available = h.reached(oper_state::enabled, avail_state::available, t0);
    BOOST_REQUIRE(available.has_value());
    BOOST_TEST(secs(hb.at, *available) >=
               std::chrono::duration<double>(h.cfg().controller.heartbeat_soak).count());
    BOOST_TEST(secs(hb.at, *available) <
               std::chrono::duration<double>(h.cfg().controller.heartbeat_soak).count() + 1);

    // Counted, the request done, the task cleared.
    BOOST_REQUIRE_EQUAL(h.enables().size(), 1U);
    BOOST_TEST(h.enables().front().took.has_value());
    BOOST_TEST(h.enables().front().cause == failure_cause::none);
    BOOST_TEST(h.record().action == host_action::none);
    BOOST_TEST(h.record().task.empty());
    BOOST_TEST(h.running(sup));
}

BOOST_AUTO_TEST_CASE(unlock_of_a_host_that_booted_moments_ago_enables_it_without_a_reboot) {
    fake_host h;
    mtce::test::locked_online(h, 40s);  // under controller.fresh_boot_uptime (120 s); its self-tests passed
    h.request(host_action::unlock);
    (void)h.run_supervisor();

    const bool enabled = h.run_until([&] { return mtce::test::enabled_available_now(h); }, 1h);
    BOOST_TEST_INFO("tasks: " << h.task_history());
    BOOST_TEST_INFO("commands: " << h.command_history());
    BOOST_REQUIRE(enabled);
    BOOST_TEST(h.sent(command_kind::reboot).empty());
    BOOST_TEST(h.sent(command_kind::reset).empty());
    BOOST_TEST(h.boots() == 1U);
    BOOST_TEST(!h.task_with("Reboot").has_value());
    BOOST_TEST(h.task_with("Testing").has_value());
    BOOST_TEST(h.task_with("Enabling Host Services").has_value());
    BOOST_REQUIRE_EQUAL(h.enables().size(), 1U);
}

BOOST_AUTO_TEST_CASE(
    a_failed_self_test_fails_the_host_with_its_reason_and_it_is_enabled_after_the_goenabled_interval) {
    fake_host h;
    h.cfg().autorecovery.goenabled_interval = 45s;
    h.agent().goenabled_pass = false;
    h.agent().goenabled_failure = "goenabled.d/10-disk: /dev/sdb is missing";
    mtce::test::locked_online(h, 40s);  // fresh: tested without a reboot, and its tests failed
    h.request(host_action::unlock);
    const auto sup = h.run_supervisor();

    const bool failed =
        h.run_until([&] { return h.record().states.availability == avail_state::failed; }, 1h);
    BOOST_TEST_INFO("tasks: " << h.task_history());
    BOOST_REQUIRE(failed);
    const auto failed_at = h.now();
    BOOST_TEST(h.record().states.administrative == admin_state::unlocked);
    BOOST_TEST(h.record().states.operational == oper_state::disabled);
    BOOST_TEST(h.record().task.find("In-Test Failed") == 0U);
    BOOST_TEST(h.record().task.find("/dev/sdb is missing") != std::string::npos);
    BOOST_TEST(h.record().cause == failure_cause::goenabled);
    BOOST_TEST(!h.record().monitored);

    // The next boot's tests pass; the retry comes after the cause's interval, not before.
    h.agent().goenabled_pass = true;
    const auto retry = h.run_until([&] { return h.task_with("Enabling", failed_at).has_value(); }, 1h);
    BOOST_REQUIRE(retry);
    const auto retry_at = h.task_with("Enabling", failed_at)->at;
    BOOST_TEST(secs(failed_at, retry_at) >= 45.0);
    BOOST_TEST(secs(failed_at, retry_at) < 47.0);

    const bool enabled = h.run_until([&] { return mtce::test::enabled_available_now(h); }, 1h);
    BOOST_TEST_INFO("tasks: " << h.task_history());
    BOOST_REQUIRE(enabled);
    // The retry rebooted the host that had failed its tests, once.
    BOOST_TEST(h.sent(command_kind::reboot, failed_at).size() == 1U);
    BOOST_TEST(h.record().cause == failure_cause::none);
    BOOST_TEST(h.record().failure_counts.empty());
    BOOST_TEST(h.running(sup));
}

BOOST_AUTO_TEST_CASE(
    a_host_that_never_reports_its_self_tests_fails_in_test_timeout_one_goenabled_timeout_after_testing) {
    fake_host h;
    // Its reports carry no flags for 500 s (its configuration is not known), then it is configured but its
    // self-tests never end: the configuration wait and the self-test wait share one goenabled_timeout.
    h.agent().flags_after = 500s;
    h.agent().goenabled_time = 100h;
    mtce::test::locked_online(h, 10s);
    h.request(host_action::unlock);
    (void)h.run_supervisor();

    const bool failed =
        h.run_until([&] { return h.record().states.availability == avail_state::failed; }, 2h);
    BOOST_TEST_INFO("tasks: " << h.task_history());
    BOOST_REQUIRE(failed);
    const auto testing = h.task_with("Testing");
    BOOST_REQUIRE(testing.has_value());
    BOOST_TEST(h.record().task.find("In-Test Timeout") == 0U);
    const double took = secs(testing->at, h.now());
    const double timeout = std::chrono::duration<double>(h.cfg().controller.goenabled_timeout).count();
    BOOST_TEST(took >= timeout - 1);
    BOOST_TEST(took <= timeout + 1);  // not twice the timeout
    BOOST_TEST(h.record().cause == failure_cause::goenabled);
}

BOOST_AUTO_TEST_CASE(a_host_that_never_says_anything_fails_in_test_timeout_after_one_goenabled_timeout) {
    fake_host h;
    h.agent().flags_after = 100h;  // no flags at all: not even its configuration
    mtce::test::locked_online(h, 10s);
    h.request(host_action::unlock);
    (void)h.run_supervisor();

    const bool failed =
        h.run_until([&] { return h.record().states.availability == avail_state::failed; }, 2h);
    BOOST_TEST_INFO("tasks: " << h.task_history());
    BOOST_REQUIRE(failed);
    const auto testing = h.task_with("Testing");
    BOOST_REQUIRE(testing.has_value());
    const double took = secs(testing->at, h.now());
    const double timeout = std::chrono::duration<double>(h.cfg().controller.goenabled_timeout).count();
    BOOST_TEST(took <= timeout + 1);
    BOOST_TEST(took >= timeout - 1);
    BOOST_TEST(h.record().task.find("Timeout") != std::string::npos);
}
