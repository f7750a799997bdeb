#define BOOST_TEST_MODULE fleet_jobs_policy_test
#include "fake_host.hpp"

#include <algorithm>
#include <chrono>

#include <boost/test/unit_test.hpp>

// The failure policies as the jobs carry them out, in simulated time: auto-recovery limits, nested graceful
// recoveries, and a host coming back after a site's power loss (Dead Office Recovery).

using namespace std::chrono_literals;
using namespace mtce::fleet;
using mtce::net::command_kind;
using mtce::test::fake_host;

namespace {

std::size_t count_tasks(const fake_host& h, std::string_view text) {
    std::size_t n = 0;
    for (const auto& t : h.tasks()) {
        n += t.text.find(text) == 0 ? 1 : 0;
    }
    return n;
}

/// An unlocked host whose self-tests always fail, under its supervisor until its auto-recovery is disabled;
/// returns the supervisor.
std::size_t failing_until_disabled(fake_host& h) {
    h.agent().goenabled_pass = false;
    h.set_record_states(admin_state::unlocked, oper_state::disabled, avail_state::failed);
    h.agent_up(5min, /*locked=*/false);
    const auto sup = h.run_supervisor();
    const bool disabled =
        h.run_until([&] { return h.record().auto_recovery_disabled(h.cfg().autorecovery.threshold); }, 2h);
    BOOST_TEST_INFO("tasks: " << h.task_history());
    BOOST_REQUIRE(disabled);
    return sup;
}

/// A host that lost power with the whole site: unlocked-enabled in the inventory, booting, and a controller
/// that just started with a Dead Office Recovery window of `window`.
void site_lost_power(fake_host& h, std::chrono::milliseconds back_in, std::chrono::milliseconds window) {
    mtce::test::enabled_available(h);
    h.agent_boots_in(back_in);
    h.controller_restarts();
    h.open_dor(h.now() + window);
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------
// Auto-recovery limits

BOOST_AUTO_TEST_CASE(a_self_test_that_always_fails_disables_auto_recovery_at_the_third_failure) {
    fake_host h;
    const auto sup = failing_until_disabled(h);
    auto goenabled_failures = [&h] {
        return std::count_if(h.enables().begin(), h.enables().end(),
                             [](const auto& e) { return e.cause == failure_cause::goenabled; });
    };
    BOOST_TEST(goenabled_failures() == 3);
    BOOST_TEST(h.record().task == "In-Test Failure, threshold reached, Lock/Unlock to retry");
    BOOST_TEST(h.event_with("auto-recovery disabled after 3 goenabled failures").has_value());
    BOOST_TEST((h.record().states.availability == avail_state::failed));
    BOOST_TEST(!h.record().retry_at.has_value());
    // Nothing more is tried on its own: no more tests, no more reboots.
    const auto boots = h.boots();
    h.run_for(3h);
    BOOST_TEST(goenabled_failures() == 3);
    BOOST_TEST(h.boots() == boots);
    BOOST_TEST(h.running(sup));
    BOOST_TEST(h.record().failure_counts.at(failure_cause::goenabled) == 3U);
}

BOOST_AUTO_TEST_CASE(auto_recovery_disabled_survives_a_controller_restart) {
    fake_host h;
    (void)failing_until_disabled(h);
    h.controller_restarts();  // the counts are in the inventory
    const auto t0 = h.now();
    (void)h.run_supervisor();
    h.run_for(2h);
    BOOST_TEST(!h.task_with("Testing", t0).has_value());
    BOOST_TEST(h.record().auto_recovery_disabled(h.cfg().autorecovery.threshold));
}

BOOST_AUTO_TEST_CASE(lock_and_unlock_of_a_host_whose_auto_recovery_is_disabled_tries_again) {
    fake_host h;
    (void)failing_until_disabled(h);
    h.request(host_action::lock);
    BOOST_REQUIRE(
        h.run_until([&] { return h.record().locked() && h.record().running == job_kind::none; }, 1h));
    BOOST_TEST(h.record().failure_counts.empty());
    BOOST_TEST(!h.record().auto_recovery_disabled(h.cfg().autorecovery.threshold));
    h.agent().goenabled_pass = true;  // repaired meanwhile
    h.request(host_action::unlock);
    const bool enabled = h.run_until([&] { return mtce::test::enabled_available_now(h); }, 2h);
    BOOST_TEST_INFO("tasks: " << h.task_history());
    BOOST_TEST(enabled);
}

BOOST_AUTO_TEST_CASE(a_one_time_failure_recovers_on_retry_and_its_count_is_cleared) {
    fake_host h;
    h.agent().goenabled_pass = false;
    h.set_record_states(admin_state::unlocked, oper_state::disabled, avail_state::failed);
    h.agent_up(5min, /*locked=*/false);
    h.on_boot([&h] { h.agent().goenabled_pass = h.boots() > 2; });  // passes from its next boot on
    (void)h.run_supervisor();
    const bool enabled = h.run_until([&] { return mtce::test::enabled_available_now(h); }, 2h);
    BOOST_TEST_INFO("tasks: " << h.task_history());
    BOOST_REQUIRE(enabled);
    BOOST_TEST(count_tasks(h, "In-Test Failed") >= 1U);
    BOOST_TEST(h.record().failure_counts.empty());
}

BOOST_AUTO_TEST_CASE(boot_failures_are_retried_for_as_long_as_it_takes) {
    fake_host h;  // no BMC, never boots
    h.cfg().controller.worker_boot_timeout = 60s;
    h.set_record_states(admin_state::unlocked, oper_state::disabled, avail_state::offline);
    h.agent_down();
    (void)h.run_supervisor();
    h.run_for(30min);
    BOOST_TEST(count_tasks(h, "Boot Failed") >= 5U);
    BOOST_TEST(!h.record().auto_recovery_disabled(h.cfg().autorecovery.threshold));
}

// ---------------------------------------------------------------------------------------------------------
// Graceful recovery nesting

BOOST_AUTO_TEST_CASE(up_to_the_nest_limit_a_flapping_heartbeat_is_recovered_gracefully_and_then_in_full) {
    fake_host h;
    mtce::test::enabled_available(h);
    (void)h.run_supervisor();
    h.run_for(30s);
    BOOST_REQUIRE(mtce::test::enabled_available_now(h));
    const auto boot = h.agent_boot_id();
    const auto t0 = h.now();
    // The heartbeat is lost, and lost again during each recovery's soak: 1 + 5 nests, then a 6th loss.
    h.lose_heartbeat();
    for (int i = 0; i < 6; ++i) {
        h.lose_heartbeat_at(t0 + 8s + i * 8s);
    }
    const bool failed =
        h.run_until([&] { return h.task_with("Graceful Recovery Failed", t0).has_value(); }, 1h);
    BOOST_TEST_INFO("tasks: " << h.task_history());
    BOOST_REQUIRE(failed);
    BOOST_TEST(h.task_with("Graceful Recovery (nest 5 of 5)", t0).has_value());
    BOOST_TEST(!h.task_with("nest 6", t0).has_value());
    BOOST_TEST(h.agent_boot_id() == boot);  // no reboot while nesting
    BOOST_TEST(h.task_with("heartbeat lost again 6 times in a row", t0).has_value());
    // Then a full enable, at once.
    const bool enabled = h.run_until([&] { return mtce::test::enabled_available_now(h); }, 1h);
    BOOST_TEST(enabled);
}

BOOST_AUTO_TEST_CASE(a_loss_during_one_nest_only_recovers_gracefully_again) {
    fake_host h;
    mtce::test::enabled_available(h);
    (void)h.run_supervisor();
    h.run_for(30s);
    const auto boot = h.agent_boot_id();
    const auto t0 = h.now();
    h.lose_heartbeat();
    h.lose_heartbeat_at(t0 + 8s);
    const bool back = h.run_until(
        [&] {
            return mtce::test::enabled_available_now(h) &&
                   h.event_with("gracefully recovered", t0).has_value();
        },
        1h);
    BOOST_TEST_INFO("tasks: " << h.task_history());
    BOOST_REQUIRE(back);
    BOOST_TEST(h.event_with("after 1 nested recoveries", t0).has_value());
    BOOST_TEST(h.agent_boot_id() == boot);
    BOOST_TEST(!h.reached(oper_state::disabled, avail_state::failed, t0).has_value());
}

// ---------------------------------------------------------------------------------------------------------
// Dead Office Recovery

BOOST_AUTO_TEST_CASE(after_a_power_loss_a_late_host_is_awaited_not_failed_or_rebooted_and_checks_in) {
    fake_host h;
    h.provision_bmc(/*on=*/true);
    site_lost_power(h, /*back_in=*/45s, /*window=*/120s);
    const auto t0 = h.now();
    (void)h.run_supervisor();

    const bool enabled =
        h.run_until([&] { return mtce::test::enabled_available_now(h) && !h.dor_check_ins().empty(); }, 1h);
    BOOST_TEST_INFO("tasks: " << h.task_history());
    BOOST_TEST_INFO("states: " << h.state_history());
    BOOST_TEST_INFO("commands: " << h.command_history());
    BOOST_REQUIRE(enabled);
    BOOST_TEST(h.task_with("Dead Office Recovery: waiting for the host", t0).has_value());
    BOOST_TEST(h.sent(command_kind::reboot).empty());
    BOOST_TEST(h.sent(command_kind::reset).empty());
    BOOST_TEST(h.bmc_requests("reset").empty());
    BOOST_TEST(h.boots() == 2U);
    BOOST_TEST(!h.reached(oper_state::disabled, avail_state::failed, t0).has_value());
    BOOST_TEST(h.dor_check_ins().size() == 1U);
    BOOST_TEST(h.dor_check_ins()[0].recovered);
    // Back at 45 s, its self-tests (30 s) and services (20 s) on its own, then the soak: nothing waits
    // longer.
    const double soak = std::chrono::duration<double>(h.cfg().controller.heartbeat_soak).count();
    BOOST_TEST(h.seconds(h.dor_check_ins()[0].at) - h.seconds(t0) <= 45.0 + 30.0 + 20.0 + soak + 6.0);
}

BOOST_AUTO_TEST_CASE(after_a_power_loss_a_host_its_bmc_reports_off_is_powered_on) {
    fake_host h;
    h.provision_bmc(/*on=*/true);
    mtce::test::enabled_available(h);
    h.power_fails();
    h.controller_restarts();
    h.open_dor(h.now() + 200s);
    (void)h.run_supervisor();
    const bool enabled = h.run_until([&] { return mtce::test::enabled_available_now(h); }, 1h);
    BOOST_TEST_INFO("tasks: " << h.task_history());
    BOOST_TEST_INFO("bmc: " << h.bmc_history());
    BOOST_REQUIRE(enabled);
    BOOST_TEST(h.bmc_requests("power-on").size() == 1U);
    BOOST_TEST(h.bmc_requests("reset").empty());
    BOOST_TEST(h.event_with("powered on by its BMC").has_value());
}

BOOST_AUTO_TEST_CASE(a_host_not_back_when_the_window_closes_falls_to_the_usual_rules) {
    fake_host h;  // no BMC
    site_lost_power(h, /*back_in=*/10min, /*window=*/30s);
    const auto t0 = h.now();
    (void)h.run_supervisor();
    const bool failed =
        h.run_until([&] { return h.record().states.availability == avail_state::failed; }, 1h);
    BOOST_TEST_INFO("tasks: " << h.task_history());
    BOOST_REQUIRE(failed);
    BOOST_TEST(h.seconds(h.now()) - h.seconds(t0) >= 30.0);  // not before the window closed
    BOOST_TEST(h.record().task.find("Dead Office Recovery Timeout") == 0U);
    // It comes back later and is enabled as any failed host.
    const bool enabled = h.run_until([&] { return mtce::test::enabled_available_now(h); }, 2h);
    BOOST_TEST(enabled);
}

BOOST_AUTO_TEST_CASE(a_host_that_did_not_lose_power_stays_enabled_and_checks_in_after_its_soak) {
    fake_host h;
    mtce::test::enabled_available(h);  // up for hours: only the controller restarted
    h.controller_restarts();
    h.open_dor(h.now() + 60s);
    const auto t0 = h.now();
    (void)h.run_supervisor();
    const bool in = h.run_until([&] { return !h.dor_check_ins().empty(); }, 1h);
    BOOST_REQUIRE(in);
    BOOST_TEST(!h.reached(oper_state::disabled, avail_state::intest, t0).has_value());
    BOOST_TEST(!h.reached(oper_state::disabled, avail_state::failed, t0).has_value());
    BOOST_TEST(h.boots() == 1U);
    BOOST_TEST(mtce::test::enabled_available_now(h));
}

BOOST_AUTO_TEST_CASE(an_all_in_one_controller_with_a_slow_subfunction_gets_no_false_configuration_error) {
    fake_host h{"controller-1", mtce::role::controller, /*subfunction=*/true};
    h.agent().subf_config_time = 8min;  // its worker configuration takes long after the power loss
    site_lost_power(h, /*back_in=*/60s, /*window=*/20min);
    const auto t0 = h.now();
    (void)h.run_supervisor();
    const bool both = h.run_until(
        [&] {
            return mtce::test::enabled_available_now(h) &&
                   h.record().states.subfunction_operational == oper_state::enabled &&
                   !h.dor_check_ins().empty();
        },
        2h);
    BOOST_TEST_INFO("tasks: " << h.task_history());
    BOOST_TEST_INFO("states: " << h.state_history());
    BOOST_REQUIRE(both);
    BOOST_TEST(!h.task_with("Worker Configuration", t0).has_value());
    BOOST_TEST(!h.reached(oper_state::disabled, avail_state::failed, t0).has_value());
    BOOST_REQUIRE(h.dor_check_ins().size() == 1U);
    // It is back once its subfunction is, not before.
    BOOST_TEST(h.seconds(h.dor_check_ins()[0].at) - h.seconds(t0) >= 60.0 + 8 * 60.0);
}

BOOST_AUTO_TEST_CASE(a_real_subfunction_configuration_error_after_a_power_loss_is_still_reported) {
    fake_host h{"controller-1", mtce::role::controller, /*subfunction=*/true};
    h.agent().subf_config_time.reset();  // never configured: the host gives up and says why
    h.cfg().host.subfunction_config_timeout = 5min;
    h.cfg().controller.subfunction_config_timeout = 6min;
    site_lost_power(h, /*back_in=*/60s, /*window=*/20min);
    const auto t0 = h.now();
    (void)h.run_supervisor();
    const bool reported = h.run_until(
        [&] {
            return h.task_with("Worker", t0).has_value() &&
                   h.record().states.availability == avail_state::failed;
        },
        2h);
    BOOST_TEST_INFO("tasks: " << h.task_history());
    BOOST_REQUIRE(reported);
    BOOST_REQUIRE(!h.dor_check_ins().empty());
    BOOST_TEST(!h.dor_check_ins()[0].recovered);
}

// ---------------------------------------------------------------------------------------------------------
// In-service health

BOOST_AUTO_TEST_CASE(a_configuration_failure_reported_in_service_fails_the_host_after_three_reports) {
    fake_host h;
    mtce::test::enabled_available(h);
    (void)h.run_supervisor();
    h.run_for(30s);
    BOOST_REQUIRE(mtce::test::enabled_available_now(h));
    const auto t0 = h.now();
    h.agent().healthy = false;  // its platform configuration failed
    const bool failed =
        h.run_until([&] { return h.record().states.availability == avail_state::failed; }, 1h);
    BOOST_TEST_INFO("tasks: " << h.task_history());
    BOOST_REQUIRE(failed);
    const double period = std::chrono::duration<double>(h.cfg().host.mtcalive_period).count();
    BOOST_TEST(h.seconds(h.now()) - h.seconds(t0) >= 2 * period);  // the third report, not the first
    BOOST_TEST(h.record().task.find("Configuration Failed in service") == 0U);
    BOOST_TEST((h.record().cause == failure_cause::config));
    BOOST_TEST(h.record().failure_counts.at(failure_cause::config) == 1U);
}

BOOST_AUTO_TEST_CASE(this_controllers_configuration_failure_in_service_degrades_it_and_clears_when_healthy) {
    fake_host h{"controller-0", mtce::role::controller};
    h.record().self = true;
    mtce::test::enabled_available(h);
    (void)h.run_supervisor();
    h.run_for(30s);
    h.agent().healthy = false;
    const bool degraded =
        h.run_until([&] { return h.record().states.availability == avail_state::degraded; }, 1h);
    BOOST_REQUIRE(degraded);
    BOOST_TEST((h.record().degrade_mask & degrade::config_failure) != 0U);
    BOOST_TEST(h.record().enabled());
    h.agent().healthy = true;
    const bool healthy = h.run_until([&] { return mtce::test::enabled_available_now(h); }, 1h);
    BOOST_TEST(healthy);
}

BOOST_AUTO_TEST_CASE(after_a_power_loss_a_failed_host_its_bmc_reports_off_is_powered_on_at_once) {
    fake_host h;
    h.provision_bmc(/*on=*/true);
    h.set_record_states(admin_state::unlocked, oper_state::disabled, avail_state::failed);
    h.agent_up(5min, /*locked=*/false);
    h.power_fails();
    h.controller_restarts();
    h.open_dor(h.now() + 200s);
    const auto t0 = h.now();
    (void)h.run_supervisor();
    const bool enabled = h.run_until([&] { return mtce::test::enabled_available_now(h); }, 1h);
    BOOST_TEST_INFO("tasks: " << h.task_history());
    BOOST_TEST_INFO("bmc: " << h.bmc_history());
    BOOST_REQUIRE(enabled);
    BOOST_REQUIRE(h.bmc_requests("power-on").size() == 1U);
    BOOST_TEST(h.seconds(h.bmc_requests("power-on")[0].at) - h.seconds(t0) <
               30.0);  // not after a boot timeout
    BOOST_TEST(h.sent(command_kind::reboot).empty());
}

BOOST_AUTO_TEST_CASE(this_controller_checks_in_after_a_power_loss_once_its_own_tests_and_services_pass) {
    fake_host h{"controller-0", mtce::role::controller};
    h.record().self = true;
    site_lost_power(h, /*back_in=*/0s, /*window=*/120s);
    const auto t0 = h.now();
    (void)h.run_supervisor();
    const bool in = h.run_until([&] { return !h.dor_check_ins().empty(); }, 1h);
    BOOST_TEST_INFO("tasks: " << h.task_history());
    BOOST_REQUIRE(in);
    BOOST_TEST(h.dor_check_ins()[0].recovered);
    // Its agent's self-tests (30 s) and host services (20 s) come first.
    BOOST_TEST(h.seconds(h.dor_check_ins()[0].at) - h.seconds(t0) >= 50.0);
    BOOST_TEST(h.record().task.empty());
    BOOST_TEST(h.task_with("Dead Office Recovery: host services", t0).has_value());
    BOOST_TEST(!h.reached(oper_state::disabled, avail_state::failed, t0).has_value());
}
