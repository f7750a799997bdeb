#define BOOST_TEST_MODULE bmc_redfish_test
// The Redfish driver's pure parts on documents shaped like the DMTF mockups and real BMCs: the service root,
// the Systems collection, a ComputerSystem's power, reset action and boot override, ActionInfo, error
// bodies; the choice of reset type, the back-off and the base URL; and the libcurl loader's failure.
#include <boost/test/unit_test.hpp>

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "bmc/curl.hpp"
#include "bmc/redfish.hpp"

using namespace std::chrono_literals;
namespace rf = mtce::bmc::redfish;
using mtce::bmc::errc;
using mtce::bmc::power_state;

namespace {

// The DMTF "public-rackmount1" mockup's service root, trimmed.
constexpr std::string_view rackmount_root = R"({
  "@odata.type": "#ServiceRoot.v1_11_0.ServiceRoot",
  "Id": "RootService",
  "Name": "Root Service",
  "RedfishVersion": "1.11.0",
  "UUID": "92384634-2938-2342-8820-489239905423",
  "Systems": {"@odata.id": "/redfish/v1/Systems"},
  "Chassis": {"@odata.id": "/redfish/v1/Chassis"},
  "Managers": {"@odata.id": "/redfish/v1/Managers"},
  "SessionService": {"@odata.id": "/redfish/v1/SessionService"},
  "AccountService": {"@odata.id": "/redfish/v1/AccountService"},
  "Links": {"Sessions": {"@odata.id": "/redfish/v1/SessionService/Sessions"}},
  "@odata.id": "/redfish/v1/"
})";

// A ComputerSystem as the mockup has it: allowable reset types on the action, a Boot object.
constexpr std::string_view rackmount_system = R"({
  "@odata.type": "#ComputerSystem.v1_13_0.ComputerSystem",
  "Id": "437XR1138R2",
  "Name": "WebFrontEnd483",
  "SystemType": "Physical",
  "Manufacturer": "Contoso",
  "Model": "3500",
  "SerialNumber": "437XR1138R2",
  "PowerState": "On",
  "Status": {"State": "Enabled", "Health": "OK", "HealthRollup": "OK"},
  "Boot": {
    "BootSourceOverrideEnabled": "Once",
    "BootSourceOverrideTarget": "Pxe",
    "BootSourceOverrideTarget@Redfish.AllowableValues": ["None", "Pxe", "Cd", "Usb", "Hdd", "BiosSetup",
                                                          "Utilities", "Diags", "SDCard", "UefiTarget"],
    "BootSourceOverrideMode": "UEFI"
  },
  "Actions": {
    "#ComputerSystem.Reset": {
      "target": "/redfish/v1/Systems/437XR1138R2/Actions/ComputerSystem.Reset",
      "ResetType@Redfish.AllowableValues": ["On", "ForceOff", "GracefulShutdown", "GracefulRestart",
                                            "ForceRestart", "Nmi", "ForceOn", "PushPowerButton"]
    },
    "Oem": {}
  },
  "@odata.id": "/redfish/v1/Systems/437XR1138R2"
})";

// An OpenBMC-style system: the reset types are only in the ActionInfo resource.
constexpr std::string_view action_info_system = R"({
  "@odata.id": "/redfish/v1/Systems/system",
  "@odata.type": "#ComputerSystem.v1_16_0.ComputerSystem",
  "Id": "system",
  "PowerState": "Off",
  "Boot": {"BootSourceOverrideEnabled": "Disabled", "BootSourceOverrideTarget": "None"},
  "Actions": {
    "#ComputerSystem.Reset": {
      "@Redfish.ActionInfo": "/redfish/v1/Systems/system/ResetActionInfo",
      "target": "/redfish/v1/Systems/system/Actions/ComputerSystem.Reset"
    }
  }
})";

constexpr std::string_view reset_action_info = R"({
  "@odata.id": "/redfish/v1/Systems/system/ResetActionInfo",
  "@odata.type": "#ActionInfo.v1_1_2.ActionInfo",
  "Id": "ResetActionInfo",
  "Name": "Reset Action Info",
  "Parameters": [
    {"Name": "ResetType", "Required": true, "DataType": "String",
     "AllowableValues": ["On", "ForceOff", "ForceOn", "ForceRestart", "GracefulRestart", "GracefulShutdown",
                         "PowerCycle", "Nmi"]}
  ]
})";

// An iDRAC-style error body: a generic message, the useful one in ExtendedInfo.
constexpr std::string_view extended_error = R"({
  "error": {
    "@Message.ExtendedInfo": [
      {"Message": "Unable to complete the operation because the resource is in the On state.",
       "MessageArgs": [], "MessageId": "IDRAC.2.8.PSU501", "RelatedProperties": [],
       "Resolution": "Power off the system and retry.", "Severity": "Warning"}
    ],
    "code": "Base.1.12.GeneralError",
    "message": "A general error has occurred. See ExtendedInfo for more information"
  }
})";

template <class T>
errc code_of(const mtce::bmc::result<T>& r) {
    BOOST_REQUIRE(!r.has_value());
    return r.error().code;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(service_root)

BOOST_AUTO_TEST_CASE(a_redfish_1_x_root_is_accepted_with_its_systems_and_sessions_links) {
    const auto root = rf::parse_service_root(rackmount_root);
    BOOST_REQUIRE(root.has_value());
    BOOST_TEST(root->version == "1.11.0");
    BOOST_TEST(root->systems == "/redfish/v1/Systems");
    BOOST_TEST(root->sessions == "/redfish/v1/SessionService/Sessions");
}

BOOST_AUTO_TEST_CASE(a_root_without_a_systems_link_uses_the_standard_path_and_without_session_service_none) {
    const auto root = rf::parse_service_root(R"({"RedfishVersion": "1.0.2"})");
    BOOST_REQUIRE(root.has_value());
    BOOST_TEST(root->systems == "/redfish/v1/Systems");
    BOOST_TEST(root->sessions.empty());
}

BOOST_AUTO_TEST_CASE(a_session_service_without_a_sessions_link_gets_the_standard_collection) {
    const auto root = rf::parse_service_root(
        R"({"RedfishVersion": "1.6.0", "SessionService": {"@odata.id": "/redfish/v1/SessionService"}})");
    BOOST_REQUIRE(root.has_value());
    BOOST_TEST(root->sessions == "/redfish/v1/SessionService/Sessions");
}

BOOST_AUTO_TEST_CASE(a_version_0_or_no_version_is_not_redfish) {
    BOOST_TEST((code_of(rf::parse_service_root(R"({"RedfishVersion": "0.94.0"})")) == errc::unsupported));
    BOOST_TEST((code_of(rf::parse_service_root(R"({"Name": "Root Service"})")) == errc::unsupported));
    BOOST_TEST((code_of(rf::parse_service_root(R"({"RedfishVersion": "v1"})")) == errc::unsupported));
    BOOST_TEST((code_of(rf::parse_service_root(R"({"RedfishVersion": 1})")) == errc::unsupported));
}

BOOST_AUTO_TEST_CASE(garbage_or_a_non_object_is_a_bad_answer) {
    BOOST_TEST((code_of(rf::parse_service_root("<html><body>Login</body></html>")) == errc::bad_answer));
    BOOST_TEST((code_of(rf::parse_service_root(R"({"RedfishVersion": "1.0.0")")) == errc::bad_answer));
    BOOST_TEST((code_of(rf::parse_service_root(R"(["RedfishVersion"])")) == errc::bad_answer));
    BOOST_TEST((code_of(rf::parse_service_root("")) == errc::bad_answer));
}

BOOST_AUTO_TEST_CASE(a_systems_link_that_is_not_a_path_is_refused) {
    const auto r = rf::parse_service_root(R"({"RedfishVersion": "1.1.0", "Systems": {"@odata.id": "/a b"}})");
    BOOST_TEST((code_of(r) == errc::bad_answer));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(systems_collection)

BOOST_AUTO_TEST_CASE(the_first_member_is_taken) {
    const auto m = rf::parse_first_member(R"({
      "@odata.type": "#ComputerSystemCollection.ComputerSystemCollection",
      "Name": "Computer System Collection",
      "Members@odata.count": 2,
      "Members": [{"@odata.id": "/redfish/v1/Systems/437XR1138R2"}, {"@odata.id": "/redfish/v1/Systems/2"}],
      "@odata.id": "/redfish/v1/Systems"})");
    BOOST_REQUIRE(m.has_value());
    BOOST_TEST(*m == "/redfish/v1/Systems/437XR1138R2");
}

BOOST_AUTO_TEST_CASE(an_empty_collection_is_unsupported_and_a_malformed_one_a_bad_answer) {
    BOOST_TEST((code_of(rf::parse_first_member(R"({"Members": [], "Members@odata.count": 0})")) ==
                errc::unsupported));
    BOOST_TEST(
        (code_of(rf::parse_first_member(R"({"Name": "Computer System Collection"})")) == errc::bad_answer));
    BOOST_TEST((code_of(rf::parse_first_member(R"({"Members": [{"Id": "1"}]})")) == errc::bad_answer));
    BOOST_TEST((code_of(rf::parse_first_member(R"({"Members": [{"@odata.id": "Systems/1"}]})")) ==
                errc::bad_answer));
    BOOST_TEST((code_of(rf::parse_first_member("{")) == errc::bad_answer));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(power_state_of_a_system)

BOOST_AUTO_TEST_CASE(on_and_powering_on_are_on_off_and_powering_off_are_off) {
    BOOST_TEST((*rf::parse_power_state(rackmount_system) == power_state::on));
    BOOST_TEST((*rf::parse_power_state(action_info_system) == power_state::off));
    BOOST_TEST((*rf::parse_power_state(R"({"PowerState": "PoweringOn"})") == power_state::on));
    BOOST_TEST((*rf::parse_power_state(R"({"PowerState": "PoweringOff"})") == power_state::off));
}

BOOST_AUTO_TEST_CASE(another_missing_or_null_power_state_is_unknown) {
    BOOST_TEST((*rf::parse_power_state(R"({"PowerState": "Paused"})") == power_state::unknown));
    BOOST_TEST((*rf::parse_power_state(R"({"PowerState": null})") == power_state::unknown));
    BOOST_TEST((*rf::parse_power_state(R"({"Id": "1"})") == power_state::unknown));
    BOOST_TEST((*rf::parse_power_state(R"({"PowerState": "on"})") == power_state::unknown));
}

BOOST_AUTO_TEST_CASE(a_system_that_is_not_json_is_a_bad_answer) {
    BOOST_TEST((code_of(rf::parse_power_state(R"({"PowerState": "On")")) == errc::bad_answer));
    BOOST_TEST((code_of(rf::parse_power_state("null")) == errc::bad_answer));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(reset_action)

BOOST_AUTO_TEST_CASE(the_target_and_allowable_values_are_read_from_the_action) {
    const auto a = rf::parse_reset_action(rackmount_system);
    BOOST_REQUIRE(a.has_value());
    BOOST_TEST(a->target == "/redfish/v1/Systems/437XR1138R2/Actions/ComputerSystem.Reset");
    const std::vector<std::string> expected{
        "On",           "ForceOff", "GracefulShutdown", "GracefulRestart",
        "ForceRestart", "Nmi",      "ForceOn",          "PushPowerButton"};
    BOOST_TEST(a->reset_types == expected, boost::test_tools::per_element());
    BOOST_TEST(a->action_info.empty());
}

BOOST_AUTO_TEST_CASE(without_allowable_values_the_action_info_is_named) {
    const auto a = rf::parse_reset_action(action_info_system);
    BOOST_REQUIRE(a.has_value());
    BOOST_TEST(a->target == "/redfish/v1/Systems/system/Actions/ComputerSystem.Reset");
    BOOST_TEST(a->reset_types.empty());
    BOOST_TEST(a->action_info == "/redfish/v1/Systems/system/ResetActionInfo");
}

BOOST_AUTO_TEST_CASE(non_string_allowable_values_are_skipped) {
    const auto a = rf::parse_reset_action(R"({"Actions": {"#ComputerSystem.Reset": {
        "target": "/r", "ResetType@Redfish.AllowableValues": ["On", 3, null, "ForceOff"]}}})");
    BOOST_REQUIRE(a.has_value());
    BOOST_TEST(a->reset_types == (std::vector<std::string>{"On", "ForceOff"}),
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_system_without_the_reset_action_is_unsupported) {
    BOOST_TEST((code_of(rf::parse_reset_action(R"({"PowerState": "On"})")) == errc::unsupported));
    BOOST_TEST((code_of(rf::parse_reset_action(R"({"Actions": {"Oem": {}}})")) == errc::unsupported));
    BOOST_TEST((code_of(rf::parse_reset_action(R"({"Actions": []})")) == errc::unsupported));
}

BOOST_AUTO_TEST_CASE(a_reset_action_without_a_target_path_is_a_bad_answer) {
    BOOST_TEST((code_of(rf::parse_reset_action(R"({"Actions": {"#ComputerSystem.Reset": {}}})")) ==
                errc::bad_answer));
    BOOST_TEST(
        (code_of(rf::parse_reset_action(
             R"({"Actions": {"#ComputerSystem.Reset": {"target": "http://evil/x"}}})")) == errc::bad_answer));
    BOOST_TEST((code_of(rf::parse_reset_action(R"({"Actions": {"#ComputerSystem.Reset": {"target": "/r",
                    "@Redfish.ActionInfo": "ResetActionInfo"}}})")) == errc::bad_answer));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(action_info)

BOOST_AUTO_TEST_CASE(the_reset_type_parameter_gives_the_allowable_values) {
    const auto v = rf::parse_action_info(reset_action_info);
    BOOST_REQUIRE(v.has_value());
    const std::vector<std::string> expected{
        "On",         "ForceOff", "ForceOn", "ForceRestart", "GracefulRestart", "GracefulShutdown",
        "PowerCycle", "Nmi"};
    BOOST_TEST(*v == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(only_the_parameter_named_reset_type_counts) {
    const auto v = rf::parse_action_info(R"({"Parameters": [
        {"Name": "Delay", "AllowableValues": ["1", "2"]},
        {"Name": "ResetType", "AllowableValues": ["ForceRestart"]}]})");
    BOOST_REQUIRE(v.has_value());
    BOOST_TEST(*v == (std::vector<std::string>{"ForceRestart"}), boost::test_tools::per_element());
    const auto none =
        rf::parse_action_info(R"({"Parameters": [{"Name": "Delay", "AllowableValues": ["1"]}]})");
    BOOST_REQUIRE(none.has_value());
    BOOST_TEST(none->empty());
    const auto unlisted =
        rf::parse_action_info(R"({"Parameters": [{"Name": "ResetType", "Required": true}]})");
    BOOST_REQUIRE(unlisted.has_value());
    BOOST_TEST(unlisted->empty());
}

BOOST_AUTO_TEST_CASE(an_action_info_without_parameters_or_json_is_a_bad_answer) {
    BOOST_TEST((code_of(rf::parse_action_info(R"({"Id": "ResetActionInfo"})")) == errc::bad_answer));
    BOOST_TEST((code_of(rf::parse_action_info("Parameters: ResetType")) == errc::bad_answer));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(boot_override)

BOOST_AUTO_TEST_CASE(pxe_is_offered_when_listed_or_when_no_list_is_given) {
    BOOST_TEST(*rf::parse_boot_override(rackmount_system));
    BOOST_TEST(*rf::parse_boot_override(action_info_system));
}

BOOST_AUTO_TEST_CASE(pxe_is_not_offered_without_a_boot_object_or_when_not_listed) {
    BOOST_TEST(!*rf::parse_boot_override(R"({"PowerState": "On"})"));
    BOOST_TEST(!*rf::parse_boot_override(
        R"({"Boot": {"BootSourceOverrideTarget@Redfish.AllowableValues": ["None", "Hdd", "Cd"]}})"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(error_bodies)

BOOST_AUTO_TEST_CASE(the_extended_info_message_is_preferred_to_the_generic_one) {
    BOOST_TEST(rf::error_message(extended_error) ==
               "Unable to complete the operation because the resource is in the On state.");
}

BOOST_AUTO_TEST_CASE(without_extended_info_the_error_message_is_used) {
    BOOST_TEST(rf::error_message(R"({"error": {"code": "Base.1.0.InsufficientPrivilege",
        "message": "There are insufficient privileges for the account or credentials."}})") ==
               "There are insufficient privileges for the account or credentials.");
    BOOST_TEST(rf::error_message(R"({"error": {"message": "generic", "@Message.ExtendedInfo": []}})") ==
               "generic");
}

BOOST_AUTO_TEST_CASE(bodies_without_an_error_object_give_no_message) {
    BOOST_TEST(rf::error_message("<html><body>502 Bad Gateway</body></html>").empty());
    BOOST_TEST(rf::error_message(R"({"error": "oops"})").empty());
    BOOST_TEST(rf::error_message("").empty());
}

BOOST_AUTO_TEST_CASE(messages_lose_control_characters_and_are_cut) {
    BOOST_TEST(rf::error_message(R"({"error": {"message": "line one\nline two\u001b[31m"}})") ==
               "line one line two [31m");
    const std::string long_body = R"({"error": {"message": ")" + std::string(1000, 'x') + R"("}})";
    BOOST_TEST(rf::error_message(long_body).size() == 303U);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(choices)

BOOST_AUTO_TEST_CASE(the_first_preferred_type_that_is_offered_is_chosen) {
    const std::vector<std::string> offered{"ForceOn", "ForceOff", "GracefulRestart"};
    constexpr std::array<std::string_view, 2> on{"On", "ForceOn"};
    constexpr std::array<std::string_view, 2> restart{"ForceRestart", "GracefulRestart"};
    constexpr std::array<std::string_view, 1> cycle{"PowerCycle"};
    BOOST_TEST(rf::choose_reset_type(offered, on).value() == "ForceOn");
    BOOST_TEST(rf::choose_reset_type(offered, restart).value() == "GracefulRestart");
    BOOST_TEST(!rf::choose_reset_type(offered, cycle).has_value());
    BOOST_TEST(!rf::choose_reset_type({}, on).has_value());
}

BOOST_AUTO_TEST_CASE(only_resets_that_set_a_state_may_be_sent_twice) {
    for (const char* t : {"On", "ForceOn", "ForceOff", "GracefulShutdown"}) {
        BOOST_TEST(rf::repeatable_reset(t), t);
    }
    for (const char* t : {"ForceRestart", "GracefulRestart", "PowerCycle", "PushPowerButton", "Nmi"}) {
        BOOST_TEST(!rf::repeatable_reset(t), t);
    }
}

BOOST_AUTO_TEST_CASE(the_backoff_doubles_up_to_eight_times_the_first_pause) {
    mtce::bmc::timing t;
    t.backoff = 100ms;
    BOOST_TEST(mtce::bmc::backoff_delay(t, 0).count() == 100);
    BOOST_TEST(mtce::bmc::backoff_delay(t, 1).count() == 200);
    BOOST_TEST(mtce::bmc::backoff_delay(t, 2).count() == 400);
    BOOST_TEST(mtce::bmc::backoff_delay(t, 3).count() == 800);
    BOOST_TEST(mtce::bmc::backoff_delay(t, 4).count() == 800);
    BOOST_TEST(mtce::bmc::backoff_delay(t, 1000).count() == 800);
    t.backoff = 0ms;
    BOOST_TEST(mtce::bmc::backoff_delay(t, 5).count() == 0);
}

BOOST_AUTO_TEST_CASE(base_urls_use_https_port_443_by_default_and_bracket_ipv6) {
    mtce::bmc::endpoint ep;
    ep.address = "10.0.0.7";
    BOOST_TEST(rf::base_url(ep).value() == "https://10.0.0.7:443");
    ep.port = 8443;
    BOOST_TEST(rf::base_url(ep).value() == "https://10.0.0.7:8443");
    ep.address = "fd00::7";
    BOOST_TEST(rf::base_url(ep).value() == "https://[fd00::7]:8443");
    ep.address = "fe80::1%eth0";
    BOOST_TEST(rf::base_url(ep).value() == "https://[fe80::1%eth0]:8443");
    ep.address = "bmc-7.example.net";
    ep.port = 0;
    BOOST_TEST(rf::base_url(ep).value() == "https://bmc-7.example.net:443");
}

BOOST_AUTO_TEST_CASE(an_address_that_could_smuggle_credentials_or_a_path_into_the_url_is_refused) {
    mtce::bmc::endpoint ep;
    for (const char* bad : {"root:calvin@10.0.0.7", "10.0.0.7/redfish", "10.0.0.7 ", "", "[fd00::7]",
                            "10.0.0.7?x", "10.0.0.7#x"}) {
        ep.address = bad;
        const auto u = rf::base_url(ep);
        BOOST_TEST((code_of(u) == errc::unreachable), bad);
    }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(curl_loader)

BOOST_AUTO_TEST_CASE(a_missing_library_is_reported_with_the_package_to_install) {
    const auto a = mtce::bmc::curl::open("libcurl-that-does-not-exist.so.4");
    BOOST_REQUIRE(!a.has_value());
    BOOST_TEST(a.error().starts_with("Redfish needs libcurl (Debian package libcurl4): "));
    BOOST_TEST(a.error().find("libcurl-that-does-not-exist.so.4") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_library_without_the_functions_is_refused) {
    const auto a = mtce::bmc::curl::open("libc.so.6");
    BOOST_REQUIRE(!a.has_value());
    BOOST_TEST(a.error().find("curl_global_init") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_installed_libcurl_loads_once) {
    const auto first = mtce::bmc::curl::load();
    BOOST_REQUIRE_MESSAGE(first.has_value(), (first ? std::string{} : first.error()));
    const auto second = mtce::bmc::curl::load();
    BOOST_TEST(*first == *second);
    BOOST_TEST((*first)->version_info(CURLVERSION_NOW)->version_num > 0U);
}

BOOST_AUTO_TEST_SUITE_END()
