#pragma once

// This host's boot as the wire protocol names it (mtce-protocol(7), "boot time"), and the clocks that date
// it.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "net/wire.hpp"

namespace mtce::host {

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
[[nodiscard]] net::boot_identity load_boot_identity(const std::filesystem::path& run_dir,
                                                    std::string boot_id_text, bool simulated);

/// CLOCK_BOOTTIME, the time since the kernel booted, suspend included.
[[nodiscard]] std::uint64_t boottime_ns();

/// CLOCK_REALTIME, the time since the epoch.
[[nodiscard]] std::uint64_t realtime_ns();

/// How long this boot has lasted, in seconds: `boottime_s` for a kernel boot; for a simulated one,
/// `realtime_s` - `boot.boot_time` (0 if the clock is behind the boot time). Pure.
[[nodiscard]] std::uint64_t uptime_seconds(const net::boot_identity& boot, std::uint64_t realtime_s,
                                           std::uint64_t boottime_s);

}  // namespace mtce::host
