#include "host/commands.hpp"

#include <algorithm>

#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "core/duration.hpp"
#include "core/escape.hpp"
#include "core/text.hpp"
#include "host/agent.hpp"
#include "host/sequences.hpp"
#include "host/systemd_actions.hpp"
#include "net/udp_endpoint.hpp"

namespace mtce::host {

namespace {

constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

/// Longest reason sent in a result; the receiver keeps no more than this either.
constexpr std::size_t max_reason = 512;

/// Clears a flag when the coroutine that set it ends, however it ends.
class clear_on_exit {
public:
    explicit clear_on_exit(bool& flag) : flag_{flag} {}
    ~clear_on_exit() { flag_ = false; }
    clear_on_exit(const clear_on_exit&) = delete;
    clear_on_exit& operator=(const clear_on_exit&) = delete;

private:
    bool& flag_;
};

}  // namespace

// ---- command_inbox ----

command_inbox::command_inbox(std::size_t networks, std::vector<asio::ip::address> controllers,
                             net::codec& codec, std::string hostname, fence_position at)
    : controllers_{std::move(controllers)},
      codec_{codec},
      hostname_{std::move(hostname)},
      at_{at},
      guards_(networks) {}

std::optional<inbound_command> command_inbox::on_datagram(std::size_t network, const asio::ip::address& from,
                                                          std::span<const std::byte> data) {
    auto message = codec_.decode(data, rejected_);
    if (!message) {
        return std::nullopt;
    }
    if (std::find(controllers_.begin(), controllers_.end(), from) == controllers_.end()) {
        ++not_from_a_controller_;
        return std::nullopt;
    }
    if (message->type != net::message_type::command) {
        ++not_a_command_;
        return std::nullopt;
    }
    auto& guard = guards_.at(network);
    if (guard.check(*message, rejected_)) {
        return std::nullopt;
    }
    auto command = net::parse_command(message->payload);
    if (!command && (!command.error().id || command.error().name.empty())) {
        ++unreadable_;
        return std::nullopt;
    }
    guard.accept(*message);

    inbound_command in;
    in.controller = std::string{message->sender};
    in.network = network;
    if (!command) {
        in.id = *command.error().id;
        in.name = command.error().name;
        in.nonce = command.error().nonce;
        in.ack = net::command_ack{in.name, in.id, command.error().reason, in.nonce};
        return in;
    }
    in.id = command->id;
    in.name = std::string{net::to_string(command->kind)};
    in.nonce = command->nonce;

    // For this host, and not from an earlier controller term: checked before anything is remembered.
    const auto verdict = judge(at_, *command, hostname_);
    if (verdict == fence_verdict::wrong_target || verdict == fence_verdict::stale_epoch) {
        ++fenced_[static_cast<std::size_t>(verdict)];
        return std::nullopt;
    }

    auto known = seen_.find(in.controller);
    if (known == seen_.end()) {
        if (seen_.size() >= max_controllers) {
            seen_.erase(
                seen_.begin());  // bounded; only an authenticated peer at a controller address gets here
        }
        known =
            seen_
                .emplace(in.controller, controller_ids{message->boot, message->boot_time, command->epoch, {}})
                .first;
    } else if (known->second.boot != message->boot) {
        // Each network's replay guard knows only its own traffic: a late datagram of the controller's older
        // boot may pass one network's guard after the other network saw the newer boot. Only a newer boot
        // starts the ids afresh.
        if (message->boot_time <= known->second.boot_time) {
            rejected_.add(net::reject_reason::stale_boot);
            return std::nullopt;
        }
        known->second = controller_ids{message->boot, message->boot_time, command->epoch, {}};
    }
    if (known->second.epoch != command->epoch) {
        // A new epoch (a lower one was refused above): its ids start afresh.
        known->second.epoch = command->epoch;
        known->second.ids.clear();
    }
    auto& ids = known->second.ids;
    const auto seen =
        std::find_if(ids.begin(), ids.end(), [&](const remembered& r) { return r.id == in.id; });
    if (seen != ids.end()) {
        in.repeat = true;
        in.ack = seen->ack;
        return in;
    }
    // A new id must also be newer than the last carried out, which the fence remembers across restarts.
    if (verdict == fence_verdict::old_id) {
        ++fenced_[static_cast<std::size_t>(verdict)];
        return std::nullopt;
    }
    if (ids.size() >= remembered_ids) {
        ids.pop_front();
    }
    std::optional<net::command_ack> ack;
    if (command->kind != net::command_kind::mtcalive) {
        ack = net::command_ack{in.name, in.id, {}, in.nonce};
        in.advance = after(*command);
        at_ = *in.advance;
    }
    ids.push_back({in.id, std::move(ack)});
    in.execute = *command;
    return in;
}

void command_inbox::remember_ack(std::string_view controller, std::uint64_t id,
                                 std::optional<net::command_ack> ack) {
    const auto known = seen_.find(controller);
    if (known == seen_.end()) {
        return;
    }
    for (auto& r : known->second.ids) {
        if (r.id == id) {
            r.ack = std::move(ack);
            break;  // an id is remembered once
        }
    }
}

// ---- command_server ----

command_server::command_server(asio::any_io_executor ex, config_store& config, host_agent& agent,
                               net::wire_sender& wire, std::vector<asio::ip::address> controllers,
                               task_set& tasks, std::function<void()> send_alive)
    : config_{config},
      agent_{agent},
      wire_{wire},
      tasks_{tasks},
      send_alive_{std::move(send_alive)},
      endpoints_{[&] {
          std::vector<endpoint> out;
          const auto cfg = config.current();
          for (const auto& [name, network] :
               {std::pair{"mgmt", &cfg->mgmt}, std::pair{"cluster", &cfg->cluster}}) {
              if (network->address.empty()) {
                  continue;
              }
              // Commands are always unicast: bound to the address itself, whatever the heartbeat mode.
              auto socket = net::open_udp(ex, *network, network->agent_port, heartbeat_mode::unicast);
              socket.non_blocking(true);
              out.push_back(endpoint{name, *network, std::move(socket)});
          }
          return out;
      }()},
      fence_{config.current()->host.state_dir},
      inbox_{endpoints_.size(), std::move(controllers), wire.codec(), wire.hostname(), [this] {
                 fence_.load();
                 return fence_.position();
             }()} {
    const auto& at = fence_.position();
    spdlog::info("commands: carrying out commands of epoch {} after id {}, or of a higher epoch", at.epoch,
                 at.last_id);
}

asio::awaitable<void> command_server::serve(std::size_t network) {
    using namespace asio::experimental::awaitable_operators;
    auto& ep = endpoints_.at(network);
    spdlog::info("commands ({}): receiving on {}:{}", ep.name, ep.network.address, ep.network.agent_port);
    auto sink = [this, network](const asio::ip::udp::endpoint& from, std::span<const std::byte> data) {
        on_datagram(network, from.address(), data);
    };
    // The sink may throw: caught, so that the race ends with the failure instead of holding it until stop.
    auto ended = co_await (catching(net::serve_udp(ep.socket, sink)) || tasks_.until_stop());
    if (ended.index() == 0) {
        if (const auto ec = std::get<0>(std::move(ended)).get()) {
            throw std::system_error{ec, "commands (" + ep.name + "): receiving"};
        }
    }
}

void command_server::on_datagram(std::size_t network, const asio::ip::address& from,
                                 std::span<const std::byte> data) {
    const auto in = inbox_.on_datagram(network, from, data);
    if (!in) {
        log_drops();
        return;
    }
    const reply_to to{network, from, in->nonce};
    const auto& net_name = endpoints_[network].name;
    if (in->execute) {
        spdlog::info("command '{}' (id {}) from {} on {} ({}, epoch {})", in->name, in->id, in->controller,
                     net_name, from.to_string(), in->execute->epoch);
        // Recorded before it is carried out, so that no restart of this agent carries it out again.
        if (in->advance) {
            if (auto ec = fence_.advance(*in->advance)) {
                spdlog::error("{}: cannot record the command in '{}': {}", in->name, fence_.path().string(),
                              ec.message());
                acknowledge(*in, to, fmt::format("cannot record the command: {}", ec.message()));
                return;
            }
        }
        carry_out(*in, *in->execute, to);
        return;
    }
    if (in->repeat) {
        spdlog::debug("command '{}' (id {}) from {} on {} again: already received, not carried out again",
                      in->name, in->id, in->controller, net_name);
    } else {
        spdlog::warn("command '{}' (id {}) from {} on {} refused: {}", in->name, in->id, in->controller,
                     net_name, in->ack ? in->ack->error : std::string{});
    }
    if (in->ack) {
        send(to, net::message_type::command_ack, net::to_json(*in->ack));
    }
}

void command_server::carry_out(const inbound_command& in, const net::command& command, const reply_to& to) {
    const auto cfg = config_.current();
    switch (command.kind) {
    case net::command_kind::lock:
    case net::command_kind::unlock: {
        const bool lock = command.kind == net::command_kind::lock;
        // The lock is on disk before the controller hears that it was received.
        if (auto ec = agent_.set_locked(lock)) {
            spdlog::error("{}: cannot persist the {} state: {}", in.name, lock ? "locked" : "unlocked",
                          ec.message());
            acknowledge(
                in, to,
                fmt::format("cannot persist the {} state: {}", lock ? "locked" : "unlocked", ec.message()));
            return;
        }
        acknowledge(in, to);
        if (lock) {
            tasks_.spawn(fmt::format("lock (id {})", command.id), stop_services_for_lock(to, command.id));
        } else {
            tasks_.spawn(fmt::format("unlock (id {})", command.id), agent_.resume_boot());
        }
        return;
    }
    case net::command_kind::reboot:
    case net::command_kind::reset: {
        acknowledge(in, to);
        if (restarting_) {
            spdlog::warn("{} requested by {}: a reboot or reset is already in progress, not running it again",
                         in.name, in.controller);
            return;
        }
        restarting_ = true;
        if (command.kind == net::command_kind::reboot) {
            tasks_.spawn("reboot", reboot(in.controller, command.delay_s));
        } else {
            tasks_.spawn("reset", reset(in.controller));
        }
        return;
    }
    case net::command_kind::goenabled: {
        if (command.subfunction && !cfg->has_worker_subfunction()) {
            acknowledge(in, to, "this host has no worker subfunction");
            return;
        }
        acknowledge(in, to);
        const auto ctx = command.subfunction ? context::subfunction : context::main;
        tasks_.spawn(fmt::format("goenabled (id {})", command.id), run_goenabled_for(to, command.id, ctx));
        return;
    }
    case net::command_kind::mtcalive:
        // Answered by the report itself; no acknowledgement.
        send_alive_();
        return;
    }
}

void command_server::acknowledge(const inbound_command& in, const reply_to& to, std::string error) {
    net::command_ack ack{in.name, in.id, std::move(error), to.nonce};
    if (!ack.error.empty()) {
        inbox_.remember_ack(in.controller, in.id, ack);
    }
    send(to, net::message_type::command_ack, net::to_json(ack));
}

void command_server::send_result(const reply_to& to, std::string_view name, std::uint64_t id,
                                 const verdict& outcome) {
    const net::command_result result{std::string{name}, id, outcome.passed,
                                     cut_utf8(outcome.reason, max_reason), to.nonce};
    spdlog::info("command '{}' (id {}): {}", name, id, outcome.passed ? "done" : "failed: " + result.reason);
    send(to, net::message_type::command_result, net::to_json(result));
}

void command_server::send(const reply_to& to, net::message_type type, const std::string& json) {
    auto& ep = endpoints_.at(to.network);
    std::span<const std::byte> datagram;
    try {
        datagram = wire_.encode(type, std::as_bytes(std::span{json.data(), json.size()}), out_);
    } catch (const std::exception& e) {
        spdlog::error("commands ({}): cannot send a {}: {}", ep.name, net::to_string(type), e.what());
        return;
    }
    std::error_code ec;
    ep.socket.send_to(asio::buffer(datagram.data(), datagram.size()),
                      {to.address, ep.network.controller_port}, 0, ec);
    if (ec) {
        spdlog::warn("commands ({}): cannot send a {} to {}:{}: {}", ep.name, net::to_string(type),
                     to.address.to_string(), ep.network.controller_port, ec.message());
    }
}

void command_server::log_drops() {
    drops_.on_drop();
}

drop_counts command_inbox::dropped_by_reason() const {
    auto counts = to_drop_counts(rejected_);
    add_drops(counts, "not_from_a_controller", not_from_a_controller_);
    add_drops(counts, "not_a_command", not_a_command_);
    add_drops(counts, "unreadable", unreadable_);
    add_drops(counts, "wrong_target", fenced(fence_verdict::wrong_target));
    add_drops(counts, "stale_epoch", fenced(fence_verdict::stale_epoch));
    add_drops(counts, "old_id", fenced(fence_verdict::old_id));
    return counts;
}

asio::awaitable<void> command_server::stop_services_for_lock(reply_to to, std::uint64_t id) {
    const auto cfg = config_.current();
    auto functions = cfg->functions();
    // The worker subfunction of an all-in-one controller stops before the main function it runs on.
    std::reverse(functions.begin(), functions.end());
    verdict outcome;
    for (const auto function : functions) {
        const auto report = co_await agent_.services(function, service_action::stop);
        if (!report.outcome.passed && outcome.passed) {
            outcome = report.outcome;
        }
    }
    send_result(to, "lock", id, outcome);
}

asio::awaitable<void> command_server::run_goenabled_for(reply_to to, std::uint64_t id, context ctx) {
    const auto report = co_await agent_.goenabled(ctx);
    send_result(to, "goenabled", id, report.outcome);
}

asio::awaitable<child_result> command_server::run_shell(std::string what, std::string command) {
    const auto cfg = config_.current();
    child_spec spec;
    spec.program = "/bin/sh";
    spec.args = {"-c", command};
    spec.env = script_env(*cfg, cfg->self, to_string(context::main));
    spec.deadline = cfg->host.failsafe_delay;
    spec.kill_grace = cfg->host.kill_grace;
    spec.output_limit = cfg->host.output_limit;
    spec.isolation = agent_.script_isolation_for(*cfg);
    const auto result = co_await run_child(std::move(spec));
    if (result.ok()) {
        spdlog::info("{}: '{}' ended: {}", what, command, result.describe());
    } else {
        spdlog::error("{}: '{}' failed: {}", what, command, result.describe());
    }
    for (const auto* stream : {&result.out, &result.err}) {
        if (!stream->empty()) {
            spdlog::log(result.ok() ? spdlog::level::info : spdlog::level::err, "{}: '{}' said: {}", what,
                        command, escape_output(*stream));
        }
    }
    co_return result;
}

asio::awaitable<void> command_server::reboot(std::string controller, std::uint32_t delay_s) {
    using namespace asio::experimental::awaitable_operators;
    const clear_on_exit done{restarting_};
    const auto cfg = config_.current();
    const auto ex = co_await asio::this_coro::executor;
    if (delay_s != 0) {
        spdlog::info("reboot requested by {}: rebooting in {}s", controller, delay_s);
        asio::steady_timer delay{ex, std::chrono::seconds{delay_s}};
        const auto woke = co_await (delay.async_wait(use_tuple) || tasks_.until_stop());
        if (woke.index() == 1) {
            co_return;
        }
    }
    const auto started = std::chrono::steady_clock::now();
    if (choose_reboot_method(agent_.script_isolation_for(*cfg), cfg->host.reboot_command) ==
        reboot_method::start_reboot_target) {
        spdlog::warn("reboot requested by {}: starting reboot.target", controller);
        co_await start_reboot_target();
    } else {
        spdlog::warn("reboot requested by {}: running '{}'", controller, cfg->host.reboot_command);
        co_await run_shell("reboot", cfg->host.reboot_command);
    }

    // The failsafe: a reboot that stalls (a stop job that hangs, say) still ends in a reset.
    asio::steady_timer failsafe{ex, started + cfg->host.failsafe_delay};
    const auto woke = co_await (failsafe.async_wait(use_tuple) || tasks_.until_stop());
    if (woke.index() == 1) {
        co_return;  // the agent is being stopped: the reboot is under way
    }
    spdlog::error("reboot: the host is still up {} after '{}': failsafe, running '{}'",
                  format_duration(cfg->host.failsafe_delay), cfg->host.reboot_command,
                  cfg->host.reset_command);
    co_await run_shell("reboot failsafe", cfg->host.reset_command);
}

asio::awaitable<void> command_server::reset(std::string controller) {
    const clear_on_exit done{restarting_};
    const auto cfg = config_.current();
    spdlog::warn("reset requested by {}: running '{}'", controller, cfg->host.reset_command);
    co_await run_shell("reset", cfg->host.reset_command);
}

}  // namespace mtce::host
