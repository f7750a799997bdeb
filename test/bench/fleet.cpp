#include "fleet.hpp"

#include <algorithm>
#include <charconv>
#include <stdexcept>

#include <fmt/format.h>

namespace mtce::bench {

namespace {

constexpr std::size_t max_hosts = 100000;  // five-digit names

std::size_t at(network_id n) noexcept {
    return static_cast<std::size_t>(n);
}

template <typename T>
std::optional<T> to_number(std::string_view s) {
    T v{};
    if (s.empty()) {
        return std::nullopt;
    }
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || end != s.data() + s.size()) {
        return std::nullopt;
    }
    return v;
}

/// Splits off the first blank-separated word of `rest`.
std::string_view next_word(std::string_view& rest) {
    constexpr std::string_view blanks = " \t\r\n";
    const auto first = rest.find_first_not_of(blanks);
    if (first == std::string_view::npos) {
        rest = {};
        return {};
    }
    rest.remove_prefix(first);
    const auto end = std::min(rest.find_first_of(blanks), rest.size());
    const auto word = rest.substr(0, end);
    rest.remove_prefix(end);
    return word;
}

std::string_view trim(std::string_view s) {
    constexpr std::string_view blanks = " \t\r\n";
    const auto first = s.find_first_not_of(blanks);
    if (first == std::string_view::npos) {
        return {};
    }
    return s.substr(first, s.find_last_not_of(blanks) - first + 1);
}

std::optional<verb> parse_verb(std::string_view w) {
    static constexpr std::array<std::pair<std::string_view, verb>, 8> verbs{{
        {"kill", verb::kill},
        {"freeze", verb::freeze},
        {"thaw", verb::thaw},
        {"drop", verb::drop},
        {"delay", verb::delay},
        {"net", verb::net},
        {"stats", verb::stats},
        {"quit", verb::quit},
    }};
    for (const auto& [name, v] : verbs) {
        if (w == name) {
            return v;
        }
    }
    return std::nullopt;
}

/// Reads the words a verb takes before its selector into `c`.
tl::expected<void, std::string> parse_arguments(command& c, std::string_view& rest) {
    if (c.what == verb::drop || c.what == verb::delay) {
        const auto word = next_word(rest);
        const auto v = to_number<std::uint32_t>(word);
        if (!v) {
            return tl::unexpected(fmt::format("'{}' is not a number", word));
        }
        if (c.what == verb::drop && *v > 100) {
            return tl::unexpected(fmt::format("drop takes a percentage from 0 to 100, not {}", *v));
        }
        if (c.what == verb::delay && *v > 60000) {
            return tl::unexpected(fmt::format("delay takes 0 to 60000 ms, not {}", *v));
        }
        c.amount = *v;
    }
    if (c.what == verb::net) {
        const auto name = next_word(rest);
        const auto n = parse_network(name);
        if (!n) {
            return tl::unexpected(fmt::format("'{}' is not a network (mgmt or cluster)", name));
        }
        const auto state = next_word(rest);
        if (state != "up" && state != "down") {
            return tl::unexpected(fmt::format("'{}' is neither up nor down", state));
        }
        c.network = *n;
        c.up = state == "up";
    }
    return {};
}

}  // namespace

std::string_view to_string(network_id n) {
    return n == network_id::mgmt ? "mgmt" : "cluster";
}

std::optional<network_id> parse_network(std::string_view s) {
    if (s == "mgmt") {
        return network_id::mgmt;
    }
    if (s == "cluster") {
        return network_id::cluster;
    }
    return std::nullopt;
}

std::optional<ipv4> parse_ipv4(std::string_view s) {
    ipv4 a = 0;
    for (int i = 0; i < 4; ++i) {
        const auto dot = i < 3 ? s.find('.') : s.size();
        if (dot == std::string_view::npos) {
            return std::nullopt;
        }
        const auto part = to_number<unsigned>(s.substr(0, dot));
        if (!part || *part > 255 || dot > 3) {
            return std::nullopt;
        }
        a = (a << 8) | *part;
        s.remove_prefix(std::min(dot + 1, s.size()));
    }
    return a;
}

std::string format_ipv4(ipv4 a) {
    return fmt::format("{}.{}.{}.{}", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
}

tl::expected<command, std::string> parse_command(std::string_view line) {
    std::string_view rest = line;
    const auto word = next_word(rest);
    const auto v = parse_verb(word);
    if (!v) {
        return tl::unexpected(
            fmt::format("unknown command '{}' (kill, freeze, thaw, drop, delay, net, stats, quit)", word));
    }
    command c;
    c.what = *v;
    if (auto args = parse_arguments(c, rest); !args) {
        return tl::unexpected(args.error());
    }
    c.selector = std::string{trim(rest)};
    const bool takes_selector = c.what != verb::stats && c.what != verb::quit;
    if (takes_selector && c.selector.empty()) {
        return tl::unexpected(fmt::format("{} needs hosts: all, random K, 0-99, 3,7 or a name", word));
    }
    if (!takes_selector && !c.selector.empty()) {
        return tl::unexpected(fmt::format("{} takes no arguments", word));
    }
    return c;
}

// ---- fleet ----

fleet::fleet(fleet_options options, std::span<const std::byte> key)
    : options_{std::move(options)}, codec_{key}, rng_{options_.seed} {
    if (options_.hosts > max_hosts) {
        throw std::invalid_argument(fmt::format("at most {} hosts (five-digit names)", max_hosts));
    }
    for (std::size_t n = 0; n < network_count; ++n) {
        if (options_.base[n] > 0xffffffffU - options_.hosts - 1) {
            throw std::invalid_argument("the addresses of the hosts run past 255.255.255.255");
        }
    }
    hosts_.resize(options_.hosts);
    by_name_.reserve(options_.hosts);
    for (std::size_t i = 0; i < hosts_.size(); ++i) {
        auto& h = hosts_[i];
        h.name = fmt::format("{}{:05}", options_.prefix, i);
        if (!net::is_valid_sender(h.name)) {
            throw std::invalid_argument(fmt::format("'{}' is not a valid host name", h.name));
        }
        h.boot = net::parse_boot_id(options_.boot_tag + "/" + h.name);
        h.next_sequence = options_.first_sequence;
        by_name_.emplace(h.name, i);
    }
}

std::optional<std::size_t> fleet::host_at(network_id n, ipv4 address) const noexcept {
    const ipv4 first = options_.base[at(n)] + 1;
    if (address < first || address - first >= hosts_.size()) {
        return std::nullopt;
    }
    return address - first;
}

ipv4 fleet::address_of(network_id n, std::size_t i) const noexcept {
    return options_.base[at(n)] + 1 + static_cast<ipv4>(i);
}

bool fleet::answers(const sim_host& h, network_id n) const noexcept {
    return !h.faults.killed && !h.faults.frozen && !h.faults.down[at(n)];
}

std::optional<fleet::checked_request> fleet::check_request(network_id n, ipv4 source,
                                                           std::span<const std::byte> datagram) {
    auto& counters = counters_[at(n)];
    const auto message = codec_.decode(datagram, counters.rejected);
    if (!message) {
        return std::nullopt;
    }
    if (std::find(options_.controllers.begin(), options_.controllers.end(), source) ==
        options_.controllers.end()) {
        ++counters.unknown_source;
        return std::nullopt;
    }
    if (message->type != net::message_type::pulse_request) {
        ++counters.not_a_request;
        return std::nullopt;
    }
    const auto request = net::parse_pulse_request(message->payload);
    if (!request) {
        counters.rejected.add(request.error());
        return std::nullopt;
    }
    return checked_request{*message, *request};
}

std::optional<reply> fleet::answer(std::size_t index, network_id n, const checked_request& r) {
    auto& counters = counters_[at(n)];
    auto& h = hosts_[index];
    auto& guard = h.guards[at(n)];
    if (guard.check(r.message, counters.rejected)) {
        return std::nullopt;
    }
    guard.accept(r.message);
    if (const auto taught = net::taught_index(r.request, h.name)) {
        h.taught[at(n)] = *taught;
    }
    if (h.faults.drop_percent != 0 &&
        std::uniform_int_distribution<std::uint32_t>{0, 99}(rng_) < h.faults.drop_percent) {
        ++counters.dropped;
        return std::nullopt;
    }
    const auto datagram_out = respond(h, n, r.request);
    if (!datagram_out) {
        return std::nullopt;
    }
    ++counters.replies;
    if (h.faults.delay_ms != 0) {
        ++counters.delayed;
    }
    return reply{index, *datagram_out, std::chrono::milliseconds{h.faults.delay_ms}, r.request.period};
}

std::optional<reply> fleet::on_request(network_id n, ipv4 destination, ipv4 source,
                                       std::span<const std::byte> datagram) {
    auto& counters = counters_[at(n)];
    const auto index = options_.networks[at(n)] ? host_at(n, destination) : std::nullopt;
    if (!index) {
        ++counters.unknown_target;
        return std::nullopt;
    }
    ++counters.requests;
    // A crashed, frozen or cut-off host does not even read the request: nothing is learnt from it.
    if (!answers(hosts_[*index], n)) {
        ++counters.dropped;
        return std::nullopt;
    }
    const auto checked = check_request(n, source, datagram);
    if (!checked) {
        return std::nullopt;
    }
    return answer(*index, n, *checked);
}

std::size_t fleet::on_multicast_request(network_id n, ipv4 source, std::span<const std::byte> datagram,
                                        const std::function<void(const reply&)>& emit) {
    auto& counters = counters_[at(n)];
    if (!options_.networks[at(n)]) {
        ++counters.unknown_target;
        return 0;
    }
    const auto checked = check_request(n, source, datagram);
    if (!checked) {
        return 0;
    }
    std::size_t sent = 0;
    for (std::size_t i = 0; i < hosts_.size(); ++i) {
        ++counters.requests;
        // As for a unicast request: a crashed, frozen or cut-off host does not read it.
        if (!answers(hosts_[i], n)) {
            ++counters.dropped;
            continue;
        }
        if (const auto r = answer(i, n, *checked)) {
            emit(*r);
            ++sent;
        }
    }
    return sent;
}

std::optional<std::span<const std::byte>> fleet::respond(sim_host& h, network_id n,
                                                         const net::pulse_request& request) {
    std::uint32_t flags = net::pulse_flags::process_monitor_ok;
    if (options_.networks[at(network_id::cluster)]) {
        flags |= net::pulse_flags::cluster_network;
    }
    const net::pulse_response response{request.period, request.nonce, h.taught[at(n)], flags};
    std::array<std::byte, net::pulse_response_size> payload{};
    if (!net::encode_payload(response, payload)) {
        return std::nullopt;
    }
    const net::message_header header{net::message_type::pulse_response, h.name, h.boot, options_.boot_time,
                                     h.next_sequence++};
    const auto size = codec_.encode(header, payload, out_);
    if (!size) {
        return std::nullopt;
    }
    return std::span<const std::byte>{out_.data(), *size};
}

tl::expected<void, std::string> fleet::select_item(std::string_view item,
                                                   std::vector<std::size_t>& out) const {
    if (item == "all") {
        for (std::size_t i = 0; i < hosts_.size(); ++i) {
            out.push_back(i);
        }
        return {};
    }
    if (const auto named = by_name_.find(std::string{item}); named != by_name_.end()) {
        out.push_back(named->second);
        return {};
    }
    const auto dash = item.find('-');
    const auto first = to_number<std::size_t>(item.substr(0, dash));
    const auto last = dash == std::string_view::npos ? first : to_number<std::size_t>(item.substr(dash + 1));
    if (!first || !last) {
        return tl::unexpected(fmt::format("'{}' is no host name, index or range", item));
    }
    if (*first > *last || *last >= hosts_.size()) {
        return tl::unexpected(
            fmt::format("'{}' is not within the hosts 0-{}", item, hosts_.empty() ? 0 : hosts_.size() - 1));
    }
    for (std::size_t i = *first; i <= *last; ++i) {
        out.push_back(i);
    }
    return {};
}

tl::expected<std::vector<std::size_t>, std::string> fleet::select_random(std::string_view count) {
    const auto k = to_number<std::size_t>(trim(count));
    if (!k || *k == 0) {
        return tl::unexpected(fmt::format("random takes a positive count, not '{}'", trim(count)));
    }
    std::vector<std::size_t> alive;
    for (std::size_t i = 0; i < hosts_.size(); ++i) {
        if (!hosts_[i].faults.killed) {
            alive.push_back(i);
        }
    }
    if (*k > alive.size()) {
        return tl::unexpected(fmt::format("random {}: only {} hosts are not killed", *k, alive.size()));
    }
    std::vector<std::size_t> out;
    std::sample(alive.begin(), alive.end(), std::back_inserter(out), static_cast<std::ptrdiff_t>(*k), rng_);
    return out;
}

tl::expected<std::vector<std::size_t>, std::string> fleet::select(std::string_view selector) {
    selector = trim(selector);
    if (selector.empty()) {
        return tl::unexpected(std::string{"no hosts selected"});
    }
    if (selector.substr(0, 7) == "random " || selector.substr(0, 7) == "random\t") {
        return select_random(selector.substr(7));
    }
    std::vector<std::size_t> out;
    for (;;) {
        const auto comma = selector.find(',');
        const auto item = trim(selector.substr(0, comma));
        if (item.empty()) {
            return tl::unexpected(std::string{"empty item in the host list"});
        }
        if (auto r = select_item(item, out); !r) {
            return tl::unexpected(r.error());
        }
        if (comma == std::string_view::npos) {
            break;
        }
        selector.remove_prefix(comma + 1);
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

tl::expected<std::vector<std::size_t>, std::string> fleet::apply(const command& c) {
    if (c.what == verb::stats || c.what == verb::quit) {
        return std::vector<std::size_t>{};
    }
    if (c.what == verb::net && !options_.networks[at(c.network)]) {
        return tl::unexpected(fmt::format("the hosts are not on the {} network", to_string(c.network)));
    }
    auto selected = select(c.selector);
    if (!selected) {
        return selected;
    }
    for (const auto i : *selected) {
        auto& f = hosts_[i].faults;
        switch (c.what) {
        case verb::kill:
            killed_ += f.killed ? 0 : 1;
            f.killed = true;
            break;
        case verb::freeze:
            f.frozen = true;
            break;
        case verb::thaw:
            f.frozen = false;
            break;
        case verb::drop:
            f.drop_percent = c.amount;
            break;
        case verb::delay:
            f.delay_ms = c.amount;
            break;
        case verb::net:
            f.down[at(c.network)] = !c.up;
            break;
        case verb::stats:
        case verb::quit:
            break;
        }
    }
    return selected;
}

}  // namespace mtce::bench
