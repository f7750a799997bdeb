#include "cli/log_commands.hpp"

#include <signal.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <ctime>

#include <fmt/format.h>

#include "api/requests.hpp"
#include "cli/cli.hpp"
#include "cli/event_view.hpp"

namespace mtce::cli {

namespace {

using nlohmann::json;

/// The id of an event, if it is a whole number.
std::optional<std::uint64_t> id_of(const json& event) {
    if (!event.is_object()) {
        return std::nullopt;
    }
    const auto it = event.find("id");
    if (it == event.end() || !it->is_number_unsigned()) {
        return std::nullopt;
    }
    return it->get<std::uint64_t>();
}

/// Every event after `since`, page after page. On failure, the answer that failed.
struct fetched {
    api_session::answer failed;  ///< !failed.reached or a non-2xx status, when `ok` is false
    bool ok = false;
    json events = json::array();
};

fetched events_after(const api_session& session, std::uint64_t since) {
    fetched out;
    for (;;) {
        auto got = session.get(fmt::format("/v1/events?since={}&limit={}", since, api::max_events_limit));
        if (!got.ok()) {
            out.failed = std::move(got);
            return out;
        }
        if (!got.doc || !got.doc->is_array()) {
            // A controller answering nonsense failed as much as one answering 502 (exit status 1).
            got.reason = "the controller's event list is not a JSON array";
            got.status = 502;
            out.failed = std::move(got);
            return out;
        }
        const auto page = got.doc->size();
        std::optional<std::uint64_t> last;
        for (auto& e : *got.doc) {
            last = id_of(e).value_or(since);
            out.events.push_back(std::move(e));
        }
        // A full page may have more behind it; a page without ids cannot be continued.
        if (page < api::max_events_limit || !last || *last <= since) {
            out.ok = true;
            return out;
        }
        since = *last;
    }
}

void print_event(const json& e, bool as_json) {
    if (as_json) {
        fmt::print("{}\n", e.dump(-1, ' ', /*ensure_ascii=*/false, json::error_handler_t::replace));
    } else {
        fmt::print("{}", render_event(e));
    }
}

/// Blocks SIGINT and SIGTERM for this thread (the only one) so that wait_or_signal() receives them; the
/// mask is put back when it goes out of scope.
class blocked_signals {
public:
    blocked_signals() {
        sigemptyset(&set_);
        sigaddset(&set_, SIGINT);
        sigaddset(&set_, SIGTERM);
        (void)::sigprocmask(SIG_BLOCK, &set_, &old_);
    }
    ~blocked_signals() { (void)::sigprocmask(SIG_SETMASK, &old_, nullptr); }
    blocked_signals(const blocked_signals&) = delete;
    blocked_signals& operator=(const blocked_signals&) = delete;

    /// Waits `d`; true if SIGINT or SIGTERM arrived (now or while they were blocked).
    [[nodiscard]] bool wait_or_signal(std::chrono::milliseconds d) const {
        timespec ts{static_cast<std::time_t>(d.count() / 1000),
                    static_cast<long>(d.count() % 1000) * 1000000};
        for (;;) {
            const int sig = ::sigtimedwait(&set_, nullptr, &ts);
            if (sig > 0) {
                return true;
            }
            if (errno != EINTR) {
                return false;  // EAGAIN: the time passed
            }
        }
    }

private:
    sigset_t set_{};
    sigset_t old_{};
};

int follow(const api_session& session, const event_options& options, bool as_json,
           const blocked_signals& signals, std::uint64_t last) {
    bool noted = false;
    while (!signals.wait_or_signal(options.interval)) {
        const auto got = events_after(session, last);
        if (!got.ok) {
            if (!noted) {
                const auto& f = got.failed;
                fmt::print(stderr, "mtce: {}{}; still following\n", f.reached ? "cannot list events: " : "",
                           f.reason);
                noted = true;
            }
            continue;
        }
        noted = false;
        for (const auto& e : got.events) {
            const auto id = id_of(e);
            if (id && *id > last) {
                print_event(e, as_json);
                last = *id;
            }
        }
        std::fflush(stdout);
    }
    return exit_ok;
}

}  // namespace

int run_alarm_list(const client_options& options) {
    return run_list(options, "/v1/alarms", "alarms", render_alarm_table);
}

int run_event_list(const client_options& options, const event_options& events) {
    const auto session = api_session::open(options, /*for_changes=*/false);
    if (!session) {
        fmt::print(stderr, "mtce: {}\n", session.error());
        return exit_usage;
    }
    // Blocked from the start, so that a signal during the first requests still ends the command cleanly.
    std::optional<blocked_signals> signals;
    if (events.follow) {
        signals.emplace();
    }
    const auto got = events_after(*session, 0);
    if (!got.ok) {
        return report_failure(got.failed, "cannot list events", /*names_a_host=*/false);
    }
    if (!events.follow) {
        if (options.json) {
            print_json(got.events);
        } else {
            fmt::print("{}", render_event_header());
            for (const auto& e : got.events) {
                print_event(e, /*as_json=*/false);
            }
        }
        return exit_ok;
    }
    if (!options.json) {
        fmt::print("{}", render_event_header());
    }
    std::uint64_t last = 0;
    for (const auto& e : got.events) {
        print_event(e, options.json);
        last = std::max(last, id_of(e).value_or(0));
    }
    std::fflush(stdout);
    return follow(*session, events, options.json, *signals, last);
}

}  // namespace mtce::cli
