#define BOOST_TEST_MODULE api_access_test
// Who may change things through the REST API: loopback, or a client with the bearer token.
#include <boost/test/unit_test.hpp>

#include <asio/ip/address.hpp>

#include "api/access.hpp"
#include "api/http.hpp"

using mtce::api::access_rules;
using mtce::api::check_request;
using mtce::api::client;
using mtce::api::constant_time_equal;
using mtce::api::host_is_ours;
using mtce::api::is_loopback;
using mtce::api::is_mutating;
using mtce::api::may_change;
using mtce::api::may_use_socket;
using mtce::api::transport;

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

BOOST_AUTO_TEST_CASE(a_loopback_client_needs_the_token_unless_loopback_is_trusted) {
    // A local relay or `ssh -L` makes any client look local: loopback alone proves nothing by default.
    BOOST_TEST(!may_change(ip("127.0.0.1"), std::nullopt, "", /*trust_loopback=*/false));
    BOOST_TEST(!may_change(ip("::1"), std::nullopt, token, /*trust_loopback=*/false));
    BOOST_TEST(may_change(ip("127.0.0.1"), "Bearer " + token, token, /*trust_loopback=*/false));
    BOOST_TEST(may_change(ip("127.0.0.1"), std::nullopt, "", /*trust_loopback=*/true));
    BOOST_TEST(may_change(ip("::1"), std::nullopt, token, /*trust_loopback=*/true));
    BOOST_TEST(may_change(ip("127.0.0.1"), "Bearer wrong", token, /*trust_loopback=*/true));
    BOOST_TEST(!may_change(ip("192.168.204.3"), std::nullopt, token, /*trust_loopback=*/true));
}

BOOST_AUTO_TEST_CASE(a_remote_client_without_a_token_may_not_change) {
    BOOST_TEST(!may_change(ip("192.168.204.3"), std::nullopt, token, /*trust_loopback=*/false));
    BOOST_TEST(!may_change(ip("fd00::3"), std::nullopt, token, /*trust_loopback=*/false));
}

BOOST_AUTO_TEST_CASE(a_remote_client_with_the_right_token_may_change) {
    BOOST_TEST(may_change(ip("192.168.204.3"), "Bearer " + token, token, /*trust_loopback=*/false));
    BOOST_TEST(may_change(ip("192.168.204.3"), "bearer   " + token + " ", token, /*trust_loopback=*/false));
    BOOST_TEST(may_change(ip("fd00::3"), "BEARER " + token, token, /*trust_loopback=*/false));
}

BOOST_AUTO_TEST_CASE(a_remote_client_with_a_wrong_token_or_scheme_may_not_change) {
    const auto remote = ip("192.168.204.3");
    BOOST_TEST(!may_change(remote, "Bearer s3cret-token-0123456788", token,
                           /*trust_loopback=*/false));  // last byte differs
    BOOST_TEST(!may_change(remote, "Bearer " + token.substr(1), token, /*trust_loopback=*/false));  // shorter
    BOOST_TEST(!may_change(remote, "Bearer " + token + "0", token, /*trust_loopback=*/false));      // longer
    BOOST_TEST(!may_change(remote, "Bearer", token, /*trust_loopback=*/false));
    BOOST_TEST(!may_change(remote, "Bearer ", token, /*trust_loopback=*/false));
    BOOST_TEST(!may_change(remote, "Basic " + token, token, /*trust_loopback=*/false));
    BOOST_TEST(!may_change(remote, token, token, /*trust_loopback=*/false));
    BOOST_TEST(!may_change(remote, "Bearer" + token, token, /*trust_loopback=*/false));
}

BOOST_AUTO_TEST_CASE(without_a_configured_token_only_loopback_may_change) {
    BOOST_TEST(!may_change(ip("192.168.204.3"), "Bearer ", "", /*trust_loopback=*/false));
    BOOST_TEST(!may_change(ip("192.168.204.3"), "Bearer x", "", /*trust_loopback=*/false));
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

namespace {

const access_rules rules{.token = token, .trust_loopback = false, .where = {"127.0.0.1", 2112}};
const client local_tcp{.via = transport::tcp, .address = ip("127.0.0.1")};
const client on_socket{.via = transport::local, .address = {}};

mtce::api::http::request make(std::string method, std::vector<std::pair<std::string, std::string>> headers) {
    mtce::api::http::request r;
    r.method = std::move(method);
    r.target = r.path = "/v1/hosts";
    r.headers = std::move(headers);
    return r;
}

int status_of(const mtce::api::http::request& r, const client& c, const access_rules& a = rules) {
    const auto refused = check_request(r, c, a);
    return refused ? refused->status : 0;
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_host_header_must_name_the_listen_address_itself) {
    const mtce::api::listen_address where{"127.0.0.1", 2112};
    BOOST_TEST(host_is_ours("127.0.0.1:2112", where));
    BOOST_TEST(host_is_ours("localhost:2112", where));
    BOOST_TEST(host_is_ours("LocalHost:2112", where));
    BOOST_TEST(!host_is_ours("127.0.0.1", where));  // port 80
    BOOST_TEST(!host_is_ours("127.0.0.1:2113", where));
    BOOST_TEST(!host_is_ours("127.0.0.2:2112", where));
    BOOST_TEST(
        !host_is_ours("evil.example:2112", where));  // DNS rebinding: a name the page's author controls
    BOOST_TEST(!host_is_ours("127.0.0.1.nip.io:2112", where));
    BOOST_TEST(!host_is_ours("", where));
    BOOST_TEST(!host_is_ours("127.0.0.1:2112 ", where));
    const mtce::api::listen_address v6{"::1", 2112};
    BOOST_TEST(host_is_ours("[::1]:2112", v6));
    BOOST_TEST(host_is_ours("[0:0::1]:2112", v6));
    BOOST_TEST(!host_is_ours("::1:2112", v6));
    const mtce::api::listen_address any{"0.0.0.0", 2112};
    BOOST_TEST(host_is_ours("192.168.204.2:2112", any));  // any address literal of this port
    BOOST_TEST(host_is_ours("[fd00::2]:2112", any));
    BOOST_TEST(!host_is_ours("mtce.example:2112", any));
    const mtce::api::listen_address mgmt{"192.168.204.2", 2112};
    BOOST_TEST(host_is_ours("192.168.204.2:2112", mgmt));
    BOOST_TEST(!host_is_ours("localhost:2112", mgmt));  // not where it listens
}

BOOST_AUTO_TEST_CASE(a_cross_site_shaped_post_from_loopback_is_refused) {
    // What a browser page can send without a preflight: no JSON content type, its own Host or Origin.
    const auto authorized = std::pair<std::string, std::string>{"authorization", "Bearer " + token};
    const auto json_type = std::pair<std::string, std::string>{"content-type", "application/json"};
    const auto our_host = std::pair<std::string, std::string>{"host", "127.0.0.1:2112"};
    BOOST_TEST(status_of(make("POST", {our_host, authorized, json_type}), local_tcp) == 0);
    BOOST_TEST(status_of(make("POST", {our_host, authorized}), local_tcp) == 415);
    BOOST_TEST(status_of(make("POST", {our_host, authorized, {"content-type", "text/plain"}}), local_tcp) ==
               415);
    BOOST_TEST(status_of(make("POST", {{"host", "evil.example:2112"}, authorized, json_type}), local_tcp) ==
               403);
    BOOST_TEST(status_of(make("POST", {our_host, {"origin", "http://evil.example"}, authorized, json_type}),
                         local_tcp) == 403);
    BOOST_TEST(status_of(make("POST", {our_host, {"origin", "null"}, authorized, json_type}), local_tcp) ==
               403);
    BOOST_TEST(status_of(make("POST", {our_host, {"origin", "http://127.0.0.1:2112"}, authorized, json_type}),
                         local_tcp) == 0);
    BOOST_TEST(status_of(make("POST", {authorized, json_type}), local_tcp) == 400);  // HTTP/1.1 needs Host
}

BOOST_AUTO_TEST_CASE(a_read_with_a_foreign_host_is_refused_too) {
    // A page on a rebound name would otherwise read the inventory.
    BOOST_TEST(status_of(make("GET", {{"host", "127.0.0.1:2112"}}), local_tcp) == 0);
    BOOST_TEST(status_of(make("GET", {{"host", "evil.example:2112"}}), local_tcp) == 403);
    BOOST_TEST(status_of(make("GET", {{"host", "127.0.0.1:2112"}, {"origin", "http://evil.example:2112"}}),
                         local_tcp) == 403);
}

BOOST_AUTO_TEST_CASE(a_tcp_change_without_the_token_is_refused_with_what_to_do_instead) {
    const auto refused = check_request(
        make("DELETE", {{"host", "127.0.0.1:2112"}, {"content-type", "application/json"}}), local_tcp, rules);
    BOOST_REQUIRE(refused.has_value());
    BOOST_TEST(refused->status == 403);
    BOOST_TEST(refused->reason.find("controller.api_socket") != std::string::npos, refused->reason);
    BOOST_TEST(refused->reason.find("token") != std::string::npos, refused->reason);
    auto trusting = rules;
    trusting.trust_loopback = true;
    BOOST_TEST(status_of(make("DELETE", {{"host", "127.0.0.1:2112"}, {"content-type", "application/json"}}),
                         local_tcp, trusting) == 0);
}

BOOST_AUTO_TEST_CASE(a_client_on_the_local_socket_may_change_without_a_token_or_a_matching_host) {
    BOOST_TEST(status_of(make("POST", {{"host", "localhost"}, {"content-type", "application/json"}}),
                         on_socket) == 0);
    BOOST_TEST(status_of(make("GET", {}), on_socket) == 0);
    BOOST_TEST(status_of(make("POST", {{"host", "localhost"}}), on_socket) == 415);
}

BOOST_AUTO_TEST_CASE(the_local_socket_admits_root_the_daemons_user_and_the_groups_members) {
    const std::vector<gid_t> nobody_groups{65534};
    const std::vector<gid_t> operator_groups{1000, 990};
    BOOST_TEST(may_use_socket(0, nobody_groups, /*self=*/998, std::nullopt));
    BOOST_TEST(may_use_socket(998, nobody_groups, /*self=*/998, std::nullopt));
    BOOST_TEST(!may_use_socket(65534, nobody_groups, /*self=*/998, std::nullopt));
    BOOST_TEST(!may_use_socket(65534, nobody_groups, /*self=*/998, gid_t{990}));
    BOOST_TEST(may_use_socket(1000, operator_groups, /*self=*/998, gid_t{990}));
    BOOST_TEST(!may_use_socket(1000, operator_groups, /*self=*/998, std::nullopt));
}
