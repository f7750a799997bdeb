#pragma once

// Which commands a host may still carry out (design §8, mtce-protocol(7) "Carrying out a command once"):
// only commands for itself, of the highest controller epoch it has seen, with an id above the last one it
// carried out in that epoch. The rules are pure functions; command_fence keeps the position durable in
// host.state_dir, so that an agent restart (or a reboot) does not reopen the door to a captured command.

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>

#include <tl/expected.hpp>

#include "net/payloads.hpp"

namespace mtce::host {

/// The newest command carried out: the highest epoch seen and the last id carried out in that epoch.
struct fence_position {
    std::uint64_t epoch = 0;
    std::uint64_t last_id = 0;

    friend bool operator==(const fence_position&, const fence_position&) = default;
};

/// What the rules make of one authenticated, fresh command.
enum class fence_verdict : std::uint8_t {
    carry_out,     ///< for this host, of the current (or a higher) epoch, with a new id
    wrong_target,  ///< names another host: captured on its way there and replayed here
    stale_epoch,   ///< of an epoch lower than the highest seen: from an earlier controller term
    old_id,        ///< of the current epoch, but its id is not above the last carried out
};

[[nodiscard]] std::string_view to_string(fence_verdict v) noexcept;

/// The rules, in this order: the target must equal `hostname` ignoring ASCII case (host names are DNS
/// names); the epoch must not be lower than `at.epoch`; within `at.epoch` the id must be greater than
/// `at.last_id` (a higher epoch starts a new id sequence). No clock and no file is read here.
[[nodiscard]] fence_verdict judge(const fence_position& at, const net::command& c,
                                  std::string_view hostname) noexcept;

/// The position once `c` (judged carry_out) is carried out.
[[nodiscard]] constexpr fence_position after(const net::command& c) noexcept {
    return {c.epoch, c.id};
}

/// The file's text: "epoch N\nid N\n".
[[nodiscard]] std::string to_text(const fence_position& p);
/// Parses to_text()'s form; the error says what is wrong.
[[nodiscard]] tl::expected<fence_position, std::string> parse_fence(std::string_view text);

/// The position, kept in `<state_dir>/command_fence` (written atomically and fsync'd; 0600). A missing file
/// is position {0, 0}: a host that never carried out a command. Not thread-safe.
class command_fence {
public:
    explicit command_fence(const std::filesystem::path& state_dir);

    /// Reads the file. Throws std::runtime_error naming the file if it exists but cannot be read or parsed
    /// (a host that cannot tell which commands it already carried out must not carry out any).
    void load();

    [[nodiscard]] const fence_position& position() const noexcept { return position_; }

    /// Makes `p` durable, then the position; on error the position is unchanged.
    [[nodiscard]] std::error_code advance(const fence_position& p);

    [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }

private:
    std::filesystem::path path_;
    fence_position position_;
};

}  // namespace mtce::host
