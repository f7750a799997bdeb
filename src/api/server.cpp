#include "api/server.hpp"

#include <array>
#include <cerrno>
#include <exception>
#include <list>
#include <optional>
#include <string_view>
#include <system_error>
#include <variant>

#include <asio/co_spawn.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "api/access.hpp"
#include "api/http.hpp"
#include "api/router.hpp"
#include "core/tasks.hpp"

namespace mtce::api {

namespace {

using tcp = asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;
constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

/// What became of reading one request.
enum class read_outcome { complete, refused, timed_out, closed };

std::string to_string(const tcp::endpoint& ep) {
    return listen_address{ep.address().to_string(), ep.port()}.to_string();
}

/// Errors of accept() that say "not now" (out of descriptors or memory, a client gone before accept), not
/// "never": the loop waits a little and accepts again. (Asio reports errno values in its own category,
/// which does not compare equal to std::errc, so the values are checked directly.)
bool is_transient(const std::error_code& ec) {
    if (ec.category() != asio::error::get_system_category()) {
        return false;
    }
    switch (ec.value()) {
    case EMFILE:
    case ENFILE:
    case ENOBUFS:
    case ENOMEM:
    case ECONNABORTED:
    case EINTR:
    case EPROTO:
        return true;
    default:
        return false;
    }
}

}  // namespace

namespace detail {

struct server_state {
    server_state(asio::any_io_executor e, listen_address w, backend& b, std::string t, server_options o)
        : ex{std::move(e)},
          where{std::move(w)},
          data{&b},
          token{std::move(t)},
          options{o},
          acceptor{ex},
          closing{ex} {}

    asio::any_io_executor ex;
    listen_address where;
    backend* data;
    std::string token;
    server_options options;
    tcp::acceptor acceptor;
    std::list<tcp::socket*> connections;  ///< open connections, to close them when the server stops
    std::size_t active = 0;               ///< connection coroutines not yet finished
    bool closed = false;
    event closing;  ///< set by close(): ends the backend calls still waited for

    /// Closes the listening socket and every connection: their pending operations end with
    /// operation_aborted, a backend coroutine still running for one of them is cancelled, and their
    /// coroutines return without touching the backend again.
    void close() {
        closed = true;
        closing.set();
        std::error_code ec;
        acceptor.close(ec);
        for (auto* s : connections) {
            s->close(ec);
        }
    }
};

}  // namespace detail

namespace {

using state = detail::server_state;

/// Keeps a connection's socket in the state's list while its coroutine runs.
class registration {
public:
    registration(std::list<tcp::socket*>& list, tcp::socket& s)
        : list_{list}, it_{list.insert(list.end(), &s)} {}
    ~registration() { list_.erase(it_); }
    registration(const registration&) = delete;
    registration& operator=(const registration&) = delete;

private:
    std::list<tcp::socket*>& list_;
    std::list<tcp::socket*>::iterator it_;
};

/// Reads until `parser` has one whole request, starting with the bytes left over from the previous one in
/// `pending`; bytes after the request stay in `pending`. Bounded by `deadline`.
asio::awaitable<read_outcome> read_request(tcp::socket& sock, http::request_parser& parser,
                                           std::string& pending, asio::steady_timer& deadline) {
    std::array<char, 4096> buf;
    for (;;) {
        if (!pending.empty()) {
            const auto step = parser.feed(pending);
            pending.erase(0, step.consumed);
            if (step.now == http::request_parser::state::complete) {
                co_return read_outcome::complete;
            }
            if (step.now == http::request_parser::state::failed) {
                co_return read_outcome::refused;
            }
        }
        auto got =
            co_await (sock.async_read_some(asio::buffer(buf), use_tuple) || deadline.async_wait(use_tuple));
        if (got.index() == 1) {
            co_return read_outcome::timed_out;
        }
        const auto [ec, n] = std::get<0>(got);
        if (ec) {
            co_return read_outcome::closed;
        }
        pending.assign(buf.data(), n);
    }
}

/// Writes all of `bytes` before `deadline`; false if the peer is gone or too slow.
asio::awaitable<bool> send(tcp::socket& sock, const std::string& bytes, asio::steady_timer& deadline) {
    auto sent =
        co_await (asio::async_write(sock, asio::buffer(bytes), use_tuple) || deadline.async_wait(use_tuple));
    co_return sent.index() == 0 && !std::get<0>(std::get<0>(sent));
}

/// Closes our side first and reads (and drops) what the client still sends, for a short while: closing a
/// socket with unread input makes the kernel send RST, and the client could lose the response it has not
/// read yet (an oversized request's 431, say).
asio::awaitable<void> linger_close(tcp::socket& sock, asio::steady_timer& deadline) {
    std::error_code ec;
    sock.shutdown(tcp::socket::shutdown_send, ec);
    if (ec) {
        co_return;
    }
    deadline.expires_after(std::chrono::milliseconds{500});
    std::array<char, 4096> buf;
    for (std::size_t drained = 0; drained < std::size_t{256} * 1024;) {
        auto got =
            co_await (sock.async_read_some(asio::buffer(buf), use_tuple) || deadline.async_wait(use_tuple));
        if (got.index() == 1 || std::get<0>(std::get<0>(got))) {
            co_return;
        }
        drained += std::get<1>(std::get<0>(got));
    }
}

/// What the route gave: a response, or the exception the backend threw. (A struct, not a variant: `||`
/// flattens variants into its own result.)
struct routed {
    std::optional<http::response> response;
    std::exception_ptr failure;
};

/// route(), with its exception as a value: an awaitable raced with `||` must not throw (§7.1 of the style).
asio::awaitable<routed> route_caught(const http::request& req, backend& b, bool allowed) {
    routed out;
    try {
        out.response = co_await route(req, b, allowed);
    } catch (...) {
        out.failure = std::current_exception();
    }
    co_return out;
}

/// The response to a complete request: the access decision, then the route, until the server closes (then
/// nullopt: the backend's coroutine is cancelled and nothing is answered). A backend failure is a 500.
// NOLINTNEXTLINE(performance-unnecessary-value-param): a coroutine keeps `s` alive in its own frame.
asio::awaitable<std::optional<http::response>> answer(const std::shared_ptr<state> s,
                                                      const http::request& req,
                                                      const asio::ip::address& peer) {
    const bool allowed = is_mutating(req.method) && may_change(peer, req.header("authorization"), s->token);
    if (s->closed) {
        co_return std::nullopt;
    }
    auto raced = co_await (route_caught(req, *s->data, allowed) || s->closing.wait());
    if (raced.index() == 1) {
        co_return std::nullopt;
    }
    auto& got = std::get<0>(raced);
    if (got.response) {
        co_return std::move(got.response);
    }
    // The details go to the log, not to a client that may be anywhere on the network.
    spdlog::warn("api: {} {}: {}", req.method, req.target, exception_message(got.failure));
    co_return error_response(500, "internal error", "the controller could not answer; see its log");
}

/// One client connection: requests one after another (keep-alive), each read and each response written under
/// a deadline.
asio::awaitable<void> serve_connection(std::shared_ptr<state> s, tcp::socket sock) {
    const registration registered{s->connections, sock};
    std::error_code ec;
    const auto peer = sock.remote_endpoint(ec);
    if (ec || s->closed) {
        co_return;
    }
    const auto peer_text = to_string(peer);
    http::request_parser parser{{s->options.max_head, s->options.max_body}};
    asio::steady_timer deadline{sock.get_executor()};
    std::string pending;
    for (;;) {
        deadline.expires_after(s->options.request_timeout);
        const auto got = co_await read_request(sock, parser, pending, deadline);
        if (s->closed || got == read_outcome::closed ||
            (got == read_outcome::timed_out && !parser.started())) {
            co_return;
        }
        http::response resp;
        bool keep_alive = false;
        bool with_body = true;
        if (got == read_outcome::complete) {
            const auto& req = parser.current();
            auto answered = co_await answer(s, req, peer.address());
            if (!answered) {
                co_return;
            }
            resp = std::move(*answered);
            keep_alive = req.keep_alive;
            with_body = req.method != "HEAD";
            // Changes are logged for the record (never their bodies: a BMC password may be in one).
            const auto level = is_mutating(req.method) ? spdlog::level::info : spdlog::level::debug;
            spdlog::log(level, "api: {} {} {} -> {}", peer_text, req.method, req.target, resp.status);
        } else {
            const auto refusal =
                got == read_outcome::refused
                    ? parser.error()
                    : http::parse_error{408, fmt::format("no complete request within {} ms",
                                                         s->options.request_timeout.count())};
            resp = error_response(refusal.status, error_title(refusal.status), refusal.reason);
            spdlog::debug("api: {} -> {} ({})", peer_text, refusal.status, refusal.reason);
        }
        const auto bytes = http::serialize(resp, keep_alive, with_body);
        deadline.expires_after(s->options.write_timeout);
        const bool sent = co_await send(sock, bytes, deadline);
        if (!sent || s->closed) {
            co_return;
        }
        if (!keep_alive) {
            co_await linger_close(sock, deadline);
            co_return;
        }
        parser.next();
    }
}

/// Accepts until the acceptor is closed or the wait is cancelled; returns the error that ended it for good.
asio::awaitable<std::error_code> accept_connections(std::shared_ptr<state> s) {
    asio::steady_timer backoff{s->ex};
    for (;;) {
        auto [ec, sock] = co_await s->acceptor.async_accept(use_tuple);
        if (ec == asio::error::operation_aborted || s->closed) {
            co_return std::error_code{};
        }
        if (ec && is_transient(ec)) {
            spdlog::warn("api: cannot accept a connection, retrying in 100 ms: {}", ec.message());
            backoff.expires_after(std::chrono::milliseconds{100});
            co_await backoff.async_wait(use_tuple);
            continue;
        }
        if (ec) {
            co_return ec;
        }
        if (s->active >= s->options.max_connections) {
            spdlog::debug("api: {} connections open, closing a new one", s->active);
            continue;  // `sock` closes as it goes out of scope
        }
        ++s->active;
        asio::co_spawn(s->ex, serve_connection(s, std::move(sock)), [s](const std::exception_ptr& e) {
            --s->active;
            if (e && !is_cancellation(e)) {
                spdlog::warn("api: connection ended with an error: {}", exception_message(e));
            }
        });
    }
}

}  // namespace

server::server(asio::any_io_executor ex, listen_address where, backend& b, std::string bearer_token,
               server_options options)
    : state_{std::make_shared<state>(std::move(ex), std::move(where), b, std::move(bearer_token), options)} {}

server::~server() {
    state_->close();
}

std::uint16_t server::bind() {
    auto& s = *state_;
    if (!s.acceptor.is_open()) {
        const auto what = "api: cannot listen on " + s.where.to_string();
        std::error_code ec;
        const auto address = asio::ip::make_address(s.where.host, ec);
        if (ec) {
            throw std::system_error{ec, what};
        }
        const tcp::endpoint endpoint{address, s.where.port};
        s.acceptor.open(endpoint.protocol(), ec);
        if (!ec) {
            s.acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
        }
        if (!ec) {
            s.acceptor.bind(endpoint, ec);
        }
        if (!ec) {
            s.acceptor.listen(asio::socket_base::max_listen_connections, ec);
        }
        if (ec) {
            s.acceptor.close();
            throw std::system_error{ec, what};
        }
    }
    return s.acceptor.local_endpoint().port();
}

asio::awaitable<void> server::run(task_set& tasks) {
    const auto s = state_;
    (void)bind();
    spdlog::info("api: serving on {}", to_string(s->acceptor.local_endpoint()));
    struct closer {
        state& s;
        ~closer() { s.close(); }
    } const close_at_exit{*s};
    auto ended = co_await (accept_connections(s) || tasks.until_stop());
    if (ended.index() == 0 && std::get<0>(ended)) {
        throw std::system_error{std::get<0>(ended), "api: accepting connections on " + s->where.to_string()};
    }
}

}  // namespace mtce::api
