#include "host/sequences.hpp"

#include <list>
#include <memory>

#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/co_spawn.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

namespace mtce::host {

namespace {

constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);
using clock = std::chrono::steady_clock;

std::chrono::milliseconds since(clock::time_point start) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - start);
}

/// Runs every child at once and returns their results in input order. If the caller is cancelled, the
/// cancellation is passed to every child (which kills its group), they are awaited, and the call rethrows.
asio::awaitable<std::vector<child_result>> run_all(std::vector<child_spec> specs,
                                                   const script_observer& observer) {
    auto ex = co_await asio::this_coro::executor;
    struct shared_state {
        explicit shared_state(const asio::any_io_executor& e, std::size_t n)
            : results(n), remaining{n}, done{e, asio::steady_timer::time_point::max()} {}
        std::vector<child_result> results;
        std::size_t remaining;
        asio::steady_timer done;
        std::list<asio::cancellation_signal> signals;
        std::exception_ptr error;
    };
    auto st = std::make_shared<shared_state>(ex, specs.size());
    for (std::size_t i = 0; i < specs.size(); ++i) {
        auto program = specs[i].program;
        auto& signal = st->signals.emplace_back();
        asio::co_spawn(
            ex, run_child(std::move(specs[i])),
            asio::bind_cancellation_slot(
                signal.slot(), [st, i, program, &observer](const std::exception_ptr& e, child_result r) {
                    if (e) {
                        st->error = st->error ? st->error : e;
                    } else {
                        if (observer) {
                            observer(script_run{program, r});
                        }
                        st->results[i] = std::move(r);
                    }
                    if (--st->remaining == 0) {
                        st->done.cancel();
                    }
                }));
    }
    bool cancelled = false;
    while (st->remaining != 0) {
        co_await st->done.async_wait(use_tuple);
        auto cs = co_await asio::this_coro::cancellation_state;
        if (st->remaining != 0 && cs.cancelled() != asio::cancellation_type::none && !cancelled) {
            cancelled = true;
            for (auto& s : st->signals) {
                s.emit(asio::cancellation_type::terminal);
            }
            co_await asio::this_coro::reset_cancellation_state();
        }
    }
    if (cancelled) {
        throw std::system_error{asio::error::operation_aborted, "script set cancelled"};
    }
    if (st->error) {
        std::rethrow_exception(st->error);
    }
    co_return std::move(st->results);
}

child_spec script_spec(const config& cfg, const std::filesystem::path& script, std::string arg,
                       std::chrono::milliseconds deadline, role function, std::string_view ctx,
                       script_isolation isolation) {
    child_spec spec;
    spec.isolation = isolation;
    spec.program = script;
    spec.args = {std::move(arg)};
    spec.env = script_env(cfg, function, ctx);
    spec.cwd = "/";
    spec.deadline = deadline;
    spec.kill_grace = cfg.host.kill_grace;
    spec.output_limit = cfg.host.output_limit;
    return spec;
}

}  // namespace

std::string_view to_string(service_action a) {
    return a == service_action::start ? "start" : "stop";
}

std::vector<std::pair<std::string, std::string>> script_env(const config& cfg, role function,
                                                            std::string_view ctx) {
    std::string functions;
    for (auto f : cfg.functions()) {
        functions += (functions.empty() ? "" : ",") + std::string{to_string(f)};
    }
    return script_environment({
        {"MTCE_ROLE", std::string{to_string(cfg.self)}},
        {"MTCE_FUNCTION", std::string{to_string(function)}},
        {"MTCE_CONTEXT", std::string{ctx}},
        {"MTCE_FUNCTIONS", functions},
        {"MTCE_HOSTNAME", cfg.agent.hostname},
        {"MTCE_RUN_DIR", cfg.host.run_dir.string()},
        {"MTCE_STATE_DIR", cfg.host.state_dir.string()},
    });
}

asio::awaitable<run_report> run_goenabled(const config& cfg, context ctx, script_observer observer,
                                          script_isolation isolation) {
    const auto started = clock::now();
    run_report report;
    auto scan = scan_scripts(cfg.host.goenabled_dir);
    if (!scan) {
        report.outcome = {false, scan.error()};
        co_return report;
    }
    report.skipped = std::move(scan->skipped);
    const role function = ctx == context::main ? cfg.self : role::worker;
    std::vector<child_spec> specs;
    for (const auto& script : scan->runnable) {
        specs.push_back(script_spec(cfg, script, "start", cfg.host.goenabled_timeout, function,
                                    to_string(ctx), isolation));
    }
    auto results = co_await run_all(std::move(specs), observer);
    for (std::size_t i = 0; i < results.size(); ++i) {
        report.runs.push_back({scan->runnable[i], std::move(results[i])});
    }
    report.outcome = judge(report.runs);
    report.elapsed = since(started);
    co_return report;
}

asio::awaitable<run_report> run_services(const config& cfg, role function, service_action action,
                                         script_observer observer, script_isolation isolation) {
    const auto started = clock::now();
    run_report report;
    auto scan = scan_scripts(cfg.host.services_dir / std::string{to_string(function)});
    if (!scan) {
        report.outcome = {false, scan.error()};
        co_return report;
    }
    report.skipped = std::move(scan->skipped);
    auto scripts = std::move(scan->runnable);
    const auto ctx = to_string(function == cfg.self ? context::main : context::subfunction);
    if (action == service_action::stop) {
        std::reverse(scripts.begin(), scripts.end());
    }
    for (const auto& script : scripts) {
        auto result = co_await run_child(script_spec(cfg, script, std::string{to_string(action)},
                                                     cfg.host.services_timeout, function, ctx, isolation));
        script_run run{script, std::move(result)};
        if (observer) {
            observer(run);
        }
        const bool failed = !run.result.ok();
        report.runs.push_back(std::move(run));
        if (failed && action == service_action::start) {
            break;
        }
    }
    report.outcome = judge(report.runs);
    report.elapsed = since(started);
    co_return report;
}

}  // namespace mtce::host
