#pragma once

// One managed host as the fleet manager holds it: what the inventory says (persisted), what the host last
// reported (live), and where its jobs stand. Plain values, no I/O, no clock: time comes in as arguments.
//
// The record's named transitions (begin_enable, mark_enabled, mark_failed, begin_recovery, mark_recovered,
// begin_lock, mark_locked, ...) own the resets of its bookkeeping, so that an invariant lives in one place
// and no job resets a subset of fields by hand. They do not change the host's states: states are written
// through the journal (an event, the inventory, the alarms), by whoever applies the transition.

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "bmc/types.hpp"
#include "fleet/bmc_policy.hpp"
#include "fleet/decisions.hpp"
#include "fleet/host_spec.hpp"
#include "fleet/states.hpp"
#include "heartbeat/accounting.hpp"
#include "net/payloads.hpp"

namespace mtce::fleet {

/// What a host acknowledged or reported for one command.
struct command_reply {
    bool acked = false;
    std::string ack_error;
    std::optional<net::command_result> result;
};

/// Why an enabled host must be recovered.
enum class recovery_reason : std::uint8_t {
    none,
    heartbeat_loss,  ///< the fleet policy judged its heartbeat lost
    config_failure,  ///< it reported its configuration failed, in service, in_service_config_reports times
    new_boot,        ///< it reported from a boot other than the one it was enabled in: it rebooted on its own
    power_loss,      ///< Dead Office Recovery: the site lost power; the host is awaited, then tested
};

[[nodiscard]] std::string_view to_string(recovery_reason r) noexcept;

class host_record {
public:
    // ---- persisted (inventory) ----
    host_spec spec;
    host_states states;
    std::string task;
    host_action action = host_action::none;  ///< the accepted request not yet carried out
    failure_cause cause = failure_cause::none;
    std::string bmc_protocol;  ///< learned for "auto" (persisted), else the configured type once it answered
    std::string bmc_password;  ///< from the inventory; never logged or shown
    /// Consecutive failures per cause since the host was last enabled or locked (only non-zero entries).
    std::map<failure_cause, std::uint32_t> failure_counts;

    // ---- fixed ----
    bool self = false;  ///< this controller's own host

    // ---- what the host reported ----
    std::optional<net::alive_report> alive;  ///< the newest mtcAlive
    /// When it arrived; at the controller's start, the start (a host is given one window to report).
    time_point alive_at{};
    std::uint64_t alive_count = 0;             ///< reports received since the controller started
    std::uint32_t config_failure_reports = 0;  ///< consecutive reports saying its configuration failed
    /// The boot the host was enabled in (empty: not known, e.g. enabled before this controller started and
    /// not heard from since). A report from another boot while enabled is a spontaneous reboot.
    std::string enabled_boot;
    /// Loaded from the inventory and not heard from yet: a silent host is given its boot time to report
    /// before anything is concluded from its silence (it may be booting from an unlock the controller
    /// accepted before it restarted).
    bool adopting = false;
    std::map<std::uint64_t, command_reply> replies;  ///< by command id; pruned by the job that waits

    // ---- in service ----
    std::uint32_t degrade_mask = 0;
    bool monitored = false;    ///< in the heartbeat monitor
    std::uint64_t losses = 0;  ///< heartbeat losses since the controller started (soaks compare counts)
    /// The heartbeat level per network the alarms show: set by degrade and loss events, cleared when the
    /// heartbeat recovers, and forgotten when the host is locked or enabled again. It outlives the
    /// monitoring itself, so a host failed after a loss keeps its heartbeat alarm until it is back.
    std::array<heartbeat::hb_state, heartbeat::network_count> heartbeat_alarm{
        heartbeat::hb_state::unmonitored, heartbeat::hb_state::unmonitored};
    recovery_reason recovery = recovery_reason::none;  ///< a recovery is due
    time_point last_correction{};                      ///< when a lock/unlock correction was last sent

    // ---- jobs ----
    std::optional<time_point> retry_at;  ///< when the next enable may start after a failure
    std::optional<time_point> subfunction_retry_at;
    /// After a power loss the worker subfunction of an enabled all-in-one controller is tested again, its
    /// configuration included, while it stays in service (reference §3: no false "configuration error").
    bool subfunction_recheck = false;
    std::optional<host_action> request;  ///< accepted, waiting for its job to start
    job_kind running = job_kind::none;
    bool finishing = false;  ///< the running job is done and only shows its outcome
    bool preempt = false;    ///< a request arrived that the running job gives way to
    bool deleting = false;
    bool modifying = false;  ///< its BMC is being changed (PATCH)
    /// An accepted action being saved, with the administrative state it sets: the fleet's rules see it at
    /// once, any other write of this host made meanwhile carries it too (the store writes in order, so a
    /// later write must not undo it on disk), and no other change of this host is taken meanwhile.
    struct pending_action {
        admin_state administrative;
        host_action action;
    };
    std::optional<pending_action> being_saved;
    std::optional<time_point> enable_started;  ///< for the enable duration

    // ---- BMC (a host whose spec.bmc.type is "none" has none) ----
    bmc::capabilities bmc_caps;
    bmc_health bmc_state;
    bool bmc_busy = false;   ///< one exchange at a time per BMC
    bool bmc_alarm = false;  ///< its access alarm was due when last looked at

    // ---- questions ----
    [[nodiscard]] bool has_subfunction() const;
    [[nodiscard]] bool has_bmc() const { return !spec.bmc.type.empty() && spec.bmc.type != "none"; }
    /// Whether it reported within `window` of `now`.
    [[nodiscard]] bool reachable(time_point now, std::chrono::milliseconds window) const {
        return now - alive_at < window;
    }
    /// Whether it has reported since this controller started (or since it was added).
    [[nodiscard]] bool heard() const { return alive_count != 0 && alive.has_value(); }
    [[nodiscard]] std::string boot_id() const { return alive ? alive->boot_id : std::string{}; }
    [[nodiscard]] std::uint32_t alive_flags() const { return alive ? alive->flags : 0; }
    [[nodiscard]] bool enabled() const { return states.operational == oper_state::enabled; }
    [[nodiscard]] bool locked() const { return states.administrative == admin_state::locked; }
    /// The administrative state as the fleet's rules must see it: an action being saved counts already.
    [[nodiscard]] admin_state admin_in_effect() const {
        return being_saved ? being_saved->administrative : states.administrative;
    }
    /// Whether the host has booted again since a moment, `elapsed` ago, when it was running `old_boot` (empty
    /// when not known): a report from another boot, or, with the old boot unknown, a report whose uptime is
    /// shorter than the time elapsed (a reboot faster than the controller noticed).
    [[nodiscard]] bool rebooted_since(const std::string& old_boot, std::uint64_t since_count,
                                      std::chrono::milliseconds elapsed) const;

    /// Whether auto-recovery is disabled: a failure cause that auto-recovery limits has failed more than
    /// `threshold` times in a row (the counts are persisted, so this survives a controller restart).
    [[nodiscard]] bool auto_recovery_disabled(std::uint32_t threshold) const;
    /// The limited cause with the most consecutive failures, and their count ({none, 0} when there is none).
    [[nodiscard]] std::pair<failure_cause, std::uint32_t> autorecovery_count() const;

    // ---- transitions ----
    /// A report arrived at `now`. Returns true when it comes from a boot other than the last report's.
    /// An enabled host reporting from a boot other than the one it was enabled in is due a recovery
    /// (recovery_reason::new_boot), unless it is this controller's own host; one that reported its
    /// configuration failed in_service_config_reports times in a row is due one too (config_failure; this
    /// controller is degraded instead, by refresh_in_service).
    bool on_report(net::alive_report r, time_point now);
    /// An enable (unlock or retry) starts at `now`: no cause, no recovery due, no degrade causes.
    void begin_enable(time_point now);
    /// The host is enabled: no cause, heartbeat alarms forgotten (its soak just passed), no retry pending,
    /// the subfunction's enable due at once, the boot it is enabled in remembered. Returns how long the
    /// enable took, when it was timed.
    std::optional<std::chrono::milliseconds> mark_enabled(time_point now);
    /// The enable failed with `cause`; the next one may start at `retry_at`. Counts the failure; returns the
    /// consecutive failures of that cause, this one included (0 for a failure without a cause).
    std::uint32_t mark_failed(failure_cause cause, time_point retry_at);
    /// A recovery is due for `why` (only for an enabled host that is idle, being added, or enabling its
    /// subfunction: any other job is already taking it in or out of service). A subfunction enable gives way
    /// to it. Returns whether it was taken.
    bool recovery_due(recovery_reason why);
    /// A graceful recovery starts at `now`: no recovery due any more.
    void begin_recovery(time_point now);
    /// The graceful recovery succeeded: heartbeat alarms forgotten, the boot remembered. Returns how long it
    /// took.
    std::optional<std::chrono::milliseconds> mark_recovered(time_point now);
    /// A lock or force-lock starts: nothing of the enable is pending any more.
    void begin_lock();
    /// The host is locked: no cause, no degrade causes, no heartbeat alarms (a locked host is not
    /// heartbeated).
    void mark_locked();
    /// Auto-recovery starts afresh (a power-on or power-off a person asked for): no failure counted any more.
    void clear_autorecovery() { failure_counts.clear(); }
    /// The subfunction failed; its enable is tried again at `retry_at`.
    void mark_subfunction_failed(time_point retry_at);
    void mark_subfunction_enabled();

private:
    /// How long since enable_started (none when it was not timed); it is not timed any more.
    std::optional<std::chrono::milliseconds> stop_timing(time_point now);
};

}  // namespace mtce::fleet
