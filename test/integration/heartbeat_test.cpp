#define BOOST_TEST_MODULE heartbeat_test
// The real `mtce agent` answering heartbeat pulses and sending mtcAlive; the test plays the controller on
// loopback with plain sockets and the codec.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstddef>
#include <optional>
#include <vector>

#include <boost/test/unit_test.hpp>
#include <fmt/format.h>

#include "net/message.hpp"
#include "process.hpp"
#include "scratch.hpp"
#include "udp.hpp"

using namespace std::chrono_literals;
using mtce::test::contains;
namespace net = mtce::net;

namespace {

const std::string key_text = "0123456789abcdef0123456789abcdef\n";

std::span<const std::byte> bytes(const std::string& s) {
    return std::as_bytes(std::span{s.data(), s.size()});
}

struct ports {
    std::uint16_t agent;
    std::uint16_t controller;
    std::uint16_t pulse;
    std::uint16_t pulse_reply;
};

ports pick_ports() {
    const auto base = static_cast<std::uint16_t>(20000 + (::getpid() % 4000) * 10);
    return {base, static_cast<std::uint16_t>(base + 1), static_cast<std::uint16_t>(base + 2),
            static_cast<std::uint16_t>(base + 3)};
}

/// The controller's side: encodes pulse requests under a key.
struct controller {
    net::codec codec;
    std::uint64_t sequence = 1;

    explicit controller(const std::string& key) : codec{bytes(key)} {}

    std::vector<std::byte> pulse(std::uint64_t period, std::uint32_t index) {
        std::array<std::byte, net::pulse_request_size> payload{};
        const auto size = net::encode_payload(net::pulse_request{period, 0x5eed, index, "", {}}, payload);
        BOOST_REQUIRE(size.has_value());
        std::vector<std::byte> out(net::max_datagram_size);
        const net::message_header header{net::message_type::pulse_request, "controller-0",
                                         net::parse_boot_id("controller-boot"), 1000, sequence++};
        const auto n = codec.encode(header, std::span{payload}.first(*size), out);
        BOOST_REQUIRE(n.has_value());
        out.resize(*n);
        return out;
    }
};

/// The flags of an mtcAlive JSON payload ("flags":N), or nothing.
std::optional<std::uint32_t> json_flags(const std::string& json) {
    const auto at = json.find("\"flags\":");
    if (at == std::string::npos) {
        return std::nullopt;
    }
    return static_cast<std::uint32_t>(std::stoul(json.substr(at + 8)));
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_agent_sends_mtcalive_and_answers_only_authentic_fresh_pulses) {
    mtce::test::scratch dir;
    const auto p = pick_ports();
    dir.write("key", key_text, 0600);
    dir.write("boot_id", "boot-1\n");
    std::filesystem::create_directories(dir.path() / "goenabled.d");
    std::filesystem::create_directories(dir.path() / "services.d/worker");
    dir.write(
        "mtce.toml",
        mtce::test::host_config(
            dir.path(), "worker-0", "drain_timeout = \"1s\"\ncontrollers = [\"127.0.0.1\"]",
            "kill_grace = \"300ms\"\nmtcalive_period = \"1s\"",
            fmt::format("[heartbeat]\nmode = \"unicast\"\n[network.mgmt]\naddress = \"127.0.0.1\"\n"
                        "agent_port = {}\ncontroller_port = {}\npulse_port = {}\npulse_reply_port = {}\n",
                        p.agent, p.controller, p.pulse, p.pulse_reply)));
    const mtce::test::udp_socket alive_socket{"127.0.0.1", p.controller};
    const mtce::test::udp_socket pulse_socket{"127.0.0.1", p.pulse_reply};
    controller ctl{key_text};

    mtce::test::process agent{{MTCE_BINARY, "agent", "--role", "worker", "--config",
                               (dir.path() / "mtce.toml").string(), "--foreground", "--log-level", "debug"},
                              dir.path() / "agent.out",
                              dir.path() / "agent.err"};

    // (a) mtcAlive arrives, authenticated, and reports the passed self-tests and the started host services
    // once they are done.
    constexpr std::uint32_t expected_flags = net::alive_flags::configured | net::alive_flags::healthy |
                                             net::alive_flags::main_goenabled |
                                             net::alive_flags::main_services_started;
    std::optional<std::uint32_t> last_flags;
    std::string last_json;
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (last_flags != expected_flags && std::chrono::steady_clock::now() < deadline) {
        auto datagram = alive_socket.receive(1000ms);
        if (!datagram) {
            continue;
        }
        auto m = ctl.codec.decode(*datagram);
        BOOST_REQUIRE(m.has_value());
        BOOST_TEST((m->type == net::message_type::mtc_alive));
        BOOST_TEST(m->sender == "worker-0");
        BOOST_TEST((m->boot == net::parse_boot_id("boot-1")));
        last_json.assign(reinterpret_cast<const char*>(m->payload.data()), m->payload.size());
        last_flags = json_flags(last_json);
    }
    BOOST_TEST_INFO("agent log: " << dir.read("agent.err"));
    BOOST_REQUIRE((last_flags == expected_flags));
    BOOST_TEST(contains(last_json, R"("hostname":"worker-0")"));
    BOOST_TEST(contains(last_json, R"("personality":"worker","subfunctions":["worker"])"));
    BOOST_TEST(contains(last_json, R"("mgmt_ip":"127.0.0.1")"));
    BOOST_TEST(contains(last_json, R"("boot_id":"boot-1")"));
    BOOST_TEST(contains(last_json, R"("health":1)"));

    // (b) A signed pulse request is answered, echoing the period and the index.
    const auto request = ctl.pulse(7, 3);
    pulse_socket.send(request, "127.0.0.1", p.pulse);
    auto reply = pulse_socket.receive(2000ms);
    BOOST_REQUIRE(reply.has_value());
    auto m = ctl.codec.decode(*reply);
    BOOST_REQUIRE(m.has_value());
    BOOST_TEST((m->type == net::message_type::pulse_response));
    BOOST_TEST(m->sender == "worker-0");
    const auto response = net::parse_pulse_response(m->payload);
    BOOST_REQUIRE(response.has_value());
    BOOST_TEST(response->period == 7U);
    BOOST_TEST(response->nonce == 0x5eedU);  // echoed: the controller counts only answers to its own run
    BOOST_TEST(response->host_index == 3U);
    BOOST_TEST(response->flags == net::pulse_flags::process_monitor_ok);

    // (c) A request under another key, and the same valid datagram again, get no answer.
    controller impostor{"another key, long enough for hmac\n"};
    pulse_socket.send(impostor.pulse(8, 3), "127.0.0.1", p.pulse);
    BOOST_TEST(!pulse_socket.receive(500ms).has_value());
    pulse_socket.send(request, "127.0.0.1", p.pulse);
    BOOST_TEST(!pulse_socket.receive(500ms).has_value());

    // A fresh request is still answered, with the index it was taught.
    pulse_socket.send(ctl.pulse(9, 0), "127.0.0.1", p.pulse);
    auto later = pulse_socket.receive(2000ms);
    BOOST_REQUIRE(later.has_value());
    auto lm = ctl.codec.decode(*later);
    BOOST_REQUIRE(lm.has_value());
    BOOST_TEST(lm->sequence > m->sequence);
    const auto later_response = net::parse_pulse_response(lm->payload);
    BOOST_REQUIRE(later_response.has_value());
    BOOST_TEST(later_response->period == 9U);

    agent.signal(SIGTERM);
    BOOST_TEST(agent.exit_code(30s).value_or(-99) == 0);
    const auto log = dir.read("agent.err");
    BOOST_TEST(contains(log, "answering pulses on 127.0.0.1"));
}

BOOST_AUTO_TEST_CASE(a_burst_of_bad_datagrams_is_logged_at_once_summed_and_reported_in_mtcalive) {
    mtce::test::scratch dir;
    const auto p = pick_ports();
    dir.write("key", key_text, 0600);
    dir.write("boot_id", "boot-1\n");
    std::filesystem::create_directories(dir.path() / "goenabled.d");
    std::filesystem::create_directories(dir.path() / "services.d/worker");
    dir.write(
        "mtce.toml",
        mtce::test::host_config(
            dir.path(), "worker-0", "drain_timeout = \"1s\"\ncontrollers = [\"127.0.0.1\"]",
            "kill_grace = \"300ms\"\nmtcalive_period = \"1s\"",
            fmt::format("[heartbeat]\nmode = \"unicast\"\n[network.mgmt]\naddress = \"127.0.0.1\"\n"
                        "agent_port = {}\ncontroller_port = {}\npulse_port = {}\npulse_reply_port = {}\n",
                        p.agent, p.controller, p.pulse, p.pulse_reply)));
    const mtce::test::udp_socket alive_socket{"127.0.0.1", p.controller};
    const mtce::test::udp_socket pulse_socket{"127.0.0.1", p.pulse_reply};
    controller ctl{key_text};
    mtce::test::process agent{{MTCE_BINARY, "agent", "--role", "worker", "--config",
                               (dir.path() / "mtce.toml").string(), "--foreground", "--log-level", "debug"},
                              dir.path() / "agent.out",
                              dir.path() / "agent.err"};
    // The agent is up once it answers a pulse.
    const auto request = ctl.pulse(1, 0);
    std::optional<std::vector<std::byte>> answer;
    for (int i = 0; i < 40 && !answer; ++i) {
        pulse_socket.send(ctl.pulse(1, 0), "127.0.0.1", p.pulse);
        answer = pulse_socket.receive(500ms);
    }
    BOOST_REQUIRE(answer.has_value());

    // The burst: three under another key, two too short to be messages, one replay.
    controller impostor{"another key, long enough for hmac\n"};
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < 3; ++i) {
        pulse_socket.send(impostor.pulse(2, 0), "127.0.0.1", p.pulse);
    }
    const std::string garbage = "MTCE";
    pulse_socket.send(bytes(garbage), "127.0.0.1", p.pulse);
    pulse_socket.send(bytes(garbage), "127.0.0.1", p.pulse);
    pulse_socket.send(request, "127.0.0.1", p.pulse);  // older than the pulses answered above

    auto wait_for_log = [&](const std::string& text, std::chrono::seconds limit) {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        while (!contains(dir.read("agent.err"), text) && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(50ms);
        }
        return contains(dir.read("agent.err"), text);
    };
    // The first drop is logged at once.
    BOOST_TEST(wait_for_log("heartbeat (mgmt): 1 datagram(s) dropped: bad_mac=1 (1 since start)", 5s));
    BOOST_TEST((std::chrono::steady_clock::now() - start < 5s));
    // The rest of the burst is logged as one summary within the interval, with nothing else arriving.
    BOOST_TEST(wait_for_log(
        "heartbeat (mgmt): 5 datagram(s) dropped: bad_mac=2 replay=1 short=2 (6 since start)", 20s));

    // mtcAlive carries the totals.
    std::string last_json;
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!contains(last_json, R"("drops":)") && std::chrono::steady_clock::now() < deadline) {
        auto datagram = alive_socket.receive(1000ms);
        if (!datagram) {
            continue;
        }
        auto m = ctl.codec.decode(*datagram);
        BOOST_REQUIRE(m.has_value());
        last_json.assign(reinterpret_cast<const char*>(m->payload.data()), m->payload.size());
    }
    BOOST_TEST_INFO("mtcAlive: " << last_json);
    BOOST_TEST(contains(last_json, R"("drops":{"bad_mac":3,"replay":1,"short":2})"));

    // A drop held for the next summary is logged when the agent stops.
    pulse_socket.send(bytes(garbage), "127.0.0.1", p.pulse);
    BOOST_TEST(wait_for_log("(6 since start)", 1s));
    std::this_thread::sleep_for(200ms);
    agent.signal(SIGTERM);
    BOOST_TEST(agent.exit_code(30s).value_or(-99) == 0);
    BOOST_TEST_INFO("agent log: " << dir.read("agent.err"));
    BOOST_TEST(
        contains(dir.read("agent.err"),
                 "heartbeat (mgmt): 1 datagram(s) dropped (before stopping): short=1 (7 since start)"));
}
