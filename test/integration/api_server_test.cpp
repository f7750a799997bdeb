#define BOOST_TEST_MODULE api_server_test
// The REST server over real sockets on loopback: routes (reads and changes), errors, access, deadlines,
// limits, shutdown, and the client.
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
#include <utility>
#include <vector>

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

mtce::api::reply request(const mtce::test::api_server& s, const std::string& method, const std::string& path,
                         const std::string& body = "") {
    auto r = mtce::api::request(method, s.url(), path, body, 5s);
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

    const auto system = get(s, "/v1/system");
    BOOST_TEST(system.status == 200);
    BOOST_TEST(system.content_type == "application/json");
    BOOST_TEST(json::parse(system.body) == b.system());

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

BOOST_AUTO_TEST_CASE(changes_from_loopback_reach_the_backend_and_answer_201_202_and_204) {
    mtce::test::fake_backend b;
    mtce::test::api_server s{b};
    const auto added = request(s, "POST", "/v1/hosts",
                               R"({"name": "worker-1", "personality": "worker", "mgmt_ip": "10.0.0.11",
                                   "bmc_type": "ipmi", "bmc_password": "s3cret"})");
    BOOST_TEST(added.status == 201);
    BOOST_TEST(added.content_type == "application/json");
    BOOST_TEST(json::parse(added.body) == json({{"name", "worker-1"}}));
    const auto acted = request(s, "POST", "/v1/hosts/worker-0/actions", R"({"action": "force-lock"})");
    BOOST_TEST(acted.status == 202);
    BOOST_TEST(json::parse(acted.body) == json::object());
    const auto deleted = request(s, "DELETE", "/v1/hosts/worker%2D1");
    BOOST_TEST(deleted.status == 204);
    BOOST_TEST(deleted.body.empty());
    const auto calls = b.calls();
    BOOST_REQUIRE(calls.size() == 3u);
    BOOST_TEST(calls[0].request.bmc_password == "s3cret");
    BOOST_TEST(calls[1].name == "worker-0");
    BOOST_TEST(calls[1].action == "force-lock");
    BOOST_TEST(calls[2].method == "delete_host");
    BOOST_TEST(calls[2].name == "worker-1");
}

BOOST_AUTO_TEST_CASE(a_204_on_a_kept_alive_connection_is_followed_by_the_next_response) {
    mtce::test::fake_backend b;
    mtce::test::api_server s{b};
    raw_connection c{s.port()};
    c.send(
        "DELETE /v1/hosts/worker-0 HTTP/1.1\r\nHost: x\r\n\r\n"
        "GET /v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    const auto all = c.read_until_closed(5s);
    BOOST_TEST(
        all.starts_with("HTTP/1.1 204 No Content\r\nConnection: keep-alive\r\n\r\nHTTP/1.1 200 OK\r\n"), all);
    BOOST_TEST(json::parse(body_of(all.substr(all.find("HTTP/1.1 200")))) == json({{"status", "ok"}}));
}

BOOST_AUTO_TEST_CASE(bad_bodies_are_400_with_the_parsers_reason_and_never_reach_the_backend) {
    mtce::test::fake_backend b;
    mtce::test::api_server s{b};
    const std::vector<std::pair<std::string, std::string>> cases{
        {R"({"name": "w", "personality": "worker", "mgmt_ip": 11})", "'mgmt_ip' must be a string"},
        {R"({"name": "w", "personality": "worker", "mgmt_ip": "1", "rack": 4})", "unknown field 'rack'"},
        {R"({"name": "w", "personality": "worker", "mgmt_ip": "1")", "the body is not valid JSON: "},
    };
    for (const auto& [body, reason] : cases) {
        const auto r = request(s, "POST", "/v1/hosts", body);
        BOOST_TEST(r.status == 400, body);
        const auto doc = json::parse(r.body);
        BOOST_TEST(doc["error"] == "bad request");
        BOOST_TEST(doc["reason"].get<std::string>().starts_with(reason), doc.dump());
    }
    const auto action = request(s, "POST", "/v1/hosts/worker-0/actions", R"({"action": 1})");
    BOOST_TEST(action.status == 400);
    BOOST_TEST(json::parse(action.body)["reason"] == "'action' must be a string");
    BOOST_TEST(request(s, "GET", "/v1/events?since=-1").status == 400);
    BOOST_TEST(b.calls().empty());
}

BOOST_AUTO_TEST_CASE(the_backends_refusals_become_404_409_503_and_an_unknown_actions_400) {
    using mtce::api::outcome;
    using mtce::api::result;
    mtce::test::fake_backend b;
    mtce::test::api_server s{b};
    b.answer_next(outcome::failure(result::invalid, "unknown action 'dance'"));
    b.answer_next(outcome::failure(result::not_found, "no host named worker-9"));
    b.answer_next(outcome::failure(result::refused, "cannot unlock: host is already unlocked"));
    b.answer_next(outcome::failure(result::not_saved, "the inventory could not be saved"));
    const auto unknown = request(s, "POST", "/v1/hosts/worker-0/actions", R"({"action": "dance"})");
    BOOST_TEST(unknown.status == 400);
    BOOST_TEST(json::parse(unknown.body) ==
               json({{"error", "bad request"}, {"reason", "unknown action 'dance'"}}));
    BOOST_TEST(request(s, "DELETE", "/v1/hosts/worker-9").status == 404);
    const auto refused = request(s, "POST", "/v1/hosts/worker-0/actions", R"({"action": "unlock"})");
    BOOST_TEST(refused.status == 409);
    BOOST_TEST(json::parse(refused.body) ==
               json({{"error", "refused"}, {"reason", "cannot unlock: host is already unlocked"}}));
    const auto unsaved =
        request(s, "POST", "/v1/hosts", R"({"name": "w", "personality": "worker", "mgmt_ip": "1"})");
    BOOST_TEST(unsaved.status == 503);
    BOOST_TEST(json::parse(unsaved.body) ==
               json({{"error", "not saved"}, {"reason", "the inventory could not be saved"}}));
    BOOST_REQUIRE(b.calls().size() == 4u);
    BOOST_TEST(b.calls()[0].action == "dance");
}

BOOST_AUTO_TEST_CASE(a_backend_exception_is_a_500_that_keeps_its_details_to_the_log) {
    mtce::test::fake_backend b;
    mtce::test::api_server s{b};
    b.throw_next("disk on fire at /var/lib/mtce");
    const auto r = request(s, "POST", "/v1/hosts/worker-0/actions", R"({"action": "lock"})");
    BOOST_TEST(r.status == 500);
    BOOST_TEST(json::parse(r.body) == json({{"error", "internal error"},
                                            {"reason", "the controller could not answer; see its log"}}));
    BOOST_TEST(r.body.find("disk") == std::string::npos);
    BOOST_TEST(get(s, "/v1/health").status == 200);
}

BOOST_AUTO_TEST_CASE(a_wrong_method_is_405_with_allow_and_a_body_that_is_not_json_is_415) {
    mtce::test::fake_backend b;
    mtce::test::api_server s{b};
    for (const auto& [request_text, allow] : std::vector<std::pair<std::string, std::string>>{
             {"PUT /v1/hosts HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
              "GET, HEAD, POST"},
             {"GET /v1/hosts/worker-0/actions HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "POST"},
             {"DELETE /v1/alarms HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "GET, HEAD"}}) {
        raw_connection c{s.port()};
        c.send(request_text);
        const auto response = c.read_until_closed(5s);
        BOOST_TEST(status_of(response) == 405, response);
        BOOST_TEST(response.find("\r\nAllow: " + allow + "\r\n") != std::string::npos, response);
    }
    raw_connection form{s.port()};
    form.send(
        "POST /v1/hosts/worker-0/actions HTTP/1.1\r\nHost: x\r\nContent-Type: "
        "application/x-www-form-urlencoded"
        "\r\nContent-Length: 11\r\nConnection: close\r\n\r\naction=lock");
    const auto response = form.read_until_closed(5s);
    BOOST_TEST(status_of(response) == 415, response);
    BOOST_TEST(json::parse(body_of(response))["error"] == "unsupported media type");
    BOOST_TEST(b.calls().empty());
}

BOOST_AUTO_TEST_CASE(alarms_and_events_are_served_with_since_and_limit) {
    mtce::test::fake_backend b;
    mtce::test::api_server s{b};
    b.set_alarms(json::array({{{"id", 1}, {"host", "worker-0"}, {"severity", "major"}}}));
    for (int i = 0; i < 3; ++i) {
        b.add_event("worker-0", "state", "e" + std::to_string(i));
    }
    BOOST_TEST(json::parse(get(s, "/v1/alarms").body)[0]["severity"] == "major");
    BOOST_TEST(json::parse(get(s, "/v1/events").body).size() == 3u);
    const auto later = json::parse(get(s, "/v1/events?since=1&limit=1").body);
    BOOST_REQUIRE(later.size() == 1u);
    BOOST_TEST(later[0]["text"] == "e1");
}

BOOST_AUTO_TEST_CASE(a_change_from_another_address_needs_the_bearer_token) {
    const auto address = mtce::test::non_loopback_ipv4();
    if (!address) {
        BOOST_TEST_MESSAGE("no non-loopback IPv4 address on this machine: skipped");
        return;
    }
    mtce::test::fake_backend b;
    mtce::test::api_server s{b, {}, "s3cret", {*address, 0}};
    const std::string lock = R"({"action": "lock"})";
    const auto path = "/v1/hosts/worker-0/actions";
    const auto anonymous = mtce::api::request("POST", s.url(), path, lock, 5s);
    BOOST_REQUIRE(anonymous.has_value());
    BOOST_TEST(anonymous->status == 403);
    BOOST_TEST(json::parse(anonymous->body)["error"] == "forbidden");
    BOOST_TEST(mtce::api::request("POST", s.url(), path, lock, 5s, "wrong")->status == 403);
    BOOST_TEST(mtce::api::request("DELETE", s.url(), "/v1/hosts/worker-0", "", 5s)->status == 403);
    BOOST_TEST(b.calls().empty());
    BOOST_TEST(mtce::api::get(s.url(), "/v1/hosts", 5s)->status == 200);  // reading needs no token
    BOOST_TEST(mtce::api::request("POST", s.url(), path, lock, 5s, "s3cret")->status == 202);
    BOOST_TEST(b.calls().size() == 1u);
}

BOOST_AUTO_TEST_CASE(stopping_cancels_a_change_the_backend_is_still_working_on_and_closes_its_connection) {
    mtce::test::fake_backend b;
    mtce::test::api_server s{b};
    b.hang_next();
    raw_connection c{s.port()};
    c.send(
        "POST /v1/hosts/worker-0/actions HTTP/1.1\r\nHost: x\r\nContent-Length: 17\r\n\r\n"
        "{\"action\":\"lock\"}");
    const auto limit = clock_type::now() + 10s;
    while (b.calls().empty() && clock_type::now() < limit) {
        std::this_thread::sleep_for(10ms);
    }
    BOOST_REQUIRE(b.calls().size() == 1u);
    s.stop();
    BOOST_TEST(!s.failed());
    BOOST_TEST(s.running() == 0u);
    BOOST_TEST(b.cancelled() == 1u);
    bool timed_out = false;
    BOOST_TEST(c.read_until_closed(3s, &timed_out).empty());  // closed without an answer
    BOOST_TEST(!timed_out);
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
