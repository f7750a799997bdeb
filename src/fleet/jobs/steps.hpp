#pragma once

// Steps several runbooks share (internal to src/fleet/jobs). Each only waits and acts through the context;
// a step that fails throws job_failure.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include <asio/awaitable.hpp>

#include "fleet/jobs/context.hpp"

namespace mtce::fleet::steps {

/// Waits until the host reports from a boot other than `old_boot` (when it is empty: any report newer than
/// report number `since_count`), showing `task`; throws job_failure{boot} after the personality's boot
/// timeout.
asio::awaitable<void> await_boot(host_context& ctx, const std::string& old_boot, std::uint64_t since_count,
                                 std::string_view task);

/// Reboots (or resets) the host through its agent until it goes down or reports from a new boot; a host
/// that ignores the requests is reset by its BMC after bmc.reset_delay_s when it has one. `carried_out` is
/// called once the host has it in hand: it acknowledged a request, rebooted, or its BMC reset it. Throws
/// job_failure{boot} when it does not go down.
asio::awaitable<void> reboot_host(host_context& ctx, net::command_kind kind,
                                  const std::function<void()>& carried_out = {});

/// A BMC reset of a host that does not answer reboot requests, `bmc.reset_delay_s` after `first_request`
/// unless it comes back by itself; throws job_failure{boot} when the BMC cannot reset it.
asio::awaitable<void> bmc_reset_after_delay(host_context& ctx, time_point first_request,
                                            const std::string& old_boot, std::uint64_t since_count,
                                            const std::function<void()>& carried_out = {});

/// Waits until `judge(report)` is not pending, until `deadline`.
asio::awaitable<verdict> await_verdict(host_context& ctx, verdict (*judge)(const net::alive_report&, bool),
                                       bool subfunction, time_point deadline);

/// Waits controller.heartbeat_soak for a heartbeat loss; throws job_failure{heartbeat, failed_task, at_once}
/// on one.
asio::awaitable<void> soak(host_context& ctx, std::string_view failed_task, bool retry_at_once);

/// The host's configuration, self-tests and host services as it reports them (the host runs them on its own
/// after boot), showing `services_task` while the services start; throws job_failure naming the step that
/// failed or timed out.
asio::awaitable<void> await_tests(host_context& ctx, std::string_view services_task);

/// Configuration, self-tests, host services, heartbeat soak, then unlocked-enabled.
asio::awaitable<void> test_and_enable(host_context& ctx);

/// The host is enabled: its record's transition, its in-service availability, the event and the metric.
void mark_enabled(host_context& ctx);

/// Polls the power state until it is `want`, for at most `limit`.
asio::awaitable<bool> await_power(host_context& ctx, bmc::power_state want, std::chrono::milliseconds limit);

/// Powers the host on or off through its BMC and verifies it (a BMC already there gets no request); "" when
/// done, else the failed task ("<what> Failed: ...").
asio::awaitable<std::string> switch_power(host_context& ctx, bmc::power_state want, std::string_view what);

/// Waits until the host is down (not reachable) or reports from a boot other than `old_boot`, up to
/// controller.reboot_timeout; whether it did.
asio::awaitable<bool> went_down(host_context& ctx, const std::string& old_boot, std::uint64_t since_count,
                                time_point since);

/// The end of a job that a person started: the event, then `done` as the task for controller.task_display
/// (the job is `finishing` meanwhile: it no longer uses the BMC).
asio::awaitable<void> show_outcome(host_context& ctx, std::string_view kind, const std::string& done);

/// The accepted request is carried out (the host acknowledged it, or the BMC did it): it is no longer
/// pending, on disk too, so that a restarted controller does not carry it out a second time.
void request_carried_out(host_context& ctx);

}  // namespace mtce::fleet::steps
