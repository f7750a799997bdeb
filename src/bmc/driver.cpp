#include "bmc/driver.hpp"

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

}  // namespace mtce::bmc
