#pragma once

// What the controller asks of a host's BMC, whatever the protocol (Redfish over HTTPS, IPMI through
// ipmitool). A driver never blocks the event loop: every operation is a coroutine with its own deadline
// (bmc.request_timeout per exchange, retried with a bounded back-off), and fails with a bmc_error that says
// what went wrong in words an operator can act on. Passwords never appear in errors, logs or argv.

#include <memory>
#include <string_view>

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>

#include "bmc/types.hpp"

namespace mtce::bmc {

/// One BMC. Not thread-safe: used from the event loop's thread. Operations of one driver may be awaited one
/// at a time (the controller serialises them per host).
class driver {
public:
    virtual ~driver() = default;
    [[nodiscard]] virtual std::string_view protocol() const noexcept = 0;  ///< "redfish" or "ipmi"

    /// Reaches the BMC and learns what it offers (Redfish: service root, the system, its reset types).
    /// Succeeds only if the BMC speaks this protocol with these credentials.
    virtual asio::awaitable<result<capabilities>> probe() = 0;
    virtual asio::awaitable<result<power_state>> power() = 0;
    /// The request only; callers verify the outcome by polling power().
    virtual asio::awaitable<result<void>> power_on() = 0;
    virtual asio::awaitable<result<void>> power_off() = 0;  ///< immediate (ForceOff / chassis power off)
    virtual asio::awaitable<result<void>> power_cycle() = 0;
    /// An immediate restart (ForceRestart / chassis power reset).
    virtual asio::awaitable<result<void>> reset() = 0;
    /// The next boot (only) from the network.
    virtual asio::awaitable<result<void>> boot_pxe_once() = 0;
};

}  // namespace mtce::bmc
