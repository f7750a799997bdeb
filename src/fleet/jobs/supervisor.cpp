// The supervisor of one managed host: one job at a time, as next_job() says; a failure becomes the host's
// state. It never ends on its own (a supervisor that died would leave its host unsupervised).
#include <asio/error.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/this_coro.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/duration.hpp"
#include "core/tasks.hpp"
#include "fleet/jobs/jobs.hpp"
#include "fleet/jobs/steps.hpp"

namespace mtce::fleet {

namespace {

/// How long the supervisor pauses after an error of its own before it plans again.
constexpr std::chrono::seconds supervisor_backoff{1};
/// The retry of an enable that failed without a cause (an internal error), so that it cannot loop.
constexpr std::chrono::seconds internal_error_interval{30};

asio::awaitable<bool> cancelled() {
    auto state = co_await asio::this_coro::cancellation_state;
    co_return state.cancelled() != asio::cancellation_type::none;
}

bool is_request_job(job_kind k) {
    switch (k) {
    case job_kind::enable:  // an unlock, when a request is pending
    case job_kind::lock:
    case job_kind::force_lock:
    case job_kind::reboot:
    case job_kind::reset:
    case job_kind::power_on:
    case job_kind::power_off:
    case job_kind::power_cycle:
    case job_kind::reinstall:
        return true;
    default:
        return false;
    }
}

/// This controller's own failure (reference §7): it never fails itself while a peer controller exists, and
/// reboots itself (by failing, so that the retry reboots it) only up to the threshold.
void fail_self(host_context& ctx, const job_failure& f) {
    const auto cfg = ctx.settings();
    auto& h = ctx.host();
    const auto fleet = ctx.fleet();
    const auto retry = ctx.now() + retry_interval(f.cause, cfg->autorecovery);
    const auto failures = h.mark_failed(f.cause, retry);
    const auto outcome = self_failure_outcome(fleet.controllers > 1, failures, cfg->autorecovery.threshold);
    ctx.count_enable(std::nullopt, f.cause);
    if (outcome == self_failure::reboot) {
        spdlog::warn("host {}: {} (cause {}, {} in a row); it reboots itself at the next enable, in {}",
                     h.spec.name, f.task, to_string(f.cause), failures,
                     format_duration(retry_interval(f.cause, cfg->autorecovery)));
        ctx.set_task(f.task);
        set_oper_avail(ctx, oper_state::disabled, avail_state::failed, "enable failed");
        ctx.save();
        return;
    }
    // In service, degraded, with the critical alarm; no retry and no reboot of itself.
    h.retry_at.reset();
    h.degrade_mask |= degrade::critical_failure;
    const auto task =
        outcome == self_failure::degrade
            ? fmt::format("{}. Critical failure: provision or enable a standby controller", f.task)
            : fmt::format(
                  "{}. Critical failure: {} in a row, threshold reached; no more reboots "
                  "of this controller",
                  f.task, failures);
    spdlog::error("host {}: {}", h.spec.name, task);
    ctx.set_task(task);
    set_oper_avail(ctx, oper_state::enabled, avail_state::degraded, "critical failure of this controller");
    ctx.update_alarms();
    ctx.save();
}

}  // namespace

void fail(host_context& ctx, const job_failure& f) {
    const auto cfg = ctx.settings();
    auto& h = ctx.host();
    ctx.stop_heartbeat();
    if (h.self) {
        fail_self(ctx, f);
        return;
    }
    const auto failures = h.mark_failed(f.cause, ctx.now());
    ctx.count_enable(std::nullopt, f.cause);
    if (h.auto_recovery_disabled(cfg->autorecovery.threshold)) {
        // The same failure again and again: retrying it would only repeat it (reference §4).
        h.retry_at.reset();
        const auto banner = autorecovery_banner(f.cause);
        spdlog::error("host {}: {} ({} in a row, autorecovery.threshold {}): {}", h.spec.name, f.task,
                      failures, cfg->autorecovery.threshold, banner);
        ctx.log_event("autorecovery",
                      fmt::format("auto-recovery disabled after {} {} failures in a row (last: {}); lock and "
                                  "unlock the host to retry",
                                  failures, to_string(f.cause), f.task));
        ctx.set_task(banner);
        set_oper_avail(ctx, oper_state::disabled, avail_state::failed, "auto-recovery disabled");
        ctx.save();
        ctx.dor_check_in(/*recovered=*/false);
        return;
    }
    // A failure without a cause (an internal error) is not retried at once, or it could repeat in a loop.
    const std::chrono::milliseconds interval = f.at_once ? std::chrono::milliseconds{0}
                                               : f.cause == failure_cause::none
                                                   ? std::chrono::milliseconds{internal_error_interval}
                                                   : retry_interval(f.cause, cfg->autorecovery);
    h.retry_at = ctx.now() + interval;
    spdlog::warn("host {}: {} (cause {}); next enable {}", h.spec.name, f.task, to_string(f.cause),
                 interval.count() == 0 ? std::string{"at once"} : "in " + format_duration(interval));
    ctx.set_task(f.task);
    set_oper_avail(ctx, oper_state::disabled, avail_state::failed, "enable failed");
    ctx.save();
    ctx.dor_check_in(/*recovered=*/false);
}

asio::awaitable<void> run_job(host_context& ctx, job_kind job, bool from_request) {
    auto& h = ctx.host();
    spdlog::debug("host {}: {} starts", h.spec.name, to_string(job));
    try {
        switch (job) {
        case job_kind::add:
            co_await add_job(ctx);
            break;
        case job_kind::enable:
            co_await enable_job(ctx, from_request);
            break;
        case job_kind::enable_subfunction:
            co_await enable_subfunction_job(ctx);
            break;
        case job_kind::recover:
            co_await recover_job(ctx);
            break;
        case job_kind::lock:
            co_await lock_job(ctx, /*force=*/false);
            break;
        case job_kind::force_lock:
            co_await lock_job(ctx, /*force=*/true);
            break;
        case job_kind::reboot:
            co_await reboot_job(ctx, net::command_kind::reboot);
            break;
        case job_kind::reset:
            if (ctx.bmc_usable() || h.has_bmc()) {
                co_await power_job(ctx, job_kind::reset);
            } else {
                co_await reboot_job(ctx, net::command_kind::reset);
            }
            break;
        case job_kind::power_on:
        case job_kind::power_off:
        case job_kind::power_cycle:
            co_await power_job(ctx, job);
            break;
        case job_kind::reinstall:
            co_await reinstall_job(ctx);
            break;
        case job_kind::none:
            break;
        }
    } catch (const job_failure& f) {
        fail(ctx, f);
    } catch (const std::system_error& e) {
        if (e.code() == asio::error::operation_aborted) {
            throw;  // preempted or stopping: the caller knows why
        }
        spdlog::error("host {}: {} failed: {}", h.spec.name, to_string(job), e.what());
        fail(ctx, {failure_cause::none, fmt::format("Internal Error: {}", e.what())});
    } catch (const std::exception& e) {
        spdlog::error("host {}: {} failed: {}", h.spec.name, to_string(job), e.what());
        fail(ctx, {failure_cause::none, fmt::format("Internal Error: {}", e.what())});
    }
}

asio::awaitable<void> supervise(host_context& ctx) {
    using namespace asio::experimental::awaitable_operators;
    auto& h = ctx.host();
    // The job and the wait for a preempting request race; neither throws (the job's exception is a value),
    // so the race can never swallow an error or end with two of them.
    auto job_of = [&ctx](job_kind k, bool from_request) -> asio::awaitable<std::exception_ptr> {
        try {
            co_await run_job(ctx, k, from_request);
        } catch (...) {
            co_return std::current_exception();
        }
        co_return nullptr;
    };
    auto preempted = [&ctx, &h]() -> asio::awaitable<void> {
        while (!h.preempt) {
            co_await ctx.wait_change(time_point::max());
            const bool stop = co_await cancelled();
            if (stop) {
                co_return;
            }
        }
    };
    bool added = false;
    for (;;) {
        const bool stop = co_await cancelled();
        if (stop) {
            co_return;
        }
        std::exception_ptr error;
        try {
            job_kind job = job_kind::add;
            bool from_request = false;
            if (added) {
                plan_input in;
                in.states = h.states;
                in.has_subfunction = h.has_subfunction();
                in.request = h.request;
                in.recovery_due = h.recovery != recovery_reason::none;
                in.retry_at = h.retry_at;
                in.subfunction_retry_at = h.subfunction_retry_at;
                in.subfunction_recheck = h.subfunction_recheck;
                in.auto_recovery_disabled = h.auto_recovery_disabled(ctx.settings()->autorecovery.threshold);
                in.now = ctx.now();
                const auto p = next_job(in);
                if (p.job == job_kind::none) {
                    co_await ctx.wait_change(p.wake_at.value_or(time_point::max()));
                    continue;
                }
                job = p.job;
                from_request = h.request.has_value() && is_request_job(p.job);
                if (from_request) {
                    h.request.reset();
                }
            }
            h.running = job;
            h.finishing = false;
            h.preempt = false;
            std::exception_ptr ended;
            bool was_preempted = false;
            if (job == job_kind::add || job == job_kind::force_lock) {
                ended = co_await job_of(job, from_request);  // never interrupted (reference §9)
            } else {
                auto raced = co_await (job_of(job, from_request) || preempted());
                if (raced.index() == 0) {
                    ended = std::get<0>(raced);
                } else {
                    was_preempted = true;
                }
            }
            added = true;
            h.running = job_kind::none;
            h.finishing = false;
            h.preempt = false;
            if (was_preempted) {
                spdlog::info("host {}: {} interrupted by a new request", h.spec.name, to_string(job));
            }
            // A finished request is no longer pending; a new one accepted meanwhile has replaced it.
            if (from_request && !h.request && h.action != host_action::none) {
                h.action = host_action::none;
                ctx.save();
            }
            if (ended) {
                const bool stopping = co_await cancelled();
                if (stopping && is_cancellation(ended)) {
                    co_return;
                }
                error = ended;
            }
        } catch (...) {
            h.running = job_kind::none;
            error = std::current_exception();
        }
        if (error) {
            const bool stopping = co_await cancelled();
            if (stopping) {
                co_return;
            }
            // Nothing a job or a plan throws may end the supervisor: the host would be left unsupervised.
            spdlog::error("host {}: supervisor: {}; going on", h.spec.name, exception_message(error));
            added = true;
            co_await ctx.wait_change(ctx.now() + supervisor_backoff);
        }
    }
}

}  // namespace mtce::fleet
