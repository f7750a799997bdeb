// enable: an unlock, or the retry after a failure (reference §2.2). The host is powered on or rebooted when
// it needs it, then its configuration, self-tests, host services and heartbeat soak are awaited.
#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/duration.hpp"
#include "fleet/jobs/jobs.hpp"
#include "fleet/jobs/steps.hpp"

namespace mtce::fleet {

namespace {

/// This controller's own host reboots through its agent, after a delay; the controller that starts on the
/// new boot finishes the enable (add, then an enable without a reboot).
asio::awaitable<void> reboot_self(host_context& ctx) {
    const auto cfg = ctx.settings();
    auto& h = ctx.host();
    ctx.set_task("Rebooting this controller");
    net::command c{
        net::command_kind::reboot,
        ctx.next_command_id(),
        static_cast<std::uint32_t>(
            std::chrono::duration_cast<std::chrono::seconds>(cfg->controller.self_reboot_delay).count()),
        false,
        {},
        0,
        0};
    (void)co_await request(ctx, c);
    h.replies.erase(c.id);
    co_await pause(ctx, cfg->controller.self_reboot_delay + cfg->controller.reboot_timeout);
    throw job_failure{failure_cause::boot, "Reboot Failed: this controller did not reboot"};
}

}  // namespace

asio::awaitable<void> enable_job(host_context& ctx, bool unlock) {
    const auto cfg = ctx.settings();
    auto& h = ctx.host();
    h.begin_enable(ctx.now());
    h.degrade_mask = 0;
    ctx.stop_heartbeat();
    const auto avail =
        h.states.availability == avail_state::online || h.states.availability == avail_state::offline
            ? h.states.availability
            : avail_state::failed;
    ctx.set_task(unlock ? "Unlocking" : "Enabling");
    set_oper_avail(ctx, oper_state::disabled, avail, unlock ? "unlock" : "enable retry");

    // The host learns it is unlocked (its services may start); a lost datagram is repaired by the lock
    // correction on its next mtcAlive.
    ctx.send({net::command_kind::unlock, 0, 0, false, {}, 0, 0});

    if (h.adopting && !h.heard()) {
        // The controller restarted and has not heard from the host yet: it may be booting from the reboot an
        // unlock asked for before the restart. It is given its boot time before its silence means anything,
        // unless its BMC says it is off (after a site's power loss, say): then it is powered on below.
        bool off = false;
        if (ctx.bmc_usable()) {
            const auto power = co_await ctx.bmc_power();
            off = power && *power == bmc::power_state::off;
        }
        if (!off) {
            spdlog::info("host {}: not heard from since this controller started; waiting for it to report",
                         h.spec.name);
            const auto count = h.alive_count;
            co_await steps::await_boot(ctx, {}, count, "Booting");
        }
    }

    bool powered_on = false;  // by this enable: it is booting, not hung
    if (ctx.bmc_usable() &&
        (h.states.availability == avail_state::power_off || h.bmc_state.power == bmc::power_state::off)) {
        ctx.set_task("Powering On");
        const auto failed = co_await steps::switch_power(ctx, bmc::power_state::on, "Power-On");
        if (!failed.empty()) {
            throw job_failure{failure_cause::boot, failed};
        }
        set_oper_avail(ctx, oper_state::disabled, avail_state::offline, "powered on");
        powered_on = true;
    }

    // While the site recovers from a power loss nobody is rebooted: every host has just booted.
    const bool power_loss = ctx.dor_deadline().has_value();
    const bool reachable = h.heard() && h.reachable(ctx.now(), cfg->controller.offline_window);
    const auto uptime = h.alive ? h.alive->uptime_s : 0;
    const bool failed_before = !power_loss && (alive_degrade(h.alive_flags()) & degrade::failure_flag) != 0;
    const auto old_boot = h.boot_id();
    const auto count = h.alive_count;
    const bool stale =
        !power_loss && reachable && unlock_needs_reboot(reachable, uptime, cfg->controller.fresh_boot_uptime);
    if (h.self && reachable && (stale || failed_before)) {
        // An unlock of this controller reboots it as any host; a retry after its own failure does only while
        // the rules let it reboot itself (simplex, within the threshold): else it is tested as it is.
        std::uint32_t failures = 0;
        for (const auto& [cause, n] : h.failure_counts) {
            failures = std::max(failures, n);
        }
        const bool may_reboot =
            (unlock && stale) || self_failure_outcome(ctx.fleet().controllers > 1, failures,
                                                      cfg->autorecovery.threshold) == self_failure::reboot;
        if (may_reboot) {
            co_await reboot_self(ctx);
        }
    } else if (reachable && (stale || failed_before)) {
        co_await steps::reboot_host(ctx, net::command_kind::reboot);
        co_await steps::await_boot(ctx, old_boot, count, "Booting");
    } else if (!reachable) {
        if (ctx.bmc_usable() && !powered_on && !power_loss) {
            // Up (its BMC says so) but silent: hung, or its agent dead. Rebooted, or reset by its BMC.
            co_await steps::reboot_host(ctx, net::command_kind::reboot);
            co_await steps::await_boot(ctx, old_boot, count, "Booting");
        } else {
            co_await steps::await_boot(ctx, {}, count, "Booting");
        }
    }
    co_await steps::test_and_enable(ctx);
}

}  // namespace mtce::fleet
