#define BOOST_TEST_MODULE net_udp_endpoint_test
#include "net/udp_endpoint.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>

#include <asio/io_context.hpp>

#include <string>
#include <vector>

namespace {

asio::ip::udp::socket bound(asio::io_context& io) {
    asio::ip::udp::socket s{io, asio::ip::udp::endpoint{asio::ip::address_v4::loopback(), 0}};
    s.non_blocking(true);
    return s;
}

std::span<const std::byte> bytes(const std::string& s) {
    return std::as_bytes(std::span{s.data(), s.size()});
}

struct collector {
    std::vector<std::string> got;
    mtce::net::datagram_sink sink() {
        return [this](const asio::ip::udp::endpoint&, std::span<const std::byte> d) {
            got.emplace_back(reinterpret_cast<const char*>(d.data()), d.size());
        };
    }
};

}  // namespace

BOOST_AUTO_TEST_CASE(a_batch_larger_than_one_system_call_arrives_whole_and_in_order) {
    asio::io_context io;
    auto tx = bound(io);
    auto rx = bound(io);
    mtce::net::set_receive_buffer(rx, 1U << 20U);
    std::vector<std::string> texts;
    for (int i = 0; i < 150; ++i) {
        texts.push_back("datagram " + std::to_string(i));
    }
    std::vector<mtce::net::outgoing_datagram> batch;
    for (const auto& t : texts) {
        batch.push_back({bytes(t), rx.local_endpoint()});
    }
    const auto r = mtce::net::send_batch(tx, batch);
    BOOST_TEST(r.sent == 150U);
    BOOST_TEST(r.failed == 0U);
    collector c;
    BOOST_TEST(mtce::net::drain_udp(rx, c.sink(), 1000) == 150U);
    BOOST_TEST(c.got == texts);
}

BOOST_AUTO_TEST_CASE(a_datagram_the_kernel_refuses_is_skipped_and_the_rest_still_go) {
    asio::io_context io;
    auto tx = bound(io);
    auto rx = bound(io);
    const std::string a = "first";
    const std::string b = "refused";
    const std::string c = "third";
    // An IPv6 destination on an IPv4 socket: the kernel refuses that one datagram.
    const std::vector<mtce::net::outgoing_datagram> batch{{bytes(a), rx.local_endpoint()},
                                                          {bytes(b), {asio::ip::address_v6::loopback(), 9}},
                                                          {bytes(c), rx.local_endpoint()}};
    const auto r = mtce::net::send_batch(tx, batch);
    BOOST_TEST(r.sent == 2U);
    BOOST_TEST(r.failed == 1U);
    BOOST_TEST(static_cast<bool>(r.last_error));
    collector got;
    mtce::net::drain_udp(rx, got.sink(), 10);
    BOOST_TEST(got.got == (std::vector<std::string>{a, c}));
}

BOOST_AUTO_TEST_CASE(draining_stops_at_its_limit_and_when_nothing_is_queued) {
    asio::io_context io;
    auto tx = bound(io);
    auto rx = bound(io);
    const std::string t = "x";
    std::vector<mtce::net::outgoing_datagram> batch(10, {bytes(t), rx.local_endpoint()});
    BOOST_TEST(mtce::net::send_batch(tx, batch).sent == 10U);
    collector c;
    BOOST_TEST(mtce::net::drain_udp(rx, c.sink(), 4) == 4U);
    BOOST_TEST(mtce::net::drain_udp(rx, c.sink(), 100) == 6U);
    BOOST_TEST(mtce::net::drain_udp(rx, c.sink(), 100) == 0U);
}

BOOST_AUTO_TEST_CASE(a_full_receive_buffer_loses_datagrams_but_the_socket_keeps_working) {
    asio::io_context io;
    auto tx = bound(io);
    auto rx = bound(io);
    const int tiny = 1;  // the kernel rounds this up to its minimum, a few datagrams' worth
    ::setsockopt(rx.native_handle(), SOL_SOCKET, SO_RCVBUF, &tiny, sizeof tiny);
    const std::string t(200, 'z');
    std::vector<mtce::net::outgoing_datagram> batch(500, {bytes(t), rx.local_endpoint()});
    const auto r = mtce::net::send_batch(tx, batch);
    BOOST_TEST(r.sent + r.failed == 500U);
    collector c;
    const auto first = mtce::net::drain_udp(rx, c.sink(), 1000);
    BOOST_TEST(first > 0U);
    BOOST_TEST(first < 500U);
    // Room again: the next datagram arrives.
    const std::string after = "after";
    const std::vector<mtce::net::outgoing_datagram> one{{bytes(after), rx.local_endpoint()}};
    BOOST_TEST(mtce::net::send_batch(tx, one).sent == 1U);
    c.got.clear();
    BOOST_TEST(mtce::net::drain_udp(rx, c.sink(), 10) == 1U);
    BOOST_TEST(c.got.at(0) == "after");
}

BOOST_AUTO_TEST_CASE(a_larger_receive_buffer_is_granted_at_least_in_part) {
    asio::io_context io;
    auto rx = bound(io);
    int before = 0;
    socklen_t len = sizeof before;
    ::getsockopt(rx.native_handle(), SOL_SOCKET, SO_RCVBUF, &before, &len);
    const auto got = mtce::net::set_receive_buffer(rx, 4U << 20U);
    BOOST_TEST(got >= static_cast<std::size_t>(before));
    if (::geteuid() == 0) {
        BOOST_TEST(got >= (4U << 20U));  // SO_RCVBUFFORCE: root is not capped by net.core.rmem_max
    }
}
