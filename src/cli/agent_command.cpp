// `mtce agent`: load the configuration, compose the role, run the event loop until told to stop.
#include "cli/cli.hpp"

#include <sys/stat.h>

#include <csignal>

#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/co_spawn.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/files.hpp"
#include "core/log.hpp"
#include "core/sd.hpp"
#include "core/tasks.hpp"
#include "mtce/version.hpp"
#include "role.hpp"

namespace mtce::cli {

namespace {

constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);
constexpr std::size_t min_key_bytes = 16;

/// Reads the cluster key, which must exist, be private and long enough; the config check already refused a
/// shared one. The key is the file's bytes as they are.
tl::expected<std::string, std::string> read_key(const config& cfg) {
    const auto& path = cfg.auth.key_file;
    if (auto problem = check_access(path, file_use::private_file); !problem.empty()) {
        return tl::unexpected{"auth.key_file: " + problem};
    }
    auto key = read_small_file(path, 4096);
    if (!key) {
        return tl::unexpected{
            fmt::format("auth.key_file: cannot read '{}': {}", path.string(), std::strerror(errno))};
    }
    if (key->size() < min_key_bytes) {
        return tl::unexpected{
            fmt::format("auth.key_file: '{}' holds {} bytes; a cluster key needs at least {}", path.string(),
                        key->size(), min_key_bytes)};
    }
    return std::move(*key);
}

/// Pets the systemd watchdog every WatchdogSec/2, but only while the loop keeps time: a tick that comes
/// late by more than the interval means the loop was blocked, and systemd should see that.
asio::awaitable<void> feed_watchdog(std::chrono::microseconds interval) {
    asio::steady_timer tick{co_await asio::this_coro::executor};
    auto due = std::chrono::steady_clock::now();
    for (;;) {
        due += interval;
        tick.expires_at(due);
        auto [ec] = co_await tick.async_wait(use_tuple);
        if (ec) {
            co_return;
        }
        const auto late = std::chrono::steady_clock::now() - due;
        if (late < interval) {
            sd::notify("WATCHDOG=1");
        } else {
            spdlog::warn("event loop stalled for {}ms: watchdog not fed",
                         std::chrono::duration_cast<std::chrono::milliseconds>(late).count());
            due = std::chrono::steady_clock::now();
        }
    }
}

/// Waits for signals: SIGHUP reloads, SIGTERM/SIGINT stop. Stopping drains the role's tasks within
/// agent.drain_timeout, then cancels what is left (scripts' process groups are killed by their runners).
asio::awaitable<void> supervise(asio::signal_set& signals, task_set& tasks, config_store& store,
                                const agent_options& options) {
    auto ex = co_await asio::this_coro::executor;

    asio::cancellation_signal stop_watchdog;
    if (auto interval = sd::watchdog_interval()) {
        asio::co_spawn(ex, feed_watchdog(*interval),
                       asio::bind_cancellation_slot(stop_watchdog.slot(), [](const std::exception_ptr& e) {
                           // Without the feeder systemd restarts us at WatchdogSec: say why in the journal.
                           if (e) {
                               spdlog::error("watchdog feeder failed: {}", exception_message(e));
                           }
                       }));
    }
    sd::notify(fmt::format("READY=1\nSTATUS=Running as {}", to_string(store.current()->self)));
    spdlog::info("mtce {} running as {} on '{}'", project_version, to_string(store.current()->self),
                 store.current()->agent.hostname);

    for (;;) {
        using namespace asio::experimental::awaitable_operators;
        auto woken = co_await (signals.async_wait(use_tuple) || tasks.until_stop());
        if (woken.index() == 1) {
            spdlog::error("a task failed: stopping");
            break;
        }
        auto [ec, signo] = std::get<0>(woken);
        if (ec) {
            throw std::system_error{ec, "waiting for signals"};
        }
        if (signo != SIGHUP) {
            spdlog::info("received {}, stopping", signo == SIGTERM ? "SIGTERM" : "SIGINT");
            break;
        }
        sd::notify("RELOADING=1");
        if (auto result = store.reload(); !result) {
            for (const auto& e : result.error()) {
                spdlog::error("reload: {}", e.to_string());
            }
            spdlog::error("reload: keeping the configuration in force");
        } else {
            (void)set_log_level(options.log_level.value_or(store.current()->agent.log_level));
            spdlog::info("reload: configuration '{}' is in force", store.path().string());
        }
        sd::notify("READY=1");
    }

    const auto drain = store.current()->agent.drain_timeout;
    sd::notify(fmt::format("STOPPING=1\nSTATUS=Draining running work (up to {}ms)", drain.count()));
    tasks.request_stop();
    const bool drained = co_await tasks.drained_within(drain);
    if (!drained) {
        spdlog::warn("{} task(s) still running after {}ms, cancelling them", tasks.running(), drain.count());
        tasks.abort();
        const auto grace = store.current()->host.kill_grace + std::chrono::seconds{2};
        const bool ended = co_await tasks.drained_within(grace);
        if (!ended) {
            spdlog::error("{} task(s) did not end after cancellation", tasks.running());
        }
    }
    stop_watchdog.emit(asio::cancellation_type::terminal);
    spdlog::info("stopped");
}

}  // namespace

int run_agent(const agent_options& options) {
    auto loaded = load_config(options.config_path, options.self);
    if (!loaded) {
        for (const auto& e : loaded.error()) {
            fmt::print(stderr, "mtce: {}\n", e.to_string());
        }
        return exit_usage;
    }
    auto key = read_key(*loaded);
    if (!key) {
        fmt::print(stderr, "mtce: {}: {}\n", options.config_path.string(), key.error());
        return exit_usage;
    }
    init_logging(options.foreground, options.log_level.value_or(loaded->agent.log_level));

    asio::io_context io{1};
    task_set tasks{io.get_executor()};
    config_store store{options.config_path, options.self, std::move(*loaded)};
    roles::role_context ctx{io.get_executor(), store, tasks, std::move(*key)};

    // Handle the signals before the role can start anything, so an early SIGTERM is a clean stop too.
    asio::signal_set signals{io, SIGTERM, SIGINT, SIGHUP};
    auto composed = roles::start(options.self, ctx);
    if (!composed) {
        spdlog::critical("cannot start the {} role: {}", to_string(options.self), composed.error());
        // What the role spawned before it failed never runs (what it uses is gone): the loop stops for good,
        // and the tasks are destroyed with it.
        io.stop();
        return exit_failed;
    }

    bool supervisor_failed = false;
    asio::co_spawn(io, supervise(signals, tasks, store, options), [&](const std::exception_ptr& e) {
        if (e) {
            supervisor_failed = true;
            spdlog::critical("supervisor failed: {}", exception_message(e));
            tasks.request_stop();
            tasks.abort();
        }
        io.stop();
    });
    io.run();
    return supervisor_failed || tasks.failed() ? exit_failed : exit_ok;
}

}  // namespace mtce::cli
