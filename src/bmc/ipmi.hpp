#pragma once

// The IPMI driver: every operation is one `ipmitool -I lanplus` run (run_child: own process group, deadline,
// bounded output), retried with a bounded back-off when the BMC did not answer. The password reaches ipmitool
// in its environment (IPMI_PASSWORD, `-E`), never on its command line. What ipmitool prints is parsed by the
// pure functions of mtce::bmc::ipmi below: exactly the expected line is success, anything else is an error.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <asio/any_io_executor.hpp>

#include "bmc/driver.hpp"
#include "core/child.hpp"

namespace mtce::bmc {

/// What the IPMI driver needs beyond an endpoint and its timing.
struct ipmi_options {
    /// RMCP+ cipher suite (`-C`). Unset: ipmitool asks the BMC for its cipher suites and picks the best one,
    /// which costs one exchange per run, and ipmitool's whole retransmission timeout on a BMC that does not
    /// answer that request (ipmi_sim is one). 3 (HMAC-SHA1, HMAC-SHA1-96, AES-CBC-128) is what nearly every
    /// BMC offers; 17 (HMAC-SHA256) is what newer ones prefer.
    std::optional<std::uint8_t> cipher_suite;
};

/// A driver for the BMC at `bmc`, run through the ipmitool at `ipmitool` (an absolute path).
/// Not thread-safe; operations are awaited one at a time (see driver). Cancelling an operation kills the
/// ipmitool it runs.
[[nodiscard]] std::unique_ptr<driver> make_ipmi_driver(asio::any_io_executor ex, endpoint bmc, timing t,
                                                       std::filesystem::path ipmitool,
                                                       ipmi_options options = {});

/// The sans-io parts of the driver: command lines, output parsing, error classification, retry schedule.
namespace ipmi {

/// The ipmitool commands the driver runs.
enum class operation : std::uint8_t { power_status, power_on, power_off, power_cycle, reset, bootdev_pxe };

/// "chassis power status", "chassis bootdev pxe", ...: the words after ipmitool's options.
[[nodiscard]] std::vector<std::string> command_words(operation op);
/// The command as one string, for messages ("chassis power on").
[[nodiscard]] std::string command_text(operation op);
/// The one line ipmitool prints on success of a control command ("Chassis Power Control: Up/On"); empty for
/// power_status, whose success line carries the state.
[[nodiscard]] std::string_view success_line(operation op);

/// ipmitool's own per-message timeout (`-N`, whole seconds) and retransmissions (`-R`).
struct session_limits {
    unsigned timeout_s = 1;
    unsigned retries = 1;
};

/// Limits that let ipmitool give up by itself on a silent BMC well within `request_timeout`: with `-R 1` a
/// message unanswered by a silent BMC costs 2 x `-N` seconds, so `-N` is a quarter of the request timeout
/// (at least 1 s). A run that still outlives the request timeout is killed by run_child's deadline.
[[nodiscard]] session_limits limits_for(std::chrono::milliseconds request_timeout);

/// ipmitool's arguments (after argv[0]) for `op` against `bmc`: `-I lanplus -H ADDR [-p PORT] -U USER -E
/// [-C SUITE] -N n -R n -v <command>`. Never the password. `-v` makes ipmitool say why a session failed
/// (RAKP messages for refused credentials, no answer to Get Auth Capabilities for a silent BMC); its chatter
/// goes to stderr, and stdout still carries only the result line.
[[nodiscard]] std::vector<std::string> arguments(const endpoint& bmc, const timing& t,
                                                 const ipmi_options& options, operation op);

/// The result of one run of `op`: the power state for power_status, power_state::unknown for the control
/// commands. Success is exit code 0 and stdout exactly the expected line (one trailing newline allowed);
/// everything else is the error that classify() gives.
[[nodiscard]] result<power_state> parse(operation op, const child_result& run);

/// Why a run failed: `timeout` when it was killed at its deadline; for ipmitool's own error texts `auth`
/// when the BMC refused the credentials (RAKP errors, privilege level refused), `unreachable` when the BMC
/// did not answer (Get Auth Capabilities, "no response", address lookup), otherwise `refused`; `bad_answer`
/// when it exited 0 but printed something else than the expected line. The message names the command and
/// quotes (bounded) what ipmitool said.
[[nodiscard]] error classify(operation op, const child_result& run);

/// Whether `op` may run twice without harm (every command but power_cycle and reset).
[[nodiscard]] bool repeatable(operation op) noexcept;

}  // namespace ipmi

}  // namespace mtce::bmc
