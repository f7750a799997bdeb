// add: what the host is doing, learned without disturbing it (the controller started, or the host was just
// added; reference §2.1).
#include <spdlog/spdlog.h>

#include "fleet/jobs/jobs.hpp"
#include "fleet/jobs/steps.hpp"

namespace mtce::fleet {

asio::awaitable<void> add_job(host_context& ctx) {
    const auto cfg = ctx.settings();
    auto& h = ctx.host();
    if (h.action != host_action::none && h.action != host_action::remove) {
        spdlog::info("host {}: resuming the accepted '{}'", h.spec.name, to_string(h.action));
        h.request = h.action;
    }
    if (h.locked()) {
        co_return;  // its availability follows its mtcAlive (the fleet's audit)
    }
    const bool power_loss = ctx.dor_deadline().has_value();
    if (h.auto_recovery_disabled(cfg->autorecovery.threshold)) {
        ctx.dor_check_in(/*recovered=*/false);  // it stays as it is until a person locks and unlocks it
        co_return;
    }
    if (!h.enabled()) {
        h.retry_at.reset();  // enable now: whatever was in progress is started over
        co_return;
    }
    // Enabled: keep it so, unless its heartbeat says otherwise.
    if (h.self) {
        if (power_loss && h.has_subfunction()) {
            // After a power loss the worker subfunction is tested again once its own configuration is done
            // (reference §3): this controller is back when its subfunction is.
            h.subfunction_recheck = true;
        } else if (power_loss) {
            // Back once its own self-tests and host services, which its agent runs after boot, have passed.
            ctx.set_task("Dead Office Recovery: testing");
            co_await steps::await_tests(ctx, "Dead Office Recovery: host services");
            ctx.set_task({});
            ctx.dor_check_in(/*recovered=*/true);
        }
        co_return;
    }
    if (power_loss) {
        (void)h.recovery_due(recovery_reason::power_loss);  // awaited, then tested: recover_job
        co_return;
    }
    if (!h.task.empty() && h.cause == failure_cause::none) {
        ctx.set_task({});
    }
    ctx.start_heartbeat();
    const auto losses = h.losses;
    auto lost_now = [&] { return h.losses != losses; };
    const bool lost = co_await wait_until(ctx, lost_now, ctx.now() + cfg->controller.heartbeat_soak);
    if (lost) {
        spdlog::warn("host {}: heartbeat lost while the controller was learning its state", h.spec.name);
        (void)h.recovery_due(recovery_reason::heartbeat_loss);
    }
}

}  // namespace mtce::fleet
