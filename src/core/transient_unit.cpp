#include "core/transient_unit.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>

#include <asio/cancellation_state.hpp>
#include <asio/cancellation_type.hpp>
#include <asio/error.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include "core/output_capture.hpp"

namespace mtce {

namespace transient {

std::string unit_name(std::string_view program, std::int64_t pid, std::uint64_t n) {
    constexpr std::size_t max_stem = 64;
    std::string_view stem = program.substr(program.find_last_of('/') + 1);
    std::string name{unit_prefix};
    for (const char c : stem.substr(0, max_stem)) {
        const bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                             c == '-' || c == '_' || c == '.' || c == ':';
        name += allowed ? c : '_';
    }
    if (stem.empty()) {
        name += "script";
    }
    return name + "-" + std::to_string(pid) + "-" + std::to_string(n) + ".service";
}

std::vector<property> properties(const child_spec& spec) {
    using std::chrono::duration_cast;
    using std::chrono::microseconds;
    const auto usec = [](std::chrono::milliseconds d) {
        return static_cast<std::uint64_t>(duration_cast<microseconds>(std::max(d, {})).count());
    };
    // A run that the daemon can no longer stop (it crashed or was killed) still ends: the deadline and the
    // grace, plus as long again as a SIGKILLed process is given to disappear.
    constexpr std::chrono::milliseconds backstop_margin = std::chrono::seconds{30};
    constexpr std::chrono::milliseconds backstop_cap = std::chrono::hours{24 * 365};

    exec_command exec{spec.program.string(), {spec.program.string()}, /*ignore_failure=*/false};
    exec.argv.insert(exec.argv.end(), spec.args.begin(), spec.args.end());
    std::vector<std::string> env;
    env.reserve(spec.env.size());
    for (const auto& [name, value] : spec.env) {
        env.emplace_back(name).append("=").append(value);
    }
    std::string description = "mtce script " + spec.program.string();
    for (const auto& arg : spec.args) {
        description.append(" ").append(arg);
    }
    return {
        {"Description", description},
        // The start job succeeds only once the program was executed: a missing program fails the start.
        {"Type", std::string{"exec"}},
        {"ExecStart", exec},
        {"Environment", env},
        {"WorkingDirectory", spec.cwd.string()},
        {"StandardInput", std::string{"null"}},
        {"StandardOutputFileDescriptor", stdio_fd::out},
        {"StandardErrorFileDescriptor", stdio_fd::err},
        // run_child's children get default signal dispositions; systemd ignores SIGPIPE by default.
        {"IgnoreSIGPIPE", false},
        // StopUnit: SIGTERM to every process of the unit's cgroup, SIGKILL to all after kill_grace.
        {"KillMode", std::string{"control-group"}},
        {"SendSIGKILL", true},
        {"TimeoutStopUSec", usec(spec.kill_grace)},
        {"RuntimeMaxUSec", usec(std::min(spec.deadline, backstop_cap) + spec.kill_grace + backstop_margin)},
        // Held loaded by our bus connection until its result was read, then collected even if it failed.
        {"AddRef", true},
        {"CollectMode", std::string{"inactive-or-failed"}},
    };
}

void apply_outcome(const child_spec& spec, const unit_outcome& outcome, child_result& result) {
    if (outcome.job_result != "done") {
        result.started = false;
        std::string reason = "systemd could not start it (job " +
                             (outcome.job_result.empty() ? std::string{"unknown"} : outcome.job_result);
        if (!outcome.result.empty() && outcome.result != "success") {
            reason += ", unit result " + outcome.result;
        }
        if (outcome.exec_main_code == CLD_EXITED && outcome.exec_main_status != 0) {
            // systemd's own exit statuses: 200 working directory, 203 exec, ... (systemd.exec(5)).
            reason += ", status " + std::to_string(outcome.exec_main_status);
        }
        result.start_error = "could not start '" + spec.program.string() + "': " + reason + ")";
        return;
    }
    result.started = true;
    result.start_error.clear();
    switch (outcome.exec_main_code) {
    case CLD_EXITED:
        result.exit_code = outcome.exec_main_status;
        break;
    case CLD_KILLED:
    case CLD_DUMPED:
        result.signal = outcome.exec_main_status;
        break;
    default:
        break;  // not known: describe() says "exit status unknown"
    }
}

}  // namespace transient

namespace {

using detail::output_capture;
using detail::throw_if_cancelled;
using detail::unique_fd;

using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;
using clock_type = std::chrono::steady_clock;

constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

constexpr const char* systemd_service = "org.freedesktop.systemd1";
constexpr const char* manager_path = "/org/freedesktop/systemd1";
constexpr const char* manager_interface = "org.freedesktop.systemd1.Manager";
constexpr const char* unit_interface = "org.freedesktop.systemd1.Unit";
constexpr const char* service_interface = "org.freedesktop.systemd1.Service";
constexpr const char* properties_interface = "org.freedesktop.DBus.Properties";

/// Every method call on the bus gets this long for its reply.
constexpr auto bus_call_deadline = 10s;
/// After SIGKILL a process dies at once unless it is stuck in the kernel.
constexpr auto kill_bound = 30s;
/// How long a cancelled run may block the loop to have its unit killed (systemd answers in milliseconds).
constexpr auto cancel_kill_deadline = 2s;
/// The unit's state is read again at least this often, even without a PropertiesChanged signal.
constexpr auto state_recheck = 2s;
/// Once the unit is inactive, systemd closes its copies of the pipes; only an escaped process could hold
/// them longer, and this bounds how long it can delay us.

std::atomic<std::uint64_t> unit_counter{0};

clock_type::time_point after(clock_type::time_point from, std::chrono::milliseconds d) {
    constexpr std::chrono::milliseconds cap = std::chrono::hours(24 * 365 * 10);
    return from + std::min(d, cap);
}

std::string errno_text(int error) {
    return std::error_code(error, std::generic_category()).message();
}

/// A pipe for one output stream: our end non-blocking, the unit's end blocking (handed to systemd).
int make_pipe(unique_fd& read_end, unique_fd& write_end) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        return errno;
    }
    read_end.reset(fds[0]);
    write_end.reset(fds[1]);
    int flags = ::fcntl(read_end.get(), F_GETFL);
    if (flags < 0 || ::fcntl(read_end.get(), F_SETFL, flags | O_NONBLOCK) != 0) {
        return errno;
    }
    return 0;
}

struct bus_unref {
    void operator()(sd_bus* bus) const { ::sd_bus_flush_close_unref(bus); }
};
struct message_unref {
    void operator()(sd_bus_message* m) const { ::sd_bus_message_unref(m); }
};
struct slot_unref {
    void operator()(sd_bus_slot* s) const { ::sd_bus_slot_unref(s); }
};
using bus_ptr = std::unique_ptr<sd_bus, bus_unref>;
using message_ptr = std::unique_ptr<sd_bus_message, message_unref>;
using slot_ptr = std::unique_ptr<sd_bus_slot, slot_unref>;

/// The outcome of one method call: the reply, or why there is none.
struct call_result {
    message_ptr reply;
    std::string error;  ///< empty on success
};

std::string bus_error_text(int r) {
    return errno_text(r < 0 ? -r : r);
}

/// One connection to the system bus, driven from the event loop: its fd waits in a stream_descriptor, and
/// sd_bus_process runs until idle whenever it is ready or sd-bus's own timeout (a call's deadline) passes.
/// Used by one coroutine at a time.
class bus_connection {
public:
    explicit bus_connection(const asio::any_io_executor& ex) : fd_(ex), timer_(ex) {}
    bus_connection(const bus_connection&) = delete;
    bus_connection& operator=(const bus_connection&) = delete;
    ~bus_connection() {
        // The descriptor belongs to sd-bus, which closes it.
        if (fd_.is_open()) {
            (void)fd_.release();
        }
    }

    /// Connects to the system bus; returns an empty string or why not.
    std::string open() {
        sd_bus* bus = nullptr;
        int r = ::sd_bus_open_system(&bus);
        if (r < 0) {
            return "cannot connect to the system bus: " + bus_error_text(r);
        }
        bus_.reset(bus);
        (void)::sd_bus_set_allow_interactive_authorization(bus, 0);
        r = ::sd_bus_get_fd(bus);
        if (r < 0) {
            return "cannot connect to the system bus: " + bus_error_text(r);
        }
        asio::error_code ec;
        fd_.assign(r, ec);
        if (ec) {
            return "cannot watch the system bus: " + ec.message();
        }
        return {};
    }

    [[nodiscard]] sd_bus* get() const { return bus_.get(); }

    /// A method call to systemd, to be filled by the caller.
    message_ptr method_call(const char* path, const char* interface, const char* member) {
        sd_bus_message* m = nullptr;
        int r = ::sd_bus_message_new_method_call(bus_.get(), &m, systemd_service, path, interface, member);
        if (r < 0) {
            throw std::system_error(-r, std::generic_category(), "sd_bus_message_new_method_call");
        }
        return message_ptr{m};
    }

    /// Sends `m` and waits for its reply, at most bus_call_deadline.
    asio::awaitable<call_result> call(message_ptr m) {
        struct pending {
            bool done = false;
            message_ptr reply;
        } state;
        auto on_reply = [](sd_bus_message* reply, void* userdata, sd_bus_error*) -> int {
            auto* p = static_cast<pending*>(userdata);
            p->reply.reset(::sd_bus_message_ref(reply));
            p->done = true;
            return 0;
        };
        sd_bus_slot* raw = nullptr;
        const auto usec = std::chrono::duration_cast<std::chrono::microseconds>(bus_call_deadline).count();
        int r = ::sd_bus_call_async(bus_.get(), &raw, m.get(), on_reply, &state,
                                    static_cast<std::uint64_t>(usec));
        if (r < 0) {
            co_return call_result{nullptr, "cannot send to the system bus: " + bus_error_text(r)};
        }
        slot_ptr slot{raw};  // dropping it cancels the call, so the callback never sees a dead frame
        // sd-bus answers a call that outlives its timeout itself; our own deadline is a margin above it.
        auto until = clock_type::now() + bus_call_deadline + 1s;
        std::string error = co_await pump_until(state.done, until);
        if (!error.empty()) {
            co_return call_result{nullptr, std::move(error)};
        }
        if (!state.done) {
            co_return call_result{
                nullptr, "no reply from systemd within " + std::to_string(bus_call_deadline.count()) + "s"};
        }
        if (const sd_bus_error* e = ::sd_bus_message_get_error(state.reply.get())) {
            std::string text = e->name != nullptr ? e->name : "error";
            if (e->message != nullptr) {
                text += ": " + std::string{e->message};
            }
            co_return call_result{nullptr, std::move(text)};
        }
        co_return call_result{std::move(state.reply), {}};
    }

    /// Sends `m` and blocks until its reply, at most `limit`: only for the way out of a cancelled run, where
    /// nothing can be awaited and a message sent just before the connection closes could be lost.
    void call_blocking(message_ptr m, std::chrono::milliseconds limit) {
        const auto usec = std::chrono::duration_cast<std::chrono::microseconds>(limit).count();
        sd_bus_error error = SD_BUS_ERROR_NULL;
        (void)::sd_bus_call(bus_.get(), m.get(), static_cast<std::uint64_t>(usec), &error, nullptr);
        ::sd_bus_error_free(&error);
    }

    /// Sends `m` without waiting for a reply (fire and forget), and flushes it out.
    void send_now(message_ptr m) {
        (void)::sd_bus_message_set_expect_reply(m.get(), 0);
        (void)::sd_bus_send(bus_.get(), m.get(), nullptr);
        (void)::sd_bus_flush(bus_.get());
    }

    /// Processes the bus until `done` is true or `until` passes. Returns an empty string, or why the
    /// connection failed.
    asio::awaitable<std::string> pump_until(const bool& done, clock_type::time_point until) {
        for (;;) {
            int r = 0;
            do {
                r = ::sd_bus_process(bus_.get(), nullptr);
            } while (r > 0);
            if (r < 0) {
                co_return "system bus connection failed: " + bus_error_text(r);
            }
            if (done || clock_type::now() >= until) {
                co_return std::string{};
            }
            auto wake = until;
            std::uint64_t usec = 0;
            if (::sd_bus_get_timeout(bus_.get(), &usec) >= 0 && usec != UINT64_MAX) {
                // sd-bus's timeouts are CLOCK_MONOTONIC, which is steady_clock's clock on Linux.
                auto at = clock_type::time_point{
                    std::chrono::duration_cast<clock_type::duration>(std::chrono::microseconds{usec})};
                wake = std::min(wake, at);
            }
            timer_.expires_at(wake);
            const int events = ::sd_bus_get_events(bus_.get());
            const auto kind = (events > 0 && (events & POLLOUT) != 0)
                                  ? asio::posix::descriptor_base::wait_write
                                  : asio::posix::descriptor_base::wait_read;
            // as_tuple on both sides: in Asio 1.22 `||` waits for the first *successful* operation.
            co_await (fd_.async_wait(kind, use_tuple) || timer_.async_wait(use_tuple));
            co_await throw_if_cancelled();
        }
    }

private:
    bus_ptr bus_;
    asio::posix::stream_descriptor fd_;
    asio::steady_timer timer_;
};

/// Appends the properties of a transient unit as "a(sv)".
int append_properties(sd_bus_message* m, const std::vector<transient::property>& props, int out_fd,
                      int err_fd) {
    int r = ::sd_bus_message_open_container(m, 'a', "(sv)");
    for (const auto& p : props) {
        if (r < 0) {
            return r;
        }
        r = ::sd_bus_message_open_container(m, 'r', "sv");
        if (r >= 0) {
            r = ::sd_bus_message_append_basic(m, 's', p.name.c_str());
        }
        if (r < 0) {
            return r;
        }
        r = std::visit(
            [&](const auto& v) -> int {
                using T = std::decay_t<decltype(v)>;
                if constexpr (std::is_same_v<T, bool>) {
                    return ::sd_bus_message_append(m, "v", "b", static_cast<int>(v));
                } else if constexpr (std::is_same_v<T, std::uint64_t>) {
                    return ::sd_bus_message_append(m, "v", "t", v);
                } else if constexpr (std::is_same_v<T, std::string>) {
                    return ::sd_bus_message_append(m, "v", "s", v.c_str());
                } else if constexpr (std::is_same_v<T, transient::stdio_fd>) {
                    return ::sd_bus_message_append(m, "v", "h",
                                                   v == transient::stdio_fd::out ? out_fd : err_fd);
                } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
                    int q = ::sd_bus_message_open_container(m, 'v', "as");
                    if (q >= 0) {
                        q = ::sd_bus_message_open_container(m, 'a', "s");
                    }
                    for (const auto& s : v) {
                        if (q >= 0) {
                            q = ::sd_bus_message_append_basic(m, 's', s.c_str());
                        }
                    }
                    if (q >= 0) {
                        q = ::sd_bus_message_close_container(m);
                    }
                    return q >= 0 ? ::sd_bus_message_close_container(m) : q;
                } else {
                    static_assert(std::is_same_v<T, transient::exec_command>);
                    int q = ::sd_bus_message_open_container(m, 'v', "a(sasb)");
                    const auto then = [&q](auto&& step) {
                        if (q >= 0) {
                            q = step();
                        }
                    };
                    then([&] { return ::sd_bus_message_open_container(m, 'a', "(sasb)"); });
                    then([&] { return ::sd_bus_message_open_container(m, 'r', "sasb"); });
                    then([&] { return ::sd_bus_message_append_basic(m, 's', v.path.c_str()); });
                    then([&] { return ::sd_bus_message_open_container(m, 'a', "s"); });
                    for (const auto& arg : v.argv) {
                        then([&] { return ::sd_bus_message_append_basic(m, 's', arg.c_str()); });
                    }
                    then([&] { return ::sd_bus_message_close_container(m); });  // argv
                    then([&] { return ::sd_bus_message_append(m, "b", static_cast<int>(v.ignore_failure)); });
                    then([&] { return ::sd_bus_message_close_container(m); });  // the struct
                    then([&] { return ::sd_bus_message_close_container(m); });  // the array
                    then([&] { return ::sd_bus_message_close_container(m); });  // the variant
                    return q;
                }
            },
            p.value);
        if (r >= 0) {
            r = ::sd_bus_message_close_container(m);
        }
    }
    return r < 0 ? r : ::sd_bus_message_close_container(m);
}

/// Reads a property's variant of basic type `type` from a Properties.Get reply.
template <typename T>
bool read_variant(sd_bus_message* reply, char type, T& out) {
    const char contents[2] = {type, '\0'};
    if (::sd_bus_message_enter_container(reply, 'v', contents) < 0) {
        return false;
    }
    return ::sd_bus_message_read_basic(reply, type, &out) >= 0;
}

/// Watches one transient unit: its start job, its state, the deadline, and its output.
class unit_supervisor {
public:
    unit_supervisor(const asio::any_io_executor& ex, const child_spec& spec, child_result& result,
                    clock_type::time_point started_at)
        : spec_(spec), result_(result), started_at_(started_at), bus_(ex), output_(ex, spec.output_limit) {}

    unit_supervisor(const unit_supervisor&) = delete;
    unit_supervisor& operator=(const unit_supervisor&) = delete;

    /// Whatever way this ends before the unit's result was read (cancellation, an exception), its cgroup is
    /// killed: nothing started here outlives the call.
    ~unit_supervisor() {
        if (armed_ && bus_.get() != nullptr) {
            try {
                bus_.call_blocking(kill_message(SIGKILL), cancel_kill_deadline);
            } catch (...) {  // NOLINT(bugprone-empty-catch): best effort in a destructor
            }
        }
    }

    /// Sets up the pipes and the bus; returns an empty string or why the unit cannot be started.
    std::string prepare() {
        unique_fd out_read;
        unique_fd err_read;
        if (int e = make_pipe(out_read, out_write_); e != 0) {
            return "pipe: " + errno_text(e);
        }
        if (int e = make_pipe(err_read, err_write_); e != 0) {
            return "pipe: " + errno_text(e);
        }
        output_.adopt(out_read, err_read);
        name_ = transient::unit_name(spec_.program.string(), ::getpid(), unit_counter.fetch_add(1) + 1);
        char* path = nullptr;
        int r = ::sd_bus_path_encode("/org/freedesktop/systemd1/unit", name_.c_str(), &path);
        if (r < 0) {
            return "unit path: " + bus_error_text(r);
        }
        unit_path_ = path;
        ::free(path);  // NOLINT(cppcoreguidelines-no-malloc): allocated by sd-bus
        return bus_.open();
    }

    asio::awaitable<void> run() {
        co_await (output_.read_out(result_.out, result_.out_dropped) &&
                  output_.read_err(result_.err, result_.err_dropped) && supervise());
    }

private:
    asio::awaitable<void> supervise() {
        std::string error = watch_signals();
        if (error.empty()) {
            auto m = start_message(out_write_.get(), err_write_.get());
            // The message holds its own copies of the write ends; ours must go, or the readers never end.
            out_write_.reset();
            err_write_.reset();
            // From here on the unit may exist: every early way out kills it (a start that failed makes
            // that a harmless "no such unit").
            armed_ = true;
            auto subscribe = bus_.method_call(manager_path, manager_interface, "Subscribe");
            bus_.send_now(std::move(subscribe));
            auto reply = co_await bus_.call(std::move(m));
            error = reply.error;
        }
        out_write_.reset();
        err_write_.reset();
        if (!error.empty()) {
            result_.start_error =
                "could not start '" + spec_.program.string() + "' as " + name_ + ": " + error;
            result_.elapsed = elapsed();
            co_await output_.finish();
            co_return;
        }

        const auto deadline = after(started_at_, spec_.deadline);
        bool finished = false;
        std::string bus_failure = co_await bus_.pump_until(job_done_, deadline);
        if (bus_failure.empty() && job_done_) {
            finished = co_await inactive_by(deadline, bus_failure);
        }
        if (!finished && bus_failure.empty()) {
            result_.timed_out = true;
            // systemd sends SIGTERM to the whole cgroup, then SIGKILL after TimeoutStopUSec (kill_grace).
            auto stop = bus_.method_call(manager_path, manager_interface, "StopUnit");
            (void)::sd_bus_message_append(stop.get(), "ss", name_.c_str(), "replace");
            auto reply = co_await bus_.call(std::move(stop));
            finished =
                co_await inactive_by(after(clock_type::now(), spec_.kill_grace) + kill_bound, bus_failure);
            if (!finished && bus_failure.empty()) {
                auto kill = kill_message(SIGKILL);
                (void)co_await bus_.call(std::move(kill));
                finished = co_await inactive_by(clock_type::now() + kill_bound, bus_failure);
            }
        }
        result_.elapsed = elapsed();
        if (!bus_failure.empty()) {
            // The connection is gone, so is our reference: the unit runs on until RuntimeMaxSec at most.
            armed_ = false;
            result_.started = job_done_ && job_result_ == "done";
            result_.start_error = result_.started ? std::string{} : "'" + name_ + "': " + bus_failure;
            co_await output_.finish();
            co_return;
        }
        transient::unit_outcome outcome;
        outcome.job_result = job_done_ ? job_result_ : std::string{};
        co_await read_outcome(outcome);
        transient::apply_outcome(spec_, outcome, result_);
        if (finished) {
            armed_ = false;
        }
        // Drop our reference: the unit is collected now that its result was read. (Closing the connection
        // drops it too, should this message be lost.)
        auto unref = bus_.method_call(unit_path_.c_str(), unit_interface, "Unref");
        bus_.send_now(std::move(unref));
        co_await output_.finish();
    }

    /// Matches JobRemoved for our unit and PropertiesChanged on it (installed before the start, on the same
    /// connection, so no signal of ours can come first).
    std::string watch_signals() {
        auto on_job_removed = [](sd_bus_message* m, void* userdata, sd_bus_error*) -> int {
            auto* self = static_cast<unit_supervisor*>(userdata);
            std::uint32_t id = 0;
            const char* job = nullptr;
            const char* unit = nullptr;
            const char* result = nullptr;
            if (::sd_bus_message_read(m, "uoss", &id, &job, &unit, &result) >= 0 && unit == self->name_) {
                self->job_result_ = result;
                self->job_done_ = true;
            }
            return 0;
        };
        auto on_changed = [](sd_bus_message*, void* userdata, sd_bus_error*) -> int {
            static_cast<unit_supervisor*>(userdata)->changed_ = true;
            return 0;
        };
        sd_bus_slot* raw = nullptr;
        int r = ::sd_bus_match_signal_async(bus_.get(), &raw, systemd_service, manager_path,
                                            manager_interface, "JobRemoved", on_job_removed, nullptr, this);
        if (r < 0) {
            return "cannot watch systemd's jobs: " + bus_error_text(r);
        }
        job_slot_.reset(raw);
        r = ::sd_bus_match_signal_async(bus_.get(), &raw, systemd_service, unit_path_.c_str(),
                                        properties_interface, "PropertiesChanged", on_changed, nullptr, this);
        if (r < 0) {
            return "cannot watch the unit: " + bus_error_text(r);
        }
        changed_slot_.reset(raw);
        return {};
    }

    message_ptr start_message(int out_fd, int err_fd) {
        auto m = bus_.method_call(manager_path, manager_interface, "StartTransientUnit");
        int r = ::sd_bus_message_append(m.get(), "ss", name_.c_str(), "fail");
        if (r >= 0) {
            r = append_properties(m.get(), transient::properties(spec_), out_fd, err_fd);
        }
        if (r >= 0) {
            r = ::sd_bus_message_append(m.get(), "a(sa(sv))", 0);  // no auxiliary units
        }
        if (r < 0) {
            throw std::system_error(-r, std::generic_category(), "building StartTransientUnit");
        }
        return m;
    }

    message_ptr kill_message(int sig) {
        auto m = bus_.method_call(manager_path, manager_interface, "KillUnit");
        (void)::sd_bus_message_append(m.get(), "ssi", name_.c_str(), "all", sig);
        return m;
    }

    /// Whether the unit is inactive (or failed) by `until`; a failing bus is reported in `bus_failure`.
    asio::awaitable<bool> inactive_by(clock_type::time_point until, std::string& bus_failure) {
        for (;;) {
            changed_ = false;
            auto got = co_await get_string(unit_interface, "ActiveState");
            if (got == "inactive" || got == "failed") {
                co_return true;
            }
            auto now = clock_type::now();
            if (now >= until) {
                co_return false;
            }
            bus_failure = co_await bus_.pump_until(changed_, std::min(until, now + state_recheck));
            if (!bus_failure.empty()) {
                co_return false;
            }
        }
    }

    /// Properties.Get of a string property; returns its value, or an empty string.
    asio::awaitable<std::string> get_string(const char* interface, const char* name) {
        auto m = bus_.method_call(unit_path_.c_str(), properties_interface, "Get");
        (void)::sd_bus_message_append(m.get(), "ss", interface, name);
        auto reply = co_await bus_.call(std::move(m));
        const char* value = nullptr;
        if (!reply.error.empty() || !read_variant(reply.reply.get(), 's', value) || value == nullptr) {
            co_return std::string{};
        }
        co_return std::string{value};
    }

    asio::awaitable<std::int32_t> get_int32(const char* name) {
        auto m = bus_.method_call(unit_path_.c_str(), properties_interface, "Get");
        (void)::sd_bus_message_append(m.get(), "ss", service_interface, name);
        auto reply = co_await bus_.call(std::move(m));
        std::int32_t value = 0;
        if (!reply.error.empty() || !read_variant(reply.reply.get(), 'i', value)) {
            co_return 0;
        }
        co_return value;
    }

    asio::awaitable<void> read_outcome(transient::unit_outcome& outcome) {
        outcome.exec_main_code = co_await get_int32("ExecMainCode");
        outcome.exec_main_status = co_await get_int32("ExecMainStatus");
        outcome.result = co_await get_string(service_interface, "Result");
    }

    std::chrono::milliseconds elapsed() const {
        return std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - started_at_);
    }

    const child_spec& spec_;
    child_result& result_;
    clock_type::time_point started_at_;
    std::string name_;
    std::string unit_path_;
    unique_fd out_write_;  ///< the unit's ends of the pipes, until they are in the start message
    unique_fd err_write_;
    bus_connection bus_;
    slot_ptr job_slot_;
    slot_ptr changed_slot_;
    bool armed_ = false;  ///< the unit may be running and must be killed if we leave early
    bool job_done_ = false;
    std::string job_result_;
    bool changed_ = false;
    output_capture output_;
};

}  // namespace

bool systemd_is_running() {
    return ::sd_booted() > 0;
}

asio::awaitable<child_result> run_transient_unit(child_spec spec) {
    child_result result;
    const auto started_at = clock_type::now();
    if (!spec.program.is_absolute()) {
        result.start_error =
            "could not start '" + spec.program.string() + "': the program path is not absolute";
        co_return result;
    }
    asio::any_io_executor ex = co_await asio::this_coro::executor;
    unit_supervisor watch(ex, spec, result, started_at);
    if (std::string error = watch.prepare(); !error.empty()) {
        result.start_error = "could not start '" + spec.program.string() + "': " + error;
        co_return result;
    }
    co_await watch.run();
    co_return result;
}

asio::awaitable<std::string> start_system_unit(std::string unit, std::string mode) {
    asio::any_io_executor ex = co_await asio::this_coro::executor;
    bus_connection bus(ex);
    if (std::string error = bus.open(); !error.empty()) {
        co_return error;
    }
    auto m = bus.method_call(manager_path, manager_interface, "StartUnit");
    int r = ::sd_bus_message_append(m.get(), "ss", unit.c_str(), mode.c_str());
    if (r < 0) {
        co_return "building StartUnit: " + bus_error_text(r);
    }
    auto reply = co_await bus.call(std::move(m));
    co_return reply.error;
}

}  // namespace mtce
