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
/// never sees multicast datagrams on Linux), joins `network.multicast_group` on the interface of
/// `network.address` (IP_MULTICAST_ALL off, so it receives only that group), sends through that interface
/// with TTL 1 and without looping its own datagrams back. In unicast mode it is bound to the address itself.
/// Throws std::system_error naming the address and the step that failed.
[[nodiscard]] asio::ip::udp::socket open_udp(const asio::any_io_executor& ex, const network_config& network,
                                             std::uint16_t port, heartbeat_mode mode);

/// Opens a socket for sending only, bound to `network.address` on an ephemeral port, so that datagrams leave
/// from this host's address on that network. Throws std::system_error.
[[nodiscard]] asio::ip::udp::socket open_udp_sender(const asio::any_io_executor& ex,
                                                    const network_config& network);

/// Receives on `socket` until it is closed or the wait is cancelled, and hands every datagram to `sink`.
/// The socket is put in non-blocking mode; each wake-up drains what is queued (up to 256 datagrams) with
/// non-blocking reads before waiting again.
/// A leftover ECONNREFUSED from an earlier send is ignored. Returns the error that ended the loop: empty
/// after a cancellation or close (operation_aborted), the socket error otherwise. Never throws for I/O.
asio::awaitable<std::error_code> serve_udp(asio::ip::udp::socket& socket, datagram_sink sink);

}  // namespace mtce::net
