#include "fleet/host_spec.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <cstdint>

#include <fmt/format.h>

#include "api/backend.hpp"
#include "net/message.hpp"

namespace mtce::fleet {

namespace {

constexpr std::size_t max_username = 64;
constexpr std::size_t max_password = 256;
constexpr std::size_t max_dns_name = 253;
constexpr std::size_t max_dns_label = 63;

/// A value as it appears in a reason: quoted, printable ASCII only (anything else as \xNN, so that the reason
/// is valid UTF-8 and one line whatever a client sent), and cut after 80 bytes.
std::string shown(std::string_view value) {
    constexpr std::size_t shown = 80;
    std::string out = "'";
    for (std::size_t i = 0; i < value.size() && i < shown; ++i) {
        const auto c = static_cast<unsigned char>(value[i]);
        if (c >= 0x20 && c < 0x7f) {
            out += static_cast<char>(c);
        } else {
            out += fmt::format("\\x{:02x}", c);
        }
    }
    if (value.size() > shown) {
        out += "...";
    }
    out += '\'';
    return out;
}

/// A numeric address, parsed.
struct ip_address {
    int family = AF_INET;
    std::array<unsigned char, 16> bytes{};
    std::string text;  ///< canonical
};

std::optional<ip_address> parse_ip(std::string_view text) {
    // inet_pton reads up to a NUL, so an embedded NUL would hide trailing bytes.
    if (text.empty() || text.size() >= INET6_ADDRSTRLEN || text.find('\0') != std::string_view::npos) {
        return std::nullopt;
    }
    const std::string s{text};
    ip_address ip;
    std::array<char, INET6_ADDRSTRLEN> buf{};
    if (::inet_pton(AF_INET, s.c_str(), ip.bytes.data()) == 1) {
        ip.family = AF_INET;
    } else if (::inet_pton(AF_INET6, s.c_str(), ip.bytes.data()) == 1) {
        ip.family = AF_INET6;
    } else {
        return std::nullopt;
    }
    if (::inet_ntop(ip.family, ip.bytes.data(), buf.data(), buf.size()) == nullptr) {
        return std::nullopt;
    }
    ip.text = buf.data();
    return ip;
}

/// Why `ip` cannot be a host's own address, or nullopt if it can.
std::optional<std::string_view> not_unicast(const ip_address& ip) {
    const auto& b = ip.bytes;
    if (ip.family == AF_INET) {
        if (b[0] == 0 && b[1] == 0 && b[2] == 0 && b[3] == 0) {
            return "the unspecified address";
        }
        if ((b[0] >> 4) == 0xE) {
            return "a multicast address";
        }
        if (b[0] == 255 && b[1] == 255 && b[2] == 255 && b[3] == 255) {
            return "the broadcast address";
        }
        return std::nullopt;
    }
    if (std::all_of(b.begin(), b.end(), [](unsigned char c) { return c == 0; })) {
        return "the unspecified address";
    }
    if (b[0] == 0xFF) {
        return "a multicast address";
    }
    return std::nullopt;
}

/// Checks an address field; returns its canonical form or the reason.
tl::expected<std::string, std::string> host_address(std::string_view field, std::string_view value) {
    const auto ip = parse_ip(value);
    if (!ip) {
        return tl::make_unexpected(
            fmt::format("{} {} is not a numeric IPv4 or IPv6 address", field, shown(value)));
    }
    if (const auto why = not_unicast(*ip)) {
        return tl::make_unexpected(
            fmt::format("{} {} is {}, not the address of a host", field, shown(value), *why));
    }
    return ip->text;
}

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

/// An RFC 1123 host name: labels of 1 to 63 letters, digits and '-' (not first or last), at most 253 in all.
/// A last label of digits only is refused: such a name reads as a mistyped IPv4 address.
bool is_dns_name(std::string_view name) {
    if (name.empty() || name.size() > max_dns_name) {
        return false;
    }
    std::size_t start = 0;
    for (;;) {
        const auto dot = name.find('.', start);
        const auto label =
            name.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
        if (label.empty() || label.size() > max_dns_label || label.front() == '-' || label.back() == '-') {
            return false;
        }
        for (char c : label) {
            if (!(is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-')) {
                return false;
            }
        }
        if (dot == std::string_view::npos) {
            return !std::all_of(label.begin(), label.end(), is_digit);
        }
        start = dot + 1;
    }
}

std::optional<std::uint16_t> parse_port(std::string_view text) {
    if (text.empty() || text.size() > 5 || !std::all_of(text.begin(), text.end(), is_digit)) {
        return std::nullopt;
    }
    unsigned value = 0;
    for (char c : text) {
        value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value == 0 || value > 65535) {
        return std::nullopt;
    }
    return static_cast<std::uint16_t>(value);
}

/// Checks bmc_address; returns its canonical form: the IP in canonical form (IPv6 in brackets when a port
/// follows), a DNS name as given, the port without leading zeros.
tl::expected<std::string, std::string> bmc_address(std::string_view value) {
    const auto bad = [&](std::string_view why) {
        return tl::make_unexpected(fmt::format("bmc_address {} {}", shown(value), why));
    };
    constexpr std::string_view form =
        "is not a BMC address (an IP address or DNS name with an optional :PORT; IPv6 as [ADDRESS]:PORT)";
    if (value.find("://") != std::string_view::npos) {
        return bad("is a URL; give only the address, with an optional :PORT");
    }
    std::string_view host = value;
    std::optional<std::string_view> port_text;
    bool bracketed = false;
    if (value.starts_with('[')) {
        const auto close = value.find(']');
        if (close == std::string_view::npos) {
            return bad(form);
        }
        host = value.substr(1, close - 1);
        const auto rest = value.substr(close + 1);
        if (!rest.empty()) {
            if (!rest.starts_with(':')) {
                return bad(form);
            }
            port_text = rest.substr(1);
        }
        bracketed = true;
    } else if (std::count(value.begin(), value.end(), ':') == 1) {
        const auto colon = value.find(':');
        host = value.substr(0, colon);
        port_text = value.substr(colon + 1);
    }
    std::optional<std::uint16_t> port;
    if (port_text) {
        port = parse_port(*port_text);
        if (!port) {
            return bad("has an invalid port (1 to 65535)");
        }
    }

    std::string canonical;
    if (const auto ip = parse_ip(host)) {
        if (bracketed && ip->family != AF_INET6) {
            return bad("has brackets around an address that is not IPv6");
        }
        if (const auto why = not_unicast(*ip)) {
            return bad(fmt::format("is {}, not the address of a BMC", *why));
        }
        canonical = (ip->family == AF_INET6 && port) ? "[" + ip->text + "]" : ip->text;
    } else {
        // Not an IP address: a DNS name, which has neither brackets nor colons.
        const bool plain = !bracketed && host.find(':') == std::string_view::npos;
        if (plain && std::all_of(host.begin(), host.end(), [](char c) { return is_digit(c) || c == '.'; })) {
            return bad("is not a valid IPv4 address");
        }
        if (!plain || !is_dns_name(host)) {
            return bad(form);
        }
        canonical = std::string{host};
    }
    if (port) {
        canonical += ":" + std::to_string(*port);
    }
    return canonical;
}

bool printable_ascii(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
}

/// Checks the personality and subfunctions; returns the functions, main function first.
tl::expected<std::vector<role>, std::string> host_functions(const api::add_host_request& in) {
    const auto personality = parse_role(in.personality);
    if (!personality) {
        if (in.personality.empty()) {
            return tl::make_unexpected(
                std::string{"personality is required (controller, worker or storage)"});
        }
        return tl::make_unexpected(
            fmt::format("personality {} is not one of controller, worker or storage", shown(in.personality)));
    }
    std::vector<role> functions{*personality};
    std::vector<role> listed;
    for (const auto& text : in.subfunctions) {
        const auto r = parse_role(text);
        if (!r) {
            return tl::make_unexpected(fmt::format(
                "subfunctions entry {} is not a function (controller, worker or storage)", shown(text)));
        }
        if (std::find(listed.begin(), listed.end(), *r) != listed.end()) {
            return tl::make_unexpected(fmt::format("subfunctions lists {} twice", shown(text)));
        }
        listed.push_back(*r);
        if (*r == *personality) {
            continue;
        }
        if (*personality != role::controller) {
            return tl::make_unexpected(fmt::format(
                "subfunctions entry {} is not allowed on a {}: only a controller can have a subfunction "
                "(worker, on an all-in-one controller)",
                shown(text), to_string(*personality)));
        }
        if (*r != role::worker) {
            return tl::make_unexpected(fmt::format(
                "subfunctions entry {} is not allowed: the only subfunction of a controller is 'worker'",
                shown(text)));
        }
        functions.push_back(*r);
    }
    return functions;
}

tl::expected<bmc_spec, std::string> host_bmc(const api::add_host_request& in) {
    bmc_spec bmc;
    if (in.bmc_type.empty() || in.bmc_type == "none") {
        if (!in.bmc_address.empty()) {
            return tl::make_unexpected(
                fmt::format("bmc_address {} is given but bmc_type is 'none'", shown(in.bmc_address)));
        }
        if (!in.bmc_username.empty()) {
            return tl::make_unexpected(
                fmt::format("bmc_username {} is given but bmc_type is 'none'", shown(in.bmc_username)));
        }
        if (!in.bmc_password.empty()) {
            return tl::make_unexpected(std::string{"bmc_password is given but bmc_type is 'none'"});
        }
        if (in.bmc_insecure) {
            return tl::make_unexpected(std::string{"bmc_insecure is given but bmc_type is 'none'"});
        }
        return bmc;
    }
    if (in.bmc_type != "redfish" && in.bmc_type != "ipmi" && in.bmc_type != "auto") {
        return tl::make_unexpected(
            fmt::format("bmc_type {} is not one of none, redfish, ipmi or auto", shown(in.bmc_type)));
    }
    if (in.bmc_insecure && in.bmc_type == "ipmi") {
        return tl::make_unexpected(
            std::string{"bmc_insecure applies to Redfish BMCs (bmc_type redfish or auto)"});
    }
    bmc.type = in.bmc_type;
    bmc.verify_tls = !in.bmc_insecure;
    if (in.bmc_address.empty()) {
        return tl::make_unexpected(fmt::format("bmc_address is required when bmc_type is '{}'", bmc.type));
    }
    auto address = bmc_address(in.bmc_address);
    if (!address) {
        return tl::make_unexpected(std::move(address.error()));
    }
    bmc.address = std::move(*address);
    if (in.bmc_username.empty()) {
        return tl::make_unexpected(fmt::format("bmc_username is required when bmc_type is '{}'", bmc.type));
    }
    if (in.bmc_username.size() > max_username || !printable_ascii(in.bmc_username)) {
        return tl::make_unexpected(fmt::format("bmc_username {} is not 1 to {} printable ASCII characters",
                                               shown(in.bmc_username), max_username));
    }
    bmc.username = in.bmc_username;
    // The password is never quoted: only its length and the kind of problem are told.
    if (in.bmc_password.empty()) {
        return tl::make_unexpected(fmt::format("bmc_password is required when bmc_type is '{}'", bmc.type));
    }
    if (in.bmc_password.size() > max_password) {
        return tl::make_unexpected(fmt::format("bmc_password is {} bytes long, more than the {} allowed",
                                               in.bmc_password.size(), max_password));
    }
    if (in.bmc_password.find_first_of(std::string_view{"\0\n", 2}) != std::string::npos) {
        return tl::make_unexpected(std::string{"bmc_password contains a NUL or newline character"});
    }
    return bmc;
}

}  // namespace

bool host_spec::has_worker_subfunction() const {
    return personality == role::controller &&
           std::find(functions.begin(), functions.end(), role::worker) != functions.end();
}

tl::expected<host_spec, std::string> validate_host(const api::add_host_request& in) {
    host_spec spec;
    if (in.name.empty()) {
        return tl::make_unexpected(
            std::string{"name is required (a host name of 1 to 63 letters, digits, '-' and '.')"});
    }
    if (!net::is_valid_sender(in.name)) {
        return tl::make_unexpected(fmt::format(
            "name {} is not a valid host name (1 to 63 letters, digits, '-' and '.')", shown(in.name)));
    }
    spec.name = in.name;

    auto functions = host_functions(in);
    if (!functions) {
        return tl::make_unexpected(std::move(functions.error()));
    }
    spec.functions = std::move(*functions);
    spec.personality = spec.functions.front();

    if (in.mgmt_ip.empty()) {
        return tl::make_unexpected(std::string{"mgmt_ip is required (a numeric IPv4 or IPv6 address)"});
    }
    auto mgmt = host_address("mgmt_ip", in.mgmt_ip);
    if (!mgmt) {
        return tl::make_unexpected(std::move(mgmt.error()));
    }
    spec.mgmt_ip = std::move(*mgmt);
    if (!in.cluster_ip.empty()) {
        auto cluster = host_address("cluster_ip", in.cluster_ip);
        if (!cluster) {
            return tl::make_unexpected(std::move(cluster.error()));
        }
        if (*cluster == spec.mgmt_ip) {
            return tl::make_unexpected(fmt::format("cluster_ip {} is the same address as mgmt_ip {}",
                                                   shown(in.cluster_ip), shown(in.mgmt_ip)));
        }
        spec.cluster_ip = std::move(*cluster);
    }

    auto bmc = host_bmc(in);
    if (!bmc) {
        return tl::make_unexpected(std::move(bmc.error()));
    }
    spec.bmc = std::move(*bmc);
    return spec;
}

tl::expected<bmc_change, std::string> modify_bmc(const bmc_spec& current, const std::string& password,
                                                 const api::modify_host_request& patch) {
    const bool had_bmc = current.type != "none" && !current.type.empty();
    api::add_host_request merged;
    merged.bmc_type = patch.bmc_type.value_or(current.type);
    const bool has_bmc = merged.bmc_type != "none" && !merged.bmc_type.empty();
    // Switching the BMC off keeps nothing; a BMC keeps what it had unless told otherwise (a new type too:
    // a board that moved from IPMI to Redfish has the same address and account).
    const bool keep = has_bmc && had_bmc;
    merged.bmc_address = patch.bmc_address.value_or(keep ? current.address : std::string{});
    merged.bmc_username = patch.bmc_username.value_or(keep ? current.username : std::string{});
    merged.bmc_password = patch.bmc_password.value_or(keep ? password : std::string{});
    const bool redfish = merged.bmc_type == "redfish" || merged.bmc_type == "auto";
    merged.bmc_insecure = patch.bmc_insecure.value_or(keep && redfish && !current.verify_tls);
    auto bmc = host_bmc(merged);
    if (!bmc) {
        return tl::make_unexpected(std::move(bmc.error()));
    }
    return bmc_change{std::move(*bmc), std::move(merged.bmc_password)};
}

std::string to_string(const std::vector<role>& functions) {
    std::string out;
    for (const auto r : functions) {
        if (!out.empty()) {
            out += ',';
        }
        out += to_string(r);
    }
    return out;
}

std::optional<std::vector<role>> parse_functions(std::string_view text) {
    std::vector<role> out;
    for (;;) {
        const auto comma = text.find(',');
        const auto r = parse_role(text.substr(0, comma));
        if (!r) {
            return std::nullopt;
        }
        out.push_back(*r);
        if (comma == std::string_view::npos) {
            return out;
        }
        text.remove_prefix(comma + 1);
    }
}

std::optional<std::string> canonical_ip(std::string_view text) {
    auto ip = parse_ip(text);
    if (!ip) {
        return std::nullopt;
    }
    return std::move(ip->text);
}

}  // namespace mtce::fleet
