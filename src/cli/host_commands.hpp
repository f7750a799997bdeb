#pragma once

// The client subcommands that change hosts or wait for them: `mtce host add`, `modify`, `delete`, the actions
// (`lock`, `unlock`, ...) and `wait`. The pure parts (option checks, the request body, the password file, the
// state argument) are apart from the runners, for tests.

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>
#include <tl/expected.hpp>

#include "cli/client_commands.hpp"

namespace mtce::cli {

/// `mtce host add` as given on the command line; an option not given is empty.
struct add_options {
    std::string name;
    std::string personality;
    std::string subfunctions;  ///< comma-separated, as given
    std::string mgmt_ip;
    std::string cluster_ip;
    std::string bmc_type;  ///< redfish, ipmi, none
    std::string bmc_address;
    std::string bmc_username;
    std::filesystem::path bmc_password_file;
    bool bmc_insecure = false;
};

/// "worker" -> {"worker"}, "a, b" -> {"a", "b"}, "" -> {}; an empty name between commas is an error.
[[nodiscard]] tl::expected<std::vector<std::string>, std::string> split_subfunctions(std::string_view list);

/// The POST /v1/hosts document for `o`, without the password (the caller adds "bmc_password"); options not
/// given are left out. Usage errors as text: bad --subfunctions; --bmc-type redfish or ipmi without all of
/// --bmc-address, --bmc-username and --bmc-password-file; any of those without such a --bmc-type.
[[nodiscard]] tl::expected<nlohmann::json, std::string> add_host_document(const add_options& o);

/// `mtce host modify` as given on the command line; an option not given is empty (or false).
struct modify_options {
    std::string name;
    std::string bmc_type;
    std::string bmc_address;
    std::string bmc_username;
    std::filesystem::path bmc_password_file;
    bool bmc_insecure = false;  ///< --bmc-insecure
    bool bmc_verify = false;    ///< --bmc-verify: verify the certificate again
};

/// The PATCH /v1/hosts/{name} document for `o`, without the password (the caller adds "bmc_password"): only
/// the options given. Usage errors as text: nothing to change, or both --bmc-insecure and --bmc-verify.
[[nodiscard]] tl::expected<nlohmann::json, std::string> modify_host_document(const modify_options& o);

/// A BMC password read from its file.
struct password_file {
    std::string password;
    std::optional<std::string> warning;  ///< set when group or others may read the file
};

/// The password in `path`: the whole file (at most 4096 bytes) without one trailing newline. The file must
/// exist, be readable and hold a non-empty password; otherwise the reason, naming the file. A regular file
/// readable by group or others is accepted with a warning.
[[nodiscard]] tl::expected<password_file, std::string> read_password_file(const std::filesystem::path& path);

/// The API action of `mtce host COMMAND [--force]`: COMMAND itself, or "force-lock" for `lock --force`;
/// --force with any other command is a usage error (as text).
[[nodiscard]] tl::expected<std::string, std::string> action_for(std::string_view command, bool force);

/// The state `host wait --state` waits for, in the API's words.
struct wanted_state {
    std::string administrative;  ///< locked, unlocked
    std::string operational;     ///< enabled, disabled
    std::string availability;    ///< available, degraded, ..., power-off, not-installed

    /// Whether the host document `host` is in this state.
    [[nodiscard]] bool matches(const nlohmann::json& host) const;
};

/// Parses ADMIN-OPER-AVAIL (e.g. "unlocked-enabled-available", "locked-disabled-power-off") against the
/// vocabulary of fleet/states.hpp; the reason as text otherwise.
[[nodiscard]] tl::expected<wanted_state, std::string> parse_wait_state(std::string_view text);

/// `mtce host add`; returns the exit status (mtce(8)). The password never reaches stdout or stderr.
int run_host_add(const client_options& options, const add_options& add);
/// `mtce host modify NAME [--bmc-...]`: changes the host's BMC; the controller learns its protocol again.
int run_host_modify(const client_options& options, const modify_options& modify);
/// `mtce host delete NAME`.
int run_host_delete(const client_options& options, const std::string& name);
/// `mtce host COMMAND NAME [--force]` for the actions lock, unlock, reboot, reset, power-on, power-off,
/// power-cycle and reinstall.
int run_host_action(const client_options& options, const std::string& name, std::string_view command,
                    bool force);

/// How `mtce host wait` polls.
struct wait_options {
    std::chrono::milliseconds timeout{std::chrono::minutes{10}};
    std::chrono::milliseconds interval{500};  ///< between the starts of two reads
};

/// `mtce host wait NAME --state STATE`: reads the host every `interval`, prints a line whenever its state
/// or task changes, and returns 0 once it is in `state`, 6 when the timeout passes first, 3 if the host is
/// unknown or deleted meanwhile, 2 for a bad state, and what report_failure() says for another 4xx answer.
/// An unreachable controller (or a 5xx answer) is noted once on stderr per outage and the wait goes on.
int run_host_wait(const client_options& options, const std::string& name, const std::string& state,
                  const wait_options& wait);

}  // namespace mtce::cli
