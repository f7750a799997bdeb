#include "fleet/inbox.hpp"

namespace mtce::fleet {

std::optional<inbound> controller_inbox::on_datagram(heartbeat::network net,
                                                     std::span<const std::byte> data) {
    auto& c = counters(net);
    auto& guard = guards_[static_cast<std::size_t>(net)];
    const auto message = codec_.decode(data, c.rejected);
    if (!message) {
        return std::nullopt;
    }
    using net::message_type;
    if (message->type != message_type::mtc_alive && message->type != message_type::command_ack &&
        message->type != message_type::command_result) {
        ++c.not_expected;
        return std::nullopt;
    }
    if (guard.check(*message, c.rejected)) {
        return std::nullopt;
    }
    inbound in{std::string{message->sender}, net, {}};
    bool ok = false;
    switch (message->type) {
    case message_type::mtc_alive: {
        auto r = net::parse_alive(message->payload);
        // A report must speak for its authenticated sender.
        if (r && r->hostname == in.sender) {
            in.body = std::move(*r);
            ok = true;
        }
        break;
    }
    case message_type::command_ack: {
        auto r = net::parse_command_ack(message->payload);
        if (r) {
            in.body = std::move(*r);
            ok = true;
        }
        break;
    }
    default: {
        auto r = net::parse_command_result(message->payload);
        if (r) {
            in.body = std::move(*r);
            ok = true;
        }
        break;
    }
    }
    if (!ok) {
        ++c.bad_payload;
        return std::nullopt;
    }
    const auto* ack = std::get_if<net::command_ack>(&in.body);
    const auto* result = std::get_if<net::command_result>(&in.body);
    if ((ack != nullptr && ack->nonce != nonce_) || (result != nullptr && result->nonce != nonce_)) {
        c.rejected.add(net::reject_reason::wrong_nonce);
        return std::nullopt;
    }
    guard.accept(*message);
    ++c.accepted;
    return in;
}

void controller_inbox::forget(std::string_view sender) {
    for (auto& g : guards_) {
        g.forget(sender);
    }
}

}  // namespace mtce::fleet
