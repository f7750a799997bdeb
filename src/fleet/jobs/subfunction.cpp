// The worker subfunction of an all-in-one controller, after its main function (reference §2.4): its
// configuration, its self-tests, its host services.
#include <fmt/format.h>

#include "core/duration.hpp"
#include "fleet/jobs/jobs.hpp"
#include "fleet/jobs/steps.hpp"

namespace mtce::fleet {

namespace {

/// The subfunction's steps; throws job_failure naming the step.
asio::awaitable<void> test_subfunction(host_context& ctx) {
    const auto cfg = ctx.settings();
    // The host waits for its own configuration up to host.subfunction_config_timeout and then says why it
    // gave up; the controller waits a little longer, so that the host's reason reaches the task.
    const auto configured = co_await steps::await_verdict(
        ctx, [](const net::alive_report& a, bool) { return judge_subfunction_config(a); },
        /*subfunction=*/true, ctx.now() + cfg->controller.subfunction_config_timeout);
    if (configured.result == step::failed) {
        throw job_failure{failure_cause::subfunction, "Worker Configuration Failed: " + configured.reason};
    }
    if (configured.result == step::pending) {
        throw job_failure{failure_cause::subfunction,
                          fmt::format("Worker Configuration Timeout: not configured within {}",
                                      format_duration(cfg->controller.subfunction_config_timeout))};
    }
    const auto tests = co_await steps::await_verdict(ctx, judge_goenabled, /*subfunction=*/true,
                                                     ctx.now() + cfg->controller.goenabled_timeout);
    if (tests.result == step::failed) {
        throw job_failure{failure_cause::goenabled, "Worker In-Test Failed: " + tests.reason};
    }
    if (tests.result == step::pending) {
        throw job_failure{failure_cause::goenabled,
                          fmt::format("Worker In-Test Timeout: no self-test result within {}",
                                      format_duration(cfg->controller.goenabled_timeout))};
    }
    const auto services = co_await steps::await_verdict(ctx, judge_services, /*subfunction=*/true,
                                                        ctx.now() + cfg->controller.services_timeout);
    if (services.result == step::failed) {
        throw job_failure{failure_cause::services, "Worker Host Services Failed: " + services.reason};
    }
    if (services.result == step::pending) {
        throw job_failure{failure_cause::services,
                          fmt::format("Worker Host Services Timeout: not started within {}",
                                      format_duration(cfg->controller.services_timeout))};
    }
}

}  // namespace

asio::awaitable<void> enable_subfunction_job(host_context& ctx) {
    const auto cfg = ctx.settings();
    auto& h = ctx.host();
    // A recheck (after a power loss) leaves an enabled subfunction in service while it is tested.
    const bool recheck = h.subfunction_recheck && h.states.subfunction_operational == oper_state::enabled;
    h.subfunction_recheck = false;
    if (recheck) {
        ctx.set_task("Dead Office Recovery: worker subfunction");
    } else {
        auto states = h.states;
        states.subfunction_operational = oper_state::disabled;
        states.subfunction_availability = avail_state::intest;
        ctx.set_task("Enabling Worker Subfunction");
        ctx.set_states(states, "subfunction enable");
    }
    try {
        co_await test_subfunction(ctx);
    } catch (const job_failure& f) {
        if (!h.self) {
            throw;  // a peer is failed and enabled again as a whole (reference §2.4)
        }
        // This controller never fails itself: the subfunction fails, the host is degraded, and the
        // subfunction's enable is tried again after the cause's interval.
        h.mark_subfunction_failed(ctx.now() + retry_interval(f.cause, cfg->autorecovery));
        auto failed = h.states;
        failed.subfunction_operational = oper_state::disabled;
        failed.subfunction_availability = avail_state::failed;
        failed.availability = in_service_availability(h.degrade_mask);
        ctx.set_task(f.task);
        ctx.set_states(failed, "subfunction failed");
        ctx.dor_check_in(/*recovered=*/false);
        co_return;
    }
    h.mark_subfunction_enabled();
    auto enabled = h.states;
    enabled.subfunction_operational = oper_state::enabled;
    enabled.subfunction_availability = avail_state::available;
    enabled.availability = in_service_availability(h.degrade_mask);
    ctx.set_task({});
    ctx.set_states(enabled, "subfunction enabled");
    ctx.dor_check_in(/*recovered=*/true);
}

}  // namespace mtce::fleet
