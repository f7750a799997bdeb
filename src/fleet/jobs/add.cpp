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
    if (!h.enabled()) {
        h.retry_at.reset();  // enable now: whatever was in progress is started over
        co_return;
    }
    // Enabled: keep it so, unless its heartbeat says otherwise.
    if (h.self) {
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
