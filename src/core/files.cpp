#include "core/files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>

#include <fmt/format.h>

namespace mtce {

namespace {

std::error_code last_error() {
    return {errno, std::system_category()};
}

std::error_code write_all(int fd, std::string_view content) {
    while (!content.empty()) {
        const auto n = ::write(fd, content.data(), content.size());
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return last_error();
        }
        content.remove_prefix(static_cast<std::size_t>(n));
    }
    return {};
}

}  // namespace

std::error_code write_file_atomic(const std::filesystem::path& path, std::string_view content,
                                  std::filesystem::perms mode) {
    const auto tmp = path.string() + ".tmp";
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, static_cast<mode_t>(mode));
    if (fd < 0) {
        return last_error();
    }
    std::error_code ec = write_all(fd, content);
    if (!ec && ::fchmod(fd, static_cast<mode_t>(mode)) != 0) {
        ec = last_error();
    }
    if (!ec && ::fsync(fd) != 0) {
        ec = last_error();
    }
    ::close(fd);
    if (!ec && ::rename(tmp.c_str(), path.c_str()) != 0) {
        ec = last_error();
    }
    if (ec) {
        (void)::unlink(tmp.c_str());
        return ec;
    }
    const auto dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path{"."};
    const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)::fsync(dfd);
        ::close(dfd);
    }
    return {};
}

std::optional<std::string> read_small_file(const std::filesystem::path& path, std::size_t limit) {
    std::ifstream in{path, std::ios::binary};
    if (!in) {
        return std::nullopt;
    }
    std::string out(limit, '\0');
    in.read(out.data(), static_cast<std::streamsize>(limit));
    if (in.bad()) {
        return std::nullopt;
    }
    out.resize(static_cast<std::size_t>(in.gcount()));
    return out;
}

std::error_code remove_file(const std::filesystem::path& path) {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
        return last_error();
    }
    return {};
}

std::error_code make_directories(const std::filesystem::path& dir, std::filesystem::perms mode) {
    std::error_code ec;
    std::filesystem::path partial;
    for (const auto& part : dir) {
        partial /= part;
        if (std::filesystem::exists(partial, ec)) {
            continue;
        }
        if (::mkdir(partial.c_str(), static_cast<mode_t>(mode)) != 0 && errno != EEXIST) {
            return last_error();
        }
    }
    return {};
}

std::string access_problem(const std::filesystem::path& path, file_use use, const file_facts& facts,
                           std::uint32_t self, bool check_owner) {
    const bool directory = use == file_use::directory;
    const auto quoted = fmt::format("'{}'", path.string());
    if (directory && !facts.directory) {
        return fmt::format("{} is not a directory", quoted);
    }
    if (!directory && !facts.regular) {
        return fmt::format("{} is not a regular file", quoted);
    }
    if (check_owner && facts.owner != self && facts.owner != 0) {
        return fmt::format(
            "{} belongs to uid {}, not to this daemon's user (uid {}) or root; run: chown {} {}", quoted,
            facts.owner, self, self, quoted);
    }
    const auto mode = facts.mode & 07777U;
    if (directory && (mode & 022U) != 0) {
        return fmt::format("{} can be written by others (mode {:04o}); run: chmod 700 {}", quoted, mode,
                           quoted);
    }
    if (!directory && (mode & 077U) != 0) {
        return fmt::format("{} is readable by others (mode {:04o}); run: chmod 600 {}", quoted, mode, quoted);
    }
    return {};
}

std::optional<file_facts> facts_of(const std::filesystem::path& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        return std::nullopt;
    }
    return file_facts{S_ISDIR(st.st_mode), S_ISREG(st.st_mode), static_cast<std::uint32_t>(st.st_mode),
                      static_cast<std::uint32_t>(st.st_uid)};
}

std::string check_access(const std::filesystem::path& path, file_use use, bool check_owner) {
    const auto facts = facts_of(path);
    if (!facts) {
        if (errno == ENOENT) {
            return {};
        }
        return fmt::format("cannot look at '{}': {}", path.string(), last_error().message());
    }
    return access_problem(path, use, *facts, static_cast<std::uint32_t>(::geteuid()), check_owner);
}

}  // namespace mtce
