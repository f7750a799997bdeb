#include "host/scripts.hpp"

#include <spdlog/spdlog.h>

#include "core/escape.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <string_view>
#include <system_error>

namespace mtce::host {

namespace {

bool is_backup_name(std::string_view name) {
    static constexpr std::array<std::string_view, 6> suffixes{"~",          ".dpkg-old", ".dpkg-new",
                                                              ".dpkg-dist", ".rpmsave",  ".rpmnew"};
    return std::any_of(suffixes.begin(), suffixes.end(),
                       [&](std::string_view s) { return name.ends_with(s); });
}

}  // namespace

tl::expected<script_scan, std::string> scan_scripts(const std::filesystem::path& dir) {
    std::error_code ec;
    std::filesystem::directory_iterator it{dir, ec};
    if (ec) {
        return tl::unexpected{"cannot read directory '" + dir.string() + "': " + ec.message()};
    }
    std::vector<std::filesystem::path> entries;
    for (; it != std::filesystem::directory_iterator{}; it.increment(ec)) {
        if (ec) {
            return tl::unexpected{"cannot read directory '" + dir.string() + "': " + ec.message()};
        }
        entries.push_back(it->path());
    }
    std::sort(entries.begin(), entries.end());

    script_scan scan;
    for (const auto& path : entries) {
        const auto name = path.filename().string();
        if (name.starts_with(".")) {
            continue;  // hidden files are never scripts; not worth a warning
        }
        if (is_backup_name(name)) {
            scan.skipped.emplace_back(path, "backup or package-manager leftover");
            continue;
        }
        struct stat st {};
        if (::stat(path.c_str(), &st) != 0) {
            scan.skipped.emplace_back(path, "cannot stat: " + std::system_category().message(errno));
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            scan.skipped.emplace_back(path, "is a directory");
            continue;
        }
        if (!S_ISREG(st.st_mode)) {
            scan.skipped.emplace_back(path, "not a regular file");
            continue;
        }
        // The mode, not access(): the agent may run unprivileged while the scripts run as root (transient
        // units), and root may execute a file that has any execute bit.
        if ((st.st_mode & (S_IXUSR | S_IXGRP | S_IXOTH)) == 0) {
            scan.skipped.emplace_back(path, "not executable");
            continue;
        }
        scan.runnable.push_back(path);
    }
    return scan;
}

verdict judge(const std::vector<script_run>& runs) {
    for (const auto& run : runs) {
        if (!run.result.ok()) {
            // Escaped: the reason goes into log lines, a flag file's reason= line and mtcAlive, and a
            // script's name or its start error could hold a line end.
            return {false, escape_text(run.script.filename().string() + ": " + run.result.describe())};
        }
    }
    return {};
}

void log_script(std::string_view what, const script_run& run) {
    // Everything a script controls (its name, what it wrote) is escaped: one line of output must not forge a
    // log line or drive the terminal of whoever reads the log.
    const auto name = escape_text(run.script.filename().string());
    if (run.result.ok()) {
        spdlog::info("{}: '{}' passed in {}ms", what, name, run.result.elapsed.count());
    } else {
        spdlog::warn("{}: '{}' failed: {}", what, name, escape_text(run.result.describe()));
    }
    // Show what a failing script said; a passing one's output is only interesting when debugging.
    const auto level = run.result.ok() ? spdlog::level::debug : spdlog::level::warn;
    for (const auto* stream : {&run.result.out, &run.result.err}) {
        if (!stream->empty()) {
            spdlog::log(level, "{}: '{}' said: {}", what, name, escape_output(*stream));
        }
    }
    if (run.result.out_dropped + run.result.err_dropped != 0) {
        spdlog::log(level, "{}: '{}' wrote {} more bytes, discarded", what, name,
                    run.result.out_dropped + run.result.err_dropped);
    }
}

}  // namespace mtce::host
