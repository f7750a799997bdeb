// The controller role: a controller is also a host, so it runs the host agent (controller self-tests and
// host services, plus the worker subfunction's on an all-in-one controller), and the fleet manager: the
// inventory, the host lifecycles, the heartbeat of the managed hosts (and of the monitor-only hosts of
// `[[controller.hosts]]`), alarms, events, and the REST API that shows and changes all of it.
#include "role.hpp"

#include <cerrno>
#include <cstring>
#include <optional>

#include <asio/experimental/awaitable_operators.hpp>
#include <spdlog/spdlog.h>

#include "api/server.hpp"
#include "bmc/http_client.hpp"
#include "bmc/ipmi.hpp"
#include "bmc/redfish.hpp"
#include "core/files.hpp"
#include "core/task_group.hpp"
#include "core/tasks.hpp"
#include "fleet/fleet.hpp"
#include "heartbeat/monitor.hpp"
#include "host/boot.hpp"
#include "host_agent_component.hpp"

namespace mtce::roles {

namespace {

/// How long a stopping component's tasks get to end on their own before they are cancelled.
constexpr std::chrono::seconds component_grace{2};

/// The bearer token of controller.api_token_file (surrounding whitespace dropped); empty when none is set.
std::string read_token(const config& cfg) {
    const auto& path = cfg.controller.api_token_file;
    if (path.empty()) {
        return {};
    }
    if (auto problem = check_access(path, file_use::private_file); !problem.empty()) {
        throw std::runtime_error{"controller.api_token_file: " + problem};
    }
    auto text = read_small_file(path, 4096);
    if (!text) {
        throw std::runtime_error{fmt::format("controller.api_token_file: cannot read '{}': {}", path.string(),
                                             std::strerror(errno))};
    }
    const auto first = text->find_first_not_of(" \t\r\n");
    const auto last = text->find_last_not_of(" \t\r\n");
    if (first == std::string::npos) {
        throw std::runtime_error{fmt::format("controller.api_token_file: '{}' is empty", path.string())};
    }
    return text->substr(first, last - first + 1);
}

/// What only the active controller runs: the heartbeat monitor, the fleet manager and the REST API, each a
/// component with its own task group, started in that order and stopped in the reverse order, while the
/// host agent runs on (design §8: a standby controller runs its host agent alone). Starting again builds
/// them anew: the fleet takes every host up from the inventory, as at a controller's start.
class active_part {
public:
    active_part(role_context& ctx, net::wire_sender& wire) : ctx_{ctx}, wire_{wire} {}

    [[nodiscard]] bool running() const { return fleet_ != nullptr; }

    /// Throws std::runtime_error naming the component that could not start; a fleet manager that could not
    /// open is discarded, and what runs already is left to stop() (or to the process that gives up).
    void start() {
        if (running()) {
            return;
        }
        const auto cfg = ctx_.config.current();
        auto report = [this](std::string_view task, const std::exception_ptr& e) { failed(task, e); };
        // Read before any component starts: a token file that is refused stops the start with nothing
        // running.
        std::string token;
        try {
            token = read_token(*cfg);
        } catch (const std::exception& e) {
            throw std::runtime_error{std::string{"api: "} + e.what()};
        }
        try {
            monitor_ = std::make_unique<heartbeat::monitor>(
                cfg->heartbeat, wire_, std::array{!cfg->mgmt.address.empty(), !cfg->cluster.address.empty()});
            for (const auto& h : cfg->controller.hosts) {
                monitor_->add_host(h);
            }
        } catch (const std::exception& e) {
            throw std::runtime_error{std::string{"heartbeat monitor: "} + e.what()};
        }
        try {
            start_fleet(*cfg);
            fleet_->start(report);
        } catch (const std::exception& e) {
            discard();
            throw std::runtime_error{std::string{"fleet manager: "} + e.what()};
        }
        heartbeat_.emplace(ctx_.ex, "heartbeat monitor");
        heartbeat_->on_failure(report);
        heartbeat_->spawn("heartbeat monitor", heartbeat::run_monitor(*monitor_, ctx_.config, ctx_.tasks));
        try {
            auto where = api::parse_listen(cfg->controller.api_listen);
            if (!where) {
                throw std::runtime_error{"controller.api_listen: " + where.error()};
            }
            const auto& c = cfg->controller;
            api::server_options options;
            options.request_timeout = c.api_client_timeout;
            options.max_connections = c.api_max_connections;
            options.client_connections = c.api_client_connections;
            options.trust_loopback = c.api_trust_loopback;
            options.socket_path = c.api_socket.string();
            options.socket_group = c.api_socket_group;
            api_ =
                std::make_unique<api::server>(ctx_.ex, *where, *fleet_, std::move(token), std::move(options));
            const auto port = api_->bind();
            spdlog::info("api: serving on {}:{}", where->host, port);
        } catch (const std::exception& e) {
            api_.reset();
            // The heartbeat monitor and the fleet run already: fail as a component does, so that run()
            // stops them in order before the daemon exits.
            failed("api", std::make_exception_ptr(std::runtime_error{std::string{"api: "} + e.what()}));
            return;
        }
        api_tasks_.emplace(ctx_.ex, "api");
        api_tasks_->on_failure(report);
        api_tasks_->spawn("api", api_->run(ctx_.tasks));
    }

    /// Stops the API, the fleet manager and the heartbeat monitor, in that order, and waits for their tasks.
    asio::awaitable<void> stop() {
        if (api_tasks_) {
            co_await api_tasks_->stop(component_grace);
        }
        api_.reset();
        if (fleet_) {
            co_await fleet_->stop();
        }
        if (heartbeat_) {
            co_await heartbeat_->stop(component_grace);
        }
        discard();
    }

    /// Completes when a component's task failed for good, with its error.
    asio::awaitable<std::exception_ptr> failure() {
        co_await failed_.wait();
        co_return failure_;
    }

private:
    void start_fleet(const config& cfg) {
        fleet_ = std::make_unique<fleet::fleet_manager>(ctx_.ex, ctx_.config, wire_, monitor_.get());
        redfish_ = std::make_unique<bmc::http_client>(ctx_.ex, cfg.bmc.ca_file);
        fleet_->use_bmc([this, ex = ctx_.ex, ipmitool = cfg.bmc.ipmitool, cipher = cfg.bmc.ipmi_cipher_suite](
                            std::string_view protocol, const bmc::endpoint& where,
                            const bmc::timing& timing) -> std::unique_ptr<bmc::driver> {
            if (protocol == "redfish") {
                return bmc::make_redfish_driver(*redfish_, where, timing);
            }
            if (protocol == "ipmi") {
                bmc::ipmi_options options;
                if (cipher >= 0) {
                    options.cipher_suite = static_cast<std::uint8_t>(cipher);
                }
                return bmc::make_ipmi_driver(ex, where, timing, ipmitool, options);
            }
            return nullptr;
        });
        // This controller's uptime, from the boot its host agent reports (a simulated host's boot counts
        // from when its agent first saw it): below dor.detect_s the site lost power.
        const std::chrono::seconds uptime{host::uptime_seconds(
            wire_.boot(), host::realtime_ns() / 1'000'000'000U, host::boottime_ns() / 1'000'000'000U)};
        fleet_->open(uptime);
    }

    /// Frees the components, the last started first (their tasks have ended).
    void discard() {
        api_tasks_.reset();
        api_.reset();
        fleet_.reset();
        redfish_.reset();
        heartbeat_.reset();
        monitor_.reset();
    }

    void failed(std::string_view task, const std::exception_ptr& e) {
        spdlog::error("task '{}' failed: {}", task, exception_message(e));
        if (!failure_) {
            failure_ = e;
            failed_.set();
        }
    }

    role_context& ctx_;
    net::wire_sender& wire_;
    std::unique_ptr<heartbeat::monitor> monitor_;
    std::optional<task_group> heartbeat_;
    std::unique_ptr<bmc::http_client> redfish_;  // outlives the fleet's drivers
    std::unique_ptr<fleet::fleet_manager> fleet_;
    std::unique_ptr<api::server> api_;  // destroyed before what it serves
    std::optional<task_group> api_tasks_;
    event failed_{ctx_.ex};
    std::exception_ptr failure_;
};

class controller_role : public running_role {
public:
    controller_role(role_context& ctx, std::unique_ptr<agent_role> agent, net::wire_sender& wire)
        : agent_{std::move(agent)}, active_{ctx, wire} {}

    void start_active() override { active_.start(); }
    asio::awaitable<void> stop_active() override { co_await active_.stop(); }
    [[nodiscard]] bool active() const override { return active_.running(); }

    /// The role's own task: until the daemon stops, then the active part stops in order; a component's
    /// failure stops the daemon (exit 1, for systemd to restart it).
    asio::awaitable<void> run(task_set& tasks) {
        using namespace asio::experimental::awaitable_operators;
        auto failure = co_await (active_.failure() || tasks.until_stop());
        co_await active_.stop();
        if (failure.index() == 0) {
            std::rethrow_exception(std::get<0>(failure));
        }
    }

private:
    std::unique_ptr<agent_role> agent_;  // runs on whatever the active part does
    active_part active_;
};

}  // namespace

tl::expected<std::unique_ptr<running_role>, std::string> start_controller(role_context& ctx) {
    auto agent = start_agent_role(ctx);
    if (!agent) {
        return tl::unexpected{std::move(agent.error())};
    }
    auto* wire = (*agent)->wire();
    if (wire == nullptr) {
        return tl::unexpected{
            std::string{"fleet manager: this controller has no network address (network.mgmt.address or "
                        "network.cluster.address): it cannot reach any host"}};
    }
    auto c = std::make_unique<controller_role>(ctx, std::move(*agent), *wire);
    try {
        c->start_active();
    } catch (const std::exception& e) {
        return tl::unexpected{std::string{e.what()}};
    }
    ctx.tasks.spawn("controller", c->run(ctx.tasks));
    return c;
}

}  // namespace mtce::roles
