#define BOOST_TEST_MODULE cli_event_view_test
// How `mtce alarm list` and `mtce event list` print alarms and events: local times, aligned columns,
// missing fields and control characters.
#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <ctime>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/event_view.hpp"

using namespace mtce::cli;
using nlohmann::json;

namespace {

/// Sets the process's time zone (a POSIX TZ string, so no zone database is needed) for one test.
struct time_zone {
    explicit time_zone(const char* tz) {
        if (const char* old = std::getenv("TZ")) {
            old_ = old;
        }
        ::setenv("TZ", tz, 1);
        ::tzset();
    }
    ~time_zone() {
        if (old_) {
            ::setenv("TZ", old_->c_str(), 1);
        } else {
            ::unsetenv("TZ");
        }
        ::tzset();
    }
    time_zone(const time_zone&) = delete;
    time_zone& operator=(const time_zone&) = delete;

private:
    std::optional<std::string> old_;
};

// 2023-11-14T22:13:20.123Z
constexpr std::int64_t sample_ms = 1700000000123;

}  // namespace

BOOST_AUTO_TEST_CASE(times_are_local_iso_8601_to_the_second_with_the_offset) {
    {
        const time_zone utc{"UTC0"};
        BOOST_TEST(format_local_time(sample_ms) == "2023-11-14T22:13:20+00:00");
        BOOST_TEST(format_local_time(0) == "1970-01-01T00:00:00+00:00");
        BOOST_TEST(format_local_time(-1) == "1969-12-31T23:59:59+00:00");
    }
    {
        const time_zone india{"IST-5:30"};
        BOOST_TEST(format_local_time(sample_ms) == "2023-11-15T03:43:20+05:30");
    }
    {
        const time_zone eastern{"EST5"};
        BOOST_TEST(format_local_time(sample_ms) == "2023-11-14T17:13:20-05:00");
    }
}

BOOST_AUTO_TEST_CASE(the_alarm_table_is_aligned_with_since_in_local_time) {
    const time_zone utc{"UTC0"};
    const json alarms = json::array({{{"id", "200.004"},
                                      {"host", "worker-0"},
                                      {"severity", "critical"},
                                      {"since", sample_ms},
                                      {"reason", "heartbeat lost on mgmt"}},
                                     {{"id", 7},
                                      {"host", "controller-0"},
                                      {"severity", "minor"},
                                      {"since", "yesterday"},
                                      {"reason", "bad\x1b[31m"}},
                                     json::object()});
    BOOST_TEST(render_alarm_table(alarms) ==
               "ID       HOST          SEVERITY  SINCE                      REASON\n"
               "200.004  worker-0      critical  2023-11-14T22:13:20+00:00  heartbeat lost on mgmt\n"
               "7        controller-0  minor     yesterday                  bad?[31m\n"
               "-        -             -         -                          -\n");
    BOOST_TEST(render_alarm_table(json::array()) == "ID  HOST  SEVERITY  SINCE  REASON\n");
}

BOOST_AUTO_TEST_CASE(events_have_fixed_minimum_widths_so_later_lines_align) {
    const time_zone utc{"UTC0"};
    BOOST_TEST(render_event_header() ==
               "ID      TIME                       HOST            KIND              TEXT\n");
    BOOST_TEST(
        render_event(json{{"id", 12},
                          {"time", sample_ms},
                          {"host", "worker-0"},
                          {"kind", "state"},
                          {"text", "unlocked-enabled-available"}}) ==
        "12      2023-11-14T22:13:20+00:00  worker-0        state             unlocked-enabled-available\n");
    BOOST_TEST(render_event(json{{"id", 1}, {"kind", "controller"}, {"text", "line\nbreak"}}) ==
               "1       -                          -               controller        line?break\n");
    const auto wide = render_event(json{{"id", 1}, {"host", "a-very-long-host-name-indeed"}, {"text", "x"}});
    BOOST_TEST(wide.find("a-very-long-host-name-indeed  -") != std::string::npos, wide);
}
