#include "host/flags.hpp"

#include <ctime>

#include <fmt/format.h>

#include "core/escape.hpp"
#include "core/files.hpp"

namespace mtce::host {

std::string_view to_string(context c) {
    return c == context::main ? "main" : "subfunction";
}

namespace {

std::string utc_now() {
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    ::gmtime_r(&now, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::string first_line(std::string s) {
    if (auto nl = s.find('\n'); nl != std::string::npos) {
        s.resize(nl);
    }
    return s;
}

}  // namespace

std::string read_boot_id(const std::filesystem::path& file) {
    const auto source = file.empty() ? std::filesystem::path{"/proc/sys/kernel/random/boot_id"} : file;
    auto text = read_small_file(source, 256);
    return text ? first_line(*text) : std::string{};
}

flag_files::flag_files(std::filesystem::path run_dir, std::string boot_id)
    : dir_{std::move(run_dir)}, boot_id_{std::move(boot_id)} {}

std::filesystem::path flag_files::goenabled_passed(context c) const {
    return dir_ / (c == context::main ? "goenabled" : "goenabled_subf");
}

std::filesystem::path flag_files::goenabled_failed(context c) const {
    return dir_ / (c == context::main ? "goenabled_failed" : "goenabled_subf_failed");
}

std::filesystem::path flag_files::services_started(role function) const {
    return dir_ / fmt::format("services_{}", to_string(function));
}

std::filesystem::path flag_files::services_failed(role function) const {
    return dir_ / fmt::format("services_{}_failed", to_string(function));
}

bool flag_files::goenabled_passed_this_boot(context c) const {
    std::error_code ec;
    return std::filesystem::exists(goenabled_passed(c), ec);
}

bool flag_files::services_started_this_boot(role function) const {
    std::error_code ec;
    return std::filesystem::exists(services_started(function), ec);
}

std::error_code flag_files::write_report(const std::filesystem::path& pass, const std::filesystem::path& fail,
                                         std::string_view kind, role function, std::string_view ctx,
                                         const run_report& report) {
    std::string text = fmt::format(
        "result={}\nreason={}\nkind={}\nfunction={}\ncontext={}\nboot_id={}\ntime={}\n"
        "elapsed_ms={}\n",
        report.outcome.passed ? "passed" : "failed", report.outcome.reason, kind, to_string(function), ctx,
        boot_id_, utc_now(), report.elapsed.count());
    for (const auto& run : report.runs) {
        text += fmt::format("script={} {}\n", escape_text(run.script.string()),
                            escape_text(run.result.describe()));
    }
    for (const auto& [path, why] : report.skipped) {
        text += fmt::format("skipped={} {}\n", escape_text(path.string()), escape_text(why));
    }
    const auto& keep = report.outcome.passed ? pass : fail;
    const auto& drop = report.outcome.passed ? fail : pass;
    if (auto ec = remove_file(drop)) {
        return ec;
    }
    return write_file_atomic(keep, text);
}

std::error_code flag_files::record_goenabled(context c, role function, const run_report& report) {
    return write_report(goenabled_passed(c), goenabled_failed(c), "goenabled", function, to_string(c),
                        report);
}

std::error_code flag_files::record_services_started(role function, context c, const run_report& report) {
    return write_report(services_started(function), services_failed(function), "services-start", function,
                        to_string(c), report);
}

std::error_code flag_files::record_services_stopped(role function, context c, const run_report& report) {
    if (report.outcome.passed) {
        if (auto ec = remove_file(services_failed(function))) {
            return ec;
        }
        return remove_file(services_started(function));
    }
    return write_report(services_started(function), services_failed(function), "services-stop", function,
                        to_string(c), report);
}

bool flag_files::begin_boot() {
    const auto recorded = read_small_file(dir_ / "boot_id", 256);
    if (recorded && first_line(*recorded) == boot_id_) {
        return false;
    }
    for (auto c : {context::main, context::subfunction}) {
        (void)remove_file(goenabled_passed(c));
        (void)remove_file(goenabled_failed(c));
    }
    for (auto f : {role::controller, role::worker, role::storage}) {
        (void)remove_file(services_started(f));
        (void)remove_file(services_failed(f));
    }
    (void)write_file_atomic(dir_ / "boot_id", boot_id_ + "\n");
    return true;
}

}  // namespace mtce::host
