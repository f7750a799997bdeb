// power-on, power-off, power-cycle and reset of a locked host through its BMC (reference §2.8). Power-on
// and power-off are verified by polling the power state: a BMC may say yes and do nothing.
#include <algorithm>

#include <fmt/format.h>

#include "fleet/jobs/jobs.hpp"
#include "fleet/jobs/steps.hpp"

namespace mtce::fleet {

namespace {

asio::awaitable<std::string> power_on(host_context& ctx) {
    auto& h = ctx.host();
    ctx.set_task("Powering On");
    auto done = co_await steps::switch_power(ctx, bmc::power_state::on, "Power-On");
    if (!done.empty()) {
        co_return done;
    }
    if (h.states.availability == avail_state::power_off) {
        set_oper_avail(ctx, oper_state::disabled, avail_state::offline, "powered on");
    }
    h.clear_autorecovery();  // a power-on or power-off starts auto-recovery afresh (reference §4)
    ctx.save();
    co_return std::string{"Power-On Completed"};
}

asio::awaitable<std::string> power_off(host_context& ctx) {
    ctx.set_task("Powering Off");
    auto done = co_await steps::switch_power(ctx, bmc::power_state::off, "Power-Off");
    if (!done.empty()) {
        co_return done;
    }
    set_oper_avail(ctx, oper_state::disabled, avail_state::power_off, "powered off");
    ctx.host().clear_autorecovery();
    ctx.save();
    co_return std::string{"Power-Off Completed"};
}

asio::awaitable<std::string> power_cycle(host_context& ctx) {
    const auto cfg = ctx.settings();
    auto& h = ctx.host();
    ctx.set_task("Power Cycling");
    const auto& types = h.bmc_caps.reset_types;
    std::string done;
    if (std::find(types.begin(), types.end(), "PowerCycle") != types.end()) {
        const auto r = co_await ctx.bmc_act(bmc_request::power_cycle);
        if (!r) {
            co_return bmc_failure("Power-Cycle", r.error());
        }
        steps::request_carried_out(ctx);
        const bool back = co_await steps::await_power(ctx, bmc::power_state::on, cfg->bmc.power_on_timeout);
        if (!back) {
            co_return std::string{"Power-Cycle Failed: the power did not come back on"};
        }
    } else {
        done = co_await steps::switch_power(ctx, bmc::power_state::off, "Power-Cycle");
        if (done.empty()) {
            steps::request_carried_out(ctx);
            done = co_await steps::switch_power(ctx, bmc::power_state::on, "Power-Cycle");
        }
        if (!done.empty()) {
            co_return done;
        }
    }
    if (h.states.availability == avail_state::power_off) {
        set_oper_avail(ctx, oper_state::disabled, avail_state::offline, "power cycled");
    }
    co_return std::string{"Power-Cycle Completed"};
}

asio::awaitable<std::string> reset(host_context& ctx) {
    auto& h = ctx.host();
    ctx.set_task("Resetting");
    const auto old_boot = h.boot_id();
    const auto count = h.alive_count;
    const auto since = ctx.now();
    const auto now_state = co_await ctx.bmc_power();
    if (!now_state) {
        co_return bmc_failure("Reset", now_state.error());
    }
    if (*now_state == bmc::power_state::off) {
        set_oper_avail(ctx, oper_state::disabled, avail_state::power_off, "its BMC reports the power off");
        co_return fmt::format("Reset Failed: {} is powered off", h.spec.name);
    }
    const auto r = co_await ctx.bmc_act(bmc_request::reset);
    if (!r) {
        co_return bmc_failure("Reset", r.error());
    }
    steps::request_carried_out(ctx);
    const bool down = co_await steps::went_down(ctx, old_boot, count, since);
    co_return down ? std::string{"Reset Completed"}
                   : std::string{"Reset Failed: the host did not go down after its BMC reset"};
}

}  // namespace

asio::awaitable<void> power_job(host_context& ctx, job_kind job) {
    std::string done;
    switch (job) {
    case job_kind::power_on:
        done = co_await power_on(ctx);
        break;
    case job_kind::power_off:
        done = co_await power_off(ctx);
        break;
    case job_kind::power_cycle:
        done = co_await power_cycle(ctx);
        break;
    default:
        done = co_await reset(ctx);
        break;
    }
    co_await steps::show_outcome(ctx, "bmc", done);
}

}  // namespace mtce::fleet
