// libFuzzer target for the wire decoder: arbitrary bytes must be rejected with a reason or decode to a
// message that re-encodes to exactly the same datagram.
//
//   clang++-14 -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -Isrc \
//       src/net/message.cpp test/fuzz/decode_fuzz.cpp -lcrypto -o /tmp/decode_fuzz
//   /tmp/decode_fuzz -max_total_time=60
//
// Random bytes almost never carry a valid tag, so most inputs exercise the structural checks. To reach the
// code behind the MAC as well, an input whose first byte is odd is first re-signed with the fuzzer's key
// (the rest of the input is taken as the datagram).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <vector>

#include <openssl/evp.h>

#include "net/message.hpp"

namespace {

constexpr unsigned char fuzz_key[] = "mtce fuzz key: 32 bytes long...";

std::span<const std::byte> key_span() {
    return {reinterpret_cast<const std::byte*>(fuzz_key), sizeof fuzz_key - 1};
}

mtce::net::codec& fuzz_codec() {
    static mtce::net::codec c{key_span()};
    return c;
}

void resign(std::vector<std::byte>& d) {
    if (d.size() < mtce::net::tag_size) {
        return;
    }
    const std::size_t body = d.size() - mtce::net::tag_size;
    char digest[] = "SHA256";
    std::size_t len = 0;
    if (EVP_Q_mac(nullptr, "HMAC", nullptr, digest, nullptr, fuzz_key, sizeof fuzz_key - 1,
                  reinterpret_cast<const unsigned char*>(d.data()), body,
                  reinterpret_cast<unsigned char*>(d.data() + body), mtce::net::tag_size, &len) == nullptr) {
        std::abort();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    namespace net = mtce::net;
    if (size == 0) {
        return 0;
    }
    std::vector<std::byte> d(size - 1);
    std::memcpy(d.data(), data + 1, size - 1);
    if ((data[0] & 1) != 0) {
        resign(d);
    }

    // A fresh guard per input keeps runs reproducible; one with state from a previous message is exercised
    // by feeding the same message twice.
    static net::reject_counters counters;
    net::replay_guard guard{4};
    auto m = fuzz_codec().decode(d, counters);
    if (!m) {
        return 0;
    }
    if (guard.check(*m, counters) || !guard.accept(*m)) {
        std::abort();  // the first message from a sender into an empty table is always new
    }
    if (guard.check(*m) != net::reject_reason::replay) {
        std::abort();
    }

    // A pulse payload that decodes encodes again to the same bytes: every field (nonce and teachings
    // included) is kept, and every teaching of the list reads back.
    std::vector<std::byte> fixed(net::max_payload_size);
    if (m->type == net::message_type::pulse_request) {
        const auto r = net::parse_pulse_request(m->payload);
        const auto n = r ? net::encode_payload(*r, fixed) : tl::expected<std::size_t, net::encode_error>{};
        if (!r || !n || *n != m->payload.size() || std::memcmp(fixed.data(), m->payload.data(), *n) != 0) {
            std::abort();
        }
        auto list = r->teachings;
        while (const auto t = net::next_teaching(list)) {
            if (!net::taught_index(*r, t->name)) {
                std::abort();  // a listed name is always taught an index
            }
        }
        if (!list.empty()) {
            std::abort();  // parse accepted a list that does not read to its end
        }
    }
    if (m->type == net::message_type::pulse_response) {
        const auto r = net::parse_pulse_response(m->payload);
        const auto n = r ? net::encode_payload(*r, fixed) : tl::expected<std::size_t, net::encode_error>{};
        if (!r || !n || *n != m->payload.size() || std::memcmp(fixed.data(), m->payload.data(), *n) != 0) {
            std::abort();
        }
    }

    const net::message_header h{m->type, m->sender, m->boot, m->boot_time, m->sequence};
    std::vector<std::byte> again(net::max_datagram_size);
    auto n = fuzz_codec().encode(h, m->payload, again);
    if (!n || *n != d.size() || std::memcmp(again.data(), d.data(), d.size()) != 0) {
        std::abort();
    }
    return 0;
}
