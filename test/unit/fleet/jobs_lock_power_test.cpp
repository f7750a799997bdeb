#define BOOST_TEST_MODULE fleet_jobs_lock_power_test
#include "fake_host.hpp"

#include <chrono>

#include <boost/test/unit_test.hpp>

// Lock, force-lock, and the BMC's power jobs and reinstall of a locked host, in simulated time.

using namespace std::chrono_literals;
using namespace mtce::fleet;
using mtce::net::command_kind;
using mtce::test::fake_host;

namespace {

double secs(fake_host::time_point from, fake_host::time_point to) {
    return std::chrono::duration<double>(to - from).count();
}

bool idle(fake_host& h) {
    return h.record().running == job_kind::none && h.record().task.empty();
}

}  // namespace

BOOST_AUTO_TEST_CASE(
    lock_waits_for_the_services_stop_result_then_the_host_is_locked_online_unmonitored_and_cleared) {
    fake_host h;
    h.agent().lock_time = 40s;
    mtce::test::enabled_available(h);
    h.record().failure_counts[failure_cause::goenabled] = 1;
    h.request(host_action::lock);
    const auto t0 = h.now();
    (void)h.run_supervisor();

    const bool locked = h.run_until(
        [&] {
            return mtce::test::settled_in(h, admin_state::locked, oper_state::disabled, avail_state::online);
        },
        1h);
    BOOST_TEST_INFO("tasks: " << h.task_history());
    BOOST_TEST_INFO("states: " << h.state_history());
    BOOST_REQUIRE(locked);
    const auto locks = h.sent(command_kind::lock);
    BOOST_REQUIRE(!locks.empty());
    BOOST_TEST(h.task_with("Locking: stopping host services").has_value());
    // Not before the host's result.
    const auto done_at = h.reached(oper_state::disabled, avail_state::online, t0);
    BOOST_REQUIRE(done_at.has_value());
    BOOST_TEST(secs(locks.front().at, *done_at) >= 40.0);
    BOOST_TEST(h.agent_locked());
    BOOST_TEST(!h.record().monitored);
    BOOST_TEST(!h.heartbeat_changes().empty());
    BOOST_TEST(!h.heartbeat_changes().back().started);
    BOOST_TEST(h.record().cause == failure_cause::none);
    BOOST_TEST(h.record().failure_counts.empty());
    BOOST_TEST(h.record().action == host_action::none);
    BOOST_TEST(h.sent(command_kind::reboot).empty());
    BOOST_TEST(!h.saves().empty());
}

BOOST_AUTO_TEST_CASE(force_lock_reboots_an_enabled_host_and_it_is_locked_offline_once_down) {
    fake_host h;
    mtce::test::enabled_available(h);
    h.request(host_action::force_lock);
    (void)h.run_supervisor();

    const bool locked = h.run_until(
        [&] {
            return mtce::test::settled_in(h, admin_state::locked, oper_state::disabled, avail_state::offline);
        },
        1h);
    BOOST_TEST_INFO("tasks: " << h.task_history());
    BOOST_TEST_INFO("states: " << h.state_history());
    BOOST_TEST_INFO("commands: " << h.command_history());
    BOOST_REQUIRE(locked);
    BOOST_TEST(!h.sent(command_kind::lock).empty());
    BOOST_TEST(h.sent(command_kind::reboot).size() == 1U);
    BOOST_TEST(!h.agent_running());
    BOOST_TEST(!h.record().monitored);
    BOOST_TEST(h.record().action == host_action::none);
    // Its new boot comes up locked.
    const bool booted = h.run_until([&] { return h.boots() == 2U && h.agent_running(); }, 10min);
    BOOST_TEST(booted);
    BOOST_TEST(h.agent_locked());
}

BOOST_AUTO_TEST_CASE(power_off_is_verified_by_polling_the_power_state) {
    fake_host h;
    h.provision_bmc(/*on=*/true);
    mtce::test::locked_online(h);
    h.record().action = host_action::power_off;
    const auto job = h.run_job(job_kind::power_off);
    const bool finished = h.run_until([&] { return h.done(job); }, 1h);
    BOOST_TEST_INFO("tasks: " << h.task_history());
    BOOST_TEST_INFO("bmc: " << h.bmc_history());
    BOOST_REQUIRE(finished);
    BOOST_TEST(h.error_text(job).empty());
    const auto request = h.bmc_requests("power-off");
    BOOST_REQUIRE_EQUAL(request.size(), 1U);
    BOOST_TEST(h.bmc_requests("power?", request.front().at).size() >= 1U);
    BOOST_TEST(h.task_with("Power-Off Completed").has_value());
    BOOST_TEST(h.record().states.availability == avail_state::power_off);
    BOOST_TEST(!h.powered());
}

BOOST_AUTO_TEST_CASE(a_bmc_that_accepts_a_power_off_and_does_nothing_fails_it) {
    fake_host h;
    h.provision_bmc(/*on=*/true);
    h.bmc().ignore_requests = true;
    mtce::test::locked_online(h);
    const auto job = h.run_job(job_kind::power_off);
    const bool finished = h.run_until([&] { return h.done(job); }, 1h);
    BOOST_REQUIRE(finished);
    const auto failed = h.task_with("Power-Off Failed: ");
    BOOST_TEST_INFO("tasks: " << h.task_history());
    BOOST_REQUIRE(failed.has_value());
    BOOST_TEST(h.bmc_requests("power-off").size() == 1U);
    BOOST_TEST(h.bmc_requests("power?").size() > 2U);  // polled until bmc.power_off_timeout
    BOOST_TEST(secs(h.bmc_requests("power-off").front().at, failed->at) >=
               std::chrono::duration<double>(h.cfg().bmc.power_off_timeout).count() - 3);
    BOOST_TEST(h.record().states.availability != avail_state::power_off);
    BOOST_TEST(h.powered());
}

BOOST_AUTO_TEST_CASE(power_on_of_a_host_already_on_sends_no_request) {
    fake_host h;
    h.provision_bmc(/*on=*/true);
    mtce::test::locked_online(h);
    const auto job = h.run_job(job_kind::power_on);
    const bool finished = h.run_until([&] { return h.done(job); }, 1h);
    BOOST_REQUIRE(finished);
    BOOST_TEST(h.bmc_requests("power-on").empty());
    BOOST_TEST(!h.bmc_requests("power?").empty());
    BOOST_TEST(h.task_with("Power-On Completed").has_value());
}

BOOST_AUTO_TEST_CASE(power_on_of_a_powered_off_host_powers_it_on_and_it_boots) {
    fake_host h;
    h.provision_bmc(/*on=*/true);
    mtce::test::locked_online(h);
    h.power_fails();
    h.set_record_states(admin_state::locked, oper_state::disabled, avail_state::power_off);
    const auto job = h.run_job(job_kind::power_on);
    const bool finished = h.run_until([&] { return h.done(job); }, 1h);
    BOOST_TEST_INFO("tasks: " << h.task_history());
    BOOST_REQUIRE(finished);
    BOOST_TEST(h.bmc_requests("power-on").size() == 1U);
    BOOST_TEST(h.task_with("Power-On Completed").has_value());
    BOOST_TEST(h.record().states.availability != avail_state::power_off);
    const bool booted = h.run_until([&] { return h.agent_running(); }, 10min);
    BOOST_TEST(booted);
    BOOST_TEST(h.boots() == 2U);
}

BOOST_AUTO_TEST_CASE(power_cycle_turns_the_host_off_then_on_and_it_boots_again) {
    fake_host h;
    h.provision_bmc(/*on=*/true);
    mtce::test::locked_online(h);
    const auto job = h.run_job(job_kind::power_cycle);
    const bool finished = h.run_until([&] { return h.done(job); }, 1h);
    BOOST_TEST_INFO("tasks: " << h.task_history());
    BOOST_TEST_INFO("bmc: " << h.bmc_history());
    BOOST_REQUIRE(finished);
    BOOST_TEST(h.task_with("Power-Cycle Completed").has_value());
    const bool off_then_on = !h.bmc_requests("power-cycle").empty() ||
                             (!h.bmc_requests("power-off").empty() && !h.bmc_requests("power-on").empty());
    BOOST_TEST(off_then_on);
    const bool booted = h.run_until([&] { return h.boots() == 2U && h.agent_running(); }, 10min);
    BOOST_TEST(booted);
}

BOOST_AUTO_TEST_CASE(reset_of_a_powered_off_host_is_refused) {
    fake_host h;
    h.provision_bmc(/*on=*/true);
    mtce::test::locked_online(h);
    h.power_fails();
    const auto job = h.run_job(job_kind::reset);
    const bool finished = h.run_until([&] { return h.done(job); }, 1h);
    BOOST_TEST_INFO("tasks: " << h.task_history());
    BOOST_REQUIRE(finished);
    BOOST_TEST(h.task_with("Reset Failed: worker-0 is powered off").has_value());
    BOOST_TEST(h.bmc_requests("reset").empty());
    BOOST_TEST(h.record().states.availability == avail_state::power_off);
}

BOOST_AUTO_TEST_CASE(reinstall_boots_the_host_once_from_the_network) {
    fake_host h;
    h.provision_bmc(/*on=*/true);
    mtce::test::locked_online(h);
    const auto job = h.run_job(job_kind::reinstall);
    const bool finished = h.run_until([&] { return h.done(job); }, 2h);
    BOOST_TEST_INFO("tasks: " << h.task_history());
    BOOST_TEST_INFO("bmc: " << h.bmc_history());
    BOOST_REQUIRE(finished);
    BOOST_TEST(h.bmc_requests("network boot").size() == 1U);
    BOOST_TEST(h.network_boots() == 1U);
    BOOST_TEST(h.boots() == 2U);
    BOOST_TEST(h.task_with("Reinstall Completed").has_value());
    BOOST_TEST(idle(h));
}
