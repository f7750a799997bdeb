#define BOOST_TEST_MODULE host_systemd_actions_test
#include <boost/test/unit_test.hpp>

#include "host/systemd_actions.hpp"

using mtce::script_isolation;
using mtce::host::choose_reboot_method;
using mtce::host::effective_isolation;
using mtce::host::reboot_method;
using mtce::host::systemd_probe;

namespace {
constexpr systemd_probe packaged{/*running=*/true, /*our_unit=*/true};
constexpr systemd_probe by_hand{/*running=*/true, /*our_unit=*/false};
constexpr systemd_probe container{/*running=*/false, /*our_unit=*/false};
}  // namespace

BOOST_AUTO_TEST_CASE(the_packaged_daemon_runs_scripts_through_systemd_by_default) {
    BOOST_TEST((effective_isolation(script_isolation::automatic, packaged) == script_isolation::systemd));
    BOOST_TEST((effective_isolation(script_isolation::systemd, packaged) == script_isolation::systemd));
}

BOOST_AUTO_TEST_CASE(a_daemon_started_outside_its_unit_runs_scripts_itself_unless_systemd_is_asked_for) {
    BOOST_TEST(
        (effective_isolation(script_isolation::automatic, by_hand) == script_isolation::process_group));
    BOOST_TEST((effective_isolation(script_isolation::systemd, by_hand) == script_isolation::systemd));
}

BOOST_AUTO_TEST_CASE(without_systemd_the_agent_runs_scripts_itself_even_if_systemd_was_asked_for) {
    BOOST_TEST(
        (effective_isolation(script_isolation::automatic, container) == script_isolation::process_group));
    BOOST_TEST(
        (effective_isolation(script_isolation::systemd, container) == script_isolation::process_group));
}

BOOST_AUTO_TEST_CASE(an_explicit_choice_other_than_systemd_is_kept) {
    for (const auto probe : {packaged, by_hand, container}) {
        BOOST_TEST((effective_isolation(script_isolation::cgroup, probe) == script_isolation::cgroup));
        BOOST_TEST(
            (effective_isolation(script_isolation::process_group, probe) == script_isolation::process_group));
    }
}

BOOST_AUTO_TEST_CASE(under_systemd_the_default_reboot_starts_reboot_target) {
    BOOST_TEST((choose_reboot_method(script_isolation::systemd, "systemctl reboot") ==
                reboot_method::start_reboot_target));
}

BOOST_AUTO_TEST_CASE(a_configured_reboot_command_is_run_as_configured) {
    BOOST_TEST((choose_reboot_method(script_isolation::systemd, "/usr/local/sbin/site-reboot") ==
                reboot_method::run_command));
}

BOOST_AUTO_TEST_CASE(without_systemd_the_reboot_command_is_run) {
    BOOST_TEST((choose_reboot_method(script_isolation::process_group, "systemctl reboot") ==
                reboot_method::run_command));
    BOOST_TEST(
        (choose_reboot_method(script_isolation::cgroup, "systemctl reboot") == reboot_method::run_command));
}
