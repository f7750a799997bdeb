#pragma once

// The fleet's failure policy (design §7; reference controller-lifecycle §3, §5, §6): what a whole heartbeat
// period's events mean for the hosts, seen together, never one host at a time. Sans-io: events, records and
// the time in; changed records and a plan out.
//
// - Heartbeat failure action: `fail` recovers a host whose heartbeat is lost, `degrade` only degrades it,
//   `alarm` only raises its heartbeat alarms, `none` does nothing. A controller's cluster-network loss on a
//   standard system degrades only.
// - Multi-node failure avoidance (mnfa): when `threshold` hosts miss heartbeats on one network at once the
//   network is suspected, not the hosts: no host is failed, the hosts missing are held in "Graceful Recovery
//   Wait" and the heartbeat period is backed off; when fewer than `threshold` are missing they are all
//   recovered gracefully (no reboot for a host that answers from the same boot); at `timeout` the ones still
//   missing are recovered too, which fails those that do not answer.
// - Dead Office Recovery (dor): the site lost power. A window opens at the controller's start, listing every
//   unlocked host; each host checks in once when it is back (or failed for a reason of its own); the window
//   closes when every host has, or at its deadline, naming the hosts that have not. The jobs ask whether it
//   is open: while it is, no host is failed for being late, rebooted or reset.

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.hpp"
#include "fleet/host_record.hpp"
#include "heartbeat/accounting.hpp"

namespace mtce::fleet {

enum class fleet_mode : std::uint8_t {
    normal,  ///< each host on its own merits
    dor,     ///< Dead Office Recovery: the site lost power; be forgiving while every host boots
    mnfa,    ///< multi-node failure avoidance: many hosts missed at once; suspect the network
};

[[nodiscard]] std::string_view to_string(fleet_mode m) noexcept;

/// The task of a host held by multi-node failure avoidance until the network is back.
inline constexpr std::string_view graceful_recovery_wait = "Graceful Recovery Wait";

/// One heartbeat event of a period.
struct heartbeat_report {
    std::string_view host;
    heartbeat::hb_event event;
};

/// The settings the policy applies, taken from the configuration in force at each period.
struct policy_settings {
    failure_action action = failure_action::fail;
    std::uint32_t mnfa_threshold = 2;
    std::chrono::milliseconds mnfa_timeout{0};  ///< 0: none
    std::uint32_t mnfa_backoff_factor = 4;
    /// No controller has the worker subfunction: a controller's cluster-network loss degrades only.
    bool standard_system = true;

    [[nodiscard]] static policy_settings from(const config& c, bool standard_system);
};

/// One line for the event log: the host it is about ("" for the whole system), its kind and text.
struct policy_note {
    std::string host;
    std::string kind;
    std::string text;
};

/// What the policy made of a period.
struct period_plan {
    /// Hosts whose records changed (alarms and in-service availability are to be refreshed), each once.
    std::vector<host_record*> changed;
    /// Hosts for which a recovery became due this period.
    std::vector<host_record*> recover;
    /// Hosts whose task is to show "Graceful Recovery Wait" (held by multi-node failure avoidance).
    std::vector<host_record*> hold;
    /// Hosts released from the hold without a recovery (not enabled any more, or another job has them):
    /// their "Graceful Recovery Wait" task is to be cleared.
    std::vector<host_record*> release;
    /// The heartbeat period's multiplier from the next period on, when it changes (1: the configured one).
    std::optional<std::uint32_t> period_factor;
    std::vector<policy_note> notes;
};

/// The Dead Office Recovery window as the system view shows it.
struct dor_view {
    struct host {
        std::string name;
        std::string state;  ///< administrative-operational-availability when listed, then when it checked in
        bool recovered = false;
        bool checked_in = false;
    };
    bool active = false;
    time_point started{};
    time_point deadline{};
    std::optional<time_point> ended;
    std::vector<host> hosts;
    [[nodiscard]] std::size_t recovered() const;
};

/// Multi-node failure avoidance as the system view shows it.
struct mnfa_view {
    bool active = false;
    time_point since{};
    std::array<std::size_t, heartbeat::network_count> missing{};  ///< hosts missing per network
    std::vector<std::string> hosts;                               ///< held in Graceful Recovery Wait
    std::uint64_t episodes = 0;                                   ///< times it was entered
};

/// Not thread-safe.
class fleet_policy {
public:
    /// Dead Office Recovery first (its rules are the more forgiving), then multi-node failure avoidance.
    [[nodiscard]] fleet_mode mode() const noexcept;

    /// Applies one period's events, at `now`, to the records of the managed hosts they name (`find` returns
    /// null for a host the fleet does not manage, such as a monitor-only one): heartbeat alarm levels,
    /// degrade causes and loss counts, as the failure action says; multi-node failure avoidance; and which
    /// hosts are recovered. Called for every period, quiet ones too (multi-node failure avoidance times out).
    period_plan on_period(std::span<const heartbeat_report> events,
                          const std::function<host_record*(std::string_view)>& find, const policy_settings& s,
                          time_point now);

    /// Forgets multi-node failure avoidance (the heartbeat monitor stopped, or the failure action changed to
    /// alarm or none): the held hosts are released and the period factor goes back to 1.
    period_plan cancel_mnfa(const std::function<host_record*(std::string_view)>& find, std::string_view why);

    // ---- Dead Office Recovery ----
    /// Opens the window at `now` until `deadline`, listing `hosts` ({name, state}); returns the banner.
    std::string begin_dor(time_point now, time_point deadline,
                          const std::vector<std::pair<std::string, std::string>>& hosts,
                          std::string_view why);
    /// Whether the window is open.
    [[nodiscard]] bool dor_active() const noexcept { return dor_.active; }
    /// The open window's deadline.
    [[nodiscard]] std::optional<time_point> dor_deadline() const noexcept;
    /// A listed host is back (`recovered`) or failed for a reason of its own, in `state`, at `now`. Returns
    /// the notes: its check-in ("x of y"), and the window's end when it was the last. Nothing for a host not
    /// listed, or that checked in already.
    std::vector<policy_note> dor_check_in(std::string_view name, bool recovered, std::string state,
                                          time_point now);
    /// A listed host left the window without checking in (locked, deleted): it is no longer awaited.
    std::vector<policy_note> dor_forget(std::string_view name, time_point now);
    /// Closes the window at its deadline; returns the note naming the hosts that are not back.
    std::vector<policy_note> dor_tick(time_point now);

    [[nodiscard]] const dor_view& dor() const noexcept { return dor_; }
    [[nodiscard]] const mnfa_view& mnfa() const noexcept { return mnfa_; }

private:
    struct missing_host {
        std::array<bool, heartbeat::network_count> on{};
        bool held = false;  ///< in the Graceful Recovery Wait pool
    };
    void enter_mnfa(const policy_settings& s, time_point now, heartbeat::network net, period_plan& plan,
                    const std::function<host_record*(std::string_view)>& find);
    void exit_mnfa(bool timed_out, period_plan& plan,
                   const std::function<host_record*(std::string_view)>& find);
    static void hold(missing_host& m, host_record& h, period_plan& plan);
    [[nodiscard]] std::size_t missing_on(heartbeat::network net) const;
    std::vector<policy_note> close_dor(time_point now, bool timed_out);

    std::map<std::string, missing_host, std::less<>> missing_;
    std::size_t recovered_early_ = 0;  ///< held hosts back, and recovered, before this episode ended  ///<
                                       ///< hosts missing heartbeats on some network
    dor_view dor_;
    mnfa_view mnfa_;
};

}  // namespace mtce::fleet
