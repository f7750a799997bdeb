#define BOOST_TEST_MODULE api_access_test
// Who may change things through the REST API: loopback, or a client with the bearer token.
#include <boost/test/unit_test.hpp>

#include <asio/ip/address.hpp>

#include "api/access.hpp"

using mtce::api::constant_time_equal;
using mtce::api::is_loopback;
using mtce::api::is_mutating;
using mtce::api::may_change;

namespace {

asio::ip::address ip(const char* s) {
    return asio::ip::make_address(s);
}

const std::string token = "s3cret-token-0123456789";

}  // namespace

BOOST_AUTO_TEST_CASE(loopback_is_127_slash_8_and_colon_colon_1_also_when_mapped) {
    BOOST_TEST(is_loopback(ip("127.0.0.1")));
    BOOST_TEST(is_loopback(ip("127.1.2.3")));
    BOOST_TEST(is_loopback(ip("::1")));
    BOOST_TEST(is_loopback(ip("::ffff:127.0.0.1")));
    BOOST_TEST(!is_loopback(ip("192.168.204.2")));
    BOOST_TEST(!is_loopback(ip("::ffff:192.168.204.2")));
    BOOST_TEST(!is_loopback(ip("fd00::1")));
    BOOST_TEST(!is_loopback(ip("0.0.0.0")));
    BOOST_TEST(!is_loopback(ip("::")));
}

BOOST_AUTO_TEST_CASE(a_loopback_client_may_change_without_a_token) {
    BOOST_TEST(may_change(ip("127.0.0.1"), std::nullopt, ""));
    BOOST_TEST(may_change(ip("::1"), std::nullopt, token));
    BOOST_TEST(may_change(ip("127.0.0.1"), "Bearer wrong", token));
}

BOOST_AUTO_TEST_CASE(a_remote_client_without_a_token_may_not_change) {
    BOOST_TEST(!may_change(ip("192.168.204.3"), std::nullopt, token));
    BOOST_TEST(!may_change(ip("fd00::3"), std::nullopt, token));
}

BOOST_AUTO_TEST_CASE(a_remote_client_with_the_right_token_may_change) {
    BOOST_TEST(may_change(ip("192.168.204.3"), "Bearer " + token, token));
    BOOST_TEST(may_change(ip("192.168.204.3"), "bearer   " + token + " ", token));
    BOOST_TEST(may_change(ip("fd00::3"), "BEARER " + token, token));
}

BOOST_AUTO_TEST_CASE(a_remote_client_with_a_wrong_token_or_scheme_may_not_change) {
    const auto remote = ip("192.168.204.3");
    BOOST_TEST(!may_change(remote, "Bearer s3cret-token-0123456788", token));  // last byte differs
    BOOST_TEST(!may_change(remote, "Bearer " + token.substr(1), token));       // shorter
    BOOST_TEST(!may_change(remote, "Bearer " + token + "0", token));           // longer
    BOOST_TEST(!may_change(remote, "Bearer", token));
    BOOST_TEST(!may_change(remote, "Bearer ", token));
    BOOST_TEST(!may_change(remote, "Basic " + token, token));
    BOOST_TEST(!may_change(remote, token, token));
    BOOST_TEST(!may_change(remote, "Bearer" + token, token));
}

BOOST_AUTO_TEST_CASE(without_a_configured_token_only_loopback_may_change) {
    BOOST_TEST(!may_change(ip("192.168.204.3"), "Bearer ", ""));
    BOOST_TEST(!may_change(ip("192.168.204.3"), "Bearer x", ""));
}

BOOST_AUTO_TEST_CASE(the_token_comparison_is_exact_and_length_mismatches_never_match) {
    BOOST_TEST(constant_time_equal("abc", "abc"));
    BOOST_TEST(constant_time_equal("", ""));
    BOOST_TEST(!constant_time_equal("abd", "abc"));
    BOOST_TEST(!constant_time_equal("ab", "abc"));
    BOOST_TEST(!constant_time_equal("abcd", "abc"));
    BOOST_TEST(!constant_time_equal("", "abc"));
    BOOST_TEST(!constant_time_equal("abc", ""));
    BOOST_TEST(!constant_time_equal(std::string_view{"abc\0", 4}, "abc"));  // a NUL is not a terminator
}

BOOST_AUTO_TEST_CASE(post_put_patch_and_delete_are_mutating) {
    for (const char* m : {"POST", "PUT", "PATCH", "DELETE"}) {
        BOOST_TEST(is_mutating(m), m);
    }
    for (const char* m : {"GET", "HEAD", "OPTIONS", "post"}) {
        BOOST_TEST(!is_mutating(m), m);
    }
}
