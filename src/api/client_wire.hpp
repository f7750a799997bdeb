#pragma once

// The bytes of the command-line client's HTTP/1.1 exchange, without any networking: the base URL, the
// request it sends and the reply it reads. Kept apart from api::request() so that it can be tested alone.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <tl/expected.hpp>

#include "api/client.hpp"
#include "api/listen.hpp"

namespace mtce::api::wire {

inline constexpr std::size_t max_head =
    std::size_t{64} * 1024;  ///< status line and headers, blank line included
inline constexpr std::size_t max_body = std::size_t{64} * 1024 * 1024;  ///< as documented for api::get()

/// Where a base URL points: a numeric address and port, or a local socket, and the path prefix ("" or
/// "/p/q", never ending in '/').
struct target {
    listen_address address;   ///< unless socket_path is set
    std::string socket_path;  ///< "unix:PATH": the controller's local socket
    std::string path_prefix;

    /// What the Host header says: the address and port, or "localhost" on the local socket.
    [[nodiscard]] std::string host() const { return socket_path.empty() ? address.to_string() : "localhost"; }
};

/// Parses "http://HOST:PORT[/PREFIX]" with HOST a numeric IPv4 address or a bracketed numeric IPv6 address,
/// or "unix:/ABSOLUTE/PATH" (a local socket; no prefix). "https://" is refused with "https is not supported
/// by this client".
[[nodiscard]] tl::expected<target, std::string> parse_base_url(std::string_view base_url);

/// The `method` request for `path` (already with its prefix) to `host` (target::host()), with the bearer
/// token if not empty, and `body` as application/json. Content-Type and Content-Length are sent with a body
/// and for every method but GET and HEAD. `method`, `path` and `bearer_token` must not contain control
/// characters or spaces (the caller checks).
[[nodiscard]] std::string format_request(std::string_view method, std::string_view host,
                                         std::string_view path, std::string_view body,
                                         std::string_view bearer_token);

/// True if `s` can go into a request line or header value as is: no control characters, no spaces.
[[nodiscard]] bool is_token_text(std::string_view s);

/// Parses the reply received so far. `at_eof`: the server has closed the connection, so nothing more comes.
/// Returns the reply once it is complete, std::nullopt while more bytes are needed, or why the bytes are not
/// an acceptable HTTP/1.x reply (chunked bodies are refused; headers over max_head or a body over max_body
/// are errors).
[[nodiscard]] tl::expected<std::optional<reply>, std::string> parse_reply(std::string_view bytes,
                                                                          bool at_eof);

}  // namespace mtce::api::wire
