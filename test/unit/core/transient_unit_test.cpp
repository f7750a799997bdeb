#define BOOST_TEST_MODULE core_transient_unit_test
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <string>
#include <variant>
#include <vector>

#include <sys/wait.h>

#include "core/transient_unit.hpp"
#include "run_awaitable.hpp"

using namespace std::chrono_literals;
namespace tu = mtce::transient;

namespace {

mtce::child_spec sample_spec() {
    mtce::child_spec spec;
    spec.program = "/etc/mtce/goenabled.d/60-disk";
    spec.args = {"start"};
    spec.env = {{"PATH", "/usr/bin:/bin"}, {"MTCE_FUNCTION", "worker"}};
    spec.cwd = "/";
    spec.deadline = 600s;
    spec.kill_grace = 5s;
    return spec;
}

const tu::property::value_type* find(const std::vector<tu::property>& props, const std::string& name) {
    auto it = std::find_if(props.begin(), props.end(), [&](const auto& p) { return p.name == name; });
    return it == props.end() ? nullptr : &it->value;
}

template <typename T>
T value_of(const std::vector<tu::property>& props, const std::string& name) {
    const auto* v = find(props, name);
    BOOST_TEST_REQUIRE(v != nullptr, name << " is set");
    BOOST_TEST_REQUIRE(std::holds_alternative<T>(*v), name << " has the expected type");
    return std::get<T>(*v);
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_unit_is_named_after_the_script_the_daemon_and_a_counter) {
    BOOST_TEST(tu::unit_name("/etc/mtce/goenabled.d/60-disk", 1234, 7) ==
               "mtce-script-60-disk-1234-7.service");
}

BOOST_AUTO_TEST_CASE(characters_a_unit_name_cannot_hold_become_underscores) {
    BOOST_TEST(tu::unit_name("/etc/x/my script@2+é", 1, 2) == "mtce-script-my_script_2___-1-2.service");
}

BOOST_AUTO_TEST_CASE(a_long_script_name_is_cut_and_an_empty_one_named) {
    const std::string name = tu::unit_name("/x/" + std::string(300, 'a'), 1, 1);
    BOOST_TEST(name == "mtce-script-" + std::string(64, 'a') + "-1-1.service");
    BOOST_TEST(tu::unit_name("/x/", 1, 1) == "mtce-script-script-1-1.service");
}

BOOST_AUTO_TEST_CASE(every_unit_name_starts_with_the_prefix_the_polkit_rule_allows) {
    BOOST_TEST(tu::unit_name("/bin/sh", 99, 1).rfind(tu::unit_prefix, 0) == 0U);
}

BOOST_AUTO_TEST_CASE(the_unit_runs_the_program_with_its_arguments_environment_and_directory) {
    const auto props = tu::properties(sample_spec());
    const auto exec = value_of<tu::exec_command>(props, "ExecStart");
    BOOST_TEST(exec.path == "/etc/mtce/goenabled.d/60-disk");
    BOOST_TEST(exec.argv == (std::vector<std::string>{"/etc/mtce/goenabled.d/60-disk", "start"}),
               boost::test_tools::per_element());
    BOOST_TEST(!exec.ignore_failure);
    BOOST_TEST(value_of<std::vector<std::string>>(props, "Environment") ==
                   (std::vector<std::string>{"PATH=/usr/bin:/bin", "MTCE_FUNCTION=worker"}),
               boost::test_tools::per_element());
    BOOST_TEST(value_of<std::string>(props, "WorkingDirectory") == "/");
    BOOST_TEST(value_of<std::string>(props, "Description") ==
               "mtce script /etc/mtce/goenabled.d/60-disk start");
}

BOOST_AUTO_TEST_CASE(a_start_succeeds_only_once_the_program_was_executed) {
    BOOST_TEST(value_of<std::string>(tu::properties(sample_spec()), "Type") == "exec");
}

BOOST_AUTO_TEST_CASE(output_goes_to_the_daemons_pipes_and_input_is_empty) {
    const auto props = tu::properties(sample_spec());
    BOOST_TEST((value_of<tu::stdio_fd>(props, "StandardOutputFileDescriptor") == tu::stdio_fd::out));
    BOOST_TEST((value_of<tu::stdio_fd>(props, "StandardErrorFileDescriptor") == tu::stdio_fd::err));
    BOOST_TEST(value_of<std::string>(props, "StandardInput") == "null");
}

BOOST_AUTO_TEST_CASE(a_stop_signals_the_whole_cgroup_and_kills_it_after_the_grace) {
    const auto props = tu::properties(sample_spec());
    BOOST_TEST(value_of<std::string>(props, "KillMode") == "control-group");
    BOOST_TEST(value_of<bool>(props, "SendSIGKILL"));
    BOOST_TEST(value_of<std::uint64_t>(props, "TimeoutStopUSec") == 5'000'000U);
}

BOOST_AUTO_TEST_CASE(the_unit_ends_by_itself_if_the_daemon_cannot_stop_it) {
    // deadline 600 s + grace 5 s + 30 s margin.
    BOOST_TEST(value_of<std::uint64_t>(tu::properties(sample_spec()), "RuntimeMaxUSec") == 635'000'000U);
    auto spec = sample_spec();
    spec.deadline = std::chrono::milliseconds::max();
    BOOST_TEST(value_of<std::uint64_t>(tu::properties(spec), "RuntimeMaxUSec") <
               400ULL * 24 * 3600 * 1'000'000);
}

BOOST_AUTO_TEST_CASE(the_unit_is_kept_until_its_result_is_read_then_collected_even_when_failed) {
    const auto props = tu::properties(sample_spec());
    BOOST_TEST(value_of<bool>(props, "AddRef"));
    BOOST_TEST(value_of<std::string>(props, "CollectMode") == "inactive-or-failed");
}

BOOST_AUTO_TEST_CASE(the_script_gets_default_signal_dispositions_as_a_child_would) {
    BOOST_TEST(!value_of<bool>(tu::properties(sample_spec()), "IgnoreSIGPIPE"));
}

BOOST_AUTO_TEST_CASE(the_unit_runs_as_root_so_no_user_is_set) {
    const auto props = tu::properties(sample_spec());
    BOOST_TEST(find(props, "User") == nullptr);
    BOOST_TEST(find(props, "DynamicUser") == nullptr);
}

BOOST_AUTO_TEST_CASE(an_exit_status_becomes_the_exit_code) {
    mtce::child_result result;
    tu::apply_outcome(sample_spec(), {"done", CLD_EXITED, 3, "exit-code"}, result);
    BOOST_TEST(result.started);
    BOOST_TEST((result.exit_code == 3));
    BOOST_TEST(!result.signal);
    BOOST_TEST(result.describe() == "exit code 3");
}

BOOST_AUTO_TEST_CASE(a_clean_exit_is_ok) {
    mtce::child_result result;
    tu::apply_outcome(sample_spec(), {"done", CLD_EXITED, 0, "success"}, result);
    BOOST_TEST(result.ok());
}

BOOST_AUTO_TEST_CASE(a_killed_or_dumped_main_process_reports_its_signal) {
    for (const int code : {CLD_KILLED, CLD_DUMPED}) {
        mtce::child_result result;
        tu::apply_outcome(sample_spec(), {"done", code, SIGKILL, "signal"}, result);
        BOOST_TEST(result.started);
        BOOST_TEST((result.signal == SIGKILL));
        BOOST_TEST(!result.exit_code);
    }
}

BOOST_AUTO_TEST_CASE(a_failed_start_job_is_a_start_error_with_systemds_status) {
    mtce::child_result result;
    tu::apply_outcome(sample_spec(), {"failed", CLD_EXITED, 203, "exit-code"}, result);
    BOOST_TEST(!result.started);
    BOOST_TEST(!result.exit_code);
    BOOST_TEST(
        result.describe() ==
        "could not start '/etc/mtce/goenabled.d/60-disk': systemd could not start it (job failed, unit "
        "result exit-code, status 203)");
}

BOOST_AUTO_TEST_CASE(a_job_never_seen_is_reported_as_unknown) {
    mtce::child_result result;
    tu::apply_outcome(sample_spec(), {"", 0, 0, ""}, result);
    BOOST_TEST(!result.started);
    BOOST_TEST(result.start_error.find("job unknown") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(without_a_system_bus_the_script_is_reported_as_not_started) {
    BOOST_TEST_REQUIRE(::setenv("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent/mtce-test-bus", 1) == 0);
    auto spec = sample_spec();
    spec.program = "/bin/true";
    spec.deadline = 5s;
    const auto started_at = std::chrono::steady_clock::now();
    const auto result = mtce::test::run_awaitable(mtce::run_transient_unit(spec));
    BOOST_TEST(!result.started);
    BOOST_TEST(result.start_error.find("system bus") != std::string::npos, result.start_error);
    BOOST_TEST((std::chrono::steady_clock::now() - started_at < 2s));
}

BOOST_AUTO_TEST_CASE(a_relative_program_is_refused_before_the_bus_is_asked) {
    auto spec = sample_spec();
    spec.program = "true";
    const auto result = mtce::test::run_awaitable(mtce::run_transient_unit(spec));
    BOOST_TEST(!result.started);
    BOOST_TEST(result.start_error.find("not absolute") != std::string::npos);
}
