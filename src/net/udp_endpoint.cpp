#include "net/udp_endpoint.hpp"

#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>

#include <asio/error.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/ip/multicast.hpp>
#include <asio/use_awaitable.hpp>

namespace mtce::net {

namespace {

constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);
constexpr int max_drain_per_wakeup = 256;

[[noreturn]] void fail(const std::error_code& ec, std::string_view step, const network_config& network,
                       std::uint16_t port) {
    throw std::system_error{ec, std::string{step} + " " + network.address + ":" + std::to_string(port)};
}

}  // namespace

asio::ip::udp::socket open_udp(const asio::any_io_executor& ex, const network_config& network,
                               std::uint16_t port, heartbeat_mode mode) {
    std::error_code ec;
    const auto local = asio::ip::make_address(network.address, ec);
    if (ec) {
        fail(ec, "invalid address", network, port);
    }
    asio::ip::udp::socket socket{ex};
    socket.open(local.is_v6() ? asio::ip::udp::v6() : asio::ip::udp::v4(), ec);
    if (ec) {
        fail(ec, "cannot open a socket for", network, port);
    }
    socket.set_option(asio::socket_base::reuse_address{true}, ec);
    if (ec) {
        fail(ec, "cannot set SO_REUSEADDR on", network, port);
    }
    if (mode == heartbeat_mode::unicast) {
        socket.bind({local, port}, ec);
        if (ec) {
            fail(ec, "cannot bind", network, port);
        }
        return socket;
    }
    const auto group = asio::ip::make_address(network.multicast_group, ec);
    if (ec || !group.is_multicast() || !group.is_v4() || !local.is_v4()) {
        fail(ec ? ec : std::make_error_code(std::errc::invalid_argument),
             "multicast needs IPv4 addresses (group " + network.multicast_group + ") for", network, port);
    }
    socket.bind({asio::ip::address_v4::any(), port}, ec);
    if (ec) {
        fail(ec, "cannot bind", network, port);
    }
    // Only the groups this socket joined, not every group some other socket of the host joined.
    const int off = 0;
    if (::setsockopt(socket.native_handle(), IPPROTO_IP, IP_MULTICAST_ALL, &off, sizeof off) != 0) {
        fail({errno, std::system_category()}, "cannot set IP_MULTICAST_ALL on", network, port);
    }
    // IP_ADD_MEMBERSHIP on the interface named by `network.interface`, or, when none is named, on the
    // interface that holds the local address.
    ip_mreqn membership{};
    membership.imr_multiaddr.s_addr = htonl(group.to_v4().to_uint());
    if (network.interface.empty()) {
        membership.imr_address.s_addr = htonl(local.to_v4().to_uint());
    } else {
        const auto index = ::if_nametoindex(network.interface.c_str());
        if (index == 0) {
            fail({errno, std::system_category()},
                 "no interface '" + network.interface + "' to join " + network.multicast_group + " for", network, port);
        }
        membership.imr_ifindex = static_cast<int>(index);
    }
    if (::setsockopt(socket.native_handle(), IPPROTO_IP, IP_ADD_MEMBERSHIP, &membership, sizeof membership) != 0) {
        fail({errno, std::system_category()},
             "cannot join " + network.multicast_group + " on " +
                 (network.interface.empty() ? std::string{"the interface of"} : "'" + network.interface + "' for"),
             network, port);
    }
    set_multicast_sender(socket, local);
    return socket;
}

void set_multicast_sender(asio::ip::udp::socket& socket, const asio::ip::address& local) {
    std::error_code ec;
    if (!local.is_v4()) {
        throw std::system_error{std::make_error_code(std::errc::invalid_argument),
                                "multicast needs an IPv4 address, not " + local.to_string()};
    }
    socket.set_option(asio::ip::multicast::outbound_interface{local.to_v4()}, ec);
    if (!ec) {
        socket.set_option(asio::ip::multicast::hops{1}, ec);
    }
    if (!ec) {
        socket.set_option(asio::ip::multicast::enable_loopback{false}, ec);
    }
    if (ec) {
        throw std::system_error{ec, "cannot set the multicast options of " + local.to_string()};
    }
}

std::size_t set_receive_buffer(asio::ip::udp::socket& socket, std::size_t bytes) {
    const int want = static_cast<int>(std::min<std::size_t>(bytes, 1U << 30U));
    const int fd = socket.native_handle();
    if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &want, sizeof want) != 0) {
        (void)::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &want, sizeof want);
    }
    int got = 0;
    socklen_t len = sizeof got;
    if (::getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &len) != 0) {
        return 0;
    }
    return static_cast<std::size_t>(got);
}

std::size_t drain_udp(asio::ip::udp::socket& socket, const datagram_sink& sink, std::size_t limit) {
    std::array<std::byte, 2048> buf;
    asio::ip::udp::endpoint peer;
    std::size_t n = 0;
    while (n < limit) {
        auto len = static_cast<socklen_t>(peer.capacity());
        const auto size = ::recvfrom(socket.native_handle(), buf.data(), buf.size(), MSG_DONTWAIT,
                                     static_cast<sockaddr*>(peer.data()), &len);
        if (size < 0) {
            if (errno == ECONNREFUSED || errno == EINTR) {
                continue;
            }
            break;
        }
        peer.resize(len);
        sink(peer, std::span<const std::byte>{buf.data(), static_cast<std::size_t>(size)});
        ++n;
    }
    return n;
}

batch_result send_batch(asio::ip::udp::socket& socket, std::span<const outgoing_datagram> batch) {
    constexpr std::size_t chunk = 64;
    std::array<mmsghdr, chunk> headers{};
    std::array<iovec, chunk> vectors{};
    batch_result result;
    std::size_t next = 0;
    while (next < batch.size()) {
        const auto count = std::min(chunk, batch.size() - next);
        for (std::size_t i = 0; i < count; ++i) {
            const auto& d = batch[next + i];
            vectors[i] = {const_cast<std::byte*>(d.data.data()), d.data.size()};
            headers[i] = {};
            headers[i].msg_hdr.msg_name = const_cast<sockaddr*>(d.to.data());
            headers[i].msg_hdr.msg_namelen = static_cast<socklen_t>(d.to.size());
            headers[i].msg_hdr.msg_iov = &vectors[i];
            headers[i].msg_hdr.msg_iovlen = 1;
        }
        const int sent = ::sendmmsg(socket.native_handle(), headers.data(), static_cast<unsigned>(count),
                                    MSG_DONTWAIT);
        if (sent > 0) {
            result.sent += static_cast<std::size_t>(sent);
            next += static_cast<std::size_t>(sent);
            continue;
        }
        if (sent < 0 && errno == EINTR) {
            continue;
        }
        result.last_error = {sent < 0 ? errno : EIO, std::system_category()};
        if (result.last_error == std::errc::operation_would_block ||
            result.last_error == std::errc::resource_unavailable_try_again) {
            result.failed += batch.size() - next;
            break;
        }
        ++result.failed;  // this datagram only: the kernel refused its destination
        ++next;
    }
    return result;
}

asio::ip::udp::socket open_udp_sender(const asio::any_io_executor& ex, const network_config& network) {
    std::error_code ec;
    const auto local = asio::ip::make_address(network.address, ec);
    if (ec) {
        fail(ec, "invalid address", network, 0);
    }
    asio::ip::udp::socket socket{ex};
    socket.open(local.is_v6() ? asio::ip::udp::v6() : asio::ip::udp::v4(), ec);
    if (!ec) {
        socket.bind({local, 0}, ec);
    }
    if (ec) {
        fail(ec, "cannot bind a sending socket to", network, 0);
    }
    return socket;
}

asio::awaitable<std::error_code> serve_udp(asio::ip::udp::socket& socket, datagram_sink sink) {
    std::array<std::byte, 2048> buf;
    asio::ip::udp::endpoint peer;
    // Non-blocking once, for the drain below; Asio's asynchronous receive works the same on such a socket.
    std::error_code setup;
    socket.non_blocking(true, setup);
    if (setup) {
        co_return setup;
    }
    for (;;) {
        auto [ec, n] = co_await socket.async_receive_from(asio::buffer(buf), peer, use_tuple);
        if (ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor) {
            co_return std::error_code{};
        }
        if (ec == asio::error::connection_refused) {
            continue;
        }
        if (ec) {
            co_return ec;
        }
        sink(peer, std::span<const std::byte>{buf.data(), n});
        // Drain what else is queued before waiting again: one wake-up for a burst, bounded so that one busy
        // socket cannot starve the rest of the loop.
        for (int i = 0; i < max_drain_per_wakeup && !ec; ++i) {
            const auto m = socket.receive_from(asio::buffer(buf), peer, 0, ec);
            if (ec == asio::error::connection_refused) {
                ec.clear();
                continue;
            }
            if (!ec) {
                sink(peer, std::span<const std::byte>{buf.data(), m});
            }
        }
    }
}

}  // namespace mtce::net
