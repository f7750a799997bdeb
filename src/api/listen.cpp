#include "api/listen.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <cstring>

#include <fmt/format.h>

namespace mtce::api {

namespace {

bool is_ipv4(const std::string& s) {
    in_addr a{};
    return ::inet_pton(AF_INET, s.c_str(), &a) == 1;
}

bool is_ipv6(const std::string& s) {
    in6_addr a{};
    return ::inet_pton(AF_INET6, s.c_str(), &a) == 1;
}

bool is_unspecified_ipv6(const std::string& s) {
    in6_addr a{};
    if (::inet_pton(AF_INET6, s.c_str(), &a) != 1) {
        return false;
    }
    const std::array<unsigned char, 16> zero{};
    return std::memcmp(a.s6_addr, zero.data(), zero.size()) == 0;
}

/// 1..65535 in decimal, digits only (no sign, no spaces).
tl::expected<std::uint16_t, std::string> parse_port(std::string_view s) {
    if (s.empty() || s.size() > 5 ||
        !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return tl::unexpected{fmt::format("port '{}' is not a number from 1 to 65535", s)};
    }
    unsigned value = 0;
    for (char c : s) {
        value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value < 1 || value > 65535) {
        return tl::unexpected{fmt::format("port '{}' is not a number from 1 to 65535", s)};
    }
    return static_cast<std::uint16_t>(value);
}

}  // namespace

std::string listen_address::to_string() const {
    return is_ipv6() ? fmt::format("[{}]:{}", host, port) : fmt::format("{}:{}", host, port);
}

tl::expected<listen_address, std::string> parse_listen(std::string_view text) {
    const auto form_error = [&] {
        return tl::unexpected{
            fmt::format("'{}' is not of the form ADDRESS:PORT (IPv6 as [ADDRESS]:PORT)", text)};
    };
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) {
        return form_error();
    }
    std::string_view host = text.substr(0, colon);
    const bool bracketed = host.size() >= 2 && host.front() == '[' && host.back() == ']';
    if (bracketed) {
        host = host.substr(1, host.size() - 2);
    }
    const std::string h{host};
    if (bracketed ? !is_ipv6(h) : !is_ipv4(h)) {
        if (!bracketed && is_ipv6(h)) {
            return tl::unexpected{
                fmt::format("'{}': an IPv6 address needs brackets, as [ADDRESS]:PORT", text)};
        }
        return form_error();
    }
    auto port = parse_port(text.substr(colon + 1));
    if (!port) {
        return tl::unexpected{fmt::format("'{}': {}", text, port.error())};
    }
    return listen_address{h, *port};
}

std::string local_url(const listen_address& where) {
    listen_address to = where;
    if (to.host == "0.0.0.0") {
        to.host = "127.0.0.1";
    } else if (is_unspecified_ipv6(to.host)) {
        to.host = "::1";
    }
    return "http://" + to.to_string();
}

}  // namespace mtce::api
