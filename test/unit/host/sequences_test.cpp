#define BOOST_TEST_MODULE host_sequences_test
#include "host/agent.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/use_future.hpp>
#include <boost/test/unit_test.hpp>
#include <fmt/format.h>

#include "core/files.hpp"
#include "scratch.hpp"

using namespace std::chrono_literals;
using mtce::role;
using mtce::host::context;
using mtce::host::service_action;
using mtce::test::contains;

namespace {

/// A host in a scratch directory: config, scripts, flags; an io_context to drive the agent.
struct host_fixture {
    mtce::test::scratch dir;
    asio::io_context io;
    std::unique_ptr<mtce::config_store> store;
    std::unique_ptr<mtce::task_set> tasks;

    /// `agent_keys` are added to the [agent] table, e.g. the subfunctions of an all-in-one controller.
    explicit host_fixture(role self = role::worker, const std::string& agent_keys = {}) {
        dir.write("key", "0123456789abcdef0123456789abcdef\n", 0600);
        dir.write("boot_id", "boot-1\n");
        std::filesystem::create_directories(dir.path() / "goenabled.d");
        for (const auto* f : {"controller", "worker", "storage"}) {
            std::filesystem::create_directories(dir.path() / "services.d" / f);
        }
        configure(self, agent_keys);
    }

    void configure(role self, const std::string& agent_keys) {
        const auto text = mtce::test::host_config(
            dir.path(), "host-0", agent_keys,
            "goenabled_timeout = \"20s\"\nservices_timeout = \"20s\"\nkill_grace = \"200ms\"\n"
            "subfunction_config_marker = \"" +
                dir.path().string() +
                "/run/.worker_config_complete\"\n"
                "subfunction_config_timeout = \"20s\"");
        auto cfg = mtce::parse_config(text, "test.toml", self);
        if (!cfg) {
            throw std::runtime_error{cfg.error().front().to_string()};
        }
        store = std::make_unique<mtce::config_store>(dir.path() / "unused.toml", self, std::move(*cfg));
        tasks = std::make_unique<mtce::task_set>(io.get_executor());
    }

    /// Changes the configuration in force, e.g. to shorten a deadline for one test.
    template <typename Change>
    void adjust(Change change) {
        auto cfg = *store->current();
        change(cfg);
        store = std::make_unique<mtce::config_store>(dir.path() / "unused.toml", cfg.self, std::move(cfg));
    }

    std::unique_ptr<mtce::host::host_agent> agent() {
        auto a = std::make_unique<mtce::host::host_agent>(io.get_executor(), *store, *tasks);
        auto error = a->prepare();
        BOOST_REQUIRE_MESSAGE(!error, error.value_or(""));
        return a;
    }

    template <typename T>
    T run(asio::awaitable<T> body) {
        auto f = asio::co_spawn(io, std::move(body), asio::use_future);
        io.restart();
        io.run();
        return f.get();
    }

    /// A script that appends `line` to the log, so tests can see what ran and in which order.
    void logging_script(const std::string& name, const std::string& line, const std::string& tail = "") {
        dir.script(name, fmt::format("echo \"{}\" >> '{}/log'\n{}", line, dir.path().string(), tail));
    }

    [[nodiscard]] std::vector<std::string> log() const {
        std::vector<std::string> lines;
        const auto text = dir.read("log");
        std::size_t start = 0;
        while (start < text.size()) {
            auto nl = text.find('\n', start);
            lines.push_back(text.substr(start, nl - start));
            start = nl + 1;
        }
        return lines;
    }
};

}  // namespace

BOOST_AUTO_TEST_CASE(goenabled_passes_when_every_script_exits_zero_and_writes_the_pass_flag) {
    host_fixture h;
    h.dir.script("goenabled.d/10-a", "exit 0");
    h.dir.script("goenabled.d/20-b", "echo fine");
    auto agent = h.agent();
    auto report = h.run(agent->goenabled(context::main));
    BOOST_TEST(report.outcome.passed);
    BOOST_TEST(report.runs.size() == 2u);
    BOOST_TEST(h.dir.exists("run/goenabled"));
    BOOST_TEST(!h.dir.exists("run/goenabled_failed"));
    const auto flag = h.dir.read("run/goenabled");
    BOOST_TEST(contains(flag, "result=passed\n"));
    BOOST_TEST(contains(flag, "function=worker\n"));
    BOOST_TEST(contains(flag, "boot_id=boot-1\n"));
    BOOST_TEST(contains(flag, "/goenabled.d/10-a ok\n"));
}

BOOST_AUTO_TEST_CASE(one_failing_script_fails_the_host_and_the_flag_names_it_and_its_exit_code) {
    host_fixture h;
    h.dir.script("goenabled.d/10-a", "exit 0");
    h.dir.script("goenabled.d/20-disk", "echo 'sda: smart failure' >&2; exit 4");
    auto agent = h.agent();
    auto report = h.run(agent->goenabled(context::main));
    BOOST_TEST(!report.outcome.passed);
    BOOST_TEST(report.outcome.reason == "20-disk: exit code 4");
    BOOST_TEST(!h.dir.exists("run/goenabled"));
    const auto flag = h.dir.read("run/goenabled_failed");
    BOOST_TEST(contains(flag, "result=failed\nreason=20-disk: exit code 4\n"));
}

BOOST_AUTO_TEST_CASE(a_hanging_script_is_killed_at_its_deadline_and_recorded_as_timed_out) {
    host_fixture h;
    h.dir.script("goenabled.d/10-hang", "trap '' TERM; sleep 60");
    h.adjust([](mtce::config& cfg) { cfg.host.goenabled_timeout = 500ms; });
    auto agent = h.agent();
    const auto start = std::chrono::steady_clock::now();
    auto report = h.run(agent->goenabled(context::main));
    const auto took = std::chrono::steady_clock::now() - start;
    BOOST_TEST(!report.outcome.passed);
    BOOST_REQUIRE_EQUAL(report.runs.size(), 1u);
    BOOST_TEST(report.runs[0].result.timed_out);
    BOOST_TEST(contains(report.outcome.reason, "10-hang: timed out"));
    BOOST_TEST(contains(h.dir.read("run/goenabled_failed"), "reason=10-hang: timed out"));
    BOOST_TEST((took < 10s));
}

BOOST_AUTO_TEST_CASE(a_non_executable_file_is_skipped_with_a_warning_and_does_not_fail_the_host) {
    host_fixture h;
    h.dir.script("goenabled.d/10-a", "exit 0");
    h.dir.write("goenabled.d/20-readme", "not a script\n", 0644);
    auto agent = h.agent();
    auto report = h.run(agent->goenabled(context::main));
    BOOST_TEST(report.outcome.passed);
    BOOST_TEST(report.skipped.size() == 1u);
    BOOST_TEST(contains(h.dir.read("run/goenabled"), "20-readme not executable"));
}

BOOST_AUTO_TEST_CASE(an_empty_goenabled_directory_passes) {
    host_fixture h;
    auto agent = h.agent();
    auto report = h.run(agent->goenabled(context::main));
    BOOST_TEST(report.outcome.passed);
    BOOST_TEST(h.dir.exists("run/goenabled"));
}

BOOST_AUTO_TEST_CASE(a_missing_goenabled_directory_fails_with_a_clear_reason) {
    host_fixture h;
    std::filesystem::remove_all(h.dir.path() / "goenabled.d");
    auto agent = h.agent();
    auto report = h.run(agent->goenabled(context::main));
    BOOST_TEST(!report.outcome.passed);
    BOOST_TEST(contains(report.outcome.reason, "cannot read directory"));
    BOOST_TEST(contains(h.dir.read("run/goenabled_failed"), "No such file or directory"));
}

BOOST_AUTO_TEST_CASE(self_tests_run_in_parallel_five_one_second_scripts_take_well_under_five_seconds) {
    host_fixture h;
    for (int i = 0; i < 5; ++i) {
        h.dir.script(fmt::format("goenabled.d/{}0-sleep", i), "sleep 1");
    }
    auto agent = h.agent();
    const auto start = std::chrono::steady_clock::now();
    auto report = h.run(agent->goenabled(context::main));
    const auto took = std::chrono::steady_clock::now() - start;
    BOOST_TEST(report.outcome.passed);
    BOOST_TEST(report.runs.size() == 5u);
    BOOST_TEST_MESSAGE("five 1 s self-tests took "
                       << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms");
    BOOST_TEST((took < 3500ms));
}

BOOST_AUTO_TEST_CASE(host_services_start_in_name_order_and_stop_in_reverse) {
    host_fixture h;
    h.logging_script("services.d/worker/20-runtime", "20 $1");
    h.logging_script("services.d/worker/10-network", "10 $1");
    h.logging_script("services.d/worker/30-kubelet", "30 $1");
    auto agent = h.agent();
    auto started = h.run(agent->services(role::worker, service_action::start));
    BOOST_TEST(started.outcome.passed);
    BOOST_TEST(h.dir.exists("run/services_worker"));
    auto stopped = h.run(agent->services(role::worker, service_action::stop));
    BOOST_TEST(stopped.outcome.passed);
    BOOST_TEST(!h.dir.exists("run/services_worker"));
    const std::vector<std::string> expected{"10 start", "20 start", "30 start",
                                            "30 stop",  "20 stop",  "10 stop"};
    BOOST_TEST(h.log() == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_failing_host_service_stops_the_start_and_is_recorded_for_its_function) {
    host_fixture h;
    h.logging_script("services.d/worker/10-network", "10 $1");
    h.logging_script("services.d/worker/20-runtime", "20 $1", "exit 1");
    h.logging_script("services.d/worker/30-kubelet", "30 $1");
    auto agent = h.agent();
    auto report = h.run(agent->services(role::worker, service_action::start));
    BOOST_TEST(!report.outcome.passed);
    BOOST_TEST(report.outcome.reason == "20-runtime: exit code 1");
    const std::vector<std::string> expected{"10 start", "20 start"};
    BOOST_TEST(h.log() == expected, boost::test_tools::per_element());
    BOOST_TEST(!h.dir.exists("run/services_worker"));
    BOOST_TEST(contains(h.dir.read("run/services_worker_failed"), "reason=20-runtime: exit code 1"));
}

BOOST_AUTO_TEST_CASE(boot_runs_goenabled_then_host_services_and_no_services_after_a_failed_self_test) {
    host_fixture h;
    h.logging_script("goenabled.d/10-test", "goenabled $MTCE_FUNCTION $MTCE_CONTEXT");
    h.logging_script("services.d/worker/10-svc", "services $MTCE_FUNCTION $1");
    {
        auto agent = h.agent();
        h.run(agent->boot());
    }
    const std::vector<std::string> expected{"goenabled worker main", "services worker start"};
    BOOST_TEST(h.log() == expected, boost::test_tools::per_element());

    // Next boot: the self-test fails, so nothing starts.
    h.dir.write("boot_id", "boot-2\n");
    h.dir.write("log", "");
    h.logging_script("goenabled.d/10-test", "goenabled $MTCE_FUNCTION $MTCE_CONTEXT", "exit 1");
    {
        auto agent = h.agent();
        h.run(agent->boot());
    }
    const std::vector<std::string> failed{"goenabled worker main"};
    BOOST_TEST(h.log() == failed, boost::test_tools::per_element());
    BOOST_TEST(h.dir.exists("run/goenabled_failed"));
    BOOST_TEST(!h.dir.exists("run/services_worker"));
}

BOOST_AUTO_TEST_CASE(an_agent_restart_in_the_same_boot_does_not_repeat_what_passed_but_a_new_boot_does) {
    host_fixture h;
    h.logging_script("goenabled.d/10-test", "goenabled");
    h.logging_script("services.d/worker/10-svc", "services");
    for (int i = 0; i < 2; ++i) {
        auto agent = h.agent();
        h.run(agent->boot());
    }
    BOOST_TEST(h.log().size() == 2u);
    h.dir.write("boot_id", "boot-2\n");
    auto agent = h.agent();
    h.run(agent->boot());
    BOOST_TEST(h.log().size() == 4u);
}

BOOST_AUTO_TEST_CASE(a_locked_host_runs_its_self_tests_but_starts_no_services_and_the_lock_survives_restart) {
    host_fixture h;
    h.logging_script("goenabled.d/10-test", "goenabled");
    h.logging_script("services.d/worker/10-svc", "services");
    {
        auto agent = h.agent();
        BOOST_TEST(!agent->locked());
        BOOST_TEST(!agent->set_locked(true));
        BOOST_TEST(h.dir.exists("run/locked"));
    }
    // A reboot: new boot id, and the volatile run dir is gone.
    std::filesystem::remove_all(h.dir.path() / "run");
    h.dir.write("boot_id", "boot-2\n");
    {
        auto agent = h.agent();
        BOOST_TEST(agent->locked());
        BOOST_TEST(h.dir.exists("run/locked"));
        h.run(agent->boot());
    }
    const std::vector<std::string> expected{"goenabled"};
    BOOST_TEST(h.log() == expected, boost::test_tools::per_element());
    BOOST_TEST(!h.dir.exists("run/services_worker"));
    BOOST_TEST(h.dir.read("state/admin_state") == "locked\n");
}

BOOST_AUTO_TEST_CASE(all_in_one_subfunction_runs_after_the_main_function_and_waits_for_its_config_marker) {
    host_fixture h(role::controller, "subfunctions = [\"worker\"]");
    h.logging_script("goenabled.d/10-test", "goenabled $MTCE_FUNCTION $MTCE_CONTEXT");
    h.logging_script("services.d/controller/10-svc", "services controller $MTCE_CONTEXT");
    h.logging_script("services.d/worker/10-svc", "services worker $MTCE_CONTEXT");
    auto agent = h.agent();
    // The worker configuration completes 500 ms after boot.
    asio::steady_timer later{h.io, 500ms};
    later.async_wait([&](std::error_code) {
        std::ofstream{h.dir.path() / "log", std::ios::app} << "marker\n";
        (void)mtce::write_file_atomic(h.dir.path() / "run/.worker_config_complete", "");
    });
    h.run(agent->boot());
    const std::vector<std::string> expected{"goenabled controller main", "services controller main", "marker",
                                            "goenabled worker subfunction", "services worker subfunction"};
    BOOST_TEST(h.log() == expected, boost::test_tools::per_element());
    BOOST_TEST(h.dir.exists("run/goenabled_subf"));
    BOOST_TEST(h.dir.exists("run/services_controller"));
    BOOST_TEST(h.dir.exists("run/services_worker"));
}

BOOST_AUTO_TEST_CASE(all_in_one_subfunction_fails_when_its_config_marker_never_appears) {
    host_fixture h(role::controller, "subfunctions = [\"worker\"]");
    h.adjust([](mtce::config& cfg) { cfg.host.subfunction_config_timeout = 300ms; });
    h.logging_script("goenabled.d/10-test", "goenabled $MTCE_FUNCTION $MTCE_CONTEXT");
    auto agent = h.agent();
    h.run(agent->boot());
    BOOST_TEST(h.dir.exists("run/goenabled"));
    BOOST_TEST(!h.dir.exists("run/goenabled_subf"));
    BOOST_TEST(contains(h.dir.read("run/goenabled_subf_failed"), "reason=worker configuration not complete"));
    BOOST_TEST(!h.dir.exists("run/services_worker"));
}

BOOST_AUTO_TEST_CASE(a_request_while_a_run_is_in_progress_joins_it_instead_of_running_twice) {
    using namespace asio::experimental::awaitable_operators;
    host_fixture h;
    h.logging_script("goenabled.d/10-test", "ran", "sleep 0.5");
    auto agent = h.agent();
    auto both = h.run([&]() -> asio::awaitable<std::pair<bool, bool>> {
        auto [a, b] = co_await (agent->goenabled(context::main) && agent->goenabled(context::main));
        co_return std::pair{a.outcome.passed, b.outcome.passed};
    }());
    BOOST_TEST(both.first);
    BOOST_TEST(both.second);
    BOOST_TEST(h.log().size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_locked_all_in_one_controller_still_tests_its_subfunction_but_starts_nothing) {
    host_fixture h(role::controller, "subfunctions = [\"worker\"]");
    h.dir.write("run/.worker_config_complete", "");
    h.logging_script("goenabled.d/10-test", "goenabled $MTCE_FUNCTION $MTCE_CONTEXT");
    h.logging_script("services.d/controller/10-svc", "services controller");
    h.logging_script("services.d/worker/10-svc", "services worker");
    auto agent = h.agent();
    BOOST_TEST(!agent->set_locked(true));
    h.run(agent->boot());
    const std::vector<std::string> expected{"goenabled controller main", "goenabled worker subfunction"};
    BOOST_TEST(h.log() == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(an_unlock_resumes_the_boot_of_a_host_that_booted_locked_without_repeating_its_tests) {
    host_fixture h;
    h.logging_script("goenabled.d/10-test", "goenabled");
    h.logging_script("services.d/worker/10-svc", "services $1");
    auto agent = h.agent();
    BOOST_TEST(!agent->set_locked(true));
    h.run(agent->boot());
    BOOST_TEST(!h.dir.exists("run/services_worker"));
    BOOST_TEST(!agent->set_locked(false));
    h.run(agent->resume_boot());
    const std::vector<std::string> expected{"goenabled", "services start"};
    BOOST_TEST(h.log() == expected, boost::test_tools::per_element());
    BOOST_TEST(h.dir.exists("run/services_worker"));
}

BOOST_AUTO_TEST_CASE(an_unlock_during_the_boot_joins_it_instead_of_running_a_second_one) {
    using namespace asio::experimental::awaitable_operators;
    host_fixture h;
    h.logging_script("goenabled.d/10-test", "goenabled", "sleep 0.5");
    h.logging_script("services.d/worker/10-svc", "services $1");
    auto agent = h.agent();
    BOOST_TEST(!agent->set_locked(true));
    h.run([&]() -> asio::awaitable<void> {
        const auto ex = co_await asio::this_coro::executor;
        asio::steady_timer unlock_later{ex, 100ms};
        auto unlock = [&]() -> asio::awaitable<void> {
            co_await unlock_later.async_wait(asio::use_awaitable);
            BOOST_TEST(!agent->set_locked(false));  // while the self-tests run
            co_await agent->resume_boot();
        };
        co_await (agent->boot() && unlock());
    }());
    const std::vector<std::string> expected{"goenabled", "services start"};
    BOOST_TEST(h.log() == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(an_unlock_while_the_locks_stop_runs_starts_the_services_again_after_it) {
    using namespace asio::experimental::awaitable_operators;
    host_fixture h;
    h.logging_script("goenabled.d/10-test", "goenabled");
    h.logging_script("services.d/worker/10-svc", "services $1", "sleep 0.5");
    auto agent = h.agent();
    h.run(agent->boot());
    BOOST_TEST(h.dir.exists("run/services_worker"));
    BOOST_TEST(!agent->set_locked(true));
    h.run([&]() -> asio::awaitable<void> {
        const auto ex = co_await asio::this_coro::executor;
        asio::steady_timer unlock_later{ex, 100ms};
        auto unlock = [&]() -> asio::awaitable<void> {
            co_await unlock_later.async_wait(asio::use_awaitable);
            BOOST_TEST(!agent->set_locked(false));  // while the stop scripts run
            co_await agent->resume_boot();
        };
        auto lock = [&]() -> asio::awaitable<void> {
            (void)co_await agent->services(role::worker, service_action::stop);
        };
        co_await (lock() && unlock());
    }());
    const std::vector<std::string> expected{"goenabled", "services start", "services stop", "services start"};
    BOOST_TEST(h.log() == expected, boost::test_tools::per_element());
    BOOST_TEST(h.dir.exists("run/services_worker"));
}

BOOST_AUTO_TEST_CASE(an_unlocked_all_in_one_controller_starts_its_functions_in_order_after_a_locked_boot) {
    host_fixture h(role::controller, "subfunctions = [\"worker\"]");
    h.dir.write("run/.worker_config_complete", "");
    h.logging_script("goenabled.d/10-test", "goenabled $MTCE_CONTEXT");
    h.logging_script("services.d/controller/10-svc", "services controller");
    h.logging_script("services.d/worker/10-svc", "services worker");
    auto agent = h.agent();
    BOOST_TEST(!agent->set_locked(true));
    h.run(agent->boot());
    BOOST_TEST(!agent->set_locked(false));
    h.run(agent->resume_boot());
    const std::vector<std::string> expected{"goenabled main", "goenabled subfunction", "services controller",
                                            "services worker"};
    BOOST_TEST(h.log() == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_stop_waits_for_a_start_of_the_same_function_in_progress) {
    using namespace asio::experimental::awaitable_operators;
    host_fixture h;
    h.logging_script("services.d/worker/10-svc", "begin $1",
                     fmt::format("sleep 0.3\necho \"end $1\" >> '{}/log'", h.dir.path().string()));
    auto agent = h.agent();
    auto both = h.run([&]() -> asio::awaitable<std::pair<bool, bool>> {
        auto [start, stop] = co_await (agent->services(role::worker, service_action::start) &&
                                       agent->services(role::worker, service_action::stop));
        co_return std::pair{start.outcome.passed, stop.outcome.passed};
    }());
    BOOST_TEST(both.first);
    BOOST_TEST(both.second);
    const std::vector<std::string> expected{"begin start", "end start", "begin stop", "end stop"};
    BOOST_TEST(h.log() == expected, boost::test_tools::per_element());
    BOOST_TEST(!h.dir.exists("run/services_worker"));
}

BOOST_AUTO_TEST_CASE(the_subfunction_self_tests_on_request_wait_for_the_configuration_marker_too) {
    host_fixture h(role::controller, "subfunctions = [\"worker\"]");
    h.adjust([](mtce::config& cfg) { cfg.host.subfunction_config_timeout = 300ms; });
    h.logging_script("goenabled.d/10-test", "goenabled $MTCE_CONTEXT");
    auto agent = h.agent();
    const auto report = h.run(agent->goenabled(context::subfunction));
    BOOST_TEST(!report.outcome.passed);
    BOOST_TEST(contains(report.outcome.reason, "worker configuration not complete"));
    BOOST_TEST(!h.dir.exists("log"));
}
