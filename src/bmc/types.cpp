#include "bmc/types.hpp"

#include <algorithm>

namespace mtce::bmc {

std::string_view to_string(power_state p) noexcept {
    switch (p) {
    case power_state::on:
        return "on";
    case power_state::off:
        return "off";
    case power_state::unknown:
        break;
    }
    return "unknown";
}

std::string_view to_string(errc e) noexcept {
    switch (e) {
    case errc::unreachable:
        return "unreachable";
    case errc::timeout:
        return "timeout";
    case errc::auth:
        return "authentication";
    case errc::tls:
        return "tls";
    case errc::unsupported:
        return "unsupported";
    case errc::refused:
        return "refused";
    case errc::bad_answer:
        return "bad answer";
    }
    return "unknown";
}

std::chrono::milliseconds backoff_delay(const timing& t, unsigned retry) noexcept {
    const unsigned factor = 1U << std::min(retry, 3U);  // 1, 2, 4, 8, 8, ...
    return t.backoff * factor;
}

bool worth_retrying(const error& e, bool repeatable) noexcept {
    const bool silent = e.code == errc::timeout || e.code == errc::unreachable;
    return silent && (repeatable || !e.may_have_reached);
}

std::string redact(std::string text, std::string_view secret) {
    if (secret.empty()) {
        return text;
    }
    constexpr std::string_view mask = "****";
    for (std::size_t at = text.find(secret); at != std::string::npos;
         at = text.find(secret, at + mask.size())) {
        text.replace(at, secret.size(), mask);
    }
    return text;
}

}  // namespace mtce::bmc
