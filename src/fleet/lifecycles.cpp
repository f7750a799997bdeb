// The host lifecycles: one supervising coroutine per managed host runs one job at a time, each written as
// the runbook reads (reference controller-lifecycle §2). Decisions come from decisions.hpp; these
// coroutines only wait and act. A step that fails throws job_failure, which run_job turns into
// unlocked-disabled-failed with the reason in the task and a retry after the cause's interval.
#include <asio/co_spawn.hpp>
#include <asio/bind_cancellation_slot.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/duration.hpp"
#include "fleet/manager.hpp"
#include "net/message.hpp"

namespace mtce::fleet {

namespace {

using clock = std::chrono::steady_clock;

asio::awaitable<bool> cancelled() {
    auto state = co_await asio::this_coro::cancellation_state;
    co_return state.cancelled() != asio::cancellation_type::none;
}

bool is_request_job(job_kind k) {
    switch (k) {
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

}  // namespace

void fleet_manager::impl::spawn_supervisor(managed_host& h) {
    h.supervised = true;
    h.stop.emplace();
    asio::co_spawn(
        ex, supervise(h),
        asio::bind_cancellation_slot(h.stop->slot(), [this, &h, name = h.spec.name](std::exception_ptr e) {
            h.supervised = false;
            h.changed.notify();
            supervisor_ended.notify();
            if (e && !is_cancellation(e)) {
                spdlog::error("host {}: supervisor ended: {}", name, exception_message(e));
            }
        }));
}

asio::awaitable<void> fleet_manager::impl::supervise(managed_host& h) {
    using namespace asio::experimental::awaitable_operators;
    h.running = job_kind::add;
    co_await run_job(h, job_kind::add, false);
    h.running = job_kind::none;
    for (;;) {
        const bool stop = co_await cancelled();
        if (stop) {
            co_return;
        }
        plan_input in;
        in.states = h.states;
        in.has_subfunction = h.has_subfunction();
        in.request = h.request;
        in.heartbeat_lost = h.heartbeat_lost;
        in.retry_at = h.retry_at;
        in.subfunction_retry_at = h.subfunction_retry_at;
        in.now = clock::now();
        const auto p = next_job(in);
        if (p.job == job_kind::none) {
            co_await h.changed.wait(p.wake_at.value_or(time_point::max()));
            continue;
        }
        const bool from_request =
            h.request.has_value() && (is_request_job(p.job) || p.job == job_kind::enable);
        if (from_request) {
            h.request.reset();
        }
        h.running = p.job;
        h.finishing = false;
        h.preempt = false;
        if (p.job == job_kind::force_lock) {
            co_await run_job(h, p.job, from_request);
        } else {
            (void)co_await (run_job(h, p.job, from_request) ||
                            h.wait_until([&h] { return h.preempt; }, time_point::max()));
        }
        const bool preempted = h.preempt;
        h.running = job_kind::none;
        h.finishing = false;
        h.preempt = false;
        if (preempted) {
            spdlog::info("host {}: {} interrupted by a new request", h.spec.name, to_string(p.job));
        }
        // A finished request is no longer pending; a new one accepted meanwhile has replaced it.
        if (from_request && !h.request && h.action != host_action::none) {
            h.action = host_action::none;
            save(h);
        }
    }
}

asio::awaitable<void> fleet_manager::impl::run_job(managed_host& h, job_kind job, bool from_request) {
    spdlog::debug("host {}: {} starts", h.spec.name, to_string(job));
    try {
        switch (job) {
        case job_kind::add:
            co_await add_job(h);
            break;
        case job_kind::enable:
            co_await enable_job(h, from_request);
            break;
        case job_kind::enable_subfunction:
            co_await enable_subfunction_job(h);
            break;
        case job_kind::recover:
            co_await recover_job(h);
            break;
        case job_kind::lock:
            co_await lock_job(h, false);
            break;
        case job_kind::force_lock:
            co_await lock_job(h, true);
            break;
        case job_kind::reboot:
            co_await reboot_job(h, net::command_kind::reboot);
            break;
        case job_kind::reset:
            if (h.has_bmc()) {
                co_await power_job(h, job_kind::reset);
            } else {
                co_await reboot_job(h, net::command_kind::reset);
            }
            break;
        case job_kind::power_on:
        case job_kind::power_off:
        case job_kind::power_cycle:
            co_await power_job(h, job);
            break;
        case job_kind::reinstall:
            co_await reinstall_job(h);
            break;
        case job_kind::none:
            break;
        }
    } catch (const job_failure& f) {
        fail(h, f);
    } catch (const std::system_error& e) {
        if (e.code() == asio::error::operation_aborted) {
            throw;  // preempted or stopping: the caller knows why
        }
        spdlog::error("host {}: {} failed: {}", h.spec.name, to_string(job), e.what());
        fail(h, {failure_cause::none, fmt::format("Internal Error: {}", e.what())});
    } catch (const std::exception& e) {
        spdlog::error("host {}: {} failed: {}", h.spec.name, to_string(job), e.what());
        fail(h, {failure_cause::none, fmt::format("Internal Error: {}", e.what())});
    }
}

void fleet_manager::impl::fail(managed_host& h, const job_failure& f) {
    const auto cfg = this->cfg();
    stop_heartbeat(h);
    h.cause = f.cause;
    // A failure without a cause (an internal error) is not retried at once, or it could repeat in a loop.
    const auto interval = f.cause == failure_cause::none ? std::chrono::milliseconds{std::chrono::seconds{30}}
                                                         : retry_interval(f.cause, cfg->autorecovery);
    h.retry_at = clock::now() + interval;
    h.enable_started.reset();
    enables.failures[std::string{to_string(f.cause)}] += 1;
    spdlog::warn("host {}: {} (cause {}); next enable in {}", h.spec.name, f.task, to_string(f.cause),
                 format_duration(interval));
    set_task(h, f.task);
    set_oper_avail(h, oper_state::disabled, avail_state::failed, "enable failed");
}

// ---------------------------------------------------------------------------------------------------------
// add: what the host is doing, learned without disturbing it (also after a controller restart)

asio::awaitable<void> fleet_manager::impl::add_job(managed_host& h) {
    const auto cfg = this->cfg();
    if (h.action != host_action::none && h.action != host_action::remove) {
        spdlog::info("host {}: resuming the accepted '{}'", h.spec.name, to_string(h.action));
        h.request = h.action;
    }
    if (h.states.administrative == admin_state::locked) {
        co_return;  // its availability follows its mtcAlive (audit)
    }
    if (h.states.operational == oper_state::disabled) {
        h.retry_at.reset();  // enable now: whatever was in progress is started over
        co_return;
    }
    // Enabled: keep it so, unless its heartbeat says otherwise.
    if (h.self) {
        co_return;
    }
    if (!h.task.empty() && h.cause == failure_cause::none) {
        set_task(h, {});
    }
    start_heartbeat(h);
    const auto losses = h.losses;
    const bool lost = co_await h.wait_until([&] { return h.losses != losses; },
                                            clock::now() + cfg->controller.heartbeat_soak);
    if (lost) {
        spdlog::warn("host {}: heartbeat lost while the controller was learning its state", h.spec.name);
        h.heartbeat_lost = true;
    }
}

// ---------------------------------------------------------------------------------------------------------
// enable: unlock, or a retry after a failure

asio::awaitable<void> fleet_manager::impl::enable_job(managed_host& h, bool unlock) {
    const auto cfg = this->cfg();
    const auto now = clock::now();
    h.enable_started = now;
    h.cause = failure_cause::none;
    h.heartbeat_lost = false;
    h.degrade_mask = 0;
    stop_heartbeat(h);
    const auto avail =
        h.states.availability == avail_state::online || h.states.availability == avail_state::offline
            ? h.states.availability
            : avail_state::failed;
    set_task(h, unlock ? "Unlocking" : "Enabling");
    set_oper_avail(h, oper_state::disabled, avail, unlock ? "unlock" : "enable retry");

    // The host learns it is unlocked (its services may start); a lost datagram is repaired by the lock
    // correction on its next mtcAlive.
    send(h, {net::command_kind::unlock, 0, 0, false});

    bool powered_on = false;  // by this enable: it is booting, not hung
    if (h.has_bmc() && make_driver &&
        (h.states.availability == avail_state::power_off || h.bmc_state.power == bmc::power_state::off)) {
        set_task(h, "Powering On");
        const auto failed = co_await switch_power(h, bmc::power_state::on, "Power-On");
        if (!failed.empty()) {
            throw job_failure{failure_cause::boot, failed};
        }
        set_oper_avail(h, oper_state::disabled, avail_state::offline, "powered on");
        powered_on = true;
    }

    const bool reachable = h.alive.has_value() && h.reachable(now, cfg->controller.offline_window);
    const auto uptime = h.alive ? h.alive->uptime_s : 0;
    const bool failed_before = (alive_degrade(h.alive_flags()) & degrade::failure_flag) != 0;
    const auto old_boot = h.boot_id();
    const auto count = h.alive_count;
    if (reachable &&
        (unlock_needs_reboot(reachable, uptime, cfg->controller.fresh_boot_uptime) || failed_before)) {
        if (h.self) {
            // The controller's own host: its agent reboots it after a delay, and the controller that
            // starts on the new boot finishes the enable (add, then enable without a reboot).
            set_task(h, "Rebooting this controller");
            net::command c{net::command_kind::reboot, 0,
                           static_cast<std::uint32_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                                          cfg->controller.self_reboot_delay)
                                                          .count()),
                           false};
            c.id = ++next_command;
            (void)co_await request(h, c);
            h.replies.erase(c.id);
            co_await pause(h, cfg->controller.self_reboot_delay + cfg->controller.reboot_timeout);
            throw job_failure{failure_cause::boot, "Reboot Failed: this controller did not reboot"};
        }
        co_await reboot_host(h, net::command_kind::reboot);
        co_await await_boot(h, old_boot, count, "Booting");
    } else if (!reachable) {
        if (h.has_bmc() && make_driver && !powered_on) {
            // Up (its BMC says so) but silent: hung, or its agent dead. Rebooted, or reset by its BMC.
            co_await reboot_host(h, net::command_kind::reboot);
            co_await await_boot(h, old_boot, count, "Booting");
        } else {
            co_await await_boot(h, {}, count, "Booting");
        }
    }
    co_await test_and_enable(h);
}

asio::awaitable<void> fleet_manager::impl::test_and_enable(managed_host& h) {
    const auto cfg = this->cfg();
    set_task(h, "Testing");
    set_oper_avail(h, oper_state::disabled, avail_state::intest, "testing");

    const auto configuration = co_await await_verdict(
        h, [](const net::alive_report& a, bool) { return judge_config(a); }, false,
        cfg->controller.goenabled_timeout);
    if (configuration.result == step::failed) {
        throw job_failure{failure_cause::config, "Configuration Failed: " + configuration.reason};
    }
    const auto tests = co_await await_verdict(h, judge_goenabled, false, cfg->controller.goenabled_timeout);
    if (tests.result == step::failed) {
        throw job_failure{failure_cause::goenabled, "In-Test Failed: " + tests.reason};
    }
    if (tests.result == step::pending) {
        throw job_failure{failure_cause::goenabled,
                          fmt::format("In-Test Timeout: no self-test result within {}",
                                      format_duration(cfg->controller.goenabled_timeout))};
    }
    send(h, {net::command_kind::unlock, 0, 0, false});  // a second copy, in case the first was lost
    set_task(h, "Enabling Host Services");
    const auto services = co_await await_verdict(h, judge_services, false, cfg->controller.services_timeout);
    if (services.result == step::failed) {
        throw job_failure{failure_cause::services, "Host Services Failed: " + services.reason};
    }
    if (services.result == step::pending) {
        throw job_failure{failure_cause::services,
                          fmt::format("Host Services Timeout: not started within {}",
                                      format_duration(cfg->controller.services_timeout))};
    }
    if (!h.self) {
        set_task(h, "Initializing: heartbeat soak");
        start_heartbeat(h);
        co_await soak(h, "Enable Heartbeat Failure");
    }
    mark_enabled(h);
}

void fleet_manager::impl::mark_enabled(managed_host& h) {
    h.cause = failure_cause::none;
    h.heartbeat_alarm.fill(heartbeat::hb_state::unmonitored);  // its soak just passed
    h.retry_at.reset();
    refresh_in_service(h);
    set_task(h, {});
    set_oper_avail(h, oper_state::enabled, in_service_availability(h.degrade_mask), "enabled");
    if (h.has_subfunction()) {
        h.subfunction_retry_at.reset();  // the subfunction's enable follows at once
    }
    if (h.enable_started) {
        const auto took = std::chrono::duration<double>(clock::now() - *h.enable_started).count();
        enables.observe(took);
        log_event(h.spec.name, "enabled", fmt::format("enabled in {:.1f} s", took));
        spdlog::info("host {}: enabled in {:.1f} s", h.spec.name, took);
        h.enable_started.reset();
    }
}

asio::awaitable<verdict> fleet_manager::impl::await_verdict(managed_host& h,
                                                            verdict (*judge)(const net::alive_report&, bool),
                                                            bool subfunction,
                                                            std::chrono::milliseconds limit) {
    verdict v;
    (void)co_await h.wait_until(
        [&] {
            if (h.alive) {
                v = judge(*h.alive, subfunction);
            }
            return v.result != step::pending;
        },
        clock::now() + limit);
    co_return v;
}

asio::awaitable<void> fleet_manager::impl::soak(managed_host& h, std::string_view failed_task) {
    const auto losses = h.losses;
    const bool lost = co_await h.wait_until([&] { return h.losses != losses; },
                                            clock::now() + cfg()->controller.heartbeat_soak);
    if (lost) {
        throw job_failure{failure_cause::heartbeat, std::string{failed_task}};
    }
}

asio::awaitable<void> fleet_manager::impl::await_boot(managed_host& h, const std::string& old_boot,
                                                      std::uint64_t since_count, std::string_view task) {
    const auto limit = boot_timeout(h.spec.personality);
    set_task(h, std::string{task});
    const bool booted = co_await h.wait_until(
        [&] { return h.alive_count > since_count && (old_boot.empty() || h.boot_id() != old_boot); },
        clock::now() + limit);
    if (!booted) {
        throw job_failure{
            failure_cause::boot,
            fmt::format("Boot Failed: no mtcAlive from a new boot within {}", format_duration(limit))};
    }
}

asio::awaitable<void> fleet_manager::impl::reboot_host(managed_host& h, net::command_kind kind) {
    const auto cfg = this->cfg();
    const bool reset = kind == net::command_kind::reset;
    const auto old_boot = h.boot_id();
    auto went_down = [&] {
        return (!old_boot.empty() && h.boot_id() != old_boot) ||
               !h.reachable(clock::now(), cfg->controller.offline_window);
    };
    set_task(h, reset ? "Reset Request" : "Reboot Request");
    const auto first_request = clock::now();
    auto rebooted = [&] { return !old_boot.empty() && h.boot_id() != old_boot; };
    bool ever_acked = false;
    for (std::uint32_t ask = 0; ask < cfg->controller.command_retries; ++ask) {
        net::command c{kind, 0, 0, false};
        const auto id = send(h, c);
        // Only an ack (or the new boot itself) says the host heard: a hung host is silent too.
        const bool heard = co_await h.wait_until([&] { return h.replies[id].acked || rebooted(); },
                                                 clock::now() + cfg->controller.command_timeout);
        h.replies.erase(id);
        if (!heard) {
            spdlog::info("host {}: no answer to {} request {} of {}", h.spec.name, to_string(kind), ask + 1,
                         cfg->controller.command_retries);
            continue;
        }
        ever_acked = true;
        set_task(h, reset ? "Resetting" : "Rebooting");
        const bool down = co_await h.wait_until(went_down, clock::now() + cfg->controller.reboot_timeout);
        if (down) {
            co_return;
        }
        spdlog::warn("host {}: acknowledged the {} but is still up after {}", h.spec.name, to_string(kind),
                     format_duration(cfg->controller.reboot_timeout));
    }
    if (h.has_bmc() && make_driver) {
        // It ignores its agent's reboot (hung, or its agent dead): its BMC resets it, after a delay for a
        // crash dump, unless it comes back by itself.
        co_await bmc_reset_after_delay(h, first_request, old_boot);
        co_return;
    }
    if (!ever_acked && !h.reachable(clock::now(), cfg->controller.offline_window)) {
        co_return;  // it is down (or hung): with no BMC, it can only come back on its own
    }
    throw job_failure{failure_cause::boot,
                      fmt::format("{} Failed: {}", reset ? "Reset" : "Reboot",
                                  ever_acked ? "the host did not go down" : "the host does not answer")};
}

// ---------------------------------------------------------------------------------------------------------
// the worker subfunction of an all-in-one controller

asio::awaitable<void> fleet_manager::impl::enable_subfunction_job(managed_host& h) {
    const auto cfg = this->cfg();
    auto states = h.states;
    states.subfunction_operational = oper_state::disabled;
    states.subfunction_availability = avail_state::intest;
    set_task(h, "Enabling Worker Subfunction");
    set_states(h, states, "subfunction enable");
    try {
        const auto configured = co_await await_verdict(
            h, [](const net::alive_report& a, bool) { return judge_subfunction_config(a); }, true,
            cfg->controller.subfunction_config_timeout);
        if (configured.result != step::passed) {
            throw job_failure{failure_cause::config,
                              fmt::format("Worker Configuration Timeout: not configured within {}",
                                          format_duration(cfg->controller.subfunction_config_timeout))};
        }
        const auto tests =
            co_await await_verdict(h, judge_goenabled, true, cfg->controller.goenabled_timeout);
        if (tests.result == step::failed) {
            throw job_failure{failure_cause::goenabled, "Worker In-Test Failed: " + tests.reason};
        }
        if (tests.result == step::pending) {
            throw job_failure{failure_cause::goenabled, "Worker In-Test Timeout"};
        }
        const auto services =
            co_await await_verdict(h, judge_services, true, cfg->controller.services_timeout);
        if (services.result == step::failed) {
            throw job_failure{failure_cause::services, "Worker Host Services Failed: " + services.reason};
        }
        if (services.result == step::pending) {
            throw job_failure{failure_cause::services, "Worker Host Services Timeout"};
        }
    } catch (const job_failure& f) {
        if (!h.self) {
            throw;  // a peer is failed and enabled again as a whole (reference §2.4)
        }
        // This controller never fails itself: the subfunction fails, the host is degraded, and the
        // subfunction's enable is tried again after the cause's interval.
        h.subfunction_retry_at = clock::now() + retry_interval(f.cause, cfg->autorecovery);
        h.degrade_mask |= degrade::subfunction;
        auto failed = h.states;
        failed.subfunction_operational = oper_state::disabled;
        failed.subfunction_availability = avail_state::failed;
        failed.availability = in_service_availability(h.degrade_mask);
        set_task(h, f.task);
        set_states(h, failed, "subfunction failed");
        co_return;
    }
    h.degrade_mask &= ~degrade::subfunction;
    h.subfunction_retry_at.reset();
    auto enabled = h.states;
    enabled.subfunction_operational = oper_state::enabled;
    enabled.subfunction_availability = avail_state::available;
    enabled.availability = in_service_availability(h.degrade_mask);
    set_task(h, {});
    set_states(h, enabled, "subfunction enabled");
}

// ---------------------------------------------------------------------------------------------------------
// graceful recovery of an enabled host whose heartbeat was lost (reference §2.5)

asio::awaitable<void> fleet_manager::impl::recover_job(managed_host& h) {
    const auto cfg = this->cfg();
    h.heartbeat_lost = false;
    h.enable_started = clock::now();
    stop_heartbeat(h);
    set_task(h, "Graceful Recovery");
    const auto old_boot = h.boot_id();
    const auto count = h.alive_count;
    send(h, {net::command_kind::mtcalive, 0, 0, false});
    const bool answered = co_await h.wait_until([&] { return h.alive_count > count; },
                                                clock::now() + cfg->controller.loss_recovery_timeout);
    if (answered && h.boot_id() == old_boot) {
        // Up, and it did not reboot: the network (or the host) faltered. Its heartbeat must hold again.
        start_heartbeat(h);
        co_await soak(h, "Graceful Recovery Failed: heartbeat lost again");
        h.enable_started.reset();
        h.heartbeat_alarm.fill(heartbeat::hb_state::unmonitored);
        refresh_in_service(h);
        set_task(h, {});
        set_oper_avail(h, oper_state::enabled, in_service_availability(h.degrade_mask),
                       "gracefully recovered");
        log_event(h.spec.name, "recovered", "gracefully recovered without a reboot");
        co_return;
    }
    if (!answered) {
        // Loss of communication: the host is failed; ask it once to reboot, then wait for it to come back.
        set_task(h, "Graceful Recovery Wait");
        set_oper_avail(h, oper_state::disabled, avail_state::failed, "loss of communication");
        if (h.has_bmc() && make_driver) {
            co_await reboot_host(h, net::command_kind::reboot);  // its BMC resets it if it ignores the reboot
        } else {
            send(h, {net::command_kind::reboot, 0, 0, false});  // once: it may just be unreachable
        }
        co_await await_boot(h, old_boot, count, "Graceful Recovery Wait");
    } else {
        log_event(h.spec.name, "recovered", "the host rebooted; testing it again");
    }
    co_await test_and_enable(h);
}

// ---------------------------------------------------------------------------------------------------------
// lock and force-lock (reference §2.6)

asio::awaitable<void> fleet_manager::impl::lock_job(managed_host& h, bool force) {
    const auto cfg = this->cfg();
    stop_heartbeat(h);
    h.heartbeat_lost = false;
    h.retry_at.reset();
    h.subfunction_retry_at.reset();
    h.enable_started.reset();
    set_task(h, force ? "Force Locking" : "Locking");
    if (force) {
        set_oper_avail(h, oper_state::disabled,
                       h.reachable(clock::now(), cfg->controller.offline_window) ? avail_state::online
                                                                                 : avail_state::offline,
                       "force-lock");
    }
    net::command c{net::command_kind::lock, 0, 0, false};
    c.id = ++next_command;
    const bool acked = co_await request(h, c);
    if (acked) {
        set_task(h, force ? "Force Locking: stopping host services" : "Locking: stopping host services");
        const bool reported = co_await h.wait_until([&] { return h.replies[c.id].result.has_value(); },
                                                    clock::now() + cfg->controller.services_timeout);
        if (!reported) {
            log_event(h.spec.name, "lock", "the host did not report its services stopped");
        } else if (!h.replies[c.id].result->ok) {
            log_event(h.spec.name, "lock", "host services failed to stop: " + h.replies[c.id].result->reason);
        }
    } else {
        log_event(h.spec.name, "lock", "the host does not answer; it is told again when it reports");
    }
    h.replies.erase(c.id);
    if (force) {
        try {
            co_await reboot_host(h, net::command_kind::reboot);
        } catch (const job_failure& f) {
            log_event(h.spec.name, "lock", "force-lock: " + f.task);
        }
    }
    h.cause = failure_cause::none;
    h.degrade_mask = 0;
    h.heartbeat_alarm.fill(heartbeat::hb_state::unmonitored);  // a locked host is not heartbeated
    set_task(h, {});
    set_oper_avail(h, oper_state::disabled,
                   h.reachable(clock::now(), cfg->controller.offline_window) ? avail_state::online
                                                                             : avail_state::offline,
                   force ? "force-locked" : "locked");
}

// ---------------------------------------------------------------------------------------------------------
// reboot and reset of a locked host through its agent (reference §2.8)

asio::awaitable<void> fleet_manager::impl::reboot_job(managed_host& h, net::command_kind kind) {
    const bool reset = kind == net::command_kind::reset;
    std::string done = reset ? "Reset Completed" : "Reboot Completed";
    try {
        co_await reboot_host(h, kind);
    } catch (const job_failure& f) {
        done = f.task;
    }
    co_await show_outcome(h, reset ? "reset" : "reboot", done);
}

asio::awaitable<void> fleet_manager::impl::show_outcome(managed_host& h, std::string_view kind,
                                                        const std::string& done) {
    log_event(h.spec.name, kind, done);
    set_task(h, done);
    h.finishing = true;
    co_await pause(h, cfg()->controller.task_display);
    set_task(h, {});
}

asio::awaitable<void> fleet_manager::impl::pause(managed_host& h, std::chrono::milliseconds d) {
    (void)co_await h.wait_until([] { return false; }, clock::now() + d);
}

}  // namespace mtce::fleet

namespace mtce::fleet {

// ---------------------------------------------------------------------------------------------------------
// the BMC: one exchange at a time per host, probed (and its protocol learned) before use

bmc::endpoint fleet_manager::impl::endpoint_of(const managed_host& h) const {
    bmc::endpoint e;
    if (auto where = split_bmc_address(h.spec.bmc.address)) {
        e.address = where->first;
        e.port = where->second;
    } else {
        e.address = h.spec.bmc.address;
    }
    e.username = h.spec.bmc.username;
    e.password = h.bmc_password;
    e.verify_tls = h.spec.bmc.verify_tls;
    return e;
}

std::string fleet_manager::impl::bmc_failure(std::string_view what, const bmc::error& e) {
    return fmt::format("{} Failed: {}", what, e.message.empty() ? std::string{to_string(e.code)} : e.message);
}

asio::awaitable<bool> fleet_manager::impl::acquire_bmc(managed_host& h, time_point deadline) {
    const bool free = co_await h.wait_until([&h] { return !h.bmc_busy; }, deadline);
    if (free) {
        h.bmc_busy = true;
    }
    co_return free;
}

void fleet_manager::impl::record_bmc(managed_host& h, const bmc::error* failed) {
    const auto cfg = this->cfg();
    const auto now = clock::now();
    if (failed == nullptr) {
        record_success(h.bmc_state, now, cfg->bmc);
        ++bmc_operations["ok"];
    } else {
        if (h.bmc_state.accessible || h.bmc_state.last_error != failed->message) {
            spdlog::warn("host {}: BMC: {}", h.spec.name, failed->message);
        }
        record_failure(h.bmc_state, now, cfg->bmc, failed->message);
        ++bmc_operations[std::string{to_string(failed->code)}];
    }
    update_alarms(h);
    h.bmc_changed.notify();
}

asio::awaitable<bmc::result<void>> fleet_manager::impl::ensure_bmc(managed_host& h) {
    if (!h.has_bmc()) {
        co_return tl::unexpected{bmc::error{bmc::errc::unsupported, 0, "the host has no BMC provisioned"}};
    }
    if (!make_driver) {
        co_return tl::unexpected{bmc::error{bmc::errc::unsupported, 0, "this controller cannot reach BMCs"}};
    }
    // A quarantined BMC is audited less often (bmc_policy); an operation a person asked for still tries it.
    if (h.bmc && h.bmc_state.accessible) {
        co_return bmc::result<void>{};
    }
    const auto cfg = this->cfg();
    const bmc::timing timing{cfg->bmc.request_timeout, cfg->bmc.retries, cfg->bmc.backoff};
    const auto where = endpoint_of(h);
    bmc::error last{bmc::errc::unsupported, 0, "no protocol to try"};
    auto protocols = h.bmc ? std::vector<std::string>{std::string{h.bmc->protocol()}}
                           : protocols_to_try(h.spec.bmc.type, h.bmc_protocol);
    for (const auto& protocol : protocols) {
        auto driver = h.bmc && h.bmc->protocol() == protocol ? std::move(h.bmc) : make_driver(protocol, where, timing);
        if (!driver) {
            last = {bmc::errc::unsupported, 0, fmt::format("this controller cannot speak {}", protocol)};
            continue;
        }
        auto caps = co_await driver->probe();
        if (!caps) {
            last = caps.error();
            last.message = fmt::format("{}: {}", protocol, last.message);
            continue;
        }
        h.bmc = std::move(driver);
        h.bmc_caps = std::move(*caps);
        if (h.bmc_protocol != protocol) {
            spdlog::info("host {}: BMC at {} speaks {}", h.spec.name, h.spec.bmc.address, protocol);
            log_event(h.spec.name, "bmc", fmt::format("the BMC speaks {}", protocol));
            h.bmc_protocol = protocol;
            save(h);
        }
        co_return bmc::result<void>{};
    }
    co_return tl::unexpected{last};
}

asio::awaitable<bmc::result<bmc::power_state>> fleet_manager::impl::bmc_power(managed_host& h) {
    auto r = co_await bmc_call<bmc::power_state>(h, [](bmc::driver& d) { return d.power(); });
    if (r) {
        h.bmc_state.power = *r;
    }
    co_return r;
}

asio::awaitable<bool> fleet_manager::impl::await_power(managed_host& h, bmc::power_state want,
                                                       std::chrono::milliseconds limit) {
    const auto deadline = clock::now() + limit;
    const auto step = std::min<std::chrono::milliseconds>(std::chrono::seconds{2}, limit / 10 + std::chrono::milliseconds{1});
    for (;;) {
        const auto r = co_await bmc_power(h);
        if (r && *r == want) {
            co_return true;
        }
        if (clock::now() + step >= deadline) {
            co_return false;
        }
        co_await pause(h, step);
    }
}

void fleet_manager::impl::apply_power(managed_host& h) {
    const auto power = h.bmc_state.power;
    const bool idle = h.running == job_kind::none;
    const bool locked_disabled =
        h.states.administrative == admin_state::locked && h.states.operational == oper_state::disabled;
    if (power == bmc::power_state::off && h.states.availability != avail_state::power_off &&
        (idle || locked_disabled) && !(h.self)) {
        if (h.states.administrative == admin_state::unlocked) {
            // An unlocked host that is off is out of service: its enable powers it on again.
            stop_heartbeat(h);
            h.retry_at.reset();
            set_task(h, "Powered Off");
        }
        set_oper_avail(h, oper_state::disabled, avail_state::power_off, "its BMC reports the power off");
    } else if (power == bmc::power_state::on && h.states.availability == avail_state::power_off && locked_disabled) {
        set_oper_avail(h, oper_state::disabled, avail_state::offline, "its BMC reports the power on");
    }
}

void fleet_manager::impl::spawn_bmc_supervisor(managed_host& h) {
    if (!h.has_bmc() || !make_driver) {
        return;
    }
    h.bmc_supervised = true;
    h.bmc_stop.emplace();
    asio::co_spawn(ex, bmc_supervise(h),
                   asio::bind_cancellation_slot(h.bmc_stop->slot(), [this, &h, name = h.spec.name](std::exception_ptr e) {
                       h.bmc_supervised = false;
                       h.changed.notify();
                       supervisor_ended.notify();
                       if (e && !is_cancellation(e)) {
                           spdlog::error("host {}: BMC audit ended: {}", name, exception_message(e));
                       }
                   }));
}

asio::awaitable<void> fleet_manager::impl::bmc_supervise(managed_host& h) {
    for (;;) {
        const auto cfg = this->cfg();
        const auto now = clock::now();
        // Wake for the audit, and for the moment the access alarm becomes due.
        auto wake = h.bmc_state.next_audit;
        if (h.bmc_state.unreachable_since && !access_alarm(h.bmc_state, now, cfg->bmc)) {
            wake = std::min(wake, *h.bmc_state.unreachable_since + cfg->bmc.access_alarm_delay);
        }
        if (now < wake) {
            co_await h.bmc_changed.wait(wake);
            const bool stop = co_await cancelled();
            if (stop) {
                co_return;
            }
            // The access alarm falls due with time alone.
            const bool due = access_alarm(h.bmc_state, clock::now(), cfg->bmc);
            if (due != h.bmc_alarm) {
                h.bmc_alarm = due;
                update_alarms(h);
            }
            continue;
        }
        (void)co_await bmc_power(h);
        apply_power(h);
        if (h.bmc_state.next_audit <= clock::now()) {
            // Audits are off and nothing moved the next one: wait for a change.
            h.bmc_state.next_audit = time_point::max();
        }
    }
}

asio::awaitable<void> fleet_manager::impl::bmc_reset_after_delay(managed_host& h, time_point first_request,
                                                                 const std::string& old_boot) {
    const auto cfg = this->cfg();
    const auto due = first_request + std::chrono::seconds{cfg->bmc.reset_delay_s};
    const auto left = std::chrono::duration_cast<std::chrono::seconds>(due - clock::now());
    set_task(h, fmt::format("Reboot Request: BMC reset in {} s", std::max<std::int64_t>(left.count(), 0)));
    // Time for a crash dump; a host that comes back by itself is not reset.
    const bool back =
        co_await h.wait_until([&] { return !old_boot.empty() && h.boot_id() != old_boot; }, due);
    if (back) {
        co_return;
    }
    auto reset = co_await bmc_call<void>(h, [](bmc::driver& d) { return d.reset(); });
    if (!reset) {
        throw job_failure{failure_cause::boot, bmc_failure("Reset", reset.error())};
    }
    log_event(h.spec.name, "reset", "reset by its BMC: it did not answer reboot requests");
    set_task(h, "Resetting");
    const bool down = co_await h.wait_until(
        [&] {
            return (!old_boot.empty() && h.boot_id() != old_boot) ||
                   !h.reachable(clock::now(), cfg->controller.offline_window);
        },
        clock::now() + cfg->controller.reboot_timeout);
    if (!down) {
        throw job_failure{failure_cause::boot, "Reset Failed: the host did not go down after its BMC reset"};
    }
}

// ---------------------------------------------------------------------------------------------------------
// power-on, power-off, power-cycle and reset of a locked host through its BMC (reference §2.8)

asio::awaitable<std::string> fleet_manager::impl::switch_power(managed_host& h, bmc::power_state want,
                                                              std::string_view what) {
    const auto cfg = this->cfg();
    const bool on = want == bmc::power_state::on;
    const auto now_state = co_await bmc_power(h);
    if (!now_state) {
        co_return bmc_failure(what, now_state.error());
    }
    if (*now_state == want) {
        co_return std::string{};  // already there: no request is sent
    }
    bmc::result<void> requested;
    if (on) {
        requested = co_await bmc_call<void>(h, [](bmc::driver& d) { return d.power_on(); });
    } else {
        requested = co_await bmc_call<void>(h, [](bmc::driver& d) { return d.power_off(); });
    }
    if (!requested) {
        co_return bmc_failure(what, requested.error());
    }
    // A BMC may accept the request and change nothing: only its power state says it is done.
    const auto limit = on ? cfg->bmc.power_on_timeout : cfg->bmc.power_off_timeout;
    const bool reached = co_await await_power(h, want, limit);
    if (!reached) {
        co_return fmt::format("{} Failed: the BMC accepted the request but the power is still {} {} later", what,
                              on ? "off" : "on", format_duration(limit));
    }
    co_return std::string{};
}

asio::awaitable<void> fleet_manager::impl::power_job(managed_host& h, job_kind job) {
    const auto cfg = this->cfg();
    using bmc::power_state;
    std::string done;
    switch (job) {
    case job_kind::power_on: {
        set_task(h, "Powering On");
        done = co_await switch_power(h, power_state::on, "Power-On");
        if (done.empty()) {
            if (h.states.availability == avail_state::power_off) {
                set_oper_avail(h, oper_state::disabled, avail_state::offline, "powered on");
            }
            done = "Power-On Completed";
        }
        break;
    }
    case job_kind::power_off: {
        set_task(h, "Powering Off");
        done = co_await switch_power(h, power_state::off, "Power-Off");
        if (done.empty()) {
            set_oper_avail(h, oper_state::disabled, avail_state::power_off, "powered off");
            done = "Power-Off Completed";
        }
        break;
    }
    case job_kind::power_cycle: {
        set_task(h, "Power Cycling");
        const auto cycle = std::find(h.bmc_caps.reset_types.begin(), h.bmc_caps.reset_types.end(), "PowerCycle") !=
                           h.bmc_caps.reset_types.end();
        if (cycle) {
            auto r = co_await bmc_call<void>(h, [](bmc::driver& d) { return d.power_cycle(); });
            done = r ? std::string{} : bmc_failure("Power-Cycle", r.error());
            if (done.empty()) {
                const bool back = co_await await_power(h, power_state::on, cfg->bmc.power_on_timeout);
                if (!back) {
                    done = "Power-Cycle Failed: the power did not come back on";
                }
            }
        } else {
            done = co_await switch_power(h, power_state::off, "Power-Cycle");
            if (done.empty()) {
                done = co_await switch_power(h, power_state::on, "Power-Cycle");
            }
        }
        if (done.empty()) {
            if (h.states.availability == avail_state::power_off) {
                set_oper_avail(h, oper_state::disabled, avail_state::offline, "power cycled");
            }
            done = "Power-Cycle Completed";
        }
        break;
    }
    default: {  // reset
        set_task(h, "Resetting");
        const auto old_boot = h.boot_id();
        const auto now_state = co_await bmc_power(h);
        if (!now_state) {
            done = bmc_failure("Reset", now_state.error());
            break;
        }
        if (*now_state == power_state::off) {
            done = fmt::format("Reset Failed: {} is powered off", h.spec.name);
            set_oper_avail(h, oper_state::disabled, avail_state::power_off, "its BMC reports the power off");
            break;
        }
        auto r = co_await bmc_call<void>(h, [](bmc::driver& d) { return d.reset(); });
        if (!r) {
            done = bmc_failure("Reset", r.error());
            break;
        }
        const bool down = co_await h.wait_until(
            [&] {
                return (!old_boot.empty() && h.boot_id() != old_boot) ||
                       !h.reachable(clock::now(), cfg->controller.offline_window);
            },
            clock::now() + cfg->controller.reboot_timeout);
        done = down ? "Reset Completed" : "Reset Failed: the host did not go down after its BMC reset";
        break;
    }
    }
    co_await show_outcome(h, "bmc", done);
}

asio::awaitable<void> fleet_manager::impl::reinstall_job(managed_host& h) {
    const auto cfg = this->cfg();
    const auto old_boot = h.boot_id();
    const auto count = h.alive_count;
    std::string done;
    set_task(h, "Reinstalling: network boot");
    auto pxe = co_await bmc_call<void>(h, [](bmc::driver& d) { return d.boot_pxe_once(); });
    if (!pxe) {
        done = bmc_failure("Reinstall", pxe.error());
    } else {
        const auto power = co_await bmc_power(h);
        bmc::result<void> booting;
        if (power && *power == bmc::power_state::off) {
            booting = co_await bmc_call<void>(h, [](bmc::driver& d) { return d.power_on(); });
        } else {
            booting = co_await bmc_call<void>(h, [](bmc::driver& d) { return d.reset(); });
        }
        if (!booting) {
            done = bmc_failure("Reinstall", booting.error());
        } else {
            set_task(h, "Reinstalling");
            const auto limit = boot_timeout(h.spec.personality) + cfg->controller.reboot_timeout;
            const bool back = co_await h.wait_until(
                [&] { return h.alive_count > count && h.boot_id() != old_boot; }, clock::now() + limit);
            done = back ? "Reinstall Completed"
                        : fmt::format("Reinstall Failed: no mtcAlive from the reinstalled host within {}",
                                      format_duration(limit));
        }
    }
    co_await show_outcome(h, "reinstall", done);
}

}  // namespace mtce::fleet
