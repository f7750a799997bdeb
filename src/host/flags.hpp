#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>

#include "core/config.hpp"
#include "host/scripts.hpp"

namespace mtce::host {

/// A goenabled run is for the host's main function or for its (all-in-one) worker subfunction.
enum class context { main, subfunction };

[[nodiscard]] std::string_view to_string(context c);

/// The flag files in `host.run_dir` that say how this boot's self-tests and host services went.
/// They are plain key=value text for other tools: `result`, `reason`, `kind`, `function`, `context`,
/// `boot_id`, `time`, `elapsed_ms`, then one `script=` line per script and one `skipped=` line per skipped
/// file. Written atomically; the pass and fail file of one run never exist together.
///
///   goenabled / goenabled_failed                 main function self-tests
///   goenabled_subf / goenabled_subf_failed       worker subfunction self-tests
///   services_<function> / services_<function>_failed   host services started / failed to start
///   boot_id                                      the boot these flags belong to
class flag_files {
public:
    flag_files(std::filesystem::path run_dir, std::string boot_id);

    [[nodiscard]] std::filesystem::path goenabled_passed(context c) const;
    [[nodiscard]] std::filesystem::path goenabled_failed(context c) const;
    [[nodiscard]] std::filesystem::path services_started(role function) const;
    [[nodiscard]] std::filesystem::path services_failed(role function) const;

    [[nodiscard]] bool goenabled_passed_this_boot(context c) const;
    [[nodiscard]] bool services_started_this_boot(role function) const;

    std::error_code record_goenabled(context c, role function, const run_report& report);
    std::error_code record_services_started(role function, context c, const run_report& report);
    /// After `stop`: the started flag goes; a failed stop is recorded in services_<function>_failed.
    std::error_code record_services_stopped(role function, context c, const run_report& report);

    /// If the flags belong to another boot, removes them and records this boot. Returns whether it did.
    bool begin_boot();

private:
    std::error_code write_report(const std::filesystem::path& pass, const std::filesystem::path& fail,
                                 std::string_view kind, role function, std::string_view ctx,
                                 const run_report& report);

    std::filesystem::path dir_;
    std::string boot_id_;
};

/// This boot's identity: the first line of `file`, or the kernel's boot id when `file` is empty.
[[nodiscard]] std::string read_boot_id(const std::filesystem::path& file);

}  // namespace mtce::host
