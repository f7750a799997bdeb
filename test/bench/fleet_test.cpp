#define BOOST_TEST_MODULE bench_fleet_test
// The fleet simulator's decisions: selectors, fault commands and the authenticated replies, without sockets.
#include "fleet.hpp"

#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>

namespace bench = mtce::bench;
namespace net = mtce::net;
using bench::network_id;

namespace {

const std::string key_text = "0123456789abcdef0123456789abcdef";
constexpr bench::ipv4 controller = 0x7f000001U;  // 127.0.0.1

std::span<const std::byte> key() {
    return std::as_bytes(std::span{key_text.data(), key_text.size()});
}

bench::fleet make_fleet(std::size_t hosts = 10) {
    bench::fleet_options o;
    o.hosts = hosts;
    o.boot_time = 1'700'000'000;
    o.first_sequence = 1000;
    return bench::fleet{o, key()};
}

/// The controller's side: encodes pulse requests and checks responses like the real monitor would.
class controller_side {
public:
    controller_side() : codec_{key()} {}

    std::vector<std::byte> request(std::uint64_t period, std::uint32_t index, std::string_view target = {}) {
        std::array<std::byte, net::pulse_request_size> payload{};
        BOOST_REQUIRE(net::encode_payload(net::pulse_request{period, 0x5eed, index, target, {}}, payload));
        std::vector<std::byte> out(net::max_datagram_size);
        const net::message_header h{net::message_type::pulse_request, "controller-0",
                                    net::parse_boot_id("controller-boot"), 1'600'000'000, ++sequence_};
        const auto size = codec_.encode(h, payload, out);
        BOOST_REQUIRE(size);
        out.resize(*size);
        return out;
    }

    net::codec& codec() { return codec_; }

private:
    net::codec codec_;
    std::uint64_t sequence_ = 1;
};

/// Sends a fresh request to host i on network n and says whether it answered.
bool answers(bench::fleet& f, controller_side& c, std::size_t i, network_id n = network_id::mgmt) {
    const auto req = c.request(1, static_cast<std::uint32_t>(i + 1));
    return f.on_request(n, f.address_of(n, i), controller, req).has_value();
}

}  // namespace

BOOST_AUTO_TEST_CASE(hosts_are_named_and_addressed_from_their_index) {
    auto f = make_fleet(300);
    BOOST_TEST(f.host(0).name == "sim-00000");
    BOOST_TEST(f.host(299).name == "sim-00299");
    BOOST_TEST(bench::format_ipv4(f.address_of(network_id::mgmt, 0)) == "127.1.0.1");
    BOOST_TEST(bench::format_ipv4(f.address_of(network_id::cluster, 299)) == "127.2.1.44");
    BOOST_TEST(*f.host_at(network_id::cluster, *bench::parse_ipv4("127.2.1.44")) == 299U);
    BOOST_TEST(!f.host_at(network_id::mgmt, *bench::parse_ipv4("127.1.0.0")));
    BOOST_TEST(!f.host_at(network_id::mgmt, *bench::parse_ipv4("127.1.1.45")));
    BOOST_TEST(f.host(0).boot != f.host(1).boot);
}

BOOST_AUTO_TEST_CASE(addresses_parse_only_when_dotted_quads) {
    BOOST_TEST(*bench::parse_ipv4("127.1.0.0") == 0x7f010000U);
    BOOST_TEST(!bench::parse_ipv4("127.1.0"));
    BOOST_TEST(!bench::parse_ipv4("127.1.0.256"));
    BOOST_TEST(!bench::parse_ipv4("127.1.0.0.1"));
    BOOST_TEST(!bench::parse_ipv4("127.1..1"));
}

BOOST_AUTO_TEST_CASE(selectors_name_ranges_lists_and_all) {
    auto f = make_fleet(200);
    const auto range = *f.select("0-99");
    BOOST_TEST(range.size() == 100U);
    BOOST_TEST(range.front() == 0U);
    BOOST_TEST(range.back() == 99U);
    BOOST_TEST(*f.select("7,3,sim-00003,150-151") == (std::vector<std::size_t>{3, 7, 150, 151}),
               boost::test_tools::per_element());
    BOOST_TEST(f.select("all")->size() == 200U);
    BOOST_TEST(*f.select(" sim-00199 ") == std::vector<std::size_t>{199}, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(random_selects_k_distinct_hosts_not_yet_killed) {
    auto f = make_fleet(10);
    BOOST_REQUIRE(f.apply(*bench::parse_command("kill 0-7")));
    const auto picked = f.select("random 2");
    BOOST_REQUIRE(picked);
    BOOST_TEST(*picked == (std::vector<std::size_t>{8, 9}), boost::test_tools::per_element());
    BOOST_TEST(f.select("random 3").error() == "random 3: only 2 hosts are not killed");
    BOOST_TEST(!f.select("random 0"));
    BOOST_TEST(!f.select("random x"));
}

BOOST_AUTO_TEST_CASE(bad_selectors_are_reported_and_change_nothing) {
    auto f = make_fleet(10);
    BOOST_TEST(f.select("10").error() == "'10' is not within the hosts 0-9");
    BOOST_TEST(f.select("5-2").error() == "'5-2' is not within the hosts 0-9");
    BOOST_TEST(f.select("sim-00099").error() == "'sim-00099' is no host name, index or range");
    BOOST_TEST(f.select("1,,2").error() == "empty item in the host list");
    BOOST_TEST(!f.select("-3"));
    BOOST_TEST(!f.select(""));
    // The good items before the bad one must not have been applied.
    const auto r = f.apply(*bench::parse_command("kill 1,2,banana"));
    BOOST_TEST(!r);
    BOOST_TEST(f.killed() == 0U);
    BOOST_TEST(!f.host(1).faults.killed);
}

BOOST_AUTO_TEST_CASE(commands_parse_with_their_arguments) {
    const auto drop = bench::parse_command("drop 2 all");
    BOOST_REQUIRE(drop);
    BOOST_TEST((drop->what == bench::verb::drop));
    BOOST_TEST(drop->amount == 2U);
    BOOST_TEST(drop->selector == "all");
    const auto net_down = bench::parse_command("  net cluster down random 5\n");
    BOOST_REQUIRE(net_down);
    BOOST_TEST((net_down->network == network_id::cluster));
    BOOST_TEST(!net_down->up);
    BOOST_TEST(net_down->selector == "random 5");
    BOOST_TEST(bench::parse_command("stats").has_value());
    BOOST_TEST(bench::parse_command("quit").has_value());
}

BOOST_AUTO_TEST_CASE(bad_commands_say_what_is_wrong) {
    BOOST_TEST(bench::parse_command("explode all").error() ==
               "unknown command 'explode' (kill, freeze, thaw, drop, delay, net, stats, quit)");
    BOOST_TEST(bench::parse_command("drop 101 all").error() ==
               "drop takes a percentage from 0 to 100, not 101");
    BOOST_TEST(bench::parse_command("drop x all").error() == "'x' is not a number");
    BOOST_TEST(bench::parse_command("net storage down all").error() ==
               "'storage' is not a network (mgmt or cluster)");
    BOOST_TEST(bench::parse_command("net mgmt sideways all").error() == "'sideways' is neither up nor down");
    BOOST_TEST(bench::parse_command("kill").error() ==
               "kill needs hosts: all, random K, 0-99, 3,7 or a name");
    BOOST_TEST(bench::parse_command("stats now").error() == "stats takes no arguments");
}

BOOST_AUTO_TEST_CASE(a_reply_round_trips_through_the_codec_and_a_replay_guard_accepts_it) {
    auto f = make_fleet(5);
    controller_side c;
    const auto req = c.request(42, 4);
    const auto r = f.on_request(network_id::cluster, f.address_of(network_id::cluster, 3), controller, req);
    BOOST_REQUIRE(r);
    BOOST_TEST(r->host == 3U);
    BOOST_TEST(r->delay.count() == 0);
    BOOST_TEST(r->period == 42U);
    const auto m = c.codec().decode(r->datagram);
    BOOST_REQUIRE(m);
    BOOST_TEST((m->type == net::message_type::pulse_response));
    BOOST_TEST(m->sender == "sim-00003");
    BOOST_TEST(m->boot_time == 1'700'000'000U);
    BOOST_TEST(m->sequence == 1000U);
    const auto payload = net::parse_pulse_response(m->payload);
    BOOST_REQUIRE(payload);
    BOOST_TEST(payload->period == 42U);
    BOOST_TEST(payload->host_index == 4U);
    BOOST_TEST(payload->flags == (net::pulse_flags::process_monitor_ok | net::pulse_flags::cluster_network));
    net::replay_guard guard;
    BOOST_TEST(!guard.check(*m));
    BOOST_TEST(guard.accept(*m));
    BOOST_TEST((guard.check(*m) == net::reject_reason::replay));
}

BOOST_AUTO_TEST_CASE(one_sequence_per_host_across_both_networks) {
    auto f = make_fleet(2);
    controller_side c;
    const auto a =
        f.on_request(network_id::mgmt, f.address_of(network_id::mgmt, 0), controller, c.request(1, 1));
    BOOST_REQUIRE(a);
    const auto seq_a = c.codec().decode(a->datagram)->sequence;
    const auto b =
        f.on_request(network_id::cluster, f.address_of(network_id::cluster, 0), controller, c.request(1, 1));
    BOOST_REQUIRE(b);
    BOOST_TEST(c.codec().decode(b->datagram)->sequence == seq_a + 1);
}

BOOST_AUTO_TEST_CASE(replayed_forged_and_foreign_requests_are_rejected) {
    auto f = make_fleet(2);
    controller_side c;
    const auto to = f.address_of(network_id::mgmt, 1);
    const auto req = c.request(1, 2);
    BOOST_TEST(f.on_request(network_id::mgmt, to, controller, req).has_value());
    BOOST_TEST(!f.on_request(network_id::mgmt, to, controller, req).has_value());
    BOOST_TEST(f.counters(network_id::mgmt).rejected.count(net::reject_reason::replay) == 1U);
    auto forged = c.request(2, 2);
    forged.back() ^= std::byte{1};
    BOOST_TEST(!f.on_request(network_id::mgmt, to, controller, forged).has_value());
    BOOST_TEST(f.counters(network_id::mgmt).rejected.count(net::reject_reason::bad_mac) == 1U);
    BOOST_TEST(!f.on_request(network_id::mgmt, to, 0x7f000063U, c.request(3, 2)).has_value());
    BOOST_TEST(f.counters(network_id::mgmt).unknown_source == 1U);
    BOOST_TEST(
        !f.on_request(network_id::mgmt, f.address_of(network_id::mgmt, 2), controller, c.request(4, 3)));
    BOOST_TEST(f.counters(network_id::mgmt).unknown_target == 1U);
    BOOST_TEST(f.counters(network_id::mgmt).rejected_total() == 4U);
}

BOOST_AUTO_TEST_CASE(a_request_for_another_host_does_not_change_the_taught_index) {
    auto f = make_fleet(2);
    controller_side c;
    const auto to = f.address_of(network_id::mgmt, 0);
    BOOST_REQUIRE(f.on_request(network_id::mgmt, to, controller, c.request(1, 7, "sim-00000")));
    BOOST_REQUIRE(f.on_request(network_id::mgmt, to, controller, c.request(2, 9, "sim-00001")));
    BOOST_TEST(f.host(0).taught[0] == 7U);
}

BOOST_AUTO_TEST_CASE(drop_at_zero_percent_answers_all_and_at_hundred_answers_none) {
    auto f = make_fleet(2);
    controller_side c;
    BOOST_REQUIRE(f.apply(*bench::parse_command("drop 0 all")));
    for (int i = 0; i < 200; ++i) {
        BOOST_TEST_REQUIRE(answers(f, c, 0));
    }
    BOOST_REQUIRE(f.apply(*bench::parse_command("drop 100 0")));
    for (int i = 0; i < 200; ++i) {
        BOOST_TEST_REQUIRE(!answers(f, c, 0));
    }
    BOOST_TEST(answers(f, c, 1));
    BOOST_TEST(f.counters(network_id::mgmt).dropped == 200U);
}

BOOST_AUTO_TEST_CASE(drop_at_fifty_percent_drops_about_half) {
    auto f = make_fleet(1);
    controller_side c;
    BOOST_REQUIRE(f.apply(*bench::parse_command("drop 50 all")));
    int answered = 0;
    for (int i = 0; i < 2000; ++i) {
        answered += answers(f, c, 0) ? 1 : 0;
    }
    BOOST_TEST(answered > 850);
    BOOST_TEST(answered < 1150);
}

BOOST_AUTO_TEST_CASE(a_frozen_host_is_silent_until_thawed) {
    auto f = make_fleet(3);
    controller_side c;
    BOOST_REQUIRE(f.apply(*bench::parse_command("freeze 1")));
    BOOST_TEST(!answers(f, c, 1));
    BOOST_TEST(!answers(f, c, 1, network_id::cluster));
    BOOST_TEST(answers(f, c, 2));
    BOOST_REQUIRE(f.apply(*bench::parse_command("thaw 1")));
    BOOST_TEST(answers(f, c, 1));
    BOOST_TEST(answers(f, c, 1, network_id::cluster));
}

BOOST_AUTO_TEST_CASE(kill_is_permanent) {
    auto f = make_fleet(3);
    controller_side c;
    const auto killed = f.apply(*bench::parse_command("kill sim-00002"));
    BOOST_REQUIRE(killed);
    BOOST_TEST(*killed == std::vector<std::size_t>{2}, boost::test_tools::per_element());
    BOOST_TEST(!answers(f, c, 2));
    BOOST_REQUIRE(f.apply(*bench::parse_command("thaw 2")));
    BOOST_REQUIRE(f.apply(*bench::parse_command("net mgmt up 2")));
    BOOST_REQUIRE(f.apply(*bench::parse_command("drop 0 2")));
    BOOST_TEST(!answers(f, c, 2));
    BOOST_TEST(!answers(f, c, 2, network_id::cluster));
    BOOST_REQUIRE(f.apply(*bench::parse_command("kill 2")));
    BOOST_TEST(f.killed() == 1U);
}

BOOST_AUTO_TEST_CASE(a_network_goes_down_and_up_on_its_own) {
    auto f = make_fleet(2);
    controller_side c;
    BOOST_REQUIRE(f.apply(*bench::parse_command("net cluster down 0")));
    BOOST_TEST(!answers(f, c, 0, network_id::cluster));
    BOOST_TEST(answers(f, c, 0, network_id::mgmt));
    BOOST_REQUIRE(f.apply(*bench::parse_command("net cluster up 0")));
    BOOST_TEST(answers(f, c, 0, network_id::cluster));
}

BOOST_AUTO_TEST_CASE(a_network_the_hosts_are_not_on_is_refused) {
    bench::fleet_options o;
    o.hosts = 2;
    o.networks = {true, false};
    bench::fleet f{o, key()};
    controller_side c;
    BOOST_TEST(f.apply(*bench::parse_command("net cluster down all")).error() ==
               "the hosts are not on the cluster network");
    BOOST_TEST(!answers(f, c, 0, network_id::cluster));
    BOOST_TEST(f.counters(network_id::cluster).unknown_target == 1U);
    const auto r =
        f.on_request(network_id::mgmt, f.address_of(network_id::mgmt, 0), controller, c.request(1, 1));
    BOOST_REQUIRE(r);
    const auto m = c.codec().decode(r->datagram);
    BOOST_TEST(net::parse_pulse_response(m->payload)->flags == net::pulse_flags::process_monitor_ok);
}

BOOST_AUTO_TEST_CASE(delay_is_reported_with_the_reply) {
    auto f = make_fleet(2);
    controller_side c;
    BOOST_REQUIRE(f.apply(*bench::parse_command("delay 250 1")));
    const auto r =
        f.on_request(network_id::mgmt, f.address_of(network_id::mgmt, 1), controller, c.request(1, 2));
    BOOST_REQUIRE(r);
    BOOST_TEST(r->delay.count() == 250);
    BOOST_TEST(f.counters(network_id::mgmt).delayed == 1U);
    BOOST_REQUIRE(f.apply(*bench::parse_command("delay 0 1")));
    BOOST_TEST(f.on_request(network_id::mgmt, f.address_of(network_id::mgmt, 1), controller, c.request(2, 2))
                   ->delay.count() == 0);
}

BOOST_AUTO_TEST_CASE(a_multicast_request_is_answered_by_every_live_host_each_with_its_own_taught_index) {
    auto f = make_fleet(4);
    controller_side c;
    BOOST_TEST(bench::is_multicast(0xef010102U));            // 239.1.1.2
    BOOST_TEST(!bench::is_multicast(0x7f010001U));           // 127.1.0.1
    std::vector<std::pair<std::size_t, std::uint32_t>> got;  // (host, echoed index)
    net::replay_guard guard{8};
    const auto collect = [&](const bench::reply& r) {
        const auto m = c.codec().decode(r.datagram);
        BOOST_REQUIRE(m);
        BOOST_TEST(m->sender == f.host(r.host).name);
        BOOST_TEST(!guard.check(*m));
        guard.accept(*m);
        const auto p = net::parse_pulse_response(m->payload);
        BOOST_REQUIRE(p);
        BOOST_TEST(p->period == r.period);
        got.emplace_back(r.host, p->host_index);
    };
    // Period 1 teaches sim-00001 index 5: every host answers; only it echoes 5, the others 0 (never taught).
    BOOST_TEST(f.on_multicast_request(network_id::mgmt, controller, c.request(1, 5, "sim-00001"), collect) ==
               4U);
    BOOST_TEST((got == std::vector<std::pair<std::size_t, std::uint32_t>>{{0, 0}, {1, 5}, {2, 0}, {3, 0}}));
    // Period 2 teaches sim-00003 index 9, with sim-00000 killed and sim-00002's mgmt network down.
    BOOST_REQUIRE(f.apply(*bench::parse_command("kill 0")));
    BOOST_REQUIRE(f.apply(*bench::parse_command("net mgmt down 2")));
    got.clear();
    BOOST_TEST(f.on_multicast_request(network_id::mgmt, controller, c.request(2, 9, "sim-00003"), collect) ==
               2U);
    BOOST_TEST((got == std::vector<std::pair<std::size_t, std::uint32_t>>{{1, 5}, {3, 9}}));
    BOOST_TEST(f.counters(network_id::mgmt).requests == 8U);
    BOOST_TEST(f.counters(network_id::mgmt).replies == 6U);
    BOOST_TEST(f.counters(network_id::mgmt).dropped == 2U);
    // The cluster network was never taught: sim-00002 answers there, with 0.
    got.clear();
    BOOST_TEST(
        f.on_multicast_request(network_id::cluster, controller, c.request(3, 0, "sim-00001"), collect) == 3U);
    BOOST_TEST((got == std::vector<std::pair<std::size_t, std::uint32_t>>{{1, 0}, {2, 0}, {3, 0}}));
    // The same datagram again is a replay for every host; a foreign source is refused before any host.
    const auto req = c.request(4, 0, "sim-00001");
    got.clear();
    BOOST_TEST(f.on_multicast_request(network_id::mgmt, 0x7f000063U, req, collect) == 0U);
    BOOST_TEST(f.on_multicast_request(network_id::mgmt, controller, req, collect) == 2U);
    BOOST_TEST(f.on_multicast_request(network_id::mgmt, controller, req, collect) == 0U);
    BOOST_TEST(f.counters(network_id::mgmt).unknown_source == 1U);
}
