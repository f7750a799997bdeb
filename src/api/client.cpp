#include "api/client.hpp"

#include <array>
#include <exception>
#include <optional>
#include <system_error>

#include <asio/co_spawn.hpp>
#include <asio/error.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/address.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/local/stream_protocol.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <fmt/format.h>

#include "api/client_wire.hpp"

namespace mtce::api {

namespace {

using result = tl::expected<reply, std::string>;
using asio::ip::tcp;

/// Connects, sends `request` and reads until the reply is complete. Socket errors come out as exceptions.
template <typename Socket>
asio::awaitable<result> exchange(Socket& socket, typename Socket::endpoint_type to, std::string request) {
    co_await socket.async_connect(to, asio::use_awaitable);
    co_await asio::async_write(socket, asio::buffer(request), asio::use_awaitable);
    std::string received;
    std::array<char, std::size_t{64} * 1024> chunk{};
    for (;;) {
        const auto [ec, n] = co_await socket.async_read_some(
            asio::buffer(chunk), asio::experimental::as_tuple(asio::use_awaitable));
        if (ec && ec != asio::error::eof) {
            throw std::system_error{ec};
        }
        received.append(chunk.data(), n);
        auto parsed = wire::parse_reply(received, ec == asio::error::eof);
        if (!parsed) {
            co_return tl::unexpected{std::move(parsed.error())};
        }
        if (*parsed) {
            co_return std::move(**parsed);
        }
    }
}

/// Runs `exchange` on a private io_context; when `timeout` expires first, the socket is closed, which ends
/// whatever the exchange is waiting for.
template <typename Protocol>
result run_with_deadline(const typename Protocol::endpoint& to, std::string request,
                         std::chrono::milliseconds timeout) {
    asio::io_context io;
    typename Protocol::socket socket{io};
    asio::steady_timer deadline{io, timeout};
    bool expired = false;
    deadline.async_wait([&](std::error_code ec) {
        if (!ec) {
            expired = true;
            socket.close(ec);
        }
    });
    std::optional<result> out;
    asio::co_spawn(io, exchange(socket, to, std::move(request)), [&](const std::exception_ptr& e, result r) {
        deadline.cancel();
        if (!e) {
            out = std::move(r);
            return;
        }
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& x) {
            out = tl::unexpected{std::string{x.what()}};
        }
    });
    io.run();
    if (expired && !(out && out->has_value())) {
        return tl::unexpected{fmt::format("no reply within {} ms", timeout.count())};
    }
    return std::move(*out);
}

}  // namespace

std::string percent_encode(std::string_view s) {
    std::string out;
    for (const char c : s) {
        const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                                c == '-' || c == '.' || c == '_' || c == '~';
        if (unreserved) {
            out += c;
        } else {
            out += fmt::format("%{:02X}", static_cast<unsigned char>(c));
        }
    }
    return out;
}

tl::expected<reply, std::string> request(std::string_view method, std::string_view base_url,
                                         std::string_view path, std::string_view body,
                                         std::chrono::milliseconds timeout, std::string_view bearer_token) {
    while (!base_url.empty() && base_url.back() == '/') {
        base_url.remove_suffix(1);
    }
    const std::string url = std::string{base_url} + std::string{path};
    const auto unreachable = [&](std::string_view why) {
        return tl::unexpected{fmt::format("controller unreachable at {}: {}", url, why)};
    };
    const auto to = wire::parse_base_url(base_url);
    if (!to) {
        return unreachable(to.error());
    }
    const auto target = to->path_prefix + std::string{path};
    if (method.empty() || !wire::is_token_text(method) || !target.starts_with('/') ||
        !wire::is_token_text(target) || !wire::is_token_text(bearer_token)) {
        return unreachable("the method, the path or the bearer token contains spaces or control characters");
    }
    auto bytes = wire::format_request(method, to->host(), target, body, bearer_token);
    auto r = to->socket_path.empty()
                 ? run_with_deadline<tcp>(
                       tcp::endpoint{asio::ip::make_address(to->address.host), to->address.port},
                       std::move(bytes), timeout)
                 : run_with_deadline<asio::local::stream_protocol>(
                       asio::local::stream_protocol::endpoint{to->socket_path}, std::move(bytes), timeout);
    if (!r) {
        return unreachable(r.error());
    }
    return r;
}

tl::expected<reply, std::string> get(std::string_view base_url, std::string_view path,
                                     std::chrono::milliseconds timeout, std::string_view bearer_token) {
    return request("GET", base_url, path, {}, timeout, bearer_token);
}

}  // namespace mtce::api
