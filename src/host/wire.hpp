#pragma once

// What this host puts in the header of every datagram it sends: its name, its boot and a sequence that only
// grows during the boot (mtce-protocol(7), "boot time" and "sequence").

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "net/message.hpp"

namespace mtce::host {

/// This boot as the wire protocol names it.
struct boot_identity {
    std::string id_text;          ///< as read (kernel boot id, or a simulated host's text)
    net::boot_id id{};            ///< net::parse_boot_id(id_text)
    std::uint64_t boot_time = 0;  ///< seconds since the epoch when the boot began; fixed for the boot
    bool simulated = false;       ///< the id comes from agent.boot_id_file, not from the kernel
};

/// The boot time to use, given what `<run_dir>/boot_time` recorded (`recorded`: its text, if any) and the
/// value computed now from the clocks. The recorded time is kept while the boot id is the same, so that
/// daemon restarts and clock steps do not move it. For a new boot id it is the computed time, but never at
/// or before the previous boot's: a simulated host "reboots" without the kernel's clocks restarting. Pure.
[[nodiscard]] std::uint64_t choose_boot_time(std::string_view boot_id_text,
                                             const std::optional<std::string>& recorded,
                                             std::uint64_t computed);

/// Reads this boot's identity; records the boot time in `<run_dir>/boot_time` when it is new.
/// With the kernel's boot id the boot began when the kernel booted (CLOCK_REALTIME - CLOCK_BOOTTIME). A
/// simulated host (`simulated`: its boot id comes from agent.boot_id_file) "reboots" by changing that file,
/// so its boot began when the agent first saw the id: CLOCK_REALTIME now.
[[nodiscard]] boot_identity load_boot_identity(const std::filesystem::path& run_dir, std::string boot_id_text,
                                               bool simulated);

/// CLOCK_BOOTTIME, the time since the kernel booted, suspend included.
[[nodiscard]] std::uint64_t boottime_ns();

/// CLOCK_REALTIME, the time since the epoch.
[[nodiscard]] std::uint64_t realtime_ns();

/// How long this boot has lasted, in seconds: `boottime_s` for a kernel boot; for a simulated one,
/// `realtime_s` - `boot.boot_time` (0 if the clock is behind the boot time). Pure.
[[nodiscard]] std::uint64_t uptime_seconds(const boot_identity& boot, std::uint64_t realtime_s,
                                           std::uint64_t boottime_s);

/// Encodes this host's datagrams: one codec, one sequence for every message type and network.
/// The sequence starts at CLOCK_BOOTTIME in nanoseconds, so a restarted agent continues above its
/// predecessor. Not thread-safe (the codec is not): lives on the event loop's thread.
class wire_sender {
public:
    /// Throws std::invalid_argument for a key shorter than net::min_key_size or an invalid host name.
    wire_sender(std::span<const std::byte> key, std::string hostname, boot_identity boot);

    /// Builds a datagram in `out` (at least net::max_datagram_size bytes) and returns it.
    /// Throws std::runtime_error if the payload does not fit (a programming error).
    [[nodiscard]] std::span<const std::byte> encode(net::message_type type,
                                                    std::span<const std::byte> payload,
                                                    std::span<std::byte> out);

    [[nodiscard]] net::codec& codec() { return codec_; }
    [[nodiscard]] const std::string& hostname() const { return hostname_; }
    [[nodiscard]] const boot_identity& boot() const { return boot_; }

private:
    net::codec codec_;
    std::string hostname_;
    boot_identity boot_;
    std::uint64_t next_sequence_;
};

}  // namespace mtce::host
