// lock and force-lock (reference §2.6): the host stops its services; a force-lock also reboots it.
#include "fleet/jobs/jobs.hpp"
#include "fleet/jobs/steps.hpp"

namespace mtce::fleet {

asio::awaitable<void> lock_job(host_context& ctx, bool force) {
    const auto cfg = ctx.settings();
    auto& h = ctx.host();
    ctx.stop_heartbeat();
    h.begin_lock();
    ctx.set_task(force ? "Force Locking" : "Locking");
    const auto avail_now = [&] {
        return h.reachable(ctx.now(), cfg->controller.offline_window) ? avail_state::online
                                                                      : avail_state::offline;
    };
    if (force) {
        set_oper_avail(ctx, oper_state::disabled, avail_now(), "force-lock");
    }
    net::command c{net::command_kind::lock, ctx.next_command_id(), 0, false, {}, 0, 0};
    const bool acked = co_await request(ctx, c);
    if (acked) {
        ctx.set_task(force ? "Force Locking: stopping host services" : "Locking: stopping host services");
        auto reported_now = [&h, id = c.id] { return h.replies[id].result.has_value(); };
        const bool reported =
            co_await wait_until(ctx, reported_now, ctx.now() + cfg->controller.services_timeout);
        if (!reported) {
            ctx.log_event("lock", "the host did not report its services stopped");
        } else if (!h.replies[c.id].result->ok) {
            ctx.log_event("lock", "host services failed to stop: " + h.replies[c.id].result->reason);
        }
    } else {
        ctx.log_event("lock", "the host does not answer; it is told again when it reports");
    }
    h.replies.erase(c.id);
    if (force) {
        try {
            co_await steps::reboot_host(ctx, net::command_kind::reboot);
        } catch (const job_failure& f) {
            ctx.log_event("lock", "force-lock: " + f.task);
        }
    }
    h.mark_locked();
    ctx.set_task({});
    set_oper_avail(ctx, oper_state::disabled, avail_now(), force ? "force-locked" : "locked");
    ctx.save();  // the cleared cause and counts
}

}  // namespace mtce::fleet
