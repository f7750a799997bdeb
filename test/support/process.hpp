#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace mtce::test {

/// A child process started with posix_spawn; stdout and stderr go to files so tests can read them.
class process {
public:
    process(const std::vector<std::string>& argv, const std::filesystem::path& out,
            const std::filesystem::path& err, const std::vector<std::string>& extra_env = {}) {
        std::vector<std::string> env;
        for (char** e = environ; *e != nullptr; ++e) {
            env.emplace_back(*e);
        }
        env.insert(env.end(), extra_env.begin(), extra_env.end());
        std::vector<char*> cargv;
        std::vector<char*> cenv;
        auto args = argv;
        for (auto& a : args) {
            cargv.push_back(a.data());
        }
        cargv.push_back(nullptr);
        for (auto& e : env) {
            cenv.push_back(e.data());
        }
        cenv.push_back(nullptr);
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        const int rc = ::posix_spawn(&pid_, args[0].c_str(), &fa, nullptr, cargv.data(), cenv.data());
        posix_spawn_file_actions_destroy(&fa);
        if (rc != 0) {
            throw std::runtime_error{"posix_spawn " + args[0] + ": " + std::strerror(rc)};
        }
    }
    ~process() {
        if (pid_ > 0 && !status_) {
            ::kill(pid_, SIGKILL);
            int st = 0;
            ::waitpid(pid_, &st, 0);
        }
    }
    process(const process&) = delete;
    process& operator=(const process&) = delete;

    [[nodiscard]] pid_t pid() const { return pid_; }
    void signal(int sig) const { ::kill(pid_, sig); }

    /// The raw wait status once the process exited within `limit`.
    std::optional<int> wait(std::chrono::milliseconds limit) {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        while (!status_) {
            int st = 0;
            if (::waitpid(pid_, &st, WNOHANG) == pid_) {
                status_ = st;
                break;
            }
            if (std::chrono::steady_clock::now() >= deadline) {
                break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds{20});
        }
        return status_;
    }

    /// Exit code if it exited within `limit`, -1 if killed by a signal, nullopt if still running.
    std::optional<int> exit_code(std::chrono::milliseconds limit) {
        auto st = wait(limit);
        if (!st) {
            return std::nullopt;
        }
        return WIFEXITED(*st) ? WEXITSTATUS(*st) : -1;
    }

private:
    pid_t pid_ = -1;
    std::optional<int> status_;
};

/// Runs a command to completion (bounded) and returns exit code, stdout and stderr.
struct command_result {
    int exit_code = -1;
    std::string out;
    std::string err;
};

inline std::string read_file(const std::filesystem::path& p) {
    std::ifstream in{p};
    return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

inline command_result run_command(const std::vector<std::string>& argv,
                                  const std::filesystem::path& scratch_dir,
                                  std::chrono::milliseconds limit = std::chrono::seconds{60}) {
    const auto out = scratch_dir / "cmd.out";
    const auto err = scratch_dir / "cmd.err";
    command_result r;
    {
        process p{argv, out, err};
        auto code = p.exit_code(limit);
        if (!code) {
            throw std::runtime_error{"command did not finish in time: " + argv.at(0)};
        }
        r.exit_code = *code;
    }
    r.out = read_file(out);
    r.err = read_file(err);
    return r;
}

/// A NOTIFY_SOCKET for a child, collecting what it sends to systemd.
class notify_socket {
public:
    explicit notify_socket(const std::filesystem::path& path) : path_{path} {
        fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
        if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
            throw std::runtime_error{"cannot bind notify socket " + path.string()};
        }
    }
    ~notify_socket() { ::close(fd_); }
    notify_socket(const notify_socket&) = delete;
    notify_socket& operator=(const notify_socket&) = delete;

    [[nodiscard]] std::string env() const { return "NOTIFY_SOCKET=" + path_.string(); }

    /// Waits for a message containing `needle`; returns it, or nullopt after `limit`.
    std::optional<std::string> wait_for(const std::string& needle, std::chrono::milliseconds limit) {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        for (;;) {
            for (auto it = received_.begin(); it != received_.end(); ++it) {
                if (it->find(needle) != std::string::npos) {
                    auto msg = *it;
                    received_.erase(received_.begin(), it + 1);
                    return msg;
                }
            }
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) {
                return std::nullopt;
            }
            pollfd pfd{fd_, POLLIN, 0};
            if (::poll(&pfd, 1, static_cast<int>(left.count())) > 0) {
                char buf[4096];
                const auto n = ::recv(fd_, buf, sizeof buf, 0);
                if (n > 0) {
                    received_.emplace_back(buf, static_cast<std::size_t>(n));
                }
            }
        }
    }

private:
    std::filesystem::path path_;
    int fd_ = -1;
    std::vector<std::string> received_;
};

}  // namespace mtce::test
