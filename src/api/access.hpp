#pragma once

// Who may change things through the REST API (design §3.4): a client on loopback, or one that presents the
// bearer token. Reading needs no authorization. Pure functions, no I/O.

#include <optional>
#include <string_view>

#include <asio/ip/address.hpp>

namespace mtce::api {

/// 127.0.0.0/8, ::1, and IPv4 loopback mapped into IPv6 (::ffff:127.0.0.1).
[[nodiscard]] bool is_loopback(const asio::ip::address& a);

/// Compares a secret in time that depends only on `expected`'s length, never on where `given` differs from it
/// (a length mismatch is found only after the whole loop).
[[nodiscard]] bool constant_time_equal(std::string_view given, std::string_view expected);

/// Whether `method` changes state: POST, PUT, PATCH, DELETE.
[[nodiscard]] bool is_mutating(std::string_view method);

/// Whether a client at `peer` with this Authorization header (if any) may make changes: loopback always may;
/// others only with "Bearer <token>" matching `token` (the scheme case-insensitive), and never when `token`
/// is empty.
[[nodiscard]] bool may_change(const asio::ip::address& peer, std::optional<std::string_view> authorization,
                              std::string_view token);

}  // namespace mtce::api
