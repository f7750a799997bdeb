#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

namespace mtce {

/// The three roles one `mtce` executable can run as; a role is also a host's main function.
enum class role { controller, worker, storage };

[[nodiscard]] std::string_view to_string(role r);
[[nodiscard]] std::optional<role> parse_role(std::string_view s);

/// Heartbeat transport: multicast on real networks, unicast on loopback or networks without multicast.
enum class heartbeat_mode { multicast, unicast };

/// What the controller does when a host's heartbeat is lost (design §7; reference controller-lifecycle §6):
/// `fail` recovers the host (gracefully first), `degrade` only degrades it, `alarm` only raises the heartbeat
/// alarms, `none` does nothing at all.
enum class failure_action { fail, degrade, alarm, none };

/// Inline: the fleet's sans-io rules use it without linking the configuration's parser.
[[nodiscard]] inline std::string_view to_string(failure_action a) noexcept {
    switch (a) {
    case failure_action::fail:
        return "fail";
    case failure_action::degrade:
        return "degrade";
    case failure_action::alarm:
        return "alarm";
    case failure_action::none:
        return "none";
    }
    return "unknown";
}

/// How the host agent runs its self-test and host-services scripts so that nothing they start outlives
/// their deadline: `systemd` as transient units over D-Bus (systemd must be PID 1), `cgroup` in a cgroup v2
/// child of the agent's own (killed whole with cgroup.kill), `process-group` in a process group only (a
/// process that calls setsid escapes it). `automatic` takes the first of these the host allows.
enum class script_isolation { automatic, systemd, cgroup, process_group };

[[nodiscard]] inline std::string_view to_string(script_isolation i) noexcept {
    switch (i) {
    case script_isolation::automatic:
        return "auto";
    case script_isolation::systemd:
        return "systemd";
    case script_isolation::cgroup:
        return "cgroup";
    case script_isolation::process_group:
        return "process-group";
    }
    return "unknown";
}

/// One provisioned network (`mgmt` or `cluster`). An empty address means "not provisioned on this host".
struct network_config {
    std::string address;
    std::string interface;
    std::string multicast_group = "239.1.1.2";
    std::uint16_t agent_port = 0;        ///< host agent receives commands here
    std::uint16_t controller_port = 0;   ///< controller receives mtcAlive, acks and results here
    std::uint16_t pulse_port = 0;        ///< host agent receives pulse requests here
    std::uint16_t pulse_reply_port = 0;  ///< controller receives pulse responses here
};

struct agent_config {
    std::string hostname;            ///< default: the kernel hostname
    std::vector<role> subfunctions;  ///< e.g. {worker} on an all-in-one controller
    std::vector<std::string> controllers{"127.0.0.1"};
    std::filesystem::path boot_id_file;  ///< empty: the kernel's boot id
    std::chrono::milliseconds drain_timeout{std::chrono::seconds{20}};
    std::string log_level = "info";
};

struct auth_config {
    std::filesystem::path key_file = "/etc/mtce/cluster.key";
};

struct heartbeat_config {
    std::uint32_t period_ms = 100;
    std::uint32_t minor_threshold = 4;
    std::uint32_t degrade_threshold = 6;
    std::uint32_t failure_threshold = 10;
    std::uint32_t recovery_threshold = 10;
    heartbeat_mode mode = heartbeat_mode::multicast;
    failure_action on_failure = failure_action::fail;  ///< heartbeat.failure_action
};

struct host_config {
    std::filesystem::path goenabled_dir = "/etc/mtce/goenabled.d";
    std::filesystem::path services_dir = "/etc/mtce/services.d";
    std::filesystem::path run_dir = "/run/mtce";
    std::filesystem::path state_dir = "/var/lib/mtce/host";
    std::chrono::milliseconds goenabled_timeout{std::chrono::seconds{600}};
    std::chrono::milliseconds services_timeout{std::chrono::seconds{300}};
    std::chrono::milliseconds kill_grace{std::chrono::seconds{5}};
    std::size_t output_limit = std::size_t{64} * 1024;
    std::filesystem::path subfunction_config_marker = "/run/mtce/.worker_config_complete";
    std::chrono::milliseconds subfunction_config_timeout{std::chrono::seconds{1200}};
    std::chrono::milliseconds mtcalive_period{std::chrono::seconds{5}};
    std::string reboot_command = "systemctl reboot";
    std::string reset_command = "systemctl reboot --force";
    std::chrono::milliseconds failsafe_delay{std::chrono::seconds{120}};
    script_isolation isolation = script_isolation::automatic;  ///< host.script_isolation
};

/// A host the controller monitors, from a `[[controller.hosts]]` table. An empty address: the host is not on
/// that network.
struct monitored_host {
    std::string name;
    role personality = role::worker;
    std::string mgmt_ip;
    std::string cluster_ip;
    std::uint32_t line = 0;  ///< where its table starts in the file, for messages
};

struct controller_config {
    std::filesystem::path state_dir = "/var/lib/mtce/controller";
    std::string api_listen = "127.0.0.1:2112";
    std::filesystem::path api_token_file;
    /// The local API socket (the CLI uses it); empty: none. Peers: root, our user, api_socket_group.
    std::filesystem::path api_socket = "/run/mtce/api.sock";
    std::string api_socket_group;     ///< a group whose members may use api_socket; empty: none
    bool api_trust_loopback = false;  ///< TCP mutations from loopback without the bearer token
    std::uint32_t api_max_connections = 256;
    std::uint32_t api_client_connections = 16;  ///< per client address (TCP) or user (socket)
    std::chrono::milliseconds api_client_timeout{std::chrono::seconds{10}};  ///< a whole request, or idle
    /// The key that encrypts BMC passwords in the inventory.
    std::filesystem::path bmc_key_file = "/etc/mtce/bmc.key";
    std::vector<monitored_host> hosts;  ///< heartbeat-monitored hosts, in file order

    // The host lifecycles (reference controller-lifecycle §1.9; the defaults are the original's).
    std::chrono::milliseconds controller_boot_timeout{std::chrono::seconds{1200}};
    std::chrono::milliseconds worker_boot_timeout{std::chrono::seconds{720}};
    std::chrono::milliseconds storage_boot_timeout{std::chrono::seconds{720}};
    std::chrono::milliseconds goenabled_timeout{std::chrono::seconds{603}};
    std::chrono::milliseconds services_timeout{std::chrono::seconds{305}};
    /// Longer than the host's own host.subfunction_config_timeout (20 min), so that the host's verdict, with
    /// its reason, comes first.
    std::chrono::milliseconds subfunction_config_timeout{std::chrono::minutes{21}};
    std::chrono::milliseconds heartbeat_soak{std::chrono::seconds{11}};
    std::chrono::milliseconds command_timeout{std::chrono::seconds{10}};
    std::uint32_t command_retries = 5;
    std::chrono::milliseconds reboot_timeout{std::chrono::seconds{60}};
    std::chrono::milliseconds offline_window{std::chrono::seconds{20}};
    std::chrono::milliseconds fresh_boot_uptime{std::chrono::seconds{120}};
    std::chrono::milliseconds loss_recovery_timeout{std::chrono::seconds{5}};
    std::chrono::milliseconds self_reboot_delay{std::chrono::seconds{15}};
    std::chrono::milliseconds task_display{std::chrono::seconds{30}};
    /// Graceful recoveries in a row whose soak lost the heartbeat again; the next one is a full enable.
    std::uint32_t recovery_nest_limit = 5;
};

/// How long a host that failed waits before the next enable, per cause (reference §4, ar_*_interval), and how
/// many consecutive failures of one cause are retried (design §7).
struct autorecovery_config {
    std::uint32_t threshold = 2;  ///< the next consecutive failure of one cause disables auto-recovery
    std::chrono::milliseconds config_interval{std::chrono::seconds{30}};
    std::chrono::milliseconds goenabled_interval{std::chrono::seconds{30}};
    std::chrono::milliseconds services_interval{std::chrono::seconds{30}};
    std::chrono::milliseconds heartbeat_interval{std::chrono::seconds{600}};
    std::chrono::milliseconds boot_interval{std::chrono::seconds{16}};
};

/// The hosts' BMCs (Redfish and IPMI): timing, trust and the power-state audit.
struct bmc_config {
    std::uint32_t audit_period_s = 60;  ///< power-state audit of every host with a BMC; 0: none
    /// A host that ignores reboot requests is reset by its BMC after this.
    std::uint32_t reset_delay_s = 300;
    std::chrono::milliseconds request_timeout{std::chrono::seconds{20}};
    std::uint32_t retries = 3;
    std::chrono::milliseconds backoff{std::chrono::seconds{1}};
    std::filesystem::path ca_file;  ///< CA bundle for Redfish TLS; empty: the system's store
    std::filesystem::path ipmitool = "/usr/bin/ipmitool";
    int ipmi_cipher_suite = -1;  ///< ipmitool -C; -1: ipmitool chooses
    std::chrono::milliseconds power_off_timeout{std::chrono::seconds{60}};
    std::chrono::milliseconds power_on_timeout{std::chrono::seconds{60}};
    std::chrono::milliseconds access_alarm_delay{std::chrono::minutes{2}};
    std::uint32_t quarantine_failures = 3;
    std::chrono::milliseconds reprobe_interval{std::chrono::seconds{300}};
};

/// Dead Office Recovery (design §7): the site lost power.
struct dor_config {
    std::uint32_t detect_s = 1200;       ///< this controller's uptime below it at start means a power loss
    std::uint32_t timeout_s = 20;        ///< the window, plus 1 s per unlocked host
    std::uint32_t aio_timeout_s = 1200;  ///< the window on an all-in-one system
};

/// Multi-node failure avoidance (design §7).
struct mnfa_config {
    std::uint32_t threshold = 2;           ///< hosts missing heartbeats on one network at once
    std::chrono::milliseconds timeout{0};  ///< hosts still missing then are failed; 0: never
    std::uint32_t backoff_factor = 4;      ///< the heartbeat period is multiplied by it while active
};

/// The whole configuration, parsed once and validated; immutable once built.
struct config {
    role self = role::worker;
    agent_config agent;
    auth_config auth;
    network_config mgmt{"", "", "239.1.1.2", 2118, 2101, 2106, 2103};
    network_config cluster{"", "", "239.1.1.3", 2115, 2111, 2116, 2113};
    heartbeat_config heartbeat;
    host_config host;
    controller_config controller;
    autorecovery_config autorecovery;
    bmc_config bmc;
    dor_config dor;
    mnfa_config mnfa;

    /// The functions this host performs, main function (= role) first.
    [[nodiscard]] std::vector<role> functions() const;
    /// True for an all-in-one controller: a controller that also has the worker subfunction.
    [[nodiscard]] bool has_worker_subfunction() const;
};

/// One problem found in a configuration, with where it was found.
struct config_error {
    std::string file;        ///< the file, or "<built-in worker defaults>" for a role fragment
    std::uint32_t line = 0;  ///< 0 when there is no line (unreadable file, a rule between defaults)
    std::string key;         ///< dotted key, empty for a syntax error
    std::string message;

    /// "file:line: key: message", the form every tool and test expects.
    [[nodiscard]] std::string to_string() const;
};

using config_errors = std::vector<config_error>;

/// Every key the configuration accepts, in dotted form ("heartbeat.period_ms"); used by the man page test.
[[nodiscard]] std::vector<std::string> config_keys();

/// Parses the role's built-in defaults, then `path` (if not empty) over them, and validates the result.
/// No I/O beyond reading the file and stat()ing the key file. All problems are reported, not just the first.
[[nodiscard]] tl::expected<config, config_errors> load_config(const std::filesystem::path& path, role self);

/// Same, with the file's text given directly; `name` is used in error messages.
[[nodiscard]] tl::expected<config, config_errors> parse_config(std::string_view text, std::string_view name,
                                                               role self);

/// Holds the configuration in force; a reload swaps it only when the new one is valid.
/// Not thread-safe: owned by the event loop's thread.
class config_store {
public:
    config_store(std::filesystem::path path, role self, config initial);

    [[nodiscard]] std::shared_ptr<const config> current() const { return current_; }
    [[nodiscard]] const std::filesystem::path& path() const { return path_; }

    /// Re-reads the file. On success the new config is in force; on error the old one stays.
    tl::expected<void, config_errors> reload();

private:
    std::filesystem::path path_;
    role self_;
    std::shared_ptr<const config> current_;
};

/// The default configuration file location.
inline constexpr const char* default_config_path = "/etc/mtce/mtce.toml";

}  // namespace mtce
