#define BOOST_TEST_MODULE api_http_test
// The REST server's HTTP without sockets: requests parsed from bytes (one at a time, within limits) and
// responses serialised. (The routes are in router_test.cpp.)
#include <boost/test/unit_test.hpp>

#include "api/http.hpp"

using mtce::api::http::request;
using mtce::api::http::request_parser;
using state = mtce::api::http::request_parser::state;

namespace {

/// Parses `text` as one complete request; fails the test otherwise.
request parsed(std::string_view text) {
    request_parser p;
    const auto step = p.feed(text);
    BOOST_REQUIRE(step.now == state::complete);
    BOOST_TEST(step.consumed == text.size());
    return p.current();
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

BOOST_AUTO_TEST_CASE(a_response_has_status_line_type_length_connection_and_extra_headers) {
    mtce::api::http::response r{405, "application/json", "{}\n", {{"Allow", "GET, HEAD"}}};
    BOOST_TEST(mtce::api::http::serialize(r, false, true) ==
               "HTTP/1.1 405 Method Not Allowed\r\nContent-Type: application/json\r\nContent-Length: 3\r\n"
               "Connection: close\r\nAllow: GET, HEAD\r\n\r\n{}\n");
    BOOST_TEST(mtce::api::http::serialize(r, true, false) ==
               "HTTP/1.1 405 Method Not Allowed\r\nContent-Type: application/json\r\nContent-Length: 3\r\n"
               "Connection: keep-alive\r\nAllow: GET, HEAD\r\n\r\n");
}

BOOST_AUTO_TEST_CASE(a_204_response_has_neither_body_nor_content_headers) {
    mtce::api::http::response r{204, "application/json", "ignored", {}};
    BOOST_TEST(mtce::api::http::serialize(r, true, true) ==
               "HTTP/1.1 204 No Content\r\nConnection: keep-alive\r\n\r\n");
}

BOOST_AUTO_TEST_CASE(the_statuses_of_changes_have_their_reason_phrases) {
    BOOST_TEST(mtce::api::http::reason_phrase(201) == "Created");
    BOOST_TEST(mtce::api::http::reason_phrase(202) == "Accepted");
    BOOST_TEST(mtce::api::http::reason_phrase(409) == "Conflict");
    BOOST_TEST(mtce::api::http::reason_phrase(415) == "Unsupported Media Type");
    BOOST_TEST(mtce::api::http::reason_phrase(501) == "Not Implemented");
    BOOST_TEST(mtce::api::http::reason_phrase(503) == "Service Unavailable");
}
