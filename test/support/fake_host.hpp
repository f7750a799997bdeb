#pragma once

// A fake host for the fleet's jobs (src/fleet/jobs): a host_context over a simulated clock, with a fake
// host agent and a fake BMC that behave like the real ones and can be scripted, and a journal that keeps
// everything a job did for the test to assert on (states, tasks, events, saves, commands, BMC requests).
//
// The agent (fake_host::agent_script holds its knobs) is driven by simulated time only: it boots, reports
// mtcAlive every host.mtcalive_period and whenever its flags change, runs its self-tests and host services,
// acknowledges commands, and reboots; the BMC powers it off and on and resets it.
//
// Not thread-safe: the test's thread runs everything.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>

#include "fleet/jobs/context.hpp"
#include "fleet/jobs/jobs.hpp"
#include "net/message.hpp"
#include "sim_clock.hpp"

namespace mtce::test {

using namespace std::chrono_literals;

class fake_host final : public fleet::host_context {
public:
    using time_point = sim_clock::time_point;
    using ms = std::chrono::milliseconds;

    // ---- what the journal keeps ----
    struct state_write {
        time_point at;
        fleet::host_states states;
        std::string why;
    };
    struct task_write {
        time_point at;
        std::string text;
    };
    struct event {
        time_point at;
        std::string kind;
        std::string text;
    };
    struct save_made {
        time_point at;
        fleet::host_action action;
        fleet::host_states states;
        fleet::failure_cause cause;
    };
    struct sent_command {
        time_point at;
        net::command command;
    };
    struct enable_count {
        time_point at;
        std::optional<ms> took;
        fleet::failure_cause cause;
    };
    struct heartbeat_change {
        time_point at;
        bool started;
    };
    struct bmc_call {
        time_point at;
        std::string what;  ///< "power?" for a power-state query, else to_string(bmc_request)
    };
    struct check_in {
        time_point at;
        bool recovered;
    };
    struct report_sent {
        time_point at;
        net::alive_report report;
    };

    // ---- the agent's script ----
    struct agent_script {
        ms boot_time = 60s;       ///< power-on (or reset) to the first mtcAlive of the new boot
        ms shutdown_time = 5s;    ///< a reboot's ack to the host going down (plus the command's delay_s)
        ms goenabled_time = 30s;  ///< boot to the main function's self-test result
        bool goenabled_pass = true;
        std::string goenabled_failure = "goenabled.d/10-disk: disk check failed";
        ms services_time = 20s;  ///< self-tests passed and unlocked, to the main host services' result
        bool services_pass = true;
        std::string services_failure = "services.d/10-kubelet: start failed";
        bool configured = true;
        bool healthy = true;
        /// The worker subfunction (all-in-one controllers): its configuration marker appears this long after
        /// the boot (never: the host gives up after host.subfunction_config_timeout and says why).
        std::optional<ms> subf_config_time = 90s;
        ms subf_goenabled_time = 20s;  ///< marker seen (and main done) to the subfunction's self-test result
        bool subf_goenabled_pass = true;
        std::string subf_goenabled_failure = "goenabled.d/20-worker: worker check failed";
        ms subf_services_time = 20s;
        bool subf_services_pass = true;
        std::string subf_services_failure = "services.d/20-worker: start failed";
        ms lock_time = 10s;  ///< a lock's ack to its services-stop result
        bool lock_result_ok = true;
        ms latency = 0ms;  ///< a command reaches the agent (and its answers the controller) after this
        bool periodic_reports = true;
        bool hung = false;                ///< up, but neither answers nor reports (every boot; see hang())
        bool ack_reboots = true;          ///< acknowledges reboot and reset commands
        bool obey_reboots = true;         ///< carries reboot and reset commands out
        bool answer_mtcalive = true;      ///< reports when asked (a mtcalive command)
        std::uint32_t drop_commands = 0;  ///< the next N commands are lost on the way
        /// While the host is heartbeated, a host that goes down is declared lost after
        /// heartbeat.failure_threshold periods (unless it is back by then).
        bool heartbeat_follows = false;
        /// Until this uptime its reports carry no flags at all (an agent that says nothing yet).
        ms flags_after = 0ms;
    };

    // ---- the BMC's script ----
    struct bmc_script {
        bool usable = true;            ///< bmc_usable() (with a BMC in the host's spec)
        ms latency = 1s;               ///< every exchange takes this long
        ms power_change_time = 5s;     ///< an accepted power request takes effect after this
        bool ignore_requests = false;  ///< accepts power, reset and network-boot requests and does nothing
        bool reset_powers_on = true;   ///< a reset of a powered-off host powers it on
        std::deque<bmc::error> fail_power_queries;  ///< the next queries fail with these, in order
        std::deque<bmc::error> fail_requests;       ///< the next requests fail with these, in order
        /// Called with every request before it is carried out; may throw (a driver's unexpected error).
        std::function<void(fleet::bmc_request)> on_request;
    };

    explicit fake_host(std::string name = "worker-0", role personality = role::worker,
                       bool subfunction = false)
        : clock_{*io_}, cfg_{std::make_shared<mtce::config>()} {
        record_.spec.name = std::move(name);
        record_.spec.personality = personality;
        record_.spec.functions = {personality};
        if (subfunction) {
            record_.spec.functions.push_back(role::worker);
        }
        record_.spec.mgmt_ip = "192.168.204.10";
        cfg_->self = role::controller;
    }
    ~fake_host() override {
        stop_all();
        io_.reset();
    }
    fake_host(const fake_host&) = delete;
    fake_host& operator=(const fake_host&) = delete;

    // ====================================================================================================
    // host_context

    fleet::host_record& host() override { return record_; }
    [[nodiscard]] std::shared_ptr<const mtce::config> settings() const override { return cfg_; }
    [[nodiscard]] fleet::fleet_view fleet() const override { return fleet_; }
    [[nodiscard]] time_point now() const override { return clock_.now(); }
    /// The window the test opened, until it closes at its deadline (as the fleet's audit closes it).
    [[nodiscard]] std::optional<time_point> dor_deadline() const override {
        if (dor_deadline_ && now() < *dor_deadline_) {
            return dor_deadline_;
        }
        return std::nullopt;
    }
    void dor_check_in(bool recovered) override {
        if (dor_deadline()) {
            dor_check_ins_.push_back({now(), recovered});
        }
    }
    asio::awaitable<void> wait_change(time_point deadline) override { co_await clock_.wait(deadline); }

    void set_states(const fleet::host_states& st, std::string_view why) override {
        if (st == record_.states) {
            return;
        }
        record_.states = st;
        states_.push_back({now(), st, std::string{why}});
        clock_.notify();
    }
    void set_task(std::string task) override {
        record_.task = task;
        tasks_.push_back({now(), std::move(task)});
    }
    void save() override { saves_.push_back({now(), record_.action, record_.states, record_.cause}); }
    void log_event(std::string_view kind, std::string text) override {
        events_.push_back({now(), std::string{kind}, std::move(text)});
    }
    void update_alarms() override { ++alarm_updates_; }
    void count_enable(std::optional<ms> took, fleet::failure_cause cause) override {
        enables_.push_back({now(), took, cause});
    }
    [[nodiscard]] std::uint64_t next_command_id() override { return ++last_command_id_; }
    std::uint64_t send(net::command c) override {
        if (c.id == 0) {
            c.id = next_command_id();
        }
        commands_.push_back({now(), c});
        clock_.after(agent_.latency, [this, c] { agent_receive(c); });
        return c.id;
    }
    void start_heartbeat() override {
        if (record_.self) {
            return;
        }
        record_.monitored = true;
        heartbeat_.push_back({now(), true});
    }
    void stop_heartbeat() override {
        if (record_.monitored) {
            heartbeat_.push_back({now(), false});
        }
        record_.monitored = false;
    }
    [[nodiscard]] bool bmc_usable() const override { return record_.has_bmc() && bmc_.usable; }

    asio::awaitable<bmc::result<bmc::power_state>> bmc_power() override {
        bmc_calls_.push_back({now(), "power?"});
        co_await clock_.sleep_until(now() + bmc_.latency);
        if (!bmc_.fail_power_queries.empty()) {
            auto e = bmc_.fail_power_queries.front();
            bmc_.fail_power_queries.pop_front();
            fleet::record_failure(record_.bmc_state, now(), cfg_->bmc, e.message);
            co_return tl::unexpected{std::move(e)};
        }
        const auto p = bmc_power_;
        fleet::record_success(record_.bmc_state, now(), cfg_->bmc);
        record_.bmc_state.power = p;
        co_return p;
    }

    asio::awaitable<bmc::result<void>> bmc_act(fleet::bmc_request r) override {
        bmc_calls_.push_back({now(), std::string{fleet::to_string(r)}});
        if (bmc_.on_request) {
            bmc_.on_request(r);  // may throw, as a driver's unexpected error would
        }
        co_await clock_.sleep_until(now() + bmc_.latency);
        if (!bmc_.fail_requests.empty()) {
            auto e = bmc_.fail_requests.front();
            bmc_.fail_requests.pop_front();
            fleet::record_failure(record_.bmc_state, now(), cfg_->bmc, e.message);
            co_return tl::unexpected{std::move(e)};
        }
        fleet::record_success(record_.bmc_state, now(), cfg_->bmc);
        if (!bmc_.ignore_requests) {
            bmc_carry_out(r);
        }
        co_return bmc::result<void>{};
    }

    // ====================================================================================================
    // the test's side

    sim_clock& clock() { return clock_; }
    asio::io_context& io() { return *io_; }
    /// Called at every boot of the agent, once it has reported.
    void on_boot(std::function<void()> fn) { boot_listener_ = std::move(fn); }
    fleet::host_record& record() { return record_; }
    mtce::config& cfg() { return *cfg_; }
    fleet::fleet_view& fleet_info() { return fleet_; }
    agent_script& agent() { return agent_; }
    bmc_script& bmc() { return bmc_; }
    /// The site lost power: a Dead Office Recovery window is open until `deadline`.
    void open_dor(time_point deadline) { dor_deadline_ = deadline; }
    [[nodiscard]] const std::vector<check_in>& dor_check_ins() const { return dor_check_ins_; }

    /// Gives the host a BMC (its spec) that is powered `on`.
    void provision_bmc(bool on = true) {
        record_.spec.bmc.type = "redfish";
        record_.spec.bmc.address = "10.10.10.10";
        record_.spec.bmc.username = "root";
        record_.bmc_state = fleet::new_bmc_health(now());
        bmc_power_ = on ? bmc::power_state::on : bmc::power_state::off;
        powered_ = on;
    }

    /// The host's states as a record loaded from the inventory would have them.
    void set_record_states(fleet::admin_state a, fleet::oper_state o, fleet::avail_state v) {
        record_.states.administrative = a;
        record_.states.operational = o;
        record_.states.availability = v;
        if (record_.has_subfunction()) {
            record_.states.subfunction_operational = o;
            record_.states.subfunction_availability = v;
        }
    }

    // ---- the agent ----

    /// The agent is running a boot that started `uptime` ago, locked or not, with its self-tests (and
    /// services, when unlocked) done as its script says for that uptime: it reports at once and then every
    /// period. Call before running the clock.
    void agent_up(ms uptime, bool locked) {
        powered_ = true;
        bmc_power_ = bmc::power_state::on;
        agent_locked_ = locked;
        boot(now() - uptime);
    }

    /// The agent is not running (powered, booting nothing: e.g. crashed); it boots when reset or powered on.
    void agent_down() { go_down(); }

    /// The agent starts a new boot `after` from now (a boot already under way, or one that nobody asked for).
    void agent_boots_in(ms after, ms uptime_at_first_report = 0ms) {
        go_down();
        const auto gen = generation_;
        clock_.after(after, [this, gen, uptime_at_first_report] {
            if (gen == generation_) {
                boot(now() - uptime_at_first_report);
            }
        });
    }

    /// The host reboots on its own now: down at once, its new boot reports after the script's boot time.
    void agent_reboots_spontaneously() { agent_boots_in(agent_.boot_time); }

    /// The running boot hangs: no answers, no reports, until the host boots again (a reset).
    void hang() { hung_generation_ = generation_; }

    /// The power fails (or someone pulls the plug): the host is off, as its BMC says.
    void power_fails() { power_off_now(); }

    [[nodiscard]] bool agent_running() const { return running_; }
    [[nodiscard]] bool agent_locked() const { return agent_locked_; }
    [[nodiscard]] const std::string& agent_boot_id() const { return boot_id_; }
    [[nodiscard]] std::uint32_t boots() const { return boots_; }
    [[nodiscard]] std::uint32_t network_boots() const { return network_boots_; }
    [[nodiscard]] bool powered() const { return powered_; }
    void set_bmc_power(bmc::power_state p) { bmc_power_ = p; }

    // ---- the heartbeat ----

    /// The fleet policy saw the host's heartbeat lost on mgmt: counts it, raises its alarm level and makes a
    /// recovery due (when the record takes it), then wakes the jobs.
    void lose_heartbeat() {
        ++record_.losses;
        record_.heartbeat_alarm[static_cast<std::size_t>(heartbeat::network::mgmt)] =
            heartbeat::hb_state::failed;
        losses_.push_back(now());
        (void)record_.recovery_due(fleet::recovery_reason::heartbeat_loss);
        clock_.notify();
    }
    /// The same, at simulated time `at`.
    void lose_heartbeat_at(time_point at) {
        clock_.at(at, [this] { lose_heartbeat(); });
    }

    // ---- requests, as the fleet accepts them ----

    /// An accepted request: the administrative state it sets, the action saved, the request queued, the
    /// running job preempted when it gives way.
    void request(fleet::host_action a) {
        auto st = record_.states;
        st.administrative = fleet::admin_after(st.administrative, a);
        record_.action = a;
        record_.request = a;
        if (fleet::preempted_by(record_.running, a)) {
            record_.preempt = true;
        }
        save();
        set_states(st, std::string{fleet::to_string(a)} + " requested");
        clock_.notify();
    }

    // ---- running jobs ----

    struct spawned {
        bool done = false;
        std::exception_ptr error;
        std::shared_ptr<asio::cancellation_signal> signal;
    };

    /// Starts `body` on the io_context (it runs when the clock runs); returns its slot in the list of what
    /// was spawned, whose `done` and `error` the test reads.
    std::size_t spawn(asio::awaitable<void> body) {
        auto s = std::make_shared<spawned>();
        s->signal = std::make_shared<asio::cancellation_signal>();
        spawned_.push_back(s);
        asio::co_spawn(*io_, std::move(body),
                       asio::bind_cancellation_slot(s->signal->slot(), [s](std::exception_ptr e) {
                           s->done = true;
                           s->error = e;
                       }));
        return spawned_.size() - 1;
    }
    /// One job, as the supervisor runs it (fleet::run_job, with record().running set around it).
    std::size_t run_job(fleet::job_kind job, bool from_request = true) {
        record_.running = job;
        return spawn(run_job_body(job, from_request));
    }
    /// A job's coroutine itself (e.g. fleet::reboot_job(host, kind)), errors included.
    std::size_t run(asio::awaitable<void> body) { return spawn(std::move(body)); }
    std::size_t run_supervisor() { return spawn(fleet::supervise(*this)); }

    [[nodiscard]] const spawned& task(std::size_t i) const { return *spawned_.at(i); }
    [[nodiscard]] bool done(std::size_t i) const { return spawned_.at(i)->done; }
    /// The exception a spawned coroutine ended with, as text ("" when none).
    [[nodiscard]] std::string error_text(std::size_t i) const {
        const auto& e = spawned_.at(i)->error;
        if (!e) {
            return {};
        }
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& x) {
            return x.what();
        } catch (const fleet::job_failure& f) {
            return "job_failure: " + f.task;
        } catch (...) {
            return "unknown exception";
        }
    }
    /// Cancels a spawned coroutine (terminal, as the fleet stopping) and runs what that wakes.
    void cancel(std::size_t i) {
        spawned_.at(i)->signal->emit(asio::cancellation_type::terminal);
        clock_.settle();
    }
    void stop_all() {
        for (auto& s : spawned_) {
            if (!s->done) {
                s->signal->emit(asio::cancellation_type::terminal);
            }
        }
        clock_.settle();
    }

    /// This controller restarts: every coroutine of the old one ends, and the record is as the inventory had
    /// it (spec, states, task, the action as last saved, cause and counts), with nothing heard yet.
    void controller_restarts() {
        stop_all();
        fleet::host_record fresh;
        fresh.spec = record_.spec;
        fresh.states = record_.states;
        fresh.task = record_.task;
        fresh.action = saves_.empty() ? record_.action : saves_.back().action;
        fresh.cause = record_.cause;
        fresh.failure_counts = record_.failure_counts;
        fresh.self = record_.self;
        fresh.alive_at = now();
        fresh.adopting = true;
        if (fresh.has_bmc()) {
            fresh.bmc_state = fleet::new_bmc_health(now());
        }
        record_ = std::move(fresh);
        ++controller_starts_;
    }
    [[nodiscard]] std::uint32_t controller_starts() const { return controller_starts_; }
    /// A supervisor's coroutine is still running.
    [[nodiscard]] bool running(std::size_t i) const { return !spawned_.at(i)->done; }

    bool run_until(const std::function<bool()>& pred, time_point limit) {
        return clock_.run_until(pred, limit);
    }
    bool run_until(const std::function<bool()>& pred, ms within) {
        return clock_.run_until(pred, now() + within);
    }
    void run_for(ms d) { clock_.run_for(d); }

    // ====================================================================================================
    // the journal

    [[nodiscard]] const std::vector<state_write>& states_written() const { return states_; }
    [[nodiscard]] const std::vector<task_write>& tasks() const { return tasks_; }
    [[nodiscard]] const std::vector<event>& events() const { return events_; }
    [[nodiscard]] const std::vector<save_made>& saves() const { return saves_; }
    [[nodiscard]] const std::vector<sent_command>& commands() const { return commands_; }
    [[nodiscard]] const std::vector<enable_count>& enables() const { return enables_; }
    [[nodiscard]] const std::vector<heartbeat_change>& heartbeat_changes() const { return heartbeat_; }
    [[nodiscard]] const std::vector<bmc_call>& bmc_calls() const { return bmc_calls_; }
    [[nodiscard]] const std::vector<report_sent>& reports() const { return reports_; }
    [[nodiscard]] std::uint64_t alarm_updates() const { return alarm_updates_; }

    /// Commands of `kind` sent (each copy), optionally only at or after `since`.
    [[nodiscard]] std::vector<sent_command> sent(net::command_kind kind, time_point since = {}) const {
        std::vector<sent_command> out;
        for (const auto& c : commands_) {
            if (c.command.kind == kind && c.at >= since) {
                out.push_back(c);
            }
        }
        return out;
    }
    /// BMC calls named `what` ("power?", "reset", "power-on", ...), optionally since `since`.
    [[nodiscard]] std::vector<bmc_call> bmc_requests(std::string_view what, time_point since = {}) const {
        std::vector<bmc_call> out;
        for (const auto& c : bmc_calls_) {
            if (c.what == what && c.at >= since) {
                out.push_back(c);
            }
        }
        return out;
    }
    /// The first task containing `text` (at or after `since`).
    [[nodiscard]] std::optional<task_write> task_with(std::string_view text, time_point since = {}) const {
        for (const auto& t : tasks_) {
            if (t.at >= since && t.text.find(text) != std::string::npos) {
                return t;
            }
        }
        return std::nullopt;
    }
    [[nodiscard]] std::optional<event> event_with(std::string_view text, time_point since = {}) const {
        for (const auto& e : events_) {
            if (e.at >= since && e.text.find(text) != std::string::npos) {
                return e;
            }
        }
        return std::nullopt;
    }
    /// Whether the states were ever `oper`-`avail` (at or after `since`), and when first.
    [[nodiscard]] std::optional<time_point> reached(fleet::oper_state oper, fleet::avail_state avail,
                                                    time_point since = {}) const {
        for (const auto& s : states_) {
            if (s.at >= since && s.states.operational == oper && s.states.availability == avail) {
                return s.at;
            }
        }
        return std::nullopt;
    }
    /// Every task in order, for failure messages.
    [[nodiscard]] std::string task_history() const {
        std::string out;
        for (const auto& t : tasks_) {
            out += "[" + std::to_string(seconds(t.at)) + "s] '" + t.text + "' ";
        }
        return out;
    }
    [[nodiscard]] std::string state_history() const {
        std::string out;
        for (const auto& s : states_) {
            out += "[" + std::to_string(seconds(s.at)) + "s] " +
                   std::string{to_string(s.states.administrative)} + "-" +
                   std::string{to_string(s.states.operational)} + "-" +
                   std::string{to_string(s.states.availability)} + " (" + s.why + ") ";
        }
        return out;
    }
    [[nodiscard]] std::string command_history() const {
        std::string out;
        for (const auto& c : commands_) {
            out += "[" + std::to_string(seconds(c.at)) + "s] " + std::string{to_string(c.command.kind)} +
                   "#" + std::to_string(c.command.id) + " ";
        }
        return out;
    }
    [[nodiscard]] std::string bmc_history() const {
        std::string out;
        for (const auto& c : bmc_calls_) {
            out += "[" + std::to_string(seconds(c.at)) + "s] " + c.what + " ";
        }
        return out;
    }
    /// Seconds of simulated time since the test started.
    [[nodiscard]] double seconds(time_point t) const {
        return std::chrono::duration<double>(t - start_).count();
    }
    [[nodiscard]] time_point start() const { return start_; }

private:
    asio::awaitable<void> run_job_body(fleet::job_kind job, bool from_request) {
        co_await fleet::run_job(*this, job, from_request);
        record_.running = fleet::job_kind::none;
    }

    // ---- the agent ----

    enum class stage : std::uint8_t { pending, passed, failed, left_for_lock };

    void boot(time_point at) {
        ++generation_;
        ++boots_;
        running_ = true;
        boot_at_ = at;
        boot_id_ = record_.spec.name + "-boot-" + std::to_string(boots_);
        main_tests_ = main_services_ = subf_tests_ = subf_services_ = stage::pending;
        subf_marker_ = false;
        subf_failure_.clear();
        const auto gen = generation_;
        const auto elapsed = now() - at;
        // A boot that started in the past (agent_up) is where its script puts it by now; what is still to
        // come is scheduled.
        std::optional<time_point> main_done;  // when the main function's sequence ended (or will)
        if (elapsed < agent_.goenabled_time) {
            clock_.at(at + agent_.goenabled_time, [this, gen] {
                if (gen == generation_) {
                    main_tests_done();
                }
            });
        } else {
            main_tests_ = agent_.goenabled_pass ? stage::passed : stage::failed;
            if (main_tests_ == stage::passed && agent_locked_) {
                main_services_ = stage::left_for_lock;
                main_done = at + agent_.goenabled_time;
            } else if (main_tests_ == stage::passed) {
                const auto services_at = at + agent_.goenabled_time + agent_.services_time;
                if (now() >= services_at) {
                    main_services_ = agent_.services_pass ? stage::passed : stage::failed;
                    main_done = services_at;
                } else {
                    clock_.at(services_at, [this, gen] {
                        if (gen != generation_ || agent_locked_) {
                            return;
                        }
                        main_services_ = agent_.services_pass ? stage::passed : stage::failed;
                        changed();
                        maybe_start_subfunction(now());
                    });
                }
            }
        }
        if (record_.has_subfunction() && agent_.subf_config_time) {
            if (now() >= at + *agent_.subf_config_time) {
                subf_marker_ = true;
            } else {
                clock_.at(at + *agent_.subf_config_time, [this, gen] {
                    if (gen == generation_) {
                        subf_marker_ = true;
                        changed();
                    }
                });
            }
        }
        if (main_done && main_services_ != stage::failed) {
            maybe_start_subfunction(*main_done);
        }
        report();
        schedule_periodic(gen);
        if (boot_listener_) {
            boot_listener_();
        }
    }

    void go_down() {
        ++generation_;
        const bool was_running = running_;
        running_ = false;
        if (was_running && agent_.heartbeat_follows && record_.monitored) {
            // The heartbeat stops with the host: the monitor declares it lost after its failure threshold.
            const auto gen = generation_;
            const auto after =
                ms{static_cast<std::int64_t>(cfg_->heartbeat.period_ms) * cfg_->heartbeat.failure_threshold};
            clock_.after(after, [this, gen] {
                if (gen == generation_ && record_.monitored) {
                    lose_heartbeat();
                }
            });
        }
    }

    void schedule_periodic(std::uint64_t gen) {
        clock_.after(cfg_->host.mtcalive_period, [this, gen] {
            if (gen != generation_) {
                return;
            }
            if (agent_.periodic_reports) {
                report();
            }
            schedule_periodic(gen);
        });
    }

    /// A flag changed: the agent reports at once, as the real one does.
    void changed() { report(); }

    void main_tests_done() {
        main_tests_ = agent_.goenabled_pass ? stage::passed : stage::failed;
        changed();
        if (main_tests_ == stage::passed) {
            start_main_services();
        }
    }

    void start_main_services() {
        if (main_tests_ != stage::passed ||
            (main_services_ != stage::pending && main_services_ != stage::left_for_lock)) {
            return;
        }
        if (agent_locked_) {
            main_services_ = stage::left_for_lock;
            maybe_start_subfunction(now());
            return;
        }
        const auto gen = generation_;
        main_services_ = stage::pending;
        clock_.after(agent_.services_time, [this, gen] {
            if (gen != generation_ || agent_locked_) {
                return;
            }
            main_services_ = agent_.services_pass ? stage::passed : stage::failed;
            changed();
            maybe_start_subfunction(now());
        });
    }

    /// The subfunction's sequence starts once the main function's services are done (or left for the lock):
    /// it waits for its configuration marker, up to host.subfunction_config_timeout, then runs its tests.
    void maybe_start_subfunction(time_point from) {
        if (!record_.has_subfunction() || subf_started_gen_ == generation_) {
            return;
        }
        if (main_services_ != stage::passed && main_services_ != stage::left_for_lock) {
            return;
        }
        subf_started_gen_ = generation_;
        subf_wait_from_ = from;
        const auto gen = generation_;
        auto run_tests = [this, gen](time_point configured) {
            clock_.at(configured + agent_.subf_goenabled_time, [this, gen] {
                if (gen != generation_) {
                    return;
                }
                subf_tests_ = agent_.subf_goenabled_pass ? stage::passed : stage::failed;
                subf_failure_ = agent_.subf_goenabled_failure;
                changed();
                start_subf_services();
            });
        };
        const auto give_up = subf_wait_from_ + cfg_->host.subfunction_config_timeout;
        const auto marker_at =
            agent_.subf_config_time ? std::optional{boot_at_ + *agent_.subf_config_time} : std::nullopt;
        if (marker_at && *marker_at <= give_up) {
            run_tests(std::max(*marker_at, from));
            return;
        }
        clock_.at(give_up, [this, gen] {
            if (gen != generation_) {
                return;
            }
            subf_tests_ = stage::failed;
            subf_failure_ = "worker configuration not complete after " +
                            std::to_string(std::chrono::duration_cast<std::chrono::minutes>(
                                               cfg_->host.subfunction_config_timeout)
                                               .count()) +
                            "m ('" + cfg_->host.subfunction_config_marker.string() + "' missing)";
            changed();
        });
    }

    void start_subf_services() {
        if (!record_.has_subfunction() || subf_tests_ != stage::passed ||
            (subf_services_ != stage::pending && subf_services_ != stage::left_for_lock)) {
            return;
        }
        if (agent_locked_ || main_services_ != stage::passed) {
            subf_services_ = stage::left_for_lock;
            return;
        }
        const auto gen = generation_;
        subf_services_ = stage::pending;
        clock_.after(agent_.subf_services_time, [this, gen] {
            if (gen != generation_ || agent_locked_) {
                return;
            }
            subf_services_ = agent_.subf_services_pass ? stage::passed : stage::failed;
            changed();
        });
    }

    [[nodiscard]] net::alive_report make_report() const {
        namespace f = net::alive_flags;
        net::alive_report r;
        r.hostname = record_.spec.name;
        r.personality = std::string{to_string(record_.spec.personality)};
        for (const auto fn : record_.spec.functions) {
            r.functions.emplace_back(to_string(fn));
        }
        r.mgmt_ip = record_.spec.mgmt_ip;
        r.boot_id = boot_id_;
        r.uptime_s = static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::seconds>(now() - boot_at_).count());
        std::uint32_t flags = 0;
        if (agent_.configured) {
            flags |= f::configured;
        }
        flags |= agent_.healthy ? f::healthy : f::not_healthy;
        if (agent_locked_) {
            flags |= f::locked;
        }
        std::string failure;
        auto note = [&failure](const std::string& why) {
            if (failure.empty()) {
                failure = why;
            }
        };
        if (main_tests_ == stage::passed) {
            flags |= f::main_goenabled;
        } else if (main_tests_ == stage::failed) {
            flags |= f::main_goenabled_failed | f::not_healthy;
            flags &= ~f::healthy;
            note(agent_.goenabled_failure);
        }
        if (main_services_ == stage::passed) {
            flags |= f::main_services_started;
        } else if (main_services_ == stage::failed) {
            flags |= f::main_services_failed;
            note(agent_.services_failure);
        }
        if (record_.has_subfunction()) {
            if (subf_marker_) {
                flags |= f::subf_configured;
            }
            if (subf_tests_ == stage::passed) {
                flags |= f::subf_goenabled;
            } else if (subf_tests_ == stage::failed) {
                flags |= f::subf_goenabled_failed;
                note(subf_failure_);
            }
            if (subf_services_ == stage::passed) {
                flags |= f::subf_services_started;
            } else if (subf_services_ == stage::failed) {
                flags |= f::subf_services_failed;
                note(agent_.subf_services_failure);
            }
        }
        if (now() - boot_at_ < agent_.flags_after) {
            flags = 0;
            failure.clear();
        }
        r.flags = flags;
        r.failure = failure;
        return r;
    }

    [[nodiscard]] bool hung() const { return agent_.hung || hung_generation_ == generation_; }

    void report() {
        if (!running_ || hung()) {
            return;
        }
        auto r = make_report();
        reports_.push_back({now(), r});
        (void)record_.on_report(std::move(r), now());
        if (record_.running == fleet::job_kind::none && record_.enabled()) {
            fleet::refresh_in_service(*this);  // as the fleet does with every report of an idle host
        }
        clock_.notify();
    }

    void ack(std::uint64_t id) {
        clock_.after(agent_.latency, [this, id] {
            if (auto it = record_.replies.find(id); it != record_.replies.end()) {
                it->second.acked = true;
                clock_.notify();
            }
        });
    }

    void agent_receive(const net::command& c) {
        if (!running_ || hung()) {
            return;
        }
        if (agent_.drop_commands > 0) {
            --agent_.drop_commands;
            return;
        }
        received_.push_back(c);
        const auto gen = generation_;
        switch (c.kind) {
        case net::command_kind::mtcalive:
            if (agent_.answer_mtcalive) {
                report();
            }
            break;
        case net::command_kind::lock: {
            ack(c.id);
            if (!agent_locked_) {
                agent_locked_ = true;
                changed();
            }
            clock_.after(agent_.lock_time, [this, gen, id = c.id] {
                if (gen != generation_) {
                    return;
                }
                if (main_services_ == stage::passed || main_services_ == stage::failed) {
                    main_services_ = stage::left_for_lock;
                }
                if (subf_services_ == stage::passed || subf_services_ == stage::failed) {
                    subf_services_ = stage::left_for_lock;
                }
                changed();
                if (auto it = record_.replies.find(id); it != record_.replies.end()) {
                    it->second.acked = true;
                    it->second.result = net::command_result{
                        "lock", id, agent_.lock_result_ok,
                        agent_.lock_result_ok ? "" : "services.d/10-kubelet: stop failed", 0};
                    clock_.notify();
                }
            });
            break;
        }
        case net::command_kind::unlock:
            ack(c.id);
            if (agent_locked_) {
                agent_locked_ = false;
                changed();
                start_main_services();
                start_subf_services();
            }
            break;
        case net::command_kind::reboot:
        case net::command_kind::reset: {
            if (agent_.ack_reboots) {
                ack(c.id);
            }
            if (!agent_.obey_reboots || reboot_pending_gen_ == generation_) {
                break;
            }
            reboot_pending_gen_ = generation_;
            const auto delay =
                c.kind == net::command_kind::reset
                    ? ms{0}
                    : std::chrono::duration_cast<ms>(std::chrono::seconds{c.delay_s}) + agent_.shutdown_time;
            clock_.after(delay, [this, gen] {
                if (gen == generation_) {
                    agent_boots_in(agent_.boot_time);
                }
            });
            break;
        }
        case net::command_kind::goenabled:
            ack(c.id);
            break;
        }
    }

    // ---- the BMC ----

    void bmc_carry_out(fleet::bmc_request r) {
        using fleet::bmc_request;
        switch (r) {
        case bmc_request::power_on:
            clock_.after(bmc_.power_change_time, [this] { power_on_now(); });
            break;
        case bmc_request::power_off:
            clock_.after(bmc_.power_change_time, [this] { power_off_now(); });
            break;
        case bmc_request::power_cycle:
            clock_.after(bmc_.power_change_time, [this] {
                power_off_now();
                clock_.after(bmc_.power_change_time, [this] { power_on_now(); });
            });
            break;
        case bmc_request::reset:
            if (powered_) {
                ++resets_;
                if (pxe_next_) {
                    pxe_next_ = false;
                    ++network_boots_;
                }
                agent_boots_in(agent_.boot_time);
            } else if (bmc_.reset_powers_on) {
                power_on_now();
            }
            break;
        case bmc_request::boot_pxe_once:
            pxe_next_ = true;
            break;
        }
    }

    void power_on_now() {
        if (powered_) {
            return;
        }
        powered_ = true;
        bmc_power_ = bmc::power_state::on;
        if (pxe_next_) {
            pxe_next_ = false;
            ++network_boots_;
        }
        agent_boots_in(agent_.boot_time);
    }

    void power_off_now() {
        powered_ = false;
        bmc_power_ = bmc::power_state::off;
        go_down();
    }

    // ---- members ----
    // Destroyed first (in the destructor): coroutine frames still pending go while what they use exists.
    std::unique_ptr<asio::io_context> io_ = std::make_unique<asio::io_context>();
    sim_clock clock_;
    time_point start_ = clock_.now();
    std::shared_ptr<mtce::config> cfg_;
    fleet::host_record record_;
    fleet::fleet_view fleet_{1, 2};

    agent_script agent_;
    bmc_script bmc_;

    // the agent's state
    bool running_ = false;
    bool powered_ = true;
    bool agent_locked_ = true;
    bool subf_marker_ = false;
    bool pxe_next_ = false;
    std::uint64_t generation_ = 0;  ///< bumped at every boot and shutdown: what was scheduled before is void
    std::uint64_t subf_started_gen_ = 0;
    std::uint64_t reboot_pending_gen_ = 0;
    std::uint64_t hung_generation_ = 0;
    std::uint32_t boots_ = 0;
    std::uint32_t resets_ = 0;
    std::uint32_t network_boots_ = 0;
    std::string boot_id_;
    time_point boot_at_{};
    time_point subf_wait_from_{};
    stage main_tests_ = stage::pending;
    stage main_services_ = stage::pending;
    stage subf_tests_ = stage::pending;
    stage subf_services_ = stage::pending;
    std::string subf_failure_;
    std::vector<net::command> received_;
    std::function<void()> boot_listener_;
    bmc::power_state bmc_power_ = bmc::power_state::on;

    // the journal
    std::vector<state_write> states_;
    std::vector<task_write> tasks_;
    std::vector<event> events_;
    std::vector<save_made> saves_;
    std::vector<sent_command> commands_;
    std::vector<enable_count> enables_;
    std::vector<heartbeat_change> heartbeat_;
    std::vector<bmc_call> bmc_calls_;
    std::vector<report_sent> reports_;
    std::vector<time_point> losses_;
    std::uint64_t alarm_updates_ = 0;
    std::optional<time_point> dor_deadline_;
    std::vector<check_in> dor_check_ins_;
    std::uint64_t last_command_id_ = 1000;

    std::vector<std::shared_ptr<spawned>> spawned_;
    std::uint32_t controller_starts_ = 1;
};

// ---------------------------------------------------------------------------------------------------------
// Scenarios every job test starts from

/// A locked host, up for `uptime`, reporting: locked-disabled-online.
inline void locked_online(fake_host& h, std::chrono::milliseconds uptime = std::chrono::hours{5}) {
    h.set_record_states(fleet::admin_state::locked, fleet::oper_state::disabled, fleet::avail_state::online);
    h.agent_up(uptime, /*locked=*/true);
}

/// An unlocked host in service for `uptime`: unlocked-enabled-available, heartbeated, its boot known.
inline void enabled_available(fake_host& h, std::chrono::milliseconds uptime = std::chrono::hours{5}) {
    h.set_record_states(fleet::admin_state::unlocked, fleet::oper_state::enabled,
                        fleet::avail_state::available);
    h.agent_up(uptime, /*locked=*/false);
    h.record().enabled_boot = h.agent_boot_id();
    h.record().monitored = true;
}

/// Whether the host is in these states and no job is running.
inline bool settled_in(fake_host& h, fleet::admin_state a, fleet::oper_state o, fleet::avail_state v) {
    const auto& st = h.record().states;
    return st.administrative == a && st.operational == o && st.availability == v &&
           h.record().running == fleet::job_kind::none;
}

/// Whether the host is unlocked-enabled-available and no job is running.
inline bool enabled_available_now(fake_host& h) {
    return settled_in(h, fleet::admin_state::unlocked, fleet::oper_state::enabled,
                      fleet::avail_state::available);
}

}  // namespace mtce::test

// Boost.Test prints the values of failed comparisons.
namespace mtce::fleet {
inline std::ostream& operator<<(std::ostream& o, admin_state s) {
    return o << to_string(s);
}
inline std::ostream& operator<<(std::ostream& o, oper_state s) {
    return o << to_string(s);
}
inline std::ostream& operator<<(std::ostream& o, avail_state s) {
    return o << to_string(s);
}
inline std::ostream& operator<<(std::ostream& o, job_kind k) {
    return o << to_string(k);
}
inline std::ostream& operator<<(std::ostream& o, failure_cause c) {
    return o << to_string(c);
}
inline std::ostream& operator<<(std::ostream& o, host_action a) {
    return o << to_string(a);
}
}  // namespace mtce::fleet
namespace mtce::net {
inline std::ostream& operator<<(std::ostream& o, command_kind k) {
    return o << to_string(k);
}
}  // namespace mtce::net
namespace mtce::test {}  // namespace mtce::test
