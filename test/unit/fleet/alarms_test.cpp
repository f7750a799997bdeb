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
