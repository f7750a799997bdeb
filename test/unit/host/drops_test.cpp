#define BOOST_TEST_MODULE host_drops_test
#include "host/drops.hpp"

#include <boost/test/unit_test.hpp>

#include <chrono>

using namespace std::chrono_literals;
using mtce::host::drop_counts;
using mtce::host::drop_reporter;
using time_point = drop_reporter::clock_type::time_point;

namespace {

const time_point t0{std::chrono::hours{1}};

}  // namespace

BOOST_AUTO_TEST_CASE(the_first_drop_is_logged_at_once) {
    drop_reporter r{10s};
    BOOST_TEST(!r.due().has_value());
    const auto line = r.on_drop(t0, {{"bad_mac", 1}});
    BOOST_REQUIRE(line.has_value());
    BOOST_TEST((*line == drop_counts{{"bad_mac", 1}}));
    BOOST_TEST(!r.due().has_value());
}

BOOST_AUTO_TEST_CASE(a_burst_is_summed_and_its_tail_is_due_one_interval_after_the_first_line) {
    drop_reporter r{10s};
    BOOST_REQUIRE(r.on_drop(t0, {{"bad_mac", 1}}).has_value());
    BOOST_TEST(!r.on_drop(t0 + 1ms, {{"bad_mac", 2}}).has_value());
    BOOST_TEST(!r.on_drop(t0 + 2ms, {{"bad_mac", 2}, {"replay", 1}}).has_value());
    BOOST_TEST(!r.on_drop(t0 + 9s, {{"bad_mac", 5}, {"replay", 1}}).has_value());
    BOOST_REQUIRE(r.due().has_value());
    BOOST_TEST((*r.due() == t0 + 10s));
    // Nothing else arrives: the summary still comes, when due.
    const auto summary = r.flush(t0 + 10s);
    BOOST_REQUIRE(summary.has_value());
    BOOST_TEST((*summary == drop_counts{{"bad_mac", 4}, {"replay", 1}}));
    BOOST_TEST(!r.due().has_value());
    BOOST_TEST((r.totals() == drop_counts{{"bad_mac", 5}, {"replay", 1}}));
}

BOOST_AUTO_TEST_CASE(a_steady_stream_is_logged_once_per_interval_with_the_counts_since_the_last_line) {
    drop_reporter r{10s};
    int lines = 0;
    std::uint64_t logged = 0;
    std::uint64_t n = 0;
    for (auto t = t0; t < t0 + 60s; t += 100ms) {
        if (auto due = r.due(); due && *due <= t) {
            if (auto c = r.flush(t)) {
                ++lines;
                logged += c->at("replay");
            }
        }
        if (auto c = r.on_drop(t, {{"replay", ++n}})) {
            ++lines;
            logged += c->at("replay");
        }
    }
    if (auto c = r.flush(t0 + 60s)) {  // shutdown
        ++lines;
        logged += c->at("replay");
    }
    BOOST_TEST(lines <= 7);
    BOOST_TEST(lines >= 6);
    BOOST_TEST(logged == n);  // every drop in exactly one line
}

BOOST_AUTO_TEST_CASE(after_a_quiet_spell_the_next_drop_is_logged_at_once_again) {
    drop_reporter r{10s};
    BOOST_REQUIRE(r.on_drop(t0, {{"bad_mac", 1}}).has_value());
    const auto line = r.on_drop(t0 + 30s, {{"bad_mac", 2}});
    BOOST_REQUIRE(line.has_value());
    BOOST_TEST((*line == drop_counts{{"bad_mac", 1}}));
}

BOOST_AUTO_TEST_CASE(what_is_held_at_shutdown_is_handed_out_and_nothing_twice) {
    drop_reporter r{10s};
    BOOST_REQUIRE(r.on_drop(t0, {{"short_datagram", 1}}).has_value());
    BOOST_TEST(!r.on_drop(t0 + 1s, {{"short_datagram", 3}}).has_value());
    const auto last = r.flush(t0 + 2s);
    BOOST_REQUIRE(last.has_value());
    BOOST_TEST((*last == drop_counts{{"short_datagram", 2}}));
    BOOST_TEST(!r.flush(t0 + 3s).has_value());
}

BOOST_AUTO_TEST_CASE(counts_are_described_in_name_order_without_zeroes) {
    drop_counts c;
    mtce::host::add_drops(c, "replay", 1);
    mtce::host::add_drops(c, "bad_mac", 3);
    mtce::host::add_drops(c, "oversized", 0);
    BOOST_TEST(mtce::host::describe(c) == " bad_mac=3 replay=1");
    BOOST_TEST(mtce::host::total(c) == 4u);
    mtce::net::reject_counters rejected;
    rejected.add(mtce::net::reject_reason::bad_mac);
    BOOST_TEST((mtce::host::to_drop_counts(rejected) == drop_counts{{"bad_mac", 1}}));
}

BOOST_AUTO_TEST_CASE(a_caller_can_tell_when_a_drop_would_be_logged_at_once_without_counting_it) {
    drop_reporter r{10s};
    BOOST_TEST(r.logs_at_once(t0));
    BOOST_TEST((r.next_line() == drop_reporter::clock_type::time_point::min()));
    BOOST_REQUIRE(r.on_drop(t0, {{"bad_mac", 1}}).has_value());
    BOOST_TEST(!r.logs_at_once(t0 + 9s));
    BOOST_TEST((r.next_line() == t0 + 10s));
    BOOST_TEST(r.logs_at_once(t0 + 10s));
}
