#define BOOST_TEST_MODULE host_scripts_test
#include "host/scripts.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "scratch.hpp"

using mtce::child_result;
using mtce::host::script_run;

BOOST_AUTO_TEST_CASE(executables_are_listed_in_name_order_and_the_rest_is_skipped_with_a_reason) {
    mtce::test::scratch s;
    s.script("d/20-b", "true");
    s.script("d/10-a", "true");
    s.write("d/30-not-executable", "#!/bin/sh\n", 0644);
    s.script("d/40-old.dpkg-old", "true");
    s.script("d/.hidden", "true");
    std::filesystem::create_directories(s.path() / "d/50-subdir");
    auto scan = mtce::host::scan_scripts(s.path() / "d");
    BOOST_REQUIRE(scan.has_value());
    BOOST_REQUIRE_EQUAL(scan->runnable.size(), 2u);
    BOOST_TEST(scan->runnable[0].filename() == "10-a");
    BOOST_TEST(scan->runnable[1].filename() == "20-b");
    BOOST_REQUIRE_EQUAL(scan->skipped.size(), 3u);
    BOOST_TEST(scan->skipped[0].first.filename() == "30-not-executable");
    BOOST_TEST(scan->skipped[0].second == "not executable");
    BOOST_TEST(scan->skipped[1].second == "backup or package-manager leftover");
    BOOST_TEST(scan->skipped[2].second == "is a directory");
}

BOOST_AUTO_TEST_CASE(a_missing_directory_is_an_error_that_names_it) {
    auto scan = mtce::host::scan_scripts("/nonexistent/goenabled.d");
    BOOST_REQUIRE(!scan.has_value());
    BOOST_TEST(scan.error() == "cannot read directory '/nonexistent/goenabled.d': No such file or directory");
}

BOOST_AUTO_TEST_CASE(an_empty_set_passes) {
    BOOST_TEST(mtce::host::judge({}).passed);
}

BOOST_AUTO_TEST_CASE(the_first_failure_in_list_order_names_the_script_and_how_it_failed) {
    child_result ok;
    ok.started = true;
    ok.exit_code = 0;
    child_result exit3 = ok;
    exit3.exit_code = 3;
    child_result hung = ok;
    hung.exit_code.reset();
    hung.signal = 9;
    hung.timed_out = true;
    std::vector<script_run> runs{{"/g/10-ok", ok}, {"/g/20-hung", hung}, {"/g/30-exit", exit3}};
    auto v = mtce::host::judge(runs);
    BOOST_TEST(!v.passed);
    BOOST_TEST(v.reason.starts_with("20-hung: "));
    BOOST_TEST(v.reason == "20-hung: " + hung.describe());
    runs.erase(runs.begin() + 1);
    BOOST_TEST(mtce::host::judge(runs).reason == "30-exit: exit code 3");
}

namespace {

/// Everything logged while it lives, one string, in spdlog's default format's message part.
class log_capture {
public:
    log_capture() : sink_{std::make_shared<spdlog::sinks::ostream_sink_mt>(text_)} {
        sink_->set_pattern("%l|%v");
        previous_ = spdlog::default_logger();
        auto logger = std::make_shared<spdlog::logger>("capture", sink_);
        logger->set_level(spdlog::level::trace);
        spdlog::set_default_logger(logger);
    }
    log_capture(const log_capture&) = delete;
    log_capture& operator=(const log_capture&) = delete;
    ~log_capture() { spdlog::set_default_logger(previous_); }
    [[nodiscard]] std::string text() const { return text_.str(); }

private:
    std::ostringstream text_;
    std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink_;
    std::shared_ptr<spdlog::logger> previous_;
};

std::size_t count_lines(const std::string& text) {
    return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

}  // namespace

BOOST_AUTO_TEST_CASE(what_a_failing_script_wrote_is_logged_escaped_one_line_per_stream) {
    script_run run{"/etc/mtce/goenabled.d/10-evil", {}};
    run.result.started = true;
    run.result.exit_code = 1;
    run.result.out = "bad\r\nMon Dec  7 08:00:00 [info] goenabled: passed\n";
    run.result.err = "\x1b[2J\x1b]0;owned\x07 \xff\xfe tail\n";
    log_capture capture;
    mtce::host::log_script("goenabled", run);
    const auto text = capture.text();
    BOOST_TEST_INFO("log: " << text);
    BOOST_TEST(count_lines(text) == 3u);  // "failed", then one line per stream
    BOOST_TEST(text.find('\x1b') == std::string::npos);
    BOOST_TEST(text.find('\r') == std::string::npos);
    BOOST_TEST(text.find('\xff') == std::string::npos);
    BOOST_TEST(text.find("said: bad\\r\\nMon Dec  7 08:00:00 [info] goenabled: passed\n") !=
               std::string::npos);
    BOOST_TEST(text.find("said: \\x1b[2J\\x1b]0;owned\\x07 \\xff\\xfe tail\n") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_failure_reason_cannot_hold_a_line_end_from_the_script_name) {
    std::vector<script_run> runs{{"/d/10-a\nreason=forged", {}}};
    runs[0].result.started = true;
    runs[0].result.exit_code = 2;
    const auto v = mtce::host::judge(runs);
    BOOST_TEST(!v.passed);
    BOOST_TEST(v.reason == "10-a\\nreason=forged: exit code 2");
}
