#pragma once

// Who may use the REST API, and how (design §3.4). Pure functions, no I/O.
//
// Over TCP, every request must name the listen address in Host (and in Origin, if sent): a page in a browser
// can make the browser send requests to a loopback address, through a name it controls that resolves there
// (DNS rebinding), but then Host and Origin carry that name. Changes must be application/json, which a page
// cannot send to another origin without a preflight the API never grants, and carry the bearer token: a
// local relay or `ssh -L` makes any client look like loopback, so loopback alone is trusted only when
// configured so (controller.api_trust_loopback). The local socket is the way in for the command line: its
// peers are checked by their credentials when they connect, and may change without a token.

#include <sys/types.h>

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <asio/ip/address.hpp>

#include "api/http.hpp"
#include "api/listen.hpp"

namespace mtce::api {

/// 127.0.0.0/8, ::1, and IPv4 loopback mapped into IPv6 (::ffff:127.0.0.1).
[[nodiscard]] bool is_loopback(const asio::ip::address& a);

/// Compares a secret in time that depends only on `expected`'s length, never on where `given` differs from it
/// (a length mismatch is found only after the whole loop).
[[nodiscard]] bool constant_time_equal(std::string_view given, std::string_view expected);

/// Whether `method` changes state: POST, PUT, PATCH, DELETE.
[[nodiscard]] bool is_mutating(std::string_view method);

/// Whether a TCP client at `peer` with this Authorization header (if any) may make changes: with "Bearer
/// <token>" matching `token` (the scheme case-insensitive; never when `token` is empty), or from loopback
/// when `trust_loopback`.
[[nodiscard]] bool may_change(const asio::ip::address& peer, std::optional<std::string_view> authorization,
                              std::string_view token, bool trust_loopback);

/// Whether `host` (a Host header, or an Origin without its "http://") names `where`: the same address
/// literal (IPv6 in brackets, compared as addresses) and port (80 when none is given); "localhost" too when
/// `where` is a loopback address; any address literal when `where` is the unspecified address (0.0.0.0,
/// ::). Never another name, which anyone can point at any address.
[[nodiscard]] bool host_is_ours(std::string_view host, const listen_address& where);

/// How a client reached the API.
enum class transport {
    tcp,    ///< controller.api_listen
    local,  ///< controller.api_socket, a peer whose credentials were admitted when it connected
};

/// What the server knows of a client before reading its requests.
struct client {
    transport via = transport::tcp;
    asio::ip::address address;  ///< TCP: the peer's address
};

/// The access rules of one server.
struct access_rules {
    std::string token;            ///< the bearer token for changes over TCP; empty: none is accepted
    bool trust_loopback = false;  ///< changes over TCP from loopback need no token
    listen_address where;         ///< the TCP listen address: what Host and Origin must name
};

/// Why a request is refused before it is routed.
struct refusal {
    int status = 403;
    std::string error;
    std::string reason;
};

/// Checks one request of `c` against `rules`, in this order: over TCP, a Host header naming the listen
/// address (400 when missing, 403 otherwise) and no Origin other than "http://" + such a name (403); for a
/// change, Content-Type application/json (415) and, over TCP, may_change() (403, saying to use the local
/// socket or the token). nullopt: route it.
[[nodiscard]] std::optional<refusal> check_request(const http::request& req, const client& c,
                                                   const access_rules& rules);

/// Whether a peer of the local socket running as `uid`, whose groups (primary and supplementary) are
/// `groups`, may use it: root, `self` (the daemon's user), or a member of `group` when one is set.
[[nodiscard]] bool may_use_socket(uid_t uid, std::span<const gid_t> groups, uid_t self,
                                  std::optional<gid_t> group);

}  // namespace mtce::api
