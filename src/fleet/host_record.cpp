#include "fleet/host_record.hpp"

#include <algorithm>

namespace mtce::fleet {

std::string_view to_string(recovery_reason r) noexcept {
    switch (r) {
    case recovery_reason::none:
        return "none";
    case recovery_reason::heartbeat_loss:
        return "heartbeat loss";
    case recovery_reason::new_boot:
        return "new boot";
    case recovery_reason::power_loss:
        return "power loss";
    case recovery_reason::config_failure:
        return "configuration failure";
    }
    return "unknown";
}

bool host_record::has_subfunction() const {
    return spec.personality == role::controller &&
           std::find(spec.functions.begin(), spec.functions.end(), role::worker) != spec.functions.end();
}

bool host_record::rebooted_since(const std::string& old_boot, std::uint64_t since_count,
                                 std::chrono::milliseconds elapsed) const {
    if (alive_count <= since_count || !alive) {
        return false;
    }
    if (!old_boot.empty()) {
        return alive->boot_id != old_boot;
    }
    return std::chrono::seconds{alive->uptime_s} < elapsed;
}

namespace {
/// The causes auto-recovery limits (reference §4): a boot that does not come is retried for as long as it
/// takes.
bool limited(failure_cause c) {
    return c != failure_cause::none && c != failure_cause::boot;
}
}  // namespace

bool host_record::auto_recovery_disabled(std::uint32_t threshold) const {
    const auto [worst, count] = autorecovery_count();
    return worst != failure_cause::none && count > threshold;
}

std::pair<failure_cause, std::uint32_t> host_record::autorecovery_count() const {
    std::pair<failure_cause, std::uint32_t> worst{failure_cause::none, 0};
    for (const auto& [c, n] : failure_counts) {
        if (limited(c) && n > worst.second) {
            worst = {c, n};
        }
    }
    return worst;
}

bool host_record::on_report(net::alive_report r, time_point now) {
    const bool new_boot = alive && alive->boot_id != r.boot_id;
    if (enabled() && !self) {
        if (enabled_boot.empty()) {
            enabled_boot = r.boot_id;  // enabled before this controller knew its boot: adopted as it is
        } else if (r.boot_id != enabled_boot) {
            (void)recovery_due(recovery_reason::new_boot);
        }
    }
    config_failure_reports = reports_config_failure(r.flags) ? config_failure_reports + 1 : 0;
    if (enabled() && !self && config_failure_reports >= in_service_config_reports) {
        (void)recovery_due(recovery_reason::config_failure);
    }
    alive = std::move(r);
    alive_at = now;
    ++alive_count;
    adopting = false;
    return new_boot;
}

std::optional<std::chrono::milliseconds> host_record::stop_timing(time_point now) {
    std::optional<std::chrono::milliseconds> took;
    if (enable_started) {
        took = std::chrono::duration_cast<std::chrono::milliseconds>(now - *enable_started);
        enable_started.reset();
    }
    return took;
}

bool host_record::recovery_due(recovery_reason why) {
    if (!enabled() || self ||
        (running != job_kind::none && running != job_kind::add && running != job_kind::enable_subfunction)) {
        return false;
    }
    if (recovery == recovery_reason::none) {
        recovery = why;
    }
    if (running == job_kind::enable_subfunction) {
        preempt = true;
    }
    return true;
}

void host_record::begin_enable(time_point now) {
    enable_started = now;
    subfunction_recheck = false;
    cause = failure_cause::none;
    recovery = recovery_reason::none;
    degrade_mask = 0;
    enabled_boot.clear();
}

std::optional<std::chrono::milliseconds> host_record::mark_enabled(time_point now) {
    cause = failure_cause::none;
    failure_counts.clear();
    heartbeat_alarm.fill(heartbeat::hb_state::unmonitored);
    recovery = recovery_reason::none;
    retry_at.reset();
    subfunction_retry_at.reset();
    enabled_boot = boot_id();
    return stop_timing(now);
}

std::uint32_t host_record::mark_failed(failure_cause c, time_point retry) {
    cause = c;
    retry_at = retry;
    enable_started.reset();
    recovery = recovery_reason::none;
    enabled_boot.clear();
    if (c == failure_cause::none) {
        return 0;
    }
    return ++failure_counts[c];
}

void host_record::begin_recovery(time_point now) {
    recovery = recovery_reason::none;
    enable_started = now;
}

std::optional<std::chrono::milliseconds> host_record::mark_recovered(time_point now) {
    heartbeat_alarm.fill(heartbeat::hb_state::unmonitored);
    recovery = recovery_reason::none;
    enabled_boot = boot_id();
    return stop_timing(now);
}

void host_record::begin_lock() {
    recovery = recovery_reason::none;
    subfunction_recheck = false;
    retry_at.reset();
    subfunction_retry_at.reset();
    enable_started.reset();
}

void host_record::mark_locked() {
    cause = failure_cause::none;
    failure_counts.clear();
    degrade_mask = 0;
    heartbeat_alarm.fill(heartbeat::hb_state::unmonitored);
    recovery = recovery_reason::none;
    enabled_boot.clear();
}

void host_record::mark_subfunction_failed(time_point retry) {
    subfunction_retry_at = retry;
    degrade_mask |= degrade::subfunction;
}

void host_record::mark_subfunction_enabled() {
    subfunction_retry_at.reset();
    degrade_mask &= ~degrade::subfunction;
}

}  // namespace mtce::fleet
