#define BOOST_TEST_MODULE fleet_jobs_recover_test
#include "fake_host.hpp"

#include <chrono>
#include <stdexcept>

#include <boost/test/unit_test.hpp>

// Recovery of an enabled host (heartbeat loss, loss of communication, a spontaneous reboot), through the
// host's supervisor, in simulated time.

using namespace std::chrono_literals;
using namespace mtce::fleet;
using mtce::net::command_kind;
using mtce::test::fake_host;

namespace {

bool enabled_available_now(fake_host& h) {
    return mtce::test::settled_in(h, admin_state::unlocked, oper_state::enabled, avail_state::available);
}

double secs(fake_host::time_point from, fake_host::time_point to) {
    return std::chrono::duration<double>(to - from).count();
}

/// An enabled host under its supervisor, past the add's soak.
std::size_t supervised_and_settled(fake_host& h) {
    const auto sup = h.run_supervisor();
    h.run_for(30s);
    BOOST_REQUIRE(enabled_available_now(h));
    return sup;
}

}  // namespace

BOOST_AUTO_TEST_CASE(
    a_heartbeat_loss_of_a_host_that_answers_from_the_same_boot_is_recovered_without_a_reboot) {
    fake_host h;
    mtce::test::enabled_available(h);
    const auto sup = supervised_and_settled(h);
    const auto boot = h.agent_boot_id();
    const auto t0 = h.now();
    h.lose_heartbeat();

    const bool back = h.run_until(
        [&] { return enabled_available_now(h) && h.event_with("gracefully recovered", t0).has_value(); }, 1h);
    BOOST_TEST_INFO("tasks: " << h.task_history());
    BOOST_TEST_INFO("states: " << h.state_history());
    BOOST_REQUIRE(back);
    BOOST_TEST(h.task_with("Graceful Recovery", t0).has_value());
    BOOST_TEST(h.sent(command_kind::mtcalive, t0).size() >= 1U);
    BOOST_TEST(h.sent(command_kind::reboot).empty());
    BOOST_TEST(h.sent(command_kind::reset).empty());
    BOOST_TEST(h.agent_boot_id() == boot);
    BOOST_TEST(!h.reached(oper_state::disabled, avail_state::failed, t0).has_value());
    // Soaked again before it was declared recovered.
    const double soak = std::chrono::duration<double>(h.cfg().controller.heartbeat_soak).count();
    BOOST_TEST(secs(t0, h.event_with("gracefully recovered", t0)->at) >= soak);
    BOOST_TEST(h.record().monitored);
    BOOST_TEST(h.record().task.empty());
    BOOST_TEST(h.running(sup));
}

BOOST_AUTO_TEST_CASE(
    past_the_nest_limit_a_heartbeat_lost_again_during_the_recovery_soak_starts_a_full_enable_at_once) {
    fake_host h;
    h.cfg().controller.recovery_nest_limit = 0;
    mtce::test::enabled_available(h);
    (void)supervised_and_settled(h);
    const auto t0 = h.now();
    h.lose_heartbeat();
    h.lose_heartbeat_at(t0 + 6s);  // during the recovery's soak

    const bool failed =
        h.run_until([&] { return h.task_with("Graceful Recovery Failed", t0).has_value(); }, 1h);
    BOOST_TEST_INFO("tasks: " << h.task_history());
    BOOST_REQUIRE(failed);
    const auto failed_at = h.task_with("Graceful Recovery Failed", t0)->at;
    // The full enable starts at once, not after autorecovery.heartbeat_interval (600 s).
    const bool enabling = h.run_until([&] { return h.task_with("Enabling", failed_at).has_value(); }, 1h);
    BOOST_REQUIRE(enabling);
    BOOST_TEST(secs(failed_at, h.task_with("Enabling", failed_at)->at) < 5.0);
    const bool enabled = h.run_until([&] { return enabled_available_now(h); }, 1h);
    BOOST_REQUIRE(enabled);
    BOOST_TEST(secs(failed_at, h.now()) < 600.0);
}

BOOST_AUTO_TEST_CASE(a_host_that_does_not_answer_after_a_heartbeat_loss_is_failed_and_asked_once_to_reboot) {
    fake_host h;  // no BMC
    mtce::test::enabled_available(h);
    (void)supervised_and_settled(h);
    h.hang();
    const auto t0 = h.now();
    h.lose_heartbeat();

    const bool failed =
        h.run_until([&] { return h.record().states.availability == avail_state::failed; }, 1h);
    BOOST_TEST_INFO("tasks: " << h.task_history());
    BOOST_REQUIRE(failed);
    const double timeout = std::chrono::duration<double>(h.cfg().controller.loss_recovery_timeout).count();
    BOOST_TEST(secs(t0, h.now()) >= timeout);
    BOOST_TEST(secs(t0, h.now()) < timeout + 1);
    BOOST_TEST(h.record().states.administrative == admin_state::unlocked);
    BOOST_TEST(h.record().states.operational == oper_state::disabled);
    BOOST_TEST(h.record().task == "Graceful Recovery Wait");
    h.run_for(2min);
    BOOST_TEST(h.sent(command_kind::reboot, t0).size() == 1U);
}

BOOST_AUTO_TEST_CASE(a_silent_host_with_a_bmc_is_reset_by_it_after_the_reset_delay_then_tested_and_enabled) {
    fake_host h;
    h.provision_bmc(/*on=*/true);
    mtce::test::enabled_available(h);
    (void)supervised_and_settled(h);
    h.hang();  // no acks, no reports, until it boots again
    const auto t0 = h.now();
    h.lose_heartbeat();

    const bool reset = h.run_until([&] { return !h.bmc_requests("reset").empty(); }, 1h);
    BOOST_TEST_INFO("tasks: " << h.task_history());
    BOOST_TEST_INFO("commands: " << h.command_history());
    BOOST_TEST_INFO("bmc: " << h.bmc_history());
    BOOST_REQUIRE(reset);
    const auto reboots = h.sent(command_kind::reboot, t0);
    BOOST_REQUIRE(!reboots.empty());
    BOOST_TEST(h.task_with("Graceful Recovery Wait", t0).has_value());
    const auto reset_at = h.bmc_requests("reset").front().at;
    const double delay = h.cfg().bmc.reset_delay_s;
    BOOST_TEST(secs(reboots.front().at, reset_at) >= delay);
    BOOST_TEST(secs(reboots.front().at, reset_at) < delay + 3);

    const bool enabled = h.run_until([&] { return enabled_available_now(h); }, 1h);
    BOOST_REQUIRE(enabled);
    BOOST_TEST(h.bmc_requests("reset").size() == 1U);
    BOOST_TEST(h.boots() == 2U);
    BOOST_TEST(h.task_with("Testing", reset_at).has_value());
    BOOST_TEST(h.task_with("Enabling Host Services", reset_at).has_value());
}

BOOST_AUTO_TEST_CASE(a_host_whose_bmc_reports_it_off_at_a_loss_of_communication_is_powered_on_not_reset) {
    fake_host h;
    h.provision_bmc(/*on=*/true);
    mtce::test::enabled_available(h);
    (void)supervised_and_settled(h);
    h.power_fails();
    const auto t0 = h.now();
    h.lose_heartbeat();

    const bool enabled = h.run_until(
        [&] {
            return enabled_available_now(h) && h.reached(oper_state::enabled, avail_state::available, t0);
        },
        1h);
    BOOST_TEST_INFO("tasks: " << h.task_history());
    BOOST_TEST_INFO("bmc: " << h.bmc_history());
    BOOST_TEST_INFO("commands: " << h.command_history());
    BOOST_REQUIRE(enabled);
    BOOST_TEST(h.bmc_requests("reset").empty());
    const auto queries = h.bmc_requests("power?", t0);
    const auto power_on = h.bmc_requests("power-on", t0);
    BOOST_REQUIRE(!queries.empty());
    BOOST_REQUIRE_EQUAL(power_on.size(), 1U);
    BOOST_TEST((queries.front().at <= power_on.front().at));
    // Powered on at once, not after the reset delay.
    BOOST_TEST(secs(t0, power_on.front().at) < 30.0);
    BOOST_TEST(h.powered());
}

BOOST_AUTO_TEST_CASE(
    a_spontaneous_reboot_of_an_enabled_host_is_recovered_by_testing_its_new_boot_without_another_reboot) {
    fake_host h;
    h.cfg().heartbeat.period_ms = 1000;  // the loss would be declared after 10 s: the new boot reports first
    h.agent().heartbeat_follows = true;
    h.agent().boot_time = 6s;
    mtce::test::enabled_available(h);
    const auto sup = supervised_and_settled(h);
    const auto old_boot = h.agent_boot_id();
    const auto t0 = h.now();
    h.agent_reboots_spontaneously();

    const bool back = h.run_until(
        [&] { return enabled_available_now(h) && h.reached(oper_state::disabled, avail_state::intest, t0); },
        1h);
    BOOST_TEST_INFO("tasks: " << h.task_history());
    BOOST_TEST_INFO("states: " << h.state_history());
    BOOST_REQUIRE(back);
    BOOST_TEST(h.agent_boot_id() != old_boot);
    BOOST_TEST(h.record().enabled_boot == h.agent_boot_id());
    BOOST_TEST(h.sent(command_kind::reboot).empty());
    BOOST_TEST(h.boots() == 2U);
    // It waited for the new boot's tests and services, then soaked.
    const auto testing = h.task_with("Testing", t0);
    BOOST_REQUIRE(testing.has_value());
    BOOST_TEST(h.task_with("Enabling Host Services", testing->at).has_value());
    BOOST_TEST(h.task_with("Initializing: heartbeat soak", testing->at).has_value());
    const auto enabled_at = h.reached(oper_state::enabled, avail_state::available, t0);
    BOOST_TEST(secs(t0, *enabled_at) >=
               std::chrono::duration<double>(h.agent().boot_time + h.agent().goenabled_time).count());

    // And the supervisor keeps going: a later heartbeat loss is recovered too.
    const auto t1 = h.now();
    h.lose_heartbeat();
    const bool again = h.run_until(
        [&] { return h.event_with("gracefully recovered", t1).has_value() && enabled_available_now(h); }, 1h);
    BOOST_TEST(again);
    BOOST_TEST(h.running(sup));
}

BOOST_AUTO_TEST_CASE(a_job_that_throws_something_unexpected_fails_the_host_and_the_supervisor_retries_it) {
    fake_host h;
    h.provision_bmc(/*on=*/true);
    mtce::test::enabled_available(h);
    const auto sup = supervised_and_settled(h);
    int thrown = 0;
    h.bmc().on_request = [&thrown](bmc_request r) {
        if (r == bmc_request::reset && thrown == 0) {
            ++thrown;
            throw std::runtime_error{"the BMC driver broke"};
        }
    };
    h.hang();
    const auto t0 = h.now();
    h.lose_heartbeat();

    const bool failed = h.run_until(
        [&] {
            return thrown == 1 && h.record().states.availability == avail_state::failed &&
                   h.record().running == job_kind::none;
        },
        1h);
    BOOST_TEST_INFO("tasks: " << h.task_history());
    BOOST_TEST_INFO("bmc: " << h.bmc_history());
    BOOST_REQUIRE(failed);
    BOOST_TEST(h.running(sup));
    BOOST_TEST(h.record().task.find("the BMC driver broke") != std::string::npos);
    const auto failed_at = h.now();

    // Retried: the host, still hung, is rebooted or reset again, comes back and is enabled.
    const bool enabled = h.run_until([&] { return enabled_available_now(h); }, 2h);
    BOOST_TEST_INFO("tasks: " << h.task_history());
    BOOST_TEST_INFO("error: " << h.error_text(sup));
    BOOST_REQUIRE(enabled);
    BOOST_TEST(h.task_with("Enabling", failed_at).has_value());
    BOOST_TEST_INFO("bmc: " << h.bmc_history() << " commands: " << h.command_history());
    BOOST_TEST(h.bmc_requests("reset").size() == 2U);  // the one that threw, and the retry's
    BOOST_TEST((h.bmc_requests("reset").back().at > failed_at));
    BOOST_TEST(h.running(sup));
    BOOST_TEST(secs(t0, h.now()) < 7200.0);
}
