#define BOOST_TEST_MODULE heartbeat_accounting_test
#include "heartbeat/accounting.hpp"

#include <chrono>
#include <cstdint>
#include <ostream>
#include <random>
#include <stdexcept>
#include <utility>
#include <vector>

#include <boost/test/unit_test.hpp>

namespace mtce::heartbeat {

// Boost.Test prints the operands of a failed check.
std::ostream& operator<<(std::ostream& os, network n) {
    return os << to_string(n);
}
std::ostream& operator<<(std::ostream& os, hb_event_kind k) {
    return os << to_string(k);
}
std::ostream& operator<<(std::ostream& os, hb_state s) {
    return os << to_string(s);
}
std::ostream& operator<<(std::ostream& os, const hb_event& e) {
    return os << "{host " << e.host << ", " << e.net << ", " << e.kind << ", misses " << e.misses << "}";
}
std::ostream& operator<<(std::ostream& os, response_result r) {
    static constexpr const char* names[] = {"accepted", "duplicate", "wrong_period", "unknown_host",
                                            "not_monitored"};
    return os << names[static_cast<int>(r)];
}

}  // namespace mtce::heartbeat

namespace {

namespace hb = mtce::heartbeat;
using namespace std::chrono_literals;
using hb::hb_event;
using hb::hb_event_kind;
using hb::hb_state;
using hb::network;
using hb::response_result;
using events = std::vector<hb_event>;
using replies = std::vector<std::pair<std::uint32_t, network>>;

constexpr auto mgmt = network::mgmt;
constexpr auto cluster = network::cluster;

/// An accounting with the configuration's defaults (period 100 ms, 4 / 6 / 10, recovery 10), driven one
/// period at a time on a simulated clock.
struct fixture {
    hb::accounting acct{mtce::heartbeat_config{}};
    hb::accounting::time_point now{};
    std::uint64_t seq = 100;

    /// A host monitored on both networks.
    std::uint32_t monitored_host() {
        const auto slot = acct.add_host();
        acct.set_monitored(slot, mgmt, true);
        acct.set_monitored(slot, cluster, true);
        return slot;
    }

    /// One period: the request, `answers` for it, and the tick `length` later.
    events period(const replies& answers = {}, std::chrono::milliseconds length = 100ms) {
        acct.begin_period(++seq, now);
        for (const auto& [slot, net] : answers) {
            BOOST_TEST(acct.on_response(slot, net, seq) == response_result::accepted);
        }
        now += length;
        events out;
        acct.end_period(now, out);
        return out;
    }

    /// `n` periods with the same answers; their events in order.
    events periods(int n, const replies& answers = {}) {
        events all;
        for (int i = 0; i < n; ++i) {
            const auto e = period(answers);
            all.insert(all.end(), e.begin(), e.end());
        }
        return all;
    }

    hb::net_status status(std::uint32_t slot, network net) const {
        const auto s = acct.status(slot, net);
        BOOST_REQUIRE(s.has_value());
        return *s;
    }
};

hb_event ev(std::uint32_t host, network net, hb_event_kind kind, std::uint32_t misses) {
    return hb_event{host, net, kind, misses};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(thresholds)

BOOST_AUTO_TEST_CASE(thresholds_come_from_the_heartbeat_configuration) {
    mtce::heartbeat_config c;
    c.minor_threshold = 2;
    c.degrade_threshold = 3;
    c.failure_threshold = 5;
    c.recovery_threshold = 7;
    const auto t = hb::thresholds::from(c);
    BOOST_TEST(t.minor == 2u);
    BOOST_TEST(t.degrade == 3u);
    BOOST_TEST(t.failure == 5u);
    BOOST_TEST(t.recovery == 7u);
    BOOST_TEST(hb::accounting{c}.limits().recovery == 7u);
}

BOOST_AUTO_TEST_CASE(thresholds_that_do_not_rise_are_refused) {
    BOOST_TEST(hb::thresholds{}.invalid_reason().empty());
    BOOST_TEST(!(hb::thresholds{6, 6, 10, 10}.invalid_reason().empty()));
    BOOST_TEST(!(hb::thresholds{4, 10, 10, 10}.invalid_reason().empty()));
    BOOST_TEST(!(hb::thresholds{0, 6, 10, 10}.invalid_reason().empty()));
    BOOST_TEST(!(hb::thresholds{4, 6, 10, 0}.invalid_reason().empty()));
    BOOST_CHECK_THROW((hb::accounting{hb::thresholds{4, 3, 10, 10}, 100ms}), std::invalid_argument);
    BOOST_CHECK_THROW((hb::accounting{hb::thresholds{}, 0ms}), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(configured_thresholds_other_than_the_defaults_are_honoured) {
    mtce::heartbeat_config c;
    c.minor_threshold = 2;
    c.degrade_threshold = 3;
    c.failure_threshold = 5;
    c.recovery_threshold = 3;
    fixture f;
    f.acct = hb::accounting{c};
    const auto h = f.monitored_host();
    BOOST_TEST(f.periods(5, {{h, cluster}}) ==
                   (events{ev(h, mgmt, hb_event_kind::minor_set, 2),
                           ev(h, mgmt, hb_event_kind::degrade_set, 3), ev(h, mgmt, hb_event_kind::loss, 5)}),
               boost::test_tools::per_element());
    BOOST_TEST(f.periods(2, {{h, mgmt}, {h, cluster}}).empty());
    BOOST_TEST(
        f.periods(1, {{h, mgmt}, {h, cluster}}) ==
            (events{ev(h, mgmt, hb_event_kind::recovered, 5), ev(h, mgmt, hb_event_kind::degrade_clear, 5),
                    ev(h, mgmt, hb_event_kind::minor_clear, 5)}),
        boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(misses)

BOOST_AUTO_TEST_CASE(a_silent_host_raises_minor_at_4_degrade_at_6_and_loss_at_10_misses_on_mgmt) {
    fixture f;
    const auto h = f.monitored_host();
    for (std::uint32_t miss = 1; miss <= 12; ++miss) {
        const auto e = f.period({{h, cluster}});  // only the management network is silent
        BOOST_TEST_CONTEXT("miss " << miss) {
            switch (miss) {
            case 4:
                BOOST_TEST(e == (events{ev(h, mgmt, hb_event_kind::minor_set, 4)}),
                           boost::test_tools::per_element());
                BOOST_TEST(f.status(h, mgmt).state == hb_state::minor);
                break;
            case 6:
                BOOST_TEST(e == (events{ev(h, mgmt, hb_event_kind::degrade_set, 6)}),
                           boost::test_tools::per_element());
                BOOST_TEST(f.status(h, mgmt).state == hb_state::degraded);
                break;
            case 10:
                BOOST_TEST(e == (events{ev(h, mgmt, hb_event_kind::loss, 10)}),
                           boost::test_tools::per_element());
                BOOST_TEST(f.status(h, mgmt).state == hb_state::failed);
                break;
            default:
                BOOST_TEST(e.empty());
            }
            BOOST_TEST(f.status(h, mgmt).misses == miss);
        }
    }
    BOOST_TEST(f.status(h, cluster).state == hb_state::ok);
}

BOOST_AUTO_TEST_CASE(the_cluster_network_raises_degrade_and_loss_but_never_minor) {
    fixture f;
    const auto h = f.monitored_host();
    BOOST_TEST(f.periods(3, {{h, mgmt}}).empty());
    BOOST_TEST(f.periods(1, {{h, mgmt}}).empty());  // miss 4: minor is management only
    BOOST_TEST(f.status(h, cluster).state == hb_state::ok);
    BOOST_TEST(f.status(h, cluster).misses == 4u);
    BOOST_TEST(f.periods(1, {{h, mgmt}}).empty());
    BOOST_TEST(f.periods(1, {{h, mgmt}}) == (events{ev(h, cluster, hb_event_kind::degrade_set, 6)}),
               boost::test_tools::per_element());
    BOOST_TEST(f.periods(3, {{h, mgmt}}).empty());
    BOOST_TEST(f.periods(1, {{h, mgmt}}) == (events{ev(h, cluster, hb_event_kind::loss, 10)}),
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(events_are_not_repeated_while_the_host_stays_silent) {
    fixture f;
    const auto h = f.monitored_host();
    const auto e = f.periods(1000);
    BOOST_TEST(e.size() == 5u);  // mgmt minor, degrade, loss; cluster degrade, loss
    BOOST_TEST(f.status(h, mgmt).misses == 1000u);
    BOOST_TEST(f.status(h, cluster).state == hb_state::failed);
}

BOOST_AUTO_TEST_CASE(a_host_that_died_reports_mgmt_before_cluster_in_each_period) {
    fixture f;
    const auto h = f.monitored_host();
    const auto e = f.periods(6);
    BOOST_TEST(
        e == (events{ev(h, mgmt, hb_event_kind::minor_set, 4), ev(h, mgmt, hb_event_kind::degrade_set, 6),
                     ev(h, cluster, hb_event_kind::degrade_set, 6)}),
        boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_late_response_for_the_previous_period_counts_as_a_miss) {
    fixture f;
    const auto h = f.monitored_host();
    for (int i = 0; i < 4; ++i) {
        f.acct.begin_period(++f.seq, f.now);
        BOOST_TEST(f.acct.on_response(h, mgmt, f.seq - 1) == response_result::wrong_period);
        BOOST_TEST(f.acct.on_response(h, cluster, f.seq) == response_result::accepted);
        f.now += 100ms;
        events e;
        f.acct.end_period(f.now, e);
        BOOST_TEST(e.size() == (i == 3 ? 1u : 0u));
    }
    BOOST_TEST(f.status(h, mgmt).state == hb_state::minor);
    BOOST_TEST(f.acct.responses().wrong_period == 4u);
}

BOOST_AUTO_TEST_CASE(a_response_between_periods_is_ignored_and_the_host_misses) {
    fixture f;
    const auto h = f.monitored_host();
    f.period({{h, mgmt}, {h, cluster}});
    BOOST_TEST(f.acct.on_response(h, mgmt, f.seq) == response_result::wrong_period);
    f.period({{h, cluster}});
    BOOST_TEST(f.status(h, mgmt).misses == 1u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(answers)

BOOST_AUTO_TEST_CASE(one_answer_clears_minor_and_degrade) {
    fixture f;
    const auto h = f.monitored_host();
    f.periods(7, {{h, cluster}});
    BOOST_TEST(f.status(h, mgmt).state == hb_state::degraded);
    BOOST_TEST(f.period({{h, mgmt}, {h, cluster}}) == (events{ev(h, mgmt, hb_event_kind::degrade_clear, 7),
                                                              ev(h, mgmt, hb_event_kind::minor_clear, 7)}),
               boost::test_tools::per_element());
    BOOST_TEST(f.status(h, mgmt).state == hb_state::ok);
    BOOST_TEST(f.status(h, mgmt).misses == 0u);
    BOOST_TEST(f.status(h, mgmt).answers == 1u);
}

BOOST_AUTO_TEST_CASE(one_answer_clears_minor_alone_without_a_degrade_clear) {
    fixture f;
    const auto h = f.monitored_host();
    f.periods(5, {{h, cluster}});
    BOOST_TEST(f.period({{h, mgmt}, {h, cluster}}) == (events{ev(h, mgmt, hb_event_kind::minor_clear, 5)}),
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(an_answer_below_minor_restarts_the_miss_count_silently) {
    fixture f;
    const auto h = f.monitored_host();
    BOOST_TEST(f.periods(3, {{h, cluster}}).empty());
    BOOST_TEST(f.periods(1, {{h, mgmt}, {h, cluster}}).empty());
    BOOST_TEST(f.periods(3, {{h, cluster}}).empty());
    BOOST_TEST(f.status(h, mgmt).misses == 3u);
    BOOST_TEST(f.status(h, mgmt).state == hb_state::ok);
}

BOOST_AUTO_TEST_CASE(after_a_loss_recovery_takes_exactly_10_consecutive_answers) {
    fixture f;
    const auto h = f.monitored_host();
    f.periods(12, {{h, cluster}});
    BOOST_TEST(f.status(h, mgmt).state == hb_state::failed);
    for (std::uint32_t answer = 1; answer <= 9; ++answer) {
        BOOST_TEST(f.period({{h, mgmt}, {h, cluster}}).empty());
        BOOST_TEST(f.status(h, mgmt).state == hb_state::failed);
        BOOST_TEST(f.status(h, mgmt).answers == answer);
    }
    BOOST_TEST(f.period({{h, mgmt}, {h, cluster}}) == (events{ev(h, mgmt, hb_event_kind::recovered, 12),
                                                              ev(h, mgmt, hb_event_kind::degrade_clear, 12),
                                                              ev(h, mgmt, hb_event_kind::minor_clear, 12)}),
               boost::test_tools::per_element());
    BOOST_TEST(f.status(h, mgmt).state == hb_state::ok);
    BOOST_TEST(f.status(h, mgmt).misses == 0u);
    BOOST_TEST(f.periods(20, {{h, mgmt}, {h, cluster}}).empty());
}

BOOST_AUTO_TEST_CASE(a_miss_at_the_9th_recovery_answer_restarts_the_count) {
    fixture f;
    const auto h = f.monitored_host();
    f.periods(10, {{h, cluster}});
    BOOST_TEST(f.periods(9, {{h, mgmt}, {h, cluster}}).empty());
    BOOST_TEST(f.period({{h, cluster}}).empty());  // no new loss: still the same outage
    BOOST_TEST(f.status(h, mgmt).answers == 0u);
    BOOST_TEST(f.periods(9, {{h, mgmt}, {h, cluster}}).empty());
    BOOST_TEST(f.status(h, mgmt).state == hb_state::failed);
    const auto e = f.period({{h, mgmt}, {h, cluster}});
    BOOST_REQUIRE(e.size() == 3u);
    BOOST_TEST(e[0] == ev(h, mgmt, hb_event_kind::recovered, 11));
}

BOOST_AUTO_TEST_CASE(duplicate_answers_in_one_period_count_once) {
    fixture f;
    const auto h = f.monitored_host();
    f.acct.begin_period(++f.seq, f.now);
    BOOST_TEST(f.acct.on_response(h, mgmt, f.seq) == response_result::accepted);
    BOOST_TEST(f.acct.on_response(h, mgmt, f.seq) == response_result::duplicate);
    f.now += 100ms;
    events e;
    const auto s = f.acct.end_period(f.now, e);
    BOOST_TEST(s.answered[0] == 1u);
    BOOST_TEST(s.expected[0] == 1u);
    BOOST_TEST(s.answered[1] == 0u);
    BOOST_TEST(f.status(h, mgmt).answers == 1u);
    BOOST_TEST(f.acct.responses().duplicate == 1u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(self_distrust)

BOOST_AUTO_TEST_CASE(a_tick_more_than_half_a_period_late_counts_no_misses_and_is_recorded) {
    fixture f;
    const auto h = f.monitored_host();
    f.periods(3);
    const auto e = f.period({}, 151ms);
    BOOST_TEST(e.empty());
    BOOST_TEST(f.status(h, mgmt).misses == 3u);
    BOOST_TEST(f.acct.late_periods() == 1u);
    // Exactly half a period late is still the host's fault: miss 4 raises minor.
    BOOST_TEST(f.period({}, 150ms) == (events{ev(h, mgmt, hb_event_kind::minor_set, 4)}),
               boost::test_tools::per_element());
    BOOST_TEST(f.acct.late_periods() == 1u);
}

BOOST_AUTO_TEST_CASE(a_request_sent_more_than_half_a_period_late_counts_no_misses) {
    fixture f;
    const auto h = f.monitored_host();
    hb::period_summary s;
    f.acct.begin_period(++f.seq, f.now + 51ms);  // the tick is on schedule, the request was not
    f.now += 100ms;
    events e;
    s = f.acct.end_period(f.now, e);
    BOOST_TEST(s.voided);
    BOOST_TEST(f.status(h, mgmt).misses == 0u);
    BOOST_TEST(f.acct.late_periods() == 1u);
}

BOOST_AUTO_TEST_CASE(a_send_phase_that_ends_more_than_half_a_period_late_counts_no_misses) {
    fixture f;
    const auto h = f.monitored_host();
    f.acct.begin_period(++f.seq, f.now);
    f.acct.requests_sent(f.now + 51ms);  // the last requests left late: those hosts had under half a period
    f.now += 100ms;
    events e;
    BOOST_TEST(f.acct.end_period(f.now, e).voided);
    BOOST_TEST(f.status(h, mgmt).misses == 0u);
    // A quick send phase leaves the period fair: the silence is a miss.
    f.acct.begin_period(++f.seq, f.now);
    f.acct.requests_sent(f.now + 10ms);
    f.acct.requests_sent(f.now - 10ms);  // never moves backwards
    f.now += 100ms;
    BOOST_TEST(!f.acct.end_period(f.now, e).voided);
    BOOST_TEST(f.status(h, mgmt).misses == 1u);
    BOOST_TEST(f.acct.late_periods() == 1u);
}

BOOST_AUTO_TEST_CASE(answers_in_a_void_period_still_clear_degrade) {
    fixture f;
    const auto h = f.monitored_host();
    f.periods(6, {{h, cluster}});
    BOOST_TEST(f.period({{h, mgmt}, {h, cluster}}, 400ms).size() == 2u);
    BOOST_TEST(f.status(h, mgmt).state == hb_state::ok);
    BOOST_TEST(f.acct.late_periods() == 1u);
}

BOOST_AUTO_TEST_CASE(silence_in_a_void_period_does_not_break_a_recovery_run) {
    fixture f;
    const auto h = f.monitored_host();
    f.periods(10, {{h, cluster}});
    BOOST_TEST(f.periods(5, {{h, mgmt}, {h, cluster}}).empty());
    BOOST_TEST(f.period({{h, cluster}}, 2s).empty());
    BOOST_TEST(f.status(h, mgmt).answers == 5u);
    BOOST_TEST(f.periods(4, {{h, mgmt}, {h, cluster}}).empty());
    BOOST_TEST(f.periods(1, {{h, mgmt}, {h, cluster}}).size() == 3u);
}

BOOST_AUTO_TEST_CASE(a_new_request_while_a_period_is_open_abandons_it_as_late) {
    fixture f;
    const auto h = f.monitored_host();
    f.acct.begin_period(++f.seq, f.now);
    BOOST_TEST(f.acct.on_response(h, mgmt, f.seq) == response_result::accepted);
    f.now += 100ms;
    f.period();  // begins again without end_period: the open one counts for nobody
    BOOST_TEST(f.acct.late_periods() == 1u);
    BOOST_TEST(f.status(h, mgmt).misses == 1u);
    BOOST_TEST(f.status(h, mgmt).answers == 0u);
}

BOOST_AUTO_TEST_CASE(a_tick_without_an_open_period_does_nothing) {
    fixture f;
    const auto h = f.monitored_host();
    events e;
    const auto s = f.acct.end_period(f.now, e);
    BOOST_TEST(!s.open);
    BOOST_TEST(f.status(h, mgmt).misses == 0u);
    BOOST_TEST(f.acct.late_periods() == 0u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(hosts_and_networks)

BOOST_AUTO_TEST_CASE(networks_are_accounted_independently) {
    fixture f;
    const auto h = f.monitored_host();
    const auto other = f.monitored_host();
    f.periods(10, {{h, mgmt}, {other, mgmt}, {other, cluster}});
    BOOST_TEST(f.status(h, cluster).state == hb_state::failed);
    BOOST_TEST(f.status(h, mgmt).state == hb_state::ok);
    BOOST_TEST(f.status(h, mgmt).answers == 10u);
    BOOST_TEST(f.status(other, cluster).state == hb_state::ok);
    // Now the other way round: mgmt is lost while cluster recovers, each on its own count.
    BOOST_TEST(
        f.periods(10, {{h, cluster}, {other, mgmt}, {other, cluster}}) ==
            (events{ev(h, mgmt, hb_event_kind::minor_set, 4), ev(h, mgmt, hb_event_kind::degrade_set, 6),
                    ev(h, mgmt, hb_event_kind::loss, 10), ev(h, cluster, hb_event_kind::recovered, 10),
                    ev(h, cluster, hb_event_kind::degrade_clear, 10)}),
        boost::test_tools::per_element());
    BOOST_TEST(f.status(h, cluster).state == hb_state::ok);
    BOOST_TEST(f.status(h, mgmt).state == hb_state::failed);
}

BOOST_AUTO_TEST_CASE(a_removed_slot_is_reused_and_starts_clean) {
    fixture f;
    const auto a = f.monitored_host();
    const auto b = f.monitored_host();
    f.periods(10, {{b, mgmt}, {b, cluster}});
    BOOST_TEST(f.status(a, mgmt).state == hb_state::failed);
    BOOST_TEST(f.acct.remove_host(a));
    BOOST_TEST(!f.acct.remove_host(a));
    BOOST_TEST(!f.acct.status(a, mgmt).has_value());
    BOOST_TEST(f.period({{b, mgmt}, {b, cluster}}).empty());  // a removed host misses nothing
    const auto c = f.acct.add_host();
    BOOST_TEST(c == a);
    BOOST_TEST(f.acct.host_count() == 2u);
    BOOST_TEST(f.status(c, mgmt).state == hb_state::unmonitored);
    BOOST_TEST(f.status(c, mgmt).misses == 0u);
    f.acct.set_monitored(c, mgmt, true);
    BOOST_TEST(f.periods(3, {{b, mgmt}, {b, cluster}}).empty());
    BOOST_TEST(f.status(c, mgmt).misses == 3u);
    BOOST_TEST(f.periods(1, {{b, mgmt}, {b, cluster}}) == (events{ev(c, mgmt, hb_event_kind::minor_set, 4)}),
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(replies_from_unknown_slots_and_unmonitored_networks_are_ignored) {
    fixture f;
    const auto h = f.acct.add_host();
    f.acct.set_monitored(h, mgmt, true);
    f.acct.begin_period(++f.seq, f.now);
    BOOST_TEST(f.acct.on_response(h + 1, mgmt, f.seq) == response_result::unknown_host);
    BOOST_TEST(f.acct.on_response(4000000000u, mgmt, f.seq) == response_result::unknown_host);
    BOOST_TEST(f.acct.on_response(h, cluster, f.seq) == response_result::not_monitored);
    f.now += 100ms;
    events e;
    const auto s = f.acct.end_period(f.now, e);
    BOOST_TEST(s.expected[0] == 1u);
    BOOST_TEST(s.expected[1] == 0u);
    BOOST_TEST(f.status(h, cluster).state == hb_state::unmonitored);
    BOOST_TEST(f.status(h, mgmt).misses == 1u);
    BOOST_TEST(f.acct.responses().unknown_host == 2u);
    BOOST_TEST(f.acct.responses().not_monitored == 1u);
    BOOST_TEST(f.acct.responses().accepted == 0u);
    BOOST_TEST(!f.acct.set_monitored(h + 1, mgmt, true));
}

BOOST_AUTO_TEST_CASE(stopping_monitoring_forgets_the_counters_without_events) {
    fixture f;
    const auto h = f.monitored_host();
    f.periods(10, {{h, cluster}});
    BOOST_TEST(f.acct.set_monitored(h, mgmt, false));
    BOOST_TEST(f.status(h, mgmt).state == hb_state::unmonitored);
    BOOST_TEST(f.status(h, mgmt).misses == 0u);
    BOOST_TEST(f.periods(20, {{h, cluster}}).empty());
    f.acct.set_monitored(h, mgmt, true);
    BOOST_TEST(f.status(h, mgmt).state == hb_state::ok);
    BOOST_TEST(f.periods(3, {{h, cluster}}).empty());
    BOOST_TEST(f.periods(1, {{h, cluster}}).size() == 1u);
}

BOOST_AUTO_TEST_CASE(monitoring_started_during_a_period_counts_from_the_next_one) {
    fixture f;
    const auto h = f.acct.add_host();
    f.acct.begin_period(++f.seq, f.now);
    f.acct.set_monitored(h, mgmt, true);
    f.now += 100ms;
    events e;
    const auto s = f.acct.end_period(f.now, e);
    BOOST_TEST(s.expected[0] == 0u);
    BOOST_TEST(f.status(h, mgmt).misses == 0u);
    f.period();
    BOOST_TEST(f.status(h, mgmt).misses == 1u);
}

BOOST_AUTO_TEST_CASE(events_are_appended_without_reallocating_a_vector_with_capacity) {
    fixture f;
    for (int i = 0; i < 100; ++i) {
        f.monitored_host();
    }
    events e;
    e.reserve(1000);
    const auto* data = e.data();
    for (int i = 0; i < 10; ++i) {
        f.acct.begin_period(++f.seq, f.now);
        f.now += 100ms;
        f.acct.end_period(f.now, e);
    }
    BOOST_TEST(e.size() == 500u);  // 100 hosts × (minor, 2 degrade, 2 loss)
    BOOST_TEST((e.data() == data));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(scale)

BOOST_AUTO_TEST_CASE(five_thousand_hosts_with_two_percent_loss_for_a_thousand_periods_lose_no_host) {
    constexpr std::uint32_t hosts = 5000;
    constexpr int periods = 1000;
    fixture f;
    f.acct.reserve(hosts);
    for (std::uint32_t i = 0; i < hosts; ++i) {
        f.monitored_host();
    }
    std::mt19937_64 rng{20240601};
    std::uniform_int_distribution<int> percent{0, 99};
    replies answers;
    answers.reserve(2 * hosts);
    events e;
    e.reserve(4 * hosts);

    using clock = std::chrono::steady_clock;
    clock::duration in_responses{};
    clock::duration in_end_period{};
    std::uint64_t responses = 0;
    std::uint64_t misses = 0;
    std::uint64_t loss = 0;
    std::uint64_t degrade = 0;
    std::uint64_t minor = 0;
    for (int p = 0; p < periods; ++p) {
        answers.clear();
        for (std::uint32_t h = 0; h < hosts; ++h) {
            for (const auto net : {mgmt, cluster}) {
                if (percent(rng) >= 2) {
                    answers.emplace_back(h, net);
                }
            }
        }
        misses += 2 * hosts - answers.size();
        f.acct.begin_period(++f.seq, f.now);
        const auto t0 = clock::now();
        for (const auto& [h, net] : answers) {
            if (f.acct.on_response(h, net, f.seq) != response_result::accepted) {
                BOOST_FAIL("an answer was not accepted");
            }
        }
        const auto t1 = clock::now();
        f.now += 100ms;
        e.clear();
        f.acct.end_period(f.now, e);
        const auto t2 = clock::now();
        in_responses += t1 - t0;
        in_end_period += t2 - t1;
        responses += answers.size();
        for (const auto& ev_ : e) {
            loss += ev_.kind == hb_event_kind::loss ? 1 : 0;
            degrade += ev_.kind == hb_event_kind::degrade_set ? 1 : 0;
            minor += ev_.kind == hb_event_kind::minor_set ? 1 : 0;
        }
    }
    BOOST_TEST(loss == 0u);
    BOOST_TEST(f.acct.late_periods() == 0u);
    BOOST_TEST(f.acct.responses().accepted == responses);

    const auto ns = [](clock::duration d) { return std::chrono::duration<double, std::nano>(d).count(); };
    BOOST_TEST_MESSAGE("scale: " << hosts << " hosts x 2 networks x " << periods << " periods, " << misses
                                 << " misses dropped at random, " << minor << " minor, " << degrade
                                 << " degrade, " << loss << " loss events");
    BOOST_TEST_MESSAGE("scale: end_period " << ns(in_end_period) / (double(hosts) * periods)
                                            << " ns per host per period (both networks), "
                                            << ns(in_end_period) / periods / 1e3 << " us per period");
    BOOST_TEST_MESSAGE("scale: on_response " << ns(in_responses) / double(responses) << " ns per reply");
}

BOOST_AUTO_TEST_SUITE_END()
