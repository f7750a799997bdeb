// The steps the runbooks share, and the context's helpers. Every wait goes through the context, so a
// simulated clock drives these as it drives the jobs.
#include "fleet/jobs/steps.hpp"

#include <algorithm>

#include <asio/error.hpp>
#include <asio/this_coro.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/duration.hpp"

namespace mtce::fleet {

std::string_view to_string(bmc_request r) noexcept {
    switch (r) {
    case bmc_request::power_on:
        return "power-on";
    case bmc_request::power_off:
        return "power-off";
    case bmc_request::power_cycle:
        return "power-cycle";
    case bmc_request::reset:
        return "reset";
    case bmc_request::boot_pxe_once:
        return "network boot";
    }
    return "unknown";
}

asio::awaitable<bool> wait_until(host_context& ctx, std::function<bool()> done, time_point deadline) {
    for (;;) {
        if (done()) {
            co_return true;
        }
        if (ctx.now() >= deadline) {
            co_return false;
        }
        co_await ctx.wait_change(deadline);
        // A cancelled wait must not turn into a busy loop: throw as every other await of a cancelled
        // coroutine does.
        auto state = co_await asio::this_coro::cancellation_state;
        if (state.cancelled() != asio::cancellation_type::none) {
            throw std::system_error{asio::error::operation_aborted};
        }
    }
}

asio::awaitable<void> pause(host_context& ctx, std::chrono::milliseconds d) {
    auto never = [] { return false; };
    (void)co_await wait_until(ctx, never, ctx.now() + d);
}

asio::awaitable<bool> request(host_context& ctx, net::command c) {
    const auto cfg = ctx.settings();
    auto& h = ctx.host();
    if (c.id == 0) {
        c.id = ctx.next_command_id();
    }
    h.replies[c.id];  // registered: acks for it are kept
    for (std::uint32_t attempt = 0; attempt < cfg->controller.command_retries; ++attempt) {
        ctx.send(c);
        auto acked_now = [&h, id = c.id] { return h.replies[id].acked; };
        const bool acked = co_await wait_until(ctx, acked_now, ctx.now() + cfg->controller.command_timeout);
        if (acked) {
            if (!h.replies[c.id].ack_error.empty()) {
                spdlog::warn("host {}: refused {}: {}", h.spec.name, to_string(c.kind),
                             h.replies[c.id].ack_error);
                co_return false;
            }
            co_return true;
        }
    }
    spdlog::warn("host {}: no answer to {} after {} tries", h.spec.name, to_string(c.kind),
                 cfg->controller.command_retries);
    co_return false;
}

void set_oper_avail(host_context& ctx, oper_state oper, avail_state avail, std::string_view why) {
    auto& h = ctx.host();
    auto st = h.states;
    st.operational = oper;
    st.availability = avail;
    if (h.has_subfunction() && oper == oper_state::disabled) {
        st.subfunction_operational = oper_state::disabled;
        st.subfunction_availability = avail;
    }
    ctx.set_states(st, why);
}

void refresh_in_service(host_context& ctx) {
    auto& h = ctx.host();
    std::uint32_t mask = h.degrade_mask & ~(degrade::failure_flag | degrade::service_manager | degrade::luks |
                                            degrade::config_failure);
    mask |= alive_degrade(h.alive_flags());
    if (h.self && h.config_failure_reports >= in_service_config_reports) {
        mask |= degrade::config_failure;  // this controller is degraded, never failed, by its configuration
    }
    const bool changed = mask != h.degrade_mask;
    h.degrade_mask = mask;
    if (h.states.operational != oper_state::enabled || h.running != job_kind::none) {
        return;
    }
    const auto avail = in_service_availability(mask);
    if (avail != h.states.availability) {
        auto st = h.states;
        st.availability = avail;
        const auto names = degrade_names(mask);
        ctx.set_states(st, names.empty() ? std::string{"degrade cleared"}
                                         : fmt::format("degraded: {}", fmt::join(names, ", ")));
    } else if (changed) {
        ctx.update_alarms();  // the same availability, another cause (the in-service failure alarm)
    }
}

std::chrono::milliseconds boot_timeout(const config& cfg, role personality) {
    switch (personality) {
    case role::controller:
        return cfg.controller.controller_boot_timeout;
    case role::storage:
        return cfg.controller.storage_boot_timeout;
    case role::worker:
        break;
    }
    return cfg.controller.worker_boot_timeout;
}

std::string bmc_failure(std::string_view what, const bmc::error& e) {
    return fmt::format("{} Failed: {}", what, e.message.empty() ? std::string{to_string(e.code)} : e.message);
}

}  // namespace mtce::fleet

namespace mtce::fleet::steps {

asio::awaitable<void> await_boot(host_context& ctx, const std::string& old_boot, std::uint64_t since_count,
                                 std::string_view task) {
    auto& h = ctx.host();
    const auto limit = boot_timeout(*ctx.settings(), h.spec.personality);
    ctx.set_task(std::string{task});
    auto booted_now = [&] {
        return h.alive_count > since_count && (old_boot.empty() || h.boot_id() != old_boot);
    };
    const bool booted = co_await wait_until(ctx, booted_now, ctx.now() + limit);
    if (!booted) {
        throw job_failure{
            failure_cause::boot,
            fmt::format("Boot Failed: no mtcAlive from a new boot within {}", format_duration(limit))};
    }
}

asio::awaitable<bool> went_down(host_context& ctx, const std::string& old_boot, std::uint64_t since_count,
                                time_point since) {
    const auto cfg = ctx.settings();
    auto& h = ctx.host();
    auto down = [&] {
        return h.rebooted_since(old_boot, since_count,
                                std::chrono::duration_cast<std::chrono::milliseconds>(ctx.now() - since)) ||
               !h.reachable(ctx.now(), cfg->controller.offline_window);
    };
    co_return co_await wait_until(ctx, down, ctx.now() + cfg->controller.reboot_timeout);
}

asio::awaitable<void> reboot_host(host_context& ctx, net::command_kind kind,
                                  const std::function<void()>& carried_out) {
    const auto cfg = ctx.settings();
    auto& h = ctx.host();
    const bool reset = kind == net::command_kind::reset;
    const auto old_boot = h.boot_id();
    const auto count = h.alive_count;
    const auto first_request = ctx.now();
    ctx.set_task(reset ? "Reset Request" : "Reboot Request");
    // A new boot is recognised by its boot id, or, when the old one is not known (the controller restarted
    // and has not heard from the host), by an uptime shorter than the time since the first request.
    auto rebooted = [&] {
        return h.rebooted_since(
            old_boot, count,
            std::chrono::duration_cast<std::chrono::milliseconds>(ctx.now() - first_request));
    };
    bool ever_acked = false;
    for (std::uint32_t ask = 0; ask < cfg->controller.command_retries; ++ask) {
        net::command c{kind, ctx.next_command_id(), 0, false, {}, 0, 0};
        h.replies[c.id];
        ctx.send(c);
        // Only an ack (or the new boot itself) says the host heard: a hung host is silent too.
        auto heard_now = [&] { return h.replies[c.id].acked || rebooted(); };
        const bool heard = co_await wait_until(ctx, heard_now, ctx.now() + cfg->controller.command_timeout);
        h.replies.erase(c.id);
        if (!heard) {
            spdlog::info("host {}: no answer to {} request {} of {}", h.spec.name, to_string(kind), ask + 1,
                         cfg->controller.command_retries);
            continue;
        }
        if (!ever_acked && carried_out) {
            carried_out();
        }
        ever_acked = true;
        ctx.set_task(reset ? "Resetting" : "Rebooting");
        const bool down = co_await went_down(ctx, old_boot, count, first_request);
        if (down) {
            co_return;
        }
        spdlog::warn("host {}: acknowledged the {} but is still up after {}", h.spec.name, to_string(kind),
                     format_duration(cfg->controller.reboot_timeout));
    }
    if (ctx.bmc_usable()) {
        // It ignores its agent's reboot (hung, or its agent dead): its BMC resets it, after a delay for a
        // crash dump, unless it comes back by itself.
        co_await bmc_reset_after_delay(ctx, first_request, old_boot, count, carried_out);
        co_return;
    }
    if (!ever_acked && !h.reachable(ctx.now(), cfg->controller.offline_window)) {
        co_return;  // it is down (or hung): with no BMC, it can only come back on its own
    }
    throw job_failure{failure_cause::boot,
                      fmt::format("{} Failed: {}", reset ? "Reset" : "Reboot",
                                  ever_acked ? "the host did not go down" : "the host does not answer")};
}

asio::awaitable<void> bmc_reset_after_delay(host_context& ctx, time_point first_request,
                                            const std::string& old_boot, std::uint64_t since_count,
                                            const std::function<void()>& carried_out) {
    const auto cfg = ctx.settings();
    auto& h = ctx.host();
    const auto due = first_request + std::chrono::seconds{cfg->bmc.reset_delay_s};
    const auto left = std::chrono::duration_cast<std::chrono::seconds>(due - ctx.now());
    ctx.set_task(fmt::format("Reboot Request: BMC reset in {} s", std::max<std::int64_t>(left.count(), 0)));
    // Time for a crash dump; a host that comes back by itself is not reset.
    auto back_now = [&] {
        return h.rebooted_since(
            old_boot, since_count,
            std::chrono::duration_cast<std::chrono::milliseconds>(ctx.now() - first_request));
    };
    const bool back = co_await wait_until(ctx, back_now, due);
    if (back) {
        if (carried_out) {
            carried_out();
        }
        co_return;
    }
    const auto reset = co_await ctx.bmc_act(bmc_request::reset);
    if (!reset) {
        throw job_failure{failure_cause::boot, bmc_failure("Reset", reset.error())};
    }
    if (carried_out) {
        carried_out();
    }
    ctx.log_event("reset", "reset by its BMC: it did not answer reboot requests");
    ctx.set_task("Resetting");
    const bool down = co_await went_down(ctx, old_boot, since_count, first_request);
    if (!down) {
        throw job_failure{failure_cause::boot, "Reset Failed: the host did not go down after its BMC reset"};
    }
}

asio::awaitable<verdict> await_verdict(host_context& ctx, verdict (*judge)(const net::alive_report&, bool),
                                       bool subfunction, time_point deadline) {
    auto& h = ctx.host();
    verdict v;
    auto judged = [&] {
        if (h.alive) {
            v = judge(*h.alive, subfunction);
        }
        return v.result != step::pending;
    };
    (void)co_await wait_until(ctx, judged, deadline);
    co_return v;
}

asio::awaitable<void> soak(host_context& ctx, std::string_view failed_task, bool retry_at_once) {
    auto& h = ctx.host();
    const auto losses = h.losses;
    auto lost_now = [&] { return h.losses != losses; };
    const bool lost =
        co_await wait_until(ctx, lost_now, ctx.now() + ctx.settings()->controller.heartbeat_soak);
    if (lost) {
        throw job_failure{failure_cause::heartbeat, std::string{failed_task}, retry_at_once};
    }
}

asio::awaitable<void> await_tests(host_context& ctx, std::string_view services_task) {
    const auto cfg = ctx.settings();
    // The configuration and the self-tests share one deadline: the host reports its configuration before
    // its self-tests end, and the worst case must not be twice the timeout.
    const auto tests_deadline = ctx.now() + cfg->controller.goenabled_timeout;
    auto config_judge = [](const net::alive_report& a, bool) { return judge_config(a); };
    const auto configuration =
        co_await await_verdict(ctx, config_judge, /*subfunction=*/false, tests_deadline);
    if (configuration.result == step::failed) {
        throw job_failure{failure_cause::config, "Configuration Failed: " + configuration.reason};
    }
    const auto tests = co_await await_verdict(ctx, judge_goenabled, /*subfunction=*/false, tests_deadline);
    if (tests.result == step::failed) {
        throw job_failure{failure_cause::goenabled, "In-Test Failed: " + tests.reason};
    }
    if (tests.result == step::pending) {
        throw job_failure{failure_cause::goenabled,
                          fmt::format("In-Test Timeout: no self-test result within {}",
                                      format_duration(cfg->controller.goenabled_timeout))};
    }
    ctx.send(
        {net::command_kind::unlock, 0, 0, false, {}, 0, 0});  // a second copy, in case the first was lost
    ctx.set_task(std::string{services_task});
    const auto services = co_await await_verdict(ctx, judge_services, /*subfunction=*/false,
                                                 ctx.now() + cfg->controller.services_timeout);
    if (services.result == step::failed) {
        throw job_failure{failure_cause::services, "Host Services Failed: " + services.reason};
    }
    if (services.result == step::pending) {
        throw job_failure{failure_cause::services,
                          fmt::format("Host Services Timeout: not started within {}",
                                      format_duration(cfg->controller.services_timeout))};
    }
}

asio::awaitable<void> test_and_enable(host_context& ctx) {
    auto& h = ctx.host();
    ctx.set_task("Testing");
    set_oper_avail(ctx, oper_state::disabled, avail_state::intest, "testing");
    co_await await_tests(ctx, "Enabling Host Services");
    if (!h.self) {
        ctx.set_task("Initializing: heartbeat soak");
        ctx.start_heartbeat();
        co_await soak(ctx, "Enable Heartbeat Failure", /*retry_at_once=*/false);
    }
    mark_enabled(ctx);
}

void mark_enabled(host_context& ctx) {
    auto& h = ctx.host();
    const auto took = h.mark_enabled(ctx.now());
    h.degrade_mask &= ~degrade::critical_failure;
    refresh_in_service(ctx);
    ctx.set_task({});
    set_oper_avail(ctx, oper_state::enabled, in_service_availability(h.degrade_mask), "enabled");
    ctx.save();  // the cleared cause and counts
    if (!h.has_subfunction()) {
        ctx.dor_check_in(/*recovered=*/true);  // an all-in-one controller is back once its subfunction is
    }
    if (took) {
        const double seconds = std::chrono::duration<double>(*took).count();
        ctx.count_enable(took, failure_cause::none);
        ctx.log_event("enabled", fmt::format("enabled in {:.1f} s", seconds));
        spdlog::info("host {}: enabled in {:.1f} s", h.spec.name, seconds);
    }
}

asio::awaitable<bool> await_power(host_context& ctx, bmc::power_state want, std::chrono::milliseconds limit) {
    const auto deadline = ctx.now() + limit;
    const auto step = std::min<std::chrono::milliseconds>(std::chrono::seconds{2},
                                                          limit / 10 + std::chrono::milliseconds{1});
    for (;;) {
        const auto r = co_await ctx.bmc_power();
        if (r && *r == want) {
            co_return true;
        }
        if (ctx.now() + step >= deadline) {
            co_return false;
        }
        co_await pause(ctx, step);
    }
}

asio::awaitable<std::string> switch_power(host_context& ctx, bmc::power_state want, std::string_view what) {
    const auto cfg = ctx.settings();
    const bool on = want == bmc::power_state::on;
    const auto now_state = co_await ctx.bmc_power();
    if (!now_state) {
        co_return bmc_failure(what, now_state.error());
    }
    if (*now_state == want) {
        co_return std::string{};  // already there: no request is sent
    }
    const auto requested = co_await ctx.bmc_act(on ? bmc_request::power_on : bmc_request::power_off);
    if (!requested) {
        co_return bmc_failure(what, requested.error());
    }
    // A BMC may accept the request and change nothing: only its power state says it is done.
    const auto limit = on ? cfg->bmc.power_on_timeout : cfg->bmc.power_off_timeout;
    const bool reached = co_await await_power(ctx, want, limit);
    if (!reached) {
        co_return fmt::format("{} Failed: the BMC accepted the request but the power is still {} {} later",
                              what, on ? "off" : "on", format_duration(limit));
    }
    co_return std::string{};
}

asio::awaitable<void> show_outcome(host_context& ctx, std::string_view kind, const std::string& done) {
    auto& h = ctx.host();
    ctx.log_event(kind, done);
    ctx.set_task(done);
    h.finishing = true;
    co_await pause(ctx, ctx.settings()->controller.task_display);
    ctx.set_task({});
}

void request_carried_out(host_context& ctx) {
    auto& h = ctx.host();
    if (h.action != host_action::none && !h.request) {
        h.action = host_action::none;
        ctx.save();
    }
}

}  // namespace mtce::fleet::steps
