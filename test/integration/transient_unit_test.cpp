// run_transient_unit() and start_system_unit() against a stand-in for systemd's manager on a private bus: a
// dbus-daemon started with the session configuration, and a thread that owns org.freedesktop.systemd1 and
// answers StartTransientUnit, StopUnit, KillUnit, StartUnit and Properties.Get as systemd does (JobRemoved,
// PropertiesChanged), running the program as its own child. It checks the daemon's side of the bus: the
// messages, the signals, the deadline and the result. systemd itself (cgroups, polkit) is not in it.
#define BOOST_TEST_MODULE transient_unit_test
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_future.hpp>

#include "core/transient_unit.hpp"
#include "run_awaitable.hpp"

extern char** environ;

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

/// One unit of the stand-in manager.
struct fake_unit {
    std::string path;
    pid_t pid = -1;
    std::string active_state = "activating";
    std::int32_t code = 0;
    std::int32_t status = 0;
    std::string result = "success";
    std::uint64_t stop_usec = 0;
    std::optional<clock_type::time_point> kill_at;
};

/// The stand-in for systemd's manager; runs on its own thread with its own connection.
class fake_systemd {
public:
    explicit fake_systemd(const std::string& address) {
        // The socket exists a moment before dbus-daemon listens on it.
        int r = -1;
        for (int i = 0; i < 500 && r < 0; ++i) {
            ::sd_bus_unref(std::exchange(bus_, nullptr));
            BOOST_TEST_REQUIRE(::sd_bus_new(&bus_) >= 0);
            BOOST_TEST_REQUIRE(::sd_bus_set_address(bus_, address.c_str()) >= 0);
            BOOST_TEST_REQUIRE(::sd_bus_set_bus_client(bus_, 1) >= 0);
            BOOST_TEST_REQUIRE(::sd_bus_negotiate_fds(bus_, 1) >= 0);
            r = ::sd_bus_start(bus_);
            if (r < 0) {
                std::this_thread::sleep_for(10ms);
            }
        }
        BOOST_TEST_REQUIRE(r >= 0);
        BOOST_TEST_REQUIRE(::sd_bus_add_object_vtable(bus_, nullptr, "/org/freedesktop/systemd1",
                                                      "org.freedesktop.systemd1.Manager", manager_vtable,
                                                      this) >= 0);
        BOOST_TEST_REQUIRE(::sd_bus_add_fallback_vtable(bus_, nullptr, "/org/freedesktop/systemd1/unit",
                                                        "org.freedesktop.systemd1.Unit", unit_vtable,
                                                        find_unit, this) >= 0);
        BOOST_TEST_REQUIRE(::sd_bus_add_fallback_vtable(bus_, nullptr, "/org/freedesktop/systemd1/unit",
                                                        "org.freedesktop.systemd1.Service", service_vtable,
                                                        find_unit, this) >= 0);
        BOOST_TEST_REQUIRE(::sd_bus_request_name(bus_, "org.freedesktop.systemd1", 0) >= 0);
        thread_ = std::thread([this] { loop(); });
    }
    fake_systemd(const fake_systemd&) = delete;
    fake_systemd& operator=(const fake_systemd&) = delete;
    ~fake_systemd() {
        stop_ = true;
        thread_.join();
        for (auto& [name, u] : units_) {
            if (u.pid > 0) {
                ::kill(u.pid, SIGKILL);
                ::waitpid(u.pid, nullptr, 0);
            }
        }
        ::sd_bus_flush_close_unref(bus_);
    }

    std::vector<std::string> calls() {
        std::lock_guard lock(mutex_);
        return calls_;
    }
    std::map<std::string, std::vector<std::string>> environments() {
        std::lock_guard lock(mutex_);
        return environments_;
    }

private:
    void record(std::string call) {
        std::lock_guard lock(mutex_);
        calls_.push_back(std::move(call));
    }

    void loop() {
        while (!stop_) {
            while (::sd_bus_process(bus_, nullptr) > 0) {
            }
            reap();
            (void)::sd_bus_wait(bus_, 10'000);
        }
    }

    void reap() {
        for (auto& [name, u] : units_) {
            if (u.pid <= 0) {
                continue;
            }
            if (u.kill_at && clock_type::now() >= *u.kill_at) {
                ::kill(-u.pid, SIGKILL);
                u.kill_at.reset();
            }
            int st = 0;
            if (::waitpid(u.pid, &st, WNOHANG) != u.pid) {
                continue;
            }
            u.pid = -1;
            if (WIFEXITED(st)) {
                u.code = CLD_EXITED;
                u.status = WEXITSTATUS(st);
                u.result = u.status == 0 ? "success" : "exit-code";
            } else {
                u.code = CLD_KILLED;
                u.status = WTERMSIG(st);
                u.result = "signal";
            }
            u.active_state = u.result == "success" ? "inactive" : "failed";
            (void)::sd_bus_emit_properties_changed(bus_, u.path.c_str(), "org.freedesktop.systemd1.Unit",
                                                   "ActiveState", nullptr);
        }
    }

    static int find_unit(sd_bus*, const char* path, const char*, void* userdata, void** found,
                         sd_bus_error*) {
        auto* self = static_cast<fake_systemd*>(userdata);
        for (auto& [name, u] : self->units_) {
            if (u.path == path) {
                *found = &u;
                return 1;
            }
        }
        return 0;
    }

    static int get_active_state(sd_bus*, const char*, const char*, const char*, sd_bus_message* reply,
                                void* userdata, sd_bus_error*) {
        return ::sd_bus_message_append(reply, "s", static_cast<fake_unit*>(userdata)->active_state.c_str());
    }
    static int get_result(sd_bus*, const char*, const char*, const char*, sd_bus_message* reply,
                          void* userdata, sd_bus_error*) {
        return ::sd_bus_message_append(reply, "s", static_cast<fake_unit*>(userdata)->result.c_str());
    }
    static int get_code(sd_bus*, const char*, const char*, const char*, sd_bus_message* reply, void* userdata,
                        sd_bus_error*) {
        return ::sd_bus_message_append(reply, "i", static_cast<fake_unit*>(userdata)->code);
    }
    static int get_status(sd_bus*, const char*, const char*, const char*, sd_bus_message* reply,
                          void* userdata, sd_bus_error*) {
        return ::sd_bus_message_append(reply, "i", static_cast<fake_unit*>(userdata)->status);
    }
    static int unref(sd_bus_message* m, void*, sd_bus_error*) { return ::sd_bus_reply_method_return(m, ""); }

    static int subscribe(sd_bus_message* m, void* userdata, sd_bus_error*) {
        static_cast<fake_systemd*>(userdata)->record("Subscribe");
        return ::sd_bus_reply_method_return(m, "");
    }

    static int start_unit(sd_bus_message* m, void* userdata, sd_bus_error*) {
        const char* name = nullptr;
        const char* mode = nullptr;
        int r = ::sd_bus_message_read(m, "ss", &name, &mode);
        if (r < 0) {
            return r;
        }
        static_cast<fake_systemd*>(userdata)->record(std::string("StartUnit ") + name + " " + mode);
        return ::sd_bus_reply_method_return(m, "o", "/org/freedesktop/systemd1/job/1");
    }

    static int stop_unit(sd_bus_message* m, void* userdata, sd_bus_error* error) {
        auto* self = static_cast<fake_systemd*>(userdata);
        const char* name = nullptr;
        const char* mode = nullptr;
        int r = ::sd_bus_message_read(m, "ss", &name, &mode);
        if (r < 0) {
            return r;
        }
        self->record(std::string("StopUnit ") + name);
        auto it = self->units_.find(name);
        if (it == self->units_.end()) {
            return ::sd_bus_error_set(error, "org.freedesktop.systemd1.NoSuchUnit", "no such unit");
        }
        if (it->second.pid > 0) {
            ::kill(-it->second.pid, SIGTERM);
            it->second.kill_at = clock_type::now() + std::chrono::microseconds(it->second.stop_usec);
        }
        return ::sd_bus_reply_method_return(m, "o", "/org/freedesktop/systemd1/job/2");
    }

    static int kill_unit(sd_bus_message* m, void* userdata, sd_bus_error* error) {
        auto* self = static_cast<fake_systemd*>(userdata);
        const char* name = nullptr;
        const char* who = nullptr;
        std::int32_t sig = 0;
        int r = ::sd_bus_message_read(m, "ssi", &name, &who, &sig);
        if (r < 0) {
            return r;
        }
        self->record(std::string("KillUnit ") + name + " " + who + " " + std::to_string(sig));
        auto it = self->units_.find(name);
        if (it == self->units_.end()) {
            return ::sd_bus_error_set(error, "org.freedesktop.systemd1.NoSuchUnit", "no such unit");
        }
        if (it->second.pid > 0) {
            ::kill(-it->second.pid, sig);
        }
        return ::sd_bus_reply_method_return(m, "");
    }

    static int read_strings(sd_bus_message* m, std::vector<std::string>& out) {
        int r = ::sd_bus_message_enter_container(m, 'a', "s");
        const char* s = nullptr;
        while (r >= 0 && (r = ::sd_bus_message_read_basic(m, 's', &s)) > 0) {
            out.emplace_back(s);
        }
        return r < 0 ? r : ::sd_bus_message_exit_container(m);
    }

    static int start_transient_unit(sd_bus_message* m, void* userdata, sd_bus_error* error) {
        auto* self = static_cast<fake_systemd*>(userdata);
        const char* name = nullptr;
        const char* mode = nullptr;
        int r = ::sd_bus_message_read(m, "ss", &name, &mode);
        if (r < 0) {
            return r;
        }
        std::string program;
        std::vector<std::string> argv;
        std::vector<std::string> env;
        std::string cwd = "/";
        int out = -1;
        int err = -1;
        fake_unit unit;
        r = ::sd_bus_message_enter_container(m, 'a', "(sv)");
        while (r >= 0 && (r = ::sd_bus_message_enter_container(m, 'r', "sv")) > 0) {
            const char* key = nullptr;
            r = ::sd_bus_message_read(m, "s", &key);
            std::string k = key != nullptr ? key : "";
            if (k == "ExecStart") {
                int b = 0;
                const char* path = nullptr;
                r = ::sd_bus_message_enter_container(m, 'v', "a(sasb)");
                r = ::sd_bus_message_enter_container(m, 'a', "(sasb)");
                r = ::sd_bus_message_enter_container(m, 'r', "sasb");
                r = ::sd_bus_message_read(m, "s", &path);
                program = path;
                r = read_strings(m, argv);
                r = ::sd_bus_message_read(m, "b", &b);
                r = ::sd_bus_message_exit_container(m);
                r = ::sd_bus_message_exit_container(m);
                r = ::sd_bus_message_exit_container(m);
            } else if (k == "Environment") {
                r = ::sd_bus_message_enter_container(m, 'v', "as");
                r = read_strings(m, env);
                r = ::sd_bus_message_exit_container(m);
            } else if (k == "WorkingDirectory") {
                const char* s = nullptr;
                r = ::sd_bus_message_read(m, "v", "s", &s);
                cwd = s;
            } else if (k == "StandardOutputFileDescriptor" || k == "StandardErrorFileDescriptor") {
                int fd = -1;
                r = ::sd_bus_message_read(m, "v", "h", &fd);
                (k == "StandardOutputFileDescriptor" ? out : err) = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
            } else if (k == "TimeoutStopUSec") {
                r = ::sd_bus_message_read(m, "v", "t", &unit.stop_usec);
            } else {
                r = ::sd_bus_message_skip(m, "v");
            }
            if (r >= 0) {
                r = ::sd_bus_message_exit_container(m);
            }
        }
        if (r < 0) {
            return r;
        }
        self->record(std::string("StartTransientUnit ") + name + " " + mode);
        {
            std::lock_guard lock(self->mutex_);
            self->environments_[name] = env;
        }
        if (program == "/refused") {
            ::close(out);
            ::close(err);
            return ::sd_bus_error_set(error, "org.freedesktop.DBus.Error.AccessDenied", "Access denied");
        }
        char* path = nullptr;
        (void)::sd_bus_path_encode("/org/freedesktop/systemd1/unit", name, &path);
        unit.path = path;
        ::free(path);
        std::string job_result = "done";
        if (::access(program.c_str(), X_OK) != 0) {
            unit.active_state = "failed";
            unit.code = CLD_EXITED;
            unit.status = 203;
            unit.result = "exit-code";
            job_result = "failed";
        } else {
            unit.pid = spawn(program, argv, env, cwd, out, err);
            unit.active_state = "active";
        }
        ::close(out);
        ::close(err);
        self->units_[name] = unit;
        r = ::sd_bus_reply_method_return(m, "o", "/org/freedesktop/systemd1/job/7");
        (void)::sd_bus_emit_signal(self->bus_, "/org/freedesktop/systemd1",
                                   "org.freedesktop.systemd1.Manager", "JobRemoved", "uoss", 7U,
                                   "/org/freedesktop/systemd1/job/7", name, job_result.c_str());
        return r;
    }

    static pid_t spawn(const std::string& program, const std::vector<std::string>& args,
                       const std::vector<std::string>& env, const std::string& cwd, int out, int err) {
        std::vector<char*> argv;
        for (const auto& a : args) {
            argv.push_back(const_cast<char*>(a.c_str()));
        }
        argv.push_back(nullptr);
        std::vector<char*> envp;
        for (const auto& e : env) {
            envp.push_back(const_cast<char*>(e.c_str()));
        }
        envp.push_back(nullptr);
        posix_spawn_file_actions_t actions;
        ::posix_spawn_file_actions_init(&actions);
        ::posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
        ::posix_spawn_file_actions_adddup2(&actions, out, 1);
        ::posix_spawn_file_actions_adddup2(&actions, err, 2);
        ::posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
        posix_spawnattr_t attr;
        ::posix_spawnattr_init(&attr);
        ::posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
        ::posix_spawnattr_setpgroup(&attr, 0);
        pid_t pid = -1;
        int r = ::posix_spawn(&pid, program.c_str(), &actions, &attr, argv.data(), envp.data());
        ::posix_spawn_file_actions_destroy(&actions);
        ::posix_spawnattr_destroy(&attr);
        return r == 0 ? pid : -1;
    }

    static const sd_bus_vtable manager_vtable[];
    static const sd_bus_vtable unit_vtable[];
    static const sd_bus_vtable service_vtable[];

    sd_bus* bus_ = nullptr;
    std::thread thread_;
    std::atomic<bool> stop_{false};
    std::map<std::string, fake_unit> units_;  // only the fake's thread touches it
    std::mutex mutex_;
    std::vector<std::string> calls_;
    std::map<std::string, std::vector<std::string>> environments_;
};

const sd_bus_vtable fake_systemd::manager_vtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_METHOD("StartTransientUnit", "ssa(sv)a(sa(sv))", "o", start_transient_unit, 0),
    SD_BUS_METHOD("StartUnit", "ss", "o", start_unit, 0),
    SD_BUS_METHOD("StopUnit", "ss", "o", stop_unit, 0),
    SD_BUS_METHOD("KillUnit", "ssi", "", kill_unit, 0),
    SD_BUS_METHOD("Subscribe", "", "", subscribe, 0),
    SD_BUS_SIGNAL("JobRemoved", "uoss", 0),
    SD_BUS_VTABLE_END,
};
const sd_bus_vtable fake_systemd::unit_vtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_PROPERTY("ActiveState", "s", get_active_state, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_METHOD("Unref", "", "", unref, 0),
    SD_BUS_VTABLE_END,
};
const sd_bus_vtable fake_systemd::service_vtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_PROPERTY("ExecMainCode", "i", get_code, 0, 0),
    SD_BUS_PROPERTY("ExecMainStatus", "i", get_status, 0, 0),
    SD_BUS_PROPERTY("Result", "s", get_result, 0, 0),
    SD_BUS_VTABLE_END,
};

/// A private dbus-daemon (session configuration) on a socket in a temporary directory, and the stand-in
/// manager on it; the system bus of this process points there.
struct private_bus {
    /// Stops the dbus-daemon however the set-up ends.
    struct process {
        pid_t pid = -1;
        process() = default;
        process(const process&) = delete;
        process& operator=(const process&) = delete;
        ~process() {
            if (pid > 0) {
                ::kill(pid, SIGTERM);
                ::waitpid(pid, nullptr, 0);
            }
        }
    };

    private_bus() {
        static int instance = 0;
        dir = fs::temp_directory_path() /
              ("mtce-bus-" + std::to_string(::getpid()) + "-" + std::to_string(++instance));
        fs::create_directories(dir);
        address = "unix:path=" + (dir / "bus").string();
        std::string config = "--config-file=/usr/share/dbus-1/session.conf";
        std::string listen = "--address=" + address;
        const char* argv[] = {"dbus-daemon", config.c_str(), listen.c_str(),
                              "--nofork",    "--nopidfile",  nullptr};
        BOOST_TEST_REQUIRE(::posix_spawnp(&daemon.pid, "dbus-daemon", nullptr, nullptr,
                                          const_cast<char**>(argv), environ) == 0);
        for (int i = 0; i < 500 && !fs::exists(dir / "bus"); ++i) {
            std::this_thread::sleep_for(10ms);
        }
        BOOST_TEST_REQUIRE(fs::exists(dir / "bus"));
        ::setenv("DBUS_SYSTEM_BUS_ADDRESS", address.c_str(), 1);
        manager = std::make_unique<fake_systemd>(address);
    }
    ~private_bus() {
        manager.reset();
        std::error_code ignored;
        fs::remove_all(dir, ignored);
    }
    fs::path dir;
    std::string address;
    process daemon;  // stopped after the manager, before the directory goes
    std::unique_ptr<fake_systemd> manager;
};

bool have_dbus_daemon() {
    return std::system("command -v dbus-daemon >/dev/null 2>&1") == 0;
}

mtce::child_spec shell(std::string script) {
    mtce::child_spec spec;
    spec.program = "/bin/sh";
    spec.args = {"-c", std::move(script)};
    spec.env = {{"PATH", "/usr/bin:/bin"}, {"MTCE_FUNCTION", "worker"}};
    spec.deadline = 5s;
    spec.kill_grace = 300ms;
    spec.isolation = mtce::script_isolation::systemd;
    return spec;
}

}  // namespace

BOOST_AUTO_TEST_CASE(output_and_exit_code_come_back_from_the_unit, *boost::unit_test::timeout(60)) {
    if (!have_dbus_daemon()) {
        BOOST_TEST_MESSAGE("dbus-daemon is not installed: skipped");
        return;
    }
    private_bus bus;
    const auto result = mtce::test::run_awaitable(mtce::run_child(shell("echo out; echo err >&2; exit 3")));
    BOOST_TEST(result.started, result.start_error);
    BOOST_TEST((result.exit_code == 3));
    BOOST_TEST(!result.timed_out);
    BOOST_TEST(result.out == "out\n");
    BOOST_TEST(result.err == "err\n");
    const auto calls = bus.manager->calls();
    BOOST_TEST_REQUIRE(calls.size() >= 2U);
    BOOST_TEST(calls[0] == "Subscribe");
    BOOST_TEST(
        calls[1].rfind("StartTransientUnit mtce-script-sh-" + std::to_string(::getpid()) + "-", 0) == 0U,
        calls[1]);
    BOOST_TEST(calls[1].find(".service fail") != std::string::npos);
    const auto envs = bus.manager->environments();
    BOOST_TEST_REQUIRE(envs.size() == 1U);
    BOOST_TEST(
        envs.begin()->second == (std::vector<std::string>{"PATH=/usr/bin:/bin", "MTCE_FUNCTION=worker"}),
        boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(output_beyond_the_limit_is_counted_not_kept, *boost::unit_test::timeout(60)) {
    if (!have_dbus_daemon()) {
        return;
    }
    private_bus bus;
    auto spec = shell("head -c 100000 /dev/zero");
    spec.output_limit = 1000;
    const auto result = mtce::test::run_awaitable(mtce::run_child(spec));
    BOOST_TEST(result.ok(), result.describe());
    BOOST_TEST(result.out.size() == 1000U);
    BOOST_TEST(result.out_dropped == 99000U);
}

BOOST_AUTO_TEST_CASE(at_the_deadline_the_unit_is_stopped_and_reported_as_timed_out,
                     *boost::unit_test::timeout(60)) {
    if (!have_dbus_daemon()) {
        return;
    }
    private_bus bus;
    auto spec = shell("sleep 30");
    spec.deadline = 300ms;
    const auto started = clock_type::now();
    const auto result = mtce::test::run_awaitable(mtce::run_child(spec));
    BOOST_TEST(result.started);
    BOOST_TEST(result.timed_out);
    BOOST_TEST((result.signal == SIGTERM));
    BOOST_TEST((clock_type::now() - started < 4s));
    const auto calls = bus.manager->calls();
    BOOST_TEST(
        std::any_of(calls.begin(), calls.end(), [](const auto& c) { return c.rfind("StopUnit ", 0) == 0; }));
}

BOOST_AUTO_TEST_CASE(a_unit_that_ignores_sigterm_is_killed_after_the_grace, *boost::unit_test::timeout(60)) {
    if (!have_dbus_daemon()) {
        return;
    }
    private_bus bus;
    auto spec = shell("trap '' TERM; while :; do sleep 0.05; done");
    spec.deadline = 300ms;
    const auto result = mtce::test::run_awaitable(mtce::run_child(spec));
    BOOST_TEST(result.timed_out);
    BOOST_TEST((result.signal == SIGKILL), result.describe());
}

BOOST_AUTO_TEST_CASE(a_program_systemd_cannot_execute_is_not_started, *boost::unit_test::timeout(60)) {
    if (!have_dbus_daemon()) {
        return;
    }
    private_bus bus;
    auto spec = shell("");
    spec.program = "/nonexistent/script";
    const auto result = mtce::test::run_awaitable(mtce::run_child(spec));
    BOOST_TEST(!result.started);
    BOOST_TEST(result.start_error.find("job failed") != std::string::npos, result.start_error);
    BOOST_TEST(result.start_error.find("status 203") != std::string::npos, result.start_error);
}

BOOST_AUTO_TEST_CASE(a_refused_start_is_a_start_error_naming_systemds_answer,
                     *boost::unit_test::timeout(60)) {
    if (!have_dbus_daemon()) {
        return;
    }
    private_bus bus;
    auto spec = shell("");
    spec.program = "/refused";
    const auto result = mtce::test::run_awaitable(mtce::run_child(spec));
    BOOST_TEST(!result.started);
    BOOST_TEST(result.start_error.find("AccessDenied") != std::string::npos, result.start_error);
}

BOOST_AUTO_TEST_CASE(cancelling_the_run_kills_the_units_cgroup, *boost::unit_test::timeout(60)) {
    if (!have_dbus_daemon()) {
        return;
    }
    private_bus bus;
    asio::io_context io;
    asio::cancellation_signal cancel;
    auto done = asio::co_spawn(io, mtce::run_child(shell("sleep 30")),
                               asio::bind_cancellation_slot(cancel.slot(), asio::use_future));
    asio::steady_timer timer(io, 500ms);
    timer.async_wait([&](const asio::error_code&) { cancel.emit(asio::cancellation_type::terminal); });
    io.run();
    BOOST_CHECK_THROW(done.get(), std::exception);
    const auto killed = [](const std::string& c) {
        return c.rfind("KillUnit ", 0) == 0 && c.ends_with(" all 9");
    };
    auto calls = bus.manager->calls();
    // The request is on its way (sent and flushed); the stand-in may take a moment on a busy machine.
    for (int i = 0; i < 500 && std::none_of(calls.begin(), calls.end(), killed); ++i) {
        std::this_thread::sleep_for(10ms);
        calls = bus.manager->calls();
    }
    std::string all;
    for (const auto& c : calls) {
        all += c + "; ";
    }
    BOOST_TEST(std::any_of(calls.begin(), calls.end(), killed), all);
}

BOOST_AUTO_TEST_CASE(a_reboot_starts_reboot_target_irreversibly, *boost::unit_test::timeout(60)) {
    if (!have_dbus_daemon()) {
        return;
    }
    private_bus bus;
    const auto error =
        mtce::test::run_awaitable(mtce::start_system_unit("reboot.target", "replace-irreversibly"));
    BOOST_TEST(error.empty(), error);
    const auto calls = bus.manager->calls();
    BOOST_TEST((std::find(calls.begin(), calls.end(), "StartUnit reboot.target replace-irreversibly") !=
                calls.end()));
}
