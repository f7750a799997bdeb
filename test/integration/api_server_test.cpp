#define BOOST_TEST_MODULE api_server_test
// The REST server over real sockets on loopback: routes (reads and changes), errors, access, deadlines,
// limits, shutdown, and the client.
#include <boost/test/unit_test.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <asio/error.hpp>
#include <asio/io_context.hpp>
#include <asio/local/stream_protocol.hpp>
#include <nlohmann/json.hpp>

#include "api/client.hpp"
#include "api_server.hpp"
#include "fake_backend.hpp"
#include "scratch.hpp"

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;
using nlohmann::json;

namespace {

const std::string test_token = "test-token";
/// What a change sent by hand needs: the content type and the token.
const std::string change_headers = "Content-Type: application/json\r\nAuthorization: Bearer test-token\r\n";

/// A plain TCP connection to the server, for what the client does not do (partial, oversized, POST).
class raw_connection {
public:
    /// Connects from `source` (an address of 127.0.0.0/8: another client to the server) when given.
    explicit raw_connection(std::uint16_t port, const char* source = nullptr) : port_{port} {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd_ >= 0 && source != nullptr) {
            sockaddr_in from{};
            from.sin_family = AF_INET;
            ::inet_pton(AF_INET, source, &from.sin_addr);
            if (::bind(fd_, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0) {
                throw std::runtime_error{std::string{"bind: "} + std::strerror(errno)};
            }
        }
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

    /// Sends `text` with "@HOST@" replaced by the server's address, as Host must name it.
    void send(std::string text) const {
        const std::string host = "127.0.0.1:" + std::to_string(port_);
        for (auto at = text.find("@HOST@"); at != std::string::npos; at = text.find("@HOST@")) {
            text.replace(at, 6, host);
        }
        const std::string& bytes = text;
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

    [[nodiscard]] int fd() const { return fd_; }

private:
    int fd_ = -1;
    std::uint16_t port_ = 0;
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
    auto r = mtce::api::request(method, s.url(), path, body, 5s, test_token);
    BOOST_REQUIRE_MESSAGE(r.has_value(), (r ? std::string{} : r.error()));
    return *r;
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_route_answers_with_its_status_content_type_and_body) {
    mtce::test::fake_backend b;
    mtce::test::api_server s{b, {}, test_token};

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
    BOOST_TEST(metrics.body.starts_with(b.metrics()));  // then the server's own
    BOOST_TEST(metrics.body.find("\nmtce_api_refused_total{reason=\"server_full\"} 0\n") !=
               std::string::npos);
}

BOOST_AUTO_TEST_CASE(an_unknown_host_or_route_is_404_with_a_json_error) {
    mtce::test::fake_backend b;
    mtce::test::api_server s{b, {}, test_token};
    const auto host = get(s, "/v1/hosts/nosuch");
    BOOST_TEST(host.status == 404);
    BOOST_TEST(host.content_type == "application/json");
    BOOST_TEST(json::parse(host.body) == json({{"error", "not found"}, {"reason", "no host named nosuch"}}));
    const auto route = get(s, "/v1/nothing-here");
    BOOST_TEST(route.status == 404);
    BOOST_TEST(json::parse(route.body)["error"] == "not found");
}

BOOST_AUTO_TEST_CASE(changes_with_the_token_reach_the_backend_and_answer_201_202_and_204) {
    mtce::test::fake_backend b;
    mtce::test::api_server s{b, {}, test_token};
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
    mtce::test::api_server s{b, {}, test_token};
    raw_connection c{s.port()};
    c.send("DELETE /v1/hosts/worker-0 HTTP/1.1\r\nHost: @HOST@\r\n" + change_headers +
           "\r\n"
           "GET /v1/health HTTP/1.1\r\nHost: @HOST@\r\nConnection: close\r\n\r\n");
    const auto all = c.read_until_closed(5s);
    BOOST_TEST(
        all.starts_with("HTTP/1.1 204 No Content\r\nConnection: keep-alive\r\n\r\nHTTP/1.1 200 OK\r\n"), all);
    BOOST_TEST(json::parse(body_of(all.substr(all.find("HTTP/1.1 200")))) == json({{"status", "ok"}}));
}

BOOST_AUTO_TEST_CASE(bad_bodies_are_400_with_the_parsers_reason_and_never_reach_the_backend) {
    mtce::test::fake_backend b;
    mtce::test::api_server s{b, {}, test_token};
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
    mtce::test::api_server s{b, {}, test_token};
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
    mtce::test::api_server s{b, {}, test_token};
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
    mtce::test::api_server s{b, {}, test_token};
    for (const auto& [request_text, allow] : std::vector<std::pair<std::string, std::string>>{
             {"PUT /v1/hosts HTTP/1.1\r\nHost: @HOST@\r\n" + change_headers +
                  "Content-Length: 0\r\nConnection: close\r\n\r\n",
              "GET, HEAD, POST"},
             {"GET /v1/hosts/worker-0/actions HTTP/1.1\r\nHost: @HOST@\r\nConnection: close\r\n\r\n", "POST"},
             {"DELETE /v1/alarms HTTP/1.1\r\nHost: @HOST@\r\n" + change_headers + "Connection: close\r\n\r\n",
              "GET, HEAD"}}) {
        raw_connection c{s.port()};
        c.send(request_text);
        const auto response = c.read_until_closed(5s);
        BOOST_TEST(status_of(response) == 405, response);
        BOOST_TEST(response.find("\r\nAllow: " + allow + "\r\n") != std::string::npos, response);
    }
    raw_connection form{s.port()};
    form.send(
        "POST /v1/hosts/worker-0/actions HTTP/1.1\r\nHost: @HOST@\r\nAuthorization: Bearer test-token\r\n"
        "Content-Type: application/x-www-form-urlencoded"
        "\r\nContent-Length: 11\r\nConnection: close\r\n\r\naction=lock");
    const auto response = form.read_until_closed(5s);
    BOOST_TEST(status_of(response) == 415, response);
    BOOST_TEST(json::parse(body_of(response))["error"] == "unsupported media type");
    BOOST_TEST(b.calls().empty());
}

BOOST_AUTO_TEST_CASE(alarms_and_events_are_served_with_since_and_limit) {
    mtce::test::fake_backend b;
    mtce::test::api_server s{b, {}, test_token};
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
    mtce::test::api_server s{b, {}, test_token};
    b.hang_next();
    raw_connection c{s.port()};
    c.send("POST /v1/hosts/worker-0/actions HTTP/1.1\r\nHost: @HOST@\r\n" + change_headers +
           "Content-Length: 17\r\n\r\n"
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
    mtce::test::api_server s{b, {}, test_token};
    raw_connection c{s.port()};
    c.send(
        "GET /v1/health HTTP/1.1\r\nHost: @HOST@\r\n\r\nHEAD /v1/hosts HTTP/1.1\r\nHost: @HOST@\r\n\r\n"
        "GET /v1/hosts/controller-0 HTTP/1.1\r\nHost: @HOST@\r\nConnection: close\r\n\r\n");
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
    mtce::test::api_server s{b, options, test_token};

    raw_connection partial{s.port()};
    raw_connection idle{s.port()};
    const auto start = clock_type::now();
    partial.send("GET /v1/hosts HTTP/1.1\r\nHost: @HOST@\r\nX-Slow: ");
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
    mtce::test::api_server s{b, {}, test_token};
    raw_connection c{s.port()};
    c.send("GET /v1/hosts HTTP/1.1\r\nHost: @HOST@\r\nX-Big: " + std::string(20 * 1024, 'a') + "\r\n\r\n");
    const auto response = c.read_until_closed(5s);
    BOOST_TEST(status_of(response) == 431, response.substr(0, 200));
    BOOST_TEST(json::parse(body_of(response))["reason"] == "the request line and headers exceed 16384 bytes");
    BOOST_TEST(get(s, "/v1/hosts").status == 200);
}

BOOST_AUTO_TEST_CASE(garbage_gets_400_and_the_server_keeps_serving) {
    mtce::test::fake_backend b;
    mtce::test::api_server s{b, {}, test_token};
    raw_connection c{s.port()};
    c.send("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not http at all\r\n\r\n");
    BOOST_TEST(status_of(c.read_until_closed(5s)) == 400);
    BOOST_TEST(get(s, "/v1/health").status == 200);
}

BOOST_AUTO_TEST_CASE(connections_beyond_the_limit_get_503_with_retry_after_unread) {
    mtce::test::fake_backend b;
    mtce::api::server_options options;
    options.max_connections = 2;
    mtce::test::api_server s{b, options, test_token};
    raw_connection first{s.port()};
    raw_connection second{s.port(), "127.0.0.2"};
    raw_connection third{s.port(), "127.0.0.3"};
    bool timed_out = false;
    const auto refused = third.read_until_closed(3s, &timed_out);  // answered without sending a byte
    BOOST_TEST(!timed_out);
    BOOST_TEST(status_of(refused) == 503, refused);
    BOOST_TEST(refused.find("\r\nRetry-After: 1\r\n") != std::string::npos, refused);
    BOOST_TEST(json::parse(body_of(refused))["error"] == "busy");
    first.send("GET /metrics HTTP/1.1\r\nHost: @HOST@\r\nConnection: close\r\n\r\n");
    const auto metrics = first.read_until_closed(5s);
    BOOST_TEST(status_of(metrics) == 200);
    BOOST_TEST(metrics.find("mtce_api_refused_total{reason=\"server_full\"} 1\n") != std::string::npos,
               metrics);
}

BOOST_AUTO_TEST_CASE(stopping_closes_the_listener_and_open_connections) {
    mtce::test::fake_backend b;
    mtce::test::api_server s{b, {}, test_token};
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
    mtce::test::api_server s{b, {}, test_token};
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

// --- Access: what a browser page, a relay or a stranger on the host can send ---

BOOST_AUTO_TEST_CASE(a_change_from_loopback_without_the_token_is_refused_unless_loopback_is_trusted) {
    mtce::test::fake_backend b;
    mtce::test::api_server s{b, {}, test_token};
    const std::string lock = R"({"action": "lock"})";
    const auto refused = mtce::api::request("POST", s.url(), "/v1/hosts/worker-0/actions", lock, 5s);
    BOOST_REQUIRE(refused.has_value());
    BOOST_TEST(refused->status == 403);
    BOOST_TEST(json::parse(refused->body)["reason"].get<std::string>().find("controller.api_socket") !=
                   std::string::npos,
               refused->body);
    BOOST_TEST(b.calls().empty());

    mtce::api::server_options trusting;
    trusting.trust_loopback = true;
    mtce::test::api_server t{b, trusting, test_token};
    BOOST_TEST(mtce::api::request("POST", t.url(), "/v1/hosts/worker-0/actions", lock, 5s)->status == 202);
    BOOST_TEST(b.calls().size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_cross_site_shaped_post_from_loopback_is_refused_even_when_loopback_is_trusted) {
    // What a page in a browser can send to 127.0.0.1 without a preflight: a "simple" POST with a text body,
    // its own Origin, and (after DNS rebinding) its own name in Host.
    mtce::test::fake_backend b;
    mtce::api::server_options trusting;
    trusting.trust_loopback = true;
    mtce::test::api_server s{b, trusting, test_token};
    const std::string body = R"({"action":"reboot"})";
    const auto length = "Content-Length: " + std::to_string(body.size()) + "\r\n";
    const std::vector<std::string> heads{
        "Host: @HOST@\r\nOrigin: http://evil.example\r\n",
        "Host: evil.example:" + std::to_string(s.port()) + "\r\nContent-Type: application/json\r\n",
        "Host: @HOST@\r\n",
        "Host: @HOST@\r\nContent-Type: text/plain\r\n",
        "Host: @HOST@\r\nOrigin: http://evil.example\r\nContent-Type: application/json\r\n",
    };
    for (const auto& head : heads) {
        raw_connection c{s.port()};
        c.send("POST /v1/hosts/worker-0/actions HTTP/1.1\r\n" + head + length + "Connection: close\r\n\r\n" +
               body);
        const auto response = c.read_until_closed(5s);
        const auto status = status_of(response);
        BOOST_TEST((status == 403 || status == 415), head << response);
    }
    raw_connection rebound{s.port()};
    rebound.send("GET /v1/hosts HTTP/1.1\r\nHost: evil.example:" + std::to_string(s.port()) +
                 "\r\nConnection: close\r\n\r\n");
    BOOST_TEST(status_of(rebound.read_until_closed(5s)) == 403);  // the inventory is not read by a page
    BOOST_TEST(b.calls().empty());
}

// --- Starvation ---

namespace {

/// Connects `n` clients from `source` that each send one byte of a request every second: slow clients that
/// would hold a connection slot each for as long as the server lets them.
class slow_flood {
public:
    slow_flood(std::uint16_t port, std::size_t n, const char* source) {
        for (std::size_t i = 0; i < n; ++i) {
            clients_.push_back(std::make_unique<raw_connection>(port, source));
        }
        trickle_ = std::thread{[this] {
            const std::string request = "GET /v1/hosts HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: 1\r\n";
            for (std::size_t at = 0; !stop_; ++at) {
                for (const auto& c : clients_) {
                    (void)::send(c->fd(), request.data() + at % request.size(), 1,
                                 MSG_NOSIGNAL | MSG_DONTWAIT);
                }
                for (int i = 0; i < 10 && !stop_; ++i) {
                    std::this_thread::sleep_for(100ms);
                }
            }
        }};
    }
    ~slow_flood() {
        stop_ = true;
        trickle_.join();
    }
    slow_flood(const slow_flood&) = delete;
    slow_flood& operator=(const slow_flood&) = delete;

    /// How many clients have been answered 503 (each read without waiting).
    std::size_t busy() const {
        std::size_t n = 0;
        for (const auto& c : clients_) {
            char buf[64] = {};
            const auto got = ::recv(c->fd(), buf, sizeof buf - 1, MSG_DONTWAIT | MSG_PEEK);
            n += got > 12 && std::string{buf}.starts_with("HTTP/1.1 503") ? 1 : 0;
        }
        return n;
    }

private:
    std::vector<std::unique_ptr<raw_connection>> clients_;
    std::atomic<bool> stop_{false};
    std::thread trickle_;
};

}  // namespace

BOOST_AUTO_TEST_CASE(a_flood_of_slow_clients_from_one_address_leaves_room_for_everyone_else) {
    mtce::test::scratch dir;
    mtce::test::fake_backend b;
    mtce::api::server_options options;
    options.max_connections = 16;
    options.client_connections = 4;
    options.socket_path = (dir.path() / "api.sock").string();
    mtce::test::api_server s{b, options, test_token};
    const slow_flood flood{s.port(), 2 * options.max_connections, "127.0.0.9"};
    std::this_thread::sleep_for(1500ms);  // every flood client has connected and sent a byte or two
    for (int i = 0; i < 5; ++i) {
        const auto start = clock_type::now();
        const auto local = mtce::api::get("unix:" + options.socket_path, "/v1/hosts", 5s);
        BOOST_REQUIRE_MESSAGE(local.has_value(), (local ? std::string{} : local.error()));
        BOOST_TEST(local->status == 200);
        raw_connection other{s.port(), "127.0.0.2"};
        other.send("GET /v1/hosts HTTP/1.1\r\nHost: @HOST@\r\nConnection: close\r\n\r\n");
        BOOST_TEST(status_of(other.read_until_closed(5s)) == 200);
        BOOST_TEST_MESSAGE(
            "GET over the socket and over TCP under the flood: "
            << std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - start).count()
            << " ms");
    }
    BOOST_TEST(flood.busy() == 2 * options.max_connections - options.client_connections);
}

BOOST_AUTO_TEST_CASE(slow_clients_are_cut_off_at_the_client_timeout_and_counted) {
    mtce::test::fake_backend b;
    mtce::api::server_options options;
    options.request_timeout = 1500ms;
    mtce::test::api_server s{b, options, test_token};
    {
        const slow_flood flood{s.port(), 3, "127.0.0.9"};
        std::this_thread::sleep_for(3500ms);
    }
    const auto metrics = get(s, "/metrics").body;
    BOOST_TEST(metrics.find("mtce_api_refused_total{reason=\"timed_out\"} 3\n") != std::string::npos,
               metrics);
}

BOOST_AUTO_TEST_CASE(a_burst_of_a_thousand_requests_gets_answers_and_no_resets) {
    mtce::test::fake_backend b;
    mtce::test::api_server s{b, {}, test_token};
    constexpr std::size_t n = 1000;
    std::vector<std::unique_ptr<raw_connection>> clients;
    const auto start = clock_type::now();
    for (std::size_t i = 0; i < n; ++i) {
        // Four source addresses: more than one client's share, and more than the server's limit, in all.
        const std::string source = "127.0.1." + std::to_string(1 + i % 4);
        clients.push_back(std::make_unique<raw_connection>(s.port(), source.c_str()));
        clients.back()->send("GET /v1/hosts HTTP/1.1\r\nHost: @HOST@\r\nConnection: close\r\n\r\n");
    }
    std::size_t ok = 0;
    std::size_t busy = 0;
    std::size_t other = 0;
    std::size_t resets = 0;
    for (const auto& c : clients) {
        std::string got;
        for (;;) {
            pollfd p{c->fd(), POLLIN, 0};
            if (::poll(&p, 1, 20000) <= 0) {
                break;
            }
            char buf[4096];
            const auto r = ::recv(c->fd(), buf, sizeof buf, 0);
            if (r < 0 && errno == ECONNRESET) {
                ++resets;
            }
            if (r <= 0) {
                break;
            }
            got.append(buf, static_cast<std::size_t>(r));
        }
        const auto status = status_of(got);
        ok += status == 200 ? 1 : 0;
        busy += status == 503 ? 1 : 0;
        other += status != 200 && status != 503 ? 1 : 0;
    }
    BOOST_TEST_MESSAGE(
        n << " requests: " << ok << " answered 200, " << busy << " 503, " << other << " other, " << resets
          << " resets, in "
          << std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - start).count()
          << " ms");
    BOOST_TEST(resets == 0u);
    BOOST_TEST(other == 0u);
    BOOST_TEST(ok + busy == n);
    BOOST_TEST(ok >= 64u);  // at least four clients' shares
}

// --- The local socket ---

namespace {

/// GET /v1/hosts over `socket` from a child process running as user `uid` and group `gid`; the status,
/// 0 if it could not connect, -1 if no answer came.
int get_as(const std::string& socket, uid_t uid, gid_t gid) {
    const pid_t pid = ::fork();
    if (pid == 0) {
        if (::setgroups(0, nullptr) != 0 || ::setgid(gid) != 0 || ::setuid(uid) != 0) {
            ::_exit(100);
        }
        const auto r = mtce::api::get("unix:" + socket, "/v1/hosts", 5s);
        if (!r) {
            ::_exit(r.error().find("ermission denied") != std::string::npos ? 101 : 102);
        }
        ::_exit(static_cast<int>(r->status / 100));
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_local_socket_admits_only_root_its_user_and_its_group_by_peer_credentials) {
    if (::geteuid() != 0) {
        BOOST_TEST_MESSAGE("not root: cannot run a client as another user; skipped");
        return;
    }
    mtce::test::scratch dir;
    ::chmod(dir.path().c_str(), 0755);
    mtce::test::fake_backend b;
    mtce::api::server_options options;
    options.socket_path = (dir.path() / "api.sock").string();
    {
        mtce::test::api_server s{b, options, test_token};
        struct stat st {};
        BOOST_REQUIRE(::stat(options.socket_path.c_str(), &st) == 0);
        BOOST_TEST((st.st_mode & 07777) == 0600u);
        BOOST_TEST(get_as(options.socket_path, 0, 0) == 2);            // root: 2xx
        BOOST_TEST(get_as(options.socket_path, 65534, 65534) == 101);  // the file's mode keeps nobody out
        // Were the mode looser, the peer's credentials still would.
        ::chmod(options.socket_path.c_str(), 0666);
        BOOST_TEST(get_as(options.socket_path, 65534, 65534) == 4);  // 403
        const auto metrics = get(s, "/metrics").body;
        BOOST_TEST(
            metrics.find("mtce_api_refused_total{reason=\"peer_credentials\"} 1\n") != std::string::npos,
            metrics);
    }
    BOOST_TEST(!std::filesystem::exists(options.socket_path));  // removed at stop

    const auto* nogroup = ::getgrgid(65534);
    if (nogroup == nullptr) {
        return;
    }
    options.socket_group = nogroup->gr_name;
    ::close(::open(options.socket_path.c_str(), O_CREAT | O_WRONLY, 0600));
    ::unlink(options.socket_path.c_str());
    {
        // A stale socket file is replaced.
        asio::io_context io;
        asio::local::stream_protocol::acceptor stale{
            io, asio::local::stream_protocol::endpoint{options.socket_path}};
    }
    BOOST_TEST(std::filesystem::is_socket(options.socket_path));
    mtce::test::api_server s{b, options, test_token};
    struct stat st {};
    BOOST_REQUIRE(::stat(options.socket_path.c_str(), &st) == 0);
    BOOST_TEST((st.st_mode & 07777) == 0660u);
    BOOST_TEST(st.st_gid == 65534u);
    BOOST_TEST(get_as(options.socket_path, 65534, 65534) == 2);  // a member of the group
}

BOOST_AUTO_TEST_CASE(a_client_on_the_local_socket_may_change_without_a_token) {
    mtce::test::scratch dir;
    mtce::test::fake_backend b;
    mtce::api::server_options options;
    options.socket_path = (dir.path() / "api.sock").string();
    mtce::test::api_server s{b, options, test_token};
    const auto r = mtce::api::request("POST", "unix:" + options.socket_path, "/v1/hosts/worker-0/actions",
                                      R"({"action": "lock"})", 5s);
    BOOST_REQUIRE_MESSAGE(r.has_value(), (r ? std::string{} : r.error()));
    BOOST_TEST(r->status == 202);
    BOOST_TEST(b.calls().size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_socket_another_server_answers_on_is_not_taken_over) {
    mtce::test::scratch dir;
    mtce::test::fake_backend b;
    mtce::api::server_options options;
    options.socket_path = (dir.path() / "api.sock").string();
    mtce::test::api_server first{b, options, test_token};
    asio::io_context io;
    mtce::api::server second{io.get_executor(), {"127.0.0.1", 0}, b, "", options};
    BOOST_CHECK_THROW((void)second.bind(), std::exception);
    BOOST_TEST(mtce::api::get("unix:" + options.socket_path, "/v1/health", 5s)->status == 200);
}
