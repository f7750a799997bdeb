#pragma once

#include <filesystem>
#include <system_error>

namespace mtce::host {

/// The host's administrative lock, as last told by the controller.
///
/// Persisted in `<state_dir>/admin_state` ("locked" or "unlocked"; absent = unlocked, as a newly installed
/// host that was never locked) so it survives an agent restart and a reboot, and mirrored in
/// `<run_dir>/locked` (present while locked) for other tools. A change is durable before set() returns.
class lock_state {
public:
    lock_state(const std::filesystem::path& state_dir, const std::filesystem::path& run_dir);

    [[nodiscard]] bool locked() const { return locked_; }

    /// Persists the new state (atomically, fsync'd) and updates the volatile mirror.
    std::error_code set(bool locked);

    /// Re-reads the persisted state and re-creates the mirror from it (at agent start).
    std::error_code load();

private:
    std::filesystem::path persisted_;
    std::filesystem::path mirror_;
    bool locked_ = false;
};

}  // namespace mtce::host
