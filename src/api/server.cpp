#include "api/server.hpp"

#include <grp.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <exception>
#include <list>
#include <optional>
#include <string_view>
#include <system_error>
#include <variant>
#include <vector>

#include <asio/co_spawn.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/generic/stream_protocol.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/local/stream_protocol.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "api/access.hpp"
#include "api/admission.hpp"
#include "api/http.hpp"
#include "api/router.hpp"
#include "core/tasks.hpp"

namespace mtce::api {

namespace {

using tcp = asio::ip::tcp;
using local = asio::local::stream_protocol;
/// A connection, over TCP or the local socket.
using stream = asio::generic::stream_protocol::socket;
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
          where{w},
          data{&b},
          rules{std::move(t), o.trust_loopback, std::move(w)},
          options{std::move(o)},
          acceptor{ex},
          local_acceptor{ex},
          admitted{options.max_connections, options.client_connections},
          max_refusing{2 * options.max_connections},
          refusal_ended{ex, asio::steady_timer::time_point::max()},
          closing{ex} {}

    asio::any_io_executor ex;
    listen_address where;
    backend* data;
    access_rules rules;
    server_options options;
    tcp::acceptor acceptor;
    local::acceptor local_acceptor;
    bool socket_created = false;      ///< the socket file is ours to remove
    std::optional<gid_t> socket_gid;  ///< options.socket_group's id
    admission admitted;
    refusal_record refusals;
    std::size_t refusing = 0;          ///< connections being answered a refusal
    std::size_t max_refusing;          ///< beyond, new clients wait in the listen queue
    asio::steady_timer refusal_ended;  ///< never expires: cancel_one() wakes the accept loop
    std::list<stream*> connections;    ///< open connections, to close them when the server stops
    std::size_t active = 0;            ///< connection coroutines not yet finished
    bool closed = false;
    event closing;  ///< set by close(): ends the backend calls still waited for

    /// Closes the listening sockets and every connection: their pending operations end with
    /// operation_aborted, a backend coroutine still running for one of them is cancelled, and their
    /// coroutines return without touching the backend again. Removes the socket file.
    void close() {
        closed = true;
        closing.set();
        refusal_ended.cancel();
        std::error_code ec;
        acceptor.close(ec);
        local_acceptor.close(ec);
        if (socket_created) {
            socket_created = false;
            (void)::unlink(options.socket_path.c_str());
        }
        for (auto* c : connections) {
            c->close(ec);
        }
    }

    /// Counts a refusal and logs it at warn level if the rate limit allows.
    void note(refusal_kind k, std::string_view who, std::string_view what) {
        const auto unlogged = refusals.count(k, std::chrono::steady_clock::now());
        if (!unlogged) {
            return;
        }
        if (*unlogged == 0) {
            spdlog::warn("api: {}: {} ({})", who, what, to_string(k));
        } else {
            spdlog::warn("api: {}: {} ({}; {} more not logged)", who, what, to_string(k), *unlogged);
        }
    }
};

}  // namespace detail

namespace {

using state = detail::server_state;

/// Keeps a connection's socket in the state's list while its coroutine runs.
class registration {
public:
    registration(std::list<stream*>& list, stream& s) : list_{list}, it_{list.insert(list.end(), &s)} {}
    ~registration() { list_.erase(it_); }
    registration(const registration&) = delete;
    registration& operator=(const registration&) = delete;

private:
    std::list<stream*>& list_;
    std::list<stream*>::iterator it_;
};

/// Reads until `parser` has one whole request, starting with the bytes left over from the previous one in
/// `pending`; bytes after the request stay in `pending`. Bounded by `deadline`.
asio::awaitable<read_outcome> read_request(stream& sock, http::request_parser& parser, std::string& pending,
                                           asio::steady_timer& deadline) {
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
asio::awaitable<bool> send(stream& sock, const std::string& bytes, asio::steady_timer& deadline) {
    auto sent =
        co_await (asio::async_write(sock, asio::buffer(bytes), use_tuple) || deadline.async_wait(use_tuple));
    co_return sent.index() == 0 && !std::get<0>(std::get<0>(sent));
}

/// Closes our side first and reads (and drops) what the client still sends, for a short while: closing a
/// socket with unread input makes the kernel send RST, and the client could lose the response it has not
/// read yet (an oversized request's 431, say).
asio::awaitable<void> linger_close(stream& sock, asio::steady_timer& deadline) {
    std::error_code ec;
    sock.shutdown(stream::shutdown_send, ec);
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

/// The response to a complete request: the access checks, then the route, until the server closes (then
/// nullopt: the backend's coroutine is cancelled and nothing is answered). A backend failure is a 500.
// NOLINTNEXTLINE(performance-unnecessary-value-param): a coroutine keeps `s` alive in its own frame.
asio::awaitable<std::optional<http::response>> answer(const std::shared_ptr<state> s,
                                                      const http::request& req, const client& c,
                                                      const std::string& who) {
    if (s->closed) {
        co_return std::nullopt;
    }
    if (const auto refused = check_request(req, c, s->rules)) {
        s->note(refusal_kind::access, who,
                fmt::format("{} {} -> {}: {}", req.method, req.target, refused->status, refused->reason));
        co_return error_response(refused->status, refused->error, refused->reason);
    }
    auto raced = co_await (route_caught(req, *s->data, /*allowed=*/true) || s->closing.wait());
    if (raced.index() == 1) {
        co_return std::nullopt;
    }
    auto& got = std::get<0>(raced);
    if (got.response) {
        if (req.path == "/metrics" && got.response->status == 200) {
            got.response->body += s->refusals.metrics(s->admitted.open());
        }
        co_return std::move(got.response);
    }
    // The details go to the log, not to a client that may be anywhere on the network.
    spdlog::warn("api: {} {}: {}", req.method, req.target, exception_message(got.failure));
    co_return error_response(500, "internal error", "the controller could not answer; see its log");
}

/// One client connection: requests one after another (keep-alive), each read and each response written under
/// a deadline.
asio::awaitable<void> serve_connection(std::shared_ptr<state> s, stream sock, client c, std::string who) {
    const registration registered{s->connections, sock};
    if (s->closed) {
        co_return;
    }
    http::request_parser parser{{s->options.max_head, s->options.max_body}};
    asio::steady_timer deadline{sock.get_executor()};
    std::string pending;
    for (bool first = true;; first = false) {
        deadline.expires_after(s->options.request_timeout);
        const auto got = co_await read_request(sock, parser, pending, deadline);
        if (s->closed || got == read_outcome::closed) {
            co_return;
        }
        if (got == read_outcome::timed_out && !parser.started()) {
            // Idle: a kept-alive connection is let go quietly, one that never sent a byte is counted.
            if (first) {
                s->note(refusal_kind::timed_out, who,
                        fmt::format("nothing received within {} ms, closing",
                                    s->options.request_timeout.count()));
            }
            co_return;
        }
        http::response resp;
        bool keep_alive = false;
        bool with_body = true;
        if (got == read_outcome::complete) {
            const auto& req = parser.current();
            auto answered = co_await answer(s, req, c, who);
            if (!answered) {
                co_return;
            }
            resp = std::move(*answered);
            keep_alive = req.keep_alive;
            with_body = req.method != "HEAD";
            // Changes are logged for the record (never their bodies: a BMC password may be in one).
            const auto level = is_mutating(req.method) ? spdlog::level::info : spdlog::level::debug;
            spdlog::log(level, "api: {} {} {} -> {}", who, req.method, req.target, resp.status);
        } else {
            const auto refusal =
                got == read_outcome::refused
                    ? parser.error()
                    : http::parse_error{408, fmt::format("no complete request within {} ms",
                                                         s->options.request_timeout.count())};
            resp = error_response(refusal.status, error_title(refusal.status), refusal.reason);
            if (got == read_outcome::timed_out) {
                s->note(refusal_kind::timed_out, who, refusal.reason);
            } else {
                spdlog::debug("api: {} -> {} ({})", who, refusal.status, refusal.reason);
            }
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

/// Answers a connection that will not be served with `resp` without reading its request, and closes it
/// (lingering briefly, so that the client reads the answer rather than a reset). Short deadlines: this
/// must not become a way to hold the server's resources.
asio::awaitable<void> answer_refused(std::shared_ptr<state> s, stream sock, http::response resp) {
    const registration registered{s->connections, sock};
    asio::steady_timer deadline{sock.get_executor(), std::chrono::seconds{1}};
    const auto bytes = http::serialize(resp, /*keep_alive=*/false, /*with_body=*/true);
    if (co_await send(sock, bytes, deadline) && !s->closed) {
        co_await linger_close(sock, deadline);
    }
}

/// Refuses `sock` for `why`: 503 with Retry-After for a full server or client share, 403 otherwise. At
/// most max_refusing refusals are answered at once (the TCP accept loop waits for one to end before it
/// accepts more); beyond, the connection is closed at once.
void refuse(const std::shared_ptr<state>& s, stream sock, refusal_kind why, std::string_view who) {
    const bool busy = why == refusal_kind::server_full || why == refusal_kind::client_full;
    const auto reason =
        why == refusal_kind::server_full
            ? fmt::format("{} connections are being served; try again later", s->options.max_connections)
        : why == refusal_kind::client_full
            ? fmt::format("this client already has {} connections open; try again later",
                          s->options.client_connections)
            : std::string{
                  "only root, the daemon's user and members of controller.api_socket_group may use "
                  "this socket"};
    s->note(why, who, reason);
    if (s->refusing >= s->max_refusing || s->closed) {
        return;  // `sock` closes as it goes out of scope
    }
    auto resp = error_response(busy ? 503 : 403, busy ? "busy" : "forbidden", reason);
    if (busy) {
        resp.headers.emplace_back("Retry-After", "1");
    }
    ++s->refusing;
    asio::co_spawn(s->ex, answer_refused(s, std::move(sock), std::move(resp)),
                   [s](const std::exception_ptr&) {
                       --s->refusing;
                       s->refusal_ended.cancel_one();
                   });
}

/// Serves `sock` if admission allows, else refuses it.
void admit(const std::shared_ptr<state>& s, stream sock, const client& c, std::string key, std::string who) {
    if (const auto why = s->admitted.admit(key)) {
        refuse(s, std::move(sock), *why, who);
        return;
    }
    ++s->active;
    asio::co_spawn(s->ex, serve_connection(s, std::move(sock), c, std::move(who)),
                   [s, key = std::move(key)](const std::exception_ptr& e) {
                       --s->active;
                       s->admitted.release(key);
                       if (e && !is_cancellation(e)) {
                           spdlog::warn("api: connection ended with an error: {}", exception_message(e));
                       }
                   });
}

/// The groups of user `uid`: `gid` (the peer's own), its primary group and its supplementary ones. Asks the
/// user and group databases (NSS): blocking, so only done for peers that are neither root nor us.
std::vector<gid_t> groups_of(uid_t uid, gid_t gid) {
    std::vector<gid_t> out{gid};
    std::vector<char> buf(16384);
    passwd pw{};
    passwd* found = nullptr;
    if (::getpwuid_r(uid, &pw, buf.data(), buf.size(), &found) != 0 || found == nullptr) {
        return out;
    }
    int n = 64;
    std::vector<gid_t> groups(static_cast<std::size_t>(n));
    if (::getgrouplist(pw.pw_name, pw.pw_gid, groups.data(), &n) < 0 && n > 0 && n <= 65536) {
        groups.resize(static_cast<std::size_t>(n));
        (void)::getgrouplist(pw.pw_name, pw.pw_gid, groups.data(), &n);
    }
    groups.resize(static_cast<std::size_t>(std::max(n, 0)));
    out.insert(out.end(), groups.begin(), groups.end());
    out.push_back(pw.pw_gid);
    return out;
}

/// The next client of `acceptor` (TCP or local socket). A transient failure (is_transient) is logged and
/// retried after 100 ms, so that a flood cannot spin the loop. Nothing when the loop must end: `ended` then
/// holds why (empty once the server closed or the wait was cancelled, else the error). Returns without
/// another co_await once closed or cancelled, which would throw.
template <class Acceptor>
asio::awaitable<std::optional<typename Acceptor::protocol_type::socket>> accept_next(
    Acceptor& acceptor, const state& s, asio::steady_timer& backoff, std::error_code& ended) {
    for (;;) {
        auto [ec, sock] = co_await acceptor.async_accept(use_tuple);
        if (ec == asio::error::operation_aborted || s.closed) {
            ended = {};
            co_return std::nullopt;
        }
        if (!ec) {
            co_return std::move(sock);
        }
        if (!is_transient(ec)) {
            ended = ec;
            co_return std::nullopt;
        }
        spdlog::warn("api: cannot accept a connection, retrying in 100 ms: {}", ec.message());
        backoff.expires_after(std::chrono::milliseconds{100});
        co_await backoff.async_wait(use_tuple);
    }
}

/// Accepts TCP clients until the acceptor is closed or the wait is cancelled; returns the error that ended
/// it for good. Nothing here waits on a client: a burst is accepted as fast as it comes.
asio::awaitable<std::error_code> accept_tcp(std::shared_ptr<state> s) {
    asio::steady_timer backoff{s->ex};
    for (;;) {
        // Clients beyond what can be answered wait in the listen queue (not reset) until a refusal ends;
        // each ends within its own short deadline.
        while (s->refusing >= s->max_refusing && !s->closed) {
            const auto [woken] = co_await s->refusal_ended.async_wait(use_tuple);
            (void)woken;  // a refusal ended (cancel_one), the server closed, or this loop is cancelled
            const auto cs = co_await asio::this_coro::cancellation_state;
            if (cs.cancelled() != asio::cancellation_type::none) {
                co_return std::error_code{};
            }
        }
        std::error_code ended;
        auto sock = co_await accept_next(s->acceptor, *s, backoff, ended);
        if (!sock) {
            co_return ended;
        }
        std::error_code ec;
        const auto peer = sock->remote_endpoint(ec);
        if (ec) {
            continue;  // gone already
        }
        admit(s, stream{std::move(*sock)}, client{transport::tcp, peer.address()}, peer.address().to_string(),
              to_string(peer));
    }
}

/// Accepts local socket clients (if the socket is configured; otherwise waits for the server to close),
/// checking each peer's credentials first.
asio::awaitable<std::error_code> accept_local(std::shared_ptr<state> s) {
    if (!s->local_acceptor.is_open()) {
        asio::steady_timer never{s->ex, asio::steady_timer::time_point::max()};
        co_await never.async_wait(use_tuple);  // until cancelled (as `||` does once another branch ends)
        co_return std::error_code{};
    }
    asio::steady_timer backoff{s->ex};
    for (;;) {
        std::error_code ended;
        auto sock = co_await accept_next(s->local_acceptor, *s, backoff, ended);
        if (!sock) {
            co_return ended;
        }
        ucred peer{};
        socklen_t len = sizeof peer;
        if (::getsockopt(sock->native_handle(), SOL_SOCKET, SO_PEERCRED, &peer, &len) != 0) {
            continue;
        }
        const auto who = fmt::format("uid {} (pid {}) on the local socket", peer.uid, peer.pid);
        const auto self = ::geteuid();
        const bool trusted = peer.uid == 0 || peer.uid == self;
        const auto groups =
            trusted || !s->socket_gid ? std::vector<gid_t>{peer.gid} : groups_of(peer.uid, peer.gid);
        if (!may_use_socket(peer.uid, groups, self, s->socket_gid)) {
            refuse(s, stream{std::move(*sock)}, refusal_kind::peer_credentials, who);
            continue;
        }
        admit(s, stream{std::move(*sock)}, client{transport::local, {}}, fmt::format("uid {}", peer.uid),
              who);
    }
}

/// The id of group `name`; throws naming it when there is none.
gid_t group_id(const std::string& name) {
    std::vector<char> buf(16384);
    group gr{};
    group* found = nullptr;
    if (::getgrnam_r(name.c_str(), &gr, buf.data(), buf.size(), &found) != 0 || found == nullptr) {
        throw std::runtime_error{fmt::format("controller.api_socket_group: no group '{}'", name)};
    }
    return gr.gr_gid;
}

/// Creates the local socket at `path`, replacing a stale socket file but never a socket another process
/// still answers on, nor a file of another kind.
void bind_local(state& s) {
    const auto& path = s.options.socket_path;
    const auto what = fmt::format("api: cannot listen on '{}'", path);
    if (!s.options.socket_group.empty()) {
        s.socket_gid = group_id(s.options.socket_group);
    }
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            throw std::runtime_error{what + ": the file exists and is not a socket"};
        }
        local::socket probe{s.ex};
        std::error_code ec;
        probe.connect(local::endpoint{path}, ec);
        if (!ec) {
            throw std::runtime_error{what + ": another server is answering on it"};
        }
        (void)::unlink(path.c_str());
    }
    std::error_code ec;
    s.local_acceptor.open(local::endpoint{path}.protocol(), ec);
    if (!ec) {
        s.local_acceptor.bind(local::endpoint{path}, ec);
    }
    if (!ec) {
        s.socket_created = true;
        // Until this chmod, the umask decides: the credentials check at accept is what keeps others out.
        const mode_t mode = s.socket_gid ? 0660 : 0600;
        if (::chmod(path.c_str(), mode) != 0 ||
            (s.socket_gid && ::chown(path.c_str(), static_cast<uid_t>(-1), *s.socket_gid) != 0)) {
            ec = std::error_code{errno, std::system_category()};
        }
    }
    if (!ec) {
        s.local_acceptor.listen(4096, ec);
    }
    if (ec) {
        s.local_acceptor.close();
        if (s.socket_created) {
            s.socket_created = false;
            (void)::unlink(path.c_str());
        }
        throw std::system_error{ec, what};
    }
}

}  // namespace

server::server(asio::any_io_executor ex, listen_address where, backend& b, std::string bearer_token,
               server_options options)
    : state_{std::make_shared<state>(std::move(ex), std::move(where), b, std::move(bearer_token),
                                     std::move(options))} {}

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
            // A burst of clients must wait in the queue, not be reset: the kernel caps this at somaxconn.
            s.acceptor.listen(4096, ec);
        }
        if (ec) {
            s.acceptor.close();
            throw std::system_error{ec, what};
        }
    }
    // Host and Origin must name the port clients reach, which the system chose if the configuration said 0.
    s.rules.where.port = s.acceptor.local_endpoint().port();
    if (!s.options.socket_path.empty() && !s.local_acceptor.is_open()) {
        bind_local(s);
    }
    return s.rules.where.port;
}

asio::awaitable<void> server::run(task_set& tasks) {
    const auto s = state_;
    (void)bind();
    spdlog::info("api: serving on {}", to_string(s->acceptor.local_endpoint()));
    struct closer {
        state& s;
        ~closer() { s.close(); }
    } const close_at_exit{*s};
    if (s->local_acceptor.is_open()) {
        spdlog::info("api: serving on '{}'", s->options.socket_path);
    }
    auto ended = co_await (accept_tcp(s) || accept_local(s) || tasks.until_stop());
    if (ended.index() == 0 && std::get<0>(ended)) {
        throw std::system_error{std::get<0>(ended), "api: accepting connections on " + s->where.to_string()};
    }
    if (ended.index() == 1 && std::get<1>(ended)) {
        throw std::system_error{std::get<1>(ended),
                                "api: accepting connections on " + s->options.socket_path};
    }
}

}  // namespace mtce::api
