// reboot and reset of a locked host through its agent (reference §2.8).
#include "fleet/jobs/jobs.hpp"
#include "fleet/jobs/steps.hpp"

namespace mtce::fleet {

asio::awaitable<void> reboot_job(host_context& ctx, net::command_kind kind) {
    const bool reset = kind == net::command_kind::reset;
    std::string done = reset ? "Reset Completed" : "Reboot Completed";
    try {
        // Once the host has the reboot in hand, the request is done: a controller restarted after this
        // point must not reboot it a second time.
        const std::function<void()> carried_out = [&ctx] { steps::request_carried_out(ctx); };
        co_await steps::reboot_host(ctx, kind, carried_out);
    } catch (const job_failure& f) {
        done = f.task;
    }
    co_await steps::show_outcome(ctx, reset ? "reset" : "reboot", done);
}

}  // namespace mtce::fleet
