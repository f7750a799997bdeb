#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace mtce {

/// Replaces `path` with `content` atomically (write a temporary file, fsync, rename, fsync the directory),
/// so a reader sees the old or the new content, never a mix, and the change survives a power loss.
[[nodiscard]] std::error_code write_file_atomic(const std::filesystem::path& path, std::string_view content,
                                                std::filesystem::perms mode = std::filesystem::perms{0644});

/// Reads a small file whole; nullopt if it does not exist or cannot be read.
[[nodiscard]] std::optional<std::string> read_small_file(const std::filesystem::path& path,
                                                         std::size_t limit = std::size_t{64} * 1024);

/// Removes `path` if it exists; an error only for reasons other than "not there".
std::error_code remove_file(const std::filesystem::path& path);

/// Creates `dir` and its parents with `mode` for the ones it creates.
[[nodiscard]] std::error_code make_directories(const std::filesystem::path& dir, std::filesystem::perms mode);

/// What a path holds, for check_access(): what others may do to it depends on it.
enum class file_use {
    directory,     ///< a directory the daemon keeps its files in: only its owner may write it
    private_file,  ///< a file with secrets or state (keys, the inventory): only its owner may read or write
                   ///< it
};

/// What check_access() looks at in a path's status.
struct file_facts {
    bool directory = false;
    bool regular = false;
    std::uint32_t mode = 0;  ///< the permission bits (07777)
    std::uint32_t owner = 0;
};

/// Why a path with these facts may not be trusted (a sentence naming the path and the command that fixes
/// it), or "" if it may: the wrong type; an owner other than `self` or root (unless `check_owner` is false);
/// a directory group or others may write; a private file with any permission for group or others. Pure: no
/// file is looked at.
[[nodiscard]] std::string access_problem(const std::filesystem::path& path, file_use use,
                                         const file_facts& facts, std::uint32_t self, bool check_owner);

/// The facts of a path (symbolic links followed); nullopt, with errno set, if it cannot be looked at.
[[nodiscard]] std::optional<file_facts> facts_of(const std::filesystem::path& path);

/// access_problem() for the path as it is (symbolic links followed), against this process's effective
/// user; "" if it may be trusted or does not exist, and a sentence naming it if it cannot be looked at.
[[nodiscard]] std::string check_access(const std::filesystem::path& path, file_use use,
                                       bool check_owner = true);

}  // namespace mtce
