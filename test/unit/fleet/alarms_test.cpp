#define BOOST_TEST_MODULE fleet_alarms_test
#include "fleet/alarms.hpp"

#include <boost/test/unit_test.hpp>

#include "fleet/decisions.hpp"

using namespace mtce::fleet;

namespace {

host_states states(admin_state a, oper_state o, avail_state v) {
    host_states s;
    s.administrative = a;
    s.operational = o;
    s.availability = v;
    return s;
}

}  // namespace

BOOST_AUTO_TEST_CASE(an_unreachable_bmc_raises_its_access_alarm) {
    alarm_input in;
    in.name = "worker-0";
    in.states = states(admin_state::unlocked, oper_state::enabled, avail_state::available);
    in.bmc_unreachable = true;
    const auto a = expected_alarms(in);
    BOOST_REQUIRE(a.size() == 1U);
    BOOST_TEST(a[0].id == "200.010");
    BOOST_TEST(a[0].severity == "warning");
}

BOOST_AUTO_TEST_CASE(alarms_follow_the_state) {
    alarm_input in;
    in.name = "worker-0";
    in.states = states(admin_state::locked, oper_state::disabled, avail_state::online);
    auto a = expected_alarms(in);
    BOOST_REQUIRE(a.size() == 1U);
    BOOST_TEST(a[0].id == "200.001");
    BOOST_TEST(a[0].severity == "warning");

    in.states = states(admin_state::unlocked, oper_state::disabled, avail_state::failed);
    in.cause = failure_cause::goenabled;
    a = expected_alarms(in);
    BOOST_REQUIRE(a.size() == 1U);
    BOOST_TEST(a[0].id == "200.004");
    BOOST_TEST(a[0].severity == "critical");

    in.cause = failure_cause::config;
    a = expected_alarms(in);
    BOOST_REQUIRE(a.size() == 1U);
    BOOST_TEST(a[0].id == "200.011");

    in.states = states(admin_state::unlocked, oper_state::enabled, avail_state::degraded);
    in.cause = failure_cause::none;
    in.degrade_mask = degrade::failure_flag | degrade::heartbeat_cluster;
    in.heartbeat = {mtce::heartbeat::hb_state::failed, mtce::heartbeat::hb_state::degraded};
    a = expected_alarms(in);
    BOOST_REQUIRE(a.size() == 3U);
    BOOST_TEST(a[0].id == "200.004");
    BOOST_TEST(a[0].severity == "major");
    BOOST_TEST(a[1].id == "200.005");
    BOOST_TEST(a[1].severity == "critical");
    BOOST_TEST(a[2].id == "200.009");
    BOOST_TEST(a[2].severity == "major");
}

BOOST_AUTO_TEST_CASE(a_failed_subfunction_raises_its_own_alarm) {
    alarm_input in;
    in.name = "controller-0";
    in.has_subfunction = true;
    in.states = states(admin_state::unlocked, oper_state::enabled, avail_state::degraded);
    in.states.subfunction_operational = oper_state::disabled;
    in.states.subfunction_availability = avail_state::failed;
    const auto a = expected_alarms(in);
    BOOST_REQUIRE(a.size() == 1U);
    BOOST_TEST(a[0].id == "200.013");
}

BOOST_AUTO_TEST_CASE(this_controller_degraded_by_its_own_failure_has_the_critical_enable_alarm) {
    alarm_input in;
    in.name = "controller-0";
    in.states = states(admin_state::unlocked, oper_state::enabled, avail_state::degraded);
    in.cause = failure_cause::goenabled;
    in.degrade_mask = degrade::critical_failure;
    auto a = expected_alarms(in);
    BOOST_REQUIRE(a.size() == 1U);
    BOOST_TEST(a[0].id == "200.004");
    BOOST_TEST(a[0].severity == "critical");

    in.degrade_mask = 0;  // degraded for another reason: no critical alarm
    a = expected_alarms(in);
    BOOST_TEST(a.empty());
}

BOOST_AUTO_TEST_CASE(the_conditions_of_held_alarms_raise_the_same_alarms_after_a_restart) {
    using mtce::heartbeat::hb_state;
    const std::vector<host_states> all_states{
        states(admin_state::unlocked, oper_state::enabled, avail_state::available),
        states(admin_state::unlocked, oper_state::enabled, avail_state::degraded),
        states(admin_state::unlocked, oper_state::disabled, avail_state::failed),
        states(admin_state::locked, oper_state::disabled, avail_state::online),
    };
    const std::vector<std::uint32_t> masks{0, degrade::failure_flag, degrade::critical_failure,
                                           degrade::config_failure | degrade::luks,
                                           degrade::failure_flag | degrade::luks};
    int checked = 0;
    for (const auto& st : all_states) {
        for (const auto mask : masks) {
            for (const bool bmc : {false, true}) {
                for (const auto hb : {hb_state::unmonitored, hb_state::degraded, hb_state::failed}) {
                    alarm_input before;
                    before.name = "worker-0";
                    before.states = st;
                    before.degrade_mask = mask;
                    before.bmc_unreachable = bmc;
                    before.heartbeat = {hb, hb_state::unmonitored};
                    const auto held = expected_alarms(before);
                    // What a controller knows of the host when it starts again: its stored states only.
                    alarm_input after;
                    after.name = "worker-0";
                    after.states = st;
                    const auto restored = conditions_of(held, st);
                    after.degrade_mask = restored.degrade_mask;
                    after.bmc_unreachable = restored.bmc_unreachable;
                    after.heartbeat = restored.heartbeat;
                    BOOST_TEST((expected_alarms(after) == held),
                               "states " << to_string(st.administrative) << "-" << to_string(st.operational)
                                         << " mask " << mask << " bmc " << bmc);
                    ++checked;
                }
            }
        }
    }
    BOOST_TEST(checked == 120);
}

BOOST_AUTO_TEST_CASE(no_held_alarm_means_no_condition) {
    const auto restored =
        conditions_of({}, states(admin_state::unlocked, oper_state::enabled, avail_state::available));
    BOOST_TEST(restored.degrade_mask == 0U);
    BOOST_TEST(!restored.bmc_unreachable);
    BOOST_TEST((restored.heartbeat[0] == mtce::heartbeat::hb_state::unmonitored));
}
