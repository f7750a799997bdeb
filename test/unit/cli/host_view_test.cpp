#define BOOST_TEST_MODULE cli_host_view_test
// How `mtce host list` and `mtce host show` print host documents, missing fields included.
#include <boost/test/unit_test.hpp>

#include <nlohmann/json.hpp>

#include "cli/host_view.hpp"
#include "fake_backend.hpp"

using nlohmann::json;
using namespace mtce::cli;

BOOST_AUTO_TEST_CASE(the_table_has_the_header_and_one_aligned_line_per_host) {
    const mtce::test::fake_backend b;
    BOOST_TEST(
        render_host_table(b.hosts()) ==
        "NAME          PERSONALITY  ADMIN     OPER     AVAIL      TASK                MGMT-HB  CLUSTER-HB\n"
        "controller-0  controller   unlocked  enabled  available  -                   ok       ok\n"
        "worker-0      worker       unlocked  enabled  degraded   Heartbeat degraded  ok(1)    "
        "degraded(7)\n");
}

BOOST_AUTO_TEST_CASE(missing_null_and_empty_fields_show_as_a_dash) {
    const json hosts = json::array(
        {json{{"name", "bare"}}, json{{"name", "partial"}, {"heartbeat", {{"mgmt", {{"state", "failed"}}}}}},
         json::object(), json("not an object")});
    BOOST_TEST(render_host_table(hosts) ==
               "NAME     PERSONALITY  ADMIN  OPER  AVAIL  TASK  MGMT-HB  CLUSTER-HB\n"
               "bare     -            -      -     -      -     -        -\n"
               "partial  -            -      -     -      -     failed   -\n"
               "-        -            -      -     -      -     -        -\n"
               "-        -            -      -     -      -     -        -\n");
    BOOST_TEST(render_host_table(json::array()) ==
               "NAME  PERSONALITY  ADMIN  OPER  AVAIL  TASK  MGMT-HB  CLUSTER-HB\n");
}

BOOST_AUTO_TEST_CASE(heartbeat_cells_add_misses_only_when_there_are_some) {
    const json h{
        {"heartbeat",
         {{"mgmt", {{"state", "minor"}, {"misses", 4}}}, {"cluster", {{"state", "ok"}, {"misses", 0}}}}}};
    BOOST_TEST(heartbeat_cell(h, "mgmt") == "minor(4)");
    BOOST_TEST(heartbeat_cell(h, "cluster") == "ok");
    BOOST_TEST(heartbeat_cell(h, "storage") == "-");
    BOOST_TEST(heartbeat_cell(json{{"heartbeat", {{"mgmt", {{"misses", 2}}}}}}, "mgmt") == "-(2)");
    BOOST_TEST(heartbeat_cell(json{{"heartbeat", "broken"}}, "mgmt") == "-");
}

BOOST_AUTO_TEST_CASE(cells_join_arrays_and_keep_control_characters_off_the_terminal) {
    BOOST_TEST(cell_text(json{{"f", {"controller", "worker"}}}, "f") == "controller,worker");
    BOOST_TEST(cell_text(json{{"f", json::array()}}, "f") == "-");
    BOOST_TEST(cell_text(json{{"f", 42}}, "f") == "42");
    BOOST_TEST(cell_text(json{{"f", true}}, "f") == "true");
    BOOST_TEST(cell_text(json{{"f", "a\x1b[31mred\n"}}, "f") == "a?[31mred?");
}

BOOST_AUTO_TEST_CASE(uptime_is_shown_in_days_hours_minutes_and_seconds) {
    BOOST_TEST(format_uptime(0) == "0s");
    BOOST_TEST(format_uptime(42) == "42s");
    BOOST_TEST(format_uptime(7322) == "2h 2m 2s");
    BOOST_TEST(format_uptime(86400) == "1d 0h 0m 0s");
}

BOOST_AUTO_TEST_CASE(show_prints_every_field_in_order_then_the_heartbeat_per_network) {
    const mtce::test::fake_backend b;
    BOOST_TEST(render_host(b.hosts()[1]) ==
               "name:                     worker-0\n"
               "personality:              worker\n"
               "subfunctions:             worker\n"
               "administrative:           unlocked\n"
               "operational:              enabled\n"
               "availability:             degraded\n"
               "subfunction_operational:  -\n"
               "subfunction_availability: -\n"
               "task:                     Heartbeat degraded\n"
               "uptime_s:                 42 (42s)\n"
               "mgmt_ip:                  192.168.204.11\n"
               "cluster_ip:               192.168.206.11\n"
               "bmc_type:                 none\n"
               "auto_recovery_disabled:   false\n"
               "heartbeat mgmt:           ok(1)\n"
               "heartbeat cluster:        degraded(7)\n");
}

BOOST_AUTO_TEST_CASE(show_says_which_cause_auto_recovery_counts_only_while_it_counts_one) {
    const mtce::test::fake_backend b;
    auto h = b.hosts()[1];
    h["operational"] = "disabled";
    h["availability"] = "failed";
    h["auto_recovery_disabled"] = true;
    h["autorecovery"] = {{"cause", "goenabled"}, {"count", 3}};
    const auto text = render_host(h);
    BOOST_TEST(text.find("auto_recovery_disabled:   true\n"
                         "autorecovery:             goenabled, 3 in a row\n"
                         "heartbeat mgmt:") != std::string::npos,
               text);
    // Nothing counted: no line, and the field is not repeated among the unknown ones.
    BOOST_TEST(render_host(b.hosts()[1]).find("autorecovery") == std::string::npos);
    h["autorecovery"] = "broken";
    BOOST_TEST(render_host(h).find("autorecovery") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(show_tolerates_missing_fields_and_prints_unknown_ones_last) {
    const auto text = render_host(json{{"name", "w"}, {"zone", "rack-2"}});
    BOOST_TEST(text.starts_with("name:                     w\npersonality:              -\n"));
    BOOST_TEST(text.ends_with("heartbeat cluster:        -\nzone:                     rack-2\n"));
}

BOOST_AUTO_TEST_CASE(the_state_is_admin_oper_avail_with_dashes_for_missing_fields) {
    BOOST_TEST(state_text(json{{"administrative", "locked"},
                               {"operational", "disabled"},
                               {"availability", "power-off"}}) == "locked-disabled-power-off");
    BOOST_TEST(state_text(json{{"administrative", "locked"}}) == "locked----");  // "locked", "-", "-"
}

BOOST_AUTO_TEST_CASE(a_wait_line_has_the_clock_name_state_and_task_if_any) {
    const json h{{"administrative", "unlocked"},
                 {"operational", "disabled"},
                 {"availability", "intest"},
                 {"task", "Testing"}};
    BOOST_TEST(render_wait_line("12:03:04", "worker-0", h) ==
               "12:03:04 worker-0 unlocked-disabled-intest Testing\n");
    auto idle = h;
    idle["task"] = "";
    BOOST_TEST(render_wait_line("12:03:05", "worker-0", idle) ==
               "12:03:05 worker-0 unlocked-disabled-intest\n");
    idle["task"] = "\x1b]0;owned\x07";
    BOOST_TEST(render_wait_line("t", "w\n", idle) == "t w? unlocked-disabled-intest ?]0;owned?\n");
}
