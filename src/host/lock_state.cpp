#include "host/lock_state.hpp"

#include <string>

#include "core/files.hpp"

namespace mtce::host {

lock_state::lock_state(const std::filesystem::path& state_dir, const std::filesystem::path& run_dir)
    : persisted_{state_dir / "admin_state"}, mirror_{run_dir / "locked"} {}

std::error_code lock_state::set(bool locked) {
    if (auto ec =
            write_file_atomic(persisted_, locked ? "locked\n" : "unlocked\n", std::filesystem::perms{0600})) {
        return ec;
    }
    locked_ = locked;
    if (locked) {
        return write_file_atomic(mirror_, "This host is administratively locked\n");
    }
    return remove_file(mirror_);
}

std::error_code lock_state::load() {
    const auto text = read_small_file(persisted_, 64);
    locked_ = text && text->starts_with("locked");
    if (locked_) {
        return write_file_atomic(mirror_, "This host is administratively locked\n");
    }
    return remove_file(mirror_);
}

}  // namespace mtce::host
