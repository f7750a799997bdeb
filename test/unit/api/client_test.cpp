#define BOOST_TEST_MODULE api_client_test
// The command-line client's HTTP/1.1 bytes: base URLs, the requests (with and without a body), and replies
// parsed strictly.
#include <boost/test/unit_test.hpp>

#include <string>

#include "api/client_wire.hpp"

using mtce::api::wire::format_request;
using mtce::api::wire::max_body;
using mtce::api::wire::max_head;
using mtce::api::wire::parse_base_url;
using mtce::api::wire::parse_reply;

namespace {

/// The reply parsed from `bytes` once the connection has closed; fails the test if it is an error.
mtce::api::reply complete(std::string_view bytes) {
    const auto r = parse_reply(bytes, true);
    BOOST_REQUIRE_MESSAGE(r.has_value(), (r.has_value() ? std::string{} : r.error()));
    BOOST_REQUIRE(r->has_value());
    return **r;
}

std::string error_of(std::string_view bytes, bool at_eof = true) {
    const auto r = parse_reply(bytes, at_eof);
    BOOST_REQUIRE(!r.has_value());
    return r.error();
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_reply_with_content_length_is_complete_without_waiting_for_eof) {
    const std::string bytes =
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: "
        "close\r\n\r\n{}";
    const auto r = parse_reply(bytes, false);
    BOOST_REQUIRE(r.has_value());
    BOOST_REQUIRE(r->has_value());
    BOOST_TEST((*r)->status == 200);
    BOOST_TEST((*r)->content_type == "application/json");
    BOOST_TEST((*r)->body == "{}");
}

BOOST_AUTO_TEST_CASE(a_reply_without_content_length_ends_at_eof) {
    const std::string bytes = "HTTP/1.0 404 Not Found\r\n\r\nno such thing";
    const auto partial = parse_reply(bytes, false);
    BOOST_REQUIRE(partial.has_value());
    BOOST_TEST(!partial->has_value());
    const auto r = complete(bytes);
    BOOST_TEST(r.status == 404);
    BOOST_TEST(r.content_type.empty());
    BOOST_TEST(r.body == "no such thing");
}

BOOST_AUTO_TEST_CASE(bad_status_lines_are_errors) {
    for (const char* line : {"HTTP/2 200 OK", "HTTP/1.1 20 OK", "HTTP/1.1 2000 OK", "HTTP/1.1 abc OK",
                             "http/1.1 200 OK", "HTTP/1.1  200 OK", "HTTP/1.2 200 OK", "garbage"}) {
        const auto e = error_of(std::string{line} + "\r\nContent-Length: 0\r\n\r\n");
        BOOST_TEST(e.starts_with("bad status line"), line << ": " << e);
    }
}

BOOST_AUTO_TEST_CASE(a_missing_reason_phrase_is_accepted) {
    BOOST_TEST(complete("HTTP/1.1 204\r\n\r\n").status == 204);
    BOOST_TEST(complete("HTTP/1.1 503 \r\nContent-Length: 1\r\n\r\nx").body == "x");
}

BOOST_AUTO_TEST_CASE(a_body_shorter_than_its_content_length_is_an_error) {
    const std::string bytes = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc";
    const auto waiting = parse_reply(bytes, false);
    BOOST_REQUIRE(waiting.has_value());
    BOOST_TEST(!waiting->has_value());
    BOOST_TEST(error_of(bytes) == "the connection closed after 3 of the reply's 10 body bytes");
}

BOOST_AUTO_TEST_CASE(headers_larger_than_64_kib_are_an_error) {
    const std::string bytes = "HTTP/1.1 200 OK\r\nX-Big: " + std::string(max_head, 'a');
    BOOST_TEST(error_of(bytes, false).find("headers are larger than") != std::string::npos);
    const std::string head = "HTTP/1.1 200 OK\r\nX-Big: " + std::string(max_head, 'a') + "\r\n\r\n";
    BOOST_TEST(error_of(head, false).find("headers are larger than") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_body_over_the_limit_is_an_error) {
    BOOST_TEST(
        error_of("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(max_body + 1) + "\r\n\r\n", false)
            .find("body is larger than") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_reply_split_anywhere_is_parsed_once_complete) {
    const std::string bytes = "HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello";
    for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
        const auto r = parse_reply(std::string_view{bytes}.substr(0, cut), false);
        BOOST_REQUIRE_MESSAGE(r.has_value(), "cut at " << cut);
        BOOST_TEST(!r->has_value(), "cut at " << cut);
    }
    BOOST_TEST(complete(bytes).body == "hello");
}

BOOST_AUTO_TEST_CASE(header_names_are_case_insensitive_and_values_trimmed) {
    const auto r =
        complete("HTTP/1.1 200 OK\r\nCONTENT-TYPE:\t text/plain \r\ncOnTeNt-LeNgTh:3\r\n\r\nabcdef");
    BOOST_TEST(r.content_type == "text/plain");
    BOOST_TEST(r.body == "abc");
}

BOOST_AUTO_TEST_CASE(chunked_bodies_and_bad_headers_are_errors) {
    BOOST_TEST(error_of("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n")
                   .find("Transfer-Encoding 'chunked'") != std::string::npos);
    BOOST_TEST(error_of("HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n").starts_with("bad Content-Length"));
    BOOST_TEST(error_of("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab")
                   .starts_with("bad Content-Length"));
    BOOST_TEST(error_of("HTTP/1.1 200 OK\r\nno colon\r\n\r\n").starts_with("bad header line"));
    BOOST_TEST(error_of("HTTP/1.1 200 OK\r\n folded: x\r\n\r\n").starts_with("bad header line"));
}

BOOST_AUTO_TEST_CASE(closing_early_is_an_error) {
    BOOST_TEST(error_of("") == "the connection closed without a reply");
    BOOST_TEST(error_of("HTTP/1.1 200 OK\r\n") == "the connection closed within the reply's headers");
}

BOOST_AUTO_TEST_CASE(base_urls_are_parsed_strictly) {
    const auto v4 = parse_base_url("http://127.0.0.1:2112");
    BOOST_REQUIRE(v4.has_value());
    BOOST_TEST(v4->address.host == "127.0.0.1");
    BOOST_TEST(v4->address.port == 2112);
    BOOST_TEST(v4->path_prefix.empty());
    const auto v6 = parse_base_url("http://[::1]:80/api/v0");
    BOOST_REQUIRE(v6.has_value());
    BOOST_TEST(v6->address.host == "::1");
    BOOST_TEST(v6->path_prefix == "/api/v0");
    BOOST_TEST(parse_base_url("https://127.0.0.1:2112").error() == "https is not supported by this client");
    for (const char* bad :
         {"ftp://1.2.3.4:1", "http://1.2.3.4", "http://host:80", "http://1.2.3.4:0", "http://1.2.3.4:80?x",
          "http://u@1.2.3.4:80", "http://::1:80", "http://1.2.3.4:80/a b", "127.0.0.1:2112",
          "unix:", "unix:relative.sock", "unix:/a b"}) {
        BOOST_TEST(!parse_base_url(bad).has_value(), bad);
    }
}

BOOST_AUTO_TEST_CASE(a_unix_url_names_the_local_socket_and_localhost_as_the_host) {
    const auto local = parse_base_url("unix:/run/mtce/api.sock");
    BOOST_REQUIRE(local.has_value());
    BOOST_TEST(local->socket_path == "/run/mtce/api.sock");
    BOOST_TEST(local->path_prefix.empty());
    BOOST_TEST(local->host() == "localhost");
    BOOST_TEST(parse_base_url("http://127.0.0.1:2112").value().host() == "127.0.0.1:2112");
}

BOOST_AUTO_TEST_CASE(the_request_names_the_host_and_asks_to_close) {
    const auto to = parse_base_url("http://[::1]:2112").value();
    BOOST_TEST(
        format_request("GET", to.host(), "/v1/hosts", "", "") ==
        "GET /v1/hosts HTTP/1.1\r\nHost: [::1]:2112\r\nUser-Agent: mtce\r\nAccept: application/json\r\n"
        "Connection: close\r\n\r\n");
    BOOST_TEST(
        format_request("GET", to.host(), "/", "", "t0k").find("\r\nAuthorization: Bearer t0k\r\n\r\n") !=
        std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_request_with_a_body_sends_it_as_json_with_its_length) {
    const auto to = parse_base_url("http://127.0.0.1:2112").value();
    const std::string body = R"({"action":"lock"})";
    BOOST_TEST(format_request("POST", to.host(), "/v1/hosts/w/actions", body, "t0k") ==
               "POST /v1/hosts/w/actions HTTP/1.1\r\nHost: 127.0.0.1:2112\r\nUser-Agent: mtce\r\n"
               "Accept: application/json\r\nConnection: close\r\nAuthorization: Bearer t0k\r\n"
               "Content-Type: application/json\r\nContent-Length: 17\r\n\r\n" +
                   body);
}

BOOST_AUTO_TEST_CASE(a_change_without_a_body_is_still_json_and_says_its_length_is_zero) {
    // The API takes changes only as application/json (a browser cannot send that across origins).
    const auto to = parse_base_url("http://127.0.0.1:2112").value();
    BOOST_TEST(format_request("DELETE", to.host(), "/v1/hosts/w", "", "") ==
               "DELETE /v1/hosts/w HTTP/1.1\r\nHost: 127.0.0.1:2112\r\nUser-Agent: mtce\r\n"
               "Accept: application/json\r\nConnection: close\r\nContent-Type: application/json\r\n"
               "Content-Length: 0\r\n\r\n");
    BOOST_TEST(format_request("HEAD", to.host(), "/", "", "").find("Content-Length") == std::string::npos);
}
