#define BOOST_TEST_MODULE fleet_bmc_policy_test
#include "fleet/bmc_policy.hpp"

#include <boost/test/unit_test.hpp>

using namespace mtce::fleet;
using namespace std::chrono_literals;

namespace {
const auto t0 = bmc_clock::time_point{} + 1000s;
}

BOOST_AUTO_TEST_CASE(bmc_addresses_are_split_into_address_and_port) {
    BOOST_TEST(split_bmc_address("10.0.0.5")->first == "10.0.0.5");
    BOOST_TEST(split_bmc_address("10.0.0.5")->second == 0);
    BOOST_TEST(split_bmc_address("bmc-1.example.net:8443")->first == "bmc-1.example.net");
    BOOST_TEST(split_bmc_address("bmc-1.example.net:8443")->second == 8443);
    BOOST_TEST(split_bmc_address("[fd00::5]:623")->first == "fd00::5");
    BOOST_TEST(split_bmc_address("[fd00::5]:623")->second == 623);
    BOOST_TEST(split_bmc_address("fd00::5")->first == "fd00::5");
    BOOST_TEST(split_bmc_address("[fd00::5]")->second == 0);
    BOOST_TEST(!split_bmc_address("10.0.0.5:0").has_value());
    BOOST_TEST(!split_bmc_address("10.0.0.5:99999").has_value());
    BOOST_TEST(!split_bmc_address("[fd00::5").has_value());
    BOOST_TEST(!split_bmc_address("").has_value());
}

BOOST_AUTO_TEST_CASE(auto_tries_redfish_then_ipmi_until_one_is_learned) {
    using v = std::vector<std::string>;
    BOOST_TEST((protocols_to_try("auto", "") == v{"redfish", "ipmi"}));
    BOOST_TEST((protocols_to_try("auto", "ipmi") == v{"ipmi"}));
    BOOST_TEST((protocols_to_try("redfish", "ipmi") == v{"redfish"}));
    BOOST_TEST((protocols_to_try("ipmi", "") == v{"ipmi"}));
    BOOST_TEST(protocols_to_try("none", "").empty());
}

BOOST_AUTO_TEST_CASE(a_new_bmc_is_audited_at_once_and_counts_as_unreachable_until_it_answers) {
    mtce::bmc_config c;
    auto h = new_bmc_health(t0);
    BOOST_TEST(!h.accessible);
    BOOST_TEST((h.next_audit == t0));
    BOOST_TEST(!access_alarm(h, t0 + 119s, c));
    BOOST_TEST(access_alarm(h, t0 + 120s, c));
    record_success(h, t0 + 1s, c);
    BOOST_TEST(h.accessible);
    BOOST_TEST(!access_alarm(h, t0 + 1000s, c));
    BOOST_TEST((h.next_audit == t0 + 61s));
}

BOOST_AUTO_TEST_CASE(the_access_alarm_counts_from_the_first_failure_of_a_run) {
    mtce::bmc_config c;
    auto h = new_bmc_health(t0);
    record_success(h, t0, c);
    record_failure(h, t0 + 60s, c, "timeout");
    record_failure(h, t0 + 120s, c, "timeout");
    BOOST_TEST(!access_alarm(h, t0 + 179s, c));
    BOOST_TEST(access_alarm(h, t0 + 180s, c));
    BOOST_TEST(h.last_error == "timeout");
    BOOST_TEST(static_cast<int>(h.power) == static_cast<int>(mtce::bmc::power_state::unknown));
    record_success(h, t0 + 200s, c);
    BOOST_TEST(!access_alarm(h, t0 + 1000s, c));
    BOOST_TEST(h.last_error.empty());
}

BOOST_AUTO_TEST_CASE(three_failed_audits_in_a_row_quarantine_the_bmc_until_a_reprobe) {
    mtce::bmc_config c;
    auto h = new_bmc_health(t0);
    record_failure(h, t0, c, "a");
    record_failure(h, t0 + 60s, c, "b");
    BOOST_TEST(!quarantined(h, t0 + 61s));
    BOOST_TEST((h.next_audit == t0 + 120s));
    record_failure(h, t0 + 120s, c, "c");
    BOOST_TEST(quarantined(h, t0 + 121s));
    BOOST_TEST((h.next_audit == t0 + 420s));  // reprobe_interval 300 s
    BOOST_TEST(!quarantined(h, t0 + 420s));
    record_success(h, t0 + 421s, c);
    BOOST_TEST(!quarantined(h, t0 + 422s));
    BOOST_TEST(h.failures == 0U);
}

BOOST_AUTO_TEST_CASE(with_audits_off_only_operations_touch_the_bmc) {
    mtce::bmc_config c;
    c.audit_period_s = 0;
    auto h = new_bmc_health(t0);
    record_success(h, t0, c);
    BOOST_TEST((h.next_audit == bmc_clock::time_point::max()));
}
