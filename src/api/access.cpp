#include "api/access.hpp"

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
                std::string_view token) {
    if (is_loopback(peer)) {
        return true;
    }
    if (token.empty() || !authorization) {
        return false;
    }
    const auto credentials = bearer_credentials(*authorization);
    return credentials && constant_time_equal(*credentials, token);
}

}  // namespace mtce::api
