#include "core/child.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include <dirent.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <asio/cancellation_state.hpp>
#include <asio/cancellation_type.hpp>
#include <asio/error.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include "core/output_capture.hpp"
#include "core/transient_unit.hpp"

// Not in every libc's headers yet; <sys/pidfd.h> is avoided on purpose (glibc 2.36 breaks C++ linking).
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

namespace mtce {

namespace {

using detail::output_capture;
using detail::throw_if_cancelled;
using detail::unique_fd;

using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;
using clock_type = std::chrono::steady_clock;

constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

/// After SIGKILL a process dies at once unless it is stuck in the kernel (uninterruptible sleep).
constexpr auto kill_bound = 30s;
/// Stragglers get this long (at most kill_grace) to finish by themselves after the leader exits: a background
/// job often needs a moment to flush and exit along with its parent. Only runs that leave something behind
/// pay for it; an empty group is noticed at once.
constexpr auto straggler_linger = 1s;
/// How long SIGKILLed stragglers get to disappear before we stop watching them.
constexpr auto straggler_kill_bound = 5s;
/// How often the group is checked for stragglers: there is no descriptor that reports an empty group.
constexpr auto group_poll = 25ms;

/// `from + d`, with `d` capped so that a huge configured duration cannot overflow the clock's nanoseconds.
clock_type::time_point after(clock_type::time_point from, std::chrono::milliseconds d) {
    constexpr std::chrono::milliseconds cap = std::chrono::hours(24 * 365 * 10);
    return from + std::min(d, cap);
}

std::string errno_text(int error) {
    return std::error_code(error, std::generic_category()).message();
}

/// Creates a close-on-exec pipe for one output stream; returns 0 or an errno value. Neither end is 0, 1 or 2:
/// if the daemon runs with a standard descriptor closed, a pipe end there would be overwritten by the child's
/// own dup2/open file actions. Only the parent's read end is non-blocking: the child must be able to block on
/// a full pipe rather than fail with EAGAIN.
int make_pipe(unique_fd& read_end, unique_fd& write_end) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        return errno;
    }
    read_end.reset(fds[0]);
    write_end.reset(fds[1]);
    for (unique_fd* end : {&read_end, &write_end}) {
        if (end->get() <= STDERR_FILENO) {
            int moved = ::fcntl(end->get(), F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
            if (moved < 0) {
                return errno;
            }
            end->reset(moved);
        }
    }
    int flags = ::fcntl(read_end.get(), F_GETFL);
    if (flags < 0 || ::fcntl(read_end.get(), F_SETFL, flags | O_NONBLOCK) != 0) {
        return errno;
    }
    return 0;
}

class spawn_file_actions {
public:
    spawn_file_actions() { ::posix_spawn_file_actions_init(&actions_); }
    spawn_file_actions(const spawn_file_actions&) = delete;
    spawn_file_actions& operator=(const spawn_file_actions&) = delete;
    ~spawn_file_actions() { ::posix_spawn_file_actions_destroy(&actions_); }
    posix_spawn_file_actions_t* get() { return &actions_; }

private:
    posix_spawn_file_actions_t actions_;
};

class spawn_attributes {
public:
    spawn_attributes() { ::posix_spawnattr_init(&attr_); }
    spawn_attributes(const spawn_attributes&) = delete;
    spawn_attributes& operator=(const spawn_attributes&) = delete;
    ~spawn_attributes() { ::posix_spawnattr_destroy(&attr_); }
    posix_spawnattr_t* get() { return &attr_; }

private:
    posix_spawnattr_t attr_;
};

/// A started child: its pid (also its process group id) and the parent's descriptors.
struct spawned_child {
    pid_t pid = -1;
    unique_fd pidfd;
    unique_fd out;
    unique_fd err;
};

/// The program's path, argv and envp for posix_spawn or execve, built from the spec before the child
/// exists (after a fork only async-signal-safe calls are allowed). Not movable: argv and envp point into it.
class exec_args {
public:
    explicit exec_args(const child_spec& spec) : program_{spec.program.string()} {
        env_.reserve(spec.env.size());
        for (const auto& [name, value] : spec.env) {
            env_.emplace_back(name).append("=").append(value);
        }
        argv_.reserve(spec.args.size() + 2);
        argv_.push_back(program_.data());
        for (const std::string& arg : spec.args) {
            argv_.push_back(const_cast<char*>(arg.c_str()));  // neither posix_spawn nor execve writes to them
        }
        argv_.push_back(nullptr);
        envp_.reserve(env_.size() + 1);
        for (std::string& entry : env_) {
            envp_.push_back(entry.data());
        }
        envp_.push_back(nullptr);
    }
    exec_args(const exec_args&) = delete;
    exec_args& operator=(const exec_args&) = delete;

    [[nodiscard]] const char* program() const { return program_.c_str(); }
    [[nodiscard]] char* const* argv() const { return argv_.data(); }
    [[nodiscard]] char* const* envp() const { return envp_.data(); }

private:
    std::string program_;
    std::vector<std::string> env_;
    std::vector<char*> argv_;
    std::vector<char*> envp_;
};

std::string start_error(const child_spec& spec, const std::string& reason) {
    return "could not start '" + spec.program.string() + "': " + reason;
}

/// posix_spawn reports a missing working directory as ENOENT, like a missing program; tell them apart.
std::string explain_spawn_failure(const child_spec& spec, int error) {
    struct stat st {};
    int cwd_error = 0;
    if (::stat(spec.cwd.c_str(), &st) != 0 ||
        (S_ISDIR(st.st_mode) && ::access(spec.cwd.c_str(), X_OK) != 0)) {
        cwd_error = errno;  // from stat() or access(), whichever failed
    } else if (!S_ISDIR(st.st_mode)) {
        cwd_error = ENOTDIR;
    }
    if (cwd_error != 0) {
        return start_error(spec, "working directory '" + spec.cwd.string() + "': " + errno_text(cwd_error));
    }
    return start_error(spec, errno_text(error));
}

/// Starts the child; returns an empty string or why it could not be started.
std::string spawn(const child_spec& spec, spawned_child& child) {
    if (!spec.program.is_absolute()) {
        // Never resolved against PATH or the child's working directory.
        return start_error(spec, "the program path is not absolute");
    }

    unique_fd out_write;
    unique_fd err_write;
    if (int e = make_pipe(child.out, out_write); e != 0) {
        return start_error(spec, "pipe: " + errno_text(e));
    }
    if (int e = make_pipe(child.err, err_write); e != 0) {
        return start_error(spec, "pipe: " + errno_text(e));
    }

    // Every pipe end is O_CLOEXEC: dup2 clears the flag on the child's 1 and 2; all else closes on exec.
    spawn_file_actions actions;
    int rc = ::posix_spawn_file_actions_addchdir_np(actions.get(), spec.cwd.c_str());
    if (rc == 0) {
        rc = ::posix_spawn_file_actions_addopen(actions.get(), STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    }
    if (rc == 0) {
        rc = ::posix_spawn_file_actions_adddup2(actions.get(), out_write.get(), STDOUT_FILENO);
    }
    if (rc == 0) {
        rc = ::posix_spawn_file_actions_adddup2(actions.get(), err_write.get(), STDERR_FILENO);
    }

    // Own process group (so the whole tree can be signalled), default dispositions and an empty mask: the
    // daemon ignores SIGPIPE and may block signals, and ignored/blocked signals survive exec. (sigfillset
    // leaves out glibc's two internal real-time signals, 32 and 33; glibc's spawn leaves those ignored.)
    spawn_attributes attr;
    sigset_t all_signals;
    sigset_t no_signals;
    ::sigfillset(&all_signals);
    ::sigemptyset(&no_signals);
    if (rc == 0) {
        rc = ::posix_spawnattr_setflags(
            attr.get(), POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    }
    if (rc == 0) {
        rc = ::posix_spawnattr_setpgroup(attr.get(), 0);
    }
    if (rc == 0) {
        rc = ::posix_spawnattr_setsigdefault(attr.get(), &all_signals);
    }
    if (rc == 0) {
        rc = ::posix_spawnattr_setsigmask(attr.get(), &no_signals);
    }
    if (rc != 0) {
        return start_error(spec, "posix_spawn setup: " + errno_text(rc));
    }

    const exec_args args{spec};

    // glibc spawns with CLONE_VFORK, so a failed chdir or exec comes back here as the return value (and glibc
    // has reaped the failed child already).
    pid_t pid = -1;
    rc = ::posix_spawn(&pid, args.program(), actions.get(), attr.get(), args.argv(), args.envp());
    if (rc != 0) {
        return explain_spawn_failure(spec, rc);
    }
    child.pid = pid;
    out_write.reset();
    err_write.reset();

    // Nobody else reaps our children, so the pid cannot have been reused yet.
    long pidfd = ::syscall(SYS_pidfd_open, pid, 0);
    if (pidfd < 0) {
        // Without a pidfd it cannot be watched without blocking the loop (e.g. EMFILE): undo the start.
        int e = errno;
        ::killpg(pid, SIGKILL);
        while (::waitpid(pid, nullptr, 0) == -1 && errno == EINTR) {
        }
        child.pid = -1;
        return start_error(spec, "pidfd_open: " + errno_text(e) + " (the child was killed)");
    }
    child.pidfd.reset(static_cast<int>(pidfd));
    return {};
}

/// Undoes the octal escapes (\040 for a space, ...) of a path in /proc/self/mountinfo.
std::string unescape_mount_path(std::string_view field) {
    std::string out;
    for (std::size_t i = 0; i < field.size(); ++i) {
        if (field[i] == '\\' && i + 3 < field.size()) {
            int value = 0;
            bool octal = true;
            for (std::size_t j = 1; j <= 3; ++j) {
                const char c = field[i + j];
                octal = octal && c >= '0' && c <= '7';
                value = value * 8 + (c - '0');
            }
            if (octal) {
                out += static_cast<char>(value);
                i += 3;
                continue;
            }
        }
        out += field[i];
    }
    return out;
}

/// Where the cgroup v2 hierarchy is mounted (on a hybrid host, /sys/fs/cgroup/unified); empty if nowhere.
std::filesystem::path cgroup2_mount() {
    std::ifstream in("/proc/self/mountinfo");
    std::string line;
    while (std::getline(in, line)) {
        // "id parent major:minor root mount-point options [optional fields...] - fstype source super-options"
        const auto dash = line.find(" - ");
        if (dash == std::string::npos || line.compare(dash + 3, 8, "cgroup2 ") != 0) {
            continue;
        }
        std::istringstream fields(line.substr(0, dash));
        std::string id;
        std::string parent;
        std::string device;
        std::string root;
        std::string mount_point;
        if (fields >> id >> parent >> device >> root >> mount_point) {
            return unescape_mount_path(mount_point);
        }
    }
    return {};
}

/// This process's cgroup v2 path (the "0::" line of /proc/self/cgroup), e.g. "/" or
/// "/system.slice/mtce@worker.service"; empty if there is none.
std::string own_cgroup() {
    std::ifstream in("/proc/self/cgroup");
    std::string line;
    while (std::getline(in, line)) {
        if (line.starts_with("0::")) {
            return line.substr(3);
        }
    }
    return {};
}

/// Reads a small file whole; empty on any error.
std::string read_small_file(const std::filesystem::path& path) {
    unique_fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) {
        return {};
    }
    std::string text;
    char buffer[4096];
    for (;;) {
        const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        text.append(buffer, static_cast<std::size_t>(n));
    }
    return text;
}

/// Writes `text` to an existing (kernel) file; returns 0 or an errno value.
int write_small_file(const std::filesystem::path& path, std::string_view text) {
    unique_fd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (fd.get() < 0) {
        return errno;
    }
    if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
        return errno;
    }
    return 0;
}

/// The cgroup v2 of one run: created empty, joined by the child before exec, killed whole, removed.
/// Nothing leaves a cgroup by calling setsid; only a privileged process could move itself elsewhere.
class run_cgroup {
public:
    run_cgroup() = default;
    run_cgroup(const run_cgroup&) = delete;
    run_cgroup& operator=(const run_cgroup&) = delete;
    /// Kills what is left, waits briefly for it to go and removes the cgroup: covers exceptions and
    /// cancellation; after a normal run it is empty and removed already.
    ~run_cgroup() {
        if (path_.empty()) {
            return;
        }
        if (populated()) {
            kill_all();
            for (int i = 0; i < 100 && populated(); ++i) {
                std::this_thread::sleep_for(1ms);  // SIGKILLed processes go within microseconds
            }
        }
        (void)remove();
    }

    /// Creates `<parent>/mtce-script-<our pid>-<n>`; returns an empty string or why not.
    std::string create(const std::filesystem::path& parent) {
        static std::atomic<unsigned long> runs{0};
        auto path = parent / ("mtce-script-" + std::to_string(::getpid()) + "-" + std::to_string(++runs));
        if (::mkdir(path.c_str(), 0755) != 0) {
            return "cannot create cgroup '" + path.string() + "': " + errno_text(errno);
        }
        path_ = std::move(path);
        procs_.reset(::open((path_ / "cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC));
        if (procs_.get() < 0) {
            std::string error =
                "cannot open '" + (path_ / "cgroup.procs").string() + "': " + errno_text(errno);
            (void)remove();
            return error;
        }
        return {};
    }

    /// Takes charge of an existing cgroup (to kill and remove it).
    void adopt(std::filesystem::path path) { path_ = std::move(path); }

    [[nodiscard]] const std::filesystem::path& path() const { return path_; }
    /// Open for writing: the child writes "0" here to join the cgroup.
    [[nodiscard]] int procs_fd() const { return procs_.get(); }
    void close_procs() { procs_.reset(); }

    /// Whether a live process is in the cgroup (cgroup.events "populated 1"). Zombies do not count.
    [[nodiscard]] bool populated() const {
        const auto events = read_small_file(path_ / "cgroup.events");
        if (events.empty()) {
            // Unreadable: assume the worst while the cgroup exists.
            return ::access(path_.c_str(), F_OK) == 0;
        }
        return events.find("populated 1") != std::string::npos;
    }

    /// Sends `sig` to every process in the cgroup. SIGKILL goes through cgroup.kill where the kernel has it
    /// (5.14+), which also reaches processes forking at that moment.
    void signal_all(int sig) const {
        if (sig == SIGKILL && write_small_file(path_ / "cgroup.kill", "1") == 0) {
            return;
        }
        std::istringstream pids(read_small_file(path_ / "cgroup.procs"));
        pid_t pid = 0;
        while (pids >> pid) {
            if (pid > 0) {
                ::kill(pid, sig);
            }
        }
    }
    void kill_all() const { signal_all(SIGKILL); }

    /// Removes the (empty) cgroup; false if it is still in use.
    bool remove() {
        procs_.reset();
        if (path_.empty()) {
            return true;
        }
        if (::rmdir(path_.c_str()) != 0 && errno != ENOENT) {
            return false;
        }
        path_.clear();
        return true;
    }

private:
    std::filesystem::path path_;
    unique_fd procs_;
};

/// What the forked child reports through its error pipe when it cannot exec.
struct child_failure {
    int stage = 0;  ///< one of the *_stage constants
    int error = 0;  ///< errno
};
constexpr int cgroup_stage = 1;
constexpr int setup_stage = 2;
constexpr int chdir_stage = 3;
constexpr int exec_stage = 4;

/// In the forked child: report why it cannot go on, and end. Only async-signal-safe calls from here on.
[[noreturn]] void fail_in_child(int report_fd, int stage) {
    const child_failure failure{stage, errno};
    (void)!::write(report_fd, &failure, sizeof failure);
    ::_exit(127);
}

/// Starts the child like spawn(), but with fork and exec, so that it can join `cgroup` before exec: it is in
/// the cgroup before it can run a single instruction of the program. Returns an empty string or why the
/// child could not be started; `cgroup_refused` is set if only joining the cgroup failed (nothing ran).
std::string spawn_in_cgroup(const child_spec& spec, spawned_child& child, run_cgroup& cgroup,
                            bool& cgroup_refused) {
    cgroup_refused = false;
    if (!spec.program.is_absolute()) {
        return start_error(spec, "the program path is not absolute");
    }
    unique_fd out_write;
    unique_fd err_write;
    unique_fd report_read;
    unique_fd report_write;
    if (int e = make_pipe(child.out, out_write); e != 0) {
        return start_error(spec, "pipe: " + errno_text(e));
    }
    if (int e = make_pipe(child.err, err_write); e != 0) {
        return start_error(spec, "pipe: " + errno_text(e));
    }
    if (int e = make_pipe(report_read, report_write); e != 0) {
        return start_error(spec, "pipe: " + errno_text(e));
    }
    // make_pipe() made the read end non-blocking; the report is read with a blocking read.
    if (int flags = ::fcntl(report_read.get(), F_GETFL);
        flags < 0 || ::fcntl(report_read.get(), F_SETFL, flags & ~O_NONBLOCK) != 0) {
        return start_error(spec, "fcntl: " + errno_text(errno));
    }

    // Everything the child needs is prepared before fork: after it, only async-signal-safe calls.
    const exec_args args{spec};
    std::string cwd = spec.cwd.string();
    sigset_t no_signals;
    ::sigemptyset(&no_signals);
    const int procs = cgroup.procs_fd();
    const int report = report_write.get();
    const int out = out_write.get();
    const int err = err_write.get();

    const pid_t pid = ::fork();
    if (pid < 0) {
        return start_error(spec, "fork: " + errno_text(errno));
    }
    if (pid == 0) {
        if (::write(procs, "0", 1) != 1) {
            fail_in_child(report, cgroup_stage);
        }
        // Default dispositions and an empty mask, as spawn() sets them: ignored and blocked signals
        // survive exec.
        struct sigaction default_action {};
        default_action.sa_handler = SIG_DFL;
        for (int sig = 1; sig < NSIG; ++sig) {
            if (sig != SIGKILL && sig != SIGSTOP) {
                (void)::sigaction(sig, &default_action, nullptr);  // fails for glibc's internal ones
            }
        }
        if (::sigprocmask(SIG_SETMASK, &no_signals, nullptr) != 0 || ::setpgid(0, 0) != 0) {
            fail_in_child(report, setup_stage);
        }
        if (::chdir(cwd.c_str()) != 0) {
            fail_in_child(report, chdir_stage);
        }
        const int null = ::open("/dev/null", O_RDONLY);
        if (null < 0 || ::dup2(null, STDIN_FILENO) < 0 || ::dup2(out, STDOUT_FILENO) < 0 ||
            ::dup2(err, STDERR_FILENO) < 0) {
            fail_in_child(report, setup_stage);
        }
        ::execve(args.program(), args.argv(), args.envp());
        fail_in_child(report, exec_stage);
    }

    child.pid = pid;
    out_write.reset();
    err_write.reset();
    report_write.reset();
    cgroup.close_procs();
    // Blocks only until the child execs (the pipe closes on exec) or reports a failure: microseconds.
    child_failure failure;
    ssize_t n = 0;
    do {
        n = ::read(report_read.get(), &failure, sizeof failure);
    } while (n < 0 && errno == EINTR);
    if (n > 0) {
        while (::waitpid(pid, nullptr, 0) == -1 && errno == EINTR) {
        }
        child.pid = -1;
        if (n != static_cast<ssize_t>(sizeof failure)) {
            return start_error(spec, "the child failed before exec");
        }
        if (failure.stage == cgroup_stage) {
            cgroup_refused = true;
            return start_error(
                spec, "cannot join cgroup '" + cgroup.path().string() + "': " + errno_text(failure.error));
        }
        if (failure.stage == chdir_stage) {
            return start_error(spec,
                               "working directory '" + spec.cwd.string() + "': " + errno_text(failure.error));
        }
        return start_error(spec, errno_text(failure.error));
    }

    long pidfd = ::syscall(SYS_pidfd_open, pid, 0);
    if (pidfd < 0) {
        int e = errno;
        cgroup.kill_all();
        ::killpg(pid, SIGKILL);
        while (::waitpid(pid, nullptr, 0) == -1 && errno == EINTR) {
        }
        child.pid = -1;
        return start_error(spec, "pidfd_open: " + errno_text(e) + " (the child was killed)");
    }
    child.pidfd.reset(static_cast<int>(pidfd));
    return {};
}

/// Kills the group (and the cgroup, if any) and reaps the leader if nothing else did: covers exceptions,
/// cancellation and a coroutine frame destroyed while suspended. SIGKILL cannot be ignored, so the blocking
/// waitpid returns at once.
class process_guard {
public:
    process_guard(pid_t pid, const run_cgroup* cgroup) : pid_(pid), cgroup_(cgroup) {}
    process_guard(const process_guard&) = delete;
    process_guard& operator=(const process_guard&) = delete;
    ~process_guard() {
        if (!group_done_) {
            ::killpg(pid_, SIGKILL);
            if (cgroup_ != nullptr) {
                cgroup_->kill_all();
            }
        }
        if (!leader_reaped_) {
            while (::waitpid(pid_, nullptr, 0) == -1 && errno == EINTR) {
            }
        }
    }
    /// The leader was reaped (or handed to someone who will).
    void leader_reaped() { leader_reaped_ = true; }
    /// The group is empty, or we stopped watching it: its id may be reused, so never signal it again.
    void group_done() { group_done_ = true; }

private:
    pid_t pid_;
    const run_cgroup* cgroup_;
    bool leader_reaped_ = false;
    bool group_done_ = false;
};

/// A process that survives SIGKILL for kill_bound is stuck in the kernel. Reap it from a thread once it
/// finally dies, so that neither the event loop blocks nor a zombie is left behind.
void reap_in_background(pid_t pid) {
    std::thread([pid] {
        while (::waitpid(pid, nullptr, 0) == -1 && errno == EINTR) {
        }
    }).detach();
}

/// Whether group `pgid` has a member that is not a zombie. killpg(pgid, 0) also counts zombies, and a dead
/// orphan stays a zombie in its group until its new parent reaps it, which a container's PID 1 may never do.
/// Only called while killpg still sees members, i.e. rarely. Without /proc, assume the worst.
bool group_has_live_member(pid_t pgid) {
    DIR* proc = ::opendir("/proc");
    if (proc == nullptr) {
        return true;
    }
    bool live = false;
    while (const dirent* entry = ::readdir(proc)) {
        std::string_view name = entry->d_name;
        if (name.empty() || name.find_first_not_of("0123456789") != std::string_view::npos) {
            continue;
        }
        std::string path = "/proc/" + std::string(name) + "/stat";
        unique_fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
        if (fd.get() < 0) {
            continue;  // exited meanwhile
        }
        char buffer[512];
        ssize_t n = ::read(fd.get(), buffer, sizeof buffer - 1);
        if (n <= 0) {
            continue;
        }
        // "pid (comm) state ppid pgrp ...": comm may contain anything, so parse after its last ')'.
        std::string_view stat(buffer, static_cast<std::size_t>(n));
        std::size_t paren = stat.rfind(')');
        if (paren == std::string_view::npos) {
            continue;
        }
        char state = 0;
        int ppid = 0;
        int pgrp = 0;
        buffer[n] = '\0';
        if (std::sscanf(buffer + paren + 1, " %c %d %d", &state, &ppid, &pgrp) == 3 && pgrp == pgid &&
            state != 'Z' && state != 'X') {
            live = true;
            break;
        }
    }
    ::closedir(proc);
    return live;
}

/// Throws operation_aborted if the calling coroutine was cancelled. Needed after every as_tuple wait: those
/// report cancellation as an error code, and a cancellation that arrived while a completion was already
/// queued only shows in the cancellation state.
std::string format_duration(std::chrono::milliseconds d) {
    if (d < 1s) {
        return std::to_string(d.count()) + "ms";
    }
    long tenths = std::lround(static_cast<double>(d.count()) / 100.0);
    if (tenths % 10 == 0 || d >= 10s) {
        return std::to_string((tenths + 5) / 10) + "s";
    }
    char text[32];
    std::snprintf(text, sizeof text, "%ld.%lds", tenths / 10, tenths % 10);
    return text;
}

std::string describe_signal(int sig) {
    std::string text = "signal " + std::to_string(sig);
    if (const char* abbrev = ::sigabbrev_np(sig)) {
        text += " (SIG" + std::string(abbrev) + ")";
    }
    return text;
}

/// Watches one started child: its exit, the deadline, its process group and its output.
class supervisor {
public:
    supervisor(const asio::any_io_executor& ex, const child_spec& spec, child_result& result,
               spawned_child& child, process_guard& guard, clock_type::time_point started_at,
               const run_cgroup* cgroup)
        : spec_(spec),
          result_(result),
          guard_(guard),
          cgroup_(cgroup),
          pid_(child.pid),
          started_at_(started_at),
          pidfd_(ex),
          output_(ex, spec.output_limit) {
        // The fd is released only once its descriptor owns it, so a failing assign cannot leak it.
        pidfd_.assign(child.pidfd.get());
        child.pidfd.release();
        output_.adopt(child.out, child.err);
    }

    asio::awaitable<void> run() {
        co_await (output_.read_out(result_.out, result_.out_dropped) &&
                  output_.read_err(result_.err, result_.err_dropped) && supervise());
    }

private:
    asio::awaitable<void> supervise() {
        bool exited = co_await leader_exited_by(after(started_at_, spec_.deadline));
        if (!exited) {
            result_.timed_out = true;
            signal_group(SIGTERM);
            exited = co_await leader_exited_by(after(clock_type::now(), spec_.kill_grace));
            if (!exited) {
                signal_group(SIGKILL);
                exited = co_await leader_exited_by(clock_type::now() + kill_bound);
            }
        }
        if (exited) {
            reap_leader();
            co_await clear_group();
        } else {
            // The whole group already had SIGKILL; watching it longer cannot help.
            result_.elapsed = elapsed();
            reap_in_background(pid_);
            guard_.leader_reaped();
            guard_.group_done();
        }
        co_await output_.finish();
    }

    /// Whether the leader exited before `until`.
    asio::awaitable<bool> leader_exited_by(clock_type::time_point until) {
        asio::steady_timer timer(pidfd_.get_executor(), until);
        // as_tuple on both sides: in Asio 1.22 `||` waits for the first *successful* operation.
        auto first = co_await (pidfd_.async_wait(asio::posix::descriptor_base::wait_read, use_tuple) ||
                               timer.async_wait(use_tuple));
        co_await throw_if_cancelled();
        if (first.index() == 0) {
            auto [ec] = std::get<0>(first);
            if (ec) {
                throw asio::system_error(ec, "waiting for the child to exit");
            }
            co_return true;
        }
        co_return false;
    }

    void reap_leader() {
        int status = 0;
        pid_t reaped;
        do {
            reaped = ::waitpid(pid_, &status, WNOHANG);
        } while (reaped == -1 && errno == EINTR);
        if (reaped == 0) {
            // A readable pidfd means the leader is a zombie already, so this cannot block; never leave one.
            do {
                reaped = ::waitpid(pid_, &status, 0);
            } while (reaped == -1 && errno == EINTR);
        }
        guard_.leader_reaped();
        result_.elapsed = elapsed();
        // reaped == -1 (ECHILD) only if the process ignores SIGCHLD; the status is then lost.
        if (reaped == pid_) {
            if (WIFEXITED(status)) {
                result_.exit_code = WEXITSTATUS(status);
            } else if (WIFSIGNALED(status)) {
                result_.signal = WTERMSIG(status);
            }
        }
    }

    /// Kills whatever the leader left in its group: a short linger, SIGTERM, kill_grace, SIGKILL. After a
    /// timeout the SIGTERM was sent already and the grace counts from then.
    asio::awaitable<void> clear_group() {
        if (!group_alive()) {
            guard_.group_done();
            co_return;
        }
        // Every co_await here is a statement of its own: g++ 12 miscompiles a co_await inside an if condition
        // (the callee's frame starts with a garbage resume index).
        if (!term_sent_) {
            auto linger = std::min<std::chrono::milliseconds>(straggler_linger, spec_.kill_grace);
            bool gone = co_await group_gone_by(after(clock_type::now(), linger));
            if (gone) {
                co_return;
            }
            signal_group(SIGTERM);
        }
        bool gone = co_await group_gone_by(after(*term_sent_, spec_.kill_grace));
        if (gone) {
            co_return;
        }
        signal_group(SIGKILL);
        co_await group_gone_by(clock_type::now() + straggler_kill_bound);
        guard_.group_done();
    }

    /// Whether the group is empty by `until`; marks it done if so.
    asio::awaitable<bool> group_gone_by(clock_type::time_point until) {
        asio::steady_timer timer(pidfd_.get_executor());
        for (;;) {
            if (!group_alive()) {
                guard_.group_done();
                co_return true;
            }
            auto now = clock_type::now();
            if (now >= until) {
                co_return false;
            }
            timer.expires_at(std::min<clock_type::time_point>(until, now + group_poll));
            co_await timer.async_wait(use_tuple);
            co_await throw_if_cancelled();
        }
    }

    bool group_alive() {
        if (cgroup_ != nullptr) {
            // Everything the child started is in its cgroup, setsid or not. Zombies do not count.
            while (::waitpid(-pid_, nullptr, WNOHANG) > 0) {
            }
            return cgroup_->populated();
        }
        // Members orphaned by the leader are re-parented to us only if we are PID 1 or a subreaper; reap
        // them, or their zombies would keep the group "alive". Otherwise there is nothing to reap (ECHILD).
        while (::waitpid(-pid_, nullptr, WNOHANG) > 0) {
        }
        // EPERM: a member exists that we may not signal (it changed its credentials); it is still there.
        if (::killpg(pid_, 0) != 0 && errno != EPERM) {
            return false;
        }
        return group_has_live_member(pid_);
    }

    void signal_group(int sig) {
        if (cgroup_ != nullptr) {
            cgroup_->signal_all(sig);
        } else {
            ::killpg(pid_, sig);
        }
        if (sig == SIGTERM && !term_sent_) {
            term_sent_ = clock_type::now();
        }
    }

    std::chrono::milliseconds elapsed() const {
        return std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - started_at_);
    }

    const child_spec& spec_;
    child_result& result_;
    process_guard& guard_;
    const run_cgroup* cgroup_;  ///< the run's own cgroup, or null for a process group only
    pid_t pid_;
    clock_type::time_point started_at_;
    std::optional<clock_type::time_point> term_sent_;
    asio::posix::stream_descriptor pidfd_;
    output_capture output_;
};

}  // namespace

std::string child_result::describe() const {
    if (!started) {
        // start_error already reads "could not start '<program>': <reason>".
        return start_error.empty() ? std::string("could not start") : start_error;
    }
    std::string how;
    if (signal) {
        how = "killed by " + describe_signal(*signal);
    } else if (exit_code) {
        how = *exit_code == 0 ? "ok" : "exit code " + std::to_string(*exit_code);
    } else {
        how = "exit status unknown";
    }
    if (timed_out) {
        // The deadline itself is not part of the result; elapsed is when the killed child was collected.
        std::string text = "timed out after " + format_duration(elapsed);
        if (signal) {
            return text + ", " + how;
        }
        if (exit_code) {
            return text + ", then exited with code " + std::to_string(*exit_code);
        }
        return text + ", still alive after SIGKILL";
    }
    return how;
}

asio::awaitable<child_result> run_child(child_spec spec) {
    if (spec.isolation == script_isolation::systemd) {
        co_return co_await run_transient_unit(std::move(spec));
    }
    child_result result;
    auto started_at = clock_type::now();
    spawned_child child;
    // Declared before the guard: destroyed after it, so that the guard's kill comes first.
    run_cgroup cgroup;
    const run_cgroup* cgroup_used = nullptr;
    std::string error;
    if (spec.isolation == script_isolation::cgroup) {
        const auto parent = script_cgroup_parent();
        if (!parent.empty() && cgroup.create(parent).empty()) {
            bool refused = false;
            error = spawn_in_cgroup(spec, child, cgroup, refused);
            if (error.empty()) {
                cgroup_used = &cgroup;
            } else if (refused) {
                error.clear();  // the cgroup cannot be joined here: a process group is all we have
            } else {
                result.start_error = std::move(error);
                co_return result;
            }
        }
    }
    if (cgroup_used == nullptr) {
        (void)cgroup.remove();
        error = spawn(spec, child);
    }
    if (!error.empty()) {
        result.start_error = std::move(error);
        co_return result;
    }
    result.started = true;
    process_guard guard(child.pid, cgroup_used);  // from here on, every way out kills and reaps
    asio::any_io_executor ex = co_await asio::this_coro::executor;
    supervisor watch(ex, spec, result, child, guard, started_at, cgroup_used);
    co_await watch.run();
    if (cgroup_used != nullptr) {
        (void)cgroup.remove();  // empty by now unless a process is stuck in the kernel; then it stays
    }
    co_return result;
}

std::vector<std::pair<std::string, std::string>> script_environment(
    std::vector<std::pair<std::string, std::string>> extra) {
    std::vector<std::pair<std::string, std::string>> env{
        {"PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
        {"LANG", "C.UTF-8"},
    };
    env.reserve(env.size() + extra.size());
    for (auto& entry : extra) {
        env.push_back(std::move(entry));
    }
    return env;
}

isolation_choice choose_isolation(script_isolation requested, const isolation_probes& probes) {
    const bool systemd = probes.systemd_pid1 && probes.transient_units;
    isolation_choice choice;
    if (requested == script_isolation::automatic) {
        choice.mode = systemd         ? script_isolation::systemd
                      : probes.cgroup ? script_isolation::cgroup
                                      : script_isolation::process_group;
    } else if (requested == script_isolation::systemd && !systemd) {
        choice.mode = probes.cgroup ? script_isolation::cgroup : script_isolation::process_group;
        choice.warning =
            std::string{"systemd transient units are not available here ("} +
            (probes.systemd_pid1 ? "the agent does not run as an mtce unit" : "systemd is not PID 1") + ")";
    } else if (requested == script_isolation::cgroup && !probes.cgroup) {
        choice.mode = script_isolation::process_group;
        choice.warning = "no cgroup v2 child of this process's cgroup can be created";
    } else {
        choice.mode = requested;
    }
    if (choice.mode == script_isolation::process_group) {
        if (!choice.warning.empty()) {
            choice.warning += "; ";
        }
        choice.warning +=
            "scripts run in a process group only: a process that calls setsid escapes the deadline";
    }
    return choice;
}

std::filesystem::path script_cgroup_parent() {
    // Read once per process (a function-local static: once, thread-safe), not at every script run: where
    // cgroup2 is mounted and which cgroup this process is in do not change while it runs.
    static const std::filesystem::path parent = [] {
        const auto mount = cgroup2_mount();
        const auto own = own_cgroup();
        if (mount.empty() || own.empty() || own.front() != '/') {
            return std::filesystem::path{};
        }
        return own == "/" ? mount : mount / own.substr(1);
    }();
    return parent;
}

isolation_probes probe_isolation() {
    isolation_probes probes;
    // sd_booted()'s test, without linking libsystemd here.
    probes.systemd_pid1 = ::access("/run/systemd/system", F_OK) == 0;
    const auto parent = script_cgroup_parent();
    if (!parent.empty()) {
        const auto probe = parent / ("mtce-probe-" + std::to_string(::getpid()));
        if (::mkdir(probe.c_str(), 0755) == 0) {
            probes.cgroup = ::access((probe / "cgroup.procs").c_str(), W_OK) == 0;
            (void)::rmdir(probe.c_str());
        }
    }
    return probes;
}

std::size_t clear_stale_script_cgroups() {
    const auto parent = script_cgroup_parent();
    if (parent.empty()) {
        return 0;
    }
    const std::string ours = "mtce-script-" + std::to_string(::getpid()) + "-";
    std::error_code ec;
    std::size_t cleared = 0;
    for (std::filesystem::directory_iterator it{parent, ec}, end; !ec && it != end; it.increment(ec)) {
        const auto name = it->path().filename().string();
        if (!name.starts_with("mtce-script-") || name.starts_with(ours)) {
            continue;
        }
        // Only an agent that is gone: several agents may share a host (simulated hosts, tests), and a live
        // one's scripts are its own business. (A reused pid only leaves a stale cgroup alone.)
        const auto digits = std::string_view{name}.substr(std::string_view{"mtce-script-"}.size());
        const auto owner = std::atol(std::string{digits.substr(0, digits.find('-'))}.c_str());
        if (owner <= 0 || ::kill(static_cast<pid_t>(owner), 0) == 0 || errno != ESRCH) {
            continue;
        }
        // Left by an agent process that did not get to clean up (killed, crashed).
        run_cgroup stale;
        stale.adopt(it->path());
        if (stale.populated()) {
            stale.kill_all();
            for (int i = 0; i < 1000 && stale.populated(); ++i) {
                std::this_thread::sleep_for(1ms);
            }
        }
        if (stale.remove()) {
            ++cleared;
        }
    }
    return cleared;
}

}  // namespace mtce
