#define BOOST_TEST_MODULE api_listen_test
// controller.api_listen: "ADDRESS:PORT", IPv6 as "[ADDRESS]:PORT", numeric addresses only.
#include <boost/test/unit_test.hpp>

#include "api/listen.hpp"

using mtce::api::listen_address;
using mtce::api::local_url;
using mtce::api::parse_listen;

BOOST_AUTO_TEST_CASE(an_ipv4_address_and_port_are_parsed) {
    const auto a = parse_listen("127.0.0.1:2112");
    BOOST_REQUIRE(a.has_value());
    BOOST_TEST(a->host == "127.0.0.1");
    BOOST_TEST(a->port == 2112);
    BOOST_TEST(!a->is_ipv6());
    BOOST_TEST(a->to_string() == "127.0.0.1:2112");
}

BOOST_AUTO_TEST_CASE(an_ipv6_address_in_brackets_is_parsed_without_them) {
    const auto a = parse_listen("[::1]:2112");
    BOOST_REQUIRE(a.has_value());
    BOOST_TEST(a->host == "::1");
    BOOST_TEST(a->port == 2112);
    BOOST_TEST(a->is_ipv6());
    BOOST_TEST(a->to_string() == "[::1]:2112");
    BOOST_TEST(parse_listen("[fd00:204::2]:65535")->host == "fd00:204::2");
}

BOOST_AUTO_TEST_CASE(the_ports_bounds_are_1_and_65535) {
    BOOST_TEST(parse_listen("0.0.0.0:1")->port == 1);
    BOOST_TEST(parse_listen("0.0.0.0:65535")->port == 65535);
    BOOST_TEST(parse_listen("0.0.0.0:0").error() == "'0.0.0.0:0': port '0' is not a number from 1 to 65535");
    BOOST_TEST(!parse_listen("0.0.0.0:65536").has_value());
    BOOST_TEST(!parse_listen("0.0.0.0:123456").has_value());
    BOOST_TEST(!parse_listen("0.0.0.0:+80").has_value());
    BOOST_TEST(!parse_listen("0.0.0.0: 80").has_value());
    BOOST_TEST(!parse_listen("0.0.0.0:").has_value());
}

BOOST_AUTO_TEST_CASE(names_missing_ports_and_bad_addresses_are_refused_with_the_form_expected) {
    for (const char* bad : {"localhost:2112", "2112", "", ":2112", "127.0.0.1", "[127.0.0.1]:2112",
                            "[::1:2112", "300.1.1.1:2112", "[]:2112", "[::1]2112"}) {
        const auto r = parse_listen(bad);
        BOOST_TEST(!r.has_value(), bad);
        if (!r) {
            BOOST_TEST(r.error().starts_with("'" + std::string{bad} + "'"), r.error());
        }
    }
    BOOST_TEST(parse_listen("localhost:2112").error() ==
               "'localhost:2112' is not of the form ADDRESS:PORT (IPv6 as [ADDRESS]:PORT)");
}

BOOST_AUTO_TEST_CASE(an_ipv6_address_without_brackets_is_refused_with_a_hint) {
    BOOST_TEST(parse_listen("::1:2112").error() ==
               "'::1:2112': an IPv6 address needs brackets, as [ADDRESS]:PORT");
}

BOOST_AUTO_TEST_CASE(a_local_client_reaches_the_unspecified_address_through_loopback) {
    BOOST_TEST(local_url(listen_address{"192.168.204.2", 2112}) == "http://192.168.204.2:2112");
    BOOST_TEST(local_url(listen_address{"0.0.0.0", 2112}) == "http://127.0.0.1:2112");
    BOOST_TEST(local_url(listen_address{"::", 80}) == "http://[::1]:80");
    BOOST_TEST(local_url(listen_address{"fd00::2", 80}) == "http://[fd00::2]:80");
}
