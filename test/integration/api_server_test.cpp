#define BOOST_TEST_MODULE api_server_test
// The REST server over real sockets on loopback: routes, errors, deadlines, limits, and the client.
#include <boost/test/unit_test.hpp>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>

#include <asio/error.hpp>
#include <asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "api/client.hpp"
#include "api_server.hpp"
#include "fake_backend.hpp"

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;
using nlohmann::json;

namespace {

/// A plain TCP connection to the server, for what the client does not do (partial, oversized, POST).
class raw_connection {
public:
    explicit raw_connection(std::uint16_t port) {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
            throw std::runtime_error{std::string{"connect: "} + std::strerror(errno)};
        }
    }
    ~raw_connection() { ::close(fd_); }
    raw_connection(const raw_connection&) = delete;
    raw_connection& operator=(const raw_connection&) = delete;

    void send(const std::string& bytes) const {
        for (std::size_t off = 0; off < bytes.size();) {
            const auto n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
            if (n <= 0) {
                throw std::runtime_error{std::string{"send: "} + std::strerror(errno)};
            }
            off += static_cast<std::size_t>(n);
        }
    }

    /// Everything received until the server closes the connection (or `limit` passes: then "timeout" is set).
    std::string read_until_closed(std::chrono::milliseconds limit, bool* timed_out = nullptr) const {
        std::string out;
        const auto deadline = clock_type::now() + limit;
        for (;;) {
            const auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
            pollfd p{fd_, POLLIN, 0};
            if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
                if (timed_out != nullptr) {
                    *timed_out = true;
                }
                return out;
            }
            char buf[4096];
            const auto n = ::recv(fd_, buf, sizeof buf, 0);
            if (n <= 0) {
                return out;
            }
            out.append(buf, static_cast<std::size_t>(n));
        }
    }

private:
    int fd_ = -1;
};

int status_of(const std::string& response) {
    if (!response.starts_with("HTTP/1.1 ") || response.size() < 12) {
        return -1;
    }
    return std::stoi(response.substr(9, 3));
}

std::string body_of(const std::string& response) {
    const auto end = response.find("\r\n\r\n");
    return end == std::string::npos ? std::string{} : response.substr(end + 4);
}

mtce::api::reply get(const mtce::test::api_server& s, const std::string& path) {
    auto r = mtce::api::get(s.url(), path, 5s);
    BOOST_REQUIRE_MESSAGE(r.has_value(), (r ? std::string{} : r.error()));
    return *r;
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_route_answers_with_its_status_content_type_and_body) {
    mtce::test::fake_backend b;
    mtce::test::api_server s{b};

    const auto hosts = get(s, "/v1/hosts");
    BOOST_TEST(hosts.status == 200);
    BOOST_TEST(hosts.content_type == "application/json");
    BOOST_TEST(json::parse(hosts.body) == b.hosts_);

    const auto one = get(s, "/v1/hosts/worker-0");
    BOOST_TEST(one.status == 200);
    BOOST_TEST(json::parse(one.body) == b.hosts_[1]);

    const auto health = get(s, "/v1/health");
    BOOST_TEST(health.status == 200);
    BOOST_TEST(json::parse(health.body) == json({{"status", "ok"}}));

    const auto metrics = get(s, "/metrics");
    BOOST_TEST(metrics.status == 200);
    BOOST_TEST(metrics.content_type == "text/plain; version=0.0.4");
    BOOST_TEST(metrics.body == b.metrics());
}

BOOST_AUTO_TEST_CASE(an_unknown_host_or_route_is_404_with_a_json_error) {
    mtce::test::fake_backend b;
    mtce::test::api_server s{b};
    const auto host = get(s, "/v1/hosts/nosuch");
    BOOST_TEST(host.status == 404);
    BOOST_TEST(host.content_type == "application/json");
    BOOST_TEST(json::parse(host.body) == json({{"error", "not found"}, {"reason", "no host named nosuch"}}));
    const auto route = get(s, "/v1/nothing-here");
    BOOST_TEST(route.status == 404);
    BOOST_TEST(json::parse(route.body)["error"] == "not found");
}

BOOST_AUTO_TEST_CASE(a_post_from_loopback_passes_the_access_check_and_gets_405) {
    mtce::test::fake_backend b;
    mtce::test::api_server s{b};
    for (const std::string request :
         {"POST /v1/hosts HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
          "DELETE /v1/hosts/worker-0 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"}) {
        raw_connection c{s.port()};
        c.send(request);
        const auto response = c.read_until_closed(5s);
        BOOST_TEST(status_of(response) == 405, response);
        BOOST_TEST(json::parse(body_of(response))["error"] == "method not allowed");
    }
}

BOOST_AUTO_TEST_CASE(a_kept_alive_connection_serves_pipelined_requests_in_order) {
    mtce::test::fake_backend b;
    mtce::test::api_server s{b};
    raw_connection c{s.port()};
    c.send(
        "GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\nHEAD /v1/hosts HTTP/1.1\r\nHost: x\r\n\r\n"
        "GET /v1/hosts/controller-0 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    const auto all = c.read_until_closed(5s);
    const auto second = all.find("HTTP/1.1 ", 1);
    const auto third = all.find("HTTP/1.1 ", second + 1);
    BOOST_REQUIRE(second != std::string::npos);
    BOOST_REQUIRE(third != std::string::npos);
    BOOST_TEST(status_of(all) == 200);
    BOOST_TEST(all.substr(second, third - second).ends_with("\r\n\r\n"));  // HEAD: no body
    BOOST_TEST(json::parse(body_of(all.substr(third)))["name"] == "controller-0");
}

BOOST_AUTO_TEST_CASE(a_client_that_never_completes_its_request_is_cut_off_at_the_deadline) {
    mtce::test::fake_backend b;
    mtce::api::server_options options;
    options.request_timeout = 300ms;
    mtce::test::api_server s{b, options};

    raw_connection partial{s.port()};
    raw_connection idle{s.port()};
    const auto start = clock_type::now();
    partial.send("GET /v1/hosts HTTP/1.1\r\nHost: x\r\nX-Slow: ");
    bool timed_out = false;
    const auto response = partial.read_until_closed(5s, &timed_out);
    const auto took = clock_type::now() - start;
    BOOST_TEST(!timed_out);
    BOOST_TEST(status_of(response) == 408, response);
    BOOST_TEST(took >= 250ms);
    BOOST_TEST(took < 3s);

    BOOST_TEST(idle.read_until_closed(5s, &timed_out).empty());  // closed without a word
    BOOST_TEST(!timed_out);
    BOOST_TEST(get(s, "/v1/health").status == 200);
}

BOOST_AUTO_TEST_CASE(an_oversized_head_gets_431_and_the_server_keeps_serving) {
    mtce::test::fake_backend b;
    mtce::test::api_server s{b};
    raw_connection c{s.port()};
    c.send("GET /v1/hosts HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20 * 1024, 'a') + "\r\n\r\n");
    const auto response = c.read_until_closed(5s);
    BOOST_TEST(status_of(response) == 431, response.substr(0, 200));
    BOOST_TEST(json::parse(body_of(response))["reason"] == "the request line and headers exceed 16384 bytes");
    BOOST_TEST(get(s, "/v1/hosts").status == 200);
}

BOOST_AUTO_TEST_CASE(garbage_gets_400_and_the_server_keeps_serving) {
    mtce::test::fake_backend b;
    mtce::test::api_server s{b};
    raw_connection c{s.port()};
    c.send("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not http at all\r\n\r\n");
    BOOST_TEST(status_of(c.read_until_closed(5s)) == 400);
    BOOST_TEST(get(s, "/v1/health").status == 200);
}

BOOST_AUTO_TEST_CASE(connections_beyond_the_limit_are_closed_at_once) {
    mtce::test::fake_backend b;
    mtce::api::server_options options;
    options.max_connections = 2;
    mtce::test::api_server s{b, options};
    raw_connection first{s.port()};
    raw_connection second{s.port()};
    raw_connection third{s.port()};
    bool timed_out = false;
    BOOST_TEST(third.read_until_closed(3s, &timed_out).empty());
    BOOST_TEST(!timed_out);
    first.send("GET /v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    BOOST_TEST(status_of(first.read_until_closed(5s)) == 200);
}

BOOST_AUTO_TEST_CASE(stopping_closes_the_listener_and_open_connections) {
    mtce::test::fake_backend b;
    mtce::test::api_server s{b};
    const auto url = s.url();
    raw_connection open{s.port()};
    s.stop();
    BOOST_TEST(!s.failed());
    BOOST_TEST(s.running() == 0u);
    bool timed_out = false;
    BOOST_TEST(open.read_until_closed(3s, &timed_out).empty());
    BOOST_TEST(!timed_out);
    const auto r = mtce::api::get(url, "/v1/health", 2s);
    BOOST_REQUIRE(!r.has_value());
    BOOST_TEST(r.error().starts_with("controller unreachable at " + url + "/v1/health: "), r.error());
}

BOOST_AUTO_TEST_CASE(binding_an_address_in_use_throws_naming_it) {
    mtce::test::fake_backend b;
    mtce::test::api_server s{b};
    asio::io_context io;
    mtce::api::server second{io.get_executor(), {"127.0.0.1", s.port()}, b, ""};
    try {
        (void)second.bind();
        BOOST_FAIL("bind succeeded on a port in use");
    } catch (const std::system_error& e) {
        BOOST_TEST(
            std::string{e.what()}.starts_with("api: cannot listen on 127.0.0.1:" + std::to_string(s.port())),
            e.what());
        BOOST_TEST((e.code() == asio::error::address_in_use), e.code().message());
    }
}

BOOST_AUTO_TEST_CASE(the_client_sends_the_bearer_token_when_given_one) {
    // A one-shot listener that records the request the client sends.
    const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    BOOST_REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    BOOST_REQUIRE(::listen(listener, 1) == 0);
    BOOST_REQUIRE(::getsockname(listener, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    std::string request;
    std::thread peer{[&] {
        const int c = ::accept(listener, nullptr, nullptr);
        char buf[4096];
        while (request.find("\r\n\r\n") == std::string::npos) {
            const auto n = ::recv(c, buf, sizeof buf, 0);
            if (n <= 0) {
                break;
            }
            request.append(buf, static_cast<std::size_t>(n));
        }
        const std::string reply = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}";
        (void)::send(c, reply.data(), reply.size(), MSG_NOSIGNAL);
        ::close(c);
    }};
    const auto r = mtce::api::get("http://127.0.0.1:" + std::to_string(ntohs(a.sin_port)) + "/", "/v1/health",
                                  5s, "s3cret");
    peer.join();
    ::close(listener);
    BOOST_REQUIRE(r.has_value());
    BOOST_TEST(r->status == 200);
    BOOST_TEST(request.starts_with("GET /v1/health HTTP/1.1\r\n"), request);
    BOOST_TEST(request.find("\r\nAuthorization: Bearer s3cret\r\n") != std::string::npos, request);
}

BOOST_AUTO_TEST_CASE(a_server_that_never_answers_is_unreachable_once_the_timeout_expires) {
    // The kernel completes the connection from the backlog; nobody ever reads the request or answers.
    const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    BOOST_REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    BOOST_REQUIRE(::listen(listener, 1) == 0);
    BOOST_REQUIRE(::getsockname(listener, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    const auto url = "http://127.0.0.1:" + std::to_string(ntohs(a.sin_port));
    const auto start = clock_type::now();
    const auto r = mtce::api::get(url, "/v1/health", 300ms);
    const auto took = clock_type::now() - start;
    ::close(listener);
    BOOST_REQUIRE(!r.has_value());
    BOOST_TEST(r.error() == "controller unreachable at " + url + "/v1/health: no reply within 300 ms");
    BOOST_TEST((took >= 300ms && took < 2s));
}
