#define BOOST_TEST_MODULE host_command_inbox_test
// The command inbox's decisions, on plain byte arrays: no sockets, no event loop.
#include "host/commands.hpp"

#include <vector>

#include <boost/test/unit_test.hpp>

#include "net/message.hpp"
#include "net/payloads.hpp"

namespace net = mtce::net;
using mtce::host::command_inbox;

namespace {

const std::string key_text = "0123456789abcdef0123456789abcdef\n";

std::span<const std::byte> bytes(const std::string& s) {
    return std::as_bytes(std::span{s.data(), s.size()});
}

const auto controller_address = asio::ip::make_address("127.0.0.1");
constexpr std::size_t mgmt = 0;
constexpr std::size_t cluster = 1;

/// A controller that signs datagrams under a key, numbering them from one sequence.
struct controller {
    net::codec codec;
    std::string name = "controller-0";
    std::string boot = "controller-boot-1";
    std::uint64_t boot_time = 1000;
    std::uint64_t sequence = 1;

    explicit controller(const std::string& key = key_text) : codec{bytes(key)} {}

    std::vector<std::byte> datagram(net::message_type type, const std::string& payload) {
        std::vector<std::byte> out(net::max_datagram_size);
        const net::message_header header{type, name, net::parse_boot_id(boot), boot_time, sequence++};
        const auto n = codec.encode(header, bytes(payload), out);
        BOOST_REQUIRE(n.has_value());
        out.resize(*n);
        return out;
    }

    std::vector<std::byte> command(net::command_kind kind, std::uint64_t id) {
        return datagram(net::message_type::command, net::to_json(net::command{kind, id, 0, false}));
    }
};

/// The host's side: its codec under the cluster key, and the inbox for two networks.
struct host {
    net::codec codec{bytes(key_text)};
    command_inbox inbox{2, {controller_address}, codec};
};

}  // namespace

BOOST_AUTO_TEST_CASE(an_authentic_command_from_a_controller_is_carried_out) {
    host h;
    controller c;
    const auto in = h.inbox.on_datagram(mgmt, controller_address, c.command(net::command_kind::lock, 7));
    BOOST_REQUIRE(in.has_value());
    BOOST_TEST(in->controller == "controller-0");
    BOOST_TEST(in->network == mgmt);
    BOOST_TEST(in->id == 7U);
    BOOST_TEST(in->name == "lock");
    BOOST_TEST(!in->repeat);
    BOOST_TEST(!in->ack.has_value());  // the handler acknowledges once it has persisted the lock
    BOOST_REQUIRE(in->execute.has_value());
    BOOST_TEST((in->execute->kind == net::command_kind::lock));
    BOOST_TEST(h.inbox.dropped() == 0U);
}

BOOST_AUTO_TEST_CASE(the_arguments_of_a_command_reach_its_handler) {
    host h;
    controller c;
    const auto reboot =
        h.inbox.on_datagram(mgmt, controller_address,
                            c.datagram(net::message_type::command,
                                       net::to_json(net::command{net::command_kind::reboot, 1, 15, false})));
    BOOST_REQUIRE(reboot && reboot->execute);
    BOOST_TEST(reboot->execute->delay_s == 15U);
    const auto goenabled =
        h.inbox.on_datagram(mgmt, controller_address,
                            c.datagram(net::message_type::command,
                                       net::to_json(net::command{net::command_kind::goenabled, 2, 0, true})));
    BOOST_REQUIRE(goenabled && goenabled->execute);
    BOOST_TEST(goenabled->execute->subfunction);
}

BOOST_AUTO_TEST_CASE(a_command_under_another_key_is_dropped_as_bad_mac) {
    host h;
    controller impostor{"another key, long enough for hmac\n"};
    BOOST_TEST(
        !h.inbox.on_datagram(mgmt, controller_address, impostor.command(net::command_kind::reboot, 1)));
    BOOST_TEST(h.inbox.rejected().count(net::reject_reason::bad_mac) == 1U);
    BOOST_TEST(h.inbox.dropped() == 1U);
}

BOOST_AUTO_TEST_CASE(a_replayed_datagram_is_dropped_even_though_its_id_would_be_acknowledged) {
    host h;
    controller c;
    const auto datagram = c.command(net::command_kind::reboot, 1);
    BOOST_TEST(h.inbox.on_datagram(mgmt, controller_address, datagram).has_value());
    BOOST_TEST(!h.inbox.on_datagram(mgmt, controller_address, datagram).has_value());
    BOOST_TEST(h.inbox.rejected().count(net::reject_reason::replay) == 1U);
}

BOOST_AUTO_TEST_CASE(a_command_from_an_address_that_is_not_a_controller_is_dropped) {
    host h;
    controller c;
    const auto elsewhere = asio::ip::make_address("127.0.0.9");
    BOOST_TEST(!h.inbox.on_datagram(mgmt, elsewhere, c.command(net::command_kind::reboot, 1)));
    BOOST_TEST(h.inbox.not_from_a_controller() == 1U);
    // Its sequence was not recorded: the same controller's next datagram is still fresh.
    BOOST_TEST(
        h.inbox.on_datagram(mgmt, controller_address, c.command(net::command_kind::reboot, 1)).has_value());
}

BOOST_AUTO_TEST_CASE(a_message_of_another_type_is_dropped) {
    host h;
    controller c;
    BOOST_TEST(
        !h.inbox.on_datagram(mgmt, controller_address,
                             c.datagram(net::message_type::command_ack, R"({"command":"lock","id":1})")));
    BOOST_TEST(h.inbox.not_a_command() == 1U);
}

BOOST_AUTO_TEST_CASE(an_unsupported_command_is_acknowledged_with_an_error_and_not_carried_out) {
    host h;
    controller c;
    const auto in = h.inbox.on_datagram(
        mgmt, controller_address, c.datagram(net::message_type::command, R"({"command":"wipedisk","id":9})"));
    BOOST_REQUIRE(in.has_value());
    BOOST_TEST(!in->execute.has_value());
    BOOST_REQUIRE(in->ack.has_value());
    BOOST_TEST(in->ack->name == "wipedisk");
    BOOST_TEST(in->ack->id == 9U);
    BOOST_TEST(in->ack->error == "unsupported command \"wipedisk\"");
}

BOOST_AUTO_TEST_CASE(a_payload_without_an_id_or_a_name_is_dropped_and_counted) {
    host h;
    controller c;
    BOOST_TEST(!h.inbox.on_datagram(mgmt, controller_address,
                                    c.datagram(net::message_type::command, R"({"command":"lock"})")));
    BOOST_TEST(
        !h.inbox.on_datagram(mgmt, controller_address, c.datagram(net::message_type::command, "{not json")));
    BOOST_TEST(h.inbox.unreadable() == 2U);
}

BOOST_AUTO_TEST_CASE(a_repeated_id_is_acknowledged_again_but_not_carried_out_twice) {
    host h;
    controller c;
    const auto first = h.inbox.on_datagram(mgmt, controller_address, c.command(net::command_kind::reboot, 5));
    BOOST_REQUIRE(first && first->execute);
    // The retransmission: a new datagram (new sequence), the same id.
    const auto again = h.inbox.on_datagram(mgmt, controller_address, c.command(net::command_kind::reboot, 5));
    BOOST_REQUIRE(again.has_value());
    BOOST_TEST(again->repeat);
    BOOST_TEST(!again->execute.has_value());
    BOOST_REQUIRE(again->ack.has_value());
    BOOST_TEST(again->ack->name == "reboot");
    BOOST_TEST(again->ack->id == 5U);
    BOOST_TEST(again->ack->error.empty());
    // Another id is new.
    const auto next = h.inbox.on_datagram(mgmt, controller_address, c.command(net::command_kind::reboot, 6));
    BOOST_REQUIRE(next.has_value());
    BOOST_TEST(next->execute.has_value());
}

BOOST_AUTO_TEST_CASE(a_repeat_gets_the_acknowledgement_the_handler_gave_the_first_copy) {
    host h;
    controller c;
    const auto first = h.inbox.on_datagram(mgmt, controller_address, c.command(net::command_kind::lock, 3));
    BOOST_REQUIRE(first && first->execute);
    h.inbox.remember_ack("controller-0", 3, net::command_ack{"lock", 3, "cannot persist the locked state"});
    const auto again = h.inbox.on_datagram(mgmt, controller_address, c.command(net::command_kind::lock, 3));
    BOOST_REQUIRE(again && again->ack);
    BOOST_TEST(again->ack->error == "cannot persist the locked state");
}

BOOST_AUTO_TEST_CASE(a_repeated_mtcalive_request_gets_no_acknowledgement) {
    host h;
    controller c;
    BOOST_TEST(h.inbox.on_datagram(mgmt, controller_address, c.command(net::command_kind::mtcalive, 4))
                   ->execute.has_value());
    const auto again =
        h.inbox.on_datagram(mgmt, controller_address, c.command(net::command_kind::mtcalive, 4));
    BOOST_REQUIRE(again.has_value());
    BOOST_TEST(again->repeat);
    BOOST_TEST(!again->ack.has_value());
}

BOOST_AUTO_TEST_CASE(each_network_has_its_own_replay_guard_but_ids_are_shared) {
    host h;
    controller c;
    // The controller sends on both networks from one sequence; the cluster copy may arrive first.
    const auto on_mgmt = c.command(net::command_kind::reboot, 11);
    const auto on_cluster = c.command(net::command_kind::reboot, 11);
    const auto first = h.inbox.on_datagram(cluster, controller_address, on_cluster);
    BOOST_REQUIRE(first && first->execute);
    BOOST_TEST(first->network == cluster);
    // An older sequence on the other network is not a replay there...
    const auto second = h.inbox.on_datagram(mgmt, controller_address, on_mgmt);
    BOOST_REQUIRE(second.has_value());
    // ...and the id is the same command: acknowledged, not carried out again.
    BOOST_TEST(second->repeat);
    BOOST_TEST(!second->execute.has_value());
    BOOST_TEST(second->ack.has_value());
    BOOST_TEST(h.inbox.rejected().count(net::reject_reason::replay) == 0U);
    // Each guard still refuses its own replays.
    BOOST_TEST(!h.inbox.on_datagram(mgmt, controller_address, on_mgmt));
    BOOST_TEST(!h.inbox.on_datagram(cluster, controller_address, on_cluster));
    BOOST_TEST(h.inbox.rejected().count(net::reject_reason::replay) == 2U);
}

BOOST_AUTO_TEST_CASE(only_the_last_ids_are_remembered_and_a_new_controller_boot_forgets_them) {
    host h;
    controller c;
    for (std::uint64_t id = 1; id <= command_inbox::remembered_ids + 1; ++id) {
        BOOST_REQUIRE(h.inbox.on_datagram(mgmt, controller_address, c.command(net::command_kind::lock, id))
                          ->execute.has_value());
    }
    // Id 1 was the oldest: forgotten. Id 2 is still known.
    BOOST_TEST(h.inbox.on_datagram(mgmt, controller_address, c.command(net::command_kind::lock, 2))->repeat);
    BOOST_TEST(h.inbox.on_datagram(mgmt, controller_address, c.command(net::command_kind::lock, 1))
                   ->execute.has_value());
    // The controller's host rebooted: its ids start afresh.
    c.boot = "controller-boot-2";
    c.boot_time = 2000;
    c.sequence = 1;
    const auto after = h.inbox.on_datagram(mgmt, controller_address, c.command(net::command_kind::lock, 2));
    BOOST_REQUIRE(after.has_value());
    BOOST_TEST(after->execute.has_value());
}

BOOST_AUTO_TEST_CASE(
    a_late_datagram_of_an_older_controller_boot_on_the_other_network_does_not_reset_the_ids) {
    host h;
    controller old_boot;
    // Sent before the controller's host rebooted, and held up on the cluster network.
    const auto late = old_boot.command(net::command_kind::lock, 5);
    controller c;
    c.boot = "controller-boot-2";
    c.boot_time = 2000;
    BOOST_REQUIRE(h.inbox.on_datagram(mgmt, controller_address, c.command(net::command_kind::reboot, 7))
                      ->execute.has_value());
    // The cluster network's guard has not seen the newer boot, so only the inbox can tell it is stale.
    BOOST_TEST(!h.inbox.on_datagram(cluster, controller_address, late).has_value());
    BOOST_TEST(h.inbox.rejected().count(net::reject_reason::stale_boot) == 1U);
    // Id 7 of the current boot is still remembered: a copy is not carried out again.
    const auto copy =
        h.inbox.on_datagram(cluster, controller_address, c.command(net::command_kind::reboot, 7));
    BOOST_REQUIRE(copy.has_value());
    BOOST_TEST(copy->repeat);
    BOOST_TEST(!copy->execute.has_value());
}
