#define BOOST_TEST_MODULE fleet_policy_test
#include "fleet/fleet_policy.hpp"

#include <map>

#include <boost/test/unit_test.hpp>

using namespace mtce::fleet;
using mtce::heartbeat::hb_event;
using mtce::heartbeat::hb_event_kind;
using mtce::heartbeat::hb_state;
using mtce::heartbeat::network;

namespace {

host_record enabled(std::string name) {
    host_record h;
    h.spec.name = std::move(name);
    h.states.administrative = admin_state::unlocked;
    h.states.operational = oper_state::enabled;
    h.states.availability = avail_state::available;
    return h;
}

struct fleet {
    std::map<std::string, host_record, std::less<>> hosts;
    fleet_policy policy;

    period_plan period(std::vector<heartbeat_report> events) {
        return policy.on_period(events, [this](std::string_view name) -> host_record* {
            auto it = hosts.find(name);
            return it == hosts.end() ? nullptr : &it->second;
        });
    }
};

heartbeat_report event(std::string_view host, network net, hb_event_kind kind, std::uint32_t misses = 10) {
    return {host, hb_event{0, net, kind, misses}};
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_policy_starts_in_normal_mode) {
    fleet_policy p;
    BOOST_TEST(to_string(p.mode()) == "normal");
}

BOOST_AUTO_TEST_CASE(a_loss_makes_the_graceful_recovery_of_an_idle_enabled_host_due) {
    fleet f;
    f.hosts.emplace("worker-0", enabled("worker-0"));
    const auto plan = f.period({event("worker-0", network::mgmt, hb_event_kind::loss)});
    auto& h = f.hosts.at("worker-0");
    BOOST_REQUIRE(plan.recover.size() == 1U);
    BOOST_TEST(plan.recover[0] == &h);
    BOOST_TEST((h.recovery == recovery_reason::heartbeat_loss));
    BOOST_TEST(h.losses == 1U);
    BOOST_TEST((h.heartbeat_alarm[0] == hb_state::failed));
    BOOST_REQUIRE(plan.notes.size() == 1U);
    BOOST_TEST(plan.notes[0].second == "lost on mgmt (10 misses)");
}

BOOST_AUTO_TEST_CASE(a_loss_during_the_subfunction_enable_is_not_lost) {
    fleet f;
    auto h = enabled("controller-1");
    h.running = job_kind::enable_subfunction;
    f.hosts.emplace("controller-1", h);
    const auto plan = f.period({event("controller-1", network::cluster, hb_event_kind::loss)});
    BOOST_TEST(plan.recover.size() == 1U);
    BOOST_TEST((f.hosts.at("controller-1").recovery == recovery_reason::heartbeat_loss));
    BOOST_TEST(f.hosts.at("controller-1").preempt);
}

BOOST_AUTO_TEST_CASE(a_loss_on_both_networks_in_one_period_recovers_the_host_once) {
    fleet f;
    f.hosts.emplace("worker-0", enabled("worker-0"));
    const auto plan = f.period({event("worker-0", network::mgmt, hb_event_kind::loss),
                                event("worker-0", network::cluster, hb_event_kind::loss)});
    BOOST_TEST(plan.recover.size() == 1U);
    BOOST_TEST(plan.changed.size() == 1U);
    BOOST_TEST(f.hosts.at("worker-0").losses == 2U);
}

BOOST_AUTO_TEST_CASE(a_loss_while_the_host_is_enabled_by_a_job_only_counts_for_that_jobs_soak) {
    fleet f;
    auto h = enabled("worker-0");
    h.states.operational = oper_state::disabled;
    h.running = job_kind::enable;
    f.hosts.emplace("worker-0", h);
    const auto plan = f.period({event("worker-0", network::mgmt, hb_event_kind::loss)});
    BOOST_TEST(plan.recover.empty());
    BOOST_TEST(f.hosts.at("worker-0").losses == 1U);  // the enable's soak sees it
    BOOST_TEST((f.hosts.at("worker-0").recovery == recovery_reason::none));
}

BOOST_AUTO_TEST_CASE(degrade_events_set_and_clear_the_networks_degrade_cause) {
    fleet f;
    f.hosts.emplace("worker-0", enabled("worker-0"));
    (void)f.period({event("worker-0", network::cluster, hb_event_kind::degrade_set, 6)});
    auto& h = f.hosts.at("worker-0");
    BOOST_TEST(h.degrade_mask == degrade::heartbeat_cluster);
    BOOST_TEST((h.heartbeat_alarm[1] == hb_state::degraded));
    (void)f.period({event("worker-0", network::cluster, hb_event_kind::loss)});
    (void)f.period({event("worker-0", network::cluster, hb_event_kind::degrade_set, 6)});
    BOOST_TEST((h.heartbeat_alarm[1] == hb_state::failed));  // a loss is not lowered by a later degrade
    (void)f.period({event("worker-0", network::cluster, hb_event_kind::recovered),
                    event("worker-0", network::cluster, hb_event_kind::degrade_clear)});
    BOOST_TEST(h.degrade_mask == 0U);
    BOOST_TEST((h.heartbeat_alarm[1] == hb_state::unmonitored));
}

BOOST_AUTO_TEST_CASE(events_of_hosts_the_fleet_does_not_manage_and_minor_events_change_nothing) {
    fleet f;
    f.hosts.emplace("worker-0", enabled("worker-0"));
    const auto plan = f.period({event("monitor-only", network::mgmt, hb_event_kind::loss),
                                event("worker-0", network::mgmt, hb_event_kind::minor_set, 4)});
    BOOST_TEST(plan.changed.empty());
    BOOST_TEST(plan.recover.empty());
    BOOST_TEST(plan.notes.empty());
    BOOST_TEST(f.hosts.at("worker-0").degrade_mask == 0U);
}
