#pragma once

// The JSON payloads of mtcAlive (type 3), command (4), command ack (5) and command result (6)
// (mtce-protocol(7), "PAYLOADS"). Sans-io: text in, values out. Decoders accept only well-formed UTF-8 JSON
// objects whose known fields have the right types; unknown fields are ignored (a newer peer may add some).

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

namespace mtce::net {

/// What a controller asks of a host agent.
enum class command_kind : std::uint8_t {
    lock,       ///< persist the lock, then stop host services (subfunction first); ack, then a result
    unlock,     ///< persist the unlock, then finish the boot sequence (start host services); ack
    reboot,     ///< run host.reboot_command after `delay_s` (0: at once), with the failsafe; ack first
    reset,      ///< run host.reset_command at once; ack first
    goenabled,  ///< run (or join) the self-tests of the main function or of the subfunction; ack, then a
                ///< result
    mtcalive,   ///< send an mtcAlive at once on every network; no ack
};

inline constexpr std::size_t command_kind_count = 6;

/// The wire name: "lock", "unlock", "reboot", "reset", "goenabled", "mtcalive".
[[nodiscard]] std::string_view to_string(command_kind k) noexcept;
[[nodiscard]] std::optional<command_kind> parse_command_kind(std::string_view s) noexcept;

/// Controller -> host. `id` is chosen by the controller, grows with every command of one epoch; a
/// retransmission carries the same id, so the host carries out a command once and acknowledges every copy.
/// `target` and `epoch` bind the command to one host and one controller term: a host carries out only
/// commands for itself, of the highest epoch it has seen, with an id above the last it carried out.
struct command {
    command_kind kind = command_kind::mtcalive;
    std::uint64_t id = 0;
    std::uint32_t delay_s = 0;  ///< reboot only: a lazy reboot after this many seconds
    bool subfunction = false;   ///< goenabled only: the worker subfunction's self-tests
    std::string target;         ///< the host it is for ("host"); compared without regard to case
    std::uint64_t epoch = 0;    ///< the controller's epoch (design §8), never lower than an earlier term's
    std::uint64_t nonce = 0;    ///< the controller's nonce for this run, echoed by the ack and the result
};

/// Why a command payload was refused. `id` and `name` are filled in when the payload had them, so that the
/// host can still acknowledge with an error ("unsupported command").
struct command_error {
    std::string reason;
    std::optional<std::uint64_t> id;
    std::string name;
    std::uint64_t nonce = 0;  ///< when the payload had one, so that the refusal echoes it
};

[[nodiscard]] std::string to_json(const command& c);
[[nodiscard]] tl::expected<command, command_error> parse_command(std::span<const std::byte> payload);

/// Host -> controller: the command with this id was received. `error` empty: it will be (or was) carried
/// out; else why not (unsupported command, bad argument).
struct command_ack {
    std::string name;  ///< the command's wire name, as received
    std::uint64_t id = 0;
    std::string error;
    std::uint64_t nonce = 0;  ///< echoed from the command
};

[[nodiscard]] std::string to_json(const command_ack& a);
[[nodiscard]] tl::expected<command_ack, std::string> parse_command_ack(std::span<const std::byte> payload);

/// Host -> controller: a long command (lock's services stop, goenabled) finished.
struct command_result {
    std::string name;
    std::uint64_t id = 0;
    bool ok = false;
    std::string reason;       ///< why it failed; empty when ok
    std::uint64_t nonce = 0;  ///< echoed from the command
};

[[nodiscard]] std::string to_json(const command_result& r);
[[nodiscard]] tl::expected<command_result, std::string> parse_command_result(
    std::span<const std::byte> payload);

/// Host -> controller, every host.mtcalive_period and whenever its flags change.
struct alive_report {
    std::string hostname;
    std::string personality;             ///< the main function
    std::vector<std::string> functions;  ///< sent as "subfunctions": main function first
    std::string mgmt_ip;
    std::string cluster_ip;
    std::string boot_id;
    std::uint64_t uptime_s = 0;
    std::uint32_t flags = 0;  ///< alive_flags bits
    /// What failed, when a failure flag is set: the reason recorded in the first failure flag file
    /// (goenabled, then services; main function first), at most max_failure_text bytes. Empty otherwise.
    std::string failure;
    /// Datagrams the agent dropped since it started, by reason (mtce-protocol(7) "drops"); only reasons
    /// counted at least once. Sent as an object, left out when empty.
    std::map<std::string, std::uint64_t> drops;
};

inline constexpr std::size_t max_failure_text = 300;
/// At most this many reasons in alive_report::drops, each name at most max_drop_reason bytes.
inline constexpr std::size_t max_drop_reasons = 16;
inline constexpr std::size_t max_drop_reason = 32;

/// 0 unknown, 1 healthy, 2 unhealthy, from the flags.
[[nodiscard]] int health_of(std::uint32_t flags) noexcept;

/// The payload, with "health" computed from the flags. Never longer than the largest payload: text fields
/// are cut (failure at max_failure_text bytes), and drops that would not fit are left out (the smallest
/// counts first), so that it always fits.
[[nodiscard]] std::string to_json(const alive_report& r);
/// Requires hostname, personality, subfunctions, boot_id, uptime_s and flags; mgmt_ip, cluster_ip,
/// failure and drops default to empty.
[[nodiscard]] tl::expected<alive_report, std::string> parse_alive(std::span<const std::byte> payload);

}  // namespace mtce::net
