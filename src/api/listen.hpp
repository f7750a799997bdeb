#pragma once

// Where the controller's REST API listens (controller.api_listen), parsed without any networking library so
// that the command-line client can use it too.

#include <cstdint>
#include <string>
#include <string_view>

#include <tl/expected.hpp>

namespace mtce::api {

/// An IP address (IPv6 without brackets) and a TCP port.
struct listen_address {
    std::string host;
    std::uint16_t port = 0;

    [[nodiscard]] bool is_ipv6() const { return host.find(':') != std::string::npos; }
    /// "127.0.0.1:2112", "[::1]:2112": the form parse_listen() reads and messages show.
    [[nodiscard]] std::string to_string() const;
};

/// Parses "ADDRESS:PORT" with a numeric IPv4 address, or "[ADDRESS]:PORT" with a numeric IPv6 address, and a
/// port from 1 to 65535. Host names are refused: the API listens on an address, never on a name lookup.
/// Returns the reason as text when `text` is not of that form.
[[nodiscard]] tl::expected<listen_address, std::string> parse_listen(std::string_view text);

/// The URL a client on this host uses to reach a server listening on `where`: "http://ADDRESS:PORT", with
/// the unspecified address (0.0.0.0, ::) replaced by loopback of the same family.
[[nodiscard]] std::string local_url(const listen_address& where);

}  // namespace mtce::api
