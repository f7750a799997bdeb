#define BOOST_TEST_MODULE cli_host_commands_test
// The pure parts of `mtce host add|delete|lock...|wait`: option checks, the request document, the BMC
// password file, the action names and the state `host wait` waits for.
#include <boost/test/unit_test.hpp>

#include <nlohmann/json.hpp>

#include "cli/host_commands.hpp"
#include "scratch.hpp"

using namespace mtce::cli;
using nlohmann::json;

namespace {

add_options minimal() {
    add_options o;
    o.name = "worker-1";
    o.personality = "worker";
    o.mgmt_ip = "10.0.0.11";
    return o;
}

add_options with_bmc() {
    auto o = minimal();
    o.bmc_type = "redfish";
    o.bmc_address = "10.9.0.11:443";
    o.bmc_username = "root";
    o.bmc_password_file = "/some/file";
    return o;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(modify)

BOOST_AUTO_TEST_CASE(only_the_options_given_are_sent) {
    modify_options o;
    o.name = "worker-1";
    o.bmc_username = "operator";
    BOOST_TEST(modify_host_document(o).value() == (json{{"bmc_username", "operator"}}));
    o.bmc_insecure = true;
    BOOST_TEST(modify_host_document(o).value() ==
               (json{{"bmc_username", "operator"}, {"bmc_insecure", true}}));
    o = {};
    o.bmc_verify = true;
    o.bmc_type = "none";
    BOOST_TEST(modify_host_document(o).value() == (json{{"bmc_type", "none"}, {"bmc_insecure", false}}));
    o = {};
    o.bmc_password_file = "/some/file";  // the caller adds the password
    BOOST_TEST(modify_host_document(o).value() == json::object());
}

BOOST_AUTO_TEST_CASE(nothing_to_change_or_a_contradiction_is_a_usage_error) {
    modify_options o;
    o.name = "worker-1";
    BOOST_TEST(modify_host_document(o).error().starts_with("nothing to change"));
    o.bmc_insecure = true;
    o.bmc_verify = true;
    BOOST_TEST(modify_host_document(o).error() == "--bmc-insecure and --bmc-verify contradict each other");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(add)

BOOST_AUTO_TEST_CASE(subfunctions_are_split_at_commas_and_trimmed) {
    BOOST_TEST(split_subfunctions("worker").value() == std::vector<std::string>{"worker"});
    BOOST_TEST(split_subfunctions("worker, storage").value() ==
               (std::vector<std::string>{"worker", "storage"}));
    BOOST_TEST(split_subfunctions("").value().empty());
    BOOST_TEST(split_subfunctions("  ").value().empty());
    for (const char* bad : {"a,", ",a", "a,,b", "a, ,b", ","}) {
        BOOST_TEST(!split_subfunctions(bad).has_value(), bad);
    }
    BOOST_TEST(split_subfunctions("a,,b").error() == "--subfunctions 'a,,b' has an empty name");
}

BOOST_AUTO_TEST_CASE(the_document_has_the_required_fields_and_only_the_options_given) {
    BOOST_TEST(add_host_document(minimal()).value() ==
               (json{{"name", "worker-1"}, {"personality", "worker"}, {"mgmt_ip", "10.0.0.11"}}));
    auto o = with_bmc();
    o.subfunctions = "worker";
    o.cluster_ip = "10.1.0.11";
    const auto doc = add_host_document(o).value();
    BOOST_TEST(doc == (json{{"name", "worker-1"},
                            {"personality", "worker"},
                            {"mgmt_ip", "10.0.0.11"},
                            {"subfunctions", {"worker"}},
                            {"cluster_ip", "10.1.0.11"},
                            {"bmc_type", "redfish"},
                            {"bmc_address", "10.9.0.11:443"},
                            {"bmc_username", "root"}}));
    BOOST_TEST(!doc.contains("bmc_password"));
}

BOOST_AUTO_TEST_CASE(a_bmc_type_needs_address_user_and_password_file) {
    auto o = with_bmc();
    o.bmc_username.clear();
    o.bmc_password_file.clear();
    BOOST_TEST(add_host_document(o).error() ==
               "--bmc-type redfish needs --bmc-username and --bmc-password-file");
    o = with_bmc();
    o.bmc_type = "ipmi";
    o.bmc_address.clear();
    BOOST_TEST(add_host_document(o).error() == "--bmc-type ipmi needs --bmc-address");
}

BOOST_AUTO_TEST_CASE(bmc_options_without_a_bmc_type_are_refused) {
    auto o = with_bmc();
    o.bmc_type.clear();
    BOOST_TEST(
        add_host_document(o).error() ==
        "--bmc-address and --bmc-username and --bmc-password-file need --bmc-type redfish, ipmi or auto");
    o.bmc_type = "none";
    o.bmc_address.clear();
    o.bmc_password_file.clear();
    BOOST_TEST(add_host_document(o).error() == "--bmc-username need --bmc-type redfish, ipmi or auto");
    auto none = minimal();
    none.bmc_type = "none";
    BOOST_TEST(add_host_document(none).value()["bmc_type"] == "none");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(password_file)

BOOST_AUTO_TEST_CASE(one_trailing_newline_is_stripped_and_nothing_else) {
    mtce::test::scratch s;
    BOOST_TEST(read_password_file(s.write("a", "s3cret\n", 0600)).value().password == "s3cret");
    BOOST_TEST(read_password_file(s.write("b", "s3cret", 0600)).value().password == "s3cret");
    BOOST_TEST(read_password_file(s.write("c", " two words \n\n", 0600)).value().password == " two words \n");
    BOOST_TEST(!read_password_file(s.write("d", "s3cret\n", 0600)).value().warning.has_value());
}

BOOST_AUTO_TEST_CASE(a_file_others_can_read_is_accepted_with_a_warning) {
    mtce::test::scratch s;
    for (const mode_t mode : {0640, 0604, 0644}) {
        const auto f = s.write("pw", "s3cret\n", mode);
        const auto r = read_password_file(f);
        BOOST_REQUIRE(r.has_value());
        BOOST_TEST(r->password == "s3cret");
        BOOST_REQUIRE(r->warning.has_value());
        BOOST_TEST(
            r->warning->starts_with("the BMC password file '" + f.string() + "' is readable by other users"),
            *r->warning);
        BOOST_TEST(r->warning->find("s3cret") == std::string::npos);
    }
}

BOOST_AUTO_TEST_CASE(a_missing_empty_oversized_or_unreadable_file_is_an_error_naming_it) {
    mtce::test::scratch s;
    const auto missing = s.path() / "missing";
    BOOST_TEST(read_password_file(missing).error() ==
               "the BMC password file '" + missing.string() + "' cannot be read: No such file or directory");
    const auto empty = s.write("empty", "", 0600);
    BOOST_TEST(read_password_file(empty).error() ==
               "the BMC password file '" + empty.string() + "' is empty");
    BOOST_TEST(read_password_file(s.write("newline", "\n", 0600)).error().ends_with("' is empty"));
    BOOST_TEST(read_password_file(s.write("big", std::string(5000, 'x'), 0600))
                   .error()
                   .ends_with("' is larger than 4096 bytes"));
    BOOST_TEST(read_password_file(s.path()).error().starts_with("the BMC password file '" +
                                                                s.path().string() + "' cannot be read: "));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(an_action_is_its_command_and_force_applies_only_to_lock) {
    for (const char* c :
         {"lock", "unlock", "reboot", "reset", "power-on", "power-off", "power-cycle", "reinstall"}) {
        BOOST_TEST(action_for(c, false).value() == c);
    }
    BOOST_TEST(action_for("lock", true).value() == "force-lock");
    BOOST_TEST(action_for("unlock", true).error() == "--force applies only to lock, not to unlock");
    BOOST_TEST(!action_for("power-off", true).has_value());
}

BOOST_AUTO_TEST_SUITE(wait_state)

BOOST_AUTO_TEST_CASE(three_words_from_the_state_vocabulary_are_accepted_dashes_in_the_last_included) {
    const auto a = parse_wait_state("unlocked-enabled-available").value();
    BOOST_TEST(a.administrative == "unlocked");
    BOOST_TEST(a.operational == "enabled");
    BOOST_TEST(a.availability == "available");
    const auto b = parse_wait_state("locked-disabled-power-off").value();
    BOOST_TEST(b.administrative == "locked");
    BOOST_TEST(b.operational == "disabled");
    BOOST_TEST(b.availability == "power-off");
    BOOST_TEST(parse_wait_state("locked-disabled-not-installed").value().availability == "not-installed");
    for (const char* ok :
         {"locked-disabled-online", "unlocked-disabled-intest", "unlocked-disabled-failed",
          "unlocked-enabled-degraded", "locked-disabled-offline", "locked-disabled-offduty"}) {
        BOOST_TEST(parse_wait_state(ok).has_value(), ok);
    }
}

BOOST_AUTO_TEST_CASE(anything_else_is_refused_saying_which_word_is_wrong) {
    for (const char* bad :
         {"", "unlocked", "unlocked-enabled", "Unlocked-enabled-available", "unlocked-enabled-available-",
          "unlocked-enabled-availablex", "locked--online", "-enabled-available", "unlocked-enabled-",
          "unlocked-enabled-power", "locked-disabled-off"}) {
        BOOST_TEST(!parse_wait_state(bad).has_value(), bad);
    }
    BOOST_TEST(parse_wait_state("unlocked").error() ==
               "--state 'unlocked': expected ADMIN-OPER-AVAIL, e.g. unlocked-enabled-available");
    BOOST_TEST(parse_wait_state("open-enabled-available").error() ==
               "--state 'open-enabled-available': 'open' is not an administrative state: locked or unlocked");
    BOOST_TEST(parse_wait_state("locked-up-online").error() ==
               "--state 'locked-up-online': 'up' is not an operational state: disabled or enabled");
    BOOST_TEST(
        parse_wait_state("locked-disabled-asleep").error() ==
        "--state 'locked-disabled-asleep': 'asleep' is not an availability: available, degraded, failed, "
        "intest, not-installed, offduty, offline, online or power-off");
}

BOOST_AUTO_TEST_CASE(a_host_matches_when_all_three_states_are_equal) {
    const auto w = parse_wait_state("unlocked-enabled-available").value();
    json h{{"administrative", "unlocked"}, {"operational", "enabled"}, {"availability", "available"}};
    BOOST_TEST(w.matches(h));
    h["availability"] = "degraded";
    BOOST_TEST(!w.matches(h));
    BOOST_TEST(!w.matches(json{{"administrative", "unlocked"}, {"operational", "enabled"}}));
    BOOST_TEST(
        !w.matches(json{{"administrative", 1}, {"operational", "enabled"}, {"availability", "available"}}));
    BOOST_TEST(!w.matches(json::array()));
}

BOOST_AUTO_TEST_SUITE_END()
