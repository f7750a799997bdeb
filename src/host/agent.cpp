#include "host/agent.hpp"

#include <spdlog/spdlog.h>

#include "core/duration.hpp"
#include "core/escape.hpp"
#include "core/files.hpp"
#include "core/inotify.hpp"
#include "host/systemd_actions.hpp"

namespace mtce::host {

struct host_agent::in_flight {
    explicit in_flight(const asio::any_io_executor& ex) : done{ex} {}
    event done;
    run_report report;
};

namespace {

constexpr int goenabled_kind = 0;
constexpr int services_kind = 1;
constexpr int boot_kind = 2;

void log_report(std::string_view what, const run_report& report) {
    for (const auto& [path, why] : report.skipped) {
        spdlog::warn("{}: skipping '{}': {}", what, escape_text(path.string()), escape_text(why));
    }
    if (report.outcome.passed) {
        spdlog::info("{}: passed ({} scripts, {}ms)", what, report.runs.size(), report.elapsed.count());
    } else {
        spdlog::error("{}: FAILED: {}", what, report.outcome.reason);
    }
}

}  // namespace

host_agent::host_agent(asio::any_io_executor ex, config_store& config, task_set& tasks)
    : ex_{std::move(ex)},
      config_{config},
      tasks_{tasks},
      flags_{config.current()->host.run_dir, read_boot_id(config.current()->agent.boot_id_file)},
      lock_{config.current()->host.state_dir, config.current()->host.run_dir} {}

std::optional<std::string> host_agent::prepare() {
    const auto cfg = config_.current();
    if (auto ec = make_directories(cfg->host.run_dir, std::filesystem::perms{0755})) {
        return "cannot create run directory '" + cfg->host.run_dir.string() + "': " + ec.message();
    }
    // The lock state is kept there: whoever may write the directory may unlock this host.
    if (auto problem = check_access(cfg->host.state_dir, file_use::directory); !problem.empty()) {
        return "host.state_dir: " + problem;
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
    isolation_probes_ = probe_isolation();
    const auto sd = probe_systemd();
    isolation_probes_.systemd_pid1 = sd.running;
    // `auto` takes transient units only for the daemon running as its own unit: started by hand, by the
    // demo or by tests, it runs its scripts itself. Asked for explicitly, wherever systemd is PID 1.
    isolation_probes_.transient_units =
        effective_isolation(cfg->host.isolation, sd) == script_isolation::systemd;
    const auto choice = choose_isolation(cfg->host.isolation, isolation_probes_);
    spdlog::info("scripts run isolated by: {} (host.script_isolation = {}){}", to_string(choice.mode),
                 to_string(cfg->host.isolation),
                 !sd.running    ? ", systemd is not PID 1"
                 : !sd.our_unit ? ", the agent does not run as an mtce unit"
                                : "");
    if (!choice.warning.empty()) {
        spdlog::warn("host.script_isolation: {}", choice.warning);
    }
    if (isolation_probes_.cgroup) {
        if (const auto cleared = clear_stale_script_cgroups(); cleared != 0) {
            spdlog::warn("removed {} script cgroup(s) left by an earlier agent, and what ran in them",
                         cleared);
        }
    }
    return std::nullopt;
}

script_isolation host_agent::script_isolation_for(const config& cfg) const {
    return choose_isolation(cfg.host.isolation, isolation_probes_).mode;
}

asio::awaitable<void> host_agent::boot() {
    co_await join_or_run({boot_kind, 0, 0}, [this] { return boot_sequence(); });
}

asio::awaitable<void> host_agent::resume_boot() {
    const run_key key{boot_kind, 0, 0};
    co_await join_or_run(key, [this] { return boot_sequence(); });
    // The sequence just joined may have passed the host services while the host was still locked.
    if (boot_left_services_for_lock_ && !lock_.locked() && !tasks_.stopping()) {
        co_await join_or_run(key, [this] { return boot_sequence(); });
    }
}

asio::awaitable<run_report> host_agent::boot_sequence() {
    // g++ 12 miscompiles co_await inside a condition: every await below is a statement of its own.
    const auto cfg = config_.current();
    boot_left_services_for_lock_ = false;
    run_report done;

    if (flags_.goenabled_passed_this_boot(context::main)) {
        spdlog::info("goenabled: main self-tests already passed this boot, not running them again");
    } else {
        const auto main_tests = co_await goenabled(context::main);
        if (!main_tests.outcome.passed) {
            co_return main_tests;
        }
    }
    if (tasks_.stopping()) {
        co_return done;
    }
    const auto main_services = co_await start_services_if_unlocked(cfg->self);
    if (main_services == start_outcome::failed || !cfg->has_worker_subfunction() || tasks_.stopping()) {
        co_return done;
    }

    if (flags_.goenabled_passed_this_boot(context::subfunction)) {
        spdlog::info("goenabled: worker subfunction self-tests already passed this boot");
    } else {
        const auto subfunction_tests = co_await goenabled(context::subfunction);
        if (!subfunction_tests.outcome.passed) {
            co_return subfunction_tests;
        }
    }
    if (tasks_.stopping()) {
        co_return done;
    }
    if (main_services == start_outcome::left_for_lock) {
        // The subfunction's services never start before the main function's.
        spdlog::info("host services (worker): not started, the host is locked");
        boot_left_services_for_lock_ = true;
        co_return done;
    }
    co_await start_services_if_unlocked(role::worker);
    co_return done;
}

asio::awaitable<run_report> host_agent::subfunction_goenabled() {
    const auto cfg = config_.current();
    // As on the original system, the subfunction is tested only once its own configuration is complete.
    const auto& marker = cfg->host.subfunction_config_marker;
    spdlog::info("goenabled: waiting up to {} for the worker configuration ('{}')",
                 format_duration(cfg->host.subfunction_config_timeout), marker.string());
    const bool configured = co_await wait_for_file(marker, cfg->host.subfunction_config_timeout);
    run_report report;
    if (!configured) {
        report.outcome = {false, "worker configuration not complete after " +
                                     format_duration(cfg->host.subfunction_config_timeout) + " ('" +
                                     marker.string() + "' missing)"};
        log_report("goenabled (worker subfunction)", report);
        if (auto ec = flags_.record_goenabled(context::subfunction, role::worker, report)) {
            spdlog::error("cannot write '{}': {}", flags_.goenabled_failed(context::subfunction).string(),
                          ec.message());
        }
        flags_changed();
        co_return report;
    }
    const std::string what = "goenabled (worker subfunction)";
    spdlog::info("{}: running self-tests in '{}'", what, cfg->host.goenabled_dir.string());
    report = co_await run_goenabled(
        *cfg, context::subfunction, [&](const script_run& run) { log_script(what, run); },
        script_isolation_for(*cfg));
    log_report(what, report);
    if (auto ec = flags_.record_goenabled(context::subfunction, role::worker, report)) {
        spdlog::error("{}: cannot write the result flag in '{}': {}", what, cfg->host.run_dir.string(),
                      ec.message());
    }
    flags_changed();
    co_return report;
}

asio::awaitable<host_agent::start_outcome> host_agent::start_services_if_unlocked(role function) {
    // A stop in flight (a lock just before the unlock) ends first: until it does, the flag below still says
    // the services were started, and they would be left stopped.
    co_await wait_for({services_kind, static_cast<int>(function), static_cast<int>(service_action::stop)});
    if (lock_.locked()) {
        spdlog::info("host services ({}): not started, the host is locked", to_string(function));
        boot_left_services_for_lock_ = true;
        co_return start_outcome::left_for_lock;
    }
    if (flags_.services_started_this_boot(function)) {
        spdlog::info("host services ({}): already started this boot", to_string(function));
        co_return start_outcome::started;
    }
    const auto report = co_await services(function, service_action::start);
    co_return report.outcome.passed ? start_outcome::started : start_outcome::failed;
}

asio::awaitable<void> host_agent::wait_for(run_key key) {
    for (;;) {
        const auto it = running_.find(key);
        if (it == running_.end()) {
            co_return;
        }
        const auto flight = it->second;
        co_await flight->done.wait();
    }
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
    if (ctx == context::subfunction) {
        return join_or_run({goenabled_kind, static_cast<int>(ctx), 0},
                           [this] { return subfunction_goenabled(); });
    }
    return join_or_run({goenabled_kind, static_cast<int>(ctx), 0}, [this]() -> asio::awaitable<run_report> {
        const auto cfg = config_.current();
        const std::string what = "goenabled";
        spdlog::info("{}: running self-tests in '{}'", what, cfg->host.goenabled_dir.string());
        auto report = co_await run_goenabled(
            *cfg, context::main, [&](const script_run& run) { log_script(what, run); },
            script_isolation_for(*cfg));
        log_report(what, report);
        if (auto ec = flags_.record_goenabled(context::main, cfg->self, report)) {
            spdlog::error("{}: cannot write the result flag in '{}': {}", what, cfg->host.run_dir.string(),
                          ec.message());
        }
        flags_changed();
        co_return report;
    });
}

asio::awaitable<run_report> host_agent::services(role function, service_action action) {
    const auto other = action == service_action::start ? service_action::stop : service_action::start;
    // Starting services that are being stopped (or the reverse) would race the two script sets.
    co_await wait_for({services_kind, static_cast<int>(function), static_cast<int>(other)});
    const run_key key{services_kind, static_cast<int>(function), static_cast<int>(action)};
    auto finished = co_await join_or_run(key, [this, function, action]() -> asio::awaitable<run_report> {
        const auto cfg = config_.current();
        const std::string what = fmt::format("host services ({} {})", to_string(function), to_string(action));
        spdlog::info("{}: running '{}'", what,
                     (cfg->host.services_dir / std::string{to_string(function)}).string());
        auto report = co_await run_services(
            *cfg, function, action, [&](const script_run& run) { log_script(what, run); },
            script_isolation_for(*cfg));
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
    co_return finished;
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
