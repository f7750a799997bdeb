#define BOOST_TEST_MODULE host_systemd_actions_test
#include <boost/test/unit_test.hpp>

#include "host/systemd_actions.hpp"

using mtce::script_isolation;
using mtce::host::choose_reboot_method;
using mtce::host::effective_isolation;
using mtce::host::reboot_method;

BOOST_AUTO_TEST_CASE(scripts_run_through_systemd_by_default_when_it_is_pid_1) {
    BOOST_TEST((effective_isolation(script_isolation::automatic, true) == script_isolation::systemd));
    BOOST_TEST((effective_isolation(script_isolation::systemd, true) == script_isolation::systemd));
}

BOOST_AUTO_TEST_CASE(without_systemd_the_agent_runs_scripts_itself_even_if_systemd_was_asked_for) {
    BOOST_TEST((effective_isolation(script_isolation::automatic, false) == script_isolation::process_group));
    BOOST_TEST((effective_isolation(script_isolation::systemd, false) == script_isolation::process_group));
}

BOOST_AUTO_TEST_CASE(an_explicit_choice_other_than_systemd_is_kept) {
    for (const bool running : {true, false}) {
        BOOST_TEST((effective_isolation(script_isolation::cgroup, running) == script_isolation::cgroup));
        BOOST_TEST((effective_isolation(script_isolation::process_group, running) ==
                    script_isolation::process_group));
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
