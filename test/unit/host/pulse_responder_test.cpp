#define BOOST_TEST_MODULE host_pulse_responder_test
#include "host/pulse_responder.hpp"

#include <boost/test/unit_test.hpp>

#include <array>
#include <string>
#include <vector>

#include <asio/ip/address.hpp>

namespace net = mtce::net;

namespace {

const std::string key = "0123456789abcdef0123456789abcdef";

std::span<const std::byte> bytes(const std::string& s) {
    return std::as_bytes(std::span{s.data(), s.size()});
}

net::boot_identity boot(const std::string& text) {
    return {text, net::parse_boot_id(text), 1000};
}

/// A worker's responder on one network, and the controller that asks it.
struct fixture {
    asio::ip::address controller_address = asio::ip::make_address("10.0.0.1");
    net::wire_sender controller{bytes(key), "controller-0", boot("controller-boot"), /*first_sequence=*/1};
    net::wire_sender worker{bytes(key), "worker-0", boot("worker-boot"), /*first_sequence=*/1};
    mtce::host::pulse_responder responder{"mgmt", {controller_address}, 1, worker};
    net::codec reader{bytes(key)};
    std::array<std::byte, net::max_datagram_size> request_buffer{};
    std::uint64_t period = 0;

    /// Sends one request and returns the index the worker's reply echoes.
    std::uint32_t ask(std::uint32_t index, std::string_view target,
                      std::span<const std::byte> teachings = {}) {
        std::array<std::byte, net::max_payload_size> payload{};
        const auto size =
            net::encode_payload(net::pulse_request{++period, 7, index, target, teachings}, payload);
        BOOST_TEST_REQUIRE(size.has_value());
        const auto datagram = controller.encode(net::message_type::pulse_request,
                                                std::span{payload}.first(*size), request_buffer);
        const auto reply = responder.on_datagram(controller_address, datagram);
        BOOST_TEST_REQUIRE(reply.has_value());
        const auto message = reader.decode(*reply);
        BOOST_TEST_REQUIRE(message.has_value());
        const auto response = net::parse_pulse_response(message->payload);
        BOOST_TEST_REQUIRE(response.has_value());
        BOOST_TEST(response->period == period);
        return response->host_index;
    }
};

}  // namespace

BOOST_AUTO_TEST_CASE(a_unicast_request_teaches_the_receiver_its_index) {
    fixture f;
    BOOST_TEST(f.ask(5, "") == 5U);
}

BOOST_AUTO_TEST_CASE(a_multicast_request_that_teaches_nobody_leaves_the_index_as_it_was) {
    // A multicast request with index 0 and no target teaches no one. The agent used to take its empty
    // target for "the receiver" and forget its index, so that every host echoed 0 the next period.
    fixture f;
    BOOST_TEST(f.ask(9, "worker-0") == 9U);
    BOOST_TEST(f.ask(0, "") == 9U);
    BOOST_TEST(f.ask(0, "") == 9U);
}

BOOST_AUTO_TEST_CASE(a_request_for_another_target_leaves_the_index_as_it_was) {
    fixture f;
    BOOST_TEST(f.ask(0, "") == 0U);
    BOOST_TEST(f.ask(3, "worker-1") == 0U);
    BOOST_TEST(f.ask(4, "worker-0") == 4U);
    BOOST_TEST(f.ask(3, "worker-1") == 4U);
}

BOOST_AUTO_TEST_CASE(a_host_named_in_the_teachings_list_learns_its_index_there) {
    fixture f;
    std::array<std::byte, net::max_teachings_size> list{};
    std::size_t used = 0;
    for (const auto& [index, name] : std::vector<std::pair<std::uint32_t, std::string>>{
             {11, "worker-7"}, {12, "worker-0"}, {13, "storage-0"}}) {
        const auto next = net::append_teaching(list, used, {index, name});
        BOOST_TEST_REQUIRE(next.has_value());
        used = *next;
    }
    BOOST_TEST(f.ask(10, "controller-1", std::span{list}.first(used)) == 12U);
    // Not listed: kept.
    BOOST_TEST(f.ask(10, "controller-1", std::span{list}.first(5 + 8)) == 12U);
}
