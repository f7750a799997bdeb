#pragma once

// What a host puts in the header of every datagram it sends: its name, its boot and a sequence that only
// grows during the boot (mtce-protocol(7), "boot time" and "sequence").

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "net/message.hpp"

namespace mtce::net {

/// This boot as the wire protocol names it.
struct boot_identity {
    std::string id_text;          ///< as read (kernel boot id, or a simulated host's text)
    boot_id id{};                 ///< parse_boot_id(id_text)
    std::uint64_t boot_time = 0;  ///< seconds since the epoch when the boot began; fixed for the boot
    bool simulated = false;       ///< the id comes from agent.boot_id_file, not from the kernel
};

/// Encodes this host's datagrams: one codec, one sequence for every message type and network.
/// The first datagram carries `first_sequence`; a host agent passes CLOCK_BOOTTIME in nanoseconds
/// (host::boottime_ns()), so that a restarted agent continues above its predecessor. No clock is read here.
/// Not thread-safe (the codec is not): lives on the event loop's thread.
class wire_sender {
public:
    /// Throws std::invalid_argument for a key shorter than min_key_size or an invalid host name.
    wire_sender(std::span<const std::byte> key, std::string hostname, boot_identity boot,
                std::uint64_t first_sequence);

    /// Builds a datagram in `out` (at least max_datagram_size bytes) and returns it.
    /// Throws std::runtime_error if the payload does not fit (a programming error).
    [[nodiscard]] std::span<const std::byte> encode(message_type type, std::span<const std::byte> payload,
                                                    std::span<std::byte> out);

    [[nodiscard]] net::codec& codec() { return codec_; }
    [[nodiscard]] const std::string& hostname() const { return hostname_; }
    [[nodiscard]] const boot_identity& boot() const { return boot_; }

private:
    net::codec codec_;
    std::string hostname_;
    boot_identity boot_;
    std::uint64_t next_sequence_;
};

}  // namespace mtce::net
