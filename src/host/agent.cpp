#include "host/agent.hpp"

#include <spdlog/spdlog.h>

#include "core/duration.hpp"
#include "core/files.hpp"
#include "core/inotify.hpp"

namespace mtce::host {

struct host_agent::in_flight {
    explicit in_flight(asio::any_io_executor ex) : done{ex} {}
    event done;
    run_report report;
};

namespace {

constexpr int goenabled_kind = 0;
constexpr int services_kind = 1;

void log_script(std::string_view what, const script_run& run) {
    const auto name = run.script.filename().string();
    if (run.result.ok()) {
        spdlog::info("{}: '{}' passed in {}ms", what, name, run.result.elapsed.count());
    } else {
        spdlog::warn("{}: '{}' failed: {}", what, name, run.result.describe());
    }
    // Show what a failing script said; a passing one's output is only interesting when debugging.
    const auto level = run.result.ok() ? spdlog::level::debug : spdlog::level::warn;
    for (const auto* stream : {&run.result.out, &run.result.err}) {
        if (!stream->empty()) {
            spdlog::log(level, "{}: '{}' said: {}", what, name, *stream);
        }
    }
    if (run.result.out_dropped + run.result.err_dropped != 0) {
        spdlog::log(level, "{}: '{}' wrote {} more bytes, discarded", what, name,
                    run.result.out_dropped + run.result.err_dropped);
    }
}

void log_report(std::string_view what, const run_report& report) {
    for (const auto& [path, why] : report.skipped) {
        spdlog::warn("{}: skipping '{}': {}", what, path.string(), why);
    }
    if (report.outcome.passed) {
        spdlog::info("{}: passed ({} scripts, {}ms)", what, report.runs.size(), report.elapsed.count());
    } else {
        spdlog::error("{}: FAILED: {}", what, report.outcome.reason);
    }
}

}  // namespace

host_agent::host_agent(asio::any_io_executor ex, config_store& config, task_set& tasks)
    : ex_{ex},
      config_{config},
      tasks_{tasks},
      flags_{config.current()->host.run_dir, read_boot_id(config.current()->agent.boot_id_file)},
      lock_{config.current()->host.state_dir, config.current()->host.run_dir} {}

std::optional<std::string> host_agent::prepare() {
    const auto cfg = config_.current();
    if (auto ec = make_directories(cfg->host.run_dir, std::filesystem::perms{0755})) {
        return "cannot create run directory '" + cfg->host.run_dir.string() + "': " + ec.message();
    }
    if (auto ec = make_directories(cfg->host.state_dir, std::filesystem::perms{0700})) {
        return "cannot create state directory '" + cfg->host.state_dir.string() + "': " + ec.message();
    }
    if (read_boot_id(cfg->agent.boot_id_file).empty()) {
        return "cannot read the boot id from '" +
               (cfg->agent.boot_id_file.empty() ? std::string{"/proc/sys/kernel/random/boot_id"}
                                                : cfg->agent.boot_id_file.string()) +
               "'";
    }
    if (flags_.begin_boot()) {
        spdlog::info("new boot: flags from an earlier boot cleared in '{}'", cfg->host.run_dir.string());
    }
    if (auto ec = lock_.load()) {
        return "cannot restore the lock state in '" + cfg->host.state_dir.string() + "': " + ec.message();
    }
    spdlog::info("host '{}' is {}", cfg->agent.hostname, lock_.locked() ? "locked" : "unlocked");
    return std::nullopt;
}

asio::awaitable<void> host_agent::boot() {
    // g++ 12 miscompiles co_await inside a condition: every await below is a statement of its own.
    const auto cfg = config_.current();

    if (flags_.goenabled_passed_this_boot(context::main)) {
        spdlog::info("goenabled: main self-tests already passed this boot, not running them again");
    } else {
        const auto main_tests = co_await goenabled(context::main);
        if (!main_tests.outcome.passed) {
            co_return;
        }
    }
    if (tasks_.stopping()) {
        co_return;
    }
    const bool main_services = co_await start_services_if_unlocked(cfg->self);
    if (!main_services || !cfg->has_worker_subfunction() || tasks_.stopping()) {
        co_return;
    }

    const bool subfunction_tests = co_await subfunction_goenabled();
    if (!subfunction_tests || tasks_.stopping()) {
        co_return;
    }
    co_await start_services_if_unlocked(role::worker);
}

asio::awaitable<bool> host_agent::subfunction_goenabled() {
    const auto cfg = config_.current();
    if (flags_.goenabled_passed_this_boot(context::subfunction)) {
        spdlog::info("goenabled: worker subfunction self-tests already passed this boot");
        co_return true;
    }
    // As on the original system, the subfunction is tested only once its own configuration is complete.
    const auto& marker = cfg->host.subfunction_config_marker;
    spdlog::info("goenabled: waiting up to {} for the worker configuration ('{}')",
                 format_duration(cfg->host.subfunction_config_timeout), marker.string());
    const bool configured = co_await wait_for_file(marker, cfg->host.subfunction_config_timeout);
    if (!configured) {
        run_report report;
        report.outcome = {false, "worker configuration not complete after " +
                                     format_duration(cfg->host.subfunction_config_timeout) + " ('" +
                                     marker.string() + "' missing)"};
        log_report("goenabled (worker subfunction)", report);
        if (auto ec = flags_.record_goenabled(context::subfunction, role::worker, report)) {
            spdlog::error("cannot write '{}': {}", flags_.goenabled_failed(context::subfunction).string(),
                          ec.message());
        }
        flags_changed();
        co_return false;
    }
    const auto report = co_await goenabled(context::subfunction);
    co_return report.outcome.passed;
}

asio::awaitable<bool> host_agent::start_services_if_unlocked(role function) {
    if (lock_.locked()) {
        spdlog::info("host services ({}): not started, the host is locked", to_string(function));
        co_return true;
    }
    if (flags_.services_started_this_boot(function)) {
        spdlog::info("host services ({}): already started this boot", to_string(function));
        co_return true;
    }
    const auto report = co_await services(function, service_action::start);
    co_return report.outcome.passed;
}

asio::awaitable<run_report> host_agent::join_or_run(run_key key,
                                                    std::function<asio::awaitable<run_report>()> start) {
    if (auto it = running_.find(key); it != running_.end()) {
        auto flight = it->second;
        co_await flight->done.wait();
        co_return flight->report;
    }
    auto flight = std::make_shared<in_flight>(ex_);
    running_.emplace(key, flight);
    try {
        flight->report = co_await start();
    } catch (...) {
        flight->report.outcome = {false, "cancelled"};
        running_.erase(key);
        flight->done.set();
        throw;
    }
    running_.erase(key);
    flight->done.set();
    co_return flight->report;
}

asio::awaitable<run_report> host_agent::goenabled(context ctx) {
    return join_or_run(
        {goenabled_kind, static_cast<int>(ctx), 0}, [this, ctx]() -> asio::awaitable<run_report> {
            const auto cfg = config_.current();
            const role function = ctx == context::main ? cfg->self : role::worker;
            const std::string what = ctx == context::main ? "goenabled" : "goenabled (worker subfunction)";
            spdlog::info("{}: running self-tests in '{}'", what, cfg->host.goenabled_dir.string());
            auto report =
                co_await run_goenabled(*cfg, ctx, [&](const script_run& run) { log_script(what, run); });
            log_report(what, report);
            if (auto ec = flags_.record_goenabled(ctx, function, report)) {
                spdlog::error("{}: cannot write the result flag in '{}': {}", what,
                              cfg->host.run_dir.string(), ec.message());
            }
            flags_changed();
            co_return report;
        });
}

asio::awaitable<run_report> host_agent::services(role function, service_action action) {
    const run_key key{services_kind, static_cast<int>(function), static_cast<int>(action)};
    return join_or_run(key, [this, function, action]() -> asio::awaitable<run_report> {
        const auto cfg = config_.current();
        const std::string what = fmt::format("host services ({} {})", to_string(function), to_string(action));
        spdlog::info("{}: running '{}'", what,
                     (cfg->host.services_dir / std::string{to_string(function)}).string());
        auto report = co_await run_services(*cfg, function, action,
                                            [&](const script_run& run) { log_script(what, run); });
        log_report(what, report);
        const auto ctx = function == cfg->self ? context::main : context::subfunction;
        const auto ec = action == service_action::start
                            ? flags_.record_services_started(function, ctx, report)
                            : flags_.record_services_stopped(function, ctx, report);
        if (ec) {
            spdlog::error("{}: cannot write the result flag in '{}': {}", what, cfg->host.run_dir.string(),
                          ec.message());
        }
        flags_changed();
        co_return report;
    });
}

std::error_code host_agent::set_locked(bool locked) {
    auto ec = lock_.set(locked);
    if (!ec) {
        spdlog::info("host is now {}", locked ? "locked" : "unlocked");
    }
    flags_changed();
    return ec;
}

void host_agent::flags_changed() const {
    for (const auto& f : flag_observers_) {
        f();
    }
}

}  // namespace mtce::host
