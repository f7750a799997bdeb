#pragma once

// How the fleet reaches its hosts' BMCs: one exchange at a time per host, after making sure the BMC answers
// (probing it, and learning its protocol for "auto"); the outcome recorded in the host's BMC health, the
// metrics and the access alarm; and the per-host power-state audit. Internal to src/fleet.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include <asio/awaitable.hpp>

#include "bmc/driver.hpp"
#include "core/config.hpp"
#include "fleet/jobs/context.hpp"

namespace mtce::fleet {

class host_slot;

/// Not thread-safe: the event loop's thread.
class bmc_access {
public:
    /// Makes a driver for a protocol ("redfish" or "ipmi"), or null if this controller cannot speak it.
    using factory = std::function<std::unique_ptr<bmc::driver>(
        std::string_view protocol, const bmc::endpoint& where, const bmc::timing& timing)>;

    explicit bmc_access(config_store& settings) : settings_{settings} {}

    /// How BMCs are reached; without it, hosts' BMCs are not used.
    void use(factory f) { make_driver_ = std::move(f); }
    [[nodiscard]] bool enabled() const { return static_cast<bool>(make_driver_); }
    /// Whether `h` has a BMC this controller can use.
    [[nodiscard]] bool usable(const host_record& h) const { return h.has_bmc() && enabled(); }

    /// The power state, recorded in the host's BMC health.
    asio::awaitable<bmc::result<bmc::power_state>> power(host_slot& h);
    asio::awaitable<bmc::result<void>> act(host_slot& h, bmc_request r);

    /// Waits until no exchange holds the host's BMC, then holds it (a bmc_lease frees it); false, not
    /// holding it, if `deadline` came first.
    asio::awaitable<bool> acquire(host_slot& h, time_point deadline);

    /// The host's power-state audit, every bmc.audit_period_s (less often while quarantined), and its access
    /// alarm when it falls due; until cancelled.
    asio::awaitable<void> audit(host_slot& h);

    /// The availability the BMC's power state gives an idle host (power-off, or back from it).
    void apply_power(host_slot& h);

    /// Exchanges by outcome ("ok" or an error kind), for the metrics.
    [[nodiscard]] const std::map<std::string, std::uint64_t>& operations() const { return operations_; }

private:
    /// Runs `op(driver)` as one exchange: holds the BMC, makes sure it answers, records the outcome.
    template <class T, class Op>
    asio::awaitable<bmc::result<T>> call(host_slot& h, Op op);
    asio::awaitable<bmc::result<void>> ensure(host_slot& h);
    void record(host_slot& h, const bmc::error* failed);
    [[nodiscard]] bmc::endpoint endpoint_of(const host_record& h) const;

    config_store& settings_;
    factory make_driver_;
    std::map<std::string, std::uint64_t> operations_;
};

}  // namespace mtce::fleet
