#include "heartbeat/monitor.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace mtce::heartbeat {

namespace {

constexpr auto drop_log_interval = std::chrono::seconds{10};

constexpr std::size_t index(network n) noexcept {
    return static_cast<std::size_t>(n);
}

constexpr std::array<network, network_count> networks{network::mgmt, network::cluster};

}  // namespace

monitor::monitor(const heartbeat_config& hb, net::wire_sender& wire,
                 std::array<bool, network_count> on_network, std::uint64_t nonce)
    : ledger_{hb},
      wire_{wire},
      on_network_{on_network},
      period_length_{std::chrono::milliseconds{hb.period_ms}},
      nonce_{nonce} {}

std::uint32_t monitor::add_host(const monitored_host& h) {
    if (!net::is_valid_sender(h.name)) {
        throw std::invalid_argument{fmt::format("'{}' is not a valid host name", h.name)};
    }
    if (by_name_.count(h.name) != 0) {
        throw std::invalid_argument{fmt::format("host '{}' is already monitored", h.name)};
    }
    host_entry e;
    e.name = h.name;
    e.personality = h.personality;
    e.address_text = {h.mgmt_ip, h.cluster_ip};
    for (auto net : networks) {
        const auto& text = e.address_text[index(net)];
        if (text.empty()) {
            continue;
        }
        std::error_code ec;
        e.address[index(net)] = asio::ip::make_address(text, ec);
        if (ec) {
            throw std::invalid_argument{fmt::format("host '{}': '{}' is not an IP address", h.name, text)};
        }
    }
    e.in_use = true;
    const auto slot = ledger_.add_host();
    const bool appended = slot >= hosts_.size();
    if (appended) {
        hosts_.resize(slot + 1);
    }
    hosts_[slot] = std::move(e);
    by_name_.emplace(h.name, slot);
    for (auto net : networks) {
        const bool monitored = on_network(net) && !hosts_[slot].address_text[index(net)].empty();
        ledger_.set_monitored(slot, net, monitored);
        // A new last slot keeps the targets in slot order by appending: adding N hosts stays O(N).
        if (appended && monitored) {
            targets_[index(net)].push_back(slot);
        }
    }
    if (!appended) {
        rebuild_targets();  // a reused slot belongs in the middle
    }
    return slot;
}

bool monitor::remove_host(std::string_view name) {
    const auto it = by_name_.find(name);
    if (it == by_name_.end()) {
        return false;
    }
    const auto slot = it->second;
    ledger_.remove_host(slot);
    hosts_[slot] = host_entry{};  // its replay states and teaching with it
    by_name_.erase(it);
    rebuild_targets();
    return true;
}

void monitor::rebuild_targets() {
    for (auto net : networks) {
        auto& t = targets_[index(net)];
        t.clear();
        for (std::uint32_t slot = 0; slot < hosts_.size(); ++slot) {
            if (hosts_[slot].in_use &&
                ledger_.status(slot, net).value_or(net_status{}).state != hb_state::unmonitored) {
                t.push_back(slot);
            }
        }
    }
}

const std::vector<std::uint32_t>& monitor::targets(network net) const {
    return targets_[index(net)];
}

std::uint64_t monitor::begin_period(time_point now) {
    ++period_;
    ledger_.begin_period(period_, now);
    return period_;
}

std::span<const std::byte> monitor::request(const net::pulse_request& r, std::span<std::byte> out) {
    std::array<std::byte, net::max_payload_size> payload{};
    const auto size = net::encode_payload(r, payload);
    if (!size) {
        throw std::logic_error{
            fmt::format("cannot encode a pulse request: {}", net::to_string(size.error()))};
    }
    auto datagram = wire_.encode(net::message_type::pulse_request, std::span{payload}.first(*size), out);
    return datagram;
}

std::span<const std::byte> monitor::unicast_request(network net, std::uint32_t slot,
                                                    std::span<std::byte> out) {
    auto datagram = request({period_, nonce_, slot + 1, {}, {}}, out);
    ++counters_[index(net)].requests_sent;
    return datagram;
}

std::optional<std::uint32_t> monitor::next_to_teach(network net) {
    auto& queue = teach_[index(net)];
    while (!queue.empty()) {
        const auto slot = queue.back();
        // An entry whose host left (or left and came back) since it was queued is dropped.
        if (hosts_[slot].in_use && hosts_[slot].replies[index(net)].teach_queued) {
            return slot;
        }
        queue.pop_back();
    }
    return std::nullopt;
}

void monitor::taught(network net) {
    auto& queue = teach_[index(net)];
    auto& r = hosts_[queue.back()].replies[index(net)];
    queue.pop_back();
    r.teach_queued = false;
    r.taught_in = period_;
    if (r.teach_attempts < std::numeric_limits<std::uint8_t>::max()) {
        ++r.teach_attempts;
    }
}

std::span<const std::byte> monitor::multicast_request(network net, std::span<std::byte> out) {
    net::pulse_request r{period_, nonce_, 0, {}, {}};
    if (const auto slot = next_to_teach(net)) {
        r.host_index = *slot + 1;
        r.target = hosts_[*slot].name;
        taught(net);
    }
    // Then as many more as the datagram holds (about 80 names of ten characters).
    std::size_t used = 0;
    while (const auto slot = next_to_teach(net)) {
        const auto next = net::append_teaching(teachings_, used, {*slot + 1, hosts_[*slot].name});
        if (!next) {
            break;
        }
        used = *next;
        taught(net);
    }
    r.teachings = std::span{teachings_}.first(used);
    auto datagram = request(r, out);
    ++counters_[index(net)].requests_sent;
    return datagram;
}

void monitor::echoed_index(std::uint32_t slot, network net, std::uint32_t echoed, std::uint64_t period) {
    auto& r = hosts_[slot].replies[index(net)];
    if (echoed == slot + 1) {
        r.teach_attempts = 0;
        return;
    }
    // A reply to the request that taught the host, or to an earlier one, cannot know yet; after that, wait
    // 1, 2, 4 ... 64 periods between attempts (a request can be lost, or a host not understand the list).
    if (r.teach_queued) {
        return;
    }
    if (r.teach_attempts != 0 &&
        period < r.taught_in + (std::uint64_t{1} << std::min(r.teach_attempts - 1, 6))) {
        return;
    }
    r.teach_queued = true;
    teach_[index(net)].push_back(slot);
}

std::optional<std::uint32_t> monitor::slot_of(std::string_view sender, std::uint32_t echoed) const {
    if (echoed != 0 && echoed <= hosts_.size()) {
        const auto& e = hosts_[echoed - 1];
        if (e.in_use && e.name == sender) {
            return echoed - 1;
        }
    }
    const auto it = by_name_.find(sender);
    if (it == by_name_.end()) {
        return std::nullopt;
    }
    return it->second;
}

void monitor::on_datagram(network net, std::span<const std::byte> data) {
    auto& c = counters_[index(net)];
    const auto message = wire_.codec().decode(data, c.rejected);
    if (!message) {
        return;
    }
    if (message->type != net::message_type::pulse_response) {
        ++c.not_a_response;
        return;
    }
    const auto response = net::parse_pulse_response(message->payload);
    if (!response) {
        c.rejected.add(response.error());
        return;
    }
    const auto slot = slot_of(message->sender, response->host_index);
    if (!slot) {
        c.rejected.add(net::reject_reason::unknown_sender);
        return;
    }
    auto& replay = hosts_[*slot].replies[index(net)].replay;
    if (const auto rejected = replay.check(*message)) {
        c.rejected.add(*rejected);
        return;
    }
    // Fresh to this run's replay state, which starts empty: only the nonce tells an answer to an earlier run.
    if (response->nonce != nonce_) {
        c.rejected.add(net::reject_reason::wrong_nonce);
        return;
    }
    replay.accept(*message);
    ++c.replies;
    echoed_index(*slot, net, response->host_index, response->period);
    ledger_.on_response(*slot, net, response->period);
}

period_summary monitor::end_period(time_point now) {
    events_.clear();
    const auto summary = ledger_.end_period(now, events_);
    // Copies of the names, so that a listener that adds or removes hosts cannot pull them away mid-batch.
    if (event_hosts_.size() < events_.size()) {
        event_hosts_.resize(events_.size());
    }
    batch_.clear();
    for (std::size_t i = 0; i < events_.size(); ++i) {
        const auto& e = events_[i];
        event_hosts_[i] = hosts_[e.host].name;
        ++counters_[index(e.net)].events[static_cast<std::size_t>(e.kind)];
        const auto level = e.kind == hb_event_kind::loss ? spdlog::level::warn : spdlog::level::info;
        spdlog::log(level, "heartbeat event: host={} network={} event={} misses={}", event_hosts_[i],
                    to_string(e.net), to_string(e.kind), e.misses);
        batch_.push_back({event_hosts_[i], e});
    }
    if (summary.voided) {
        log_late(summary, now);
    }
    log_drops(now);
    if (summary.open && listener_) {
        listener_(period_, batch_);
    }
    return summary;
}

void monitor::log_late(const period_summary& s, time_point now) {
    if (now - last_late_log_ < drop_log_interval) {
        return;
    }
    spdlog::warn(
        "heartbeat: this controller was late: period {} counted no misses ({} late period(s) so far); "
        "answers still counted: mgmt {}/{}, cluster {}/{}",
        period_, ledger_.late_periods(), s.answered[0], s.expected[0], s.answered[1], s.expected[1]);
    last_late_log_ = now;
}

void monitor::log_drops(time_point now) {
    std::uint64_t total = 0;
    for (const auto& c : counters_) {
        total += c.dropped();
    }
    if (total == logged_drops_ || now - last_drop_log_ < drop_log_interval) {
        return;
    }
    for (auto net : networks) {
        const auto& c = counters_[index(net)];
        auto detail = net::describe(c.rejected);
        if (c.not_a_response != 0) {
            detail += fmt::format(" not_a_response={}", c.not_a_response);
        }
        if (!detail.empty()) {
            spdlog::warn("heartbeat ({}): datagrams dropped so far:{}", to_string(net), detail);
        }
    }
    logged_drops_ = total;
    last_drop_log_ = now;
}

std::optional<monitored_view> monitor::find(std::string_view name) const {
    const auto it = by_name_.find(name);
    if (it == by_name_.end()) {
        return std::nullopt;
    }
    const auto& e = hosts_[it->second];
    monitored_view v{e.name, e.personality, {e.address_text[0], e.address_text[1]}, {}};
    for (auto net : networks) {
        v.status[index(net)] = ledger_.status(it->second, net).value_or(net_status{});
    }
    return v;
}

std::vector<monitored_view> monitor::hosts() const {
    std::vector<monitored_view> out;
    out.reserve(by_name_.size());
    for (const auto& e : hosts_) {
        if (e.in_use) {
            out.push_back(*find(e.name));
        }
    }
    return out;
}

}  // namespace mtce::heartbeat
