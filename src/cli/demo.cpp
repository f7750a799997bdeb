// `mtce demo`: a worker host agent in a temporary directory, unprivileged, its sequences shown live.
//
// Act 1 boots the host: self-tests run in parallel, then host services start in name order.
// Act 2 "reboots" it (a new boot identity) with one self-test failing and one hanging: the hung one is
// killed at its deadline, the failure is recorded with the script named, and no host service starts.
// The agent is the real `mtce agent` process; its log is shown as it runs. Everything is removed at exit.
#include "cli/cli.hpp"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include <fmt/format.h>

#include "core/files.hpp"

extern char** environ;

namespace mtce::cli {

namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

std::atomic<bool> interrupted{false};

void on_interrupt(int) {
    interrupted = true;
}

void write_script(const fs::path& path, std::string_view body) {
    const auto text = fmt::format("#!/bin/sh\n{}", body);
    if (auto ec = write_file_atomic(path, text, fs::perms{0755})) {
        throw std::runtime_error{fmt::format("cannot write '{}': {}", path.string(), ec.message())};
    }
}

struct demo_host {
    fs::path root;
    fs::path config;
    fs::path run_dir;

    explicit demo_host(fs::path dir)
        : root{std::move(dir)}, config{root / "mtce.toml"}, run_dir{root / "run"} {
        for (const auto* sub : {"goenabled.d", "services.d/worker", "run", "state"}) {
            fs::create_directories(root / sub);
        }
        (void)write_file_atomic(root / "cluster.key", "demo-cluster-key-0123456789abcdef\n", fs::perms{0600});
        (void)write_file_atomic(root / "boot_id", "demo-boot-1\n");
        const auto toml = fmt::format(R"([agent]
hostname = "worker-0"
boot_id_file = "{0}/boot_id"
drain_timeout = "5s"

[auth]
key_file = "{0}/cluster.key"

[host]
goenabled_dir = "{0}/goenabled.d"
services_dir = "{0}/services.d"
run_dir = "{0}/run"
state_dir = "{0}/state"
goenabled_timeout = "4s"
services_timeout = "10s"
kill_grace = "1s"
)",
                                      root.string());
        (void)write_file_atomic(config, toml);
    }

    void healthy_scripts() {
        write_script(root / "goenabled.d/10-cpu",
                     "# The host has at least one online CPU.\nsleep 1\n[ \"$(nproc)\" -ge 1 ]\n");
        write_script(root / "goenabled.d/20-memory",
                     "# At least 64 MiB of memory is available.\nsleep 2\n"
                     "avail=$(awk '/MemAvailable/ {print $2}' /proc/meminfo)\n[ \"$avail\" -gt 65536 ]\n");
        write_script(root / "goenabled.d/30-disk",
                     "# The state filesystem is below 98% full.\nsleep 1\n"
                     "use=$(df -P \"$MTCE_STATE_DIR\" | awk 'NR==2 {sub(\"%\",\"\",$5); print $5}')\n"
                     "[ \"$use\" -lt 98 ]\n");
        for (const auto* name : {"10-network", "20-container-runtime", "30-kubelet"}) {
            write_script(root / "services.d/worker" / name,
                         fmt::format("echo \"{} $1 on $MTCE_HOSTNAME\"\nsleep 0.5\n", name));
        }
    }

    void broken_scripts() {
        write_script(root / "goenabled.d/20-memory",
                     "echo 'memory: 3 uncorrectable ECC errors on DIMM B2' >&2\nexit 1\n");
        write_script(root / "goenabled.d/30-disk",
                     "# A disk that stopped answering: the check hangs.\nsleep 600\n");
        // A reboot: a new boot identity, and /run (a tmpfs) comes back empty.
        (void)write_file_atomic(root / "boot_id", "demo-boot-2\n");
        for (const auto& entry : fs::directory_iterator{run_dir}) {
            fs::remove_all(entry.path());
        }
    }
};

pid_t start_agent(const fs::path& binary, const fs::path& config) {
    std::fflush(stdout);  // what was printed so far comes before the agent's log
    std::vector<std::string> args{binary.string(), "agent",        "--role",      "worker", "--config",
                                  config.string(), "--foreground", "--log-level", "info"};
    std::vector<char*> argv;
    for (auto& a : args) {
        argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    pid_t pid = 0;
    if (int rc = ::posix_spawn(&pid, binary.c_str(), nullptr, nullptr, argv.data(), environ); rc != 0) {
        throw std::runtime_error{fmt::format("cannot start '{}': {}", binary.string(), std::strerror(rc))};
    }
    return pid;
}

void stop_agent(pid_t pid) {
    (void)::kill(pid, SIGTERM);
    int status = 0;
    for (int i = 0; i < 100; ++i) {
        if (::waitpid(pid, &status, WNOHANG) == pid) {
            return;
        }
        std::this_thread::sleep_for(100ms);
    }
    (void)::kill(pid, SIGKILL);
    (void)::waitpid(pid, &status, 0);
}

/// Waits until one of `paths` exists; returns it, or empty on timeout or Ctrl-C.
fs::path wait_for_any(const std::vector<fs::path>& paths, std::chrono::seconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!interrupted && std::chrono::steady_clock::now() < deadline) {
        for (const auto& p : paths) {
            if (fs::exists(p)) {
                return p;
            }
        }
        std::this_thread::sleep_for(100ms);
    }
    return {};
}

void show_flag(const fs::path& path) {
    auto text = read_small_file(path);
    fmt::print("\n  ┌─ {}\n", path.string());
    if (text) {
        std::size_t start = 0;
        while (start < text->size()) {
            auto nl = text->find('\n', start);
            fmt::print("  │ {}\n", text->substr(start, nl - start));
            start = nl == std::string::npos ? text->size() : nl + 1;
        }
    }
    fmt::print("  └─\n\n");
}

void heading(std::string_view text) {
    fmt::print("\n\033[1m=== {}\033[0m\n\n", text);
}

}  // namespace

int run_demo(const demo_options& options) {
    if (options.hosts != 1) {
        fmt::print(stderr,
                   "mtce: not implemented yet: a demo of {} hosts (it needs the controller's fleet "
                   "manager); run 'mtce demo' for one host\n",
                   options.hosts);
        return exit_failed;
    }
    std::string tmpl = (fs::temp_directory_path() / "mtce-demo.XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) {
        fmt::print(stderr, "mtce: cannot create a temporary directory: {}\n", std::strerror(errno));
        return exit_failed;
    }
    const fs::path root{tmpl};
    struct sigaction sa {};
    sa.sa_handler = on_interrupt;
    ::sigaction(SIGINT, &sa, nullptr);
    ::sigaction(SIGTERM, &sa, nullptr);

    int status = exit_ok;
    pid_t agent = 0;
    try {
        demo_host host{root};
        host.healthy_scripts();
        heading("Act 1: worker-0 boots");
        fmt::print(
            "A worker host agent starts in {} (no root needed).\n"
            "Its three self-tests (goenabled.d/) take 1-2 s each and run in parallel;\n"
            "when all pass, its host services (services.d/worker/) start one by one, in name order.\n\n",
            root.string());
        const auto t0 = std::chrono::steady_clock::now();
        agent = start_agent(options.self_binary, host.config);
        auto flag = wait_for_any({host.run_dir / "services_worker", host.run_dir / "services_worker_failed",
                                  host.run_dir / "goenabled_failed"},
                                 30s);
        const auto took =
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
        stop_agent(agent);
        agent = 0;
        if (flag.empty()) {
            throw std::runtime_error{interrupted ? "interrupted"
                                                 : "the agent did not finish its boot sequence"};
        }
        fmt::print("\nBoot sequence done in {:.1f} s (self-tests in parallel: ~2 s, not 4 s). Flag files:\n",
                   static_cast<double>(took.count()) / 1000.0);
        show_flag(host.run_dir / "goenabled");
        show_flag(flag);

        heading("Act 2: worker-0 reboots with a bad DIMM and a hung disk");
        fmt::print(
            "After the reboot (a new boot identity) 20-memory fails and 30-disk hangs.\n"
            "The hung test is killed at its 4 s deadline with its whole process group;\n"
            "the host fails its self-tests, the flag names the script, and no host service starts.\n\n");
        host.broken_scripts();
        agent = start_agent(options.self_binary, host.config);
        flag = wait_for_any({host.run_dir / "goenabled_failed", host.run_dir / "services_worker"}, 30s);
        stop_agent(agent);
        agent = 0;
        if (flag.empty()) {
            throw std::runtime_error{interrupted ? "interrupted" : "the agent did not finish its self-tests"};
        }
        show_flag(flag);
        fmt::print("Host services started this boot: {}\n",
                   fs::exists(host.run_dir / "services_worker") ? "yes" : "no");
        heading("Done");
        fmt::print("The multi-host demo (controller, heartbeat, lock/unlock) builds on this.\n");
    } catch (const std::exception& e) {
        fmt::print(stderr, "mtce demo: {}\n", e.what());
        status = exit_failed;
    }
    if (agent != 0) {
        stop_agent(agent);
    }
    std::error_code ec;
    fs::remove_all(root, ec);
    return status;
}

}  // namespace mtce::cli
