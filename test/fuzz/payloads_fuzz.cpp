// libFuzzer target for the JSON payloads of mtcAlive, command, command ack and command result
// (src/net/payloads.cpp): every decoder must refuse garbage without crashing, and whatever it accepts must
// encode again into a payload that decodes to the same values and fits a datagram.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>

#include "net/message.hpp"
#include "net/payloads.hpp"

namespace {

std::span<const std::byte> bytes(const std::string& s) {
    return std::as_bytes(std::span{s.data(), s.size()});
}

void require(bool ok) {
    if (!ok) {
        std::abort();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto in = std::as_bytes(std::span{data, size});
    namespace net = mtce::net;
    if (auto c = net::parse_command(in)) {
        const auto text = net::to_json(*c);
        require(text.size() <= net::max_payload_size);
        const auto again = net::parse_command(bytes(text));
        require(again.has_value() && again->kind == c->kind && again->id == c->id &&
                again->subfunction == c->subfunction && again->target == c->target &&
                again->epoch == c->epoch && again->nonce == c->nonce);
    }
    if (auto a = net::parse_command_ack(in)) {
        const auto again = net::parse_command_ack(bytes(net::to_json(*a)));
        require(again.has_value() && again->id == a->id && again->name == a->name &&
                again->error == a->error && again->nonce == a->nonce);
    }
    if (auto r = net::parse_command_result(in)) {
        const auto again = net::parse_command_result(bytes(net::to_json(*r)));
        require(again.has_value() && again->ok == r->ok && again->reason == r->reason &&
                again->nonce == r->nonce);
    }
    if (auto alive = net::parse_alive(in)) {
        const auto text = net::to_json(*alive);
        require(text.size() <= net::max_payload_size);
        const auto again = net::parse_alive(bytes(text));
        require(again.has_value() && again->flags == alive->flags && again->uptime_s == alive->uptime_s);
    }
    return 0;
}
