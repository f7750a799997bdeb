#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <asio/experimental/as_tuple.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>

#include "api/backend.hpp"

namespace mtce::test {

/// A backend with two hosts, worker-0 (heartbeat degraded on cluster) and controller-0, and a system view
/// of a site in Dead Office Recovery, whose tests script what the changes answer and see what was asked.
///
/// Thread-safe (one mutex), so that a test can script and inspect it while a server thread calls it.
/// Changes answer, unless scripted, api::result::done: add_host and modify_host with {"name": ...},
/// delete_host and act with no body.
class fake_backend : public api::backend {
public:
    /// One call of a changing method, as the backend received it.
    struct call {
        std::string method;  ///< "add_host", "modify_host", "delete_host" or "act"
        std::string name;
        std::string action;                 ///< act() only
        api::add_host_request request;      ///< add_host() only
        api::modify_host_request modify{};  ///< modify_host() only
    };

    fake_backend() {
        hosts_ = nlohmann::json::array();
        hosts_.push_back(
            {{"name", "controller-0"},
             {"personality", "controller"},
             {"subfunctions", {"controller", "worker"}},
             {"administrative", "unlocked"},
             {"operational", "enabled"},
             {"availability", "available"},
             {"subfunction_operational", "enabled"},
             {"subfunction_availability", "available"},
             {"task", ""},
             {"uptime_s", 7322},
             {"mgmt_ip", "192.168.204.2"},
             {"cluster_ip", "192.168.206.2"},
             {"bmc_type", "redfish"},
             {"heartbeat",
              {{"mgmt", {{"state", "ok"}, {"misses", 0}}}, {"cluster", {{"state", "ok"}, {"misses", 0}}}}},
             {"auto_recovery_disabled", false},
             {"autorecovery", {{"cause", "none"}, {"count", 0}}}});
        hosts_.push_back({{"name", "worker-0"},
                          {"personality", "worker"},
                          {"subfunctions", {"worker"}},
                          {"administrative", "unlocked"},
                          {"operational", "enabled"},
                          {"availability", "degraded"},
                          {"subfunction_operational", nullptr},
                          {"subfunction_availability", nullptr},
                          {"task", "Heartbeat degraded"},
                          {"uptime_s", 42},
                          {"mgmt_ip", "192.168.204.11"},
                          {"cluster_ip", "192.168.206.11"},
                          {"bmc_type", "none"},
                          {"heartbeat",
                           {{"mgmt", {{"state", "ok"}, {"misses", 1}}},
                            {"cluster", {{"state", "degraded"}, {"misses", 7}}}}},
                          {"auto_recovery_disabled", false},
                          {"autorecovery", {{"cause", "none"}, {"count", 0}}}});
    }

    [[nodiscard]] nlohmann::json hosts() const override {
        const std::lock_guard lock{mutex_};
        return hosts_;
    }
    [[nodiscard]] bool host(std::string_view name, nlohmann::json& out) const override {
        const std::lock_guard lock{mutex_};
        const auto reads = reads_[std::string{name}]++;
        for (auto it = changes_.begin(); it != changes_.end();) {
            if (it->name == name && it->after_reads <= reads) {
                apply(*it);
                it = changes_.erase(it);
            } else {
                ++it;
            }
        }
        for (const auto& h : hosts_) {
            if (h["name"] == name) {
                out = h;
                return true;
            }
        }
        return false;
    }
    [[nodiscard]] nlohmann::json health() const override { return {{"status", "ok"}}; }
    [[nodiscard]] nlohmann::json system() const override {
        const std::lock_guard lock{mutex_};
        return system_;
    }
    [[nodiscard]] std::string metrics() const override {
        return "# HELP mtce_hosts Hosts in the inventory.\n# TYPE mtce_hosts gauge\nmtce_hosts 2\n";
    }

    [[nodiscard]] nlohmann::json alarms() const override {
        const std::lock_guard lock{mutex_};
        return alarms_;
    }
    [[nodiscard]] nlohmann::json events(std::uint64_t since, std::size_t limit) const override {
        const std::lock_guard lock{mutex_};
        queries_.emplace_back(since, limit);
        auto out = nlohmann::json::array();
        for (const auto& e : events_) {
            if (e["id"].get<std::uint64_t>() > since && out.size() < limit) {
                out.push_back(e);
            }
        }
        return out;
    }

    asio::awaitable<api::outcome> add_host(api::add_host_request request) override {
        auto name = request.name;
        const auto p = record({"add_host", name, "", std::move(request)});
        co_await maybe_hang(p);
        co_return p.answer.value_or(api::outcome::success(nlohmann::json{{"name", name}}.dump()));
    }
    asio::awaitable<api::outcome> modify_host(std::string name, api::modify_host_request request) override {
        const auto p = record({"modify_host", name, "", {}, std::move(request)});
        co_await maybe_hang(p);
        co_return p.answer.value_or(api::outcome::success(nlohmann::json{{"name", name}}.dump()));
    }
    asio::awaitable<api::outcome> delete_host(std::string name) override {
        const auto p = record({"delete_host", name, "", {}});
        co_await maybe_hang(p);
        co_return p.answer.value_or(api::outcome::success());
    }
    asio::awaitable<api::outcome> act(std::string name, std::string action) override {
        const auto p = record({"act", std::move(name), std::move(action), {}});
        co_await maybe_hang(p);
        co_return p.answer.value_or(api::outcome::success());
    }

    // What the tests script.

    /// The next change answers `o` instead of the default (several calls queue up, in order).
    void answer_next(api::outcome o) {
        const std::lock_guard lock{mutex_};
        scripted_.push_back({std::move(o), false, false});
    }
    /// The next change throws a std::runtime_error with `what`.
    void throw_next(std::string what) {
        const std::lock_guard lock{mutex_};
        // The outcome only carries the exception's text, as its reason.
        scripted_.push_back({api::outcome{api::result::done, std::move(what), {}}, true, false});
    }
    /// The next change never completes on its own: it waits until cancelled.
    void hang_next() {
        const std::lock_guard lock{mutex_};
        scripted_.push_back({{}, false, true});
    }
    /// After `reads` more reads of host `name`, merges `changes` into its document (RFC 7386 merge patch);
    /// null `changes` deletes the host. Several changes apply in the order of their read counts.
    void change_after(const std::string& name, std::uint64_t reads, nlohmann::json changes) {
        const std::lock_guard lock{mutex_};
        changes_.push_back({name, reads_[name] + reads, std::move(changes)});
    }
    /// What GET /v1/system answers from now on.
    void set_system(nlohmann::json system) {
        const std::lock_guard lock{mutex_};
        system_ = std::move(system);
    }
    void set_alarms(nlohmann::json alarms) {
        const std::lock_guard lock{mutex_};
        alarms_ = std::move(alarms);
    }
    /// Appends an event with the next id and the current time (epoch milliseconds); returns its id.
    std::uint64_t add_event(const std::string& host, const std::string& kind, const std::string& text,
                            std::int64_t time_ms = -1) {
        const std::lock_guard lock{mutex_};
        const auto id = static_cast<std::uint64_t>(events_.size() + 1);
        if (time_ms < 0) {
            time_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
        }
        events_.push_back({{"id", id}, {"time", time_ms}, {"host", host}, {"kind", kind}, {"text", text}});
        return id;
    }

    // What the tests see.

    [[nodiscard]] std::vector<call> calls() const {
        const std::lock_guard lock{mutex_};
        return calls_;
    }
    /// The (since, limit) of every events() call, in order.
    [[nodiscard]] std::vector<std::pair<std::uint64_t, std::size_t>> event_queries() const {
        const std::lock_guard lock{mutex_};
        return queries_;
    }
    /// How many times host(name) was called.
    [[nodiscard]] std::uint64_t reads_of(const std::string& name) const {
        const std::lock_guard lock{mutex_};
        const auto it = reads_.find(name);
        return it == reads_.end() ? 0 : it->second;
    }
    /// How many changes were cancelled while they waited (hang_next()).
    [[nodiscard]] std::size_t cancelled() const {
        const std::lock_guard lock{mutex_};
        return cancelled_;
    }

    /// Read it only while no server runs. Mutable: a scripted change applies when host() is called.
    mutable nlohmann::json hosts_;

private:
    struct script {
        api::outcome answer;
        bool throws = false;
        bool hangs = false;
    };
    struct change {
        std::string name;
        std::uint64_t after_reads = 0;
        nlohmann::json patch;
    };

    /// What a change does, as scripted.
    struct plan {
        std::optional<api::outcome> answer;  ///< nullopt: the default
        bool hangs = false;
    };

    /// Records `c` and returns its plan; throws if it was scripted to.
    plan record(call c) {
        const std::lock_guard lock{mutex_};
        calls_.push_back(std::move(c));
        if (scripted_.empty()) {
            return {};
        }
        auto s = std::move(scripted_.front());
        scripted_.pop_front();
        if (s.throws) {
            throw std::runtime_error{s.answer.reason};
        }
        if (s.hangs) {
            return {std::nullopt, true};
        }
        return {std::move(s.answer), false};
    }

    /// Waits until cancelled if the change was scripted to hang; the cancellation propagates.
    asio::awaitable<void> maybe_hang(const plan& p) {
        if (!p.hangs) {
            co_return;
        }
        asio::steady_timer forever{co_await asio::this_coro::executor, asio::steady_timer::time_point::max()};
        const auto [ec] = co_await forever.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
        {
            const std::lock_guard lock{mutex_};
            ++cancelled_;
        }
        throw std::runtime_error{"cancelled: " + ec.message()};
    }

    void apply(const change& c) const {
        for (auto it = hosts_.begin(); it != hosts_.end(); ++it) {
            if ((*it)["name"] == c.name) {
                if (c.patch.is_null()) {
                    hosts_.erase(it);
                } else {
                    it->merge_patch(c.patch);
                }
                return;
            }
        }
    }

    mutable std::mutex mutex_;
    std::vector<call> calls_;
    std::deque<script> scripted_;
    std::size_t cancelled_ = 0;
    mutable std::vector<change> changes_;
    mutable std::map<std::string, std::uint64_t> reads_;
    mutable std::vector<std::pair<std::uint64_t, std::size_t>> queries_;
    nlohmann::json alarms_ = nlohmann::json::array();
    /// A site in Dead Office Recovery, two hosts of four recovered; MNFA entered once before.
    nlohmann::json system_ = {
        {"mode", "dor"},
        {"dor",
         {{"active", true},
          {"started", "2026-12-07T10:00:00Z"},
          {"deadline", "2026-12-07T10:00:24Z"},
          {"ended", nullptr},
          {"recovered", 2},
          {"total", 4},
          {"hosts",
           {{{"name", "controller-0"},
             {"state", "unlocked-enabled-available"},
             {"recovered", true},
             {"checked_in", true}},
            {{"name", "storage-0"},
             {"state", "unlocked-enabled-available"},
             {"recovered", true},
             {"checked_in", true}},
            {{"name", "worker-0"},
             {"state", "unlocked-disabled-offline"},
             {"recovered", false},
             {"checked_in", false}},
            {{"name", "worker-1"},
             {"state", "unlocked-disabled-intest"},
             {"recovered", false},
             {"checked_in", true}}}}}},
        {"mnfa",
         {{"active", false},
          {"since", nullptr},
          {"networks", {{"mgmt", 0}, {"cluster", 0}}},
          {"hosts", nlohmann::json::array()},
          {"episodes", 1}}},
        {"controllers",
         {{{"name", "controller-0"}, {"state", "unlocked-enabled-available"}, {"self", true}},
          {{"name", "controller-1"}, {"state", "locked-disabled-offline"}, {"self", false}}}}};
    nlohmann::json events_ = nlohmann::json::array();
};

}  // namespace mtce::test
