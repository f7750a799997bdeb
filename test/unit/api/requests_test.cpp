#define BOOST_TEST_MODULE api_requests_test
// The REST API's request bodies and the events query: the JSON shape is checked, the meaning is not.
#include <boost/test/unit_test.hpp>

#include <string>

#include "api/requests.hpp"

using mtce::api::events_query;
using mtce::api::parse_action;
using mtce::api::parse_add_host;
using mtce::api::parse_events_query;
using mtce::api::parse_modify_host;

namespace {

std::string add_error(std::string_view body) {
    const auto r = parse_add_host(body);
    BOOST_REQUIRE_MESSAGE(!r.has_value(), "accepted: " << body);
    return r.error();
}

std::string query_error(std::string_view query) {
    const auto r = parse_events_query(query);
    BOOST_REQUIRE_MESSAGE(!r.has_value(), "accepted: " << query);
    return r.error();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(add_host)

BOOST_AUTO_TEST_CASE(the_required_fields_alone_make_a_request_with_empty_optional_ones) {
    const auto r = parse_add_host(R"({"name": "worker-1", "personality": "worker", "mgmt_ip": "10.0.0.11"})");
    BOOST_REQUIRE_MESSAGE(r.has_value(), r.error());
    BOOST_TEST(r->name == "worker-1");
    BOOST_TEST(r->personality == "worker");
    BOOST_TEST(r->mgmt_ip == "10.0.0.11");
    BOOST_TEST(r->subfunctions.empty());
    BOOST_TEST(r->cluster_ip.empty());
    BOOST_TEST(r->bmc_type.empty());
    BOOST_TEST(r->bmc_address.empty());
    BOOST_TEST(r->bmc_username.empty());
    BOOST_TEST(r->bmc_password.empty());
}

BOOST_AUTO_TEST_CASE(every_optional_field_is_taken_as_given) {
    const auto r = parse_add_host(
        R"({"name": "controller-1", "personality": "controller", "subfunctions": ["worker", "x"],
            "mgmt_ip": "10.0.0.3", "cluster_ip": "10.1.0.3", "bmc_type": "redfish",
            "bmc_address": "10.9.0.3:443", "bmc_username": "root", "bmc_password": "p\u00e4ss"})");
    BOOST_REQUIRE_MESSAGE(r.has_value(), r.error());
    BOOST_TEST(r->subfunctions == (std::vector<std::string>{"worker", "x"}));
    BOOST_TEST(r->cluster_ip == "10.1.0.3");
    BOOST_TEST(r->bmc_type == "redfish");
    BOOST_TEST(r->bmc_address == "10.9.0.3:443");
    BOOST_TEST(r->bmc_username == "root");
    BOOST_TEST(r->bmc_password == "p\xc3\xa4ss");
}

BOOST_AUTO_TEST_CASE(values_are_not_judged_here) {
    const auto r = parse_add_host(R"({"name": "", "personality": "toaster", "mgmt_ip": "not an address",
                                      "bmc_type": "carrier pigeon"})");
    BOOST_REQUIRE(r.has_value());
    BOOST_TEST(r->personality == "toaster");
    BOOST_TEST(r->bmc_type == "carrier pigeon");
}

BOOST_AUTO_TEST_CASE(null_optional_fields_are_absent) {
    const auto r = parse_add_host(R"({"name": "w", "personality": "worker", "mgmt_ip": "1.2.3.4",
                                      "cluster_ip": null, "subfunctions": null, "bmc_password": null})");
    BOOST_REQUIRE_MESSAGE(r.has_value(), r.error());
    BOOST_TEST(r->cluster_ip.empty());
    BOOST_TEST(r->subfunctions.empty());
}

BOOST_AUTO_TEST_CASE(a_missing_required_field_is_named) {
    BOOST_TEST(add_error(R"({"personality": "worker", "mgmt_ip": "1.2.3.4"})") == "'name' is required");
    BOOST_TEST(add_error(R"({"name": "w", "mgmt_ip": "1.2.3.4"})") == "'personality' is required");
    BOOST_TEST(add_error(R"({"name": "w", "personality": "worker"})") == "'mgmt_ip' is required");
    BOOST_TEST(add_error(R"({"name": "w", "personality": "worker", "mgmt_ip": null})") ==
               "'mgmt_ip' must be a string");
}

BOOST_AUTO_TEST_CASE(a_field_of_the_wrong_type_is_named) {
    BOOST_TEST(add_error(R"({"name": "w", "personality": "worker", "mgmt_ip": 7})") ==
               "'mgmt_ip' must be a string");
    BOOST_TEST(add_error(R"({"name": ["w"], "personality": "worker", "mgmt_ip": "1.2.3.4"})") ==
               "'name' must be a string");
    BOOST_TEST(add_error(R"({"name": "w", "personality": "worker", "mgmt_ip": "1", "bmc_password": 1234})") ==
               "'bmc_password' must be a string");
    BOOST_TEST(add_error(R"({"name": "w", "personality": "worker", "mgmt_ip": "1", "cluster_ip": false})") ==
               "'cluster_ip' must be a string");
    for (const char* subfunctions : {R"("worker")", R"(["worker", 1])", R"({"a": "b"})", R"([null])"}) {
        BOOST_TEST(add_error(std::string{R"({"name": "w", "personality": "worker", "mgmt_ip": "1", )"} +
                             R"("subfunctions": )" + subfunctions + "}") ==
                       "'subfunctions' must be an array of strings",
                   subfunctions);
    }
}

BOOST_AUTO_TEST_CASE(an_unknown_field_is_named_even_when_everything_else_is_right) {
    BOOST_TEST(add_error(R"({"name": "w", "personality": "worker", "mgmt_ip": "1", "bmc_pasword": "x"})") ==
               "unknown field 'bmc_pasword'");
    BOOST_TEST(add_error(R"({"Name": "w"})") == "unknown field 'Name'");
}

BOOST_AUTO_TEST_CASE(a_body_that_is_not_a_json_object_is_refused_saying_where) {
    BOOST_TEST(add_error("[]") == "the body must be a JSON object");
    BOOST_TEST(add_error(R"("name")") == "the body must be a JSON object");
    BOOST_TEST(add_error("null") == "the body must be a JSON object");
    const auto e = add_error(R"({"name": "w",})");
    BOOST_TEST(e.starts_with("the body is not valid JSON: line 1, column 14: "), e);
    BOOST_TEST(add_error("").starts_with("the body is not valid JSON: "));
    BOOST_TEST(add_error("{\"name\": \"\xff\"}").starts_with("the body is not valid JSON: "));
    BOOST_TEST(add_error(R"({"name": "w"} trailing)").starts_with("the body is not valid JSON: "));
    BOOST_TEST(add_error(R"({"name": 1e999})") ==
               "the body is not valid JSON: number overflow parsing '1e999'");
    BOOST_TEST(parse_action("[2e2223]").error() ==
               "the body is not valid JSON: number overflow parsing '2e2223'");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(modify_host)

BOOST_AUTO_TEST_CASE(only_the_fields_given_are_set) {
    const auto r = parse_modify_host(R"({"bmc_username": "root", "bmc_insecure": false})");
    BOOST_REQUIRE(r.has_value());
    BOOST_TEST(r->bmc_username.value_or("") == "root");
    BOOST_TEST(r->bmc_insecure.has_value());
    BOOST_TEST(!r->bmc_insecure.value_or(true));
    BOOST_TEST(!r->bmc_type.has_value());
    BOOST_TEST(!r->bmc_address.has_value());
    BOOST_TEST(!r->bmc_password.has_value());
    const auto all = parse_modify_host(
        R"({"bmc_type": "ipmi", "bmc_address": "10.1.1.1", "bmc_username": "u", "bmc_password": "p"})");
    BOOST_REQUIRE(all.has_value());
    BOOST_TEST(all->bmc_type.value_or("") == "ipmi");
    BOOST_TEST(all->bmc_password.value_or("") == "p");
}

BOOST_AUTO_TEST_CASE(fixed_fields_unknown_fields_wrong_types_and_nothing_are_refused) {
    const auto error_of = [](std::string_view body) {
        const auto r = parse_modify_host(body);
        BOOST_REQUIRE_MESSAGE(!r.has_value(), "accepted: " << body);
        return r.error();
    };
    for (const char* field : {"name", "personality", "subfunctions", "mgmt_ip", "cluster_ip"}) {
        const auto body = std::string{R"({")"} + field + R"(": "x"})";
        BOOST_TEST(error_of(body) ==
                   "'" + std::string{field} + "' cannot be changed; delete the host and add it again");
    }
    BOOST_TEST(error_of(R"({"bmc_port": 623})") == "unknown field 'bmc_port'");
    BOOST_TEST(error_of(R"({"bmc_address": null})") == "'bmc_address' must be a string");
    BOOST_TEST(error_of(R"({"bmc_password": 1234})") == "'bmc_password' must be a string");
    BOOST_TEST(error_of(R"({"bmc_insecure": "yes"})") == "'bmc_insecure' must be true or false");
    BOOST_TEST(error_of("{}").starts_with("nothing to change"));
    BOOST_TEST(error_of("[]") == "the body must be a JSON object");
    BOOST_TEST(error_of("{").starts_with("the body is not valid JSON"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(action)

BOOST_AUTO_TEST_CASE(the_action_is_returned_as_given) {
    BOOST_TEST(parse_action(R"({"action": "force-lock"})").value() == "force-lock");
    BOOST_TEST(parse_action(R"({"action": "make coffee"})").value() == "make coffee");
}

BOOST_AUTO_TEST_CASE(a_missing_mistyped_or_extra_field_is_refused) {
    BOOST_TEST(parse_action("{}").error() == "'action' is required");
    BOOST_TEST(parse_action(R"({"action": null})").error() == "'action' must be a string");
    BOOST_TEST(parse_action(R"({"action": ["lock"]})").error() == "'action' must be a string");
    BOOST_TEST(parse_action(R"({"action": "lock", "force": true})").error() == "unknown field 'force'");
    BOOST_TEST(parse_action(R"(["lock"])").error() == "the body must be a JSON object");
    BOOST_TEST(parse_action("lock").error().starts_with("the body is not valid JSON: "));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(events)

BOOST_AUTO_TEST_CASE(an_empty_query_gives_the_defaults) {
    BOOST_TEST((parse_events_query("").value() == events_query{0, 1000}));
}

BOOST_AUTO_TEST_CASE(since_and_limit_are_read_in_any_order) {
    BOOST_TEST((parse_events_query("since=42").value() == events_query{42, 1000}));
    BOOST_TEST((parse_events_query("limit=5").value() == events_query{0, 5}));
    BOOST_TEST((parse_events_query("limit=1&since=18446744073709551615").value() ==
                events_query{18446744073709551615u, 1}));
    BOOST_TEST((parse_events_query("since=0&limit=1000").value() == events_query{0, 1000}));
}

BOOST_AUTO_TEST_CASE(bad_numbers_are_refused) {
    for (const char* q : {"since=", "since=-1", "since=+1", "since= 1", "since=1x", "since=0x10",
                          "since=18446744073709551616", "since"}) {
        BOOST_TEST(query_error(q) == "'since' must be a whole number, the id of the last event seen", q);
    }
    for (const char* q : {"limit=0", "limit=1001", "limit=", "limit=-5", "limit=99999999999999999999999"}) {
        BOOST_TEST(query_error(q) == "'limit' must be a whole number from 1 to 1000", q);
    }
}

BOOST_AUTO_TEST_CASE(anything_else_in_the_query_is_refused) {
    BOOST_TEST(query_error("after=3") == "unknown query parameter 'after'; 'since' and 'limit' are known");
    BOOST_TEST(query_error("since=1&since=2") == "'since' is given twice");
    BOOST_TEST(query_error("limit=1&limit=1") == "'limit' is given twice");
    BOOST_TEST(query_error("since=1&") == "the query has an empty parameter");
    BOOST_TEST(query_error("&since=1") == "the query has an empty parameter");
    BOOST_TEST(query_error("since=1&&limit=2") == "the query has an empty parameter");
    BOOST_TEST(query_error("Since=1").starts_with("unknown query parameter 'Since'"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(bmc_insecure_is_a_boolean) {
    const auto yes = parse_add_host(
        R"({"name": "w", "personality": "worker", "mgmt_ip": "10.0.0.1", "bmc_insecure": true})");
    BOOST_REQUIRE(yes.has_value());
    BOOST_TEST(yes->bmc_insecure);
    const auto absent = parse_add_host(R"({"name": "w", "personality": "worker", "mgmt_ip": "10.0.0.1"})");
    BOOST_TEST(!absent->bmc_insecure);
    const auto bad = parse_add_host(
        R"({"name": "w", "personality": "worker", "mgmt_ip": "10.0.0.1", "bmc_insecure": "yes"})");
    BOOST_REQUIRE(!bad.has_value());
    BOOST_TEST(bad.error().find("bmc_insecure") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_key_given_twice_is_refused_at_any_depth) {
    // Two parsers reading the same body must not see two different requests: one may keep the first value,
    // another the last.
    BOOST_TEST(
        add_error(R"({"name":"worker-0","personality":"worker","mgmt_ip":"10.0.0.2","name":"evil"})") ==
        "the body has the key 'name' twice");
    BOOST_TEST(!parse_action(R"({"action":"lock","action":"unlock"})").has_value());
    BOOST_TEST(parse_action(R"({"action":"lock","action":"unlock"})").error() ==
               "the body has the key 'action' twice");
    BOOST_TEST(!parse_modify_host(R"({"bmc_type":"ipmi","bmc_type":"redfish"})").has_value());
    // The same key in two different objects is not a duplicate (and an unknown nested object is still
    // refused for its own reason).
    BOOST_TEST(parse_action(R"({"action":"lock"})").value_or("") == "lock");
}
