#include "net/message.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <utility>

// SHA256_Init/Update/Final are deprecated in OpenSSL 3.0 in favour of EVP, but EVP cannot resume a digest
// from a saved state without its provider machinery per message (see codec). This file alone uses them.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "core/text.hpp"

namespace mtce::net {

namespace {

// Field offsets of the header (mtce-protocol(7), "Layout").
constexpr std::size_t off_magic = 0;
constexpr std::size_t off_version = 4;
constexpr std::size_t off_type = 5;
constexpr std::size_t off_flags = 6;
constexpr std::size_t off_sender = 8;
constexpr std::size_t off_boot_id = off_sender + sender_field_size;  // 72
constexpr std::size_t off_boot_time = off_boot_id + 16;              // 88
constexpr std::size_t off_sequence = off_boot_time + 8;              // 96
constexpr std::size_t off_payload_length = off_sequence + 8;         // 104
static_assert(off_payload_length + 2 == header_size);

constexpr std::array<std::byte, 4> magic{std::byte{'M'}, std::byte{'T'}, std::byte{'C'}, std::byte{'E'}};

// Network byte order, written byte by byte so alignment and host order never matter.
void put_u16(std::byte* p, std::uint16_t v) noexcept {
    p[0] = static_cast<std::byte>(v >> 8);
    p[1] = static_cast<std::byte>(v);
}
void put_u32(std::byte* p, std::uint32_t v) noexcept {
    for (int i = 3; i >= 0; --i) {
        p[i] = static_cast<std::byte>(v);
        v >>= 8;
    }
}
void put_u64(std::byte* p, std::uint64_t v) noexcept {
    for (int i = 7; i >= 0; --i) {
        p[i] = static_cast<std::byte>(v);
        v >>= 8;
    }
}
std::uint16_t get_u16(const std::byte* p) noexcept {
    return static_cast<std::uint16_t>((std::to_integer<unsigned>(p[0]) << 8) |
                                      std::to_integer<unsigned>(p[1]));
}
std::uint32_t get_u32(const std::byte* p) noexcept {
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
        v = (v << 8) | std::to_integer<std::uint32_t>(p[i]);
    }
    return v;
}
std::uint64_t get_u64(const std::byte* p) noexcept {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) {
        v = (v << 8) | std::to_integer<std::uint64_t>(p[i]);
    }
    return v;
}

/// SHA-256 by the low-level functions: OpenSSL 3.0's one-shot SHA256() goes through EVP and its providers.
std::array<unsigned char, SHA256_DIGEST_LENGTH> sha256(const void* data, std::size_t size) noexcept {
    std::array<unsigned char, SHA256_DIGEST_LENGTH> digest{};
    SHA256_CTX ctx;
    SHA256_Init(&ctx);
    SHA256_Update(&ctx, data, size);
    SHA256_Final(digest.data(), &ctx);
    return digest;
}

bool is_known_type(std::uint8_t t) noexcept {
    return t >= static_cast<std::uint8_t>(message_type::pulse_request) &&
           t <= static_cast<std::uint8_t>(message_type::command_result);
}

// A NUL-padded name field: a valid name (or, if allowed, nothing) followed only by NULs. Returns the name.
std::optional<std::string_view> read_name_field(const std::byte* p, bool allow_empty) noexcept {
    const char* s = reinterpret_cast<const char*>(p);
    const std::size_t n = ::strnlen(s, sender_field_size);
    if (n > max_sender_length) {
        return std::nullopt;
    }
    for (std::size_t i = n; i < sender_field_size; ++i) {
        if (s[i] != '\0') {
            return std::nullopt;
        }
    }
    const std::string_view name{s, n};
    if (name.empty() ? !allow_empty : !is_valid_sender(name)) {
        return std::nullopt;
    }
    return name;
}

void write_name_field(std::byte* p, std::string_view name) noexcept {
    std::memset(p, 0, sender_field_size);
    if (!name.empty()) {  // an empty view may hold a null pointer, which memcpy must not see
        std::memcpy(p, name.data(), name.size());
    }
}

std::optional<boot_id> parse_uuid(std::string_view s) noexcept {
    if (s.size() != 36) {
        return std::nullopt;
    }
    boot_id id{};
    std::size_t out = 0;
    for (std::size_t i = 0; i < s.size();) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-') {
                return std::nullopt;
            }
            ++i;
            continue;
        }
        const int hi = hex_value(s[i]);
        const int lo = hex_value(s[i + 1]);
        if (hi < 0 || lo < 0) {
            return std::nullopt;
        }
        id[out++] = static_cast<std::byte>((hi << 4) | lo);
        i += 2;
    }
    return id;
}

}  // namespace

std::string_view to_string(message_type t) {
    switch (t) {
    case message_type::pulse_request:
        return "pulse_request";
    case message_type::pulse_response:
        return "pulse_response";
    case message_type::mtc_alive:
        return "mtc_alive";
    case message_type::command:
        return "command";
    case message_type::command_ack:
        return "command_ack";
    case message_type::command_result:
        return "command_result";
    }
    return "unknown";
}

std::string_view to_string(reject_reason r) {
    switch (r) {
    case reject_reason::short_datagram:
        return "short";
    case reject_reason::oversized:
        return "oversized";
    case reject_reason::malformed:
        return "malformed";
    case reject_reason::bad_magic:
        return "bad_magic";
    case reject_reason::unknown_version:
        return "unknown_version";
    case reject_reason::unknown_type:
        return "unknown_type";
    case reject_reason::bad_mac:
        return "bad_mac";
    case reject_reason::replay:
        return "replay";
    case reject_reason::stale_boot:
        return "stale_boot";
    case reject_reason::unknown_sender:
        return "unknown_sender";
    case reject_reason::table_full:
        return "table_full";
    case reject_reason::wrong_nonce:
        return "wrong_nonce";
    }
    return "unknown";
}
static_assert(static_cast<std::size_t>(reject_reason::wrong_nonce) + 1 == reject_reason_count);

std::string_view to_string(encode_error e) {
    switch (e) {
    case encode_error::invalid_sender:
        return "invalid sender name";
    case encode_error::payload_too_large:
        return "payload too large";
    case encode_error::buffer_too_small:
        return "buffer too small";
    case encode_error::invalid_payload:
        return "invalid payload";
    }
    return "unknown";
}

std::string describe(const reject_counters& counters) {
    std::string out;
    counters.for_each([&](reject_reason r, std::uint64_t n) {
        if (n != 0) {
            out += ' ';
            out += to_string(r);
            out += '=';
            out += std::to_string(n);
        }
    });
    return out;
}

std::uint64_t reject_counters::total() const noexcept {
    std::uint64_t sum = 0;
    for (auto c : counts_) {
        sum += c;
    }
    return sum;
}

boot_id parse_boot_id(std::string_view text) {
    constexpr std::string_view space = " \t\r\n";
    const auto first = text.find_first_not_of(space);
    if (first != std::string_view::npos) {
        text = text.substr(first, text.find_last_not_of(space) - first + 1);
    } else {
        text = {};
    }
    if (auto id = parse_uuid(text)) {
        return *id;
    }
    const auto digest = sha256(text.data(), text.size());
    boot_id id{};
    std::memcpy(id.data(), digest.data(), id.size());
    return id;
}

std::string to_string(const boot_id& id) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string s;
    s.reserve(36);
    for (std::size_t i = 0; i < id.size(); ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            s += '-';
        }
        const auto b = std::to_integer<unsigned>(id[i]);
        s += digits[b >> 4];
        s += digits[b & 0xf];
    }
    return s;
}

// ---- codec ----

struct codec::pads {
    SHA256_CTX inner;
    SHA256_CTX outer;

    pads() = default;
    pads(const pads&) = delete;
    pads& operator=(const pads&) = delete;
    ~pads() { OPENSSL_cleanse(this, sizeof(*this)); }
};

codec::codec(std::span<const std::byte> key) : pads_{std::make_unique<pads>()} {
    if (key.size() < min_key_size) {
        throw std::invalid_argument("cluster key shorter than 16 bytes");
    }
    // RFC 2104: a key longer than the block is replaced by its digest; the rest is padded with zeros.
    constexpr std::size_t block = SHA256_CBLOCK;
    std::array<unsigned char, block> k{};
    if (key.size() > block) {
        const auto digest = sha256(key.data(), key.size());
        std::memcpy(k.data(), digest.data(), digest.size());
    } else {
        std::memcpy(k.data(), key.data(), key.size());
    }
    std::array<unsigned char, block> pad{};
    for (std::size_t i = 0; i < block; ++i) {
        pad[i] = k[i] ^ 0x36U;
    }
    SHA256_Init(&pads_->inner);
    SHA256_Update(&pads_->inner, pad.data(), pad.size());
    for (std::size_t i = 0; i < block; ++i) {
        pad[i] = k[i] ^ 0x5cU;
    }
    SHA256_Init(&pads_->outer);
    SHA256_Update(&pads_->outer, pad.data(), pad.size());
    OPENSSL_cleanse(k.data(), k.size());
    OPENSSL_cleanse(pad.data(), pad.size());
}

codec::~codec() = default;
codec::codec(codec&&) noexcept = default;
codec& codec::operator=(codec&&) noexcept = default;

void codec::mac(std::span<const std::byte> data, std::span<std::byte, tag_size> tag) const {
    // HMAC(K, m) = H((K ^ opad) || H((K ^ ipad) || m)), each side resumed from its saved pad state. The
    // low-level SHA-256 functions only return 0 for a null context, which these never are.
    static_assert(tag_size == SHA256_DIGEST_LENGTH);
    SHA256_CTX ctx = pads_->inner;
    std::array<unsigned char, SHA256_DIGEST_LENGTH> inner{};
    SHA256_Update(&ctx, data.data(), data.size());
    SHA256_Final(inner.data(), &ctx);
    ctx = pads_->outer;
    SHA256_Update(&ctx, inner.data(), inner.size());
    SHA256_Final(reinterpret_cast<unsigned char*>(tag.data()), &ctx);
}

tl::expected<std::size_t, encode_error> codec::encode(const message_header& header,
                                                      std::span<const std::byte> payload,
                                                      std::span<std::byte> out) {
    if (!is_valid_sender(header.sender)) {
        return tl::unexpected(encode_error::invalid_sender);
    }
    if (payload.size() > max_payload_size) {
        return tl::unexpected(encode_error::payload_too_large);
    }
    const std::size_t size = header_size + payload.size() + tag_size;
    if (out.size() < size) {
        return tl::unexpected(encode_error::buffer_too_small);
    }
    std::byte* p = out.data();
    std::memcpy(p + off_magic, magic.data(), magic.size());
    p[off_version] = std::byte{protocol_version};
    p[off_type] = static_cast<std::byte>(header.type);
    put_u16(p + off_flags, 0);
    write_name_field(p + off_sender, header.sender);
    std::memcpy(p + off_boot_id, header.boot.data(), header.boot.size());
    put_u64(p + off_boot_time, header.boot_time);
    put_u64(p + off_sequence, header.sequence);
    put_u16(p + off_payload_length, static_cast<std::uint16_t>(payload.size()));
    if (!payload.empty()) {
        std::memmove(p + header_size, payload.data(), payload.size());
    }
    mac(out.first(header_size + payload.size()),
        std::span<std::byte, tag_size>(p + header_size + payload.size(), tag_size));
    return size;
}

tl::expected<message_view, reject_reason> codec::decode(std::span<const std::byte> d) {
    // Cheap structural checks first, so that garbage never costs an HMAC.
    if (d.size() < header_size + tag_size) {
        return tl::unexpected(reject_reason::short_datagram);
    }
    if (d.size() > max_datagram_size) {
        return tl::unexpected(reject_reason::oversized);
    }
    const std::byte* p = d.data();
    if (std::memcmp(p + off_magic, magic.data(), magic.size()) != 0) {
        return tl::unexpected(reject_reason::bad_magic);
    }
    if (std::to_integer<std::uint8_t>(p[off_version]) != protocol_version) {
        return tl::unexpected(reject_reason::unknown_version);
    }
    const auto type = std::to_integer<std::uint8_t>(p[off_type]);
    if (!is_known_type(type)) {
        return tl::unexpected(reject_reason::unknown_type);
    }
    const std::size_t payload_size = get_u16(p + off_payload_length);
    if (d.size() < header_size + payload_size + tag_size) {
        return tl::unexpected(reject_reason::short_datagram);
    }
    if (d.size() > header_size + payload_size + tag_size || get_u16(p + off_flags) != 0) {
        return tl::unexpected(reject_reason::malformed);
    }
    const auto sender = read_name_field(p + off_sender, /*allow_empty=*/false);
    if (!sender) {
        return tl::unexpected(reject_reason::malformed);
    }
    message_view m;
    m.type = static_cast<message_type>(type);
    m.sender = *sender;
    m.payload = d.subspan(header_size, payload_size);
    if (m.type == message_type::pulse_request && !parse_pulse_request(m.payload)) {
        return tl::unexpected(reject_reason::malformed);
    }
    if (m.type == message_type::pulse_response && !parse_pulse_response(m.payload)) {
        return tl::unexpected(reject_reason::malformed);
    }

    std::array<std::byte, tag_size> expected{};
    mac(d.first(header_size + payload_size), expected);
    if (CRYPTO_memcmp(expected.data(), p + header_size + payload_size, tag_size) != 0) {
        return tl::unexpected(reject_reason::bad_mac);
    }
    std::memcpy(m.boot.data(), p + off_boot_id, m.boot.size());
    m.boot_time = get_u64(p + off_boot_time);
    m.sequence = get_u64(p + off_sequence);
    return m;
}

tl::expected<message_view, reject_reason> codec::decode(std::span<const std::byte> datagram,
                                                        reject_counters& counters) {
    auto m = decode(datagram);
    if (!m) {
        counters.add(m.error());
    }
    return m;
}

// ---- replay_guard ----

std::size_t replay_guard::key_hash::operator()(const key& k) const noexcept {
    // FNV-1a over the name (up to its first NUL): cheap, and the table is bounded anyway.
    std::uint64_t h = 1469598103934665603ULL;
    for (char c : k) {
        if (c == '\0') {
            break;
        }
        h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
    }
    return static_cast<std::size_t>(h);
}

replay_guard::key replay_guard::make_key(std::string_view sender) noexcept {
    key k{};
    if (!sender.empty()) {
        std::memcpy(k.data(), sender.data(), std::min(sender.size(), max_sender_length));
    }
    return k;
}

replay_guard::replay_guard(std::size_t max_senders) : max_senders_(max_senders) {}

std::optional<reject_reason> replay_state::check(const message_view& m) const noexcept {
    if (!known) {
        return std::nullopt;
    }
    if (m.boot == boot) {
        // The boot time is not compared here: the boot id alone names the boot.
        if (m.sequence <= sequence) {
            return reject_reason::replay;
        }
        return std::nullopt;
    }
    if (m.boot_time <= boot_time) {
        return reject_reason::stale_boot;
    }
    return std::nullopt;
}

std::optional<reject_reason> replay_guard::check(const message_view& m) const {
    const auto it = table_.find(make_key(m.sender));
    if (it == table_.end()) {
        if (table_.size() >= max_senders_) {
            return reject_reason::table_full;
        }
        return std::nullopt;
    }
    return it->second.check(m);
}

std::optional<reject_reason> replay_guard::check(const message_view& m, reject_counters& counters) const {
    auto r = check(m);
    if (r) {
        counters.add(*r);
    }
    return r;
}

bool replay_guard::accept(const message_view& m) {
    if (check(m)) {
        return false;
    }
    table_[make_key(m.sender)].accept(m);
    return true;
}

void replay_guard::forget(std::string_view sender) {
    table_.erase(make_key(sender));
}

// ---- pulse payloads ----

namespace {

/// Whether `list` is a valid encoded list of teachings (every entry whole and valid, nothing after them).
bool valid_teachings(std::span<const std::byte> list) noexcept {
    while (!list.empty()) {
        if (!next_teaching(list)) {
            return false;
        }
    }
    return true;
}

}  // namespace

std::optional<std::size_t> append_teaching(std::span<std::byte> list, std::size_t used,
                                           const pulse_teaching& t) noexcept {
    const auto size = 5 + t.name.size();
    if (t.host_index == 0 || !is_valid_sender(t.name) || used > list.size() || list.size() - used < size) {
        return std::nullopt;
    }
    std::byte* p = list.data() + used;
    put_u32(p, t.host_index);
    p[4] = static_cast<std::byte>(t.name.size());
    std::memcpy(p + 5, t.name.data(), t.name.size());
    return used + size;
}

std::optional<pulse_teaching> next_teaching(std::span<const std::byte>& list) noexcept {
    if (list.size() < 5) {
        return std::nullopt;
    }
    const auto index = get_u32(list.data());
    const std::size_t length = std::to_integer<std::size_t>(list[4]);
    if (index == 0 || list.size() - 5 < length) {
        return std::nullopt;
    }
    const std::string_view name{reinterpret_cast<const char*>(list.data() + 5), length};
    if (!is_valid_sender(name)) {
        return std::nullopt;
    }
    list = list.subspan(5 + length);
    return pulse_teaching{index, name};
}

std::optional<std::uint32_t> taught_index(const pulse_request& request, std::string_view name) noexcept {
    if (request.host_index != 0 && (request.target.empty() || request.target == name)) {
        return request.host_index;
    }
    auto list = request.teachings;
    while (const auto t = next_teaching(list)) {
        if (t->name == name) {
            return t->host_index;
        }
    }
    return std::nullopt;
}

tl::expected<std::size_t, encode_error> encode_payload(const pulse_request& p, std::span<std::byte> out) {
    if ((!p.target.empty() && !is_valid_sender(p.target)) || p.teachings.size() > max_teachings_size ||
        !valid_teachings(p.teachings)) {
        return tl::unexpected(encode_error::invalid_payload);
    }
    if (out.size() < pulse_request_size + p.teachings.size()) {
        return tl::unexpected(encode_error::buffer_too_small);
    }
    put_u64(out.data(), p.period);
    put_u64(out.data() + 8, p.nonce);
    put_u32(out.data() + 16, p.host_index);
    write_name_field(out.data() + 20, p.target);
    if (!p.teachings.empty()) {
        std::memmove(out.data() + pulse_request_size, p.teachings.data(), p.teachings.size());
    }
    return pulse_request_size + p.teachings.size();
}

tl::expected<std::size_t, encode_error> encode_payload(const pulse_response& p, std::span<std::byte> out) {
    if (out.size() < pulse_response_size) {
        return tl::unexpected(encode_error::buffer_too_small);
    }
    put_u64(out.data(), p.period);
    put_u64(out.data() + 8, p.nonce);
    put_u32(out.data() + 16, p.host_index);
    put_u32(out.data() + 20, p.flags);
    return pulse_response_size;
}

tl::expected<pulse_request, reject_reason> parse_pulse_request(std::span<const std::byte> payload) {
    if (payload.size() < pulse_request_size) {
        return tl::unexpected(reject_reason::malformed);
    }
    const auto target = read_name_field(payload.data() + 20, /*allow_empty=*/true);
    const auto teachings = payload.subspan(pulse_request_size);
    if (!target || !valid_teachings(teachings)) {
        return tl::unexpected(reject_reason::malformed);
    }
    return pulse_request{get_u64(payload.data()), get_u64(payload.data() + 8), get_u32(payload.data() + 16),
                         *target, teachings};
}

tl::expected<pulse_response, reject_reason> parse_pulse_response(std::span<const std::byte> payload) {
    if (payload.size() != pulse_response_size) {
        return tl::unexpected(reject_reason::malformed);
    }
    return pulse_response{get_u64(payload.data()), get_u64(payload.data() + 8), get_u32(payload.data() + 16),
                          get_u32(payload.data() + 20)};
}

std::uint64_t random_nonce() {
    std::array<unsigned char, 8> bytes{};
    if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
        throw std::runtime_error{"cannot draw a random nonce: the system's random generator failed"};
    }
    std::uint64_t n = 0;
    for (const auto b : bytes) {
        n = (n << 8U) | b;
    }
    return n;
}

}  // namespace mtce::net
