#define BOOST_TEST_MODULE fleet_inbox_test
// What the controller accepts from host agents, on plain byte arrays: answers must echo this run's nonce.
#include "fleet/inbox.hpp"

#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>

namespace net = mtce::net;
using mtce::fleet::controller_inbox;
using mtce::heartbeat::network;

namespace {

const std::string key = "0123456789abcdef0123456789abcdef";
constexpr std::uint64_t this_run = 0x1234567890abcdefULL;

std::span<const std::byte> bytes(const std::string& s) {
    return std::as_bytes(std::span{s.data(), s.size()});
}

/// worker-0, signing its answers; one sequence for all of them.
struct agent {
    net::codec codec{bytes(key)};
    std::uint64_t sequence = 1;

    std::vector<std::byte> datagram(net::message_type type, const std::string& payload) {
        std::vector<std::byte> out(net::max_datagram_size);
        const net::message_header h{type, "worker-0", net::parse_boot_id("worker-0-boot"), 1000, sequence++};
        const auto n = codec.encode(h, bytes(payload), out);
        BOOST_REQUIRE(n.has_value());
        out.resize(*n);
        return out;
    }
};

struct controller {
    net::codec codec{bytes(key)};
    controller_inbox inbox{codec, this_run};
};

}  // namespace

BOOST_AUTO_TEST_CASE(an_ack_or_a_result_that_echoes_this_runs_nonce_is_accepted) {
    controller c;
    agent a;
    const auto ack = c.inbox.on_datagram(
        network::mgmt,
        a.datagram(net::message_type::command_ack, net::to_json(net::command_ack{"lock", 7, "", this_run})));
    BOOST_REQUIRE(ack.has_value());
    BOOST_TEST(std::get<net::command_ack>(ack->body).id == 7U);
    const auto result = c.inbox.on_datagram(
        network::mgmt, a.datagram(net::message_type::command_result,
                                  net::to_json(net::command_result{"lock", 7, true, "", this_run})));
    BOOST_REQUIRE(result.has_value());
    BOOST_TEST(c.inbox.counters(network::mgmt).dropped() == 0U);
}

BOOST_AUTO_TEST_CASE(answers_to_a_command_of_an_earlier_run_are_dropped_as_wrong_nonce) {
    controller c;  // restarted: its replay tables are empty, so the captured answers are fresh to them
    agent a;
    constexpr std::uint64_t earlier_run = 0x0badc0ffee0ddf00ULL;
    BOOST_TEST(!c.inbox.on_datagram(network::mgmt,
                                    a.datagram(net::message_type::command_ack,
                                               net::to_json(net::command_ack{"lock", 7, "", earlier_run}))));
    BOOST_TEST(!c.inbox.on_datagram(
        network::cluster, a.datagram(net::message_type::command_result,
                                     net::to_json(net::command_result{"lock", 7, true, "", earlier_run}))));
    BOOST_TEST(c.inbox.counters(network::mgmt).rejected.count(net::reject_reason::wrong_nonce) == 1U);
    BOOST_TEST(c.inbox.counters(network::cluster).rejected.count(net::reject_reason::wrong_nonce) == 1U);
    // Not recorded as the sender's newest: worker-0's next real answer is still fresh.
    const auto next = c.inbox.on_datagram(
        network::mgmt,
        a.datagram(net::message_type::command_ack, net::to_json(net::command_ack{"lock", 8, "", this_run})));
    BOOST_TEST(next.has_value());
}
