#include "net/udp_endpoint.hpp"

#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <memory>

#include <asio/error.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/ip/multicast.hpp>
#include <asio/use_awaitable.hpp>

namespace mtce::net {

namespace {

constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);
constexpr std::size_t max_drain_per_wakeup = 256;

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
                 "no interface '" + network.interface + "' to join " + network.multicast_group + " for",
                 network, port);
        }
        membership.imr_ifindex = static_cast<int>(index);
    }
    if (::setsockopt(socket.native_handle(), IPPROTO_IP, IP_ADD_MEMBERSHIP, &membership, sizeof membership) !=
        0) {
        fail({errno, std::system_category()},
             "cannot join " + network.multicast_group + " on " +
                 (network.interface.empty() ? std::string{"the interface of"}
                                            : "'" + network.interface + "' for"),
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

namespace {

/// recvmmsg's buffers, one set per thread, reused by every drain (64 KiB: kept off the coroutine frames).
struct receive_block {
    static constexpr std::size_t count = 32;
    static constexpr std::size_t size = 2048;  // > max_datagram_size: a longer datagram is seen as oversized
    std::array<std::array<std::byte, size>, count> data;
    std::array<mmsghdr, count> headers;
    std::array<iovec, count> vectors;
    std::array<sockaddr_storage, count> names;
};

receive_block& receive_buffers() {
    thread_local const auto block = std::make_unique<receive_block>();
    return *block;
}

}  // namespace

std::size_t drain_udp(asio::ip::udp::socket& socket, const datagram_sink& sink, std::size_t limit,
                      std::error_code* error) {
    return drain_udp(socket.native_handle(), sink, limit, error);
}

std::size_t drain_udp(int fd, const datagram_sink& sink, std::size_t limit, std::error_code* error) {
    auto& b = receive_buffers();
    asio::ip::udp::endpoint peer;
    std::size_t n = 0;
    while (n < limit) {
        const auto want = std::min(receive_block::count, limit - n);
        for (std::size_t i = 0; i < want; ++i) {
            b.vectors[i] = {b.data[i].data(), receive_block::size};
            b.headers[i] = {};
            b.headers[i].msg_hdr.msg_name = &b.names[i];
            b.headers[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
            b.headers[i].msg_hdr.msg_iov = &b.vectors[i];
            b.headers[i].msg_hdr.msg_iovlen = 1;
        }
        const int got = ::recvmmsg(fd, b.headers.data(), static_cast<unsigned>(want), MSG_DONTWAIT, nullptr);
        if (got < 0) {
            if (errno == ECONNREFUSED || errno == EINTR) {
                continue;  // a refusal left over from an earlier send, consumed by this call
            }
            if (errno != EAGAIN && errno != EWOULDBLOCK && error != nullptr) {
                *error = {errno, std::system_category()};
            }
            break;
        }
        for (int i = 0; i < got; ++i) {
            const auto& h = b.headers[static_cast<std::size_t>(i)];
            const auto len = std::min<std::size_t>(h.msg_hdr.msg_namelen, peer.capacity());
            std::memcpy(peer.data(), &b.names[static_cast<std::size_t>(i)], len);
            peer.resize(len);
            sink(peer, std::span<const std::byte>{b.data[static_cast<std::size_t>(i)].data(), h.msg_len});
        }
        n += static_cast<std::size_t>(got);
        if (static_cast<std::size_t>(got) < want) {
            break;  // the queue is empty
        }
    }
    return n;
}

batch_result send_batch(asio::ip::udp::socket& socket, std::span<const outgoing_datagram> batch) {
    return send_batch(socket.native_handle(), batch);
}

batch_result send_batch(int fd, std::span<const outgoing_datagram> batch) {
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
        const int sent = ::sendmmsg(fd, headers.data(), static_cast<unsigned>(count), MSG_DONTWAIT);
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
    // Non-blocking, so that a sink's reply on the same socket never waits for buffer space.
    std::error_code setup;
    socket.non_blocking(true, setup);
    if (setup) {
        co_return setup;
    }
    for (;;) {
        auto [ec] = co_await socket.async_wait(asio::socket_base::wait_read, use_tuple);
        if (ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor) {
            co_return std::error_code{};
        }
        if (ec) {
            co_return ec;
        }
        // One wake-up for a burst, bounded so that one busy socket cannot starve the rest of the loop.
        std::error_code error;
        drain_udp(socket, sink, max_drain_per_wakeup, &error);
        if (error) {
            co_return error;
        }
    }
}

}  // namespace mtce::net
