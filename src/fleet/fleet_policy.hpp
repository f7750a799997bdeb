#pragma once

// The fleet's failure policy (design §7): what a whole heartbeat period's events mean for the hosts, seen
// together, never one host at a time. Sans-io: events and records in, changed records and a plan out.
//
// The mode says which rules apply: `normal` now; Dead Office Recovery (`dor`) and multi-node failure
// avoidance (`mnfa`) add their rules here, where they can see every host of a period at once.

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fleet/host_record.hpp"
#include "heartbeat/accounting.hpp"

namespace mtce::fleet {

enum class fleet_mode : std::uint8_t {
    normal,  ///< each host on its own merits
    dor,     ///< Dead Office Recovery: the site lost power; be forgiving while every host boots
    mnfa,    ///< multi-node failure avoidance: many hosts missed at once; suspect the network
};

[[nodiscard]] std::string_view to_string(fleet_mode m) noexcept;

/// Where Dead Office Recovery stands: its window and the hosts it waits for.
struct dor_view {
    struct host {
        std::string name;
        std::string state;  ///< ADMIN-OPER-AVAIL, e.g. "unlocked-enabled-available"
        bool recovered = false;
        bool checked_in = false;
    };
    bool active = false;
    time_point started{};  ///< time_point{} when the window never opened
    time_point deadline{};
    std::optional<time_point> ended;
    std::vector<host> hosts;

    /// How many of `hosts` are recovered.
    [[nodiscard]] std::size_t recovered() const;
};

/// Where multi-node failure avoidance stands.
struct mnfa_view {
    bool active = false;
    time_point since{};
    std::array<std::size_t, heartbeat::network_count> missing{};  ///< hosts missing per network
    std::vector<std::string> hosts;
    std::uint64_t episodes = 0;  ///< times it was entered since the controller started
};

/// One heartbeat event of a period.
struct heartbeat_report {
    std::string_view host;
    heartbeat::hb_event event;
};

/// What the policy made of a period.
struct period_plan {
    /// Hosts whose records changed (alarms and in-service availability are to be refreshed), each once.
    std::vector<host_record*> changed;
    /// Hosts for which a recovery became due this period.
    std::vector<host_record*> recover;
    /// One line per event, for the event log: {host, text}.
    std::vector<std::pair<std::string, std::string>> notes;
};

/// Not thread-safe.
class fleet_policy {
public:
    [[nodiscard]] fleet_mode mode() const noexcept { return mode_; }
    [[nodiscard]] const dor_view& dor() const noexcept { return dor_; }
    [[nodiscard]] const mnfa_view& mnfa() const noexcept { return mnfa_; }

    /// Applies one period's events to the records of the managed hosts they name (`find` returns null for a
    /// host the fleet does not manage, such as a monitor-only one): heartbeat alarm levels, degrade causes
    /// and loss counts; and decides which hosts are recovered. In normal mode a loss makes a graceful
    /// recovery due for an enabled host that no other job is taking in or out of service.
    period_plan on_period(std::span<const heartbeat_report> events,
                          const std::function<host_record*(std::string_view)>& find);

private:
    fleet_mode mode_ = fleet_mode::normal;
    dor_view dor_;
    mnfa_view mnfa_;
};

}  // namespace mtce::fleet
