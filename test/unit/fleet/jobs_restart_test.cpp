#define BOOST_TEST_MODULE fleet_jobs_restart_test
#include "fake_host.hpp"

#include <chrono>

#include <boost/test/unit_test.hpp>

// A controller that restarts in the middle of a job: what it resumes, and what it must not do again.

using namespace std::chrono_literals;
using namespace mtce::fleet;
using mtce::net::command_kind;
using mtce::test::fake_host;

namespace {

double secs(fake_host::time_point from, fake_host::time_point to) {
    return std::chrono::duration<double>(to - from).count();
}

}  // namespace

BOOST_AUTO_TEST_CASE(
    a_restarted_controller_adopts_a_host_booting_from_the_unlock_and_enables_it_without_a_reboot) {
    fake_host h;
    h.provision_bmc(/*on=*/true);
    // As loaded from the inventory: the unlock accepted, the host rebooting from it, nothing heard yet.
    h.agent_up(1h, /*locked=*/false);
    h.agent_boots_in(90s, /*uptime_at_first_report=*/10s);
    h.set_record_states(admin_state::unlocked, oper_state::disabled, avail_state::offline);
    h.record().action = host_action::unlock;
    h.controller_restarts();
    BOOST_REQUIRE(h.record().adopting);
    BOOST_REQUIRE(!h.record().alive.has_value());
    const auto t0 = h.now();
    const auto sup = h.run_supervisor();

    const bool enabled = h.run_until(
        [&] {
            return mtce::test::settled_in(h, admin_state::unlocked, oper_state::enabled,
                                          avail_state::available);
        },
        2h);
    BOOST_TEST_INFO("tasks: " << h.task_history());
    BOOST_TEST_INFO("states: " << h.state_history());
    BOOST_TEST_INFO("commands: " << h.command_history());
    BOOST_TEST_INFO("bmc: " << h.bmc_history());
    BOOST_REQUIRE(enabled);
    BOOST_TEST_INFO("tasks: " << h.task_history() << " commands: " << h.command_history());
    BOOST_TEST(h.sent(command_kind::reboot).empty());
    BOOST_TEST(h.sent(command_kind::reset).empty());
    BOOST_TEST(h.bmc_requests("reset").empty());
    BOOST_TEST(h.bmc_requests("power-on").empty());
    BOOST_TEST(h.boots() == 2U);  // the boot it was already in, and the one the unlock started
    BOOST_TEST(!h.reached(oper_state::disabled, avail_state::failed, t0).has_value());
    BOOST_TEST(h.record().action == host_action::none);
    BOOST_TEST(h.running(sup));
}

BOOST_AUTO_TEST_CASE(a_fast_reboot_is_noticed_when_the_old_boot_is_unknown_by_its_short_uptime) {
    fake_host h;
    h.agent().ack_reboots = false;  // its ack is lost
    h.agent().shutdown_time = 1s;
    h.agent().boot_time = 3s;
    mtce::test::locked_online(h);
    // The controller just restarted: it has not heard from the host.
    h.controller_restarts();
    h.record().action = host_action::reboot;
    const auto job = h.run_job(job_kind::reboot);

    const bool finished = h.run_until([&] { return h.done(job); }, 2h);
    BOOST_TEST_INFO("tasks: " << h.task_history());
    BOOST_TEST_INFO("commands: " << h.command_history());
    BOOST_REQUIRE(finished);
    BOOST_TEST(h.task_with("Reboot Completed").has_value());
    BOOST_TEST(h.sent(command_kind::reboot).size() == 1U);
    BOOST_TEST(h.boots() == 2U);
}

BOOST_AUTO_TEST_CASE(a_reboot_the_host_accepted_before_a_controller_restart_is_not_carried_out_again) {
    fake_host h;
    h.agent().boot_time = 120s;
    mtce::test::locked_online(h);
    h.request(host_action::reboot);
    (void)h.run_supervisor();

    const bool acked = h.run_until([&] { return h.task_with("Rebooting").has_value(); }, 10min);
    BOOST_TEST_INFO("tasks: " << h.task_history());
    BOOST_REQUIRE(acked);
    h.clock().settle();
    // Done as far as a restarted controller is concerned: no action pending, on disk too.
    BOOST_TEST(h.record().action == host_action::none);
    BOOST_REQUIRE(!h.saves().empty());
    BOOST_TEST(h.saves().back().action == host_action::none);
    BOOST_TEST(h.sent(command_kind::reboot).size() == 1U);

    // The controller crashes and starts again while the host reboots.
    h.run_for(3s);
    h.controller_restarts();
    const auto restart = h.now();
    const auto sup = h.run_supervisor();
    h.run_for(30min);
    BOOST_TEST_INFO("commands: " << h.command_history());
    BOOST_TEST(h.sent(command_kind::reboot, restart).empty());
    BOOST_TEST(h.boots() == 2U);
    BOOST_TEST(h.running(sup));
    BOOST_TEST(secs(restart, h.now()) >= 1800.0);
}
