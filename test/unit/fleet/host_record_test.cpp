#define BOOST_TEST_MODULE fleet_host_record_test
#include "fleet/host_record.hpp"

#include <boost/test/unit_test.hpp>

#include "net/message.hpp"

using namespace mtce::fleet;
using namespace std::chrono_literals;
namespace f = mtce::net::alive_flags;

namespace {

const time_point t0 = time_point{} + 100h;

mtce::net::alive_report report(std::string boot, std::uint64_t uptime_s = 100) {
    mtce::net::alive_report r;
    r.hostname = "worker-0";
    r.boot_id = std::move(boot);
    r.uptime_s = uptime_s;
    r.flags = f::configured | f::healthy;
    return r;
}

host_record enabled_host() {
    host_record h;
    h.spec.name = "worker-0";
    h.states.administrative = admin_state::unlocked;
    h.states.operational = oper_state::enabled;
    h.states.availability = avail_state::available;
    (void)h.on_report(report("boot-1"), t0);
    (void)h.mark_enabled(t0);
    return h;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_report_from_another_boot_makes_a_recovery_of_an_idle_enabled_host_due) {
    auto h = enabled_host();
    BOOST_TEST(h.enabled_boot == "boot-1");
    BOOST_TEST(!h.on_report(report("boot-1"), t0 + 5s));
    BOOST_TEST((h.recovery == recovery_reason::none));
    BOOST_TEST(h.on_report(report("boot-2", 3), t0 + 10s));
    BOOST_TEST((h.recovery == recovery_reason::new_boot));
}

BOOST_AUTO_TEST_CASE(a_new_boot_during_the_subfunction_enable_preempts_it_and_makes_the_recovery_due) {
    auto h = enabled_host();
    h.running = job_kind::enable_subfunction;
    (void)h.on_report(report("boot-2", 3), t0 + 10s);
    BOOST_TEST((h.recovery == recovery_reason::new_boot));
    BOOST_TEST(h.preempt);
}

BOOST_AUTO_TEST_CASE(no_recovery_is_due_while_another_job_takes_the_host_in_or_out_of_service) {
    for (auto job : {job_kind::enable, job_kind::recover, job_kind::lock, job_kind::force_lock}) {
        auto h = enabled_host();
        h.running = job;
        BOOST_TEST(!h.recovery_due(recovery_reason::heartbeat_loss));
        BOOST_TEST((h.recovery == recovery_reason::none));
        BOOST_TEST(!h.preempt);
    }
}

BOOST_AUTO_TEST_CASE(this_controller_and_a_disabled_host_are_never_due_a_recovery) {
    auto self = enabled_host();
    self.self = true;
    BOOST_TEST(!self.recovery_due(recovery_reason::heartbeat_loss));
    auto disabled = enabled_host();
    disabled.states.operational = oper_state::disabled;
    BOOST_TEST(!disabled.recovery_due(recovery_reason::heartbeat_loss));
}

BOOST_AUTO_TEST_CASE(an_enabled_host_not_yet_heard_adopts_the_boot_it_first_reports) {
    host_record h;
    h.states.administrative = admin_state::unlocked;
    h.states.operational = oper_state::enabled;
    h.adopting = true;
    (void)h.on_report(report("boot-7"), t0);
    BOOST_TEST(h.enabled_boot == "boot-7");
    BOOST_TEST((h.recovery == recovery_reason::none));
    BOOST_TEST(!h.adopting);
}

BOOST_AUTO_TEST_CASE(a_reboot_is_recognised_by_its_boot_id_or_by_its_uptime_when_the_old_boot_is_unknown) {
    host_record h;
    (void)h.on_report(report("boot-1", 4000), t0);
    const auto count = h.alive_count;
    BOOST_TEST(!h.rebooted_since("boot-1", count, 30s));  // no report since
    (void)h.on_report(report("boot-1", 4030), t0 + 30s);
    BOOST_TEST(!h.rebooted_since("boot-1", count, 30s));
    (void)h.on_report(report("boot-2", 10), t0 + 60s);
    BOOST_TEST(h.rebooted_since("boot-1", count, 60s));
    // Old boot unknown: an uptime shorter than the time since the request means a new boot.
    BOOST_TEST(h.rebooted_since("", count, 60s));
    BOOST_TEST(!h.rebooted_since("", count, 5s));
}

BOOST_AUTO_TEST_CASE(failures_are_counted_per_cause_until_the_host_is_enabled_or_locked) {
    auto h = enabled_host();
    BOOST_TEST(h.mark_failed(failure_cause::goenabled, t0 + 30s) == 1U);
    BOOST_TEST(h.mark_failed(failure_cause::goenabled, t0 + 60s) == 2U);
    BOOST_TEST(h.mark_failed(failure_cause::services, t0 + 90s) == 1U);
    BOOST_TEST(h.mark_failed(failure_cause::none, t0 + 90s) == 0U);
    BOOST_TEST((h.cause == failure_cause::none));
    BOOST_TEST((h.retry_at == t0 + 90s));
    BOOST_TEST(h.enabled_boot.empty());
    h.begin_enable(t0 + 100s);
    (void)h.mark_enabled(t0 + 110s);
    BOOST_TEST(h.failure_counts.empty());
    BOOST_TEST(h.mark_failed(failure_cause::goenabled, t0 + 200s) == 1U);
    h.begin_lock();
    h.mark_locked();
    BOOST_TEST(h.failure_counts.empty());
    BOOST_TEST((h.cause == failure_cause::none));
}

BOOST_AUTO_TEST_CASE(an_enable_starts_clean_and_reports_how_long_it_took) {
    auto h = enabled_host();
    h.cause = failure_cause::heartbeat;
    h.degrade_mask = 0x3;
    h.recovery = recovery_reason::heartbeat_loss;
    h.begin_enable(t0);
    BOOST_TEST((h.cause == failure_cause::none));
    BOOST_TEST(h.degrade_mask == 0U);
    BOOST_TEST((h.recovery == recovery_reason::none));
    h.heartbeat_alarm[0] = mtce::heartbeat::hb_state::failed;
    h.retry_at = t0;
    h.subfunction_retry_at = t0;
    const auto took = h.mark_enabled(t0 + 4200ms);
    BOOST_REQUIRE(took.has_value());
    BOOST_TEST(took->count() == 4200);
    BOOST_TEST((h.heartbeat_alarm[0] == mtce::heartbeat::hb_state::unmonitored));
    BOOST_TEST(!h.retry_at.has_value());
    BOOST_TEST(!h.subfunction_retry_at.has_value());
    BOOST_TEST(!h.mark_enabled(t0 + 5s).has_value());  // timed once
}

BOOST_AUTO_TEST_CASE(a_lock_forgets_everything_of_the_enable) {
    auto h = enabled_host();
    h.retry_at = t0;
    h.subfunction_retry_at = t0;
    h.enable_started = t0;
    h.recovery = recovery_reason::new_boot;
    h.begin_lock();
    BOOST_TEST(!h.retry_at.has_value());
    BOOST_TEST(!h.subfunction_retry_at.has_value());
    BOOST_TEST(!h.enable_started.has_value());
    BOOST_TEST((h.recovery == recovery_reason::none));
    h.degrade_mask = degrade::failure_flag;
    h.heartbeat_alarm[1] = mtce::heartbeat::hb_state::degraded;
    h.mark_locked();
    BOOST_TEST(h.degrade_mask == 0U);
    BOOST_TEST((h.heartbeat_alarm[1] == mtce::heartbeat::hb_state::unmonitored));
    BOOST_TEST(h.enabled_boot.empty());
}
