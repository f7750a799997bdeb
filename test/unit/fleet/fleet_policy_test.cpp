#define BOOST_TEST_MODULE fleet_policy_test
#include "fleet/fleet_policy.hpp"

#include <algorithm>
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
    h.monitored = true;
    return h;
}

using namespace std::chrono_literals;

struct fleet {
    std::map<std::string, host_record, std::less<>> hosts;
    fleet_policy policy;
    policy_settings settings;
    time_point now = time_point{} + 1h;

    host_record* find(std::string_view name) {
        auto it = hosts.find(name);
        return it == hosts.end() ? nullptr : &it->second;
    }
    period_plan period(std::vector<heartbeat_report> events) {
        now += 100ms;
        return policy.on_period(
            events, [this](std::string_view name) { return find(name); }, settings, now);
    }
    void add_workers(int n) {
        for (int i = 0; i < n; ++i) {
            auto name = "worker-" + std::to_string(i);
            hosts.emplace(name, enabled(name));
        }
    }
};

bool contains(const std::vector<host_record*>& list, const host_record& h) {
    return std::find(list.begin(), list.end(), &h) != list.end();
}

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
    BOOST_TEST(plan.notes[0].text == "lost on mgmt (10 misses)");
}

BOOST_AUTO_TEST_CASE(a_loss_during_the_subfunction_enable_is_not_lost) {
    fleet f;
    f.settings.standard_system = false;  // an all-in-one controller
    auto h = enabled("controller-1");
    h.spec.personality = mtce::role::controller;
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

// ---------------------------------------------------------------------------------------------------------
// Heartbeat failure action

BOOST_AUTO_TEST_CASE(with_failure_action_degrade_a_loss_degrades_and_alarms_but_recovers_nobody) {
    fleet f;
    f.settings.action = mtce::failure_action::degrade;
    f.hosts.emplace("worker-0", enabled("worker-0"));
    const auto plan = f.period({event("worker-0", network::mgmt, hb_event_kind::loss)});
    auto& h = f.hosts.at("worker-0");
    BOOST_TEST(plan.recover.empty());
    BOOST_TEST((h.recovery == recovery_reason::none));
    BOOST_TEST(h.degrade_mask == degrade::heartbeat_mgmt);
    BOOST_TEST((h.heartbeat_alarm[0] == hb_state::failed));
}

BOOST_AUTO_TEST_CASE(with_failure_action_alarm_a_loss_only_raises_the_alarm) {
    fleet f;
    f.settings.action = mtce::failure_action::alarm;
    f.hosts.emplace("worker-0", enabled("worker-0"));
    (void)f.period({event("worker-0", network::mgmt, hb_event_kind::degrade_set, 6)});
    const auto plan = f.period({event("worker-0", network::mgmt, hb_event_kind::loss)});
    auto& h = f.hosts.at("worker-0");
    BOOST_TEST(plan.recover.empty());
    BOOST_TEST(h.degrade_mask == 0U);
    BOOST_TEST((h.heartbeat_alarm[0] == hb_state::failed));
    BOOST_TEST(h.losses == 1U);  // a soak still fails on it
}

BOOST_AUTO_TEST_CASE(with_failure_action_none_a_loss_changes_nothing_but_the_soak_count) {
    fleet f;
    f.settings.action = mtce::failure_action::none;
    f.hosts.emplace("worker-0", enabled("worker-0"));
    const auto plan = f.period({event("worker-0", network::mgmt, hb_event_kind::degrade_set, 6),
                                event("worker-0", network::mgmt, hb_event_kind::loss)});
    auto& h = f.hosts.at("worker-0");
    BOOST_TEST(plan.recover.empty());
    BOOST_TEST(plan.changed.empty());
    BOOST_TEST(h.degrade_mask == 0U);
    BOOST_TEST((h.heartbeat_alarm[0] == hb_state::unmonitored));
    BOOST_TEST(h.losses == 1U);
}

BOOST_AUTO_TEST_CASE(a_controllers_cluster_loss_on_a_standard_system_degrades_only) {
    fleet f;
    auto c = enabled("controller-1");
    c.spec.personality = mtce::role::controller;
    f.hosts.emplace("controller-1", c);
    const auto plan = f.period({event("controller-1", network::cluster, hb_event_kind::loss)});
    auto& h = f.hosts.at("controller-1");
    BOOST_TEST(plan.recover.empty());
    BOOST_TEST(h.degrade_mask == degrade::heartbeat_cluster);
    BOOST_TEST((h.heartbeat_alarm[1] == hb_state::failed));
    // Its management network is another matter; and on an all-in-one system so is the cluster network.
    const auto mgmt = f.period({event("controller-1", network::mgmt, hb_event_kind::loss)});
    BOOST_TEST(contains(mgmt.recover, h));
    fleet aio;
    aio.settings.standard_system = false;
    aio.hosts.emplace("controller-1", c);
    const auto aio_plan = aio.period({event("controller-1", network::cluster, hb_event_kind::loss)});
    BOOST_TEST(aio_plan.recover.size() == 1U);
}

// ---------------------------------------------------------------------------------------------------------
// Multi-node failure avoidance

BOOST_AUTO_TEST_CASE(a_lone_host_missing_heartbeats_is_not_a_multi_node_failure) {
    fleet f;
    f.add_workers(4);
    const auto plan = f.period({event("worker-1", network::mgmt, hb_event_kind::minor_set, 4)});
    BOOST_TEST(to_string(f.policy.mode()) == "normal");
    BOOST_TEST(!plan.period_factor.has_value());
    const auto loss = f.period({event("worker-1", network::mgmt, hb_event_kind::loss)});
    BOOST_TEST(loss.recover.size() == 1U);  // failed (recovered) on its own
}

BOOST_AUTO_TEST_CASE(threshold_hosts_missing_at_once_enter_mnfa_back_off_the_period_and_hold_them) {
    fleet f;
    f.add_workers(4);
    const auto plan = f.period({event("worker-1", network::mgmt, hb_event_kind::minor_set, 4),
                                event("worker-2", network::mgmt, hb_event_kind::minor_set, 4),
                                event("worker-3", network::mgmt, hb_event_kind::minor_set, 4)});
    BOOST_TEST(to_string(f.policy.mode()) == "mnfa");
    BOOST_REQUIRE(plan.period_factor.has_value());
    BOOST_TEST(*plan.period_factor == 4U);
    BOOST_TEST(plan.hold.size() == 3U);
    BOOST_TEST(f.policy.mnfa().missing[0] == 3U);
    BOOST_TEST(f.policy.mnfa().hosts.size() == 3U);
    BOOST_REQUIRE(!plan.notes.empty());
    BOOST_TEST(plan.notes.back().kind == "mnfa");
    // Their losses fail nobody while it is active.
    const auto loss = f.period({event("worker-1", network::mgmt, hb_event_kind::loss),
                                event("worker-2", network::mgmt, hb_event_kind::loss),
                                event("worker-3", network::mgmt, hb_event_kind::loss)});
    BOOST_TEST(loss.recover.empty());
    BOOST_TEST((f.hosts.at("worker-1").recovery == recovery_reason::none));
    BOOST_TEST((f.hosts.at("worker-1").heartbeat_alarm[0] == hb_state::failed));
}

BOOST_AUTO_TEST_CASE(when_fewer_than_the_threshold_are_missing_every_held_host_is_recovered_gracefully) {
    fleet f;
    f.add_workers(4);
    (void)f.period({event("worker-1", network::mgmt, hb_event_kind::minor_set, 4),
                    event("worker-2", network::mgmt, hb_event_kind::minor_set, 4),
                    event("worker-3", network::mgmt, hb_event_kind::minor_set, 4)});
    (void)f.period({event("worker-1", network::mgmt, hb_event_kind::loss),
                    event("worker-2", network::mgmt, hb_event_kind::loss),
                    event("worker-3", network::mgmt, hb_event_kind::loss)});
    // One is back: still two missing, still active; it leaves the pool and is recovered on its own.
    const auto one = f.period({event("worker-1", network::mgmt, hb_event_kind::recovered),
                               event("worker-1", network::mgmt, hb_event_kind::minor_clear)});
    BOOST_TEST(to_string(f.policy.mode()) == "mnfa");
    BOOST_TEST(contains(one.recover, f.hosts.at("worker-1")));
    // Another: one missing, below the threshold: everyone held is recovered, the period restored.
    const auto two = f.period({event("worker-2", network::mgmt, hb_event_kind::recovered),
                               event("worker-2", network::mgmt, hb_event_kind::minor_clear)});
    BOOST_TEST(to_string(f.policy.mode()) == "normal");
    BOOST_REQUIRE(two.period_factor.has_value());
    BOOST_TEST(*two.period_factor == 1U);
    BOOST_TEST(contains(two.recover, f.hosts.at("worker-2")));
    BOOST_TEST(contains(two.recover, f.hosts.at("worker-3")));  // still missing: its recovery finds out
    BOOST_TEST((f.hosts.at("worker-3").recovery == recovery_reason::heartbeat_loss));
    BOOST_TEST(f.policy.mnfa().hosts.empty());
    // The end counts every host it held, the one back before it too.
    BOOST_REQUIRE(!two.notes.empty());
    BOOST_TEST(two.notes.back().text.find("3 held hosts recovered gracefully (2 of them back before)") !=
               std::string::npos);
}

BOOST_AUTO_TEST_CASE(mnfa_times_out_and_recovers_the_hosts_still_missing) {
    fleet f;
    f.settings.mnfa_timeout = 30s;
    f.add_workers(4);
    (void)f.period({event("worker-1", network::mgmt, hb_event_kind::minor_set, 4),
                    event("worker-2", network::mgmt, hb_event_kind::minor_set, 4)});
    BOOST_TEST(to_string(f.policy.mode()) == "mnfa");
    f.now += 29s;
    BOOST_TEST(!f.period({}).period_factor.has_value());
    f.now += 1s;
    const auto plan = f.period({});
    BOOST_TEST(to_string(f.policy.mode()) == "normal");
    BOOST_TEST(plan.recover.size() == 2U);
    BOOST_REQUIRE(plan.period_factor.has_value());
    BOOST_TEST(*plan.period_factor == 1U);
    BOOST_REQUIRE(!plan.notes.empty());
    BOOST_TEST(plan.notes.back().text.find("timed out") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(without_a_timeout_mnfa_waits_as_long_as_the_network_is_out) {
    fleet f;
    f.add_workers(3);
    (void)f.period({event("worker-0", network::mgmt, hb_event_kind::minor_set, 4),
                    event("worker-1", network::mgmt, hb_event_kind::minor_set, 4)});
    f.now += 24h;
    const auto plan = f.period({});
    BOOST_TEST(to_string(f.policy.mode()) == "mnfa");
    BOOST_TEST(plan.recover.empty());
}

BOOST_AUTO_TEST_CASE(a_host_that_leaves_the_heartbeat_no_longer_counts_so_mnfa_cannot_stick) {
    fleet f;
    f.add_workers(3);
    (void)f.period({event("worker-0", network::mgmt, hb_event_kind::minor_set, 4),
                    event("worker-1", network::mgmt, hb_event_kind::minor_set, 4)});
    BOOST_TEST(to_string(f.policy.mode()) == "mnfa");
    f.hosts.at("worker-0").monitored = false;  // locked meanwhile
    f.hosts.at("worker-0").states.administrative = admin_state::locked;
    const auto plan = f.period({});
    BOOST_TEST(contains(plan.release, f.hosts.at("worker-0")));
    BOOST_TEST(to_string(f.policy.mode()) == "normal");
    BOOST_TEST(contains(plan.recover, f.hosts.at("worker-1")));
}

BOOST_AUTO_TEST_CASE(mnfa_counts_each_network_on_its_own) {
    fleet f;
    f.add_workers(3);
    (void)f.period({event("worker-0", network::mgmt, hb_event_kind::minor_set, 4),
                    event("worker-1", network::cluster, hb_event_kind::degrade_set, 6)});
    BOOST_TEST(to_string(f.policy.mode()) == "normal");
    (void)f.period({event("worker-2", network::cluster, hb_event_kind::degrade_set, 6)});
    BOOST_TEST(to_string(f.policy.mode()) == "mnfa");
    BOOST_TEST(f.policy.mnfa().missing[1] == 2U);
}

BOOST_AUTO_TEST_CASE(with_failure_action_alarm_there_is_no_mnfa_and_changing_to_it_cancels_one) {
    fleet f;
    f.add_workers(3);
    f.settings.action = mtce::failure_action::alarm;
    (void)f.period({event("worker-0", network::mgmt, hb_event_kind::minor_set, 4),
                    event("worker-1", network::mgmt, hb_event_kind::minor_set, 4)});
    BOOST_TEST(to_string(f.policy.mode()) == "normal");
    fleet g;
    g.add_workers(3);
    (void)g.period({event("worker-0", network::mgmt, hb_event_kind::minor_set, 4),
                    event("worker-1", network::mgmt, hb_event_kind::minor_set, 4)});
    BOOST_TEST(to_string(g.policy.mode()) == "mnfa");
    g.settings.action = mtce::failure_action::none;
    const auto plan = g.period({});
    BOOST_TEST(to_string(g.policy.mode()) == "normal");
    BOOST_TEST(plan.release.size() == 2U);
    BOOST_REQUIRE(plan.period_factor.has_value());
    BOOST_TEST(*plan.period_factor == 1U);
}

// ---------------------------------------------------------------------------------------------------------
// Dead Office Recovery window

BOOST_AUTO_TEST_CASE(the_dor_window_lists_every_host_and_counts_each_check_in_once) {
    fleet_policy p;
    const auto t0 = time_point{} + 1h;
    const auto banner = p.begin_dor(t0, t0 + 24s,
                                    {{"controller-0", "unlocked-enabled-available"},
                                     {"worker-0", "unlocked-enabled-available"},
                                     {"worker-1", "unlocked-disabled-failed"}},
                                    "test");
    BOOST_TEST(banner.find("0 of 3") != std::string::npos);
    BOOST_TEST(banner.find("worker-1 unlocked-disabled-failed") != std::string::npos);
    BOOST_TEST(to_string(p.mode()) == "dor");
    BOOST_TEST(p.dor_deadline().has_value());
    const auto first = p.dor_check_in("worker-0", true, "unlocked-enabled-available", t0 + 5s);
    BOOST_REQUIRE(first.size() == 1U);
    BOOST_TEST(first[0].text.find("1 of 3") != std::string::npos);
    BOOST_TEST(p.dor_check_in("worker-0", true, "unlocked-enabled-available", t0 + 6s).empty());
    BOOST_TEST(p.dor_check_in("not-listed", true, "x", t0 + 6s).empty());
    (void)p.dor_check_in("controller-0", true, "unlocked-enabled-available", t0 + 7s);
    const auto last = p.dor_check_in("worker-1", false, "unlocked-disabled-failed", t0 + 8s);
    BOOST_REQUIRE(last.size() == 2U);
    BOOST_TEST(last[1].text.find("complete") != std::string::npos);
    BOOST_TEST(last[1].text.find("2 of 3") != std::string::npos);
    BOOST_TEST(last[1].text.find("failed: worker-1") != std::string::npos);
    BOOST_TEST(!p.dor_active());
    BOOST_TEST(to_string(p.mode()) == "normal");
}

BOOST_AUTO_TEST_CASE(the_dor_window_closes_at_its_deadline_naming_the_hosts_not_back) {
    fleet_policy p;
    const auto t0 = time_point{} + 1h;
    (void)p.begin_dor(t0, t0 + 22s, {{"worker-0", "a"}, {"worker-1", "b"}}, "test");
    (void)p.dor_check_in("worker-0", true, "unlocked-enabled-available", t0 + 5s);
    BOOST_TEST(p.dor_tick(t0 + 21s).empty());
    const auto end = p.dor_tick(t0 + 22s);
    BOOST_REQUIRE(end.size() == 1U);
    BOOST_TEST(end[0].text.find("Timeout") != std::string::npos);
    BOOST_TEST(end[0].text.find("1 of 2") != std::string::npos);
    BOOST_TEST(end[0].text.find("not back: worker-1") != std::string::npos);
    BOOST_TEST(!p.dor_deadline().has_value());
    BOOST_TEST(p.dor_check_in("worker-1", true, "x", t0 + 30s).empty());  // after the window: not counted
}

BOOST_AUTO_TEST_CASE(a_host_locked_during_the_window_is_no_longer_awaited) {
    fleet_policy p;
    const auto t0 = time_point{} + 1h;
    (void)p.begin_dor(t0, t0 + 22s, {{"worker-0", "a"}, {"worker-1", "b"}}, "test");
    (void)p.dor_check_in("worker-0", true, "unlocked-enabled-available", t0 + 5s);
    const auto end = p.dor_forget("worker-1", t0 + 6s);
    BOOST_REQUIRE(end.size() == 1U);
    BOOST_TEST(end[0].text.find("1 of 1") != std::string::npos);
}
