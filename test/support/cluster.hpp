#pragma once

// A controller and two workers as real `mtce agent` processes on loopback, each on its own 127.x addresses
// with its own directories, driven through the real `mtce` command line. A host "reboots" by running its
// host.reboot_command, which asks the fixture to restart its agent with a new boot identity; a host's
// simulated BMC powers it off, on or resets it through `<dir>/power-hook`, which the fixture carries out the
// same way. For the fleet tests (Boost.Test).

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include <boost/test/results_collector.hpp>
#include <boost/test/unit_test.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "process.hpp"
#include "scratch.hpp"

namespace mtce::test {

using namespace std::chrono_literals;
using nlohmann::json;

const std::string key_text = "fleet-test-cluster-key-0123456789abcdef\n";

struct options {
    std::string fresh_boot_uptime = "120s";
    bool all_in_one = false;
    std::string inventory_bytes;  ///< written to the controller's inventory.db before it starts, if not empty
    bool small_state_disk = false;  ///< the controller's state on a 1 MiB tmpfs (root only)
    std::string controller_tables;  ///< more configuration for the controller (whole tables, e.g. [bmc])
};

/// Options built by a function: `cluster c{with([](auto& o) { o.all_in_one = true; })};`.
template <class F>
options with(F f) {
    options o;
    f(o);
    return o;
}

/// One simulated host: its directory, configuration and agent process; "rebooted" on request.
struct sim_host {
    std::string name;
    std::string role;
    std::string mgmt_ip;
    std::string cluster_ip;
    std::filesystem::path dir;
    std::unique_ptr<process> agent;
    int boots = 1;
};

class cluster {
public:
    explicit cluster(const options& o = {}) : opts_{o} {
        const auto base = static_cast<std::uint16_t>(40000 + (::getpid() % 2000) * 10);
        ports_ = {base, static_cast<std::uint16_t>(base + 1), static_cast<std::uint16_t>(base + 2),
                  static_cast<std::uint16_t>(base + 3)};
        cluster_ports_ = {static_cast<std::uint16_t>(base + 4), static_cast<std::uint16_t>(base + 5),
                          static_cast<std::uint16_t>(base + 6), static_cast<std::uint16_t>(base + 7)};
        api_port_ = static_cast<std::uint16_t>(base + 9);
        add_sim("controller-0", "controller", 1);
        add_sim("worker-0", "worker", 10);
        add_sim("worker-1", "worker", 11);
        const auto state = dir_.path() / "controller-0" / "ctl";
        std::filesystem::create_directories(state);
        if (o.small_state_disk) {
            mounted_ = state;
            (void)run_command(
                {"/bin/mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", state.string()},
                dir_.path());
        }
        if (!o.inventory_bytes.empty()) {
            dir_.write("controller-0/ctl/inventory.db", o.inventory_bytes, 0600);
        }
        for (auto& [name, h] : hosts_) {
            start(h);
        }
        watcher_ = std::thread{[this] { watch_reboots(); }};
        // The API answers once the controller is up.
        const auto deadline = std::chrono::steady_clock::now() + 30s;
        while (run({"host", "list"}).exit_code != 0 && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(200ms);
        }
    }

    ~cluster() {
        stop_ = true;
        watcher_.join();
        for (auto& [name, h] : hosts_) {
            h.agent.reset();
        }
        if (!mounted_.empty()) {
            (void)run_command({"/bin/umount", "-l", mounted_.string()}, "/");
        }
        // A failed case shows what every process said.
        const auto id = boost::unit_test::framework::current_test_case().p_id;
        if (!boost::unit_test::results_collector.results(id).passed()) {
            for (auto& [name, h] : hosts_) {
                collect_log(h);
                auto text = dir_.read(name + "/err.log");
                if (text.size() > 6000) {
                    text = text.substr(text.size() - 6000);
                }
                BOOST_TEST_MESSAGE("==== " << name << " ====\n" << text);
            }
        }
    }

    cluster(const cluster&) = delete;
    cluster& operator=(const cluster&) = delete;

    /// Runs `mtce ARGS --api URL` (the URL after the subcommand's own arguments).
    command_result run(std::vector<std::string> args, std::chrono::seconds limit = 60s) const {
        std::vector<std::string> argv{MTCE_BINARY};
        argv.insert(argv.end(), args.begin(), args.end());
        argv.emplace_back("--api");
        argv.emplace_back(api_url());
        return run_command(argv, dir_.path(), limit);
    }

    /// The controller's local socket, as the command line on the controller uses it (no token needed).
    [[nodiscard]] std::string api_url() const {
        return "unix:" + (dir_.path() / "controller-0" / "api.sock").string();
    }
    /// The controller's TCP address.
    [[nodiscard]] std::string tcp_url() const { return fmt::format("http://127.0.0.1:{}", api_port_); }

    /// `mtce host add` for one of the simulated hosts.
    command_result add(const std::string& name) const {
        const auto& h = hosts_.at(name);
        return run({"host", "add", name, "--personality", h.role, "--mgmt-ip", h.mgmt_ip, "--cluster-ip",
                    h.cluster_ip});
    }

    /// The host document, or null if the controller does not know the host.
    [[nodiscard]] json show(const std::string& name) const {
        const auto r = run({"host", "show", name, "--json"});
        if (r.exit_code != 0) {
            return nullptr;
        }
        return json::parse(r.out, nullptr, false);
    }

    [[nodiscard]] std::string state(const std::string& name) const {
        const auto doc = show(name);
        if (!doc.is_object()) {
            return "unknown";
        }
        return fmt::format("{}-{}-{}", doc.value("administrative", ""), doc.value("operational", ""),
                           doc.value("availability", ""));
    }

    /// `mtce host wait NAME --state S`; true if reached in time.
    bool wait(const std::string& name, const std::string& state, std::chrono::seconds limit) const {
        const auto r =
            run({"host", "wait", name, "--state", state, "--timeout", std::to_string(limit.count())},
                limit + 30s);
        BOOST_TEST_MESSAGE("wait " << name << " " << state << ": exit " << r.exit_code << "\n"
                                   << r.out << r.err);
        return r.exit_code == 0;
    }

    /// Adds a simulated host and unlocks it once it is online; true once it is unlocked-enabled-available.
    bool in_service(const std::string& name) const {
        return add(name).exit_code == 0 && wait(name, "locked-disabled-online", 30s) &&
               run({"host", "unlock", name}).exit_code == 0 && wait(name, "unlocked-enabled-available", 60s);
    }

    sim_host& host(const std::string& name) { return hosts_.at(name); }
    [[nodiscard]] std::string log(const std::string& name) const { return dir_.read(name + "/err.log"); }
    [[nodiscard]] const scratch& dir() const { return dir_; }

    /// Kills a host's agent outright; it stays down until start_again().
    void kill(const std::string& name, int sig = SIGKILL) {
        std::lock_guard lock{mutex_};
        auto& h = hosts_.at(name);
        h.agent->signal(sig);
        (void)h.agent->wait(10s);
        h.agent.reset();
    }

    /// Starts a killed host again; with `new_boot`, as after a power cycle (a new boot identity).
    void start_again(const std::string& name, bool new_boot) {
        std::lock_guard lock{mutex_};
        auto& h = hosts_.at(name);
        if (new_boot) {
            next_boot(h);
        }
        start(h);
    }

    void write_script(const std::string& name, const std::string& path, const std::string& body) const {
        (void)dir_.script(name + "/" + path, body);
    }
    void remove(const std::string& name, const std::string& path) const {
        std::filesystem::remove(dir_.path() / name / path);
    }

private:
    void add_sim(const std::string& name, const std::string& role, int n) {
        sim_host h;
        h.name = name;
        h.role = role;
        h.mgmt_ip = fmt::format("127.51.0.{}", n);
        h.cluster_ip = fmt::format("127.52.0.{}", n);
        h.dir = dir_.path() / name;
        const auto d = h.dir.string();
        std::filesystem::create_directories(h.dir / "goenabled.d");
        for (const auto* f : {"controller", "worker", "storage"}) {
            std::filesystem::create_directories(h.dir / "services.d" / f);
        }
        dir_.write(name + "/key", key_text, 0600);
        dir_.write(name + "/boot_id", name + "-boot-1\n");
        // A reboot is a request to this test: it restarts the agent with a new boot identity.
        (void)dir_.script(name + "/reboot", "touch " + d + "/reboot-requested");
        // What a simulated BMC does to the host: `power-hook on|off|reset`, carried out by watch_reboots().
        (void)dir_.script(name + "/power-hook", "echo \"$1\" >> " + d + "/power-requests");
        (void)dir_.script(name + "/services.d/" + role + "/10-marker",
                          "echo \"$1\" >> " + d + "/services.log");
        auto network = [&](const char* which, const std::string& address,
                           const std::array<std::uint16_t, 4>& p) {
            return fmt::format(
                "[network.{}]\naddress = \"{}\"\nagent_port = {}\ncontroller_port = {}\npulse_port = {}\n"
                "pulse_reply_port = {}\n",
                which, address, p[0], p[1], p[2], p[3]);
        };
        const bool controller = role == "controller";
        const std::string subfunctions =
            controller && opts_.all_in_one ? "subfunctions = [\"worker\"]\n" : std::string{};
        std::string tables = "[heartbeat]\nmode = \"unicast\"\n" + network("mgmt", h.mgmt_ip, ports_) +
                             network("cluster", h.cluster_ip, cluster_ports_);
        if (controller) {
            tables += fmt::format(
                "[controller]\nstate_dir = \"{0}/ctl\"\nbmc_key_file = \"{0}/bmc.key\"\napi_listen = "
                "\"127.0.0.1:{1}\"\napi_socket = \"{0}/api.sock\"\n"
                "worker_boot_timeout = \"30s\"\ncontroller_boot_timeout = \"30s\"\ngoenabled_timeout = "
                "\"20s\"\n"
                "services_timeout = \"20s\"\nsubfunction_config_timeout = \"20s\"\nheartbeat_soak = \"2s\"\n"
                "command_timeout = \"1s\"\ncommand_retries = 3\nreboot_timeout = \"15s\"\noffline_window = "
                "\"4s\"\n"
                "fresh_boot_uptime = \"{2}\"\nloss_recovery_timeout = \"2s\"\nself_reboot_delay = \"1s\"\n"
                "task_display = \"1s\"\n"
                "[autorecovery]\nconfig_interval = \"2s\"\ngoenabled_interval = \"2s\"\nservices_interval = "
                "\"2s\"\n"
                "heartbeat_interval = \"2s\"\nboot_interval = \"2s\"\n",
                d, api_port_, opts_.fresh_boot_uptime);
            tables += opts_.controller_tables;
        }
        const auto marker = d + "/run/.worker_config_complete";
        dir_.write(
            name + "/mtce.toml",
            host_config(
                h.dir, name,
                subfunctions + "drain_timeout = \"2s\"\ncontrollers = [\"127.51.0.1\", \"127.52.0.1\"]",
                fmt::format(
                    "kill_grace = \"300ms\"\nmtcalive_period = \"1s\"\nreboot_command = \"{0}/reboot\"\n"
                    "reset_command = \"{0}/reboot\"\nsubfunction_config_marker = \"{1}\"\n"
                    "subfunction_config_timeout = \"20s\"\ngoenabled_timeout = \"10s\"\n"
                    "services_timeout = \"10s\"",
                    d, marker),
                tables));
        hosts_.emplace(name, std::move(h));
    }

    void start(sim_host& h) {
        // The all-in-one worker subfunction's configuration is complete from the start of every boot.
        std::filesystem::create_directories(h.dir / "run");
        (void)dir_.write(h.name + "/run/.worker_config_complete", "");
        h.agent = std::make_unique<process>(
            std::vector<std::string>{MTCE_BINARY, "agent", "--role", h.role, "--config",
                                     (h.dir / "mtce.toml").string(), "--foreground"},
            h.dir / "out.log", h.dir / "err.log.tmp");
    }

    void next_boot(sim_host& h) {
        ++h.boots;
        dir_.write(h.name + "/boot_id", fmt::format("{}-boot-{}\n", h.name, h.boots));
        // /run is a tmpfs: a reboot empties it.
        std::filesystem::remove_all(h.dir / "run");
    }

    void watch_reboots() {
        while (!stop_) {
            {
                std::lock_guard lock{mutex_};
                for (auto& [name, h] : hosts_) {
                    collect_log(h);
                    serve_power(h);
                    const auto marker = h.dir / "reboot-requested";
                    if (!std::filesystem::exists(marker) || !h.agent) {
                        continue;
                    }
                    std::filesystem::remove(marker);
                    h.agent->signal(SIGTERM);
                    if (!h.agent->wait(10s)) {
                        h.agent->signal(SIGKILL);
                        (void)h.agent->wait(5s);
                    }
                    collect_log(h);
                    // A reboot takes time; a boot's time is counted in seconds, so the next boot must start
                    // in a later second to be seen as newer.
                    std::this_thread::sleep_for(1100ms);
                    next_boot(h);
                    start(h);
                }
            }
            std::this_thread::sleep_for(100ms);
        }
    }

    /// Carries out what the host's BMC asked since the last look: off kills the agent (the power is gone),
    /// on starts it on a new boot, reset does both.
    void serve_power(sim_host& h) {
        const auto requests = dir_.read(h.name + "/power-requests");
        auto& seen = power_seen_[h.name];
        while (seen < requests.size()) {
            const auto nl = requests.find('\n', seen);
            if (nl == std::string::npos) {
                break;
            }
            const auto what = requests.substr(seen, nl - seen);
            seen = nl + 1;
            if ((what == "off" || what == "reset") && h.agent) {
                h.agent->signal(SIGKILL);
                (void)h.agent->wait(10s);
                collect_log(h);
                h.agent.reset();
            }
            if ((what == "on" || what == "reset") && !h.agent) {
                std::this_thread::sleep_for(1100ms);  // a boot is counted in seconds: the next one is later
                next_boot(h);
                start(h);
            }
        }
    }

    /// The agent writes to err.log.tmp; its lines are moved into err.log so that logs of every boot stay.
    void collect_log(sim_host& h) {
        const auto tmp = h.dir / "err.log.tmp";
        const auto text = dir_.read(h.name + "/err.log.tmp");
        const auto seen = copied_[h.name];
        if (text.size() > seen) {
            std::ofstream out{h.dir / "err.log", std::ios::app};
            out << text.substr(seen);
            copied_[h.name] = text.size();
        } else if (text.size() < seen) {
            copied_[h.name] = 0;  // a new boot truncated it
            std::ofstream out{h.dir / "err.log", std::ios::app};
            out << text;
            copied_[h.name] = text.size();
        }
    }

    options opts_;
    scratch dir_;
    std::filesystem::path mounted_;
    std::array<std::uint16_t, 4> ports_{};
    std::array<std::uint16_t, 4> cluster_ports_{};
    std::uint16_t api_port_ = 0;
    std::map<std::string, sim_host> hosts_;
    std::map<std::string, std::size_t> copied_;
    std::map<std::string, std::size_t> power_seen_;
    std::mutex mutex_;
    std::atomic<bool> stop_{false};
    std::thread watcher_;
};

}  // namespace mtce::test
