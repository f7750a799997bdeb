#define BOOST_TEST_MODULE redfish_test
// The Redfish driver against test/bmc/redfish-sim on 127.0.0.1, over HTTPS with a throwaway CA: discovery,
// power, resets and the boot override with their effect on the simulated system; sessions; TLS trust; the
// faults (5xx, slow, hung, 401, garbage, oversized, a reset that changes nothing); deadlines, retries and
// cancellation with the event loop kept responsive; no password in any error. Then redfishtool against the
// sim, to show that the sim is shaped like Redfish, and the mtce binary, which must not link libcurl.
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <future>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <asio/co_spawn.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/use_future.hpp>
#include <nlohmann/json.hpp>

#include "bmc/http_client.hpp"
#include "bmc/redfish.hpp"
#include "process.hpp"
#include "scratch.hpp"

using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;
using clock_type = std::chrono::steady_clock;
using mtce::bmc::errc;
using mtce::bmc::power_state;
using mtce::test::contains;
using nlohmann::json;

namespace {

constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);
const std::string user = "operator";
// Distinctive, so that it is found wherever it leaks.
const std::string password = "Pw-7f3a-never-shown";
const std::filesystem::path sim_program = std::filesystem::path{MTCE_SOURCE_DIR} / "test/bmc/redfish-sim";

/// A CA and a server certificate for 127.0.0.1 signed by it, and another CA that signed nothing here; made
/// once for the whole test program with the openssl command.
struct pki {
    mtce::test::scratch dir;
    std::filesystem::path ca, server_cert, server_key, other_ca;

    pki() {
        const auto d = dir.path();
        ca = d / "ca.crt";
        server_cert = d / "server.crt";
        server_key = d / "server.key";
        other_ca = d / "other-ca.crt";
        const std::vector<std::string> ec{"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                                          "-nodes"};
        auto args = [&ec](std::vector<std::string> head, std::vector<std::string> tail) {
            head.insert(head.end(), ec.begin(), ec.end());
            head.insert(head.end(), tail.begin(), tail.end());
            return head;
        };
        dir.write("ext.cnf",
                  "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
                  "extendedKeyUsage=serverAuth\n");
        openssl(args({"/usr/bin/openssl", "req", "-x509"},
                     {"-keyout", (d / "ca.key").string(), "-out", ca.string(), "-days", "2", "-subj",
                      "/CN=mtce test CA"}));
        openssl(args({"/usr/bin/openssl", "req", "-x509"},
                     {"-keyout", (d / "other-ca.key").string(), "-out", other_ca.string(), "-days", "2",
                      "-subj", "/CN=mtce other CA"}));
        openssl(args({"/usr/bin/openssl", "req"}, {"-keyout", server_key.string(), "-out",
                                                   (d / "server.csr").string(), "-subj", "/CN=127.0.0.1"}));
        openssl({"/usr/bin/openssl", "x509", "-req", "-in", (d / "server.csr").string(), "-CA", ca.string(),
                 "-CAkey", (d / "ca.key").string(), "-set_serial", "1", "-days", "2", "-out",
                 server_cert.string(), "-extfile", (d / "ext.cnf").string()});
    }

    void openssl(const std::vector<std::string>& argv) const {
        const auto r = mtce::test::run_command(argv, dir.path(), 30s);
        if (r.exit_code != 0) {
            throw std::runtime_error{"openssl failed: " + r.err};
        }
    }
};

const pki& certificates() {
    static const pki p;
    return p;
}

/// One redfish-sim process, with its control (faults) and state files.
class sim {
public:
    explicit sim(std::vector<std::string> options = {}) {
        const auto& c = certificates();
        std::vector<std::string> argv{sim_program.string(),
                                      "--cert",
                                      c.server_cert.string(),
                                      "--key",
                                      c.server_key.string(),
                                      "--user",
                                      user,
                                      "--password",
                                      password,
                                      "--control",
                                      control().string(),
                                      "--state",
                                      state_file().string()};
        argv.insert(argv.end(), options.begin(), options.end());
        proc_ = std::make_unique<mtce::test::process>(argv, dir_.path() / "out", dir_.path() / "err");
        const auto deadline = clock_type::now() + 10s;
        for (;;) {
            const auto out = dir_.read("out");
            if (out.find('\n') != std::string::npos) {
                port_ = static_cast<std::uint16_t>(std::stoi(out));
                break;
            }
            if (clock_type::now() > deadline || proc_->exit_code(0ms)) {
                throw std::runtime_error{"redfish-sim did not start: " + dir_.read("err")};
            }
            std::this_thread::sleep_for(20ms);
        }
    }
    ~sim() {
        proc_->signal(SIGTERM);
        if (!proc_->wait(5s)) {
            proc_->signal(SIGKILL);
        }
    }
    sim(const sim&) = delete;
    sim& operator=(const sim&) = delete;

    [[nodiscard]] std::uint16_t port() const { return port_; }
    [[nodiscard]] const mtce::test::scratch& dir() const { return dir_; }

    /// Replaces the faults (written whole, then renamed: the sim never reads half a file).
    void faults(const json& f) const {
        dir_.write("control.tmp", f.dump());
        std::filesystem::rename(dir_.path() / "control.tmp", control());
    }

    [[nodiscard]] json state() const { return json::parse(dir_.read("state.json")); }

    [[nodiscard]] mtce::bmc::endpoint endpoint() const {
        mtce::bmc::endpoint ep;
        ep.address = "127.0.0.1";
        ep.port = port_;
        ep.username = user;
        ep.password = password;
        return ep;
    }

private:
    [[nodiscard]] std::filesystem::path control() const { return dir_.path() / "control.json"; }
    [[nodiscard]] std::filesystem::path state_file() const { return dir_.path() / "state.json"; }

    mtce::test::scratch dir_;
    std::unique_ptr<mtce::test::process> proc_;
    std::uint16_t port_ = 0;
};

/// Short timing for tests: 2 s per exchange, 2 retries 20 ms apart.
mtce::bmc::timing quick() {
    mtce::bmc::timing t;
    t.request_timeout = 2s;
    t.retries = 2;
    t.backoff = 20ms;
    return t;
}

/// An event loop with the controller's http_client; drives one coroutine at a time to its end.
struct loop {
    explicit loop(std::filesystem::path ca_file = certificates().ca)
        : client{io.get_executor(), std::move(ca_file)} {}

    template <class T>
    T run(asio::awaitable<T> op) {
        auto done = asio::co_spawn(io, std::move(op), asio::use_future);
        const auto deadline = clock_type::now() + 60s;
        while (done.wait_for(0s) != std::future_status::ready) {
            if (clock_type::now() > deadline) {
                throw std::runtime_error{"the operation did not end within 60 s"};
            }
            io.restart();
            (void)io.run_one_for(50ms);
        }
        return done.get();
    }

    /// Runs the loop until no transfer is left (a logout nobody waits for), at most `limit`.
    void drain(std::chrono::milliseconds limit = 3s) {
        const auto deadline = clock_type::now() + limit;
        while (client.in_flight() > 0 && clock_type::now() < deadline) {
            io.restart();
            (void)io.run_one_for(50ms);
        }
    }

    asio::io_context io;
    mtce::bmc::http_client client;
};

/// Checks what every error must be: the expected kind, a message, and no password in it.
void check_error(const mtce::bmc::error& e, errc expected) {
    BOOST_TEST_MESSAGE("error: " << mtce::bmc::to_string(e.code) << " (" << e.http_status
                                 << "): " << e.message);
    BOOST_TEST(mtce::bmc::to_string(e.code) == mtce::bmc::to_string(expected));
    BOOST_TEST(!e.message.empty());
    BOOST_TEST(!contains(e.message, password), "the password appears in: " << e.message);
}

template <class T>
void expect_error(const mtce::bmc::result<T>& r, errc expected) {
    BOOST_REQUIRE_MESSAGE(!r.has_value(), "expected an error (" << mtce::bmc::to_string(expected) << ")");
    check_error(r.error(), expected);
}

template <class T>
void expect_ok(const mtce::bmc::result<T>& r) {
    BOOST_REQUIRE_MESSAGE(
        r.has_value(),
        (r ? std::string{} : std::string{mtce::bmc::to_string(r.error().code)} + ": " + r.error().message));
}

/// Waits until `pred` holds (a power hook runs after the answer), at most `limit`.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = 5s) {
    const auto deadline = clock_type::now() + limit;
    while (!pred()) {
        if (clock_type::now() > deadline) {
            return false;
        }
        std::this_thread::sleep_for(20ms);
    }
    return true;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(discovery)

BOOST_AUTO_TEST_CASE(probe_learns_the_reset_types_and_the_boot_override) {
    sim bmc;
    loop l;
    auto d = mtce::bmc::make_redfish_driver(l.client, bmc.endpoint(), quick());
    BOOST_TEST(d->protocol() == "redfish");
    const auto caps = l.run(d->probe());
    expect_ok(caps);
    const std::vector<std::string> expected{
        "On", "ForceOff", "GracefulShutdown", "GracefulRestart", "ForceRestart", "PowerCycle"};
    BOOST_TEST(caps->reset_types == expected, boost::test_tools::per_element());
    BOOST_TEST(caps->boot_override);
    const auto p = l.run(d->power());
    expect_ok(p);
    BOOST_TEST((*p == power_state::on));
}

BOOST_AUTO_TEST_CASE(reset_types_are_learned_from_the_action_info) {
    sim bmc{{"--action-info", "--reset-types", "On,ForceOff,ForceRestart"}};
    loop l;
    auto d = mtce::bmc::make_redfish_driver(l.client, bmc.endpoint(), quick());
    const auto caps = l.run(d->probe());
    expect_ok(caps);
    BOOST_TEST(caps->reset_types == (std::vector<std::string>{"On", "ForceOff", "ForceRestart"}),
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_bmc_that_advertises_no_reset_types_is_unsupported_and_never_sent_one) {
    sim bmc{{"--reset-types", ""}};
    loop l;
    auto d = mtce::bmc::make_redfish_driver(l.client, bmc.endpoint(), quick());
    const auto caps = l.run(d->probe());
    expect_error(caps, errc::unsupported);
    BOOST_TEST(contains(caps.error().message, "no reset types"));
    const auto off = l.run(d->power_off());
    expect_error(off, errc::unsupported);
    BOOST_TEST(contains(off.error().message, "offers none"));
    BOOST_TEST(bmc.state()["resets"].empty());
    BOOST_TEST(bmc.state()["reset_requests"].empty());  // not even tried
    // The power is still readable.
    const auto p = l.run(d->power());
    expect_ok(p);
    BOOST_TEST((*p == power_state::on));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(power)

BOOST_AUTO_TEST_CASE(power_off_on_cycle_reset_and_pxe_boot_change_the_simulated_system) {
    mtce::test::scratch hook_dir;
    const auto hook =
        hook_dir.script("hook", "echo \"$1\" >> '" + (hook_dir.path() / "calls").string() + "'");
    sim bmc{{"--power-hook", hook.string()}};
    loop l;
    auto d = mtce::bmc::make_redfish_driver(l.client, bmc.endpoint(), quick());

    expect_ok(l.run(d->power_off()));
    BOOST_TEST(bmc.state()["power"] == "Off");
    const auto off = l.run(d->power());
    expect_ok(off);
    BOOST_TEST((*off == power_state::off));

    expect_ok(l.run(d->power_on()));
    BOOST_TEST(bmc.state()["power"] == "On");
    expect_ok(l.run(d->power_cycle()));
    expect_ok(l.run(d->reset()));
    BOOST_TEST(bmc.state()["resets"] == json({"ForceOff", "On", "PowerCycle", "ForceRestart"}));

    expect_ok(l.run(d->boot_pxe_once()));
    BOOST_TEST(bmc.state()["boot"] == json({{"enabled", "Once"}, {"target", "Pxe"}}));

    BOOST_TEST(eventually([&] { return hook_dir.read("calls") == "off\non\nreset\nreset\n"; }),
               "power hook calls: " << hook_dir.read("calls"));
}

BOOST_AUTO_TEST_CASE(force_on_and_graceful_restart_are_used_when_they_are_all_that_is_offered) {
    sim bmc{{"--reset-types", "ForceOn,ForceOff,GracefulRestart", "--power", "Off"}};
    loop l;
    auto d = mtce::bmc::make_redfish_driver(l.client, bmc.endpoint(), quick());
    expect_ok(l.run(d->power_on()));
    expect_ok(l.run(d->reset()));
    BOOST_TEST(bmc.state()["resets"] == json({"ForceOn", "GracefulRestart"}));
    const auto cycle = l.run(d->power_cycle());
    expect_error(cycle, errc::unsupported);
    BOOST_TEST(contains(cycle.error().message, "PowerCycle"));
    BOOST_TEST(contains(cycle.error().message, "ForceOn, ForceOff, GracefulRestart"));
    BOOST_TEST(bmc.state()["resets"].size() == 2U);
    BOOST_TEST(bmc.state()["reset_requests"] ==
               json({"ForceOn", "GracefulRestart"}));  // PowerCycle never sent
}

BOOST_AUTO_TEST_CASE(a_reset_the_bmc_accepts_but_ignores_is_a_success_that_power_then_contradicts) {
    // The driver reports what the BMC answered; the controller verifies the outcome with power().
    sim bmc;
    loop l;
    auto d = mtce::bmc::make_redfish_driver(l.client, bmc.endpoint(), quick());
    expect_ok(l.run(d->probe()));
    bmc.faults({{"ignore_power", true}, {"only", "Actions"}});
    expect_ok(l.run(d->power_off()));
    const auto p = l.run(d->power());
    expect_ok(p);
    BOOST_TEST((*p == power_state::on));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(authentication)

BOOST_AUTO_TEST_CASE(a_wrong_password_is_an_auth_error_without_the_password) {
    sim bmc{{"--no-basic-auth"}};  // the session login is tried too, and refused
    loop l;
    auto ep = bmc.endpoint();
    ep.password = "Wrong-" + password;
    auto d = mtce::bmc::make_redfish_driver(l.client, ep, quick());
    const auto caps = l.run(d->probe());
    expect_error(caps, errc::auth);
    BOOST_TEST(caps.error().http_status == 401);
    BOOST_TEST(!contains(caps.error().message, ep.password));
}

BOOST_AUTO_TEST_CASE(a_bmc_that_refuses_basic_authentication_gets_a_session_logged_out_at_the_end) {
    sim bmc{{"--no-basic-auth"}};
    loop l;
    {
        auto d = mtce::bmc::make_redfish_driver(l.client, bmc.endpoint(), quick());
        expect_ok(l.run(d->probe()));
        expect_ok(l.run(d->power_off()));
        BOOST_TEST(bmc.state()["power"] == "Off");
        BOOST_TEST(bmc.state()["logins"] == 1);
        BOOST_TEST(bmc.state()["sessions"] == 1);
    }
    l.drain();
    BOOST_TEST(bmc.state()["logouts"] == 1);
    BOOST_TEST(bmc.state()["sessions"] == 0);
}

BOOST_AUTO_TEST_CASE(a_bmc_that_answers_401_to_everything_is_an_auth_error) {
    sim bmc;
    bmc.faults({{"unauthorized", true}});
    loop l;
    auto d = mtce::bmc::make_redfish_driver(l.client, bmc.endpoint(), quick());
    const auto caps = l.run(d->probe());
    expect_error(caps, errc::auth);
    BOOST_TEST(caps.error().http_status == 401);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(tls)

BOOST_AUTO_TEST_CASE(a_certificate_from_another_ca_is_a_tls_error) {
    sim bmc;
    loop l{certificates().other_ca};
    auto d = mtce::bmc::make_redfish_driver(l.client, bmc.endpoint(), quick());
    const auto caps = l.run(d->probe());
    expect_error(caps, errc::tls);
    BOOST_TEST(bmc.state()["requests"] == 0);
}

BOOST_AUTO_TEST_CASE(without_verification_the_same_bmc_is_reached) {
    sim bmc;
    loop l{certificates().other_ca};
    auto ep = bmc.endpoint();
    ep.verify_tls = false;
    auto d = mtce::bmc::make_redfish_driver(l.client, ep, quick());
    expect_ok(l.run(d->probe()));
}

BOOST_AUTO_TEST_CASE(the_system_store_does_not_trust_the_test_ca) {
    sim bmc;
    loop l{std::filesystem::path{}};
    auto d = mtce::bmc::make_redfish_driver(l.client, bmc.endpoint(), quick());
    expect_error(l.run(d->power()), errc::tls);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(faults)

BOOST_AUTO_TEST_CASE(server_errors_are_retried_and_the_bmc_recovers_within_the_retries) {
    sim bmc;
    loop l;
    auto d = mtce::bmc::make_redfish_driver(l.client, bmc.endpoint(), quick());
    expect_ok(l.run(d->probe()));
    bmc.faults({{"status", 503}, {"count", 2}});
    const auto p = l.run(d->power());
    expect_ok(p);
    BOOST_TEST(bmc.state()["faults_served"] == 2);
}

BOOST_AUTO_TEST_CASE(server_errors_beyond_the_retries_are_refused_with_the_status_and_the_bmcs_message) {
    sim bmc;
    loop l;
    auto d = mtce::bmc::make_redfish_driver(l.client, bmc.endpoint(), quick());
    bmc.faults({{"status", 503}});
    const auto caps = l.run(d->probe());
    expect_error(caps, errc::refused);
    BOOST_TEST(caps.error().http_status == 503);
    BOOST_TEST(contains(caps.error().message, "The service is temporarily unavailable."));
    BOOST_TEST(contains(caps.error().message, "3 attempts"));
    BOOST_TEST(bmc.state()["faults_served"] == 3);
}

BOOST_AUTO_TEST_CASE(client_errors_are_not_retried) {
    sim bmc;
    loop l;
    auto d = mtce::bmc::make_redfish_driver(l.client, bmc.endpoint(), quick());
    expect_ok(l.run(d->probe()));
    bmc.faults({{"status", 409}, {"only", "Actions"}});
    const auto off = l.run(d->power_off());
    expect_error(off, errc::refused);
    BOOST_TEST(off.error().http_status == 409);
    BOOST_TEST(bmc.state()["faults_served"] == 1);
}

BOOST_AUTO_TEST_CASE(slow_answers_within_the_deadline_succeed) {
    sim bmc;
    loop l;
    auto d = mtce::bmc::make_redfish_driver(l.client, bmc.endpoint(), quick());
    bmc.faults({{"delay_ms", 300}});
    const auto start = clock_type::now();
    expect_ok(l.run(d->probe()));
    BOOST_TEST((clock_type::now() - start >= 900ms));  // root, Systems, the system: 300 ms each
    BOOST_TEST(bmc.state()["faults_served"] == 3);
}

BOOST_AUTO_TEST_CASE(a_hung_bmc_times_out_after_each_attempt_while_the_loop_keeps_running) {
    sim bmc;
    loop l;
    auto t = quick();
    t.request_timeout = 500ms;
    t.retries = 1;
    t.backoff = 50ms;
    auto d = mtce::bmc::make_redfish_driver(l.client, bmc.endpoint(), t);
    bmc.faults({{"hang", true}});

    int ticks = 0;
    bool stop = false;
    auto ticker = [&]() -> asio::awaitable<void> {
        asio::steady_timer timer{co_await asio::this_coro::executor};
        while (!stop) {
            timer.expires_after(20ms);
            co_await timer.async_wait(use_tuple);
            ++ticks;
        }
    };
    auto measured = [&]() -> asio::awaitable<mtce::bmc::result<power_state>> {
        auto r = co_await d->power();
        stop = true;
        co_return r;
    };
    auto tick_task = asio::co_spawn(l.io, ticker(), asio::use_future);
    const auto start = clock_type::now();
    const auto p = l.run(measured());
    const auto elapsed = clock_type::now() - start;
    const int ticked = ticks;
    expect_error(p, errc::timeout);
    BOOST_TEST_MESSAGE("hung BMC: " << std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count()
                                    << " ms, " << ticked << " ticks of 20 ms");
    BOOST_TEST((elapsed >= 1000ms));  // two attempts of 500 ms
    BOOST_TEST((elapsed < 2500ms));
    BOOST_TEST(ticked >= 35);  // ~52 if the loop never stalled
    BOOST_TEST(contains(p.error().message, "2 attempts"));
    bmc.faults(json::object());
    while (tick_task.wait_for(0s) != std::future_status::ready) {
        l.io.restart();
        (void)l.io.run_one_for(50ms);
    }
}

BOOST_AUTO_TEST_CASE(a_reset_whose_answer_is_lost_is_not_sent_again_but_a_power_off_is) {
    sim bmc;
    loop l;
    auto t = quick();
    t.request_timeout = 500ms;
    t.retries = 2;
    t.backoff = 50ms;
    auto d = mtce::bmc::make_redfish_driver(l.client, bmc.endpoint(), t);
    expect_ok(l.run(d->probe()));
    // The request reaches the BMC and no answer comes back: a restart may have happened; it must not happen
    // twice.
    bmc.faults({{"hang", true}, {"only", "Actions"}});
    const auto reset = l.run(d->reset());
    expect_error(reset, errc::timeout);
    BOOST_TEST(!contains(reset.error().message, "attempts"), reset.error().message);
    BOOST_TEST(bmc.state()["faults_served"] == 1);
    // ForceOff leaves the same state however often it runs: it goes again.
    bmc.faults(json::object());  // lets the held reset go
    bmc.faults({{"hang", true}, {"only", "Actions"}, {"count", 1}});
    const auto off = l.run(d->power_off());
    expect_ok(off);
    BOOST_TEST(bmc.state()["faults_served"] == 2);  // one held reset, one held power-off, then the retry
    BOOST_TEST(bmc.state().value("power", "") == "Off");
    bmc.faults(json::object());
}

BOOST_AUTO_TEST_CASE(cancelling_a_request_to_a_hung_bmc_ends_it_at_once) {
    sim bmc;
    loop l;
    auto d = mtce::bmc::make_redfish_driver(l.client, bmc.endpoint(), quick());
    expect_ok(l.run(d->probe()));
    bmc.faults({{"hang", true}});
    auto raced = [&]() -> asio::awaitable<int> {
        asio::steady_timer limit{co_await asio::this_coro::executor, 200ms};
        auto first = co_await (d->power() || limit.async_wait(use_tuple));
        co_return static_cast<int>(first.index());
    };
    const auto start = clock_type::now();
    BOOST_TEST(l.run(raced()) == 1);
    BOOST_TEST((clock_type::now() - start < 1s));
    BOOST_TEST(l.client.in_flight() == 0U);
    bmc.faults(json::object());
    // The driver is still usable afterwards.
    expect_ok(l.run(d->power()));
}

BOOST_AUTO_TEST_CASE(garbage_json_is_a_bad_answer) {
    sim bmc;
    loop l;
    auto d = mtce::bmc::make_redfish_driver(l.client, bmc.endpoint(), quick());
    bmc.faults({{"garbage", true}});
    expect_error(l.run(d->probe()), errc::bad_answer);
    bmc.faults(json::object());
    expect_ok(l.run(d->probe()));
    bmc.faults({{"garbage", true}, {"only", "Systems/1"}});
    const auto p = l.run(d->power());
    expect_error(p, errc::bad_answer);
    BOOST_TEST(contains(p.error().message, "GET /redfish/v1/Systems/1: "));
}

BOOST_AUTO_TEST_CASE(an_answer_over_1_mib_is_a_bad_answer) {
    sim bmc;
    loop l;
    auto d = mtce::bmc::make_redfish_driver(l.client, bmc.endpoint(), quick());
    bmc.faults({{"huge", true}});
    const auto caps = l.run(d->probe());
    expect_error(caps, errc::bad_answer);
    BOOST_TEST(contains(caps.error().message, "1 MiB"));
}

BOOST_AUTO_TEST_CASE(a_port_nobody_listens_on_is_unreachable_after_the_retries) {
    loop l;
    mtce::bmc::endpoint ep;
    ep.address = "127.0.0.1";
    ep.port = 1;
    ep.username = user;
    ep.password = password;
    auto d = mtce::bmc::make_redfish_driver(l.client, ep, quick());
    const auto start = clock_type::now();
    expect_error(l.run(d->power_on()), errc::unreachable);
    BOOST_TEST((clock_type::now() - start < 1s));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(figures)

BOOST_AUTO_TEST_CASE(a_power_query_on_a_kept_connection_costs_little) {
    sim bmc;
    loop l;
    auto d = mtce::bmc::make_redfish_driver(l.client, bmc.endpoint(), quick());
    auto start = clock_type::now();
    expect_ok(l.run(d->probe()));
    const auto first = clock_type::now() - start;
    constexpr int n = 50;
    start = clock_type::now();
    for (int i = 0; i < n; ++i) {
        expect_ok(l.run(d->power()));
    }
    const auto each = (clock_type::now() - start) / n;
    BOOST_TEST_MESSAGE("probe (connection, TLS handshake, 3 GETs): "
                       << std::chrono::duration_cast<std::chrono::microseconds>(first).count()
                       << " us; power() on the kept connection: "
                       << std::chrono::duration_cast<std::chrono::microseconds>(each).count() << " us each");
    BOOST_TEST((each < 200ms));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(peers)

BOOST_AUTO_TEST_CASE(redfishtool_reads_the_sim_and_powers_it_off) {
    // redfishtool 1.1.5 never verifies certificates (it passes verify=False to python-requests, with no
    // option for a CA), so it trusts the sim's test CA without being told.
    sim bmc;
    const auto base = std::vector<std::string>{"/usr/bin/redfishtool",
                                               "-r",
                                               "127.0.0.1:" + std::to_string(bmc.port()),
                                               "-u",
                                               user,
                                               "-p",
                                               password,
                                               "-S",
                                               "Always"};
    auto with = [&base](std::vector<std::string> tail) {
        auto argv = base;
        argv.insert(argv.end(), tail.begin(), tail.end());
        return argv;
    };
    const auto root = mtce::test::run_command(with({"root"}), bmc.dir().path(), 30s);
    BOOST_TEST(root.exit_code == 0, root.err);
    BOOST_TEST(json::parse(root.out)["RedfishVersion"] == "1.15.0");
    const auto system = mtce::test::run_command(with({"Systems", "get"}), bmc.dir().path(), 30s);
    BOOST_TEST(system.exit_code == 0, system.err);
    BOOST_TEST(json::parse(system.out)["PowerState"] == "On");
    const auto off = mtce::test::run_command(with({"-A", "Session", "Systems", "reset", "ForceOff"}),
                                             bmc.dir().path(), 30s);
    BOOST_TEST(off.exit_code == 0, off.err);
    BOOST_TEST(bmc.state()["power"] == "Off");
    BOOST_TEST(bmc.state()["logouts"] == 1);
}

BOOST_AUTO_TEST_CASE(the_mtce_binary_does_not_link_libcurl) {
    mtce::test::scratch dir;
    const auto r = mtce::test::run_command({"/usr/bin/readelf", "-d", MTCE_BINARY}, dir.path(), 30s);
    BOOST_TEST(r.exit_code == 0, r.err);
    BOOST_TEST(contains(r.out, "NEEDED"));
    BOOST_TEST(!contains(r.out, "libcurl"), r.out);
}

BOOST_AUTO_TEST_SUITE_END()
