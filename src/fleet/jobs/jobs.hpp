#pragma once

// The host lifecycles (reference controller-lifecycle §2), one runbook per job, each over its host's
// context (jobs/context.hpp). One supervising coroutine per managed host runs one job at a time, chosen by
// next_job() (decisions.hpp) from its record.

#include <asio/awaitable.hpp>

#include "fleet/jobs/context.hpp"

namespace mtce::fleet {

/// Learns what the host is doing without disturbing it (the controller started, or the host was just
/// added): resumes an accepted request, and soaks the heartbeat of an enabled host (add.cpp).
asio::awaitable<void> add_job(host_context& ctx);
/// Unlock (`unlock`) or a retry after a failure: power on or reboot the host if it needs it, then its
/// configuration, self-tests, host services and heartbeat soak (enable.cpp).
asio::awaitable<void> enable_job(host_context& ctx, bool unlock);
/// The worker subfunction of an all-in-one controller, after its main function (subfunction.cpp).
asio::awaitable<void> enable_subfunction_job(host_context& ctx);
/// An enabled host lost its heartbeat or rebooted on its own: recover it, without a reboot when it can
/// be (recover.cpp).
asio::awaitable<void> recover_job(host_context& ctx);
/// Lock, or force-lock (`force`: reboot it too) (lock.cpp).
asio::awaitable<void> lock_job(host_context& ctx, bool force);
/// Reboot or reset (`kind`) a locked host through its agent (reboot.cpp).
asio::awaitable<void> reboot_job(host_context& ctx, net::command_kind kind);
/// power_on, power_off, power_cycle or reset of a locked host through its BMC (power.cpp).
asio::awaitable<void> power_job(host_context& ctx, job_kind job);
/// One-time network boot, then reset or power on, through the BMC (reinstall.cpp).
asio::awaitable<void> reinstall_job(host_context& ctx);

/// Runs one job; never throws but for cancellation: a failure becomes the host's state (supervisor.cpp).
asio::awaitable<void> run_job(host_context& ctx, job_kind job, bool from_request);
/// The host failed `f`: its states, task, cause and retry (supervisor.cpp). This controller's own host is
/// never failed while a peer controller exists, and reboots itself only up to autorecovery.threshold.
void fail(host_context& ctx, const job_failure& f);
/// The host's supervisor: add, then one job at a time as next_job() says, a new request preempting the job
/// that gives way to it. It never ends on its own: a job's error becomes the host's failure, anything else
/// is logged and the supervisor goes on; only a cancellation (the fleet stopping, the host deleted) ends it.
asio::awaitable<void> supervise(host_context& ctx);

}  // namespace mtce::fleet
