// Recovery of an enabled host whose heartbeat was lost, or that rebooted on its own (reference §2.5): no
// reboot when it answers from the boot it was enabled in; tested again (and no extra reboot) when it
// rebooted; failed, rebooted once (or powered on) and tested when it does not answer. After a site's power
// loss (Dead Office Recovery, reference §3) a host is awaited instead, and tested once it is back.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/duration.hpp"
#include "fleet/fleet_policy.hpp"
#include "fleet/jobs/jobs.hpp"
#include "fleet/jobs/steps.hpp"

namespace mtce::fleet {

namespace {

/// Powers the host on when its BMC says it is off; whether it did.
asio::awaitable<bool> power_on_if_off(host_context& ctx, std::string_view task) {
    auto& h = ctx.host();
    if (!ctx.bmc_usable()) {
        co_return false;
    }
    const auto power = co_await ctx.bmc_power();
    if (!power || *power != bmc::power_state::off) {
        co_return false;
    }
    spdlog::info("host {}: its BMC reports the power off; powering it on", h.spec.name);
    ctx.set_task(fmt::format("{}: Powering On", task));
    const auto failed = co_await steps::switch_power(ctx, bmc::power_state::on, "Power-On");
    if (!failed.empty()) {
        throw job_failure{failure_cause::boot, failed};
    }
    ctx.log_event("recovery", "powered on by its BMC: it was off");
    co_return true;
}

/// Loss of communication: the host is failed; it is powered on if its BMC says it is off, else asked once to
/// reboot (its BMC resets it if it ignores that), then awaited from a new boot. While the site recovers from
/// a power loss it is not rebooted or reset, only awaited (and powered on).
asio::awaitable<void> recover_silent_host(host_context& ctx, const std::string& old_boot,
                                          std::uint64_t count) {
    auto& h = ctx.host();
    ctx.set_task(std::string{graceful_recovery_wait});
    set_oper_avail(ctx, oper_state::disabled, avail_state::failed, "loss of communication");
    const bool powered_on = co_await power_on_if_off(ctx, graceful_recovery_wait);
    if (powered_on) {
        co_await steps::await_boot(ctx, {}, h.alive_count, graceful_recovery_wait);
        co_return;
    }
    if (ctx.dor_deadline()) {
        co_await steps::await_boot(ctx, old_boot, count, graceful_recovery_wait);
        co_return;
    }
    if (!ctx.bmc_usable()) {
        ctx.send({net::command_kind::reboot, 0, 0, false, {}, 0, 0});  // once: it may just be unreachable
        co_await steps::await_boot(ctx, old_boot, count, graceful_recovery_wait);
        co_return;
    }
    co_await steps::reboot_host(ctx, net::command_kind::reboot);
    co_await steps::await_boot(ctx, old_boot, count, graceful_recovery_wait);
}

/// After a power loss: the host is awaited until the Dead Office Recovery window closes (powered on if its
/// BMC says it is off), then its self-tests and host services, which it runs on its own after boot, and a
/// heartbeat soak. It stays enabled meanwhile: nothing is failed for being late.
asio::awaitable<void> recover_from_power_loss(host_context& ctx) {
    const auto cfg = ctx.settings();
    auto& h = ctx.host();
    const auto deadline = ctx.dor_deadline().value_or(ctx.now());
    constexpr std::string_view waiting = "Dead Office Recovery: waiting for the host";
    ctx.set_task(std::string{waiting});
    auto heard_now = [&h] { return h.heard(); };
    if (!h.heard()) {
        (void)co_await power_on_if_off(ctx, waiting);
        ctx.set_task(std::string{waiting});
    }
    const bool back = co_await wait_until(ctx, heard_now, deadline);
    if (!back) {
        throw job_failure{failure_cause::boot, "Dead Office Recovery Timeout: the host is not back"};
    }
    ctx.set_task("Dead Office Recovery: testing");
    co_await steps::await_tests(ctx, "Dead Office Recovery: host services");
    ctx.set_task("Dead Office Recovery: heartbeat soak");
    ctx.start_heartbeat();
    co_await steps::soak(ctx, "Dead Office Recovery: heartbeat lost during the soak", /*retry_at_once=*/true);
    const auto took = h.mark_recovered(ctx.now());
    refresh_in_service(ctx);
    ctx.set_task({});
    set_oper_avail(ctx, oper_state::enabled, in_service_availability(h.degrade_mask),
                   "recovered after the power loss");
    if (h.has_subfunction()) {
        // Its worker subfunction is tested again too; the host is back once it is (subfunction.cpp).
        h.subfunction_recheck = true;
    } else {
        ctx.dor_check_in(/*recovered=*/true);
    }
    if (took) {
        spdlog::info("host {}: recovered after the power loss in {}", h.spec.name,
                     format_duration(std::chrono::duration_cast<std::chrono::milliseconds>(*took)));
    }
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
    if (reason == recovery_reason::power_loss) {
        co_await recover_from_power_loss(ctx);
        co_return;
    }
    if (reason == recovery_reason::config_failure) {
        // Its configuration failed in service: it is failed and enabled again in full (reference §2.10).
        throw job_failure{failure_cause::config, "Configuration Failed in service: " +
                                                     (h.alive && !h.alive->failure.empty()
                                                          ? h.alive->failure
                                                          : std::string{"the host reports it is not "
                                                                        "healthy"})};
    }
    if (reason == recovery_reason::new_boot) {
        spdlog::info("host {}: rebooted on its own; testing its new boot", h.spec.name);
        ctx.log_event("recovery", "rebooted on its own; testing it again (no further reboot)");
        co_await steps::test_and_enable(ctx);
        co_return;
    }
    // A recovery whose soak loses the heartbeat again starts over (a nest), up to the limit; the next loss
    // fails the host, which is then enabled in full.
    for (std::uint32_t nest = 0;; ++nest) {
        ctx.set_task(nest == 0 ? std::string{"Graceful Recovery"}
                               : fmt::format("Graceful Recovery (nest {} of {})", nest,
                                             cfg->controller.recovery_nest_limit));
        const auto count = h.alive_count;
        ctx.send({net::command_kind::mtcalive, 0, 0, false, {}, 0, 0});
        auto answered_now = [&] { return h.alive_count > count; };
        const bool answered =
            co_await wait_until(ctx, answered_now, ctx.now() + cfg->controller.loss_recovery_timeout);
        if (!answered) {
            co_await recover_silent_host(ctx, old_boot, count);
            break;
        }
        if (h.boot_id() != old_boot) {
            ctx.log_event("recovered", "the host rebooted; testing it again");
            break;
        }
        // Up, and it did not reboot: the network (or the host) faltered. Its heartbeat must hold again.
        ctx.start_heartbeat();
        const auto losses = h.losses;
        auto lost_now = [&] { return h.losses != losses; };
        const bool lost = co_await wait_until(ctx, lost_now, ctx.now() + cfg->controller.heartbeat_soak);
        if (!lost) {
            (void)h.mark_recovered(ctx.now());
            refresh_in_service(ctx);
            ctx.set_task({});
            set_oper_avail(ctx, oper_state::enabled, in_service_availability(h.degrade_mask),
                           "gracefully recovered");
            ctx.log_event("recovered", nest == 0 ? std::string{"gracefully recovered without a reboot"}
                                                 : fmt::format("gracefully recovered without a reboot, after "
                                                               "{} nested recoveries",
                                                               nest));
            co_return;
        }
        ctx.stop_heartbeat();
        if (nest >= cfg->controller.recovery_nest_limit) {
            throw job_failure{
                failure_cause::heartbeat,
                fmt::format("Graceful Recovery Failed: heartbeat lost again {} times in a row", nest + 1),
                /*at_once=*/true};
        }
        spdlog::warn(
            "host {}: heartbeat lost again during its graceful recovery; recovering again ({} of {})",
            h.spec.name, nest + 1, cfg->controller.recovery_nest_limit);
    }
    co_await steps::test_and_enable(ctx);
}

}  // namespace mtce::fleet
