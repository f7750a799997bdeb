#pragma once

// The controller's REST API server (design §3.4): HTTP/1.1 on the daemon's own event loop.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>

#include "api/backend.hpp"
#include "api/listen.hpp"
#include "core/tasks.hpp"

namespace mtce::api {

namespace detail {
struct server_state;
}  // namespace detail

/// Bounds on what one client can make the server hold or wait for, and who may do what.
struct server_options {
    std::size_t max_head = std::size_t{16} * 1024;  ///< request line + headers; more is answered with 431
    std::size_t max_body = std::size_t{64} * 1024;  ///< more is answered with 413
    /// To receive a whole request, counted from its first byte or, on a kept-alive connection, from the
    /// previous response; a client that has not sent a complete request by then is answered 408 (or, if it
    /// sent nothing, disconnected). controller.api_client_timeout.
    std::chrono::milliseconds request_timeout{std::chrono::seconds{10}};
    std::chrono::milliseconds write_timeout{std::chrono::seconds{10}};  ///< to send one response
    /// Connections served at once (controller.api_max_connections), and by one client: one peer address on
    /// TCP, one user on the local socket (controller.api_client_connections). A connection beyond either is
    /// answered 503 with Retry-After, without its request being read, and closed.
    std::size_t max_connections = 256;
    std::size_t client_connections = 16;
    /// Changes over TCP from loopback need no token (controller.api_trust_loopback).
    bool trust_loopback = false;
    /// The local socket (controller.api_socket); empty: none.
    std::string socket_path;
    /// A group whose members may use the local socket (controller.api_socket_group); empty: none.
    std::string socket_group;
};

/// Serves the backend over HTTP/1.1: the routes of api::route() (GET /v1/hosts, /v1/hosts/{name},
/// /v1/alarms, /v1/events, /v1/health, /metrics; POST /v1/hosts, DELETE /v1/hosts/{name}, POST
/// /v1/hosts/{name}/actions), on a TCP address and, if configured, a local (Unix) socket.
///
/// Who may do what is check_request()'s to decide (access.hpp); a local socket peer is admitted by its
/// credentials (SO_PEERCRED: root, this process's user, or a member of `socket_group`) or answered 403. The
/// socket file is created 0600 (0660 and owned by `socket_group` when set), replaces a stale one (but not
/// a socket another server still answers on), and is removed when the server closes.
///
/// Connections are admitted by api::admission; refusals and timeouts are counted in /metrics
/// (mtce_api_refused_total) and logged at warn level at a rate limit. Each connection is a coroutine with
/// deadlines on every read and write; the server never blocks the loop (but for the group lookup of a local
/// peer that is neither root nor this process's user). A change waits for the backend's coroutine, which
/// bounds its own waits. Errors are JSON {"error": ..., "reason": ...}; a backend exception is a 500 whose
/// details are logged only. Changes are logged at info level (method, target, status; never the body).
/// Not thread-safe: constructed, run and destroyed on the event loop's thread; the backend is called there.
/// Stopping or destroying the server closes every connection and cancels the backend coroutines still
/// running for them; the backend must outlive the server.
class server {
public:
    server(asio::any_io_executor ex, listen_address where, backend& b, std::string bearer_token,
           server_options options = {});
    ~server();
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    /// Binds the listening sockets (TCP, and the local socket if configured) now and returns the TCP port
    /// (useful with port 0). Optional: run() binds if this was not called. Throws std::system_error naming
    /// the address or path on failure.
    std::uint16_t bind();

    /// Binds (as bind()) if not yet bound, serves until `tasks.until_stop()`, then closes the listening
    /// socket and every connection. Throws std::system_error if accepting fails for good. Cancellation
    /// (the task set's abort) ends it the same way.
    asio::awaitable<void> run(task_set& tasks);

private:
    /// Shared with the connection coroutines, which may outlive the server by a few loop turns.
    std::shared_ptr<detail::server_state> state_;
};

}  // namespace mtce::api
