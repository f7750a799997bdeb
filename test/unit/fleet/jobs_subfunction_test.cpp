#define BOOST_TEST_MODULE fleet_jobs_subfunction_test
#include "fake_host.hpp"

#include <chrono>

#include <boost/test/unit_test.hpp>

// The worker subfunction of an all-in-one controller, through the host's supervisor, in simulated time.

using namespace std::chrono_literals;
using namespace mtce::fleet;
using mtce::role;
using mtce::net::command_kind;
using mtce::test::fake_host;

namespace {

double secs(fake_host::time_point from, fake_host::time_point to) {
    return std::chrono::duration<double>(to - from).count();
}

bool fully_enabled(fake_host& h) {
    const auto& st = h.record().states;
    return mtce::test::settled_in(h, admin_state::unlocked, oper_state::enabled, avail_state::available) &&
           st.subfunction_operational == oper_state::enabled &&
           st.subfunction_availability == avail_state::available;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_heartbeat_loss_during_the_subfunction_enable_of_a_peer_controller_is_not_lost) {
    fake_host h{"controller-1", role::controller, /*subfunction=*/true};
    h.agent().subf_config_time = 15min;  // its worker configuration takes a while
    mtce::test::enabled_available(h, 2min);
    h.record().states.subfunction_operational = oper_state::disabled;
    h.record().states.subfunction_availability = avail_state::offline;
    const auto sup = h.run_supervisor();

    const bool started =
        h.run_until([&] { return h.record().running == job_kind::enable_subfunction; }, 10min);
    BOOST_REQUIRE(started);
    h.run_for(1min);
    BOOST_REQUIRE(h.record().running == job_kind::enable_subfunction);
    const auto t0 = h.now();
    h.lose_heartbeat();

    const bool recovering =
        h.run_until([&] { return h.task_with("Graceful Recovery", t0).has_value(); }, 10min);
    BOOST_TEST_INFO("tasks: " << h.task_history());
    BOOST_TEST_INFO("states: " << h.state_history());
    BOOST_REQUIRE(recovering);
    BOOST_TEST(secs(t0, h.task_with("Graceful Recovery", t0)->at) < 2.0);
    BOOST_TEST(h.sent(command_kind::mtcalive, t0).size() >= 1U);

    // Recovered, then the subfunction enabled once configured.
    const bool enabled = h.run_until([&] { return fully_enabled(h); }, 2h);
    BOOST_REQUIRE(enabled);
    BOOST_TEST(h.event_with("recovered", t0).has_value());
    BOOST_TEST(h.running(sup));
}

BOOST_AUTO_TEST_CASE(the_hosts_own_reason_for_a_failed_subfunction_configuration_reaches_the_task_at_once) {
    fake_host h{"controller-1", role::controller, /*subfunction=*/true};
    h.agent().subf_config_time.reset();  // the marker never appears: the host gives up after 20 min
    mtce::test::locked_online(h, 40s);
    h.request(host_action::unlock);
    (void)h.run_supervisor();

    const bool failed =
        h.run_until([&] { return h.task_with("worker configuration not complete").has_value(); }, 2h);
    BOOST_TEST_INFO("tasks: " << h.task_history());
    BOOST_REQUIRE(failed);
    const auto task = *h.task_with("worker configuration not complete");
    BOOST_TEST(task.text.find("Worker") == 0U);
    BOOST_TEST(task.text.find("worker configuration not complete after 20m") != std::string::npos);
    BOOST_TEST(!h.task_with("Timeout").has_value());
    // At the moment the host said so, not at the controller's own timeout.
    std::optional<fake_host::time_point> said;
    for (const auto& r : h.reports()) {
        if ((r.report.flags & mtce::net::alive_flags::subf_goenabled_failed) != 0) {
            said = r.at;
            break;
        }
    }
    BOOST_REQUIRE(said.has_value());
    BOOST_TEST(secs(*said, task.at) < 1.0);
    const auto started = h.task_with("Enabling Worker Subfunction");
    BOOST_REQUIRE(started.has_value());
    BOOST_TEST(secs(started->at, task.at) <
               std::chrono::duration<double>(h.cfg().controller.subfunction_config_timeout).count());
}
