// The IPMI driver against a real BMC simulator (ipmi_sim, through the real ipmitool): every operation and its
// effect on the simulated power, refused credentials, a BMC that stops answering (SIGSTOP) while the event
// loop keeps running, ipmitool killed at the deadline, garbage output, and the password kept off every
// command line and out of every message.
#define BOOST_TEST_MODULE ipmi_test
#include <boost/test/unit_test.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/co_spawn.hpp>
#include <asio/error.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/use_future.hpp>

#include "bmc/ipmi.hpp"
#include "ipmi_sim.hpp"
#include "run_awaitable.hpp"
#include "scratch.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;
using mtce::bmc::errc;
using mtce::bmc::power_state;
using mtce::test::contains;
using mtce::test::ipmi_sim_bmc;
using mtce::test::run_awaitable;

namespace {

constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);
const fs::path ipmitool = "/usr/bin/ipmitool";

/// A quick timing for a BMC on loopback: one exchange takes ~0.1 s against ipmi_sim.
mtce::bmc::timing quick(std::chrono::milliseconds request_timeout = 3s, std::uint32_t retries = 1) {
    return mtce::bmc::timing{request_timeout, retries, 100ms};
}

mtce::bmc::endpoint endpoint_of(const ipmi_sim_bmc& sim) {
    return mtce::bmc::endpoint{sim.address(), sim.port(), sim.settings().user, sim.settings().password, true};
}

/// ipmi_sim does not answer Get Channel Cipher Suites: name the suite, or every run waits that out.
mtce::bmc::ipmi_options suite_3() {
    mtce::bmc::ipmi_options o;
    o.cipher_suite = 3;
    return o;
}

std::unique_ptr<mtce::bmc::driver> driver_for(asio::any_io_executor ex, const mtce::bmc::endpoint& bmc,
                                              mtce::bmc::timing t, const fs::path& tool = ipmitool) {
    return mtce::bmc::make_ipmi_driver(std::move(ex), bmc, t, tool, suite_3());
}

/// A /proc file, or what could be read of it before its process exited (never throws).
std::string read_proc(const std::string& path) {
    std::string text;
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return text;
    }
    char buffer[4096];
    for (;;) {
        ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n <= 0) {
            break;
        }
        text.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return text;
}

/// Every running process's pid and raw /proc/<pid>/cmdline (arguments separated by NULs).
std::vector<std::pair<std::string, std::string>> command_lines() {
    std::vector<std::pair<std::string, std::string>> all;
    DIR* proc = ::opendir("/proc");
    if (proc == nullptr) {
        return all;
    }
    while (const dirent* entry = ::readdir(proc)) {
        std::string name = entry->d_name;
        if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) {
            continue;
        }
        all.emplace_back(name, read_proc("/proc/" + name + "/cmdline"));
    }
    ::closedir(proc);
    return all;
}

/// Whether an ipmitool run against `port` is alive.
bool ipmitool_running_against(std::uint16_t port) {
    const std::string marker = std::string("-p") + '\0' + std::to_string(port) + '\0';
    for (const auto& [pid, cmdline] : command_lines()) {
        if (contains(cmdline, "ipmitool") && contains(cmdline, marker)) {
            return true;
        }
    }
    return false;
}

/// Counts its ticks until `done`: proves the event loop keeps running while a driver waits.
asio::awaitable<void> tick(const bool& done, int& ticks, std::chrono::milliseconds period) {
    auto ex = co_await asio::this_coro::executor;
    asio::steady_timer timer{ex};
    while (!done) {
        timer.expires_after(period);
        co_await timer.async_wait(use_tuple);
        ++ticks;
    }
}

std::size_t occurrences(const std::string& text, const std::string& part) {
    std::size_t n = 0;
    for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + part.size())) {
        ++n;
    }
    return n;
}

/// Runs `op` on a fresh loop, cancels it (terminal) after `after`; returns how long it took to end and the
/// exception it ended with.
std::pair<std::chrono::milliseconds, std::exception_ptr> cancelled_after(
    std::chrono::milliseconds after, std::function<asio::awaitable<void>()> op) {
    asio::io_context io;
    asio::cancellation_signal cancel;
    std::exception_ptr error;
    bool ended = false;
    auto started = clock_type::now();
    std::chrono::milliseconds took{0};
    asio::co_spawn(io, op(), asio::bind_cancellation_slot(cancel.slot(), [&](std::exception_ptr e) {
                       ended = true;
                       error = e;
                       took =
                           std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - started);
                   }));
    asio::steady_timer timer{io, after};
    timer.async_wait([&](std::error_code) {
        if (!ended) {
            cancel.emit(asio::cancellation_type::terminal);
        }
    });
    io.run();
    BOOST_TEST_REQUIRE(ended);
    return {took, error};
}

bool is_operation_aborted(std::exception_ptr e) {
    try {
        if (e) {
            std::rethrow_exception(e);
        }
    } catch (const asio::system_error& ex) {
        return ex.code() == asio::error::operation_aborted;
    } catch (...) {
    }
    return false;
}

template <typename T>
std::string describe(const mtce::bmc::result<T>& r) {
    if (r) {
        return "success";
    }
    return std::string{mtce::bmc::to_string(r.error().code)} + ": " + r.error().message;
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_operation_reaches_the_bmc_and_changes_the_simulated_power) {
    mtce::test::scratch dir;
    ipmi_sim_bmc sim{dir.path() / "bmc", {}};
    run_awaitable([&]() -> asio::awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        auto bmc = driver_for(ex, endpoint_of(sim), quick());
        BOOST_TEST(bmc->protocol() == "ipmi");

        auto caps = co_await bmc->probe();
        BOOST_TEST_REQUIRE(caps.has_value(), describe(caps));
        const std::vector<std::string> types{"On", "ForceOff", "PowerCycle", "ForceRestart"};
        BOOST_TEST(caps->reset_types == types, boost::test_tools::per_element());
        BOOST_TEST(caps->boot_override);

        auto power = co_await bmc->power();
        BOOST_TEST_REQUIRE(power.has_value(), describe(power));
        BOOST_TEST((*power == power_state::on));

        auto off = co_await bmc->power_off();
        BOOST_TEST_REQUIRE(off.has_value(), describe(off));
        BOOST_TEST(sim.power() == "off");
        auto now_off = co_await bmc->power();
        BOOST_TEST((now_off.value() == power_state::off));

        auto pxe = co_await bmc->boot_pxe_once();
        BOOST_TEST_REQUIRE(pxe.has_value(), describe(pxe));
        BOOST_TEST(contains(sim.chassis_log(), "set boot pxe"));

        auto on = co_await bmc->power_on();
        BOOST_TEST_REQUIRE(on.has_value(), describe(on));
        BOOST_TEST(sim.power() == "on");
        BOOST_TEST(contains(sim.chassis_log(), "hook on boot=pxe"));  // the override was used by this start
        auto now_on = co_await bmc->power();
        BOOST_TEST((now_on.value() == power_state::on));

        auto reset = co_await bmc->reset();
        BOOST_TEST_REQUIRE(reset.has_value(), describe(reset));
        BOOST_TEST(contains(sim.chassis_log(), "hook reset boot=none"));  // ... and only by that one
        BOOST_TEST(sim.power() == "on");

        // A cycle: off now, on again once ipmi_sim's one-second timer sees it off.
        const auto stops_before = occurrences(sim.chassis_log(), "hook off");
        const auto starts_before = occurrences(sim.chassis_log(), "hook on");
        auto cycle = co_await bmc->power_cycle();
        BOOST_TEST_REQUIRE(cycle.has_value(), describe(cycle));
        BOOST_TEST(occurrences(sim.chassis_log(), "hook off") == stops_before + 1);
        asio::steady_timer pause{ex};
        const auto limit = clock_type::now() + 5s;
        while (clock_type::now() < limit && occurrences(sim.chassis_log(), "hook on") == starts_before) {
            pause.expires_after(100ms);
            co_await pause.async_wait(use_tuple);
        }
        BOOST_TEST(occurrences(sim.chassis_log(), "hook on") == starts_before + 1, sim.chassis_log());
        auto cycled = co_await bmc->power();
        BOOST_TEST((cycled.value() == power_state::on));
    }());
}

BOOST_AUTO_TEST_CASE(a_wrong_password_or_user_is_refused_credentials_at_once_without_retries) {
    mtce::test::scratch dir;
    ipmi_sim_bmc sim{dir.path() / "bmc", {}};
    run_awaitable([&]() -> asio::awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        auto wrong_password = endpoint_of(sim);
        wrong_password.password = "Not-The-Pw.1";
        auto started = clock_type::now();
        auto refused_password = driver_for(ex, wrong_password, quick(3s, 3));
        auto power = co_await refused_password->power();
        BOOST_TEST_REQUIRE(!power.has_value());
        BOOST_TEST_MESSAGE(describe(power));
        BOOST_TEST((power.error().code == errc::auth), describe(power));
        BOOST_TEST(contains(power.error().message, "RAKP"), power.error().message);
        BOOST_TEST(!contains(power.error().message, "attempts"), "refused credentials are not retried");
        BOOST_TEST(!contains(power.error().message, wrong_password.password));
        BOOST_TEST((clock_type::now() - started < 2s));

        auto wrong_user = endpoint_of(sim);
        wrong_user.username = "intruder";
        auto refused_user = driver_for(ex, wrong_user, quick());
        auto reset = co_await refused_user->reset();
        BOOST_TEST_REQUIRE(!reset.has_value());
        BOOST_TEST_MESSAGE(describe(reset));
        BOOST_TEST((reset.error().code == errc::auth), describe(reset));
        BOOST_TEST(contains(reset.error().message, "unauthorized name"), reset.error().message);
    }());
    BOOST_TEST(sim.power() == "on");
    BOOST_TEST(!contains(sim.chassis_log(), "reset"));
}

BOOST_AUTO_TEST_CASE(a_bmc_that_stops_answering_is_unreachable_after_the_retries_while_the_loop_runs_on) {
    mtce::test::scratch dir;
    ipmi_sim_bmc sim{dir.path() / "bmc", {}};
    sim.freeze();
    asio::io_context io;
    bool done = false;
    int ticks = 0;
    mtce::bmc::result<void> outcome;
    std::chrono::milliseconds took{0};
    auto work = asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            // -N 1 -R 1: ipmitool gives up by itself after ~2 s; two attempts with 100 ms between them.
            auto ex = co_await asio::this_coro::executor;
            auto bmc = driver_for(ex, endpoint_of(sim), quick(3s, 1));
            auto started = clock_type::now();
            auto off = co_await bmc->power_off();
            outcome = std::move(off);
            took = std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - started);
            done = true;
        },
        asio::use_future);
    auto ticker = asio::co_spawn(io, tick(done, ticks, 50ms), asio::use_future);
    io.run();
    work.get();
    ticker.get();
    sim.thaw();

    BOOST_TEST_REQUIRE(!outcome.has_value());
    BOOST_TEST_MESSAGE(describe(outcome));
    BOOST_TEST((outcome.error().code == errc::unreachable), describe(outcome));
    BOOST_TEST(contains(outcome.error().message, "after 2 attempts"), outcome.error().message);
    BOOST_TEST(contains(outcome.error().message, "Get Auth Capabilities"), outcome.error().message);
    BOOST_TEST(took.count() >= 3500, "two runs of ~2 s each, took " << took.count() << " ms");
    BOOST_TEST(took.count() < 6000, "bounded by retries x request_timeout, took " << took.count() << " ms");
    BOOST_TEST(ticks >= static_cast<int>(took.count() / 50) / 2,
               ticks << " ticks in " << took.count() << " ms");
    BOOST_TEST(sim.power() == "on");
}

BOOST_AUTO_TEST_CASE(an_ipmitool_that_outlives_the_request_timeout_is_killed_and_reported_as_a_timeout) {
    mtce::test::scratch dir;
    ipmi_sim_bmc sim{dir.path() / "bmc", {}};
    sim.freeze();
    auto started = clock_type::now();
    // -N 1: ipmitool alone would wait ~2 s; the deadline kills it after 1.2 s, twice.
    auto outcome = run_awaitable([&]() -> asio::awaitable<mtce::bmc::result<power_state>> {
        auto ex = co_await asio::this_coro::executor;
        auto bmc = driver_for(ex, endpoint_of(sim), quick(1200ms, 1));
        auto power = co_await bmc->power();
        co_return power;
    }());
    auto took = clock_type::now() - started;
    sim.thaw();
    BOOST_TEST_REQUIRE(!outcome.has_value());
    BOOST_TEST_MESSAGE(describe(outcome));
    BOOST_TEST((outcome.error().code == errc::timeout), describe(outcome));
    BOOST_TEST(contains(outcome.error().message, "after 2 attempts"), outcome.error().message);
    BOOST_TEST((took >= 2400ms && took < 5s),
               std::chrono::duration_cast<std::chrono::milliseconds>(took).count());
    BOOST_TEST(!ipmitool_running_against(sim.port()), "the killed ipmitool is gone");
}

BOOST_AUTO_TEST_CASE(a_cancelled_operation_kills_its_ipmitool_at_once) {
    mtce::test::scratch dir;
    ipmi_sim_bmc sim{dir.path() / "bmc", {}};
    sim.freeze();
    auto [took, error] = cancelled_after(300ms, [&]() -> asio::awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        auto bmc = driver_for(ex, endpoint_of(sim), quick(10s, 3));
        auto off = co_await bmc->power_off();
        BOOST_TEST(false, "not cancelled: " << describe(off));
    });
    sim.thaw();
    BOOST_TEST(is_operation_aborted(error));
    BOOST_TEST(took.count() < 1500, took.count() << " ms");
    BOOST_TEST(!ipmitool_running_against(sim.port()), "the cancelled ipmitool is gone");
    BOOST_TEST(sim.power() == "on");
}

BOOST_AUTO_TEST_CASE(a_cancelled_operation_ends_during_its_backoff) {
    mtce::test::scratch dir;
    const auto calls = dir.path() / "calls";
    // A BMC that never answers, at once: every run is unreachable, and the driver pauses 10 s between them.
    const auto fake = dir.script(
        "ipmitool", "echo run >> '" + calls.string() + "'\necho 'Get Auth Capabilities error' >&2\nexit 1");
    mtce::bmc::endpoint bmc{"127.0.0.1", 9, "admin", "pw", true};
    auto [took, error] = cancelled_after(300ms, [&]() -> asio::awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        auto driver = driver_for(ex, bmc, mtce::bmc::timing{3s, 5, 10s}, fake);
        auto reset = co_await driver->reset();
        BOOST_TEST(false, "not cancelled: " << describe(reset));
    });
    BOOST_TEST(is_operation_aborted(error));
    BOOST_TEST(took.count() < 1500, took.count() << " ms");
    BOOST_TEST(mtce::test::read_file(calls) == "run\n", "one run, then the pause was cancelled");
}

BOOST_AUTO_TEST_CASE(the_password_is_in_ipmitools_environment_never_on_any_command_line) {
    mtce::test::scratch dir;
    ipmi_sim_bmc sim{dir.path() / "bmc", {}};
    const std::string password = sim.settings().password;
    sim.freeze();  // ipmitool waits for the silent BMC: ~2 s to look at it while it runs
    asio::io_context io;
    bool done = false;
    int scans = 0;
    int seen_running = 0;
    bool in_environment = false;
    std::vector<std::string> leaks;
    mtce::bmc::result<power_state> outcome;
    auto work = asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            auto ex = co_await asio::this_coro::executor;
            auto bmc = driver_for(ex, endpoint_of(sim), quick(3s, 0));
            auto power = co_await bmc->power();
            outcome = std::move(power);
            done = true;
        },
        asio::use_future);
    auto scanner = asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            auto ex = co_await asio::this_coro::executor;
            asio::steady_timer timer{ex};
            const std::string marker = std::string("-p") + '\0' + std::to_string(sim.port()) + '\0';
            while (!done) {
                ++scans;
                for (const auto& [pid, cmdline] : command_lines()) {
                    if (contains(cmdline, password)) {
                        leaks.push_back(pid + ": " + cmdline);
                    }
                    if (contains(cmdline, "ipmitool") && contains(cmdline, marker)) {
                        ++seen_running;
                        in_environment =
                            in_environment || contains(read_proc("/proc/" + pid + "/environ"),
                                                       std::string("IPMI_PASSWORD=") + password + '\0');
                    }
                }
                timer.expires_after(10ms);
                co_await timer.async_wait(use_tuple);
            }
        },
        asio::use_future);
    io.run();
    work.get();
    scanner.get();
    sim.thaw();

    BOOST_TEST(leaks.empty(), "the password on a command line: " << (leaks.empty() ? "" : leaks.front()));
    BOOST_TEST(seen_running > 3, "ipmitool seen in " << seen_running << " of " << scans << " scans");
    BOOST_TEST(in_environment, "ipmitool gets the password as IPMI_PASSWORD");
    BOOST_TEST_REQUIRE(!outcome.has_value());
    BOOST_TEST(!contains(outcome.error().message, password));
}

BOOST_AUTO_TEST_CASE(garbage_from_ipmitool_is_a_bad_answer_quoted_without_the_password_and_not_retried) {
    mtce::test::scratch dir;
    const auto calls = dir.path() / "calls";
    // Prints nonsense, its arguments and its environment, and exits 0.
    const auto fake = dir.script("ipmitool", "echo run >> '" + calls.string() +
                                                 "'\necho 'Chassis Power is sideways'\n"
                                                 "echo \"args: $*\"\necho \"IPMI_PASSWORD=$IPMI_PASSWORD\"");
    mtce::bmc::endpoint bmc{"127.0.0.1", 9, "admin", "Fake-Pw.99", true};
    auto outcome = run_awaitable([&]() -> asio::awaitable<mtce::bmc::result<power_state>> {
        auto ex = co_await asio::this_coro::executor;
        auto driver = driver_for(ex, bmc, quick(3s, 3), fake);
        auto power = co_await driver->power();
        co_return power;
    }());
    BOOST_TEST_REQUIRE(!outcome.has_value());
    BOOST_TEST_MESSAGE(describe(outcome));
    BOOST_TEST((outcome.error().code == errc::bad_answer), describe(outcome));
    BOOST_TEST(contains(outcome.error().message, "Chassis Power is sideways"), outcome.error().message);
    BOOST_TEST(contains(outcome.error().message, "IPMI_PASSWORD=****"), outcome.error().message);
    BOOST_TEST(!contains(outcome.error().message, "Fake-Pw.99"), outcome.error().message);
    BOOST_TEST(mtce::test::read_file(calls) == "run\n", "a bad answer is not retried");

    // The same for a control command.
    auto reset = run_awaitable([&]() -> asio::awaitable<mtce::bmc::result<void>> {
        auto ex = co_await asio::this_coro::executor;
        auto driver = driver_for(ex, bmc, quick(), fake);
        auto done = co_await driver->reset();
        co_return done;
    }());
    BOOST_TEST_REQUIRE(!reset.has_value());
    BOOST_TEST((reset.error().code == errc::bad_answer), describe(reset));
}

BOOST_AUTO_TEST_CASE(a_missing_ipmitool_is_refused_with_its_path) {
    mtce::bmc::endpoint bmc{"127.0.0.1", 9, "admin", "pw", true};
    auto outcome = run_awaitable([&]() -> asio::awaitable<mtce::bmc::result<mtce::bmc::capabilities>> {
        auto ex = co_await asio::this_coro::executor;
        auto driver = driver_for(ex, bmc, quick(), "/nonexistent/ipmitool");
        auto caps = co_await driver->probe();
        co_return caps;
    }());
    BOOST_TEST_REQUIRE(!outcome.has_value());
    BOOST_TEST((outcome.error().code == errc::refused), describe(outcome));
    BOOST_TEST(contains(outcome.error().message, "/nonexistent/ipmitool"), outcome.error().message);
}

BOOST_AUTO_TEST_CASE(ipmi_sim_needs_no_privilege) {
    if (::geteuid() != 0) {
        BOOST_TEST_MESSAGE("not root: every other case already ran ipmi_sim unprivileged");
        return;
    }
    mtce::test::scratch dir;
    ipmi_sim_bmc::options o;
    o.as_nobody = true;
    o.power_on = false;
    ipmi_sim_bmc sim{dir.path(), o};
    std::string owner = mtce::test::read_file("/proc/" + std::to_string(sim.pid()) + "/status");
    BOOST_TEST(contains(owner, "\nUid:\t65534\t"), owner.substr(0, 400));
    auto power = run_awaitable([&]() -> asio::awaitable<mtce::bmc::result<void>> {
        auto ex = co_await asio::this_coro::executor;
        auto bmc = driver_for(ex, endpoint_of(sim), quick());
        auto on = co_await bmc->power_on();
        co_return on;
    }());
    BOOST_TEST(power.has_value(), describe(power));
    BOOST_TEST(sim.power() == "on");
}
