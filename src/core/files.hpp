#pragma once

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

}  // namespace mtce
