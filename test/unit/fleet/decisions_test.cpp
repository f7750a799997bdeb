#define BOOST_TEST_MODULE fleet_decisions_test
#include "fleet/decisions.hpp"

#include <ostream>

#include <boost/test/unit_test.hpp>

#include "net/message.hpp"

namespace mtce::fleet {
// Boost.Test prints the values of failed comparisons.
std::ostream& operator<<(std::ostream& o, admin_state s) {
    return o << to_string(s);
}
std::ostream& operator<<(std::ostream& o, avail_state s) {
    return o << to_string(s);
}
std::ostream& operator<<(std::ostream& o, job_kind k) {
    return o << to_string(k);
}
}  // namespace mtce::fleet
namespace mtce::net {
std::ostream& operator<<(std::ostream& o, command_kind k) {
    return o << to_string(k);
}
}  // namespace mtce::net

using namespace mtce::fleet;
using namespace std::chrono_literals;
namespace f = mtce::net::alive_flags;
using mtce::role;

namespace {

admission_view worker(admin_state admin, oper_state oper = oper_state::disabled) {
    return {"worker-0", admin, oper, role::worker, false, false, host_action::none};
}

host_states states(admin_state a, oper_state o, avail_state v) {
    host_states s;
    s.administrative = a;
    s.operational = o;
    s.availability = v;
    return s;
}

mtce::net::alive_report alive(std::uint32_t flags, std::string failure = {}) {
    mtce::net::alive_report r;
    r.hostname = "worker-0";
    r.flags = flags;
    r.failure = std::move(failure);
    return r;
}

}  // namespace

BOOST_AUTO_TEST_CASE(an_unlocked_host_cannot_be_unlocked_again) {
    const auto why = refusal(worker(admin_state::unlocked), host_action::unlock, {});
    BOOST_REQUIRE(why.has_value());
    BOOST_TEST(*why == "host is already unlocked");
    BOOST_TEST(!refusal(worker(admin_state::locked), host_action::unlock, {}).has_value());
}

BOOST_AUTO_TEST_CASE(a_locked_host_cannot_be_locked_or_force_locked_again) {
    BOOST_TEST(*refusal(worker(admin_state::locked), host_action::lock, {}) == "host is already locked");
    BOOST_TEST(*refusal(worker(admin_state::locked), host_action::force_lock, {}) ==
               "host is already locked");
    BOOST_TEST(
        !refusal(worker(admin_state::unlocked, oper_state::enabled), host_action::lock, {}).has_value());
}

BOOST_AUTO_TEST_CASE(the_only_enabled_controller_cannot_be_locked) {
    admission_view c{"controller-1", admin_state::unlocked, oper_state::enabled, role::controller, false,
                     false,          host_action::none};
    BOOST_TEST(*refusal(c, host_action::lock, {1}) == "it is the only enabled controller");
    BOOST_TEST(*refusal(c, host_action::force_lock, {1}) == "it is the only enabled controller");
    BOOST_TEST(!refusal(c, host_action::lock, {2}).has_value());
    c.operational = oper_state::disabled;  // a disabled controller is not what keeps the cluster running
    BOOST_TEST(!refusal(c, host_action::lock, {1}).has_value());
}

BOOST_AUTO_TEST_CASE(the_active_controller_cannot_lock_reboot_or_delete_itself) {
    admission_view self{"controller-0", admin_state::unlocked, oper_state::enabled, role::controller, true,
                        false,          host_action::none};
    BOOST_TEST(refusal(self, host_action::lock, {2}).has_value());
    BOOST_TEST(refusal(self, host_action::force_lock, {2}).has_value());
    self.administrative = admin_state::locked;
    BOOST_TEST(refusal(self, host_action::reboot, {}).has_value());
    BOOST_TEST(refusal(self, host_action::remove, {}).has_value());
    BOOST_TEST(!refusal(self, host_action::unlock, {}).has_value());
}

BOOST_AUTO_TEST_CASE(reboot_reset_and_delete_need_a_locked_host) {
    for (auto a : {host_action::reboot, host_action::reset, host_action::remove}) {
        BOOST_TEST(*refusal(worker(admin_state::unlocked, oper_state::enabled), a, {}) ==
                   "host is unlocked; lock it first");
        BOOST_TEST(!refusal(worker(admin_state::locked), a, {}).has_value());
    }
}

BOOST_AUTO_TEST_CASE(bmc_actions_need_a_bmc_and_a_locked_host) {
    BOOST_TEST(*refusal(worker(admin_state::locked), host_action::power_on, {}) ==
               "host has no BMC provisioned");
    auto with_bmc = worker(admin_state::locked);
    with_bmc.has_bmc = true;
    for (auto a :
         {host_action::power_on, host_action::power_off, host_action::power_cycle, host_action::reinstall}) {
        BOOST_TEST(!refusal(with_bmc, a, {}).has_value());
    }
    with_bmc.administrative = admin_state::unlocked;
    BOOST_TEST(*refusal(with_bmc, host_action::power_off, {}) == "host is unlocked; lock it first");
}

BOOST_AUTO_TEST_CASE(bmc_requests_become_their_jobs) {
    plan_input in;
    in.states = states(admin_state::locked, oper_state::disabled, avail_state::online);
    for (const auto& [a, j] : {std::pair{host_action::power_on, job_kind::power_on},
                               std::pair{host_action::power_off, job_kind::power_off},
                               std::pair{host_action::power_cycle, job_kind::power_cycle},
                               std::pair{host_action::reinstall, job_kind::reinstall}}) {
        in.request = a;
        BOOST_TEST(next_job(in).job == j);
    }
}

BOOST_AUTO_TEST_CASE(nothing_is_accepted_for_a_host_being_deleted) {
    auto h = worker(admin_state::locked);
    h.in_progress = host_action::remove;
    BOOST_TEST(*refusal(h, host_action::unlock, {}) == "host is being deleted");
}

BOOST_AUTO_TEST_CASE(lock_and_unlock_change_the_administrative_state_at_once) {
    BOOST_TEST(admin_after(admin_state::unlocked, host_action::lock) == admin_state::locked);
    BOOST_TEST(admin_after(admin_state::unlocked, host_action::force_lock) == admin_state::locked);
    BOOST_TEST(admin_after(admin_state::locked, host_action::unlock) == admin_state::unlocked);
    BOOST_TEST(admin_after(admin_state::locked, host_action::reboot) == admin_state::locked);
}

BOOST_AUTO_TEST_CASE(adding_and_force_lock_are_never_interrupted) {
    BOOST_TEST(!preempted_by(job_kind::add, host_action::lock));
    BOOST_TEST(!preempted_by(job_kind::force_lock, host_action::unlock));
    BOOST_TEST(preempted_by(job_kind::enable, host_action::lock));
    BOOST_TEST(preempted_by(job_kind::lock, host_action::unlock));
    BOOST_TEST(preempted_by(job_kind::recover, host_action::force_lock));
    BOOST_TEST(!preempted_by(job_kind::enable, host_action::none));
}

BOOST_AUTO_TEST_CASE(only_the_power_reset_and_reinstall_jobs_hold_the_bmc) {
    for (const auto k : {job_kind::reset, job_kind::power_on, job_kind::power_off, job_kind::power_cycle,
                         job_kind::reinstall}) {
        BOOST_TEST(works_the_bmc(k), to_string(k));
    }
    for (const auto k : {job_kind::none, job_kind::add, job_kind::enable, job_kind::enable_subfunction,
                         job_kind::recover, job_kind::lock, job_kind::force_lock, job_kind::reboot}) {
        BOOST_TEST(!works_the_bmc(k), to_string(k));
    }
}

BOOST_AUTO_TEST_CASE(the_bmc_is_held_by_a_bmc_job_running_or_requested_but_not_while_it_shows_its_outcome) {
    BOOST_TEST(bmc_holder(job_kind::power_off, false, std::nullopt) == job_kind::power_off);
    BOOST_TEST(bmc_holder(job_kind::power_off, true, std::nullopt) == job_kind::none);
    BOOST_TEST(bmc_holder(job_kind::none, false, host_action::reinstall) == job_kind::reinstall);
    BOOST_TEST(bmc_holder(job_kind::power_off, true, host_action::power_on) == job_kind::power_on);
    BOOST_TEST(bmc_holder(job_kind::enable, false, host_action::lock) == job_kind::none);
    BOOST_TEST(bmc_holder(job_kind::none, false, std::nullopt) == job_kind::none);
}

BOOST_AUTO_TEST_CASE(a_request_comes_before_anything_the_state_asks_for) {
    plan_input in;
    in.states = states(admin_state::unlocked, oper_state::enabled, avail_state::available);
    in.recovery_due = true;
    in.request = host_action::lock;
    BOOST_TEST(next_job(in).job == job_kind::lock);
    in.request = host_action::unlock;
    BOOST_TEST(next_job(in).job == job_kind::enable);
    in.request.reset();
    BOOST_TEST(next_job(in).job == job_kind::recover);
}

BOOST_AUTO_TEST_CASE(a_failed_host_is_enabled_again_once_its_retry_is_due) {
    const auto now = time_point{} + 100s;
    plan_input in;
    in.now = now;
    in.states = states(admin_state::unlocked, oper_state::disabled, avail_state::failed);
    in.retry_at = now + 30s;
    const auto p = next_job(in);
    BOOST_TEST(p.job == job_kind::none);
    BOOST_REQUIRE(p.wake_at.has_value());
    BOOST_TEST(p.wake_at->time_since_epoch().count() == in.retry_at->time_since_epoch().count());
    in.now = now + 30s;
    BOOST_TEST(next_job(in).job == job_kind::enable);
    in.retry_at.reset();  // after a controller restart
    BOOST_TEST(next_job(in).job == job_kind::enable);
}

BOOST_AUTO_TEST_CASE(a_locked_host_has_nothing_to_do) {
    plan_input in;
    in.states = states(admin_state::locked, oper_state::disabled, avail_state::online);
    in.recovery_due = true;
    BOOST_TEST(next_job(in).job == job_kind::none);
    BOOST_TEST(!next_job(in).wake_at.has_value());
}

BOOST_AUTO_TEST_CASE(a_disabled_subfunction_of_an_enabled_host_is_enabled_when_due) {
    plan_input in;
    in.states = states(admin_state::unlocked, oper_state::enabled, avail_state::available);
    in.has_subfunction = true;
    in.states.subfunction_operational = oper_state::disabled;
    BOOST_TEST(next_job(in).job == job_kind::enable_subfunction);
    in.subfunction_retry_at = in.now + 5s;
    BOOST_TEST(next_job(in).job == job_kind::none);
    in.states.subfunction_operational = oper_state::enabled;
    BOOST_TEST(next_job(in).job == job_kind::none);
}

BOOST_AUTO_TEST_CASE(each_cause_has_its_own_retry_interval) {
    mtce::autorecovery_config c;
    c.goenabled_interval = 7s;
    c.heartbeat_interval = 600s;
    BOOST_TEST(retry_interval(failure_cause::goenabled, c).count() == 7000);
    BOOST_TEST(retry_interval(failure_cause::heartbeat, c).count() == 600000);
    BOOST_TEST(retry_interval(failure_cause::none, c).count() == 0);
}

BOOST_AUTO_TEST_CASE(a_luks_failure_retries_as_a_config_failure_and_a_subfunction_failure_as_a_self_test) {
    mtce::autorecovery_config c;
    c.config_interval = 11s;
    c.goenabled_interval = 7s;
    BOOST_TEST(retry_interval(failure_cause::luks, c).count() == 11000);
    BOOST_TEST(retry_interval(failure_cause::subfunction, c).count() == 7000);
}

BOOST_AUTO_TEST_CASE(every_failure_cause_has_a_name_that_parses_back) {
    for (const auto cause :
         {failure_cause::none, failure_cause::config, failure_cause::goenabled, failure_cause::services,
          failure_cause::heartbeat, failure_cause::boot, failure_cause::luks, failure_cause::subfunction}) {
        const auto name = mtce::fleet::to_string(cause);
        BOOST_TEST((name != "unknown"));
        BOOST_TEST((mtce::fleet::parse_failure_cause(name) == cause), name);
    }
    BOOST_TEST((mtce::fleet::to_string(failure_cause::luks) == "luks"));
    BOOST_TEST((mtce::fleet::to_string(failure_cause::subfunction) == "subfunction"));
}

BOOST_AUTO_TEST_CASE(a_failed_self_test_is_named_by_the_host) {
    const auto v = judge_goenabled(alive(f::configured | f::not_healthy | f::main_goenabled_failed,
                                         "/etc/mtce/goenabled.d/20-memory: exited with status 1"),
                                   false);
    BOOST_TEST(static_cast<int>(v.result) == static_cast<int>(step::failed));
    BOOST_TEST(v.reason == "/etc/mtce/goenabled.d/20-memory: exited with status 1");
    // A self-test failure is not a configuration failure.
    BOOST_TEST(static_cast<int>(
                   judge_config(alive(f::configured | f::not_healthy | f::main_goenabled_failed)).result) ==
               static_cast<int>(step::passed));
}

BOOST_AUTO_TEST_CASE(self_tests_and_services_are_pending_until_reported) {
    BOOST_TEST(static_cast<int>(judge_goenabled(alive(f::configured), false).result) ==
               static_cast<int>(step::pending));
    BOOST_TEST(static_cast<int>(judge_goenabled(alive(f::configured | f::main_goenabled), false).result) ==
               static_cast<int>(step::passed));
    BOOST_TEST(static_cast<int>(judge_services(alive(f::configured | f::main_goenabled), false).result) ==
               static_cast<int>(step::pending));
    BOOST_TEST(static_cast<int>(judge_services(alive(f::main_services_started), false).result) ==
               static_cast<int>(step::passed));
    BOOST_TEST(
        static_cast<int>(judge_services(alive(f::main_services_failed, "x: exited 3"), false).result) ==
        static_cast<int>(step::failed));
    // The subfunction's bits are its own.
    BOOST_TEST(static_cast<int>(judge_goenabled(alive(f::main_goenabled), true).result) ==
               static_cast<int>(step::pending));
    BOOST_TEST(static_cast<int>(judge_goenabled(alive(f::subf_goenabled_failed), true).result) ==
               static_cast<int>(step::failed));
    BOOST_TEST(static_cast<int>(judge_services(alive(f::subf_services_started), true).result) ==
               static_cast<int>(step::passed));
}

BOOST_AUTO_TEST_CASE(configuration_failures_are_recognised) {
    BOOST_TEST(static_cast<int>(judge_config(alive(0)).result) == static_cast<int>(step::pending));
    BOOST_TEST(static_cast<int>(judge_config(alive(f::healthy)).result) == static_cast<int>(step::failed));
    BOOST_TEST(static_cast<int>(judge_config(alive(f::configured | f::not_healthy)).result) ==
               static_cast<int>(step::failed));
    BOOST_TEST(static_cast<int>(judge_config(alive(f::configured | f::luks_failed)).result) ==
               static_cast<int>(step::failed));
    BOOST_TEST(static_cast<int>(judge_config(alive(f::configured | f::healthy)).result) ==
               static_cast<int>(step::passed));
    BOOST_TEST(static_cast<int>(judge_subfunction_config(alive(f::configured)).result) ==
               static_cast<int>(step::pending));
    BOOST_TEST(static_cast<int>(judge_subfunction_config(alive(f::subf_configured)).result) ==
               static_cast<int>(step::passed));
}

BOOST_AUTO_TEST_CASE(an_unlock_reboots_only_a_running_host_that_did_not_just_boot) {
    BOOST_TEST(unlock_needs_reboot(true, 600, 120s));
    BOOST_TEST(!unlock_needs_reboot(true, 30, 120s));
    BOOST_TEST(!unlock_needs_reboot(false, 600, 120s));
    BOOST_TEST(unlock_needs_reboot(true, 0, 0s));
}

BOOST_AUTO_TEST_CASE(an_enabled_host_is_degraded_while_a_cause_is_set) {
    BOOST_TEST(alive_degrade(f::configured | f::healthy) == 0U);
    BOOST_TEST(alive_degrade(f::main_services_failed) == degrade::failure_flag);
    BOOST_TEST(alive_degrade(f::sm_degraded | f::subf_goenabled_failed) ==
               (degrade::failure_flag | degrade::service_manager));
    BOOST_TEST(in_service_availability(0) == avail_state::available);
    BOOST_TEST(in_service_availability(degrade::heartbeat_cluster) == avail_state::degraded);
    BOOST_TEST(heartbeat_degrade_bit(mtce::heartbeat::network::cluster) == degrade::heartbeat_cluster);
    BOOST_TEST((degrade_names(degrade::heartbeat_mgmt | degrade::failure_flag) ==
                std::vector<std::string>{"heartbeat-mgmt", "failure-flag"}));
}

BOOST_AUTO_TEST_CASE(an_idle_locked_or_disabled_host_goes_offline_and_online_with_its_mtcalive) {
    const auto locked_online = states(admin_state::locked, oper_state::disabled, avail_state::online);
    BOOST_TEST(*idle_availability(locked_online, false) == avail_state::offline);
    BOOST_TEST(*idle_availability(locked_online, true) == avail_state::online);
    const auto unlocked_offline = states(admin_state::unlocked, oper_state::disabled, avail_state::offline);
    BOOST_TEST(*idle_availability(unlocked_offline, true) == avail_state::online);
    // Failed, enabled and powered-off hosts keep what they have.
    BOOST_TEST(
        !idle_availability(states(admin_state::unlocked, oper_state::disabled, avail_state::failed), true));
    BOOST_TEST(!idle_availability(states(admin_state::unlocked, oper_state::enabled, avail_state::available),
                                  false));
    BOOST_TEST(
        !idle_availability(states(admin_state::locked, oper_state::disabled, avail_state::power_off), true));
}

BOOST_AUTO_TEST_CASE(a_host_whose_own_lock_disagrees_is_told_again) {
    BOOST_TEST(*lock_correction(admin_state::locked, f::configured) == mtce::net::command_kind::lock);
    BOOST_TEST(*lock_correction(admin_state::unlocked, f::configured | f::locked) ==
               mtce::net::command_kind::unlock);
    BOOST_TEST(!lock_correction(admin_state::locked, f::configured | f::locked));
    BOOST_TEST(!lock_correction(admin_state::unlocked, f::configured));
    BOOST_TEST(!lock_correction(admin_state::locked, 0));
}

BOOST_AUTO_TEST_CASE(the_hosts_own_reason_fails_the_subfunction_configuration_at_once) {
    auto v = judge_subfunction_config(alive(f::configured | f::healthy));
    BOOST_TEST((v.result == step::pending));
    v = judge_subfunction_config(alive(0));
    BOOST_TEST((v.result == step::pending));  // a zero flags word says nothing yet
    v = judge_subfunction_config(
        alive(f::configured | f::subf_goenabled_failed, "worker configuration not complete after 20m"));
    BOOST_TEST((v.result == step::failed));
    BOOST_TEST(v.reason == "worker configuration not complete after 20m");
    v = judge_subfunction_config(alive(f::configured | f::subf_configured | f::subf_goenabled_failed, "x"));
    BOOST_TEST((v.result == step::passed));  // configured; its self-tests are judged next
}

BOOST_AUTO_TEST_CASE(this_controller_never_reboots_itself_while_a_peer_controller_exists) {
    BOOST_TEST((self_failure_outcome(/*peer_controller=*/true, 1, 2) == self_failure::degrade));
    BOOST_TEST((self_failure_outcome(/*peer_controller=*/true, 5, 2) == self_failure::degrade));
}

BOOST_AUTO_TEST_CASE(a_simplex_controller_reboots_itself_only_up_to_the_threshold) {
    BOOST_TEST((self_failure_outcome(/*peer_controller=*/false, 1, 2) == self_failure::reboot));
    BOOST_TEST((self_failure_outcome(/*peer_controller=*/false, 2, 2) == self_failure::reboot));
    BOOST_TEST((self_failure_outcome(/*peer_controller=*/false, 3, 2) == self_failure::give_up));
    BOOST_TEST((self_failure_outcome(/*peer_controller=*/false, 1, 0) == self_failure::give_up));
}
