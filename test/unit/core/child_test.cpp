#define BOOST_TEST_MODULE core_child_test
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <system_error>
#include <thread>
#include <variant>
#include <vector>

#include <pthread.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/co_spawn.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include "core/child.hpp"
#include "run_awaitable.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;
using clock_type = std::chrono::steady_clock;

namespace {

/// A fresh directory under /tmp, removed afterwards.
struct temp_dir {
    temp_dir() {
        std::string pattern = (fs::temp_directory_path() / "mtce-child-test-XXXXXX").string();
        BOOST_REQUIRE(::mkdtemp(pattern.data()) != nullptr);
        path = pattern;
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    ~temp_dir() {
        std::error_code ignored;
        fs::remove_all(path, ignored);
    }

    /// Writes an executable /bin/sh script and returns its path.
    fs::path script(const std::string& name, const std::string& body) const {
        fs::path file = path / name;
        std::ofstream(file) << "#!/bin/sh\n" << body;
        fs::permissions(file, fs::perms::owner_all | fs::perms::group_read | fs::perms::others_read);
        return file;
    }

    fs::path path;
};

mtce::child_spec spec_for(fs::path program, std::vector<std::string> args = {}) {
    mtce::child_spec spec;
    spec.program = std::move(program);
    spec.args = std::move(args);
    spec.env = mtce::script_environment({});
    spec.deadline = 60s;
    spec.kill_grace = 5s;
    return spec;
}

mtce::child_spec shell(const std::string& command) {
    return spec_for("/bin/sh", {"-c", command});
}

mtce::child_result run(mtce::child_spec spec) {
    return mtce::test::run_awaitable(mtce::run_child(std::move(spec)));
}

/// State letter from /proc/<pid>/stat, or 0 if there is no such process.
char process_state(pid_t pid, pid_t* ppid = nullptr) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string stat;
    if (!std::getline(in, stat)) {
        return 0;
    }
    std::istringstream fields(stat.substr(stat.rfind(')') + 1));
    char state = 0;
    pid_t parent = 0;
    fields >> state >> parent;
    if (ppid != nullptr) {
        *ppid = parent;
    }
    return state;
}

/// Dead: gone, or a zombie. Killed grandchildren are orphans, and whether their new parent (init) reaps them
/// is not up to us: in some containers PID 1 never does.
bool is_dead(pid_t pid) {
    if (::kill(pid, 0) == -1 && errno == ESRCH) {
        return true;
    }
    char state = process_state(pid);
    return state == 0 || state == 'Z' || state == 'X';
}

/// Gives a killed process a bounded while to die (signal delivery is asynchronous).
bool dies_within(pid_t pid, clock_type::duration bound) {
    auto until = clock_type::now() + bound;
    while (!is_dead(pid)) {
        if (clock_type::now() > until) {
            return false;
        }
        std::this_thread::sleep_for(20ms);
    }
    return true;
}

/// Gone for good: not even a zombie. True for a leader that run_child reaped.
bool is_reaped(pid_t pid) {
    return ::kill(pid, 0) == -1 && errno == ESRCH;
}

std::vector<pid_t> read_pids(const fs::path& file) {
    std::ifstream in(file);
    std::vector<pid_t> pids;
    for (pid_t pid = 0; in >> pid;) {
        pids.push_back(pid);
    }
    return pids;
}

/// Our own children that are zombies.
std::vector<pid_t> zombie_children() {
    std::vector<pid_t> zombies;
    for (const auto& entry : fs::directory_iterator("/proc")) {
        const std::string name = entry.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos) {
            continue;
        }
        pid_t pid = std::stoi(name);
        pid_t ppid = 0;
        if (process_state(pid, &ppid) == 'Z' && ppid == ::getpid()) {
            zombies.push_back(pid);
        }
    }
    return zombies;
}

/// Waits until `file` has content (the child is up and wrote its pids), then `delay` more.
asio::awaitable<void> after_file_written(fs::path file, clock_type::duration delay) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    auto until = clock_type::now() + 30s;
    std::error_code ec;
    while (!(fs::exists(file, ec) && fs::file_size(file, ec) > 0) && clock_type::now() < until) {
        timer.expires_after(10ms);
        co_await timer.async_wait(asio::use_awaitable);
    }
    timer.expires_after(delay);
    co_await timer.async_wait(asio::use_awaitable);
}

double seconds_since(clock_type::time_point start) {
    return std::chrono::duration<double>(clock_type::now() - start).count();
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_program_that_exits_zero_is_ok) {
    auto r = run(spec_for("/bin/true"));
    BOOST_TEST(r.started);
    BOOST_TEST(r.start_error.empty());
    BOOST_TEST(r.exit_code.value_or(-1) == 0);
    BOOST_TEST(!r.signal.has_value());
    BOOST_TEST(!r.timed_out);
    BOOST_TEST(r.ok());
    BOOST_TEST(r.describe() == "ok");
    BOOST_TEST(r.elapsed.count() < 30000);
}

BOOST_AUTO_TEST_CASE(a_nonzero_exit_code_is_reported) {
    auto r = run(shell("exit 3"));
    BOOST_TEST(r.started);
    BOOST_TEST(r.exit_code.value_or(-1) == 3);
    BOOST_TEST(!r.signal.has_value());
    BOOST_TEST(!r.ok());
    BOOST_TEST(r.describe() == "exit code 3");
}

BOOST_AUTO_TEST_CASE(a_child_killed_by_a_signal_reports_the_signal) {
    auto r = run(shell("kill -KILL $$"));
    BOOST_TEST(r.started);
    BOOST_TEST(!r.exit_code.has_value());
    BOOST_TEST(r.signal.value_or(0) == SIGKILL);
    BOOST_TEST(!r.timed_out);
    BOOST_TEST(!r.ok());
    BOOST_TEST(r.describe() == "killed by signal 9 (SIGKILL)");
}

BOOST_AUTO_TEST_CASE(stdout_and_stderr_are_captured_separately) {
    auto r = run(shell("printf 'to out\\n'; printf 'to err\\n' >&2; printf 'more out'"));
    BOOST_TEST(r.ok());
    BOOST_TEST(r.out == "to out\nmore out");
    BOOST_TEST(r.err == "to err\n");
    BOOST_TEST(r.out_dropped == 0u);
    BOOST_TEST(r.err_dropped == 0u);
}

BOOST_AUTO_TEST_CASE(the_child_sees_only_the_given_environment) {
    ::setenv("MTCE_CHILD_TEST_PARENT_ONLY", "leaked", 1);
    auto spec = spec_for("/usr/bin/env");
    spec.env = {{"FIRST", "1"}, {"SECOND", "two words"}};
    auto r = run(spec);
    ::unsetenv("MTCE_CHILD_TEST_PARENT_ONLY");
    BOOST_TEST(r.ok());
    BOOST_TEST(r.out == "FIRST=1\nSECOND=two words\n");
}

BOOST_AUTO_TEST_CASE(an_empty_environment_gives_the_child_no_variables) {
    auto spec = spec_for("/usr/bin/env");
    spec.env.clear();
    auto r = run(spec);
    BOOST_TEST(r.ok());
    BOOST_TEST(r.out == "");
}

BOOST_AUTO_TEST_CASE(the_child_runs_in_the_given_working_directory) {
    temp_dir dir;
    auto spec = spec_for("/bin/pwd");
    spec.cwd = dir.path;
    auto r = run(spec);
    BOOST_TEST(r.ok());
    BOOST_TEST(r.out == fs::canonical(dir.path).string() + "\n");
}

BOOST_AUTO_TEST_CASE(stdin_is_dev_null) {
    auto r = run(spec_for("/usr/bin/readlink", {"/proc/self/fd/0"}));
    BOOST_TEST(r.ok());
    BOOST_TEST(r.out == "/dev/null\n");
}

BOOST_AUTO_TEST_CASE(the_child_leads_its_own_process_group) {
    // Field 5 of /proc/<pid>/stat is the process group; dash's comm has no spaces.
    auto r = run(shell("echo $$; cut -d' ' -f5 /proc/$$/stat"));
    BOOST_TEST_REQUIRE(r.ok());
    std::istringstream lines(r.out);
    pid_t pid = 0;
    pid_t pgid = 0;
    lines >> pid >> pgid;
    BOOST_TEST(pid > 0);
    BOOST_TEST(pgid == pid);
    BOOST_TEST(pgid != ::getpgrp());
}

BOOST_AUTO_TEST_CASE(the_child_gets_default_signal_dispositions_and_an_empty_mask) {
    // A daemon ignores SIGPIPE and friends and may block signals; ignored and blocked signals survive exec.
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    struct sigaction saved[4]{};
    const int ignored[4] = {SIGPIPE, SIGTERM, SIGINT, SIGHUP};
    for (int i = 0; i < 4; ++i) {
        ::sigaction(ignored[i], &ignore, &saved[i]);
    }
    sigset_t block;
    sigset_t saved_mask;
    ::sigemptyset(&block);
    ::sigaddset(&block, SIGUSR1);
    ::sigaddset(&block, SIGALRM);
    ::pthread_sigmask(SIG_BLOCK, &block, &saved_mask);

    auto r = run(spec_for("/usr/bin/grep", {"-E", "^Sig(Blk|Ign):", "/proc/self/status"}));

    ::pthread_sigmask(SIG_SETMASK, &saved_mask, nullptr);
    for (int i = 0; i < 4; ++i) {
        ::sigaction(ignored[i], &saved[i], nullptr);
    }
    BOOST_TEST_REQUIRE(r.ok());
    std::istringstream lines(r.out);
    std::string label;
    unsigned long long blocked = ~0ULL;
    unsigned long long ignored_mask = ~0ULL;
    lines >> label >> std::hex >> blocked >> label >> ignored_mask;
    BOOST_TEST(blocked == 0u);
    // Bit n-1 is signal n. glibc's posix_spawn leaves its two internal real-time signals (32, 33) ignored,
    // and sigfillset cannot name them; every standard signal must be back to default.
    BOOST_TEST((ignored_mask & 0x7fffffffULL) == 0u);
}

BOOST_AUTO_TEST_CASE(a_missing_program_is_a_start_error) {
    auto r = run(spec_for("/nonexistent/mtce-no-such-program"));
    BOOST_TEST(!r.started);
    BOOST_TEST(r.start_error ==
               "could not start '/nonexistent/mtce-no-such-program': No such file or directory");
    BOOST_TEST(!r.exit_code.has_value());
    BOOST_TEST(!r.signal.has_value());
    BOOST_TEST(!r.ok());
    BOOST_TEST(r.describe() == r.start_error);
}

BOOST_AUTO_TEST_CASE(a_non_executable_file_is_a_start_error) {
    temp_dir dir;
    fs::path file = dir.path / "not-executable";
    std::ofstream(file) << "#!/bin/sh\nexit 0\n";
    fs::permissions(file, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
    auto r = run(spec_for(file));
    BOOST_TEST(!r.started);
    BOOST_TEST(r.start_error == "could not start '" + file.string() + "': Permission denied");
    BOOST_TEST(!r.ok());
}

BOOST_AUTO_TEST_CASE(a_missing_working_directory_is_a_start_error_naming_the_directory) {
    auto spec = spec_for("/bin/true");
    spec.cwd = "/nonexistent/mtce-no-such-dir";
    auto r = run(spec);
    BOOST_TEST(!r.started);
    BOOST_TEST(r.start_error ==
               "could not start '/bin/true': working directory '/nonexistent/mtce-no-such-dir': "
               "No such file or directory");
}

BOOST_AUTO_TEST_CASE(a_relative_program_path_is_refused_rather_than_looked_up) {
    auto r = run(spec_for("true"));
    BOOST_TEST(!r.started);
    BOOST_TEST(r.start_error.find("not absolute") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_child_past_its_deadline_is_terminated) {
    temp_dir dir;
    auto spec = spec_for(dir.script("sleeper", "sleep 60\n"));
    spec.deadline = 300ms;
    auto start = clock_type::now();
    auto r = run(spec);
    BOOST_TEST(seconds_since(start) < 10.0);
    BOOST_TEST(r.started);
    BOOST_TEST(r.timed_out);
    BOOST_TEST(r.signal.value_or(0) == SIGTERM);
    BOOST_TEST(!r.ok());
    BOOST_TEST(r.elapsed.count() >= 300);
    BOOST_TEST(r.describe().find("timed out after ") == 0u);
    BOOST_TEST(r.describe().find("killed by signal 15 (SIGTERM)") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_child_that_ignores_sigterm_is_killed_after_the_grace) {
    temp_dir dir;
    auto spec = spec_for(dir.script("stubborn", "trap '' TERM\nsleep 60\n"));
    spec.deadline = 300ms;
    spec.kill_grace = 500ms;
    auto start = clock_type::now();
    auto r = run(spec);
    BOOST_TEST(seconds_since(start) < 15.0);
    BOOST_TEST(r.timed_out);
    BOOST_TEST(r.signal.value_or(0) == SIGKILL);
    BOOST_TEST(r.elapsed.count() >= 800);
}

BOOST_AUTO_TEST_CASE(grandchildren_are_killed_when_the_deadline_passes) {
    temp_dir dir;
    fs::path pid_file = dir.path / "grandchild.pid";
    // The grandchild ignores SIGTERM, so only the group-wide SIGKILL after the grace can end it.
    auto spec = spec_for(dir.script("parent",
                                    "(trap '' TERM; exec sleep 300) &\n"
                                    "echo $! > \"$1\"\n"
                                    "sleep 60\n"),
                         {pid_file.string()});
    spec.deadline = 1s;
    spec.kill_grace = 500ms;
    auto start = clock_type::now();
    auto r = run(spec);
    BOOST_TEST(seconds_since(start) < 15.0);
    BOOST_TEST(r.timed_out);
    auto pids = read_pids(pid_file);
    BOOST_TEST_REQUIRE(pids.size() == 1u);
    BOOST_TEST(dies_within(pids[0], 5s));
}

BOOST_AUTO_TEST_CASE(a_straggler_left_by_a_leader_that_exited_is_killed_and_the_run_returns_promptly) {
    temp_dir dir;
    fs::path pid_file = dir.path / "straggler.pid";
    auto spec = spec_for(dir.script("leaver",
                                    "(trap '' TERM; exec sleep 300) &\n"
                                    "echo $! > \"$1\"\n"
                                    "exit 0\n"),
                         {pid_file.string()});
    spec.kill_grace = 500ms;
    auto start = clock_type::now();
    auto r = run(spec);
    BOOST_TEST(seconds_since(start) < 10.0);
    BOOST_TEST(r.ok());
    BOOST_TEST(!r.timed_out);
    auto pids = read_pids(pid_file);
    BOOST_TEST_REQUIRE(pids.size() == 1u);
    BOOST_TEST(dies_within(pids[0], 5s));
}

BOOST_AUTO_TEST_CASE(a_straggler_that_honours_sigterm_is_not_kept_for_the_whole_grace) {
    temp_dir dir;
    fs::path pid_file = dir.path / "straggler.pid";
    auto spec =
        spec_for(dir.script("leaver", "sleep 300 &\necho $! > \"$1\"\nexit 0\n"), {pid_file.string()});
    spec.kill_grace = 60s;  // the linger before SIGTERM is capped at 1 s; SIGTERM ends this one at once
    auto start = clock_type::now();
    auto r = run(spec);
    BOOST_TEST(seconds_since(start) < 10.0);
    BOOST_TEST(r.ok());
    auto pids = read_pids(pid_file);
    BOOST_TEST_REQUIRE(pids.size() == 1u);
    BOOST_TEST(dies_within(pids[0], 5s));
}

BOOST_AUTO_TEST_CASE(an_escaped_process_holding_the_pipes_does_not_hold_up_the_run) {
    temp_dir dir;
    fs::path pid_file = dir.path / "escaped.pid";
    // setsid leaves the group, so nothing kills it; it keeps stdout and stderr open.
    auto spec = spec_for(dir.script("escaper",
                                    "setsid sh -c 'echo $$ > \"$1\"; exec sleep 30' escaped \"$1\" &\n"
                                    "while [ ! -s \"$1\" ]; do sleep 0.05; done\n"
                                    "echo done\n"),
                         {pid_file.string()});
    auto start = clock_type::now();
    auto r = run(spec);
    auto took = seconds_since(start);
    auto pids = read_pids(pid_file);
    for (pid_t pid : pids) {
        ::kill(pid, SIGKILL);
    }
    BOOST_TEST(took < 10.0);
    BOOST_TEST(r.ok());
    BOOST_TEST(r.out == "done\n");
    BOOST_TEST(pids.size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_child_writing_megabytes_is_drained_and_only_the_limit_is_kept) {
    constexpr std::size_t total = 10485760;
    auto spec = shell("head -c 10485760 /dev/zero; head -c 10485760 /dev/zero >&2");
    spec.output_limit = 4096;
    spec.deadline = 120s;
    auto r = run(spec);
    BOOST_TEST(!r.timed_out);
    BOOST_TEST(r.ok());
    BOOST_TEST(r.out.size() == 4096u);
    BOOST_TEST(r.out == std::string(4096, '\0'));
    BOOST_TEST(r.out_dropped == total - 4096);
    BOOST_TEST(r.err.size() == 4096u);
    BOOST_TEST(r.err_dropped == total - 4096);
}

BOOST_AUTO_TEST_CASE(no_zombie_is_left_behind) {
    temp_dir dir;
    run(spec_for("/bin/true"));
    run(shell("exit 3"));
    run(shell("kill -KILL $$"));
    run(spec_for("/nonexistent/mtce-no-such-program"));
    auto sleeper = spec_for(dir.script("sleeper", "sleep 60\n"));
    sleeper.deadline = 300ms;
    run(sleeper);
    auto leaver = spec_for(dir.script("leaver", "sleep 300 &\nexit 0\n"));
    leaver.kill_grace = 200ms;
    run(leaver);
    auto zombies = zombie_children();
    BOOST_TEST(zombies.empty(), "zombie children left: " << zombies.size());
}

BOOST_AUTO_TEST_CASE(no_descriptor_is_leaked_on_any_path) {
    auto open_fds = [] {
        return std::distance(fs::directory_iterator("/proc/self/fd"), fs::directory_iterator{});
    };
    temp_dir dir;
    auto sleeper = spec_for(dir.script("sleeper", "sleep 60\n"));
    sleeper.deadline = 300ms;
    run(spec_for("/bin/true"));  // lets one-time initialisation open what it keeps
    auto before = open_fds();
    run(spec_for("/bin/true"));
    run(spec_for("/nonexistent/mtce-no-such-program"));
    run(sleeper);
    auto cancelled =
        spec_for(dir.script("waiter", "echo $$ > \"$1\"\nsleep 60\n"), {(dir.path / "pid").string()});
    mtce::test::run_awaitable([](mtce::child_spec s, fs::path file) -> asio::awaitable<void> {
        co_await (mtce::run_child(std::move(s)) || after_file_written(file, 100ms));
    }(cancelled, dir.path / "pid"));
    BOOST_TEST(open_fds() == before);
}

BOOST_AUTO_TEST_CASE(cancelling_a_run_kills_the_child_and_its_group_promptly) {
    temp_dir dir;
    fs::path pid_file = dir.path / "pids";
    auto spec =
        spec_for(dir.script("waiter", "sleep 60 &\necho $$ $! > \"$1\"\nwait\n"), {pid_file.string()});
    auto start = clock_type::now();
    auto winner = mtce::test::run_awaitable([](mtce::child_spec s, fs::path file) -> asio::awaitable<int> {
        auto which = co_await (mtce::run_child(std::move(s)) || after_file_written(file, 200ms));
        co_return static_cast<int>(which.index());
    }(spec, pid_file));
    BOOST_TEST(seconds_since(start) < 10.0);
    BOOST_TEST(winner == 1);
    auto pids = read_pids(pid_file);
    BOOST_TEST_REQUIRE(pids.size() == 2u);
    BOOST_TEST(is_reaped(pids[0]));  // the leader: killed and reaped, not even a zombie
    BOOST_TEST(dies_within(pids[1], 5s));
}

BOOST_AUTO_TEST_CASE(a_cancelled_run_rethrows_operation_aborted) {
    temp_dir dir;
    fs::path pid_file = dir.path / "pids";
    auto spec = spec_for(dir.script("waiter", "echo $$ > \"$1\"\nsleep 60\n"), {pid_file.string()});
    asio::io_context io;
    asio::cancellation_signal cancel;
    std::exception_ptr error;
    bool completed = false;
    asio::co_spawn(io, mtce::run_child(spec),
                   asio::bind_cancellation_slot(cancel.slot(), [&](std::exception_ptr e, mtce::child_result) {
                       completed = true;
                       error = e;
                   }));
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            co_await after_file_written(pid_file, 200ms);
            cancel.emit(asio::cancellation_type::terminal);
        },
        [](std::exception_ptr e) {
            if (e) {
                std::rethrow_exception(e);
            }
        });
    auto start = clock_type::now();
    io.run();
    BOOST_TEST(seconds_since(start) < 10.0);
    BOOST_TEST_REQUIRE(completed);
    BOOST_TEST_REQUIRE(static_cast<bool>(error));
    try {
        std::rethrow_exception(error);
    } catch (const std::system_error& e) {
        BOOST_TEST(e.code() == asio::error_code(asio::error::operation_aborted));
    }
    auto pids = read_pids(pid_file);
    BOOST_TEST_REQUIRE(pids.size() == 1u);
    BOOST_TEST(is_reaped(pids[0]));
    BOOST_TEST(zombie_children().empty());
}

BOOST_AUTO_TEST_CASE(destroying_the_event_loop_mid_run_still_kills_and_reaps_the_child) {
    // What happens at shutdown when main returns with runs still suspended: the coroutine frame is destroyed
    // without ever being resumed.
    temp_dir dir;
    fs::path pid_file = dir.path / "pid";
    auto spec = spec_for(dir.script("waiter", "echo $$ > \"$1\"\nsleep 60\n"), {pid_file.string()});
    auto start = clock_type::now();
    {
        asio::io_context io;
        asio::co_spawn(io, mtce::run_child(spec), [](std::exception_ptr, mtce::child_result) {});
        asio::co_spawn(
            io,
            [&]() -> asio::awaitable<void> {
                co_await after_file_written(pid_file, 100ms);
                io.stop();
            },
            [](std::exception_ptr) {});
        io.run();
    }
    BOOST_TEST(seconds_since(start) < 10.0);
    auto pids = read_pids(pid_file);
    BOOST_TEST_REQUIRE(pids.size() == 1u);
    BOOST_TEST(is_reaped(pids[0]));
    BOOST_TEST(zombie_children().empty());
}

BOOST_AUTO_TEST_CASE(the_event_loop_keeps_running_while_a_child_runs) {
    int ticks = 0;
    auto ticker = [](int& count) -> asio::awaitable<void> {
        asio::steady_timer timer(co_await asio::this_coro::executor);
        for (;;) {
            timer.expires_after(50ms);
            co_await timer.async_wait(asio::use_awaitable);
            ++count;
        }
    };
    auto r = mtce::test::run_awaitable([](asio::awaitable<void> tick) -> asio::awaitable<mtce::child_result> {
        auto which = co_await (mtce::run_child(shell("sleep 1")) || std::move(tick));
        co_return std::get<0>(std::move(which));
    }(ticker(ticks)));
    BOOST_TEST(r.ok());
    BOOST_TEST(ticks >= 10);
}

BOOST_AUTO_TEST_CASE(describe_gives_a_short_reason) {
    mtce::child_result r;
    r.started = true;
    r.exit_code = 0;
    BOOST_TEST(r.describe() == "ok");
    r.exit_code = 3;
    BOOST_TEST(r.describe() == "exit code 3");
    r.exit_code.reset();
    r.signal = SIGKILL;
    BOOST_TEST(r.describe() == "killed by signal 9 (SIGKILL)");
    r.timed_out = true;
    r.signal = SIGTERM;
    r.elapsed = 5003ms;
    BOOST_TEST(r.describe() == "timed out after 5s, killed by signal 15 (SIGTERM)");
    r.elapsed = 310ms;
    BOOST_TEST(r.describe() == "timed out after 310ms, killed by signal 15 (SIGTERM)");
    r.signal.reset();
    r.exit_code = 143;
    r.elapsed = 2500ms;
    BOOST_TEST(r.describe() == "timed out after 2.5s, then exited with code 143");

    mtce::child_result failed;
    failed.start_error = "could not start '/x/y': No such file or directory";
    BOOST_TEST(failed.describe() == failed.start_error);
}

BOOST_AUTO_TEST_CASE(script_environment_puts_path_and_lang_before_the_extras) {
    auto env = mtce::script_environment({{"MTCE_HOST", "worker-1"}});
    BOOST_TEST_REQUIRE(env.size() == 3u);
    BOOST_TEST(env[0].first == "PATH");
    BOOST_TEST(env[0].second == "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    BOOST_TEST(env[1].first == "LANG");
    BOOST_TEST(env[1].second == "C.UTF-8");
    BOOST_TEST(env[2].first == "MTCE_HOST");
    BOOST_TEST(env[2].second == "worker-1");
}

// Script isolation: a cgroup of its own per run, so that nothing the script starts outlives the deadline.

namespace {

/// Why cgroup runs cannot be tested here, or empty if they can.
std::string cgroup_unavailable() {
    if (!mtce::probe_isolation().cgroup) {
        return "no writable cgroup v2 hierarchy for the test process (needs root and cgroup v2)";
    }
    return {};
}

/// The script for the setsid tests: starts `sleep 300` in a session of its own (out of the process group),
/// records its pid in $1, then runs `then`.
fs::path escaper(const temp_dir& dir, const std::string& then) {
    return dir.script("escaper",
                      "setsid sh -c 'echo $$ > \"$1\"; exec sleep 300' escaped \"$1\" </dev/null >/dev/null "
                      "2>&1 &\n"
                      "while [ ! -s \"$1\" ]; do sleep 0.05; done\n" +
                          then);
}

}  // namespace

BOOST_AUTO_TEST_CASE(in_a_cgroup_a_process_that_calls_setsid_does_not_outlive_the_deadline) {
    if (auto why = cgroup_unavailable(); !why.empty()) {
        BOOST_TEST_MESSAGE("skipped: " << why);
        return;
    }
    temp_dir dir;
    fs::path pid_file = dir.path / "escaped.pid";
    auto spec = spec_for(escaper(dir, "exec sleep 300\n"), {pid_file.string()});
    spec.isolation = mtce::script_isolation::cgroup;
    spec.deadline = 2s;
    spec.kill_grace = 1s;
    auto r = run(spec);
    auto pids = read_pids(pid_file);
    BOOST_TEST_INFO("run: " << r.describe() << "; stderr: " << r.err);
    BOOST_TEST(r.timed_out);
    BOOST_TEST_REQUIRE(pids.size() == 1u);
    const bool dead = is_dead(pids[0]);
    ::kill(pids[0], SIGKILL);
    BOOST_TEST(dead);  // already dead when run_child returned
}

BOOST_AUTO_TEST_CASE(in_a_cgroup_what_an_exited_script_left_behind_with_setsid_is_killed) {
    if (auto why = cgroup_unavailable(); !why.empty()) {
        BOOST_TEST_MESSAGE("skipped: " << why);
        return;
    }
    temp_dir dir;
    fs::path pid_file = dir.path / "escaped.pid";
    auto spec = spec_for(escaper(dir, "echo done\n"), {pid_file.string()});
    spec.isolation = mtce::script_isolation::cgroup;
    spec.kill_grace = 1s;
    auto start = clock_type::now();
    auto r = run(spec);
    auto pids = read_pids(pid_file);
    BOOST_TEST(seconds_since(start) < 20.0);
    BOOST_TEST(r.ok());
    BOOST_TEST(r.out == "done\n");
    BOOST_TEST_REQUIRE(pids.size() == 1u);
    const bool dead = is_dead(pids[0]);
    ::kill(pids[0], SIGKILL);
    BOOST_TEST(dead);
}

BOOST_AUTO_TEST_CASE(a_cgroup_run_leaves_no_cgroup_behind_and_reports_like_any_other) {
    if (auto why = cgroup_unavailable(); !why.empty()) {
        BOOST_TEST_MESSAGE("skipped: " << why);
        return;
    }
    auto spec = shell("echo out; echo err >&2; exit 3");
    spec.isolation = mtce::script_isolation::cgroup;
    auto r = run(spec);
    BOOST_TEST((r.exit_code == 3));
    BOOST_TEST(r.out == "out\n");
    BOOST_TEST(r.err == "err\n");
    const auto parent = mtce::script_cgroup_parent();
    BOOST_REQUIRE(!parent.empty());
    for (const auto& entry : fs::directory_iterator(parent)) {
        BOOST_TEST(entry.path().filename().string().find("mtce-script-" + std::to_string(::getpid()) + "-") ==
                   std::string::npos);
    }
}

BOOST_AUTO_TEST_CASE(a_missing_program_in_a_cgroup_run_is_reported_as_not_started) {
    if (auto why = cgroup_unavailable(); !why.empty()) {
        BOOST_TEST_MESSAGE("skipped: " << why);
        return;
    }
    auto spec = spec_for("/nonexistent/program");
    spec.isolation = mtce::script_isolation::cgroup;
    auto r = run(spec);
    BOOST_TEST(!r.started);
    BOOST_TEST(r.start_error.find("No such file or directory") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(auto_isolation_takes_systemd_then_a_cgroup_then_the_process_group) {
    using mtce::choose_isolation;
    using mtce::script_isolation;
    const mtce::isolation_probes all{/*systemd_pid1=*/true, /*transient_units=*/true, /*cgroup=*/true};
    const mtce::isolation_probes no_units{/*systemd_pid1=*/true, /*transient_units=*/false, /*cgroup=*/true};
    const mtce::isolation_probes none{};
    BOOST_TEST((choose_isolation(script_isolation::automatic, all).mode == script_isolation::systemd));
    BOOST_TEST((choose_isolation(script_isolation::automatic, no_units).mode == script_isolation::cgroup));
    BOOST_TEST(choose_isolation(script_isolation::automatic, no_units).warning.empty());
    const auto fallback = choose_isolation(script_isolation::automatic, none);
    BOOST_TEST((fallback.mode == script_isolation::process_group));
    BOOST_TEST(fallback.warning.find("a process that calls setsid escapes the deadline") !=
               std::string::npos);
}

BOOST_AUTO_TEST_CASE(an_explicit_isolation_is_used_when_available_and_falls_back_with_a_warning) {
    using mtce::choose_isolation;
    using mtce::script_isolation;
    const mtce::isolation_probes cgroup_only{/*systemd_pid1=*/false, /*transient_units=*/false,
                                             /*cgroup=*/true};
    const mtce::isolation_probes none{};
    BOOST_TEST((choose_isolation(script_isolation::cgroup, cgroup_only).mode == script_isolation::cgroup));
    const auto no_systemd = choose_isolation(script_isolation::systemd, cgroup_only);
    BOOST_TEST((no_systemd.mode == script_isolation::cgroup));
    BOOST_TEST(no_systemd.warning.find("systemd") != std::string::npos);
    const auto no_cgroup = choose_isolation(script_isolation::cgroup, none);
    BOOST_TEST((no_cgroup.mode == script_isolation::process_group));
    BOOST_TEST(no_cgroup.warning.find("setsid") != std::string::npos);
    // Asked for on purpose: warned about all the same, since setsid escapes it.
    const auto pg = choose_isolation(script_isolation::process_group, cgroup_only);
    BOOST_TEST((pg.mode == script_isolation::process_group));
    BOOST_TEST(pg.warning.find("setsid") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(script_cgroups_left_by_an_earlier_agent_are_killed_and_removed) {
    if (auto why = cgroup_unavailable(); !why.empty()) {
        BOOST_TEST_MESSAGE("skipped: " << why);
        return;
    }
    // An agent that died with a script running: its cgroup, and a process still in it.
    const auto stale = mtce::script_cgroup_parent() / "mtce-script-999999999-1";
    BOOST_REQUIRE(fs::create_directory(stale));
    const pid_t pid = ::fork();
    BOOST_REQUIRE(pid >= 0);
    if (pid == 0) {
        std::ofstream(stale / "cgroup.procs") << "0" << std::flush;
        ::execl("/bin/sleep", "sleep", "300", static_cast<char*>(nullptr));
        ::_exit(127);
    }
    const auto deadline = clock_type::now() + 5s;
    while (clock_type::now() < deadline && std::ifstream(stale / "cgroup.procs").peek() == EOF) {
        std::this_thread::sleep_for(10ms);
    }
    BOOST_TEST(mtce::clear_stale_script_cgroups() >= 1u);
    int status = 0;
    BOOST_TEST(::waitpid(pid, &status, 0) == pid);
    BOOST_TEST(WIFSIGNALED(status));
    BOOST_TEST(!fs::exists(stale));
}

BOOST_AUTO_TEST_CASE(script_cgroups_of_a_live_agent_are_left_alone) {
    if (auto why = cgroup_unavailable(); !why.empty()) {
        BOOST_TEST_MESSAGE("skipped: " << why);
        return;
    }
    // Another agent on the same host (its pid is alive: our parent stands in for it).
    const auto other = mtce::script_cgroup_parent() / ("mtce-script-" + std::to_string(::getppid()) + "-1");
    BOOST_REQUIRE(fs::create_directory(other));
    (void)mtce::clear_stale_script_cgroups();
    BOOST_TEST(fs::exists(other));
    ::rmdir(other.c_str());
}
