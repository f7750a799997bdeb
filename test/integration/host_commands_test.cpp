#define BOOST_TEST_MODULE host_commands_test
// The real `mtce agent` carrying out the controller's commands. The test plays the controller on loopback:
// it signs commands with the codec, sends them from 127.0.0.1 (the agent's agent.controllers) to the host's
// addresses, and reads acknowledgements, results and mtcAlive at the networks' controller ports.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include <boost/test/unit_test.hpp>
#include <fmt/format.h>

#include "net/message.hpp"
#include "net/payloads.hpp"
#include "process.hpp"
#include "scratch.hpp"
#include "udp.hpp"

using namespace std::chrono_literals;
using mtce::test::contains;
namespace net = mtce::net;
namespace alive = mtce::net::alive_flags;

namespace {

const std::string key_text = "0123456789abcdef0123456789abcdef\n";
const std::string controller_ip = "127.0.0.1";

/// The addresses of the `index`th host of a test (0 or 1).
std::string mgmt_ip(int index) {
    return fmt::format("127.41.0.{}", 2 + index);
}
std::string cluster_ip(int index) {
    return fmt::format("127.42.0.{}", 2 + index);
}

std::span<const std::byte> bytes(const std::string& s) {
    return std::as_bytes(std::span{s.data(), s.size()});
}

std::string text(std::span<const std::byte> b) {
    return {reinterpret_cast<const char*>(b.data()), b.size()};
}

/// One authenticated message the host sent.
struct received {
    net::message_type type;
    std::string sender;
    std::string payload;
};

/// The controller's port on one network: everything the host sends there (mtcAlive, acks, results).
class controller_port {
public:
    controller_port(std::uint16_t port, std::uint16_t agent_port, std::string agent_ip)
        : socket_{controller_ip, port}, agent_port_{agent_port}, agent_ip_{std::move(agent_ip)} {}

    /// Sends a datagram to the host's command port from this socket (source address 127.0.0.1).
    void send(std::span<const std::byte> datagram) const { socket_.send(datagram, agent_ip_, agent_port_); }

    /// The first message, received now or before and not yet taken, that satisfies `want`; it is taken.
    std::optional<received> wait_for(const std::function<bool(const received&)>& want,
                                     std::chrono::milliseconds limit) {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        for (;;) {
            for (auto it = pending_.begin(); it != pending_.end(); ++it) {
                if (want(*it)) {
                    auto found = *it;
                    pending_.erase(it);
                    return found;
                }
            }
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) {
                return std::nullopt;
            }
            auto datagram = socket_.receive(left);
            if (!datagram) {
                continue;
            }
            auto m = codec_.decode(*datagram);
            BOOST_REQUIRE_MESSAGE(m.has_value(), "the host sent a datagram that does not authenticate");
            pending_.push_back({m->type, std::string{m->sender}, text(m->payload)});
        }
    }

    /// Forgets what arrived so far, and what is queued on the socket.
    void forget() {
        pending_.clear();
        while (socket_.receive(0ms)) {
        }
    }

private:
    mtce::test::udp_socket socket_;
    std::uint16_t agent_port_;
    std::string agent_ip_;
    net::codec codec_{bytes(key_text)};
    std::deque<received> pending_;
};

std::function<bool(const received&)> ack_of(std::uint64_t id) {
    return [id](const received& r) {
        const auto ack = net::parse_command_ack(bytes(r.payload));
        return r.type == net::message_type::command_ack && ack && ack->id == id;
    };
}

std::function<bool(const received&)> result_of(std::uint64_t id) {
    return [id](const received& r) {
        const auto result = net::parse_command_result(bytes(r.payload));
        return r.type == net::message_type::command_result && result && result->id == id;
    };
}

/// An mtcAlive whose flags have every bit of `set` and none of `clear`.
std::function<bool(const received&)> alive_with(std::uint32_t set, std::uint32_t clear = 0) {
    return [set, clear](const received& r) {
        const auto report = net::parse_alive(bytes(r.payload));
        return r.type == net::message_type::mtc_alive && report && (report->flags & set) == set &&
               (report->flags & clear) == 0;
    };
}

bool is_alive(const received& r) {
    return r.type == net::message_type::mtc_alive;
}

/// Signs commands as controller-0, numbering every datagram from one sequence.
struct controller {
    net::codec codec;
    std::uint64_t sequence = 1;
    std::string name = "controller-0";
    std::string target = "worker-0";  ///< the host its commands are for
    std::uint64_t epoch = 1;
    std::uint64_t nonce = 0x5eed;

    explicit controller(const std::string& key = key_text) : codec{bytes(key)} {}

    std::vector<std::byte> datagram(const std::string& payload) {
        std::vector<std::byte> out(net::max_datagram_size);
        const net::message_header header{net::message_type::command, name,
                                         net::parse_boot_id(name + "-boot-1"), 1000, sequence++};
        const auto n = codec.encode(header, bytes(payload), out);
        BOOST_REQUIRE(n.has_value());
        out.resize(*n);
        return out;
    }

    std::vector<std::byte> command(net::command_kind kind, std::uint64_t id, std::uint32_t delay_s = 0,
                                   bool subfunction = false) {
        return datagram(net::to_json(net::command{kind, id, delay_s, subfunction, target, epoch, nonce}));
    }
};

struct ports {
    std::uint16_t base;
    [[nodiscard]] std::uint16_t at(int offset) const { return static_cast<std::uint16_t>(base + offset); }
    [[nodiscard]] std::string network(const std::string& name, const std::string& ip, int offset) const {
        return fmt::format(
            "[network.{}]\naddress = \"{}\"\nagent_port = {}\ncontroller_port = {}\npulse_port = {}\n"
            "pulse_reply_port = {}\n",
            name, ip, at(offset), at(offset + 1), at(offset + 2), at(offset + 3));
    }
};

/// One host agent on 127.41.0.2 (mgmt) and 127.42.0.2 (cluster), and the controller's ports on 127.0.0.1;
/// a second host alive at the same time is worker-1, on 127.41.0.3 and 127.42.0.3, with the next 8 ports.
struct host {
    static inline int live = 0;  ///< hosts of the running test
    int index = live++;
    mtce::test::scratch dir;
    ports p{static_cast<std::uint16_t>(40000 + (::getpid() % 1500) * 16 + index * 8)};
    std::string role;
    std::string hostname;
    std::unique_ptr<controller_port> mgmt;
    std::unique_ptr<controller_port> cluster;
    std::unique_ptr<mtce::test::process> agent;

    /// `role`: worker, or controller for an all-in-one controller (`agent_keys` then name its subfunction).
    /// "@DIR@" in `agent_keys` and `tables` stands for the test directory.
    explicit host(std::string role_name = "worker", const std::string& agent_keys = "",
                  const std::string& tables = "")
        : role{std::move(role_name)},
          hostname{role == "worker" ? fmt::format("worker-{}", index) : "controller-0"} {
        const auto d = dir.path().string();
        const auto here = [&](std::string s) {
            for (auto at = s.find("@DIR@"); at != std::string::npos; at = s.find("@DIR@")) {
                s.replace(at, 5, d);
            }
            return s;
        };
        dir.write("key", key_text, 0600);
        dir.write("boot_id", "boot-1\n");
        std::filesystem::create_directories(dir.path() / "goenabled.d");
        for (const auto* f : {"controller", "worker", "storage"}) {
            std::filesystem::create_directories(dir.path() / "services.d" / f);
        }
        // The commands that would take the machine down only leave a line in the test's directory. When
        // "slow-reset" exists, the reset goes on until "reset-may-end" does (3 s at most).
        dir.script("reboot", fmt::format("echo reboot >> '{}/reboot.log'", d));
        dir.script(
            "reset",
            fmt::format("echo reset >> '{0}/reset.log'\n"
                        "if [ -e '{0}/slow-reset' ]; then\n"
                        "  for i in $(seq 30); do [ -e '{0}/reset-may-end' ] && break; sleep 0.1; done\n"
                        "fi",
                        d));
        dir.write(
            "mtce.toml",
            mtce::test::host_config(
                dir.path(), hostname,
                "drain_timeout = \"2s\"\ncontrollers = [\"" + controller_ip + "\"]\n" + here(agent_keys),
                fmt::format("kill_grace = \"300ms\"\nmtcalive_period = \"60s\"\nfailsafe_delay = \"4s\"\n"
                            "reboot_command = \"'{0}/reboot'\"\nreset_command = \"'{0}/reset'\"\n"
                            "subfunction_config_marker = \"{0}/worker_config_complete\"\n",
                            d),
                "[heartbeat]\nmode = \"unicast\"\n" + p.network("mgmt", mgmt_ip(index), 0) +
                    p.network("cluster", cluster_ip(index), 4) + here(tables)));
        mgmt = std::make_unique<controller_port>(p.at(1), p.at(0), mgmt_ip(index));
        cluster = std::make_unique<controller_port>(p.at(5), p.at(4), cluster_ip(index));
    }

    ~host() {
        if (agent) {
            agent->signal(SIGTERM);
            (void)agent->wait(30s);
        }
        --live;
    }
    host(const host&) = delete;
    host& operator=(const host&) = delete;

    void start() {
        agent = std::make_unique<mtce::test::process>(
            std::vector<std::string>{MTCE_BINARY, "agent", "--role", role, "--config",
                                     (dir.path() / "mtce.toml").string(), "--foreground", "--log-level",
                                     "debug"},
            dir.path() / "agent.out", dir.path() / "agent.err");
    }

    [[nodiscard]] std::string log() const { return dir.read("agent.err"); }

    /// Waits until the agent reports flags with every bit of `set` and none of `clear`, on the management
    /// network; true if it did within `limit`.
    bool reports(std::uint32_t set, std::uint32_t clear = 0, std::chrono::milliseconds limit = 30s) {
        return mgmt->wait_for(alive_with(set, clear), limit).has_value();
    }

    /// Waits until `name` exists in the test directory.
    bool wait_for_file(const std::string& name, std::chrono::milliseconds limit) const {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        while (!dir.exists(name) && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(20ms);
        }
        return dir.exists(name);
    }

    /// Waits until the agent has logged `needle`.
    bool wait_for_log(const std::string& needle, std::chrono::milliseconds limit) const {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        while (!contains(log(), needle) && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(50ms);
        }
        return contains(log(), needle);
    }

    /// Stops the agent and checks that it stopped cleanly.
    void stop() {
        agent->signal(SIGTERM);
        BOOST_TEST(agent->exit_code(30s).value_or(-99) == 0);
        agent.reset();
    }
};

std::optional<net::command_ack> parse_ack(const std::optional<received>& r) {
    if (!r) {
        return std::nullopt;
    }
    auto ack = net::parse_command_ack(bytes(r->payload));
    return ack ? std::optional{*ack} : std::nullopt;
}

std::optional<net::command_result> parse_result(const std::optional<received>& r) {
    if (!r) {
        return std::nullopt;
    }
    auto result = net::parse_command_result(bytes(r->payload));
    return result ? std::optional{*result} : std::nullopt;
}

constexpr auto ready = alive::configured | alive::main_goenabled | alive::healthy;
/// How long to listen for an answer that must not come.
constexpr auto silence = 700ms;

}  // namespace

BOOST_AUTO_TEST_CASE(an_unlock_starts_the_host_services_of_a_host_that_booted_locked_and_a_lock_stops_them) {
    host h;
    h.dir.write("state/admin_state", "locked\n", 0600);
    h.dir.script("services.d/worker/10-svc",
                 fmt::format("echo \"$1\" >> '{}/svc.log'", h.dir.path().string()));
    h.start();
    controller ctl;

    // Booted locked: self-tests passed, no host services.
    BOOST_REQUIRE_MESSAGE(h.reports(ready | alive::locked, alive::main_services_started), h.log());
    BOOST_TEST(!h.dir.exists("run/services_worker"));
    BOOST_TEST(!h.dir.exists("svc.log"));

    // unlock: acknowledged, persisted, and the boot sequence goes on to start the host services.
    h.mgmt->send(ctl.command(net::command_kind::unlock, 1));
    const auto unlock_ack = parse_ack(h.mgmt->wait_for(ack_of(1), 10s));
    BOOST_REQUIRE_MESSAGE(unlock_ack.has_value(), h.log());
    BOOST_TEST(unlock_ack->name == "unlock");
    BOOST_TEST(unlock_ack->error.empty());
    BOOST_TEST(h.dir.read("state/admin_state") == "unlocked\n");
    BOOST_REQUIRE_MESSAGE(h.reports(ready | alive::main_services_started, alive::locked), h.log());
    BOOST_TEST(h.dir.exists("run/services_worker"));
    BOOST_TEST(h.dir.read("svc.log") == "start\n");

    // lock: acknowledged once persisted, then the host services stop and the result says so.
    h.mgmt->send(ctl.command(net::command_kind::lock, 2));
    const auto lock_ack = parse_ack(h.mgmt->wait_for(ack_of(2), 10s));
    BOOST_REQUIRE_MESSAGE(lock_ack.has_value(), h.log());
    BOOST_TEST(lock_ack->name == "lock");
    BOOST_TEST(lock_ack->error.empty());
    BOOST_TEST(h.dir.read("state/admin_state") == "locked\n");
    const auto lock_result = parse_result(h.mgmt->wait_for(result_of(2), 30s));
    BOOST_REQUIRE_MESSAGE(lock_result.has_value(), h.log());
    BOOST_TEST(lock_result->name == "lock");
    BOOST_TEST(lock_result->ok);
    BOOST_TEST(lock_result->reason.empty());
    BOOST_TEST(h.dir.read("svc.log") == "start\nstop\n");
    BOOST_TEST(!h.dir.exists("run/services_worker"));
    BOOST_TEST(h.reports(ready | alive::locked, alive::main_services_started));
    BOOST_TEST(contains(h.log(), "command 'lock' (id 2) from controller-0 on mgmt"));
    h.stop();
}

BOOST_AUTO_TEST_CASE(a_reboot_runs_once_however_often_it_is_sent_and_the_failsafe_resets_a_host_still_up) {
    host h;
    h.start();
    controller ctl;
    BOOST_REQUIRE_MESSAGE(h.reports(ready), h.log());

    // Under another key, or from an address that is not a controller: no answer, nothing done.
    controller impostor{"another key, long enough for hmac\n"};
    h.mgmt->send(impostor.command(net::command_kind::reboot, 1));
    BOOST_TEST(!h.mgmt->wait_for(ack_of(1), silence).has_value());
    const mtce::test::udp_socket elsewhere{"127.0.0.9", 0};
    elsewhere.send(ctl.command(net::command_kind::reboot, 2), mgmt_ip(h.index), h.p.at(0));
    BOOST_TEST(!h.mgmt->wait_for(ack_of(2), silence).has_value());
    BOOST_TEST(!h.dir.exists("reboot.log"));
    BOOST_TEST(!h.dir.exists("reset.log"));

    // The reboot: acknowledged, then host.reboot_command runs.
    const auto reboot = ctl.command(net::command_kind::reboot, 3);
    h.mgmt->send(reboot);
    const auto ack = parse_ack(h.mgmt->wait_for(ack_of(3), 10s));
    BOOST_REQUIRE_MESSAGE(ack.has_value(), h.log());
    BOOST_TEST(ack->name == "reboot");
    BOOST_TEST(ack->error.empty());
    // The same datagram again is a replay: dropped.
    h.mgmt->send(reboot);
    BOOST_TEST(!h.mgmt->wait_for(ack_of(3), silence).has_value());
    // A retransmission (a new datagram with the same id), here on the other network: acknowledged again.
    h.cluster->send(ctl.command(net::command_kind::reboot, 3));
    BOOST_TEST(parse_ack(h.cluster->wait_for(ack_of(3), 10s)).has_value());

    BOOST_REQUIRE_MESSAGE(h.wait_for_file("reboot.log", 20s), h.log());
    // The host is still up host.failsafe_delay after the reboot command started: the failsafe resets it.
    BOOST_REQUIRE_MESSAGE(h.wait_for_file("reset.log", 20s), h.log());
    BOOST_TEST(contains(h.log(), "reboot requested by controller-0: running '"));
    BOOST_TEST(contains(h.log(), "failsafe"));
    // Once more, after all that: still acknowledged, still not run again.
    h.mgmt->send(ctl.command(net::command_kind::reboot, 3));
    BOOST_TEST(parse_ack(h.mgmt->wait_for(ack_of(3), 10s)).has_value());
    h.stop();
    BOOST_TEST(h.dir.read("reboot.log") == "reboot\n");
    BOOST_TEST(h.dir.read("reset.log") == "reset\n");
    // The first drop is logged at once with its reason; later ones at most every 10 s.
    BOOST_TEST(
        contains(h.dir.read("agent.err"), "commands: 1 datagram(s) dropped: bad_mac=1 (1 since start)"));
}

BOOST_AUTO_TEST_CASE(
    a_reset_runs_at_once_and_once_mtcalive_is_answered_at_once_and_unknown_commands_refused) {
    host h;
    h.dir.write("slow-reset", "");
    h.start();
    controller ctl;
    BOOST_REQUIRE_MESSAGE(h.reports(ready | alive::main_services_started), h.log());

    // mtcalive: no acknowledgement, an mtcAlive at once (the period is a minute).
    h.mgmt->forget();
    h.cluster->forget();
    h.mgmt->send(ctl.command(net::command_kind::mtcalive, 1));
    BOOST_TEST(h.mgmt->wait_for(is_alive, 5s).has_value());
    BOOST_TEST(h.cluster->wait_for(is_alive, 5s).has_value());  // on every network
    BOOST_TEST(!h.mgmt->wait_for(ack_of(1), silence).has_value());

    // An unsupported command is acknowledged with the reason.
    h.mgmt->send(ctl.datagram(R"({"command":"wipedisk","id":2})"));
    const auto refused = parse_ack(h.mgmt->wait_for(ack_of(2), 10s));
    BOOST_REQUIRE_MESSAGE(refused.has_value(), h.log());
    BOOST_TEST(refused->name == "wipedisk");
    BOOST_TEST(contains(refused->error, "unsupported command"));

    // reset, twice with one id and once more with another while it runs: one reset.
    h.mgmt->send(ctl.command(net::command_kind::reset, 3));
    BOOST_REQUIRE_MESSAGE(parse_ack(h.mgmt->wait_for(ack_of(3), 10s)).has_value(), h.log());
    BOOST_REQUIRE_MESSAGE(h.wait_for_file("reset.log", 20s), h.log());
    h.mgmt->send(ctl.command(net::command_kind::reset, 3));
    BOOST_TEST(parse_ack(h.mgmt->wait_for(ack_of(3), 10s)).has_value());
    h.mgmt->send(ctl.command(net::command_kind::reset, 4));  // the reset command is still running
    BOOST_TEST(parse_ack(h.mgmt->wait_for(ack_of(4), 10s)).has_value());
    h.dir.write("reset-may-end", "");
    BOOST_TEST(h.wait_for_log("' ended: ok", 20s));
    h.stop();
    BOOST_TEST(h.dir.read("reset.log") == "reset\n");
    BOOST_TEST(!h.dir.exists("reboot.log"));
    BOOST_TEST(contains(h.dir.read("agent.err"), "already in progress"));
}

BOOST_AUTO_TEST_CASE(goenabled_on_request_names_a_failing_self_test_in_its_result_and_in_mtcalive) {
    host h;
    h.dir.script("goenabled.d/10-check",
                 fmt::format("if [ -e '{}/broken' ]; then echo 'disk on fire' >&2; exit 3; fi",
                             h.dir.path().string()));
    h.start();
    controller ctl;
    BOOST_REQUIRE_MESSAGE(h.reports(ready), h.log());

    // A worker has no subfunction to test.
    h.mgmt->send(ctl.command(net::command_kind::goenabled, 1, 0, /*subfunction=*/true));
    const auto refused = parse_ack(h.mgmt->wait_for(ack_of(1), 10s));
    BOOST_REQUIRE_MESSAGE(refused.has_value(), h.log());
    BOOST_TEST(refused->error == "this host has no worker subfunction");
    BOOST_TEST(!h.mgmt->wait_for(result_of(1), silence).has_value());

    h.dir.write("broken", "");
    h.mgmt->send(ctl.command(net::command_kind::goenabled, 2));
    const auto ack = parse_ack(h.mgmt->wait_for(ack_of(2), 10s));
    BOOST_REQUIRE_MESSAGE(ack.has_value(), h.log());
    BOOST_TEST(ack->error.empty());
    const auto result = parse_result(h.mgmt->wait_for(result_of(2), 30s));
    BOOST_REQUIRE_MESSAGE(result.has_value(), h.log());
    BOOST_TEST(result->name == "goenabled");
    BOOST_TEST(!result->ok);
    BOOST_TEST(contains(result->reason, "10-check: exit code 3"));

    const auto report = h.mgmt->wait_for(alive_with(alive::main_goenabled_failed | alive::not_healthy), 10s);
    BOOST_REQUIRE_MESSAGE(report.has_value(), h.log());
    const auto parsed = net::parse_alive(bytes(report->payload));
    BOOST_REQUIRE(parsed.has_value());
    BOOST_TEST(contains(parsed->failure, "10-check: exit code 3"));
    h.stop();
}

BOOST_AUTO_TEST_CASE(an_all_in_one_controller_runs_its_subfunction_self_tests_on_request) {
    // No [[controller.hosts]]: the controller role runs, monitoring nobody; its API on a port of this test's.
    const auto api_port = static_cast<std::uint16_t>(40000 + (::getpid() % 1500) * 16 + 8);
    host h{"controller", "subfunctions = [\"worker\"]",
           fmt::format("[controller]\napi_listen = \"127.0.0.1:{}\"\nstate_dir = \"@DIR@/ctl\"\n"
                       "api_socket = \"@DIR@/api.sock\"\n",
                       api_port)};
    h.dir.write("worker_config_complete", "");
    h.dir.script("goenabled.d/10-check",
                 fmt::format("echo \"$MTCE_CONTEXT\" >> '{}/tests.log'", h.dir.path().string()));
    h.start();
    controller ctl;
    ctl.target = "controller-0";
    // The boot runs both functions' self-tests and starts both functions' host services.
    BOOST_REQUIRE_MESSAGE(h.reports(ready | alive::subf_goenabled | alive::main_services_started |
                                    alive::subf_services_started),
                          h.log());

    h.mgmt->send(ctl.command(net::command_kind::goenabled, 1, 0, /*subfunction=*/true));
    const auto ack = parse_ack(h.mgmt->wait_for(ack_of(1), 10s));
    BOOST_REQUIRE_MESSAGE(ack.has_value(), h.log());
    BOOST_TEST(ack->error.empty());
    const auto result = parse_result(h.mgmt->wait_for(result_of(1), 30s));
    BOOST_REQUIRE_MESSAGE(result.has_value(), h.log());
    BOOST_TEST(result->ok);
    BOOST_TEST(h.dir.read("tests.log") == "main\nsubfunction\nsubfunction\n");

    // A lazy reboot: acknowledged at once, carried out after its delay. The agent stopped during the
    // failsafe's wait (as a real reboot stops it) runs no reset.
    h.mgmt->send(ctl.command(net::command_kind::reboot, 2, /*delay_s=*/2));
    BOOST_REQUIRE_MESSAGE(parse_ack(h.mgmt->wait_for(ack_of(2), 10s)).has_value(), h.log());
    BOOST_TEST(!h.dir.exists("reboot.log"));
    BOOST_REQUIRE_MESSAGE(h.wait_for_file("reboot.log", 20s), h.log());
    BOOST_TEST(contains(h.log(), "reboot requested by controller-0: rebooting in 2s"));
    h.stop();
    BOOST_TEST(!h.dir.exists("reset.log"));
}

// ---- commands bound to their host, their epoch and their order ----

BOOST_AUTO_TEST_CASE(a_command_captured_on_its_way_to_one_host_is_not_carried_out_by_another) {
    host worker_0;
    host worker_1;
    BOOST_REQUIRE(worker_1.hostname == "worker-1");
    worker_0.start();
    worker_1.start();
    BOOST_REQUIRE_MESSAGE(worker_0.reports(ready), worker_0.log());
    BOOST_REQUIRE_MESSAGE(worker_1.reports(ready), worker_1.log());
    controller ctl;  // its commands are for worker-0

    // The controller reboots worker-0; the datagram is captured on its way.
    const auto captured = ctl.command(net::command_kind::reboot, 5);
    worker_0.mgmt->send(captured);
    const auto ack = parse_ack(worker_0.mgmt->wait_for(ack_of(5), 10s));
    BOOST_REQUIRE_MESSAGE(ack.has_value(), worker_0.log());
    BOOST_TEST(ack->nonce == ctl.nonce);
    BOOST_REQUIRE_MESSAGE(worker_0.wait_for_file("reboot.log", 10s), worker_0.log());

    // Replayed at worker-1 (from a controller's address, as a forger on the network can): dropped, counted,
    // not answered, not carried out.
    worker_1.mgmt->send(captured);
    worker_1.cluster->send(captured);
    BOOST_TEST(!worker_1.mgmt->wait_for(ack_of(5), silence).has_value());
    BOOST_TEST(!worker_1.cluster->wait_for(ack_of(5), 0ms).has_value());
    BOOST_TEST_INFO("worker-1 log: " << worker_1.log());
    BOOST_TEST(worker_1.wait_for_log("wrong_target=", 5s));
    BOOST_TEST(!worker_1.dir.exists("reboot.log"));
    BOOST_TEST(!contains(worker_1.log(), "command 'reboot'"));
    worker_0.stop();
    worker_1.stop();
}

BOOST_AUTO_TEST_CASE(a_command_replayed_at_a_restarted_agent_of_the_same_boot_is_not_carried_out_again) {
    host h;
    h.start();
    BOOST_REQUIRE_MESSAGE(h.reports(ready), h.log());
    controller ctl;
    const auto captured = ctl.command(net::command_kind::reboot, 5);
    h.mgmt->send(captured);
    BOOST_REQUIRE_MESSAGE(parse_ack(h.mgmt->wait_for(ack_of(5), 10s)).has_value(), h.log());
    BOOST_REQUIRE_MESSAGE(h.wait_for_file("reboot.log", 10s), h.log());
    // Recorded before it was carried out.
    BOOST_TEST(h.dir.read("state/command_fence") == "epoch 1\nid 5\n");
    h.stop();  // the reboot "did not happen": the same boot goes on with a new agent

    h.mgmt->forget();
    h.start();
    BOOST_REQUIRE_MESSAGE(h.reports(ready), h.log());
    h.mgmt->send(captured);
    h.cluster->send(captured);
    BOOST_TEST(!h.mgmt->wait_for(ack_of(5), silence).has_value());
    BOOST_TEST_INFO("agent log: " << h.log());
    BOOST_TEST(h.wait_for_log("old_id=", 5s));
    BOOST_TEST(h.dir.read("reboot.log") == "reboot\n");
    // The controller's next command is carried out.
    h.mgmt->send(ctl.command(net::command_kind::goenabled, 6));
    BOOST_TEST_MESSAGE("next command acknowledged");
    BOOST_REQUIRE_MESSAGE(parse_ack(h.mgmt->wait_for(ack_of(6), 10s)).has_value(), h.log());
    h.stop();
}

BOOST_AUTO_TEST_CASE(a_command_of_a_lower_epoch_is_refused_once_a_higher_one_was_seen_even_after_a_restart) {
    host h;
    h.start();
    BOOST_REQUIRE_MESSAGE(h.reports(ready), h.log());
    // Two controllers: controller-1 was active in epoch 4, controller-0 is in epoch 5.
    controller old_term;
    old_term.name = "controller-1";
    old_term.epoch = 4;
    // Captured during the old term, never delivered (a high id, too).
    const auto captured = old_term.command(net::command_kind::reboot, 1'000'000);
    controller new_term;
    new_term.epoch = 5;
    new_term.nonce = 0xfeed;
    h.mgmt->send(new_term.command(net::command_kind::lock, 1));
    const auto ack = parse_ack(h.mgmt->wait_for(ack_of(1), 10s));
    BOOST_REQUIRE_MESSAGE(ack.has_value(), h.log());
    BOOST_TEST(ack->nonce == 0xfeedU);
    BOOST_TEST(h.dir.read("state/command_fence") == "epoch 5\nid 1\n");

    h.mgmt->send(captured);
    BOOST_TEST(!h.mgmt->wait_for(ack_of(1'000'000), silence).has_value());
    BOOST_TEST_INFO("agent log: " << h.log());
    BOOST_TEST(h.wait_for_log("stale_epoch=1", 5s));
    BOOST_TEST(!h.dir.exists("reboot.log"));

    // The highest epoch is durable: a restarted agent refuses the old term's commands too.
    h.stop();
    h.mgmt->forget();  // so that only the new agent's report says it is up
    h.start();
    BOOST_REQUIRE_MESSAGE(h.reports(ready | alive::locked), h.log());
    h.cluster->send(captured);
    BOOST_TEST(!h.cluster->wait_for(ack_of(1'000'000), silence).has_value());
    BOOST_TEST_INFO("agent log: " << h.log());
    BOOST_TEST(h.wait_for_log("stale_epoch=1", 5s));
    BOOST_TEST(!h.dir.exists("reboot.log"));
    h.stop();
}
