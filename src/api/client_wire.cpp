#include "api/client_wire.hpp"
#include "core/text.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>

#include <fmt/format.h>

namespace mtce::api::wire {

namespace {

using parsed = tl::expected<std::optional<reply>, std::string>;

constexpr std::string_view crlf = "\r\n";

bool is_digits(std::string_view s) {
    return !s.empty() && std::ranges::all_of(s, [](char c) { return c >= '0' && c <= '9'; });
}

/// "HTTP/1.x NNN[ reason]" → NNN.
tl::expected<long, std::string> parse_status_line(std::string_view line) {
    const auto bad = [&] { return tl::unexpected{fmt::format("bad status line '{}'", line)}; };
    if (line.size() < 12 || !line.starts_with("HTTP/1.") || (line[7] != '0' && line[7] != '1') ||
        line[8] != ' ') {
        return bad();
    }
    const auto code = line.substr(9, 3);
    if (!is_digits(code) || code[0] == '0' || (line.size() > 12 && line[12] != ' ')) {
        return bad();
    }
    return std::stol(std::string{code});
}

/// What the reply's headers say about its body.
struct head {
    long status = 0;
    std::string content_type;
    std::optional<std::size_t> content_length;
};

tl::expected<void, std::string> apply_header(head& h, std::string_view line) {
    const auto colon = line.find(':');
    const auto name = line.substr(0, colon);
    if (colon == std::string_view::npos || name.empty() ||
        name.find_first_of(" \t") != std::string_view::npos) {
        return tl::unexpected{fmt::format("bad header line '{}'", line)};
    }
    const auto value = trim_blanks(line.substr(colon + 1));
    if (iequals(name, "content-type")) {
        h.content_type = std::string{value};
    } else if (iequals(name, "transfer-encoding") && !iequals(value, "identity")) {
        return tl::unexpected{
            fmt::format("the reply uses Transfer-Encoding '{}', which is not supported", value)};
    } else if (iequals(name, "content-length")) {
        std::size_t n = 0;
        const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
        if (!is_digits(value) || ec != std::errc{} || end != value.data() + value.size() ||
            (h.content_length && *h.content_length != n)) {
            return tl::unexpected{fmt::format("bad Content-Length '{}'", value)};
        }
        h.content_length = n;
    }
    return {};
}

/// The status line and headers, without the blank line that ends them.
tl::expected<head, std::string> parse_head(std::string_view text) {
    auto eol = text.find(crlf);
    const auto status = parse_status_line(text.substr(0, eol));
    if (!status) {
        return tl::unexpected{status.error()};
    }
    head h;
    h.status = *status;
    while (eol != std::string_view::npos) {
        text.remove_prefix(eol + crlf.size());
        eol = text.find(crlf);
        if (const auto ok = apply_header(h, text.substr(0, eol)); !ok) {
            return tl::unexpected{ok.error()};
        }
    }
    return h;
}

bool has_no_body(long status) {
    return status == 204 || status == 304;
}

parsed complete(const head& h, std::string_view body) {
    return reply{.status = h.status, .content_type = h.content_type, .body = std::string{body}};
}

parsed parse_body(const head& h, std::string_view body, bool at_eof) {
    const auto too_large = [] {
        return tl::unexpected{fmt::format("the reply's body is larger than {} bytes", max_body)};
    };
    if (has_no_body(h.status)) {
        return complete(h, {});
    }
    if (!h.content_length) {
        if (body.size() > max_body) {
            return too_large();
        }
        return at_eof ? complete(h, body) : parsed{std::nullopt};
    }
    const auto length = *h.content_length;
    if (length > max_body) {
        return too_large();
    }
    if (body.size() >= length) {
        return complete(h, body.substr(0, length));
    }
    if (at_eof) {
        return tl::unexpected{
            fmt::format("the connection closed after {} of the reply's {} body bytes", body.size(), length)};
    }
    return std::nullopt;
}

}  // namespace

tl::expected<target, std::string> parse_base_url(std::string_view base_url) {
    constexpr std::string_view scheme = "http://";
    constexpr std::string_view unix_scheme = "unix:";
    if (base_url.starts_with(unix_scheme)) {
        const auto path = base_url.substr(unix_scheme.size());
        if (!path.starts_with('/') || !is_token_text(path)) {
            return tl::unexpected{fmt::format("bad socket path '{}': an absolute path is needed", path)};
        }
        return target{.address = {}, .socket_path = std::string{path}, .path_prefix = {}};
    }
    if (base_url.starts_with("https://")) {
        return tl::unexpected{std::string{"https is not supported by this client"}};
    }
    if (!base_url.starts_with(scheme)) {
        return tl::unexpected{std::string{"the URL does not start with http://"}};
    }
    base_url.remove_prefix(scheme.size());
    const auto slash = base_url.find('/');
    const auto authority = base_url.substr(0, slash);
    const auto prefix = slash == std::string_view::npos ? std::string_view{} : base_url.substr(slash);
    auto address = parse_listen(authority);
    if (!address) {
        return tl::unexpected{fmt::format("bad host and port '{}': {}", authority, address.error())};
    }
    if (!is_token_text(prefix) || prefix.find_first_of("?#") != std::string_view::npos ||
        prefix.ends_with('/')) {
        return tl::unexpected{fmt::format("bad path '{}'", prefix)};
    }
    return target{.address = std::move(*address), .socket_path = {}, .path_prefix = std::string{prefix}};
}

bool is_token_text(std::string_view s) {
    return std::ranges::none_of(s,
                                [](char c) { return static_cast<unsigned char>(c) <= ' ' || c == '\x7f'; });
}

std::string format_request(std::string_view method, std::string_view host, std::string_view path,
                           std::string_view body, std::string_view bearer_token) {
    std::string out = fmt::format(
        "{} {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: mtce\r\nAccept: application/json\r\nConnection: "
        "close\r\n",
        method, path, host);
    if (!bearer_token.empty()) {
        out += fmt::format("Authorization: Bearer {}\r\n", bearer_token);
    }
    if (!body.empty() || (method != "GET" && method != "HEAD")) {
        out += "Content-Type: application/json\r\n";
        out += fmt::format("Content-Length: {}\r\n", body.size());
    }
    out += crlf;
    out += body;
    return out;
}

parsed parse_reply(std::string_view bytes, bool at_eof) {
    constexpr std::string_view end_of_head = "\r\n\r\n";
    const auto end = bytes.substr(0, max_head).find(end_of_head);
    if (end == std::string_view::npos) {
        if (bytes.size() >= max_head) {
            return tl::unexpected{fmt::format("the reply's headers are larger than {} bytes", max_head)};
        }
        if (at_eof) {
            return tl::unexpected{std::string{bytes.empty()
                                                  ? "the connection closed without a reply"
                                                  : "the connection closed within the reply's headers"}};
        }
        return std::nullopt;
    }
    const auto h = parse_head(bytes.substr(0, end));
    if (!h) {
        return tl::unexpected{h.error()};
    }
    return parse_body(*h, bytes.substr(end + end_of_head.size()), at_eof);
}

}  // namespace mtce::api::wire
