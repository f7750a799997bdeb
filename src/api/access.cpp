#include "api/access.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "core/text.hpp"

namespace mtce::api {

namespace {

/// The credentials of "Bearer <credentials>" (RFC 6750), surrounding blanks removed; nullopt for another
/// scheme.
std::optional<std::string_view> bearer_credentials(std::string_view header) {
    const auto blank = header.find_first_of(" \t");
    if (blank == std::string_view::npos || !iequals(header.substr(0, blank), "bearer")) {
        return std::nullopt;
    }
    auto rest = header.substr(blank);
    const auto first = rest.find_first_not_of(" \t");
    if (first == std::string_view::npos) {
        return std::string_view{};
    }
    rest = rest.substr(first);
    return rest.substr(0, rest.find_last_not_of(" \t") + 1);
}

/// A header's value as a reason may quote it: at most 100 bytes, control characters as '?'.
std::string shown(std::string_view value) {
    std::string out{value.substr(0, 100)};
    std::replace_if(
        out.begin(), out.end(), [](char ch) { return static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f; },
        '?');
    return out;
}

}  // namespace

bool is_loopback(const asio::ip::address& a) {
    if (a.is_v4()) {
        return a.to_v4().is_loopback();
    }
    const auto v6 = a.to_v6();
    if (v6.is_v4_mapped()) {
        return asio::ip::make_address_v4(asio::ip::v4_mapped, v6).is_loopback();
    }
    return v6.is_loopback();
}

bool constant_time_equal(std::string_view given, std::string_view expected) {
    // Every byte of `expected` is visited whatever `given` holds; a missing byte of `given` compares as 0
    // and the length difference is folded into the result.
    unsigned char diff = given.size() == expected.size() ? 0 : 1;
    for (std::size_t i = 0; i < expected.size(); ++i) {
        const auto g = i < given.size() ? static_cast<unsigned char>(given[i]) : 0;
        diff |= static_cast<unsigned char>(g ^ static_cast<unsigned char>(expected[i]));
    }
    return diff == 0;
}

bool is_mutating(std::string_view method) {
    return method == "POST" || method == "PUT" || method == "PATCH" || method == "DELETE";
}

bool may_change(const asio::ip::address& peer, std::optional<std::string_view> authorization,
                std::string_view token, bool trust_loopback) {
    if (trust_loopback && is_loopback(peer)) {
        return true;
    }
    if (token.empty() || !authorization) {
        return false;
    }
    const auto credentials = bearer_credentials(*authorization);
    return credentials && constant_time_equal(*credentials, token);
}

bool host_is_ours(std::string_view host, const listen_address& where) {
    std::string_view name = host;
    std::uint16_t port = 80;
    const auto colon = host.rfind(':');
    const auto bracket = host.rfind(']');
    if (colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket)) {
        const auto parsed = parse_listen(fmt::format("0.0.0.0:{}", host.substr(colon + 1)));
        if (!parsed) {
            return false;
        }
        port = parsed->port;
        name = host.substr(0, colon);
    }
    if (port != where.port || name.empty()) {
        return false;
    }
    std::error_code ec;
    const auto ours = asio::ip::make_address(where.host, ec);
    if (ec) {
        return false;
    }
    if (iequals(name, "localhost")) {
        return ours.is_unspecified() || is_loopback(ours);
    }
    const bool bracketed = name.size() >= 2 && name.front() == '[' && name.back() == ']';
    if (bracketed) {
        name = name.substr(1, name.size() - 2);
    }
    if (name.find_first_not_of("0123456789abcdefABCDEF.:") != std::string_view::npos) {
        return false;  // a name, or an IPv6 zone
    }
    const auto given = asio::ip::make_address(std::string{name}, ec);
    if (ec || given.is_v6() != bracketed) {
        return false;
    }
    return ours.is_unspecified() || given == ours;
}

std::optional<refusal> check_request(const http::request& req, const client& c, const access_rules& rules) {
    const bool changes = is_mutating(req.method);
    if (c.via == transport::tcp) {
        const auto host = req.header("host");
        if (!host) {
            return refusal{400, "bad request", "a Host header is required"};
        }
        const auto ours = rules.where.to_string();
        if (!host_is_ours(*host, rules.where)) {
            return refusal{
                403, "forbidden",
                fmt::format("Host '{}' does not name this API's address {}; a page in a browser or a "
                            "forwarder sends its own: connect to {} itself",
                            shown(*host), ours, ours)};
        }
        if (const auto origin = req.header("origin");
            origin && !(origin->starts_with("http://") && host_is_ours(origin->substr(7), rules.where))) {
            return refusal{
                403, "forbidden",
                fmt::format("requests from pages of other origins ('{}') are not served", shown(*origin))};
        }
    }
    if (!changes) {
        return std::nullopt;
    }
    const auto type = req.header("content-type");
    const auto media = type ? trim_blanks(type->substr(0, type->find(';'))) : std::string_view{};
    if (!iequals(media, "application/json")) {
        return refusal{415, "unsupported media type",
                       type
                           ? fmt::format("changes must be sent as application/json, not '{}'", shown(*type))
                           : std::string{"changes must be sent as application/json (no Content-Type given)"}};
    }
    if (c.via == transport::tcp &&
        !may_change(c.address, req.header("authorization"), rules.token, rules.trust_loopback)) {
        return refusal{403, "forbidden",
                       "changes over TCP need the API bearer token (controller.api_token_file, sent as "
                       "'Authorization: Bearer TOKEN'); on the controller, use the local socket "
                       "(controller.api_socket), as the mtce command does by default"};
    }
    return std::nullopt;
}

bool may_use_socket(uid_t uid, std::span<const gid_t> groups, uid_t self, std::optional<gid_t> group) {
    if (uid == 0 || uid == self) {
        return true;
    }
    return group && std::find(groups.begin(), groups.end(), *group) != groups.end();
}

}  // namespace mtce::api
