#pragma once

// The fleet manager (design §1): the inventory, one supervisor per managed host, the messages to and from
// the host agents, the fleet policy, alarms, the event log, and what the REST API shows of all of it. A
// component: it starts and stops on its own (a standby controller stops it while its host agent runs).

#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>

#include "api/backend.hpp"
#include "bmc/driver.hpp"
#include "core/config.hpp"

namespace mtce::net {
class wire_sender;
}
namespace mtce::heartbeat {
class monitor;
}

namespace mtce::fleet {

struct fleet_parts;
class fleet_tasks;

/// The controller's fleet manager. Construct it once the heartbeat monitor exists, open() it, then start().
///
/// Every managed host has a supervisor that runs one job at a time (add, enable, recovery, lock, force-lock,
/// reboot, reset, power, reinstall, subfunction enable), chosen by next_job() from its record and the
/// requests accepted through the API; a request that the running job gives way to cancels it. The heartbeat
/// monitor's events reach the hosts through the fleet policy, a period at a time. Hosts listed in
/// `[[controller.hosts]]` are heartbeated and shown but not managed.
///
/// Not thread-safe: constructed, run and called on the event loop's thread. The inventory's disk writes
/// happen on a thread of its own.
class fleet_manager : public api::backend {
public:
    /// `monitor` may be null (no network address: nothing to heartbeat, no host can be enabled).
    fleet_manager(const asio::any_io_executor& ex, config_store& config, net::wire_sender& wire,
                  heartbeat::monitor* monitor);
    ~fleet_manager() override;
    fleet_manager(const fleet_manager&) = delete;
    fleet_manager& operator=(const fleet_manager&) = delete;

    /// Makes a driver for a protocol ("redfish" or "ipmi"), or null if this controller cannot speak it.
    using bmc_factory = std::function<std::unique_ptr<bmc::driver>(
        std::string_view protocol, const bmc::endpoint& where, const bmc::timing& timing)>;
    /// How BMCs are reached; without it, hosts' BMCs are not used (call before start()).
    void use_bmc(bmc_factory factory);

    /// Opens the inventory in controller.state_dir, loads hosts, alarms and recent events, and adds this
    /// controller's own host if it is not there. Binds the sockets that receive mtcAlive, acks and results.
    /// Throws std::runtime_error saying what is wrong (a locked, corrupt or unreadable database; a port in
    /// use): the controller does not start on a state it cannot trust.
    /// `controller_uptime`: how long this controller's host has been up; below dor.detect_s the site is taken
    /// to have lost power (Dead Office Recovery).
    void open(std::chrono::seconds controller_uptime);

    /// Starts the fleet's tasks, each in the fleet's task groups: every host's supervisor and BMC audit, the
    /// receivers of the hosts' messages and the availability audit. A task that fails for good (a receive
    /// socket error) is reported to `on_failure` (the role stops the daemon then).
    void start(std::function<void(std::string_view task, std::exception_ptr)> on_failure = {});
    /// Stops every task of the fleet, the hosts' included, and waits for them: they are cancelled and end at
    /// their next await; what the hosts were doing is saved and taken up again by start(). Idempotent.
    asio::awaitable<void> stop();

    // api::backend
    [[nodiscard]] nlohmann::json hosts() const override;
    [[nodiscard]] bool host(std::string_view name, nlohmann::json& out) const override;
    [[nodiscard]] nlohmann::json health() const override;
    [[nodiscard]] nlohmann::json system() const override;
    [[nodiscard]] std::string metrics() const override;
    [[nodiscard]] nlohmann::json alarms() const override;
    [[nodiscard]] nlohmann::json events(std::uint64_t since, std::size_t limit) const override;
    asio::awaitable<api::outcome> add_host(api::add_host_request request) override;
    asio::awaitable<api::outcome> modify_host(std::string name, api::modify_host_request request) override;
    asio::awaitable<api::outcome> delete_host(std::string name) override;
    asio::awaitable<api::outcome> act(std::string name, std::string action) override;

private:
    std::unique_ptr<fleet_parts> parts_;
    std::unique_ptr<fleet_tasks> tasks_;
};

}  // namespace mtce::fleet
