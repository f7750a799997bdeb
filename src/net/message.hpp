#pragma once

// The authenticated wire format of mtce (man/mtce-protocol.7 documents it byte by byte).
// Sans-io: nothing here touches a socket, a clock or a logger, so the receive path can be tested and fuzzed
// on plain byte arrays. Decoding does not allocate: a message_view points into the caller's buffer.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

#include <tl/expected.hpp>

#include "core/text.hpp"

namespace mtce::net {

/// What a datagram carries. The numeric values are on the wire.
enum class message_type : std::uint8_t {
    pulse_request = 1,   ///< controller -> host, every heartbeat period, per network
    pulse_response = 2,  ///< host -> controller, answers one pulse request
    mtc_alive = 3,       ///< host -> controller, periodic identity and health report (JSON payload)
    command = 4,         ///< controller -> host (JSON payload)
    command_ack = 5,     ///< host -> controller, a command was received (JSON payload)
    command_result = 6,  ///< host -> controller, a long command finished (JSON payload)
};

[[nodiscard]] std::string_view to_string(message_type t);

/// Why a datagram was dropped. Every reason has its own counter (reject_counters).
enum class reject_reason : std::uint8_t {
    short_datagram,   ///< shorter than header + tag, or than the payload length it declares
    oversized,        ///< longer than max_datagram_size
    malformed,        ///< reserved flags set, invalid sender name, trailing bytes, bad fixed-size payload
    bad_magic,        ///< does not start with "MTCE"
    unknown_version,  ///< version other than protocol_version
    unknown_type,     ///< type not in message_type
    bad_mac,          ///< HMAC-SHA256 tag does not match (wrong key or altered in transit)
    replay,           ///< sequence not newer than the last accepted for that sender and boot
    stale_boot,       ///< from an older boot than the newest already accepted from that sender
    unknown_sender,   ///< authenticated, but the sender is not in the inventory (counted by the caller)
    table_full,       ///< new sender while the replay table is at its cap
    wrong_nonce,      ///< a reply that echoes another nonce than this controller's: sent to an earlier run
};

inline constexpr std::size_t reject_reason_count = 12;

[[nodiscard]] std::string_view to_string(reject_reason r);

/// One counter per reject_reason; plain data, no atomics (one per receiving thread).
class reject_counters {
public:
    void add(reject_reason r) noexcept { ++counts_[static_cast<std::size_t>(r)]; }
    [[nodiscard]] std::uint64_t count(reject_reason r) const noexcept {
        return counts_[static_cast<std::size_t>(r)];
    }
    [[nodiscard]] std::uint64_t total() const noexcept;
    /// Calls f(reject_reason, std::uint64_t) for every reason, in enum order (zero counts included).
    template <class F>
    void for_each(F&& f) const {
        for (std::size_t i = 0; i < reject_reason_count; ++i) {
            f(static_cast<reject_reason>(i), counts_[i]);
        }
    }

private:
    std::array<std::uint64_t, reject_reason_count> counts_{};
};

/// " reason=count" for every reason counted at least once, in enum order; empty when nothing was rejected.
/// For drop summaries in logs.
[[nodiscard]] std::string describe(const reject_counters& counters);

/// A boot's identity: the kernel boot id (a UUID) in binary.
using boot_id = std::array<std::byte, 16>;

/// Parses the kernel's /proc/sys/kernel/random/boot_id text ("xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", hex in
/// either case, surrounding whitespace ignored) into its 16 bytes. Any other text (simulated hosts) becomes
/// the first 16 bytes of its SHA-256, so every distinct string still gives a distinct-looking id.
[[nodiscard]] boot_id parse_boot_id(std::string_view text);

/// The canonical lower-case UUID text of an id.
[[nodiscard]] std::string to_string(const boot_id& id);

// Sizes (bytes). The whole datagram fits an Ethernet frame with room for IPv6 + UDP headers and tunnels.
inline constexpr std::size_t header_size = 106;
inline constexpr std::size_t tag_size = 32;
inline constexpr std::size_t max_datagram_size = 1400;
inline constexpr std::size_t max_payload_size = max_datagram_size - header_size - tag_size;  // 1262
inline constexpr std::size_t sender_field_size = 64;
inline constexpr std::size_t max_sender_length = max_hostname_length;  // 63
static_assert(max_sender_length < sender_field_size, "a sender field is always NUL-terminated");
/// 2: pulses, commands and their replies carry the controller's nonce; commands name their host and epoch.
inline constexpr std::uint8_t protocol_version = 2;
/// Shortest accepted cluster key.
inline constexpr std::size_t min_key_size = 16;

/// Whether `name` can be a sender: a host name as is_valid_hostname() (core/text.hpp) defines it.
[[nodiscard]] constexpr bool is_valid_sender(std::string_view name) noexcept {
    return is_valid_hostname(name);
}

/// The header fields a sender chooses.
struct message_header {
    message_type type = message_type::pulse_request;
    std::string_view sender;      ///< this host's name
    boot_id boot{};               ///< this boot's id
    std::uint64_t boot_time = 0;  ///< seconds since the epoch when this boot began; fixed for the boot
    std::uint64_t sequence = 0;   ///< strictly increasing over the boot, across daemon restarts
};

/// An authenticated message; sender and payload point into the buffer given to codec::decode.
struct message_view {
    message_type type = message_type::pulse_request;
    std::string_view sender;
    boot_id boot{};
    std::uint64_t boot_time = 0;
    std::uint64_t sequence = 0;
    std::span<const std::byte> payload;
};

enum class encode_error : std::uint8_t {
    invalid_sender,     ///< not is_valid_sender()
    payload_too_large,  ///< more than max_payload_size
    buffer_too_small,   ///< the output span cannot hold the datagram
    invalid_payload,    ///< a fixed payload field is out of range (e.g. invalid pulse target name)
};

[[nodiscard]] std::string_view to_string(encode_error e);

/// Encodes and authenticates datagrams under one cluster key. HMAC-SHA256 (RFC 2104) is computed from the
/// SHA-256 states of the key's inner and outer pads, computed once here and copied for every message: a tag
/// costs four SHA-256 blocks for a heartbeat datagram and nothing else (no OpenSSL EVP or provider lookups,
/// so an agent keeps that code unmapped). The codec holds state it writes per message, so it is not
/// thread-safe: give each thread its own codec (construction is cheap).
class codec {
public:
    /// Throws std::invalid_argument if the key is shorter than min_key_size.
    explicit codec(std::span<const std::byte> key);
    ~codec();
    codec(codec&&) noexcept;
    codec& operator=(codec&&) noexcept;
    codec(const codec&) = delete;
    codec& operator=(const codec&) = delete;

    /// Writes header, payload and tag into `out`; returns the datagram's size. `payload` may already lie in
    /// `out` at offset header_size (built in place), or anywhere else.
    [[nodiscard]] tl::expected<std::size_t, encode_error> encode(const message_header& header,
                                                                 std::span<const std::byte> payload,
                                                                 std::span<std::byte> out);

    /// Checks a received datagram in the order documented in mtce-protocol(7): size, magic, version, type,
    /// structure, then the tag. Does not look at sequences; that is replay_guard's job.
    [[nodiscard]] tl::expected<message_view, reject_reason> decode(std::span<const std::byte> datagram);
    /// The same, and counts a rejection in `counters`.
    [[nodiscard]] tl::expected<message_view, reject_reason> decode(std::span<const std::byte> datagram,
                                                                   reject_counters& counters);

private:
    void mac(std::span<const std::byte> data, std::span<std::byte, tag_size> tag) const;

    struct pads;  // the SHA-256 states after the inner and the outer pad (message.cpp)
    std::unique_ptr<pads> pads_;
};

/// The newest message accepted from one sender: its boot (id and boot time) and its sequence. The rules:
///   nothing accepted yet       -> accepted
///   same boot id               -> sequence must be greater than the last accepted, else `replay`
///   other boot id, later boot_time             -> a new boot: accepted, its sequences start afresh
///   other boot id, same or earlier boot_time   -> `stale_boot`
/// For a caller that keeps each sender's state itself (the controller's heartbeat keeps it in the host's
/// slot, found from the reply without a lookup); replay_guard keeps it by sender name.
struct replay_state {
    boot_id boot{};
    std::uint64_t boot_time = 0;
    std::uint64_t sequence = 0;
    bool known = false;

    [[nodiscard]] std::optional<reject_reason> check(const message_view& m) const noexcept;
    /// Records `m` as the newest. Call only after check(m) passed.
    void accept(const message_view& m) noexcept { *this = {m.boot, m.boot_time, m.sequence, true}; }
};

/// Rejects replays and messages from old boots (replay_state's rules) by sender name. Per sender it keeps the
/// newest accepted boot (id and boot time) and the last accepted sequence of that boot. check() and accept()
/// are separate so that the caller can verify the sender against its inventory in between and record only
/// messages it acts on. A sender not yet known is accepted while the table holds fewer than `max_senders`,
/// else `table_full` (the table never evicts on its own: evicting would reopen replays; the caller forgets
/// deleted hosts).
class replay_guard {
public:
    explicit replay_guard(std::size_t max_senders = 10000);

    [[nodiscard]] std::optional<reject_reason> check(const message_view& m) const;
    /// The same, and counts a rejection in `counters`.
    [[nodiscard]] std::optional<reject_reason> check(const message_view& m, reject_counters& counters) const;
    /// Records `m` as the newest from its sender. Call only after check(m) passed; returns false (and
    /// records nothing) if it would not have.
    bool accept(const message_view& m);
    /// Drops what is known about `sender` (host deleted, or reinstalled with a clock that went backwards).
    void forget(std::string_view sender);

    [[nodiscard]] std::size_t size() const noexcept { return table_.size(); }
    [[nodiscard]] std::size_t max_senders() const noexcept { return max_senders_; }

private:
    // The sender field as on the wire (NUL-padded), so lookups build no std::string and entries own no heap.
    using key = std::array<char, sender_field_size>;
    struct key_hash {
        std::size_t operator()(const key& k) const noexcept;
    };
    static key make_key(std::string_view sender) noexcept;

    std::size_t max_senders_;
    std::unordered_map<key, replay_state, key_hash> table_;
};

// ---- fixed payloads of the heartbeat (the hot path) ----

/// Controller -> hosts, once per period per network. `host_index` is the controller's slot for the host
/// named `target`; a host whose name is `target` (or any receiver when `target` is empty, as in a unicast
/// request) remembers the index and echoes it, so the controller finds its reply in O(1). The controller
/// still checks that the slot belongs to the authenticated sender.
/// A multicast request may teach more hosts at once: `teachings` is a list of (index, name) after the fixed
/// part (encoded with append_teaching, read with next_teaching), filled while the controller has hosts to
/// teach and empty otherwise.
/// `nonce` is the controller's random number for this run of its heartbeat: a response that does not echo
/// it answers an earlier run (a replay after a controller restart, whose period numbers start again at 1).
struct pulse_request {
    std::uint64_t period = 0;      ///< the controller's period number
    std::uint64_t nonce = 0;       ///< the controller's nonce, chosen at random when its heartbeat starts
    std::uint32_t host_index = 0;  ///< 0 = none
    std::string_view target;       ///< host the index is for; empty = the receiver
    std::span<const std::byte> teachings;  ///< encoded (index, name) entries; empty = none
};
/// The fixed part of a pulse request; the teachings follow it.
inline constexpr std::size_t pulse_request_size = 8 + 8 + 4 + sender_field_size;  // 84
/// Room for teachings in one request.
inline constexpr std::size_t max_teachings_size = max_payload_size - pulse_request_size;  // 1178

/// One more host a pulse request teaches its index: 4 bytes of index (not 0), 1 byte of name length (1 to
/// 63), then the name (a valid sender, no NUL).
struct pulse_teaching {
    std::uint32_t host_index = 0;
    std::string_view name;
};

/// Appends `t` to the encoded list `list[0, used)`; returns the list's new size, or nullopt (nothing
/// written) when it does not fit in `list` or `t` is invalid.
[[nodiscard]] std::optional<std::size_t> append_teaching(std::span<std::byte> list, std::size_t used,
                                                         const pulse_teaching& t) noexcept;
/// The first entry of the encoded list `list`, which then starts at the next one; nullopt at the end of the
/// list or at an invalid entry (parse_pulse_request accepts only lists without one).
[[nodiscard]] std::optional<pulse_teaching> next_teaching(std::span<const std::byte>& list) noexcept;
/// The index `request` teaches the host `name`: `host_index` when it is not 0 and `target` is empty or
/// `name`, else the one listed for `name`; nullopt when it teaches `name` nothing (it keeps its index).
[[nodiscard]] std::optional<std::uint32_t> taught_index(const pulse_request& request,
                                                        std::string_view name) noexcept;

/// Host -> controller, answers one pulse request.
struct pulse_response {
    std::uint64_t period = 0;      ///< echoed from the request
    std::uint64_t nonce = 0;       ///< echoed from the request
    std::uint32_t host_index = 0;  ///< the index this host was taught by this controller, 0 if none
    std::uint32_t flags = 0;       ///< pulse_flags bits
};
inline constexpr std::size_t pulse_response_size = 8 + 8 + 4 + 4;  // 24

/// 64 random bits from the operating system's generator (OpenSSL RAND_bytes): a controller's nonce for one
/// run. Throws std::runtime_error if no randomness is available.
[[nodiscard]] std::uint64_t random_nonce();

/// Bits of pulse_response::flags.
namespace pulse_flags {
inline constexpr std::uint32_t process_monitor_ok = 0x1;  ///< the process monitor is alive
inline constexpr std::uint32_t cluster_network = 0x2;     ///< the host heartbeats on the cluster network
inline constexpr std::uint32_t stalled = 0x10000;         ///< a monitored process is stalled
}  // namespace pulse_flags

/// Writes the payload into `out` (at least pulse_request_size bytes, plus the teachings); returns its size.
[[nodiscard]] tl::expected<std::size_t, encode_error> encode_payload(const pulse_request& p,
                                                                     std::span<std::byte> out);
[[nodiscard]] tl::expected<std::size_t, encode_error> encode_payload(const pulse_response& p,
                                                                     std::span<std::byte> out);
/// Parse a fixed payload; `malformed` unless the size is exact and the fields valid. After a successful
/// codec::decode of that type these cannot fail. `target` points into `payload`.
[[nodiscard]] tl::expected<pulse_request, reject_reason> parse_pulse_request(
    std::span<const std::byte> payload);
[[nodiscard]] tl::expected<pulse_response, reject_reason> parse_pulse_response(
    std::span<const std::byte> payload);

/// Bits of the mtcAlive JSON "flags" field (mtce-protocol(7)); the values of the original's MTC_FLAG__*.
namespace alive_flags {
inline constexpr std::uint32_t configured = 0x1;
inline constexpr std::uint32_t not_healthy = 0x2;
inline constexpr std::uint32_t healthy = 0x4;
inline constexpr std::uint32_t locked = 0x8;
inline constexpr std::uint32_t subf_configured = 0x10;
inline constexpr std::uint32_t main_goenabled = 0x20;
inline constexpr std::uint32_t subf_goenabled = 0x40;
inline constexpr std::uint32_t sm_degraded = 0x80;
inline constexpr std::uint32_t patching = 0x100;
inline constexpr std::uint32_t patched = 0x200;
inline constexpr std::uint32_t luks_failed = 0x400;
inline constexpr std::uint32_t sm_unhealthy = 0x1000;
/// mtce's own bits (reserved in the original): host services started this boot, main function / subfunction.
inline constexpr std::uint32_t main_services_started = 0x2000;
inline constexpr std::uint32_t subf_services_started = 0x4000;
inline constexpr std::uint32_t main_goenabled_failed = 0x10000;
inline constexpr std::uint32_t subf_goenabled_failed = 0x20000;
inline constexpr std::uint32_t main_services_failed = 0x40000;
inline constexpr std::uint32_t subf_services_failed = 0x80000;
}  // namespace alive_flags

}  // namespace mtce::net
