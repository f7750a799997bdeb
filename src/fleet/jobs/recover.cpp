// Recovery of an enabled host whose heartbeat was lost, or that rebooted on its own (reference §2.5): no
// reboot when it answers from the boot it was enabled in; tested again (and no extra reboot) when it
// rebooted; failed, rebooted once (or powered on) and tested when it does not answer.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "fleet/jobs/jobs.hpp"
#include "fleet/jobs/steps.hpp"

namespace mtce::fleet {

namespace {

/// Loss of communication: the host is failed; it is powered on if its BMC says it is off, else asked once to
/// reboot (its BMC resets it if it ignores that), then awaited from a new boot.
asio::awaitable<void> recover_silent_host(host_context& ctx, const std::string& old_boot,
                                          std::uint64_t count) {
    auto& h = ctx.host();
    ctx.set_task("Graceful Recovery Wait");
    set_oper_avail(ctx, oper_state::disabled, avail_state::failed, "loss of communication");
    if (!ctx.bmc_usable()) {
        ctx.send({net::command_kind::reboot, 0, 0, false});  // once: it may just be unreachable
        co_await steps::await_boot(ctx, old_boot, count, "Graceful Recovery Wait");
        co_return;
    }
    // A host that is off cannot be reset (a reset of an Off system may simply fail): it is powered on.
    const auto power = co_await ctx.bmc_power();
    if (power && *power == bmc::power_state::off) {
        spdlog::info("host {}: its BMC reports the power off; powering it on", h.spec.name);
        ctx.set_task("Graceful Recovery Wait: Powering On");
        const auto failed = co_await steps::switch_power(ctx, bmc::power_state::on, "Power-On");
        if (!failed.empty()) {
            throw job_failure{failure_cause::boot, failed};
        }
        ctx.log_event("recovery", "powered on by its BMC: it was off");
        co_await steps::await_boot(ctx, {}, h.alive_count, "Graceful Recovery Wait");
        co_return;
    }
    co_await steps::reboot_host(ctx, net::command_kind::reboot);
    co_await steps::await_boot(ctx, old_boot, count, "Graceful Recovery Wait");
}

}  // namespace

asio::awaitable<void> recover_job(host_context& ctx) {
    const auto cfg = ctx.settings();
    auto& h = ctx.host();
    const auto reason = h.recovery;
    // The boot it was enabled in: a report from any other one means it rebooted.
    const auto old_boot = h.enabled_boot.empty() ? h.boot_id() : h.enabled_boot;
    h.begin_recovery(ctx.now());
    ctx.stop_heartbeat();
    if (reason == recovery_reason::new_boot) {
        spdlog::info("host {}: rebooted on its own; testing its new boot", h.spec.name);
        ctx.log_event("recovery", "rebooted on its own; testing it again (no further reboot)");
        co_await steps::test_and_enable(ctx);
        co_return;
    }
    ctx.set_task("Graceful Recovery");
    const auto count = h.alive_count;
    ctx.send({net::command_kind::mtcalive, 0, 0, false});
    auto answered_now = [&] { return h.alive_count > count; };
    const bool answered =
        co_await wait_until(ctx, answered_now, ctx.now() + cfg->controller.loss_recovery_timeout);
    if (answered && h.boot_id() == old_boot) {
        // Up, and it did not reboot: the network (or the host) faltered. Its heartbeat must hold again; if it
        // does not, the host is enabled again at once, in full.
        ctx.start_heartbeat();
        co_await steps::soak(ctx, "Graceful Recovery Failed: heartbeat lost again", /*retry_at_once=*/true);
        (void)h.mark_recovered(ctx.now());
        refresh_in_service(ctx);
        ctx.set_task({});
        set_oper_avail(ctx, oper_state::enabled, in_service_availability(h.degrade_mask),
                       "gracefully recovered");
        ctx.log_event("recovered", "gracefully recovered without a reboot");
        co_return;
    }
    if (!answered) {
        co_await recover_silent_host(ctx, old_boot, count);
    } else {
        ctx.log_event("recovered", "the host rebooted; testing it again");
    }
    co_await steps::test_and_enable(ctx);
}

}  // namespace mtce::fleet
