#pragma once

// Which alarms a host's state raises (reference monitors-bmc-api §F: the IDs, instances and severities
// operators key on). Sans-io: a function of the host's state.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fleet/states.hpp"
#include "heartbeat/accounting.hpp"

namespace mtce::fleet {

struct alarm {
    std::string id;        ///< "200.001"
    std::string severity;  ///< critical, major, minor, warning
    std::string reason;

    friend bool operator==(const alarm&, const alarm&) = default;
};

struct alarm_input {
    std::string_view name;
    host_states states;
    bool has_subfunction = false;
    failure_cause cause = failure_cause::none;
    std::uint32_t degrade_mask = 0;
    bool bmc_unreachable = false;  ///< its BMC has not answered for bmc.access_alarm_delay
    /// Heartbeat level per network while the host is monitored (unmonitored otherwise).
    std::array<heartbeat::hb_state, heartbeat::network_count> heartbeat{heartbeat::hb_state::unmonitored,
                                                                        heartbeat::hb_state::unmonitored};
};

/// The alarms a host in this state has, ordered by id: 200.001 locked; 200.004 enable failure (critical,
/// unless its cause is a configuration failure: 200.011; critical too for this controller degraded by its
/// own failure) or an in-service failure flag (major); 200.005 /
/// 200.009 heartbeat of the management / cluster network (major degraded, critical lost); 200.010 BMC access
/// (warning); 200.011 a configuration failure (enable failed with it, or this controller reports it in
/// service); 200.013 the all-in-one worker subfunction failed; 200.016 the encrypted volume is not active in
/// service.
[[nodiscard]] std::vector<alarm> expected_alarms(const alarm_input& in);

/// What a controller starting again cannot know yet about a host, as its alarms held before the restart
/// say it: the degrade causes a host's reports set (failure flag, configuration failure, encrypted volume,
/// this controller's own failure), the BMC unreachable, the heartbeat levels. Restored into the host, they
/// make expected_alarms() give the held alarms again, each keeping its `since`; the host's next report, BMC
/// audit or heartbeat then clears what is gone, as it would have without the restart.
struct held_conditions {
    std::uint32_t degrade_mask = 0;
    bool bmc_unreachable = false;
    std::array<heartbeat::hb_state, heartbeat::network_count> heartbeat{heartbeat::hb_state::unmonitored,
                                                                        heartbeat::hb_state::unmonitored};
};

/// The conditions behind `held` (a host's alarms as stored: id and severity) for a host in `states`. Alarms
/// that follow from the stored states alone (locked, failed) need no condition.
[[nodiscard]] held_conditions conditions_of(const std::vector<alarm>& held, const host_states& states);

}  // namespace mtce::fleet
