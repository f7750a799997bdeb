#include "host/mtc_alive.hpp"

#include <filesystem>

#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "core/files.hpp"
#include "host/agent.hpp"
#include "host/boot.hpp"
#include "net/udp_endpoint.hpp"

namespace mtce::host {

namespace {

constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

bool file_exists(const std::filesystem::path& p) {
    std::error_code ec;
    return std::filesystem::exists(p, ec);
}

/// The value of the `reason=` line of a flag file's text, if it has one.
std::optional<std::string_view> reason_line(std::string_view text) {
    constexpr std::string_view key = "reason=";
    while (!text.empty()) {
        const auto nl = text.find('\n');
        const auto line = text.substr(0, nl);
        if (line.substr(0, key.size()) == key) {
            return line.substr(key.size());
        }
        if (nl == std::string_view::npos) {
            break;
        }
        text.remove_prefix(nl + 1);
    }
    return std::nullopt;
}

/// Enough of a flag file for its reason line, which comes second.
constexpr std::size_t failure_read_limit = 4096;

}  // namespace

std::uint32_t compute_alive_flags(const alive_inputs& in) {
    namespace f = net::alive_flags;
    std::uint32_t flags = in.config_failed ? 0U : f::configured;
    if (in.luks_failed) {
        flags |= f::luks_failed;
    }
    if (in.locked) {
        flags |= f::locked;
    }
    if (in.goenabled) {
        flags |= f::main_goenabled;
    }
    if (in.goenabled_failed) {
        flags |= f::main_goenabled_failed;
    }
    if (in.services_started) {
        flags |= f::main_services_started;
    }
    if (in.services_failed) {
        flags |= f::main_services_failed;
    }
    bool failed = in.goenabled_failed || in.services_failed;
    if (in.has_worker_subfunction) {
        if (in.subfunction_configured) {
            flags |= f::subf_configured;
        }
        if (in.goenabled_subf) {
            flags |= f::subf_goenabled;
        }
        if (in.goenabled_subf_failed) {
            flags |= f::subf_goenabled_failed;
        }
        if (in.services_subf_started) {
            flags |= f::subf_services_started;
        }
        if (in.services_subf_failed) {
            flags |= f::subf_services_failed;
        }
        failed = failed || in.goenabled_subf_failed || in.services_subf_failed;
    }
    if (failed || in.config_failed) {
        flags |= f::not_healthy;
    } else if (in.goenabled) {
        flags |= f::healthy;
    }
    return flags;
}

std::string failure_reason(const failure_texts& in) {
    const std::pair<const std::optional<std::string>*, std::string_view> files[] = {
        {&in.goenabled_failed, "self-tests failed"},
        {in.has_worker_subfunction ? &in.goenabled_subf_failed : nullptr,
         "worker subfunction self-tests failed"},
        {&in.services_failed, "host services failed"},
        {in.has_worker_subfunction ? &in.services_subf_failed : nullptr, "worker host services failed"},
    };
    for (const auto& [text, name] : files) {
        if (text == nullptr || !*text) {
            continue;
        }
        const auto reason = reason_line(**text);
        return std::string{reason && !reason->empty() ? *reason : name};
    }
    if (in.config_failed) {
        // Written by the platform's configuration tool: its first line says what failed.
        const std::string_view text = *in.config_failed;
        const auto line = text.substr(0, text.find('\n'));
        return line.empty() ? std::string{"configuration failed"}
                            : "configuration failed: " + std::string{line};
    }
    return {};
}

mtc_alive_sender::mtc_alive_sender(const asio::any_io_executor& ex, config_store& config, host_agent& agent,
                                   net::wire_sender& wire, std::vector<asio::ip::address> controllers)
    : config_{config}, agent_{agent}, wire_{wire}, controllers_{std::move(controllers)}, next_{ex} {
    const auto cfg = config_.current();
    for (const auto* network : {&cfg->mgmt, &cfg->cluster}) {
        if (!network->address.empty()) {
            auto socket = net::open_udp_sender(ex, *network);
            socket.non_blocking(true);
            sockets_.emplace_back(*network, std::move(socket));
        }
    }
}

std::uint32_t mtc_alive_sender::current_flags() const {
    const auto cfg = config_.current();
    const auto& flags = agent_.flags();
    alive_inputs in;
    in.goenabled = file_exists(flags.goenabled_passed(context::main));
    in.goenabled_failed = file_exists(flags.goenabled_failed(context::main));
    in.goenabled_subf = file_exists(flags.goenabled_passed(context::subfunction));
    in.goenabled_subf_failed = file_exists(flags.goenabled_failed(context::subfunction));
    in.services_started = file_exists(flags.services_started(cfg->self));
    in.services_failed = file_exists(flags.services_failed(cfg->self));
    in.services_subf_started = file_exists(flags.services_started(role::worker));
    in.services_subf_failed = file_exists(flags.services_failed(role::worker));
    in.locked = agent_.locked();
    in.has_worker_subfunction = cfg->has_worker_subfunction();
    in.subfunction_configured = in.has_worker_subfunction && file_exists(cfg->host.subfunction_config_marker);
    in.config_failed = file_exists(cfg->host.run_dir / "config_failed");
    in.luks_failed = file_exists(cfg->host.run_dir / "luks_failed");
    return compute_alive_flags(in);
}

std::string mtc_alive_sender::current_failure() const {
    const auto cfg = config_.current();
    const auto& flags = agent_.flags();
    failure_texts in;
    in.has_worker_subfunction = cfg->has_worker_subfunction();
    in.goenabled_failed = read_small_file(flags.goenabled_failed(context::main), failure_read_limit);
    in.goenabled_subf_failed =
        read_small_file(flags.goenabled_failed(context::subfunction), failure_read_limit);
    in.services_failed = read_small_file(flags.services_failed(cfg->self), failure_read_limit);
    in.services_subf_failed = read_small_file(flags.services_failed(role::worker), failure_read_limit);
    in.config_failed = read_small_file(cfg->host.run_dir / "config_failed", failure_read_limit);
    return failure_reason(in);
}

void mtc_alive_sender::flags_may_have_changed() {
    if (sent_once_ && current_flags() == sent_flags_) {
        return;
    }
    next_.cancel();
}

void mtc_alive_sender::send() {
    const auto cfg = config_.current();
    net::alive_report report;
    report.hostname = wire_.hostname();
    report.personality = std::string{to_string(cfg->self)};
    for (auto f : cfg->functions()) {
        report.functions.emplace_back(to_string(f));
    }
    report.mgmt_ip = cfg->mgmt.address;
    report.cluster_ip = cfg->cluster.address;
    report.boot_id = wire_.boot().id_text;
    report.uptime_s =
        uptime_seconds(wire_.boot(), realtime_ns() / 1'000'000'000U, boottime_ns() / 1'000'000'000U);
    report.flags = current_flags();
    namespace f = net::alive_flags;
    constexpr auto failures = f::main_goenabled_failed | f::subf_goenabled_failed | f::main_services_failed |
                              f::subf_services_failed;
    if ((report.flags & failures) != 0) {
        report.failure = current_failure();
    }
    if (drop_source_) {
        report.drops = drop_source_();
    }
    const auto json = net::to_json(report);
    const auto payload = std::as_bytes(std::span{json.data(), json.size()});
    for (auto& [network, socket] : sockets_) {
        const auto datagram = wire_.encode(net::message_type::mtc_alive, payload, out_);
        for (const auto& controller : controllers_) {
            std::error_code ec;
            socket.send_to(asio::buffer(datagram.data(), datagram.size()),
                           {controller, network.controller_port}, 0, ec);
            if (ec) {
                spdlog::debug("mtcAlive: cannot send to {}:{}: {}", controller.to_string(),
                              network.controller_port, ec.message());
            }
        }
    }
    sent_flags_ = report.flags;
    sent_once_ = true;
}

asio::awaitable<void> mtc_alive_sender::run(task_set& tasks) {
    using namespace asio::experimental::awaitable_operators;
    if (sockets_.empty() || controllers_.empty()) {
        co_return;
    }
    spdlog::info("mtcAlive: reporting to {} controller(s) every {}ms", controllers_.size(),
                 config_.current()->host.mtcalive_period.count());
    while (!tasks.stopping()) {
        send();
        // A flag change cancels the timer (flags_may_have_changed): the next report goes at once.
        next_.expires_after(config_.current()->host.mtcalive_period);
        auto woke = co_await (next_.async_wait(use_tuple) || tasks.until_stop());
        if (woke.index() == 1) {
            co_return;
        }
    }
}

}  // namespace mtce::host
