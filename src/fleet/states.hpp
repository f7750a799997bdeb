#pragma once

// The host state model of the fleet manager (design §1; reference controller-lifecycle §1.1): what a host
// document shows and what the inventory persists. Plain values, no I/O.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mtce::fleet {

/// Administrative state: what the operator asked for.
enum class admin_state : std::uint8_t { locked, unlocked };

/// Operational state: whether the host (or its subfunction) is in service.
enum class oper_state : std::uint8_t { disabled, enabled };

/// Availability: how the host (or its subfunction) is doing. `offduty` and `not_installed` are kept from the
/// original's vocabulary for documents written by other tools; mtce itself does not enter them.
enum class avail_state : std::uint8_t {
    not_installed,
    available,  ///< in service, nothing wrong
    degraded,   ///< in service, something wrong (a degrade cause is set)
    failed,     ///< out of service after a failure; recovery runs unless locked
    intest,     ///< running its self-tests (enable)
    power_off,  ///< its BMC says the power is off
    offline,    ///< no mtcAlive within controller.offline_window
    online,     ///< disabled (locked or not yet enabled) but reporting mtcAlive
    offduty,
};

/// What an operator (or the controller itself) asks of a host. The values of design §3.4's "action".
enum class host_action : std::uint8_t {
    none,
    lock,
    force_lock,
    unlock,
    reboot,
    reset,
    power_on,
    power_off,
    power_cycle,
    reinstall,
    remove,  ///< "delete"
};

/// Why an enable (or a recovery) failed; each cause has its own retry interval
/// (autorecovery.<cause>_interval) and, later, its own retry limit.
enum class failure_cause : std::uint8_t {
    none,
    config,       ///< the host reports that its configuration failed (not configured, or not healthy)
    goenabled,    ///< a self-test failed or did not finish in time
    services,     ///< host services failed to start or did not finish in time
    heartbeat,    ///< heartbeat lost during the soak, or in service without a graceful recovery
    boot,         ///< no mtcAlive from a new boot within the boot timeout, or the host did not reboot
    luks,         ///< the host's encrypted volume could not be opened
    subfunction,  ///< the worker subfunction of an all-in-one controller failed to enable
};

[[nodiscard]] std::string_view to_string(admin_state s) noexcept;
[[nodiscard]] std::string_view to_string(oper_state s) noexcept;
[[nodiscard]] std::string_view to_string(avail_state s) noexcept;
/// The API's spelling: "force-lock", "power-on", "delete", ...; "" for none.
[[nodiscard]] std::string_view to_string(host_action a) noexcept;
[[nodiscard]] std::string_view to_string(failure_cause c) noexcept;

[[nodiscard]] std::optional<admin_state> parse_admin_state(std::string_view s) noexcept;
[[nodiscard]] std::optional<oper_state> parse_oper_state(std::string_view s) noexcept;
[[nodiscard]] std::optional<avail_state> parse_avail_state(std::string_view s) noexcept;
/// Accepts every spelling to_string produces except "" (none).
[[nodiscard]] std::optional<host_action> parse_host_action(std::string_view s) noexcept;
[[nodiscard]] std::optional<failure_cause> parse_failure_cause(std::string_view s) noexcept;

/// Every state a host document shows, main function and (all-in-one) worker subfunction. The subfunction
/// states are meaningful only for a host with the worker subfunction.
struct host_states {
    admin_state administrative = admin_state::locked;
    oper_state operational = oper_state::disabled;
    avail_state availability = avail_state::offline;
    oper_state subfunction_operational = oper_state::disabled;
    avail_state subfunction_availability = avail_state::offline;

    friend bool operator==(const host_states&, const host_states&) = default;
};

/// "administrative-operational-availability", as `mtce host wait --state` spells it.
[[nodiscard]] std::string states_text(const host_states& s);

}  // namespace mtce::fleet
