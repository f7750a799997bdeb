#pragma once

// The one place where mtce's datagrams meet a socket. Decisions stay in sans-io sinks; this only moves bytes.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <system_error>

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/ip/udp.hpp>

#include "core/config.hpp"

namespace mtce::net {

/// Receives one datagram; synchronous and I/O-free apart from what it chooses to send in reply.
using datagram_sink =
    std::function<void(const asio::ip::udp::endpoint& from, std::span<const std::byte> data)>;

/// Opens a UDP socket on `network.address:port` with SO_REUSEADDR.
///
/// In multicast mode the socket is bound to the port on every address (a socket bound to a unicast address
/// never sees multicast datagrams on Linux), joins `network.multicast_group` on `network.interface`, or on
/// the interface of `network.address` when no interface is named (IP_MULTICAST_ALL off, so it receives only
/// that group), sends through the interface of `network.address` with TTL 1 and without looping its own
/// datagrams back. In unicast mode it is bound to the address itself. Throws std::system_error naming the
/// address and the step that failed.
[[nodiscard]] asio::ip::udp::socket open_udp(const asio::any_io_executor& ex, const network_config& network,
                                             std::uint16_t port, heartbeat_mode mode);

/// Opens a socket for sending only, bound to `network.address` on an ephemeral port, so that datagrams leave
/// from this host's address on that network. Throws std::system_error.
[[nodiscard]] asio::ip::udp::socket open_udp_sender(const asio::any_io_executor& ex,
                                                    const network_config& network);

/// Receives on `socket` until it is closed or the wait is cancelled, and hands every datagram to `sink`.
/// The socket is made non-blocking. Each wake-up drains what is queued (drain_udp, up to 256 datagrams)
/// before waiting again.
/// A leftover ECONNREFUSED from an earlier send is ignored. Returns the error that ended the loop: empty
/// after a cancellation or close (operation_aborted), the socket error otherwise. Never throws for I/O.
asio::awaitable<std::error_code> serve_udp(asio::ip::udp::socket& socket, datagram_sink sink);

/// Drains what is queued on `socket` right now into `sink`, without waiting: at most `limit` datagrams,
/// read in batches (recvmmsg) into buffers that belong to the calling thread, so `sink` must not drain
/// again itself. Returns how many datagrams were handed over; a socket error other than "nothing queued"
/// is stored in `*error` when given.
std::size_t drain_udp(asio::ip::udp::socket& socket, const datagram_sink& sink, std::size_t limit,
                      std::error_code* error = nullptr);
/// The same on a socket's descriptor (one the event loop does not watch).
std::size_t drain_udp(int fd, const datagram_sink& sink, std::size_t limit, std::error_code* error = nullptr);

/// One datagram to send.
struct outgoing_datagram {
    std::span<const std::byte> data;
    asio::ip::udp::endpoint to;
};

/// What send_batch did: datagrams the kernel took, datagrams it refused, and the last refusal.
struct batch_result {
    std::size_t sent = 0;
    std::size_t failed = 0;
    std::error_code last_error;
};

/// Sends every datagram of `batch` without waiting, with as few system calls as the kernel allows
/// (sendmmsg). A datagram the kernel refuses (unreachable, network down) is skipped; when the socket's
/// buffer is full (would block) the rest of the batch is refused too: it would be late anyway.
batch_result send_batch(asio::ip::udp::socket& socket, std::span<const outgoing_datagram> batch);
/// The same on a socket's descriptor.
batch_result send_batch(int fd, std::span<const outgoing_datagram> batch);

/// Asks for a receive buffer of `bytes`: SO_RCVBUFFORCE where permitted (CAP_NET_ADMIN), else SO_RCVBUF,
/// which the kernel caps at net.core.rmem_max. Returns the size the kernel granted (it doubles the request
/// for its bookkeeping, see socket(7)).
std::size_t set_receive_buffer(asio::ip::udp::socket& socket, std::size_t bytes);

/// Makes `socket` send multicast through the interface of `local`, with TTL 1 and without looping its own
/// datagrams back. Throws std::system_error.
void set_multicast_sender(asio::ip::udp::socket& socket, const asio::ip::address& local);

}  // namespace mtce::net
