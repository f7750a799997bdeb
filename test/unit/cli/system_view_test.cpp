#define BOOST_TEST_MODULE cli_system_view_test
// How `mtce system show` prints the system view: Dead Office Recovery's hosts, multi-node failure avoidance's
// count, the controllers, and documents that lack fields.
#include <boost/test/unit_test.hpp>

#include <nlohmann/json.hpp>

#include "cli/system_view.hpp"
#include "fake_backend.hpp"

using nlohmann::json;
using namespace mtce::cli;

BOOST_AUTO_TEST_CASE(an_active_dor_lists_its_hosts_and_how_far_each_got) {
    const mtce::test::fake_backend b;
    BOOST_TEST(render_system(b.system()) ==
               "mode:        dor\n"
               "dor:         active since 2026-12-07T10:00:00Z, deadline 2026-12-07T10:00:24Z, 2 of 4 hosts "
               "recovered\n"
               "  controller-0  unlocked-enabled-available  recovered\n"
               "  storage-0     unlocked-enabled-available  recovered\n"
               "  worker-0      unlocked-disabled-offline   waiting\n"
               "  worker-1      unlocked-disabled-intest    checked in\n"
               "mnfa:        inactive (entered once)\n"
               "controllers: controller-0  unlocked-enabled-available  (this controller)\n"
               "             controller-1  locked-disabled-offline\n");
}

BOOST_AUTO_TEST_CASE(an_active_mnfa_counts_the_missing_hosts_per_network_and_names_them) {
    const json system{
        {"mode", "mnfa"},
        {"dor",
         {{"active", false},
          {"started", nullptr},
          {"deadline", nullptr},
          {"ended", nullptr},
          {"recovered", 0},
          {"total", 0},
          {"hosts", json::array()}}},
        {"mnfa",
         {{"active", true},
          {"since", "2026-12-07T11:30:00Z"},
          {"networks", {{"mgmt", 3}, {"cluster", 1}}},
          {"hosts", {"worker-0", "worker-1", "worker-2"}},
          {"episodes", 2}}},
        {"controllers",
         {{{"name", "controller-0"}, {"state", "unlocked-enabled-available"}, {"self", true}}}}};
    BOOST_TEST(render_system(system) ==
               "mode:        mnfa\n"
               "dor:         inactive\n"
               "mnfa:        active since 2026-12-07T11:30:00Z, hosts missing: mgmt 3, cluster 1 (entered 2 "
               "times)\n"
               "  worker-0\n"
               "  worker-1\n"
               "  worker-2\n"
               "controllers: controller-0  unlocked-enabled-available  (this controller)\n");
}

BOOST_AUTO_TEST_CASE(an_ended_dor_says_when_and_keeps_its_tally) {
    const json dor{{"active", false},
                   {"started", "2026-12-07T10:00:00Z"},
                   {"deadline", "2026-12-07T10:00:24Z"},
                   {"ended", "2026-12-07T10:00:19Z"},
                   {"recovered", 1},
                   {"total", 1},
                   {"hosts", json::array()}};
    BOOST_TEST(dor_summary(dor) ==
               "ended 2026-12-07T10:00:19Z (started 2026-12-07T10:00:00Z), 1 of 1 host recovered");
    BOOST_TEST(mnfa_summary(json{{"active", false}, {"episodes", 0}}) == "inactive (entered 0 times)");
}

BOOST_AUTO_TEST_CASE(missing_fields_show_as_a_dash_and_nothing_else_breaks) {
    BOOST_TEST(render_system(json::object()) ==
               "mode:        -\n"
               "dor:         inactive\n"
               "mnfa:        inactive (entered - times)\n"
               "controllers: -\n");
    BOOST_TEST(render_system(json("not an object")) == render_system(json::object()));
    const json odd{{"mode", "dor\x1b[2J"},
                   {"dor", {{"active", true}, {"hosts", {json{{"name", "w\n"}}, json(42)}}}},
                   {"mnfa", {{"active", true}, {"hosts", {"a", 7}}, {"networks", "none"}}},
                   {"controllers", "none"}};
    BOOST_TEST(render_system(odd) ==
               "mode:        dor?[2J\n"
               "dor:         active since -, deadline -, - of - hosts recovered\n"
               "  w?  -  waiting\n"
               "  -   -  waiting\n"
               "mnfa:        active since -, hosts missing: mgmt -, cluster - (entered - times)\n"
               "  a\n"
               "  -\n"
               "controllers: -\n");
}
