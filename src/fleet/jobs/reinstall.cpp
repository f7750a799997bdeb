// reinstall of a locked host through its BMC (reference §2.8): a one-time network boot, then a reset (or a
// power-on of a host that is off), then the reinstalled host's first report.
#include <fmt/format.h>

#include "core/duration.hpp"
#include "fleet/jobs/jobs.hpp"
#include "fleet/jobs/steps.hpp"

namespace mtce::fleet {

namespace {

asio::awaitable<std::string> reinstall(host_context& ctx) {
    const auto cfg = ctx.settings();
    auto& h = ctx.host();
    const auto old_boot = h.boot_id();
    const auto count = h.alive_count;
    ctx.set_task("Reinstalling: network boot");
    const auto pxe = co_await ctx.bmc_act(bmc_request::boot_pxe_once);
    if (!pxe) {
        co_return bmc_failure("Reinstall", pxe.error());
    }
    const auto power = co_await ctx.bmc_power();
    const auto start = co_await ctx.bmc_act(power && *power == bmc::power_state::off ? bmc_request::power_on
                                                                                     : bmc_request::reset);
    if (!start) {
        co_return bmc_failure("Reinstall", start.error());
    }
    steps::request_carried_out(ctx);
    ctx.set_task("Reinstalling");
    const auto limit = boot_timeout(*cfg, h.spec.personality) + cfg->controller.reboot_timeout;
    auto back_now = [&] { return h.alive_count > count && h.boot_id() != old_boot; };
    const bool back = co_await wait_until(ctx, back_now, ctx.now() + limit);
    co_return back ? std::string{"Reinstall Completed"}
                   : fmt::format("Reinstall Failed: no mtcAlive from the reinstalled host within {}",
                                 format_duration(limit));
}

}  // namespace

asio::awaitable<void> reinstall_job(host_context& ctx) {
    const auto done = co_await reinstall(ctx);
    co_await steps::show_outcome(ctx, "reinstall", done);
}

}  // namespace mtce::fleet
