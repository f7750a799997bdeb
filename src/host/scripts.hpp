#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

#include "core/child.hpp"

namespace mtce::host {

/// What a script directory holds: the executables to run, in name order, and what was skipped and why.
struct script_scan {
    std::vector<std::filesystem::path> runnable;
    std::vector<std::pair<std::filesystem::path, std::string>> skipped;
};

/// Lists the regular executable files of `dir` in name order (byte order, like run-parts in the C locale).
/// Hidden files, backup files ("~", ".dpkg-old", ".dpkg-new", ".dpkg-dist", ".rpmsave", ".rpmnew"),
/// directories and non-executable files are skipped with a reason. A missing or unreadable directory is an
/// error.
[[nodiscard]] tl::expected<script_scan, std::string> scan_scripts(const std::filesystem::path& dir);

/// One script's run.
struct script_run {
    std::filesystem::path script;
    child_result result;
};

/// The verdict over a set of script runs, in the order they were listed.
struct verdict {
    bool passed = true;
    std::string reason;  ///< empty when passed; else "<script>: <how it failed>" of the first failure
};

/// Pure: all runs ok → passed; else the first failing run (in list order) names the reason.
[[nodiscard]] verdict judge(const std::vector<script_run>& runs);

/// Logs how one script ended ("<what>: '<name>' passed/failed ...") and, for a failure (at debug level for a
/// pass), what it wrote. The name and the output are escaped (escape_text()): nothing a script writes can
/// start a log line of its own or reach a terminal as a control sequence.
void log_script(std::string_view what, const script_run& run);

}  // namespace mtce::host

namespace mtce::host {

/// Everything one run of a script set produced: the verdict, each script's result, what was skipped.
struct run_report {
    verdict outcome;
    std::vector<script_run> runs;
    std::vector<std::pair<std::filesystem::path, std::string>> skipped;
    std::chrono::milliseconds elapsed{0};
};

}  // namespace mtce::host
