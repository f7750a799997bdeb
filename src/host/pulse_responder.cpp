#include "host/pulse_responder.hpp"

#include <algorithm>

#include <asio/experimental/awaitable_operators.hpp>
#include <asio/ip/udp.hpp>
#include <asio/this_coro.hpp>
#include <spdlog/spdlog.h>

#include "net/udp_endpoint.hpp"

namespace mtce::host {

std::vector<asio::ip::address> controller_addresses(const std::vector<std::string>& names,
                                                    std::vector<std::string>& skipped) {
    std::vector<asio::ip::address> out;
    for (const auto& name : names) {
        std::error_code ec;
        auto a = asio::ip::make_address(name, ec);
        if (ec) {
            skipped.push_back(name);
        } else {
            out.push_back(a);
        }
    }
    return out;
}

pulse_responder::pulse_responder(std::string network_name, std::vector<asio::ip::address> controllers,
                                 std::uint32_t flags, net::wire_sender& wire)
    : network_{std::move(network_name)},
      controllers_{std::move(controllers)},
      flags_{flags},
      wire_{wire},
      drops_{"heartbeat (" + network_ + ")", drop_log_interval, [this] { return dropped(); }} {}

std::optional<std::span<const std::byte>> pulse_responder::on_datagram(const asio::ip::address& from,
                                                                       std::span<const std::byte> data) {
    auto message = wire_.codec().decode(data, rejected_);
    if (!message) {
        return std::nullopt;
    }
    if (std::find(controllers_.begin(), controllers_.end(), from) == controllers_.end()) {
        ++unknown_source_;
        return std::nullopt;
    }
    if (message->type != net::message_type::pulse_request) {
        ++not_a_request_;
        return std::nullopt;
    }
    if (guard_.check(*message, rejected_)) {
        return std::nullopt;
    }
    const auto request = net::parse_pulse_request(message->payload);
    if (!request) {
        rejected_.add(request.error());
        return std::nullopt;
    }
    guard_.accept(*message);

    auto taught = host_index_.find(message->sender);
    if (const auto index = net::taught_index(*request, wire_.hostname())) {
        if (taught == host_index_.end()) {
            taught = host_index_.emplace(std::string{message->sender}, 0).first;
        }
        taught->second = *index;
    }
    const net::pulse_response response{request->period, request->nonce,
                                       taught == host_index_.end() ? 0 : taught->second, flags_};
    std::array<std::byte, net::pulse_response_size> payload{};
    const auto size = net::encode_payload(response, payload);
    if (!size) {
        return std::nullopt;
    }
    ++answered_;
    return wire_.encode(net::message_type::pulse_response, std::span{payload}.first(*size), out_);
}

drop_counts pulse_responder::dropped() const {
    auto counts = to_drop_counts(rejected_);
    add_drops(counts, "not_from_a_controller", unknown_source_);
    add_drops(counts, "not_a_pulse", not_a_request_);
    return counts;
}

void pulse_responder::log_drops() {
    drops_.on_drop();
}

asio::awaitable<void> pulse_responder::serve(network_config network, heartbeat_mode mode, task_set& tasks) {
    using namespace asio::experimental::awaitable_operators;
    const auto ex = co_await asio::this_coro::executor;
    auto socket = net::open_udp(ex, network, network.pulse_port, mode);
    // serve_udp makes the socket non-blocking, so replies never wait for it: a reply that cannot be sent at
    // once is late anyway.
    spdlog::info(
        "heartbeat ({}): answering pulses on {}:{} ({})", network_, network.address, network.pulse_port,
        mode == heartbeat_mode::multicast ? "multicast " + network.multicast_group : std::string{"unicast"});
    const auto reply_port = network.pulse_reply_port;
    auto sink = [&](const asio::ip::udp::endpoint& from, std::span<const std::byte> data) {
        const auto reply = on_datagram(from.address(), data);
        if (reply) {
            std::error_code ec;
            socket.send_to(asio::buffer(reply->data(), reply->size()), {from.address(), reply_port}, 0, ec);
            if (ec) {
                spdlog::debug("heartbeat ({}): cannot answer {}: {}", network_, from.address().to_string(),
                              ec.message());
            }
        } else {
            log_drops();
        }
    };
    // The sink may throw: caught, so that the race ends with the failure instead of holding it until stop.
    auto ended = co_await (catching(net::serve_udp(socket, sink)) || tasks.until_stop());
    if (ended.index() == 0) {
        if (const auto ec = std::get<0>(std::move(ended)).get()) {
            throw std::system_error{ec, "heartbeat (" + network_ + "): receiving pulses"};
        }
    }
}

}  // namespace mtce::host
