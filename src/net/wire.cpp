#include "net/wire.hpp"

#include <stdexcept>
#include <string>
#include <utility>

namespace mtce::net {

wire_sender::wire_sender(std::span<const std::byte> key, std::string hostname, boot_identity boot,
                         std::uint64_t first_sequence)
    : codec_{key}, hostname_{std::move(hostname)}, boot_{std::move(boot)}, next_sequence_{first_sequence} {
    if (!is_valid_sender(hostname_)) {
        throw std::invalid_argument{"host name '" + hostname_ +
                                    "' cannot be a message sender (1 to 63 letters, digits, '-' and '.')"};
    }
}

std::span<const std::byte> wire_sender::encode(message_type type, std::span<const std::byte> payload,
                                               std::span<std::byte> out) {
    const message_header header{type, hostname_, boot_.id, boot_.boot_time, next_sequence_};
    auto n = codec_.encode(header, payload, out);
    if (!n) {
        throw std::runtime_error{"cannot encode " + std::string{to_string(type)} + ": " +
                                 std::string{to_string(n.error())}};
    }
    ++next_sequence_;
    return out.first(*n);
}

}  // namespace mtce::net
