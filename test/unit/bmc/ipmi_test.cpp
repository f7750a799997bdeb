// The IPMI driver's sans-io parts: ipmitool's command lines, the strict parsing of what it prints, the
// classification of its failures, the retry schedule. The outputs are those of ipmitool 1.8.19 (Debian 12),
// as seen against ipmi_sim and as printed by ipmitool's lanplus and chassis code.
#define BOOST_TEST_MODULE bmc_ipmi_test
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "bmc/ipmi.hpp"

using namespace std::chrono_literals;
using mtce::child_result;
using mtce::bmc::errc;
using mtce::bmc::power_state;
namespace ipmi = mtce::bmc::ipmi;
using op = mtce::bmc::ipmi::operation;

namespace {

/// What ipmitool -v prints on stderr on every run that reaches ipmi_sim.
const std::string verbose_chatter =
    "Loading IANA PEN Registry...\n"
    "Running Get VSO Capabilities my_addr 0x20, transit 0, target 0x20\n"
    "Invalid completion code received: Invalid command\n"
    "Discovered IPMB address 0x0\n";

child_result exited(int code, std::string out, std::string err = "") {
    child_result r;
    r.started = true;
    r.exit_code = code;
    r.out = std::move(out);
    r.err = std::move(err);
    r.elapsed = 120ms;
    return r;
}

child_result succeeded(std::string out) {
    return exited(0, std::move(out), verbose_chatter);
}

child_result failed(std::string err) {
    return exited(1, "", std::move(err));
}

errc code_of(op o, const child_result& r) {
    auto parsed = ipmi::parse(o, r);
    BOOST_REQUIRE(!parsed);
    return parsed.error().code;
}

std::string message_of(op o, const child_result& r) {
    auto parsed = ipmi::parse(o, r);
    BOOST_REQUIRE(!parsed);
    return parsed.error().message;
}

bool has(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

const std::vector<op> control_ops{op::power_on, op::power_off, op::power_cycle, op::reset, op::bootdev_pxe};

}  // namespace

BOOST_AUTO_TEST_SUITE(power_status)

BOOST_AUTO_TEST_CASE(on_and_off_are_read_from_the_one_line_ipmitool_prints) {
    BOOST_TEST(
        (ipmi::parse(op::power_status, succeeded("Chassis Power is on\n")).value() == power_state::on));
    BOOST_TEST(
        (ipmi::parse(op::power_status, succeeded("Chassis Power is off\n")).value() == power_state::off));
}

BOOST_AUTO_TEST_CASE(the_trailing_newline_is_optional) {
    BOOST_TEST((ipmi::parse(op::power_status, succeeded("Chassis Power is on")).value() == power_state::on));
}

BOOST_AUTO_TEST_CASE(anything_but_exactly_that_line_is_a_bad_answer) {
    for (const char* out :
         {"", "\n", "Chassis Power is On\n", "Chassis Power is unknown\n", "Chassis Power is\n",
          " Chassis Power is on\n", "Chassis Power is on \n", "Chassis Power is on\r\n",
          "Chassis Power is on\n\n", "Chassis Power is on\nChassis Power is off\n",
          "Chassis Power Control: Up/On\n", "System Power         : on\n", "\x01\x02garbage"}) {
        BOOST_TEST_CONTEXT("stdout: \"" << out << "\"") {
            BOOST_TEST((code_of(op::power_status, succeeded(out)) == errc::bad_answer));
        }
    }
}

BOOST_AUTO_TEST_CASE(a_bad_answer_quotes_what_was_printed_printably_and_bounded) {
    std::string garbage(10000, 'x');
    garbage[3] = '\x1b';
    std::string message = message_of(op::power_status, exited(0, garbage));
    BOOST_TEST(has(message, "chassis power status"));
    BOOST_TEST(has(message, "unexpected output"));
    BOOST_TEST(has(message, "xxx?xxx"));
    BOOST_TEST(message.size() < 400U);
}

BOOST_AUTO_TEST_CASE(the_verbose_chatter_is_never_quoted) {
    std::string message = message_of(op::power_status, succeeded("Chassis Power is maybe\n"));
    BOOST_TEST(has(message, "Chassis Power is maybe"));
    BOOST_TEST(!has(message, "IANA"));
    BOOST_TEST(!has(message, "VSO"));
    BOOST_TEST(!has(message, "Invalid command"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(control_commands)

BOOST_AUTO_TEST_CASE(each_command_succeeds_on_its_own_line) {
    const std::vector<std::pair<op, std::string>> good{
        {op::power_on, "Chassis Power Control: Up/On\n"},
        {op::power_off, "Chassis Power Control: Down/Off\n"},
        {op::power_cycle, "Chassis Power Control: Cycle\n"},
        {op::reset, "Chassis Power Control: Reset\n"},
        {op::bootdev_pxe, "Set Boot Device to pxe\n"},
    };
    for (const auto& [o, line] : good) {
        BOOST_TEST_CONTEXT(ipmi::command_text(o)) {
            auto parsed = ipmi::parse(o, succeeded(line));
            BOOST_TEST(parsed.has_value());
            BOOST_TEST((parsed.value() == power_state::unknown));
        }
    }
}

BOOST_AUTO_TEST_CASE(the_line_of_another_command_is_a_bad_answer) {
    for (op o : control_ops) {
        for (op other : control_ops) {
            if (o == other) {
                continue;
            }
            std::string line{ipmi::success_line(other)};
            BOOST_TEST_CONTEXT(ipmi::command_text(o) << " printing \"" << line << "\"") {
                BOOST_TEST((code_of(o, succeeded(line + "\n")) == errc::bad_answer));
            }
        }
        BOOST_TEST((code_of(o, succeeded("Chassis Power is on\n")) == errc::bad_answer));
        BOOST_TEST((code_of(o, succeeded("")) == errc::bad_answer));
    }
}

BOOST_AUTO_TEST_CASE(the_expected_line_with_a_failing_exit_code_is_no_success) {
    auto run = exited(1, "Chassis Power Control: Up/On\n");
    BOOST_TEST(!ipmi::parse(op::power_on, run).has_value());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(failures)

BOOST_AUTO_TEST_CASE(a_wrong_password_is_refused_credentials) {
    auto run = failed(verbose_chatter.substr(0, 29) + "> RAKP 2 HMAC is invalid\n" +
                      "Error: Unable to establish IPMI v2 / RMCP+ session\n");
    BOOST_TEST((code_of(op::power_status, run) == errc::auth));
    std::string message = message_of(op::power_status, run);
    BOOST_TEST(has(message, "chassis power status"));
    BOOST_TEST(has(message, "RAKP 2 HMAC is invalid"));
    BOOST_TEST(has(message, "Unable to establish IPMI v2 / RMCP+ session"));
}

BOOST_AUTO_TEST_CASE(an_unknown_user_a_bad_rakp_4_or_a_privilege_refused_are_refused_credentials) {
    for (const char* err : {"RAKP 2 message indicates an error : unauthorized name\n"
                            "Error: Unable to establish IPMI v2 / RMCP+ session\n",
                            "> RAKP 4 message has invalid integrity check value\n"
                            "Error: Unable to establish IPMI v2 / RMCP+ session\n",
                            "RAKP 4 message indicates an error : invalid integrity check value\n",
                            "Error in open session response message : unauthorized role or privilege level "
                            "requested\nError: Unable to establish IPMI v2 / RMCP+ session\n",
                            "Set Session Privilege Level to ADMINISTRATOR failed\n"
                            "Error: Unable to establish IPMI v2 / RMCP+ session\n"}) {
        BOOST_TEST_CONTEXT(err) {
            BOOST_TEST((code_of(op::power_on, failed(err)) == errc::auth));
        }
    }
}

BOOST_AUTO_TEST_CASE(a_bmc_that_does_not_answer_is_unreachable) {
    for (const char* err : {"Get Auth Capabilities error\n"
                            "Error issuing Get Channel Authentication Capabilities request\n"
                            "Error: Unable to establish IPMI v2 / RMCP+ session\n",
                            "Unable to Get Channel Cipher Suites\nGet Auth Capabilities error\n"
                            "Error issuing Get Channel Authentication Capabilities request\n"
                            "Error: Unable to establish IPMI v2 / RMCP+ session\n",
                            "> Error: no response from RAKP 1 message\n"
                            "Error: Unable to establish IPMI v2 / RMCP+ session\n",
                            "> Error: no response from RAKP 3 message\n"
                            "Error: Unable to establish IPMI v2 / RMCP+ session\n",
                            "No response from remote controller\n",
                            "Address lookup for bmc.invalid failed\nCould not open socket!\n"
                            "Error: Unable to establish IPMI v2 / RMCP+ session\n"}) {
        BOOST_TEST_CONTEXT(err) {
            BOOST_TEST((code_of(op::power_status, failed(err)) == errc::unreachable));
        }
    }
}

BOOST_AUTO_TEST_CASE(no_answer_to_the_command_inside_a_session_is_unreachable) {
    BOOST_TEST(
        (code_of(op::power_status, failed("Unable to get Chassis Power Status\n")) == errc::unreachable));
    BOOST_TEST((code_of(op::power_on, failed("Unable to set Chassis Power Control to Up/On\n")) ==
                errc::unreachable));
    BOOST_TEST(
        (code_of(op::bootdev_pxe, failed("Error setting Chassis Boot Parameter 5\n")) == errc::unreachable));
}

BOOST_AUTO_TEST_CASE(a_completion_code_or_any_other_ipmitool_error_is_refused) {
    for (const char* err : {"Set Chassis Power Control to Cycle failed: Invalid data field in request\n",
                            "Set Chassis Power Control to Reset failed: Unspecified error\n",
                            "Get Chassis Power Status failed: Node busy\n",
                            "Set Chassis Boot Parameter 5 failed: Unsupported parameter\n",
                            "Error in open session response message : invalid authentication algorithm\n"
                            "Error: Unable to establish IPMI v2 / RMCP+ session\n",
                            "Error: Unable to establish IPMI v2 / RMCP+ session\n",
                            "Invalid chassis power command: frobnicate\n", ""}) {
        BOOST_TEST_CONTEXT(err) {
            BOOST_TEST((code_of(op::power_cycle, failed(err)) == errc::refused));
        }
    }
    std::string message =
        message_of(op::power_cycle, failed("Set Chassis Power Control to Cycle failed: Node busy\n"));
    BOOST_TEST(has(message, "chassis power cycle"));
    BOOST_TEST(has(message, "exit code 1"));
    BOOST_TEST(has(message, "Set Chassis Power Control to Cycle failed: Node busy"));
}

BOOST_AUTO_TEST_CASE(a_run_killed_at_its_deadline_is_a_timeout) {
    child_result run;
    run.started = true;
    run.timed_out = true;
    run.signal = 15;
    run.elapsed = 3000ms;
    BOOST_TEST((code_of(op::reset, run) == errc::timeout));
    BOOST_TEST(has(message_of(op::reset, run), "chassis power reset"));
    // Whatever it printed before it was killed does not make it a success.
    run.out = "Chassis Power Control: Reset\n";
    BOOST_TEST((code_of(op::reset, run) == errc::timeout));
}

BOOST_AUTO_TEST_CASE(an_ipmitool_that_cannot_start_or_crashes_is_refused) {
    child_result missing;
    missing.start_error = "could not start '/nonexistent/ipmitool': No such file or directory";
    BOOST_TEST((code_of(op::power_status, missing) == errc::refused));
    BOOST_TEST(has(message_of(op::power_status, missing), "/nonexistent/ipmitool"));

    child_result crashed;
    crashed.started = true;
    crashed.signal = 11;
    BOOST_TEST((code_of(op::power_status, crashed) == errc::refused));
}

BOOST_AUTO_TEST_CASE(only_silence_and_lateness_are_worth_another_attempt) {
    using mtce::bmc::error;
    using mtce::bmc::worth_retrying;
    BOOST_TEST(worth_retrying(error{errc::timeout, 0, ""}, true));
    BOOST_TEST(worth_retrying(error{errc::unreachable, 0, ""}, true));
    for (errc e : {errc::auth, errc::tls, errc::unsupported, errc::refused, errc::bad_answer}) {
        BOOST_TEST(!worth_retrying(error{e, 0, ""}, true));
    }
    // A reset or power cycle goes again only when it provably never reached the BMC.
    BOOST_TEST(!worth_retrying(error{errc::timeout, 0, ""}, false));
    BOOST_TEST(!worth_retrying(error{errc::unreachable, 0, ""}, false));
    BOOST_TEST(worth_retrying(error{errc::unreachable, 0, "", false}, false));
    BOOST_TEST(!ipmi::repeatable(op::reset));
    BOOST_TEST(!ipmi::repeatable(op::power_cycle));
    for (op o : {op::power_status, op::power_on, op::power_off, op::bootdev_pxe}) {
        BOOST_TEST(ipmi::repeatable(o));
    }
}

BOOST_AUTO_TEST_CASE(silence_before_the_session_proves_the_command_never_went_out) {
    const auto before = ipmi::parse(
        op::reset,
        failed("Get Auth Capabilities error\nError: Unable to establish IPMI v2 / RMCP+ session\n"));
    BOOST_REQUIRE(!before);
    BOOST_TEST((before.error().code == errc::unreachable));
    BOOST_TEST(!before.error().may_have_reached);
    const auto inside = ipmi::parse(op::reset, failed("Unable to set Chassis Power Control to Reset\n"));
    BOOST_REQUIRE(!inside);
    BOOST_TEST((inside.error().code == errc::unreachable));
    BOOST_TEST(inside.error().may_have_reached);
}

BOOST_AUTO_TEST_CASE(a_secret_is_masked_wherever_it_appears) {
    BOOST_TEST(mtce::bmc::redact("pw=hunter2 and hunter2hunter2", "hunter2") == "pw=**** and ********");
    BOOST_TEST(mtce::bmc::redact("nothing here", "hunter2") == "nothing here");
    BOOST_TEST(mtce::bmc::redact("an empty secret masks nothing", "") == "an empty secret masks nothing");
    BOOST_TEST(mtce::bmc::redact("aaaa", "aa") == "********");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(command_lines)

BOOST_AUTO_TEST_CASE(the_arguments_name_the_bmc_and_user_but_never_the_password) {
    mtce::bmc::endpoint bmc{"192.0.2.10", 0, "admin", "s3cret-Pw", true};
    mtce::bmc::timing t{20s, 3, 1s};
    auto args = ipmi::arguments(bmc, t, {}, op::power_status);
    const std::vector<std::string> expected{"-I",    "lanplus", "-H",      "192.0.2.10", "-U",
                                            "admin", "-E",      "-N",      "5",          "-R",
                                            "1",     "-v",      "chassis", "power",      "status"};
    BOOST_TEST(args == expected, boost::test_tools::per_element());
    for (const std::string& a : args) {
        BOOST_TEST(!has(a, "s3cret"));
    }
}

BOOST_AUTO_TEST_CASE(a_port_and_a_cipher_suite_are_passed_when_set) {
    mtce::bmc::endpoint bmc{"127.0.0.1", 9623, "op", "pw", true};
    mtce::bmc::timing t{3s, 1, 100ms};
    mtce::bmc::ipmi_options options;
    options.cipher_suite = 3;
    auto args = ipmi::arguments(bmc, t, options, op::bootdev_pxe);
    const std::vector<std::string> expected{"-I", "lanplus", "-H",      "127.0.0.1", "-p", "9623", "-U",
                                            "op", "-E",      "-C",      "3",         "-N", "1",    "-R",
                                            "1",  "-v",      "chassis", "bootdev",   "pxe"};
    BOOST_TEST(args == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(every_operation_has_its_ipmitool_command) {
    BOOST_TEST(ipmi::command_text(op::power_status) == "chassis power status");
    BOOST_TEST(ipmi::command_text(op::power_on) == "chassis power on");
    BOOST_TEST(ipmi::command_text(op::power_off) == "chassis power off");
    BOOST_TEST(ipmi::command_text(op::power_cycle) == "chassis power cycle");
    BOOST_TEST(ipmi::command_text(op::reset) == "chassis power reset");
    BOOST_TEST(ipmi::command_text(op::bootdev_pxe) == "chassis bootdev pxe");
}

BOOST_AUTO_TEST_CASE(ipmitools_own_timeout_is_a_quarter_of_the_request_timeout_and_at_least_a_second) {
    BOOST_TEST(ipmi::limits_for(20s).timeout_s == 5U);
    BOOST_TEST(ipmi::limits_for(8s).timeout_s == 2U);
    BOOST_TEST(ipmi::limits_for(3s).timeout_s == 1U);
    BOOST_TEST(ipmi::limits_for(200ms).timeout_s == 1U);
    BOOST_TEST(ipmi::limits_for(std::chrono::hours(24 * 365)).timeout_s == 24U * 3600U);
    BOOST_TEST(ipmi::limits_for(20s).retries == 1U);
}

BOOST_AUTO_TEST_CASE(the_backoff_doubles_up_to_eight_times_the_first_pause) {
    mtce::bmc::timing t{20s, 6, 250ms};
    std::vector<long> pauses;
    for (unsigned retry = 0; retry < 6; ++retry) {
        pauses.push_back(static_cast<long>(mtce::bmc::backoff_delay(t, retry).count()));
    }
    const std::vector<long> expected{250, 500, 1000, 2000, 2000, 2000};
    BOOST_TEST(pauses == expected, boost::test_tools::per_element());
    BOOST_TEST(mtce::bmc::backoff_delay(t, 1000).count() == 2000);
}

BOOST_AUTO_TEST_SUITE_END()
