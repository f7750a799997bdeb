#define BOOST_TEST_MODULE api_http_test
// The REST server without sockets: requests parsed from bytes (one at a time, within limits), routed to a
// backend, and responses serialised.
#include <boost/test/unit_test.hpp>

#include <nlohmann/json.hpp>

#include "api/http.hpp"
#include "api/router.hpp"
#include "fake_backend.hpp"

using mtce::api::http::request;
using mtce::api::http::request_parser;
using state = mtce::api::http::request_parser::state;
using nlohmann::json;

namespace {

/// Parses `text` as one complete request; fails the test otherwise.
request parsed(std::string_view text) {
    request_parser p;
    const auto step = p.feed(text);
    BOOST_REQUIRE(step.now == state::complete);
    BOOST_TEST(step.consumed == text.size());
    return p.current();
}

request get(std::string path, std::string method = "GET") {
    request r;
    r.method = std::move(method);
    r.target = path;
    r.path = std::move(path);
    return r;
}

json body_of(const mtce::api::http::response& r) {
    return json::parse(r.body);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(parser)

BOOST_AUTO_TEST_CASE(a_get_request_gives_method_path_query_and_lower_case_headers) {
    const auto r = parsed("GET /v1/events?since=4 HTTP/1.1\r\nHost: x\r\nX-Thing: A b  \r\n\r\n");
    BOOST_TEST(r.method == "GET");
    BOOST_TEST(r.target == "/v1/events?since=4");
    BOOST_TEST(r.path == "/v1/events");
    BOOST_TEST(r.query == "since=4");
    BOOST_TEST(r.header("x-thing").value_or("") == "A b");
    BOOST_TEST(r.header("host").value_or("") == "x");
    BOOST_TEST(!r.header("authorization").has_value());
    BOOST_TEST(r.keep_alive);
}

BOOST_AUTO_TEST_CASE(connection_close_and_http_1_0_end_the_connection) {
    BOOST_TEST(!parsed("GET / HTTP/1.1\r\nConnection: close\r\n\r\n").keep_alive);
    BOOST_TEST(!parsed("GET / HTTP/1.0\r\n\r\n").keep_alive);
    BOOST_TEST(parsed("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").keep_alive);
}

BOOST_AUTO_TEST_CASE(a_request_arriving_byte_by_byte_completes_on_its_last_byte) {
    const std::string text = "POST /v1/hosts HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello";
    request_parser p;
    for (std::size_t i = 0; i + 1 < text.size(); ++i) {
        const auto step = p.feed(text.substr(i, 1));
        BOOST_REQUIRE(step.now == state::need_more);
        BOOST_TEST(p.started());
    }
    BOOST_TEST((p.feed(text.substr(text.size() - 1)).now == state::complete));
    BOOST_TEST(p.current().body == "hello");
    BOOST_TEST(p.current().method == "POST");
}

BOOST_AUTO_TEST_CASE(pipelined_requests_are_read_one_at_a_time) {
    const std::string text = "GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n";
    request_parser p;
    auto step = p.feed(text);
    BOOST_TEST((step.now == state::complete));
    BOOST_TEST(step.consumed == text.size() / 2);
    BOOST_TEST(p.current().path == "/a");
    p.next();
    BOOST_TEST(!p.started());
    step = p.feed(std::string_view{text}.substr(step.consumed));
    BOOST_TEST((step.now == state::complete));
    BOOST_TEST(p.current().path == "/b");
}

BOOST_AUTO_TEST_CASE(a_head_over_the_limit_is_refused_with_431_even_when_it_arrives_at_once) {
    request_parser p{{1024, 1024}};
    const std::string text = "GET / HTTP/1.1\r\nX-Big: " + std::string(2000, 'a') + "\r\n\r\n";
    const auto step = p.feed(text);
    BOOST_TEST((step.now == state::failed));
    BOOST_TEST(p.error().status == 431);
    BOOST_TEST(p.error().reason == "the request line and headers exceed 1024 bytes");
}

BOOST_AUTO_TEST_CASE(a_head_just_under_the_limit_is_accepted) {
    const std::string start = "GET / HTTP/1.1\r\nX-Big: ";
    const std::string text = start + std::string(1024 - start.size() - 4, 'a') + "\r\n\r\n";
    BOOST_REQUIRE(text.size() == 1024);
    request_parser p{{1024, 1024}};
    BOOST_TEST((p.feed(text).now == state::complete));
}

BOOST_AUTO_TEST_CASE(a_body_over_the_limit_is_refused_with_413_from_its_content_length) {
    request_parser p{{1024, 10}};
    BOOST_TEST((p.feed("POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n").now == state::failed));
    BOOST_TEST(p.error().status == 413);
}

BOOST_AUTO_TEST_CASE(a_chunked_body_over_the_limit_is_refused_with_413) {
    request_parser p{{1024, 10}};
    BOOST_TEST(
        (p.feed("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n8\r\n12345678\r\n")
             .now == state::failed));
    BOOST_TEST(p.error().status == 413);
}

BOOST_AUTO_TEST_CASE(garbage_and_other_http_versions_are_refused) {
    request_parser garbage;
    BOOST_TEST((garbage.feed("HELLO\r\n\r\n").now == state::failed));
    BOOST_TEST(garbage.error().status == 400);
    request_parser v2;
    BOOST_TEST((v2.feed("GET / HTTP/2.0\r\n\r\n").now == state::failed));
    BOOST_TEST(v2.error().status == 505);
    request_parser smuggling;
    BOOST_TEST(
        (smuggling.feed("POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n").now ==
         state::failed));
    BOOST_TEST(smuggling.error().status == 400);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(routes)

BOOST_AUTO_TEST_CASE(get_hosts_is_the_backends_array) {
    const mtce::test::fake_backend b;
    const auto r = mtce::api::route(get("/v1/hosts"), b, false);
    BOOST_TEST(r.status == 200);
    BOOST_TEST(r.content_type == "application/json");
    BOOST_TEST(body_of(r) == b.hosts_);
}

BOOST_AUTO_TEST_CASE(get_one_host_finds_it_by_its_percent_decoded_name) {
    const mtce::test::fake_backend b;
    BOOST_TEST(body_of(mtce::api::route(get("/v1/hosts/worker-0"), b, false)) == b.hosts_[1]);
    BOOST_TEST(body_of(mtce::api::route(get("/v1/hosts/worker%2D0"), b, false)) == b.hosts_[1]);
}

BOOST_AUTO_TEST_CASE(an_unknown_host_is_404_with_the_error_body) {
    const mtce::test::fake_backend b;
    const auto r = mtce::api::route(get("/v1/hosts/nosuch"), b, false);
    BOOST_TEST(r.status == 404);
    BOOST_TEST(body_of(r) == (json{{"error", "not found"}, {"reason", "no host named nosuch"}}));
}

BOOST_AUTO_TEST_CASE(health_and_metrics_come_from_the_backend) {
    const mtce::test::fake_backend b;
    BOOST_TEST(body_of(mtce::api::route(get("/v1/health"), b, false)) == b.health());
    const auto m = mtce::api::route(get("/metrics"), b, false);
    BOOST_TEST(m.status == 200);
    BOOST_TEST(m.content_type == "text/plain; version=0.0.4");
    BOOST_TEST(m.body == b.metrics());
}

BOOST_AUTO_TEST_CASE(unknown_paths_are_404_and_other_methods_405_with_allow) {
    const mtce::test::fake_backend b;
    for (const char* path : {"/", "/v1", "/v1/hosts/", "/v1/hosts/a/b", "/v2/hosts", "/metrics/x"}) {
        const auto r = mtce::api::route(get(path), b, false);
        BOOST_TEST(r.status == 404, path);
        BOOST_TEST(body_of(r)["error"] == "not found", path);
    }
    const auto put = mtce::api::route(get("/v1/hosts", "PUT"), b, true);
    BOOST_TEST(put.status == 405);
    BOOST_TEST(body_of(put)["error"] == "method not allowed");
    BOOST_REQUIRE(put.headers.size() == 1);
    BOOST_TEST(put.headers[0].first == "Allow");
    BOOST_TEST(mtce::api::route(get("/v1/health", "OPTIONS"), b, false).status == 405);
    BOOST_TEST(mtce::api::route(get("/v1/hosts", "HEAD"), b, false).status == 200);
}

BOOST_AUTO_TEST_CASE(a_mutating_request_without_the_right_to_change_is_403_before_routing) {
    const mtce::test::fake_backend b;
    for (const char* m : {"POST", "DELETE", "PUT", "PATCH"}) {
        BOOST_TEST(mtce::api::route(get("/v1/hosts/worker-0", m), b, false).status == 403, m);
        BOOST_TEST(mtce::api::route(get("/nowhere", m), b, false).status == 403, m);
        BOOST_TEST(mtce::api::route(get("/v1/hosts/worker-0", m), b, true).status == 405, m);
    }
    BOOST_TEST(body_of(mtce::api::route(get("/v1/hosts", "POST"), b, false))["error"] == "forbidden");
}

BOOST_AUTO_TEST_CASE(percent_decoding_refuses_bad_escapes_slashes_and_nul) {
    BOOST_TEST(mtce::api::percent_decode("a%20b").value_or("?") == "a b");
    BOOST_TEST(mtce::api::percent_decode("plain").value_or("?") == "plain");
    BOOST_TEST(!mtce::api::percent_decode("a%2").has_value());
    BOOST_TEST(!mtce::api::percent_decode("a%").has_value());
    BOOST_TEST(!mtce::api::percent_decode("a%zz").has_value());
    BOOST_TEST(!mtce::api::percent_decode("a%2Fb").has_value());
    BOOST_TEST(!mtce::api::percent_decode("a%00").has_value());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(a_response_has_status_line_type_length_connection_and_extra_headers) {
    mtce::api::http::response r{405, "application/json", "{}\n", {{"Allow", "GET, HEAD"}}};
    BOOST_TEST(mtce::api::http::serialize(r, false, true) ==
               "HTTP/1.1 405 Method Not Allowed\r\nContent-Type: application/json\r\nContent-Length: 3\r\n"
               "Connection: close\r\nAllow: GET, HEAD\r\n\r\n{}\n");
    BOOST_TEST(mtce::api::http::serialize(r, true, false) ==
               "HTTP/1.1 405 Method Not Allowed\r\nContent-Type: application/json\r\nContent-Length: 3\r\n"
               "Connection: keep-alive\r\nAllow: GET, HEAD\r\n\r\n");
}
