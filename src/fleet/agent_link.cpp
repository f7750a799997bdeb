#include "fleet/agent_link.hpp"

#include <chrono>

#include <asio/ip/address.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "net/udp_endpoint.hpp"
#include "net/wire.hpp"

namespace mtce::fleet {

namespace {
using heartbeat::network;
constexpr std::array<network, heartbeat::network_count> all_networks{network::mgmt, network::cluster};
}  // namespace

agent_link::agent_link(asio::any_io_executor ex, net::wire_sender& wire)
    : ex_{std::move(ex)},
      wire_{wire},
      nonce_{net::random_nonce()},
      inbox_{wire.codec(), nonce_},
      next_command_{static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                                   std::chrono::system_clock::now().time_since_epoch())
                                                   .count())} {}

void agent_link::open(const config& cfg) {
    networks_ = {cfg.mgmt, cfg.cluster};
    for (auto net : all_networks) {
        const auto i = static_cast<std::size_t>(net);
        if (networks_[i].address.empty()) {
            continue;
        }
        try {
            sockets_[i].emplace(
                net::open_udp(ex_, networks_[i], networks_[i].controller_port, heartbeat_mode::unicast));
        } catch (const std::system_error& e) {
            throw std::runtime_error{fmt::format("controller ({}): {}", to_string(net), e.what())};
        }
    }
}

std::uint64_t agent_link::send(const host_spec& to, net::command c) {
    if (c.id == 0) {
        c.id = next_command_id();
    }
    c.target = to.name;
    c.epoch = epoch_;
    c.nonce = nonce_;
    const auto payload = net::to_json(c);
    std::array<std::byte, net::max_datagram_size> out{};
    const auto datagram = wire_.encode(net::message_type::command,
                                       std::as_bytes(std::span{payload.data(), payload.size()}), out);
    const std::array<const std::string*, heartbeat::network_count> addresses{&to.mgmt_ip, &to.cluster_ip};
    bool sent = false;
    for (auto net : all_networks) {
        const auto i = static_cast<std::size_t>(net);
        if (!sockets_[i] || addresses[i]->empty()) {
            continue;
        }
        std::error_code ec;
        const auto address = asio::ip::make_address(*addresses[i], ec);
        if (ec) {
            continue;
        }
        sockets_[i]->send_to(asio::buffer(datagram.data(), datagram.size()),
                             {address, networks_[i].agent_port}, 0, ec);
        if (ec) {
            spdlog::debug("host {}: cannot send {} on {}: {}", to.name, to_string(c.kind), to_string(net),
                          ec.message());
        } else {
            sent = true;
        }
    }
    ++commands_sent_[std::string{to_string(c.kind)}];
    spdlog::debug("host {}: sent {} id={}{}", to.name, to_string(c.kind), c.id, sent ? "" : " (no network)");
    return c.id;
}

asio::awaitable<std::error_code> agent_link::receive(network net, const message_handler& on_message) {
    auto& socket = sockets_[static_cast<std::size_t>(net)];
    if (!socket) {
        co_return std::error_code{};
    }
    std::chrono::steady_clock::time_point last_log{};
    std::uint64_t logged = 0;
    auto sink = [&, net](const asio::ip::udp::endpoint&, std::span<const std::byte> data) {
        auto in = inbox_.on_datagram(net, data);
        if (in) {
            on_message(std::move(*in));
            return;
        }
        const auto& c = inbox_.counters(net);
        const auto now = std::chrono::steady_clock::now();
        if (c.dropped() != logged && now - last_log >= std::chrono::seconds{10}) {
            spdlog::warn("controller ({}): {} message(s) dropped so far:{} not_expected={} bad_payload={}",
                         to_string(net), c.dropped(), net::describe(c.rejected), c.not_expected,
                         c.bad_payload);
            logged = c.dropped();
            last_log = now;
        }
    };
    // serve_udp returns its error (operation_aborted when cancelled) rather than throwing.
    const auto ec = co_await net::serve_udp(*socket, sink);
    co_return ec == asio::error::operation_aborted ? std::error_code{} : ec;
}

}  // namespace mtce::fleet
