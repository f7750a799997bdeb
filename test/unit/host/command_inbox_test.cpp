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
    std::string target = "worker-0";  ///< the host its commands are for
    std::uint64_t epoch = 1;
    std::uint64_t nonce = 0x5eed;

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
        return datagram(net::message_type::command,
                        net::to_json(with(net::command{kind, id, 0, false, {}, 0, 0})));
    }

    /// `c` addressed as this controller addresses its commands.
    net::command with(net::command c) const {
        c.target = target;
        c.epoch = epoch;
        c.nonce = nonce;
        return c;
    }
};

/// The host's side: its codec under the cluster key, and the inbox for two networks.
struct host {
    net::codec codec{bytes(key_text)};
    command_inbox inbox;

    explicit host(std::string name = "worker-0", mtce::host::fence_position at = {})
        : inbox{2, {controller_address}, codec, std::move(name), at} {}
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
    const auto reboot = h.inbox.on_datagram(
        mgmt, controller_address,
        c.datagram(net::message_type::command,
                   net::to_json(c.with({net::command_kind::reboot, 1, 15, false, {}, 0, 0}))));
    BOOST_REQUIRE(reboot && reboot->execute);
    BOOST_TEST(reboot->execute->delay_s == 15U);
    const auto goenabled = h.inbox.on_datagram(
        mgmt, controller_address,
        c.datagram(net::message_type::command,
                   net::to_json(c.with({net::command_kind::goenabled, 2, 0, true, {}, 0, 0}))));
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
    h.inbox.remember_ack("controller-0", 3,
                         net::command_ack{"lock", 3, "cannot persist the locked state", c.nonce});
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

BOOST_AUTO_TEST_CASE(only_the_last_ids_are_remembered_and_a_forgotten_one_is_not_carried_out_again) {
    host h;
    controller c;
    for (std::uint64_t id = 1; id <= command_inbox::remembered_ids + 1; ++id) {
        BOOST_REQUIRE(h.inbox.on_datagram(mgmt, controller_address, c.command(net::command_kind::lock, id))
                          ->execute.has_value());
    }
    // Id 2 is still known: acknowledged again.
    BOOST_TEST(h.inbox.on_datagram(mgmt, controller_address, c.command(net::command_kind::lock, 2))->repeat);
    // Id 1 was the oldest: forgotten, so not acknowledged; but it is not above the last id carried out.
    BOOST_TEST(!h.inbox.on_datagram(mgmt, controller_address, c.command(net::command_kind::lock, 1)));
    BOOST_TEST(h.inbox.fenced(mtce::host::fence_verdict::old_id) == 1U);
    // The controller restarted (a higher epoch): its ids start afresh.
    c.boot = "controller-boot-2";
    c.boot_time = 2000;
    c.sequence = 1;
    c.epoch = 2;
    const auto after = h.inbox.on_datagram(mgmt, controller_address, c.command(net::command_kind::lock, 2));
    BOOST_REQUIRE(after.has_value());
    BOOST_TEST(after->execute.has_value());
    BOOST_TEST(!after->repeat);
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

// ---- commands bound to their host and epoch ----

BOOST_AUTO_TEST_CASE(a_command_captured_on_its_way_to_another_host_is_dropped_there) {
    controller c;  // its commands are for worker-0
    host worker_1{"worker-1"};
    host storage_0{"storage-0"};
    const auto captured = c.command(net::command_kind::reboot, 7);
    BOOST_TEST(!worker_1.inbox.on_datagram(mgmt, controller_address, captured).has_value());
    BOOST_TEST(!storage_0.inbox.on_datagram(mgmt, controller_address, captured).has_value());
    BOOST_TEST(worker_1.inbox.fenced(mtce::host::fence_verdict::wrong_target) == 1U);
    BOOST_TEST(storage_0.inbox.fenced(mtce::host::fence_verdict::wrong_target) == 1U);
    BOOST_TEST(worker_1.inbox.dropped() == 1U);
    // No answer either, and nothing moved.
    BOOST_TEST((worker_1.inbox.position() == mtce::host::fence_position{}));
}

BOOST_AUTO_TEST_CASE(the_target_is_compared_without_regard_to_case) {
    host h{"Worker-0"};
    controller c;
    c.target = "WORKER-0";
    const auto in = h.inbox.on_datagram(mgmt, controller_address, c.command(net::command_kind::reboot, 7));
    BOOST_REQUIRE(in.has_value());
    BOOST_TEST(in->execute.has_value());
}

BOOST_AUTO_TEST_CASE(a_command_carried_out_before_an_agent_restart_is_not_carried_out_again) {
    controller c;
    const auto captured = c.command(net::command_kind::reboot, 7);
    mtce::host::fence_position durable;
    {
        host before;
        const auto in = before.inbox.on_datagram(mgmt, controller_address, captured);
        BOOST_REQUIRE(in && in->execute && in->advance);
        durable = *in->advance;  // what the command server writes before carrying it out
    }
    BOOST_TEST(durable.epoch == 1U);
    BOOST_TEST(durable.last_id == 7U);
    // The restarted agent: new replay guards, no remembered ids, the fence read back from disk.
    host after{"worker-0", durable};
    BOOST_TEST(!after.inbox.on_datagram(mgmt, controller_address, captured).has_value());
    BOOST_TEST(after.inbox.fenced(mtce::host::fence_verdict::old_id) == 1U);
    // The controller's next command goes through.
    const auto next =
        after.inbox.on_datagram(mgmt, controller_address, c.command(net::command_kind::lock, 8));
    BOOST_REQUIRE(next.has_value());
    BOOST_TEST(next->execute.has_value());
}

BOOST_AUTO_TEST_CASE(a_command_of_a_lower_epoch_is_dropped_after_a_higher_one_was_seen) {
    host h;
    controller old_term;
    const auto captured = old_term.command(net::command_kind::reboot, 900);  // a high id of the old term
    controller new_term;
    new_term.epoch = 2;
    new_term.sequence = 1000;
    BOOST_REQUIRE(h.inbox.on_datagram(mgmt, controller_address, new_term.command(net::command_kind::lock, 5))
                      ->execute.has_value());
    BOOST_TEST(!h.inbox.on_datagram(cluster, controller_address, captured).has_value());
    BOOST_TEST(h.inbox.fenced(mtce::host::fence_verdict::stale_epoch) == 1U);
    BOOST_TEST((h.inbox.position() == mtce::host::fence_position{2, 5}));
}

BOOST_AUTO_TEST_CASE(an_mtcalive_request_is_checked_but_moves_nothing) {
    host h;
    controller c;
    const auto in = h.inbox.on_datagram(mgmt, controller_address, c.command(net::command_kind::mtcalive, 4));
    BOOST_REQUIRE(in && in->execute);
    BOOST_TEST(!in->advance.has_value());
    BOOST_TEST((h.inbox.position() == mtce::host::fence_position{}));
    c.target = "worker-9";
    BOOST_TEST(!h.inbox.on_datagram(mgmt, controller_address, c.command(net::command_kind::mtcalive, 5)));
}

BOOST_AUTO_TEST_CASE(every_answer_echoes_the_nonce_of_the_command) {
    host h;
    controller c;
    c.nonce = 0xabcdef0123456789ULL;
    const auto first = h.inbox.on_datagram(mgmt, controller_address, c.command(net::command_kind::reboot, 5));
    BOOST_REQUIRE(first.has_value());
    BOOST_TEST(first->nonce == c.nonce);
    const auto again = h.inbox.on_datagram(mgmt, controller_address, c.command(net::command_kind::reboot, 5));
    BOOST_REQUIRE(again && again->ack);
    BOOST_TEST(again->ack->nonce == c.nonce);
    const auto refused = h.inbox.on_datagram(
        mgmt, controller_address,
        c.datagram(net::message_type::command, R"({"command":"wipedisk","id":9,"nonce":17})"));
    BOOST_REQUIRE(refused && refused->ack);
    BOOST_TEST(refused->ack->nonce == 17U);
}
