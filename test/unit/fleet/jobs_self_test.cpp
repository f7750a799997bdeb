#define BOOST_TEST_MODULE fleet_jobs_self_test
#include "fake_host.hpp"

#include <chrono>

#include <boost/test/unit_test.hpp>

// The active controller's own failures (reference §7): never failed while a peer controller exists; on a
// simplex system it reboots itself only up to autorecovery.threshold.

using namespace std::chrono_literals;
using namespace mtce::fleet;
using mtce::role;
using mtce::net::command_kind;
using mtce::test::fake_host;

namespace {

/// This controller's own host, unlocked-disabled, booted `uptime` ago; its self-tests fail 30 s into a boot.
void own_host_failing_its_tests(fake_host& h, fleet_view fleet, std::chrono::milliseconds uptime = 10s) {
    h.record().self = true;
    h.fleet_info() = fleet;
    h.agent().goenabled_pass = false;
    h.set_record_states(admin_state::unlocked, oper_state::disabled, avail_state::offline);
    h.agent_up(uptime, /*locked=*/false);
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_active_controller_with_a_peer_stays_enabled_degraded_and_never_reboots_itself) {
    fake_host h{"controller-0", role::controller};
    own_host_failing_its_tests(h, {1, 2});
    const auto sup = h.run_supervisor();
    h.run_for(1h);

    BOOST_TEST_INFO("tasks: " << h.task_history());
    BOOST_TEST_INFO("states: " << h.state_history());
    BOOST_TEST_INFO("commands: " << h.command_history());
    BOOST_TEST(h.record().states.administrative == admin_state::unlocked);
    BOOST_TEST(h.record().states.operational == oper_state::enabled);
    BOOST_TEST(h.record().states.availability == avail_state::degraded);
    BOOST_TEST((h.record().degrade_mask & degrade::critical_failure) != 0U);
    BOOST_TEST(!h.reached(oper_state::disabled, avail_state::failed).has_value());
    BOOST_TEST(h.sent(command_kind::reboot).empty());
    BOOST_TEST(h.sent(command_kind::reset).empty());
    BOOST_TEST(h.boots() == 1U);
    BOOST_TEST(h.record().task.find("In-Test Failed") != std::string::npos);
    BOOST_TEST(h.running(sup));
}

BOOST_AUTO_TEST_CASE(
    the_active_controller_with_a_peer_whose_self_tests_failed_before_its_enable_does_not_reboot_itself) {
    fake_host h{"controller-0", role::controller};
    own_host_failing_its_tests(h, {1, 2}, /*uptime=*/40s);  // its report already carries the failure
    const auto sup = h.run_supervisor();
    h.run_for(1h);

    BOOST_TEST_INFO("tasks: " << h.task_history());
    BOOST_TEST_INFO("states: " << h.state_history());
    BOOST_TEST_INFO("commands: " << h.command_history());
    BOOST_TEST(h.sent(command_kind::reboot).empty());
    BOOST_TEST(h.boots() == 1U);
    BOOST_TEST(h.record().states.operational == oper_state::enabled);
    BOOST_TEST(h.record().states.availability == avail_state::degraded);
    BOOST_TEST((h.record().degrade_mask & degrade::critical_failure) != 0U);
    BOOST_TEST(h.running(sup));
}

BOOST_AUTO_TEST_CASE(a_simplex_controller_reboots_itself_only_up_to_the_threshold_then_stays_degraded) {
    fake_host h{"controller-0", role::controller};
    own_host_failing_its_tests(h, {1, 1});
    auto sup = h.run_supervisor();
    const auto limit = h.now() + 3h;
    // Its controller goes down with its host and starts again on the new boot.
    for (int i = 0; i < 10 && h.now() < limit; ++i) {
        const bool down = h.run_until([&] { return !h.agent_running(); }, limit);
        if (!down) {
            break;
        }
        h.controller_restarts();
        const bool up = h.run_until([&] { return h.agent_running(); }, limit);
        BOOST_REQUIRE(up);
        sup = h.run_supervisor();
    }

    BOOST_TEST_INFO("tasks: " << h.task_history());
    BOOST_TEST_INFO("states: " << h.state_history());
    BOOST_TEST_INFO("commands: " << h.command_history());
    const auto threshold = h.cfg().autorecovery.threshold;
    const auto reboots = h.sent(command_kind::reboot);
    BOOST_TEST(reboots.size() == threshold);
    for (const auto& r : reboots) {
        BOOST_TEST(
            r.command.delay_s ==
            std::chrono::duration_cast<std::chrono::seconds>(h.cfg().controller.self_reboot_delay).count());
    }
    BOOST_TEST(h.boots() == threshold + 1);
    BOOST_TEST(h.record().failure_counts[failure_cause::goenabled] == threshold + 1);
    BOOST_TEST(h.record().states.operational == oper_state::enabled);
    BOOST_TEST(h.record().states.availability == avail_state::degraded);
    BOOST_TEST((h.record().degrade_mask & degrade::critical_failure) != 0U);
    BOOST_TEST(h.running(sup));
}
