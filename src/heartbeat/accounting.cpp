#include "heartbeat/accounting.hpp"

#include <limits>
#include <stdexcept>
#include <string>

namespace mtce::heartbeat {

namespace {

// entry::flags. `answered` and `joining` live for one period; the level bits until cleared by answers.
constexpr std::uint8_t monitored_bit = 0x01;
constexpr std::uint8_t joining_bit = 0x02;  // monitoring began mid-period: the host was not asked yet
constexpr std::uint8_t answered_bit = 0x04;
constexpr std::uint8_t minor_bit = 0x08;
constexpr std::uint8_t degrade_bit = 0x10;
constexpr std::uint8_t failed_bit = 0x20;
constexpr std::uint8_t level_bits = minor_bit | degrade_bit | failed_bit;

constexpr std::uint16_t max_answers = std::numeric_limits<std::uint16_t>::max();
constexpr std::uint32_t max_misses = std::numeric_limits<std::uint32_t>::max();

constexpr std::size_t index(network n) noexcept {
    return static_cast<std::size_t>(n);
}

}  // namespace

std::string_view to_string(network n) noexcept {
    switch (n) {
    case network::mgmt:
        return "mgmt";
    case network::cluster:
        return "cluster";
    }
    return "unknown";
}

std::string_view to_string(hb_event_kind k) noexcept {
    switch (k) {
    case hb_event_kind::minor_set:
        return "minor_set";
    case hb_event_kind::minor_clear:
        return "minor_clear";
    case hb_event_kind::degrade_set:
        return "degrade_set";
    case hb_event_kind::degrade_clear:
        return "degrade_clear";
    case hb_event_kind::loss:
        return "loss";
    case hb_event_kind::recovered:
        return "recovered";
    }
    return "unknown";
}

std::string_view to_string(hb_state s) noexcept {
    switch (s) {
    case hb_state::unmonitored:
        return "unmonitored";
    case hb_state::ok:
        return "ok";
    case hb_state::minor:
        return "minor";
    case hb_state::degraded:
        return "degraded";
    case hb_state::failed:
        return "failed";
    }
    return "unknown";
}

std::string_view thresholds::invalid_reason() const noexcept {
    if (minor < 1) {
        return "minor threshold must be at least 1";
    }
    if (!(minor < degrade && degrade < failure)) {
        return "thresholds must rise: minor < degrade < failure";
    }
    if (recovery < 1 || recovery > max_answers) {
        return "recovery threshold must be between 1 and 65535";
    }
    return {};
}

accounting::accounting(const thresholds& t, std::chrono::milliseconds period) : limits_{t}, period_{period} {
    if (const auto why = t.invalid_reason(); !why.empty()) {
        throw std::invalid_argument{std::string{"heartbeat accounting: "} + std::string{why}};
    }
    if (period.count() <= 0) {
        throw std::invalid_argument{"heartbeat accounting: the period must be positive"};
    }
}

void accounting::set_period(std::chrono::milliseconds period) {
    if (period.count() <= 0) {
        throw std::invalid_argument{"heartbeat accounting: the period must be positive"};
    }
    period_ = period;
}

accounting::accounting(const heartbeat_config& c)
    : accounting{thresholds::from(c), std::chrono::milliseconds{c.period_ms}} {}

void accounting::reserve(std::size_t hosts) {
    for (auto& table : nets_) {
        table.reserve(hosts);
    }
    used_.reserve(hosts);
    free_.reserve(hosts);
}

std::uint32_t accounting::add_host() {
    std::uint32_t slot = 0;
    if (!free_.empty()) {
        slot = free_.back();
        free_.pop_back();
    } else {
        if (used_.size() >= std::numeric_limits<std::uint32_t>::max()) {
            throw std::length_error{"heartbeat accounting: no free host slot"};
        }
        slot = static_cast<std::uint32_t>(used_.size());
        for (auto& table : nets_) {
            table.emplace_back();
        }
        used_.push_back(0);
    }
    // remove_host already reset the entries; a fresh slot is value-initialised.
    used_[slot] = 1;
    ++host_count_;
    return slot;
}

bool accounting::remove_host(std::uint32_t slot) {
    if (!in_use(slot)) {
        return false;
    }
    // Reset now so that the next add_host hands out a clean slot and end_period skips it meanwhile.
    for (auto& table : nets_) {
        table[slot] = entry{};
    }
    used_[slot] = 0;
    free_.push_back(slot);
    --host_count_;
    return true;
}

bool accounting::set_monitored(std::uint32_t slot, network net, bool on) {
    if (!in_use(slot)) {
        return false;
    }
    entry& e = nets_[index(net)][slot];
    if (on) {
        if ((e.flags & monitored_bit) == 0) {
            e = entry{};
            e.flags = monitored_bit | (open_ ? joining_bit : 0);
        }
    } else {
        e = entry{};
    }
    return true;
}

void accounting::abandon_period() {
    // Rare (the caller skipped end_period), so an extra pass is acceptable here.
    constexpr auto period_bits = static_cast<std::uint8_t>(answered_bit | joining_bit);
    for (auto& table : nets_) {
        for (auto& e : table) {
            e.flags = static_cast<std::uint8_t>(e.flags & ~period_bits);
        }
    }
    ++late_periods_;
    open_ = false;
}

void accounting::begin_period(std::uint64_t seq, time_point sent_at) {
    if (open_) {
        abandon_period();
    }
    open_ = true;
    seq_ = seq;
    sent_at_ = sent_at;
}

void accounting::requests_sent(time_point sent_at) noexcept {
    if (open_ && sent_at > sent_at_) {
        sent_at_ = sent_at;
    }
}

response_result accounting::on_response(std::uint32_t slot, network net, std::uint64_t seq) {
    if (!in_use(slot)) {
        ++responses_.unknown_host;
        return response_result::unknown_host;
    }
    entry& e = nets_[index(net)][slot];
    if ((e.flags & monitored_bit) == 0) {
        ++responses_.not_monitored;
        return response_result::not_monitored;
    }
    if (!open_ || seq != seq_) {
        ++responses_.wrong_period;
        return response_result::wrong_period;
    }
    if ((e.flags & answered_bit) != 0) {
        ++responses_.duplicate;
        return response_result::duplicate;
    }
    e.flags |= answered_bit;
    ++responses_.accepted;
    return response_result::accepted;
}

period_summary accounting::end_period(time_point now, std::vector<hb_event>& events) {
    period_summary summary;
    if (!open_) {
        return summary;
    }
    open_ = false;
    summary.open = true;

    // The hosts were given [sent_at, now) to answer. A much longer window means our own timer fired late
    // (stall, starvation) and replies may be sitting unread; a much shorter one means the request went
    // out late. Either way their silence says more about us than about them.
    const auto window = now - sent_at_;
    const auto half = period_ / 2;
    summary.voided = window > period_ + half || window < half;
    if (summary.voided) {
        ++late_periods_;
    }

    for (std::size_t n = 0; n < network_count; ++n) {
        const auto net = static_cast<network>(n);
        auto& table = nets_[n];
        std::uint32_t expected = 0;
        std::uint32_t answered = 0;
        const auto size = static_cast<std::uint32_t>(table.size());
        for (std::uint32_t slot = 0; slot < size; ++slot) {
            entry& e = table[slot];
            const std::uint8_t f = e.flags;
            if ((f & monitored_bit) == 0) {
                continue;  // also every free slot: remove_host cleared its flags
            }
            if ((f & joining_bit) != 0) {
                e.flags = static_cast<std::uint8_t>(f & ~(joining_bit | answered_bit));
                continue;
            }
            ++expected;
            if ((f & answered_bit) != 0) {
                ++answered;
                e.flags = static_cast<std::uint8_t>(f & ~answered_bit);
                if ((f & level_bits) == 0 && e.misses == 0) {
                    // The common case at scale: a healthy host answered again.
                    if (e.answers < max_answers) {
                        ++e.answers;
                    }
                } else {
                    account_answer(slot, net, e, events);
                }
            } else if (!summary.voided) {
                account_miss(slot, net, e, events);
            }
        }
        summary.expected[n] = expected;
        summary.answered[n] = answered;
    }
    return summary;
}

void accounting::account_miss(std::uint32_t slot, network net, entry& e,
                              std::vector<hb_event>& events) const {
    if (e.misses < max_misses) {
        ++e.misses;
    }
    e.answers = 0;  // a miss restarts a recovery run
    // Level bits, not equality with the count, decide: each edge is reported once per outage.
    if (net == network::mgmt && (e.flags & minor_bit) == 0 && e.misses >= limits_.minor) {
        e.flags |= minor_bit;
        events.push_back({slot, net, hb_event_kind::minor_set, e.misses});
    }
    if ((e.flags & degrade_bit) == 0 && e.misses >= limits_.degrade) {
        e.flags |= degrade_bit;
        events.push_back({slot, net, hb_event_kind::degrade_set, e.misses});
    }
    if ((e.flags & failed_bit) == 0 && e.misses >= limits_.failure) {
        e.flags |= failed_bit;
        events.push_back({slot, net, hb_event_kind::loss, e.misses});
    }
}

void accounting::account_answer(std::uint32_t slot, network net, entry& e,
                                std::vector<hb_event>& events) const {
    if (e.answers < max_answers) {
        ++e.answers;
    }
    const std::uint32_t misses = e.misses;
    if ((e.flags & failed_bit) != 0) {
        // After a loss one answer proves little (a flapping link); keep everything until a full run.
        if (e.answers < limits_.recovery) {
            return;
        }
        e.flags = static_cast<std::uint8_t>(e.flags & ~failed_bit);
        events.push_back({slot, net, hb_event_kind::recovered, misses});
    }
    e.misses = 0;
    if ((e.flags & degrade_bit) != 0) {
        e.flags = static_cast<std::uint8_t>(e.flags & ~degrade_bit);
        events.push_back({slot, net, hb_event_kind::degrade_clear, misses});
    }
    if ((e.flags & minor_bit) != 0) {
        e.flags = static_cast<std::uint8_t>(e.flags & ~minor_bit);
        events.push_back({slot, net, hb_event_kind::minor_clear, misses});
    }
}

std::optional<net_status> accounting::status(std::uint32_t slot, network net) const {
    if (!in_use(slot)) {
        return std::nullopt;
    }
    const entry& e = nets_[index(net)][slot];
    hb_state s = hb_state::ok;
    if ((e.flags & monitored_bit) == 0) {
        s = hb_state::unmonitored;
    } else if ((e.flags & failed_bit) != 0) {
        s = hb_state::failed;
    } else if ((e.flags & degrade_bit) != 0) {
        s = hb_state::degraded;
    } else if ((e.flags & minor_bit) != 0) {
        s = hb_state::minor;
    }
    return net_status{s, e.misses, e.answers};
}

bool accounting::in_use(std::uint32_t slot) const noexcept {
    return slot < used_.size() && used_[slot] != 0;
}

}  // namespace mtce::heartbeat
