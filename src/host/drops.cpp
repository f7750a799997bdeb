#include "host/drops.hpp"

#include <asio/cancellation_state.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace mtce::host {

drop_counts to_drop_counts(const net::reject_counters& rejected) {
    drop_counts out;
    rejected.for_each([&](net::reject_reason r, std::uint64_t n) { add_drops(out, net::to_string(r), n); });
    return out;
}

void add_drops(drop_counts& counts, std::string_view reason, std::uint64_t count) {
    if (count == 0) {
        return;
    }
    auto it = counts.find(reason);
    if (it == counts.end()) {
        counts.emplace(std::string{reason}, count);
    } else {
        it->second += count;
    }
}

drop_counts sum(drop_counts a, const drop_counts& b) {
    for (const auto& [reason, n] : b) {
        add_drops(a, reason, n);
    }
    return a;
}

std::uint64_t total(const drop_counts& counts) {
    std::uint64_t n = 0;
    for (const auto& entry : counts) {
        n += entry.second;
    }
    return n;
}

std::string describe(const drop_counts& counts) {
    std::string out;
    for (const auto& [reason, n] : counts) {
        out += fmt::format(" {}={}", reason, n);
    }
    return out;
}

std::optional<drop_counts> drop_reporter::on_drop(clock_type::time_point now, drop_counts totals) {
    totals_ = std::move(totals);
    if (last_line_ && now - *last_line_ < interval_) {
        return std::nullopt;  // held for the summary at due()
    }
    return flush(now);
}

std::optional<drop_reporter::clock_type::time_point> drop_reporter::due() const {
    if (totals_ == logged_) {
        return std::nullopt;
    }
    if (!last_line_) {
        return clock_type::time_point::min();
    }
    return *last_line_ + interval_;
}

std::optional<drop_counts> drop_reporter::flush(clock_type::time_point now) {
    if (totals_ == logged_) {
        return std::nullopt;
    }
    auto counts = since_last_line();
    logged_ = totals_;
    last_line_ = now;
    return counts;
}

drop_counts drop_reporter::since_last_line() const {
    drop_counts out;
    for (const auto& [reason, n] : totals_) {
        const auto before = logged_.find(reason);
        add_drops(out, reason, before == logged_.end() ? n : n - before->second);
    }
    return out;
}

drop_log::drop_log(std::string what, std::chrono::steady_clock::duration interval,
                   std::function<drop_counts()> read_totals)
    : what_{std::move(what)}, reporter_{interval}, read_totals_{std::move(read_totals)} {}

void drop_log::on_drop() {
    if (reporter_.logs_at_once(std::chrono::steady_clock::now())) {
        held_ = false;
        log_line("");
    } else if (!held_) {
        held_ = true;
        if (wake_) {
            wake_->cancel();  // run() waits for no summary yet: it must wait for this one
        }
    }
}

void drop_log::log_line(std::string_view when) {
    const auto now = std::chrono::steady_clock::now();
    auto counts = reporter_.on_drop(now, read_totals_());
    if (!counts) {
        counts = reporter_.flush(now);  // within the interval: at due time, or at shutdown
    }
    if (counts) {
        spdlog::warn("{}: {} datagram(s) dropped{}:{} ({} since start)", what_, total(*counts), when,
                     describe(*counts), total(reporter_.totals()));
    }
}

asio::awaitable<void> drop_log::run(task_set& tasks) {
    using namespace asio::experimental::awaitable_operators;
    constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);
    wake_.emplace(co_await asio::this_coro::executor);
    for (;;) {
        wake_->expires_at(held_ ? reporter_.next_line() : std::chrono::steady_clock::time_point::max());
        auto ended = co_await (wake_->async_wait(use_tuple) || tasks.until_stop());
        if (ended.index() == 1) {
            break;
        }
        // A cancelled wait is also how on_drop() wakes us; only the coroutine's own state tells them apart.
        asio::cancellation_state state = co_await asio::this_coro::cancellation_state;
        if (state.cancelled() != asio::cancellation_type::none) {
            break;
        }
        if (held_ && reporter_.next_line() <= std::chrono::steady_clock::now()) {
            held_ = false;
            log_line("");
        }
    }
    wake_.reset();
    held_ = false;
    log_line(" (before stopping)");
}

}  // namespace mtce::host
