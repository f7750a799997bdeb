// `mtce demo`: a controller and N hosts on loopback, unprivileged, each a real `mtce agent` child process in
// a temporary directory, with unicast heartbeat between them. The demo adds the hosts to the inventory,
// unlocks them and shows the host table live as they pass through their states; then one host dies and
// the demo shows how the controller detects it, fails it and recovers it once it boots again. Last, the whole
// site loses power: every process stops at once, the controller boots first and the hosts one by one, and the
// demo shows Dead Office Recovery bring them all back without failing or rebooting any of them.
//
// A host "reboots" as its host.reboot_command asks: the command leaves a marker, and the demo stops the
// agent, gives the host a new boot identity, empties its run directory (a tmpfs on a real host) and starts
// it again. Everything is removed at exit or on Ctrl-C.
#include "cli/cli.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "api/client.hpp"
#include "cli/host_view.hpp"
#include "core/files.hpp"

extern char** environ;

namespace mtce::cli {

namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using nlohmann::json;
using steady = std::chrono::steady_clock;

std::atomic<bool> interrupted{false};

void on_interrupt(int) {
    interrupted = true;
}

constexpr std::string_view bold = "\033[1m";
constexpr std::string_view plain = "\033[0m";

void write_script(const fs::path& path, std::string_view body) {
    if (auto ec = write_file_atomic(path, fmt::format("#!/bin/sh\n{}", body), fs::perms{0755})) {
        throw std::runtime_error{fmt::format("cannot write '{}': {}", path.string(), ec.message())};
    }
}

void write_text(const fs::path& path, std::string_view text, fs::perms mode = fs::perms{0644}) {
    if (auto ec = write_file_atomic(path, text, mode)) {
        throw std::runtime_error{fmt::format("cannot write '{}': {}", path.string(), ec.message())};
    }
}

/// Whether a TCP port can be bound on `address` now (the demo's API port).
bool port_free(const std::string& address, std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    ::inet_pton(AF_INET, address.c_str(), &a.sin_addr);
    const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    return ok;
}

/// One simulated host: a real agent process in its own directory, on its own loopback addresses.
struct demo_host {
    std::string name;
    std::string role;
    std::string mgmt_ip;
    std::string cluster_ip;
    fs::path dir;
    pid_t pid = 0;
    int boots = 1;
};

class demo {
public:
    demo(fs::path binary, fs::path root, int hosts) : binary_{std::move(binary)}, root_{std::move(root)} {
        std::uint16_t base = 0;
        for (int attempt = 0; attempt < 50 && base == 0; ++attempt) {
            const auto candidate =
                static_cast<std::uint16_t>(21000 + ((::getpid() + attempt * 97) % 3000) * 10);
            if (port_free("127.73.0.1", static_cast<std::uint16_t>(candidate + 9))) {
                base = candidate;
            }
        }
        if (base == 0) {
            throw std::runtime_error{"no free port block on 127.73.0.1"};
        }
        base_ = base;
        add("controller-0", "controller", 1);
        for (int i = 0; i < hosts; ++i) {
            const bool storage = hosts >= 3 && i == hosts - 1;
            add(storage ? "storage-0" : fmt::format("worker-{}", i), storage ? "storage" : "worker", 10 + i);
        }
    }

    ~demo() { stop_all(); }
    demo(const demo&) = delete;
    demo& operator=(const demo&) = delete;

    /// The controller's local socket: changes need no token there.
    [[nodiscard]] std::string api() const { return "unix:" + (root_ / "controller-0" / "api.sock").string(); }
    std::vector<demo_host>& hosts() { return hosts_; }
    demo_host& host(const std::string& name) {
        for (auto& h : hosts_) {
            if (h.name == name) {
                return h;
            }
        }
        throw std::runtime_error{"no host " + name};
    }

    void start(demo_host& h) {
        fs::create_directories(h.dir / "run");
        const auto log = (h.dir / "agent.log").string();
        std::vector<std::string> args{binary_.string(), "agent",    "--role",
                                      h.role,           "--config", (h.dir / "mtce.toml").string(),
                                      "--foreground"};
        std::vector<char*> argv;
        argv.reserve(args.size() + 1);
        for (auto& a : args) {
            argv.push_back(a.data());
        }
        argv.push_back(nullptr);
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        posix_spawn_file_actions_addopen(&fa, 2, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        const int rc = ::posix_spawn(&h.pid, binary_.c_str(), &fa, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&fa);
        if (rc != 0) {
            throw std::runtime_error{
                fmt::format("cannot start '{}': {}", binary_.string(), std::strerror(rc))};
        }
    }

    static void stop(demo_host& h, int sig) {
        if (h.pid <= 0) {
            return;
        }
        (void)::kill(h.pid, sig);
        int status = 0;
        for (int i = 0; i < 100; ++i) {
            if (::waitpid(h.pid, &status, WNOHANG) == h.pid) {
                h.pid = 0;
                return;
            }
            std::this_thread::sleep_for(50ms);
        }
        (void)::kill(h.pid, SIGKILL);
        (void)::waitpid(h.pid, &status, 0);
        h.pid = 0;
    }

    /// A new boot identity and an empty run directory, as after a reboot or a power cycle.
    static void next_boot(demo_host& h) {
        ++h.boots;
        write_text(h.dir / "boot_id", fmt::format("{}-boot-{}\n", h.name, h.boots));
        std::error_code ec;
        fs::remove_all(h.dir / "run", ec);
    }

    /// Carries out the reboots the hosts asked for; returns the names of the hosts rebooted.
    std::vector<std::string> serve_reboots() {
        std::vector<std::string> out;
        for (auto& h : hosts_) {
            const auto marker = h.dir / "reboot-requested";
            std::error_code ec;
            if (h.pid > 0 && fs::exists(marker, ec)) {
                fs::remove(marker, ec);
                stop(h, SIGTERM);
                // A reboot takes time (and a boot's time is counted in seconds: the next one must be later).
                std::this_thread::sleep_for(1100ms);
                next_boot(h);
                start(h);
                out.push_back(h.name);
            }
        }
        return out;
    }

    /// A power loss: every agent (the controller's too) stops at once, with no chance to say goodbye.
    void power_off_all() {
        for (auto& h : hosts_) {
            if (h.pid > 0) {
                (void)::kill(h.pid, SIGKILL);
            }
        }
        for (auto& h : hosts_) {
            stop(h, SIGKILL);
        }
    }

    void stop_all() {
        for (auto& h : hosts_) {
            if (h.pid > 0) {
                (void)::kill(h.pid, SIGTERM);
            }
        }
        for (auto& h : hosts_) {
            stop(h, SIGTERM);
        }
    }

    /// POST with a JSON body; the reply's status (0 when the controller does not answer).
    long post(const std::string& path, const json& body) const {
        const auto r = api::request("POST", api(), path, body.dump(), 10s);
        return r ? r->status : 0;
    }

    [[nodiscard]] json get(const std::string& path) const {
        const auto r = api::get(api(), path, 5s);
        if (!r || r->status != 200) {
            return nullptr;
        }
        return json::parse(r->body, nullptr, false);
    }

private:
    void add(const std::string& name, const std::string& role, int n) {
        demo_host h;
        h.name = name;
        h.role = role;
        h.mgmt_ip = fmt::format("127.73.0.{}", n);
        h.cluster_ip = fmt::format("127.74.0.{}", n);
        h.dir = root_ / name;
        const auto d = h.dir.string();
        for (const auto* sub : {"goenabled.d", "services.d/controller", "services.d/worker",
                                "services.d/storage", "run", "state"}) {
            fs::create_directories(h.dir / sub);
        }
        write_text(h.dir / "cluster.key", "mtce-demo-cluster-key-0123456789abcdef\n", fs::perms{0600});
        write_text(h.dir / "boot_id", name + "-boot-1\n");
        write_script(h.dir / "goenabled.d/10-cpu",
                     "# At least one CPU is online.\nsleep 1\n[ \"$(nproc)\" -ge 1 ]\n");
        write_script(h.dir / "goenabled.d/20-memory",
                     "# Enough memory is available.\nsleep 1.5\n"
                     "avail=$(awk '/MemAvailable/ {print $2}' /proc/meminfo)\n[ \"$avail\" -gt 65536 ]\n");
        write_script(h.dir / "goenabled.d/30-disk",
                     "# The state directory is writable.\nsleep 0.5\ntest -w \"$MTCE_STATE_DIR\"\n");
        for (const auto* svc : {"10-network", "20-container-runtime", "30-kubelet"}) {
            write_script(h.dir / "services.d" / role / svc, "sleep 0.3\n");
        }
        write_script(h.dir / "reboot", fmt::format("touch {}/reboot-requested\n", d));
        auto network = [&](const char* which, const std::string& address, int offset) {
            return fmt::format(
                "[network.{}]\naddress = \"{}\"\nagent_port = {}\ncontroller_port = {}\npulse_port = {}\n"
                "pulse_reply_port = {}\n",
                which, address, base_ + offset, base_ + offset + 1, base_ + offset + 2, base_ + offset + 3);
        };
        std::string toml = fmt::format(
            "[agent]\nhostname = \"{0}\"\nboot_id_file = \"{1}/boot_id\"\ndrain_timeout = \"2s\"\n"
            "controllers = [\"127.73.0.1\", \"127.74.0.1\"]\n\n"
            "[auth]\nkey_file = \"{1}/cluster.key\"\n\n"
            "[heartbeat]\nmode = \"unicast\"\n\n"
            "[host]\ngoenabled_dir = \"{1}/goenabled.d\"\nservices_dir = \"{1}/services.d\"\nrun_dir = "
            "\"{1}/run\"\n"
            "state_dir = \"{1}/state\"\ngoenabled_timeout = \"10s\"\nservices_timeout = \"10s\"\nkill_grace "
            "= \"1s\"\n"
            "mtcalive_period = \"1s\"\nreboot_command = \"{1}/reboot\"\nreset_command = \"{1}/reboot\"\n\n",
            name, d);
        toml += network("mgmt", h.mgmt_ip, 0) + "\n" + network("cluster", h.cluster_ip, 4);
        if (role == "controller") {
            toml += fmt::format(
                "\n[controller]\nstate_dir = \"{0}/ctl\"\nbmc_key_file = \"{0}/bmc.key\"\napi_listen = "
                "\"127.73.0.1:{1}\"\napi_socket = \"{0}/api.sock\"\n"
                "worker_boot_timeout = \"60s\"\nstorage_boot_timeout = \"60s\"\ncontroller_boot_timeout = "
                "\"60s\"\n"
                "goenabled_timeout = \"20s\"\nservices_timeout = \"20s\"\nheartbeat_soak = \"3s\"\n"
                "command_timeout = \"1s\"\ncommand_retries = 3\nreboot_timeout = \"15s\"\noffline_window = "
                "\"5s\"\n"
                "loss_recovery_timeout = \"2s\"\ntask_display = \"3s\"\n\n"
                "[autorecovery]\nconfig_interval = \"5s\"\ngoenabled_interval = \"5s\"\nservices_interval = "
                "\"5s\"\n"
                "heartbeat_interval = \"5s\"\nboot_interval = \"5s\"\n\n"
                // A controller started less than 20 minutes into its boot with unlocked hosts in its
                // inventory: the site lost power. Its first start has none, so only the last act is one.
                "[dor]\ndetect_s = 1200\ntimeout_s = 30\n",
                d, base_ + 9);
        }
        write_text(h.dir / "mtce.toml", toml);
        hosts_.push_back(std::move(h));
    }

    fs::path binary_;
    fs::path root_;
    std::uint16_t base_ = 0;
    std::vector<demo_host> hosts_;
};

/// The screen: a title, the host table and the newest events, redrawn in place on a terminal; on anything
/// else (a pipe, a log) only new events are printed, one line each.
class screen {
public:
    explicit screen(bool tty) : tty_{tty}, start_{steady::now()} {}

    void act(std::string title) {
        act_ = std::move(title);
        if (!tty_) {
            fmt::print("\n=== {}\n", act_);
            std::fflush(stdout);
        }
    }

    void note(std::string line) {
        if (!tty_) {
            fmt::print("{}\n", line);
            std::fflush(stdout);
        }
        keep(std::move(line));
    }

    /// A line kept on the screen under the events, on a terminal only: elsewhere the event lines say it.
    void status(std::string line) {
        if (tty_) {
            keep(std::move(line));
        }
    }

    void show(const json& hosts, const json& events) {
        if (events.is_array()) {
            for (const auto& e : events) {
                // "2026-11-30T15:39:24.123Z": the time of day only (all of it if it is not that long).
                const auto stamp = e.value("time_text", std::string{});
                const auto time_of_day = stamp.size() >= 19 ? stamp.substr(11, 8) : stamp;
                recent_.push_back(fmt::format("{} {:<13} {:<8} {}", time_of_day, e.value("host", ""),
                                              e.value("kind", ""), e.value("text", "")));
                if (!tty_) {
                    fmt::print("  event: {}\n", recent_.back());
                }
            }
            while (recent_.size() > 10) {
                recent_.erase(recent_.begin());
            }
        }
        if (!tty_) {
            std::fflush(stdout);
            return;
        }
        const auto secs = std::chrono::duration<double>(steady::now() - start_).count();
        std::string out = "\033[H\033[2J";
        out += fmt::format("{}mtce demo{}  {:.0f} s   {}{}{}\n\n", bold, plain, secs, bold, act_, plain);
        out +=
            hosts.is_array() ? render_host_table(hosts) : std::string{"(the controller is not answering)\n"};
        out += "\nEvents (newest last):\n";
        for (const auto& line : recent_) {
            out += "  " + line.substr(0, 140) + "\n";
        }
        if (!notes_.empty()) {
            out += "\n";
            for (const auto& n : notes_) {
                out += n + "\n";
            }
        }
        fmt::print("{}", out);
        std::fflush(stdout);
    }

private:
    /// The newest notes only, so that the screen keeps its table in view.
    void keep(std::string line) {
        notes_.push_back(std::move(line));
        while (notes_.size() > 12) {
            notes_.erase(notes_.begin());
        }
    }

    bool tty_;
    steady::time_point start_;
    std::string act_;
    std::vector<std::string> recent_;
    std::vector<std::string> notes_;
};

/// What the demo sees while the site recovers from its power loss: the Dead Office Recovery events, and any
/// host failed or rebooted meanwhile (neither should be).
struct power_loss_watch {
    bool watching = false;
    bool banner = false;
    std::string end;  ///< the event that closed the recovery: complete, or timed out
    bool timed_out = false;
    std::set<std::string> failed;
    std::vector<std::string> rebooted;

    /// Looks at one event; returns the line to keep on the screen, if it is one of the recovery's.
    std::optional<std::string> see(const json& e) {
        const auto host = e.value("host", std::string{});
        const auto kind = e.value("kind", std::string{});
        const auto text = e.value("text", std::string{});
        if (kind == "state") {
            // "unlocked-enabled-degraded -> unlocked-disabled-failed (loss of communication)"
            const auto arrow = text.find("-> ");
            if (arrow != std::string::npos &&
                text.substr(arrow, text.find(' ', arrow + 3) - arrow).ends_with("-disabled-failed")) {
                failed.insert(host);
            }
            return std::nullopt;
        }
        if (kind != "dor") {
            return std::nullopt;
        }
        if (text.starts_with("Dead Office Recovery is ACTIVE")) {
            banner = true;
        } else if (text.starts_with("Dead Office Recovery complete")) {
            end = text;
        } else if (text.starts_with("Dead Office Recovery Timeout")) {
            end = text;
            timed_out = true;
        } else if (text.starts_with("FAILED")) {
            failed.insert(host);
        }
        return host.empty() ? fmt::format("  {}", text) : fmt::format("  {}: {}", host, text);
    }

    /// Looks at the host table.
    void see_hosts(const json& hosts) {
        for (const auto& h : hosts) {
            if (state_text(h).ends_with("-disabled-failed")) {
                failed.insert(h.value("name", ""));
            }
        }
    }
};

}  // namespace

int run_demo(const demo_options& options) {
    if (options.hosts < 1 || options.hosts > 200) {
        fmt::print(stderr, "mtce: --hosts must be between 1 and 200\n");
        return exit_usage;
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
    try {
        demo d{options.self_binary, root, options.hosts};
        const bool tty = ::isatty(STDOUT_FILENO) == 1;
        screen out{tty};
        // Emphasis on a terminal only: a log or a pipe gets plain text.
        const std::string_view em = tty ? bold : std::string_view{};
        const std::string_view end = tty ? plain : std::string_view{};
        std::uint64_t last_event = 0;
        power_loss_watch watch;
        auto refresh = [&] {
            for (const auto& name : d.serve_reboots()) {
                out.note(fmt::format("  ({} reboots: the demo restarts its agent with a new boot identity)",
                                     name));
                if (watch.watching) {
                    watch.rebooted.push_back(name);
                }
            }
            auto hosts = d.get("/v1/hosts");
            const auto events = d.get(fmt::format("/v1/events?since={}", last_event));
            if (events.is_array() && !events.empty()) {
                last_event = events.back().value("id", last_event);
            }
            if (watch.watching && events.is_array()) {
                for (const auto& e : events) {
                    if (auto line = watch.see(e)) {
                        out.status(std::move(*line));
                    }
                }
            }
            if (watch.watching && hosts.is_array()) {
                watch.see_hosts(hosts);
            }
            out.show(hosts, events);
            return hosts;
        };
        // Waits until `done(hosts)` or `limit`, redrawing every half second.
        auto until = [&](auto done, std::chrono::milliseconds limit) {
            const auto deadline = steady::now() + limit;
            while (!interrupted && steady::now() < deadline) {
                const auto hosts = refresh();
                if (hosts.is_array() && done(hosts)) {
                    return true;
                }
                std::this_thread::sleep_for(500ms);
            }
            return false;
        };
        auto all_in = [](const std::string& state) {
            return [state](const json& hosts) {
                std::size_t n = 0;
                for (const auto& h : hosts) {
                    n += h.value("management", "") == "managed" && state_text(h) == state ? 1 : 0;
                }
                return n == hosts.size();
            };
        };
        auto host_in = [](const std::string& name, const std::string& state) {
            return [name, state](const json& hosts) {
                for (const auto& h : hosts) {
                    if (h.value("name", "") == name) {
                        return state_text(h) == state;
                    }
                }
                return false;
            };
        };
        // A wait cut short by Ctrl-C says so, not that what it waited for did not happen.
        auto fail = [&](const std::string& what) {
            throw std::runtime_error{interrupted ? "interrupted" : what};
        };
        // Lets `limit` pass, the screen live meanwhile.
        auto pause = [&](std::chrono::milliseconds limit) {
            (void)until([](const json&) { return false; }, limit);
            if (interrupted) {
                fail("interrupted");
            }
        };

        fmt::print("Starting controller-0 and {} host(s) on loopback in {} ...\n", options.hosts,
                   root.string());
        for (auto& h : d.hosts()) {
            d.start(h);
        }
        out.act("1/5 controller-0 starts and adds itself to the inventory (locked)");
        if (!until([](const json& hosts) { return !hosts.empty(); }, 30s)) {
            fail("the controller did not answer");
        }

        out.act("2/5 the hosts are added to the inventory: locked, then online once they report");
        for (const auto& h : d.hosts()) {
            if (h.role == "controller") {
                continue;
            }
            const auto code = d.post("/v1/hosts", {{"name", h.name},
                                                   {"personality", h.role},
                                                   {"mgmt_ip", h.mgmt_ip},
                                                   {"cluster_ip", h.cluster_ip}});
            if (code != 201) {
                fail(fmt::format("adding {} was answered {}", h.name, code));
            }
        }
        if (!until(all_in("locked-disabled-online"), 60s)) {
            fail("the hosts did not all come online");
        }

        out.act("3/5 every host is unlocked: self-tests, host services, heartbeat soak, enabled");
        const auto unlocked_at = steady::now();
        for (const auto& h : d.hosts()) {
            if (d.post("/v1/hosts/" + h.name + "/actions", {{"action", "unlock"}}) != 202) {
                fail("unlocking " + h.name + " was refused");
            }
        }
        if (!until(all_in("unlocked-enabled-available"), 180s)) {
            fail("the hosts were not all enabled within 3 minutes");
        }
        const auto enable_s = std::chrono::duration<double>(steady::now() - unlocked_at).count();
        out.note(fmt::format("{}All {} hosts unlocked-enabled-available {:.1f} s after the unlock.{}", em,
                             d.hosts().size(), enable_s, end));

        const std::string victim = d.hosts().size() > 2 ? d.hosts()[2].name : d.hosts().back().name;
        out.act(fmt::format("4/5 {} dies (kill -9 of its agent): heartbeat loss, graceful recovery, failed",
                            victim));
        std::this_thread::sleep_for(2s);
        const auto killed_at = steady::now();
        demo::stop(d.host(victim), SIGKILL);
        out.note(fmt::format("  {} killed: it answers neither heartbeat nor mtcAlive", victim));
        if (!until(host_in(victim, "unlocked-disabled-failed"), 60s)) {
            fail(victim + " was not failed");
        }
        const auto failed_s = std::chrono::duration<double>(steady::now() - killed_at).count();
        out.note(
            fmt::format("{}{} failed {:.1f} s after it died; the controller waits for it to boot again.{}",
                        em, victim, failed_s, end));
        std::this_thread::sleep_for(4s);
        out.note(fmt::format("  {} is powered on again (a new boot)", victim));
        demo::next_boot(d.host(victim));
        d.start(d.host(victim));
        const auto back_at = steady::now();
        if (!until(host_in(victim, "unlocked-enabled-available"), 120s)) {
            fail(victim + " was not enabled again");
        }
        const auto recovered_s = std::chrono::duration<double>(steady::now() - back_at).count();
        out.note(fmt::format("{}{} unlocked-enabled-available again {:.1f} s after it booted.{}", em, victim,
                             recovered_s, end));
        pause(3s);

        out.act("5/5 the whole site loses power: every host stops at once, then boots again one by one");
        pause(2s);
        watch.watching = true;
        d.power_off_all();
        for (auto& h : d.hosts()) {
            demo::next_boot(h);  // the power comes back as a fresh boot everywhere
        }
        out.note("  The power goes out: every host stops at once, controller-0 too.");
        pause(3s);
        out.note("  The power is back: controller-0 boots first, then the other hosts one by one.");
        d.start(d.host("controller-0"));
        if (!until([](const json& hosts) { return !hosts.empty(); }, 30s)) {
            fail("controller-0 did not answer after the power loss");
        }
        if (!until([&](const json&) { return watch.banner; }, 10s)) {
            fail("controller-0 started again seconds into its boot, but no Dead Office Recovery began");
        }
        // Hosts come back after a power loss at their own pace: a few seconds apart, the last one later.
        const auto others = d.hosts().size() - 1;
        const auto spacing = std::clamp(std::chrono::milliseconds{10s} / static_cast<int>(others),
                                        std::chrono::milliseconds{500ms}, std::chrono::milliseconds{2s});
        steady::time_point last_boot_at;
        for (auto& h : d.hosts()) {
            if (h.role == "controller") {
                continue;
            }
            pause(&h == &d.hosts().back() && others > 1 ? spacing + 3s : spacing);
            d.start(h);
            last_boot_at = steady::now();
            out.note(fmt::format("  {} boots", h.name));
        }
        const auto recovery_limit = std::chrono::seconds{60 + 2 * others};
        const auto recovered = until(
            [&](const json& hosts) {
                return !watch.end.empty() && (watch.timed_out || all_in("unlocked-enabled-available")(hosts));
            },
            recovery_limit);
        if (!recovered) {
            fail(
                watch.end.empty()
                    ? fmt::format("Dead Office Recovery did not complete within {} s of the last host's boot",
                                  recovery_limit.count())
                    : fmt::format("the hosts were not all enabled after the recovery: {}", watch.end));
        }
        if (watch.timed_out) {
            fail(fmt::format("Dead Office Recovery timed out: {}", watch.end));
        }
        const auto dor_s = std::chrono::duration<double>(steady::now() - last_boot_at).count();
        watch.watching = false;
        std::string harm = "no host was failed or rebooted during the recovery";
        if (!watch.failed.empty() || !watch.rebooted.empty()) {
            harm = fmt::format(
                "failed during the recovery: {}; rebooted: {}",
                watch.failed.empty() ? "none" : fmt::format("{}", fmt::join(watch.failed, ", ")),
                watch.rebooted.empty() ? "none" : fmt::format("{}", fmt::join(watch.rebooted, ", ")));
        }
        out.note(
            fmt::format("{}All {} hosts unlocked-enabled-available {:.1f} s after the last one booted; {}.{}",
                        em, d.hosts().size(), dor_s, harm, end));
        pause(3s);
        fmt::print(
            "\nDone: {} hosts enabled {:.1f} s after the unlock; {} failed {:.1f} s after it died and was\n"
            "enabled again {:.1f} s after it booted. After the site's power loss the {} hosts were all "
            "enabled\n"
            "again {:.1f} s after the last one booted; {}. Stopping the agents and removing {}.\n",
            d.hosts().size(), enable_s, victim, failed_s, recovered_s, d.hosts().size(), dor_s, harm,
            root.string());
    } catch (const std::exception& e) {
        fmt::print(stderr, "\nmtce demo: {}\n", e.what());
        status = interrupted ? exit_ok : exit_failed;
        if (!interrupted) {
            // What the controller said last, before its directory goes.
            if (auto log = read_small_file(root / "controller-0" / "agent.log", 1U << 24U)) {
                auto at = log->size();
                for (int lines = 0; at > 0 && lines < 40; --at) {
                    lines += (*log)[at - 1] == '\n' ? 1 : 0;
                }
                fmt::print(stderr, "--- the end of controller-0's log ---\n{}", log->substr(at));
            }
        }
    }
    std::error_code ec;
    fs::remove_all(root, ec);
    return status;
}

}  // namespace mtce::cli
