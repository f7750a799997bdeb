#pragma once

// A real IPMI BMC for tests: OpenIPMI's ipmi_sim, started by test/bmc/ipmi-sim-harness on a free UDP port of
// 127.0.0.1, with one administrator and a simulated chassis whose power lives in a file of its directory.

#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "process.hpp"

namespace mtce::test {

class ipmi_sim_bmc {
public:
    struct options {
        std::string user = "admin";
        std::string password = "Sim-Pw.4711";
        bool power_on = true;
        std::string hook;  ///< run as `hook on|off|reset` when the simulated power changes
        /// Run ipmi_sim as the user `nobody` (only when root): proves it needs no privilege. The harness is
        /// copied into `dir`, so nobody needs no access to the source tree.
        bool as_nobody = false;
    };

    /// Starts the simulator with its files in `dir` (created if missing); throws if it does not answer.
    ipmi_sim_bmc(std::filesystem::path dir, options o) : dir_(std::move(dir)), options_(std::move(o)) {
        std::filesystem::create_directories(dir_);
        const auto password_file = dir_ / "password";
        {
            std::ofstream out{password_file, std::ios::trunc};
            out << options_.password << "\n";
        }
        ::chmod(password_file.c_str(), 0600);
        std::filesystem::path harness = std::filesystem::path{MTCE_SOURCE_DIR} / "test/bmc/ipmi-sim-harness";
        std::vector<std::string> argv;
        if (options_.as_nobody) {
            for (const char* script : {"ipmi-sim-harness", "ipmi-sim-chassis"}) {
                std::filesystem::copy_file(std::filesystem::path{MTCE_SOURCE_DIR} / "test/bmc" / script,
                                           dir_ / script, std::filesystem::copy_options::overwrite_existing);
            }
            harness = dir_ / "ipmi-sim-harness";
            chown_tree(dir_, 65534, 65534);
            argv = {"/usr/bin/setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"};
        }
        const auto sim_dir = dir_ / "sim";
        argv.insert(argv.end(),
                    {harness.string(), "start", sim_dir.string(), "--user", options_.user, "--password-file",
                     password_file.string(), "--power", options_.power_on ? "on" : "off"});
        if (!options_.hook.empty()) {
            argv.insert(argv.end(), {"--hook", options_.hook});
        }
        auto started = run_command(argv, dir_, std::chrono::seconds{30});
        if (started.exit_code != 0) {
            throw std::runtime_error{"ipmi-sim-harness start failed: " + started.err + started.out};
        }
        sim_ = sim_dir;
        port_ = static_cast<std::uint16_t>(std::stoul(read_file(sim_ / "port")));
        pid_ = static_cast<pid_t>(std::stol(read_file(sim_ / "pid")));
        running_ = true;
    }

    ~ipmi_sim_bmc() { stop(); }
    ipmi_sim_bmc(const ipmi_sim_bmc&) = delete;
    ipmi_sim_bmc& operator=(const ipmi_sim_bmc&) = delete;

    void stop() {
        if (!running_) {
            return;
        }
        running_ = false;
        try {
            (void)run_command(
                {(std::filesystem::path{MTCE_SOURCE_DIR} / "test/bmc/ipmi-sim-harness").string(), "stop",
                 sim_.string()},
                dir_, std::chrono::seconds{10});
        } catch (const std::exception&) {
            ::kill(pid_, SIGKILL);  // never leave a simulator behind
        }
    }

    [[nodiscard]] std::string address() const { return "127.0.0.1"; }
    [[nodiscard]] std::uint16_t port() const { return port_; }
    [[nodiscard]] pid_t pid() const { return pid_; }
    [[nodiscard]] const options& settings() const { return options_; }
    [[nodiscard]] const std::filesystem::path& dir() const { return sim_; }

    /// The BMC stops answering (SIGSTOP), or answers again (SIGCONT).
    void freeze() const { ::kill(pid_, SIGSTOP); }
    void thaw() const { ::kill(pid_, SIGCONT); }

    /// "on" or "off": the simulated host's power.
    [[nodiscard]] std::string power() const {
        std::string p = read_file(sim_ / "power");
        while (!p.empty() && (p.back() == '\n' || p.back() == ' ')) {
            p.pop_back();
        }
        return p;
    }
    /// Every chassis command ipmi_sim passed on, and every change, one line each.
    [[nodiscard]] std::string chassis_log() const { return read_file(sim_ / "chassis.log"); }

private:
    static void chown_tree(const std::filesystem::path& root, uid_t uid, gid_t gid) {
        (void)::chown(root.c_str(), uid, gid);
        for (const auto& entry : std::filesystem::recursive_directory_iterator{root}) {
            (void)::chown(entry.path().c_str(), uid, gid);
        }
    }

    std::filesystem::path dir_;
    std::filesystem::path sim_;
    options options_;
    std::uint16_t port_ = 0;
    pid_t pid_ = -1;
    bool running_ = false;
};

}  // namespace mtce::test
