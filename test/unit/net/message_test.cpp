#define BOOST_TEST_MODULE net_message_test
#include <boost/test/unit_test.hpp>

#include <array>
#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include <openssl/evp.h>

#include "net/message.hpp"

namespace net = mtce::net;
using net::message_type;
using net::reject_reason;

namespace {

using bytes = std::vector<std::byte>;

bytes to_bytes(std::string_view s) {
    bytes b(s.size());
    std::memcpy(b.data(), s.data(), s.size());
    return b;
}

const bytes cluster_key = to_bytes("0123456789abcdef0123456789abcdef");
const bytes other_key = to_bytes("fedcba9876543210fedcba9876543210");

net::message_header header(message_type t, std::uint64_t seq = 1, std::string_view sender = "worker-0",
                           std::string_view boot = "1a2b3c4d-0000-4000-8000-00000000abcd",
                           std::uint64_t boot_time = 1'700'000'000) {
    return net::message_header{t, sender, net::parse_boot_id(boot), boot_time, seq};
}

bytes encode(net::codec& c, const net::message_header& h, const bytes& payload = {}) {
    bytes out(net::max_datagram_size);
    auto n = c.encode(h, payload, out);
    BOOST_TEST_REQUIRE(n.has_value());
    out.resize(*n);
    return out;
}

bytes pulse_request_payload(std::uint64_t period, std::uint32_t index, std::string_view target = "",
                            std::uint64_t nonce = 0x1122334455667788ULL) {
    bytes p(net::pulse_request_size);
    BOOST_TEST_REQUIRE(
        net::encode_payload(net::pulse_request{period, nonce, index, target, {}}, p).has_value());
    return p;
}

bytes pulse_response_payload(std::uint64_t period, std::uint32_t index, std::uint32_t flags,
                             std::uint64_t nonce = 0x1122334455667788ULL) {
    bytes p(net::pulse_response_size);
    BOOST_TEST_REQUIRE(net::encode_payload(net::pulse_response{period, nonce, index, flags}, p).has_value());
    return p;
}

/// HMAC-SHA256 by OpenSSL's one-shot API: an implementation independent of the codec's reused context.
std::array<std::byte, net::tag_size> reference_tag(const bytes& key, const std::byte* data, std::size_t n) {
    std::array<std::byte, net::tag_size> tag{};
    std::size_t len = 0;
    char digest[] = "SHA256";
    BOOST_TEST_REQUIRE(EVP_Q_mac(nullptr, "HMAC", nullptr, digest, nullptr, key.data(), key.size(),
                                 reinterpret_cast<const unsigned char*>(data), n,
                                 reinterpret_cast<unsigned char*>(tag.data()), tag.size(), &len) != nullptr);
    BOOST_TEST_REQUIRE(len == net::tag_size);
    return tag;
}

/// Recomputes the tag after a test altered the datagram, so that only the alteration can be rejected.
void resign(bytes& d) {
    const std::size_t body = d.size() - net::tag_size;
    const auto tag = reference_tag(cluster_key, d.data(), body);
    std::memcpy(d.data() + body, tag.data(), tag.size());
}

reject_reason rejection(net::codec& c, const bytes& d) {
    auto m = c.decode(d);
    BOOST_TEST_REQUIRE(!m.has_value());
    return m.error();
}

net::message_view view(message_type t, std::uint64_t seq, std::string_view sender, std::string_view boot,
                       std::uint64_t boot_time) {
    return net::message_view{t, sender, net::parse_boot_id(boot), boot_time, seq, {}};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(codec_round_trip)

BOOST_AUTO_TEST_CASE(every_message_type_decodes_to_what_was_encoded) {
    net::codec c{cluster_key};
    const std::array types{message_type::pulse_request, message_type::pulse_response,
                           message_type::mtc_alive,     message_type::command,
                           message_type::command_ack,   message_type::command_result};
    std::uint64_t seq = 41;
    for (auto t : types) {
        bytes payload;
        if (t == message_type::pulse_request) {
            payload = pulse_request_payload(7, 3, "worker-1");
        } else if (t == message_type::pulse_response) {
            payload = pulse_response_payload(7, 3, net::pulse_flags::process_monitor_ok);
        } else {
            payload = to_bytes(R"({"hostname":"worker-0","flags":5})");
        }
        const auto h = header(t, ++seq);
        const auto d = encode(c, h, payload);
        BOOST_TEST(d.size() == net::header_size + payload.size() + net::tag_size);
        auto m = c.decode(d);
        BOOST_TEST_REQUIRE(m.has_value(), "type " << net::to_string(t) << " rejected");
        BOOST_TEST(static_cast<int>(m->type) == static_cast<int>(t));
        BOOST_TEST(m->sender == "worker-0");
        BOOST_TEST((m->boot == h.boot));
        BOOST_TEST(m->boot_time == h.boot_time);
        BOOST_TEST(m->sequence == seq);
        BOOST_TEST(bytes(m->payload.begin(), m->payload.end()) == payload);
        // The view points into the caller's buffer: no copy was made.
        BOOST_TEST(m->payload.data() == d.data() + net::header_size);
    }
}

BOOST_AUTO_TEST_CASE(the_header_is_big_endian_at_the_documented_offsets) {
    net::codec c{cluster_key};
    const auto d = encode(c, header(message_type::command, 0x0102030405060708ULL), to_bytes("{}"));
    BOOST_TEST(std::memcmp(d.data(), "MTCE", 4) == 0);
    BOOST_TEST(std::to_integer<int>(d[4]) == 2);
    BOOST_TEST(std::to_integer<int>(d[5]) == 4);
    BOOST_TEST(std::to_integer<int>(d[6]) == 0);
    BOOST_TEST(std::to_integer<int>(d[7]) == 0);
    BOOST_TEST(std::memcmp(d.data() + 8, "worker-0\0\0", 10) == 0);
    BOOST_TEST(std::to_integer<int>(d[72]) == 0x1a);  // boot id, first byte
    for (int i = 0; i < 8; ++i) {
        BOOST_TEST(std::to_integer<int>(d[96 + i]) == i + 1);  // sequence
    }
    BOOST_TEST(std::to_integer<int>(d[104]) == 0);  // payload length 2
    BOOST_TEST(std::to_integer<int>(d[105]) == 2);
}

BOOST_AUTO_TEST_CASE(the_tag_is_hmac_sha256_of_header_and_payload_under_the_key) {
    net::codec c{cluster_key};
    for (std::uint64_t seq = 1; seq <= 3; ++seq) {  // the reused context must restart for every message
        const auto d = encode(c, header(message_type::mtc_alive, seq), to_bytes("{\"uptime_s\":12}"));
        const std::size_t body = d.size() - net::tag_size;
        const auto tag = reference_tag(cluster_key, d.data(), body);
        BOOST_TEST(std::memcmp(tag.data(), d.data() + body, net::tag_size) == 0);
    }
}

BOOST_AUTO_TEST_CASE(a_payload_built_in_place_in_the_output_buffer_is_encoded_unchanged) {
    net::codec c{cluster_key};
    bytes out(net::max_datagram_size);
    auto n = net::encode_payload(net::pulse_response{9, 5, 4, 1}, std::span(out).subspan(net::header_size));
    BOOST_TEST_REQUIRE(n.has_value());
    auto size = c.encode(header(message_type::pulse_response),
                         std::span<const std::byte>(out).subspan(net::header_size, *n), out);
    BOOST_TEST_REQUIRE(size.has_value());
    auto m = c.decode(std::span(out).first(*size));
    BOOST_TEST_REQUIRE(m.has_value());
    auto p = net::parse_pulse_response(m->payload);
    BOOST_TEST_REQUIRE(p.has_value());
    BOOST_TEST(p->period == 9U);
    BOOST_TEST(p->host_index == 4U);
}

BOOST_AUTO_TEST_CASE(the_largest_payload_makes_a_1400_byte_datagram_and_one_more_byte_is_refused) {
    net::codec c{cluster_key};
    bytes out(2000);
    auto n = c.encode(header(message_type::command), bytes(net::max_payload_size, std::byte{'x'}), out);
    BOOST_TEST_REQUIRE(n.has_value());
    BOOST_TEST(*n == 1400U);
    BOOST_TEST(c.decode(std::span(out).first(*n)).has_value());
    auto too_big = c.encode(header(message_type::command), bytes(net::max_payload_size + 1), out);
    BOOST_TEST_REQUIRE(!too_big.has_value());
    BOOST_TEST((too_big.error() == net::encode_error::payload_too_large));
}

BOOST_AUTO_TEST_CASE(encoding_refuses_bad_sender_names_and_small_buffers) {
    net::codec c{cluster_key};
    bytes out(net::max_datagram_size);
    for (std::string_view bad : {"", "-worker", "worker-", "a..b", "wörker", "host_0", "a b",
                                 "x234567890123456789012345678901234567890123456789012345678901234"}) {
        auto n = c.encode(header(message_type::command, 1, bad), {}, out);
        BOOST_TEST_REQUIRE(!n.has_value(), "accepted '" << bad << "'");
        BOOST_TEST((n.error() == net::encode_error::invalid_sender));
    }
    // 63 characters is the longest name.
    const std::string longest(63, 'a');
    BOOST_TEST(c.encode(header(message_type::command, 1, longest), {}, out).has_value());
    bytes small(net::header_size + net::tag_size - 1);
    auto n = c.encode(header(message_type::command), {}, small);
    BOOST_TEST_REQUIRE(!n.has_value());
    BOOST_TEST((n.error() == net::encode_error::buffer_too_small));
}

BOOST_AUTO_TEST_CASE(a_key_shorter_than_16_bytes_is_refused) {
    BOOST_CHECK_THROW(net::codec{to_bytes("short key")}, std::invalid_argument);
    BOOST_CHECK_NO_THROW(net::codec{to_bytes("0123456789abcdef")});
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(codec_rejections)

BOOST_AUTO_TEST_CASE(a_datagram_shorter_than_header_and_tag_is_short) {
    net::codec c{cluster_key};
    auto d = encode(c, header(message_type::command));
    d.pop_back();
    BOOST_TEST((rejection(c, d) == reject_reason::short_datagram));
    BOOST_TEST((rejection(c, bytes{}) == reject_reason::short_datagram));
}

BOOST_AUTO_TEST_CASE(a_truncated_datagram_is_short) {
    net::codec c{cluster_key};
    auto d = encode(c, header(message_type::command), to_bytes("{\"command\":\"reboot\"}"));
    d.pop_back();
    BOOST_TEST((rejection(c, d) == reject_reason::short_datagram));
}

BOOST_AUTO_TEST_CASE(a_datagram_longer_than_1400_bytes_is_oversized) {
    net::codec c{cluster_key};
    bytes out(2000);
    auto n = c.encode(header(message_type::command), bytes(net::max_payload_size, std::byte{'x'}), out);
    BOOST_TEST_REQUIRE(n.has_value());
    out.resize(*n + 1);
    BOOST_TEST((rejection(c, out) == reject_reason::oversized));
}

BOOST_AUTO_TEST_CASE(trailing_bytes_after_the_tag_are_malformed) {
    net::codec c{cluster_key};
    auto d = encode(c, header(message_type::command), to_bytes("{}"));
    d.push_back(std::byte{0});
    BOOST_TEST((rejection(c, d) == reject_reason::malformed));
}

BOOST_AUTO_TEST_CASE(a_payload_length_that_lies_is_short_or_malformed) {
    net::codec c{cluster_key};
    auto longer = encode(c, header(message_type::command), to_bytes("{}"));
    longer[105] = std::byte{3};  // claims 3 bytes, carries 2
    resign(longer);
    BOOST_TEST((rejection(c, longer) == reject_reason::short_datagram));
    auto shorter = encode(c, header(message_type::command), to_bytes("{}"));
    shorter[105] = std::byte{1};  // claims 1 byte, carries 2
    resign(shorter);
    BOOST_TEST((rejection(c, shorter) == reject_reason::malformed));
}

BOOST_AUTO_TEST_CASE(a_wrong_magic_is_bad_magic) {
    net::codec c{cluster_key};
    auto d = encode(c, header(message_type::command));
    d[0] = std::byte{'X'};
    resign(d);
    BOOST_TEST((rejection(c, d) == reject_reason::bad_magic));
}

BOOST_AUTO_TEST_CASE(version_1_and_version_3_are_unknown_versions) {
    net::codec c{cluster_key};
    auto d = encode(c, header(message_type::command));
    d[4] = std::byte{1};
    resign(d);
    BOOST_TEST((rejection(c, d) == reject_reason::unknown_version));
    d[4] = std::byte{3};
    resign(d);
    BOOST_TEST((rejection(c, d) == reject_reason::unknown_version));
}

BOOST_AUTO_TEST_CASE(types_0_7_and_99_are_unknown_types) {
    net::codec c{cluster_key};
    for (int t : {0, 7, 99}) {
        auto d = encode(c, header(message_type::command));
        d[5] = static_cast<std::byte>(t);
        resign(d);
        BOOST_TEST((rejection(c, d) == reject_reason::unknown_type), "type " << t);
    }
}

BOOST_AUTO_TEST_CASE(reserved_flags_set_are_malformed_even_when_signed) {
    net::codec c{cluster_key};
    auto d = encode(c, header(message_type::command));
    d[7] = std::byte{1};
    resign(d);
    BOOST_TEST((rejection(c, d) == reject_reason::malformed));
}

BOOST_AUTO_TEST_CASE(a_sender_field_not_nul_padded_or_not_a_host_name_is_malformed) {
    net::codec c{cluster_key};
    auto garbage_after_nul = encode(c, header(message_type::command));
    garbage_after_nul[8 + 40] = std::byte{'x'};
    resign(garbage_after_nul);
    BOOST_TEST((rejection(c, garbage_after_nul) == reject_reason::malformed));

    auto no_nul = encode(c, header(message_type::command));
    std::memset(no_nul.data() + 8, 'a', 64);
    resign(no_nul);
    BOOST_TEST((rejection(c, no_nul) == reject_reason::malformed));

    auto bad_char = encode(c, header(message_type::command));
    bad_char[8 + 6] = std::byte{'/'};  // "worker/0"
    resign(bad_char);
    BOOST_TEST((rejection(c, bad_char) == reject_reason::malformed));

    auto empty = encode(c, header(message_type::command));
    std::memset(empty.data() + 8, 0, 64);
    resign(empty);
    BOOST_TEST((rejection(c, empty) == reject_reason::malformed));
}

BOOST_AUTO_TEST_CASE(a_pulse_with_a_payload_of_the_wrong_size_is_malformed) {
    net::codec c{cluster_key};
    auto d = encode(c, header(message_type::pulse_response), bytes(net::pulse_response_size - 1));
    BOOST_TEST((rejection(c, d) == reject_reason::malformed));
    auto r = encode(c, header(message_type::pulse_request), bytes(net::pulse_response_size));
    BOOST_TEST((rejection(c, r) == reject_reason::malformed));
}

BOOST_AUTO_TEST_CASE(one_flipped_bit_anywhere_signed_is_a_bad_mac) {
    net::codec c{cluster_key};
    const auto good = encode(c, header(message_type::command), to_bytes("{\"command\":\"reboot\"}"));
    // Payload, boot id, boot time, sequence and the tag itself: all covered.
    for (std::size_t at :
         {net::header_size + 3, std::size_t{72}, std::size_t{90}, std::size_t{103}, good.size() - 1}) {
        auto d = good;
        d[at] ^= std::byte{0x01};
        BOOST_TEST((rejection(c, d) == reject_reason::bad_mac), "bit flipped at " << at);
    }
}

BOOST_AUTO_TEST_CASE(a_message_signed_with_another_key_is_a_bad_mac) {
    net::codec theirs{other_key};
    net::codec ours{cluster_key};
    const auto d = encode(theirs, header(message_type::pulse_response), pulse_response_payload(1, 1, 0));
    BOOST_TEST((rejection(ours, d) == reject_reason::bad_mac));
    BOOST_TEST(theirs.decode(d).has_value());
}

BOOST_AUTO_TEST_CASE(each_rejection_moves_its_counter_and_the_total_by_exactly_one) {
    net::codec c{cluster_key};
    net::reject_counters counters;
    const auto good = encode(c, header(message_type::command), to_bytes("{}"));
    auto expect_one = [&](bytes d, reject_reason want) {
        const auto before = counters.count(want);
        const auto total = counters.total();
        auto m = c.decode(d, counters);
        BOOST_TEST_REQUIRE(!m.has_value());
        BOOST_TEST((m.error() == want));
        BOOST_TEST(counters.count(want) == before + 1);
        BOOST_TEST(counters.total() == total + 1);
    };
    expect_one(bytes(10), reject_reason::short_datagram);
    expect_one(bytes(1401), reject_reason::oversized);
    auto d = good;
    d[1] = std::byte{0};
    expect_one(d, reject_reason::bad_magic);
    d = good;
    d[4] = std::byte{9};
    expect_one(d, reject_reason::unknown_version);
    d = good;
    d[5] = std::byte{99};
    expect_one(d, reject_reason::unknown_type);
    d = good;
    d[6] = std::byte{0x80};
    expect_one(d, reject_reason::malformed);
    d = good;
    d.back() ^= std::byte{0x80};
    expect_one(d, reject_reason::bad_mac);
    expect_one(d, reject_reason::bad_mac);  // and again

    const auto total = counters.total();
    BOOST_TEST(c.decode(good, counters).has_value());
    BOOST_TEST(counters.total() == total);  // an accepted message counts nothing

    net::replay_guard guard;
    auto m = c.decode(good);
    BOOST_TEST_REQUIRE(m.has_value());
    BOOST_TEST(!guard.check(*m, counters).has_value());
    BOOST_TEST(guard.accept(*m));
    BOOST_TEST((guard.check(*m, counters) == reject_reason::replay));
    BOOST_TEST(counters.count(reject_reason::replay) == 1U);
    BOOST_TEST(counters.total() == total + 1);

    std::uint64_t listed = 0;
    std::size_t reasons = 0;
    counters.for_each([&](reject_reason r, std::uint64_t n) {
        BOOST_TEST(!net::to_string(r).empty());
        listed += n;
        ++reasons;
    });
    BOOST_TEST(reasons == net::reject_reason_count);
    BOOST_TEST(listed == counters.total());
    BOOST_TEST(counters.count(reject_reason::bad_mac) == 2U);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(replay_guard)

constexpr std::string_view boot_a = "aaaaaaaa-0000-4000-8000-000000000001";
constexpr std::string_view boot_b = "bbbbbbbb-0000-4000-8000-000000000002";

BOOST_AUTO_TEST_CASE(the_same_sequence_twice_is_a_replay) {
    net::replay_guard g;
    const auto m = view(message_type::mtc_alive, 5, "worker-0", boot_a, 100);
    BOOST_TEST(!g.check(m).has_value());
    BOOST_TEST(g.accept(m));
    BOOST_TEST((g.check(m) == reject_reason::replay));
    BOOST_TEST(!g.accept(m));
}

BOOST_AUTO_TEST_CASE(a_lower_sequence_is_a_replay_and_a_higher_one_is_accepted) {
    net::replay_guard g;
    BOOST_TEST(g.accept(view(message_type::mtc_alive, 5, "worker-0", boot_a, 100)));
    BOOST_TEST((g.check(view(message_type::mtc_alive, 4, "worker-0", boot_a, 100)) == reject_reason::replay));
    BOOST_TEST(g.accept(view(message_type::mtc_alive, 6, "worker-0", boot_a, 100)));
    BOOST_TEST((g.check(view(message_type::mtc_alive, 6, "worker-0", boot_a, 100)) == reject_reason::replay));
}

BOOST_AUTO_TEST_CASE(senders_are_tracked_separately) {
    net::replay_guard g;
    BOOST_TEST(g.accept(view(message_type::mtc_alive, 5, "worker-0", boot_a, 100)));
    BOOST_TEST(g.accept(view(message_type::mtc_alive, 1, "worker-1", boot_a, 100)));
    BOOST_TEST(g.size() == 2U);
}

BOOST_AUTO_TEST_CASE(check_alone_records_nothing) {
    net::replay_guard g;
    const auto m = view(message_type::mtc_alive, 5, "worker-0", boot_a, 100);
    BOOST_TEST(!g.check(m).has_value());
    BOOST_TEST(!g.check(m).has_value());
    BOOST_TEST(g.size() == 0U);
}

BOOST_AUTO_TEST_CASE(a_newer_boot_resets_the_sequence) {
    net::replay_guard g;
    BOOST_TEST(g.accept(view(message_type::mtc_alive, 1000, "worker-0", boot_a, 100)));
    BOOST_TEST(g.accept(view(message_type::mtc_alive, 1, "worker-0", boot_b, 200)));
    BOOST_TEST((g.check(view(message_type::mtc_alive, 1, "worker-0", boot_b, 200)) == reject_reason::replay));
    BOOST_TEST(g.accept(view(message_type::mtc_alive, 2, "worker-0", boot_b, 200)));
}

BOOST_AUTO_TEST_CASE(an_older_boot_is_stale_once_a_newer_one_was_accepted) {
    net::replay_guard g;
    BOOST_TEST(g.accept(view(message_type::mtc_alive, 7, "worker-0", boot_a, 100)));
    BOOST_TEST(g.accept(view(message_type::mtc_alive, 1, "worker-0", boot_b, 200)));
    // Even with a sequence far above anything seen, the old boot stays refused.
    BOOST_TEST(
        (g.check(view(message_type::mtc_alive, 9999, "worker-0", boot_a, 100)) == reject_reason::stale_boot));
    // Another boot id claiming the same boot time is not newer either.
    BOOST_TEST((g.check(view(message_type::mtc_alive, 1, "worker-0", "cccccccc-0000-4000-8000-000000000003",
                             200)) == reject_reason::stale_boot));
}

BOOST_AUTO_TEST_CASE(a_full_table_refuses_new_senders_but_not_known_ones_until_one_is_forgotten) {
    net::replay_guard g{2};
    BOOST_TEST(g.accept(view(message_type::mtc_alive, 1, "worker-0", boot_a, 100)));
    BOOST_TEST(g.accept(view(message_type::mtc_alive, 1, "worker-1", boot_a, 100)));
    const auto newcomer = view(message_type::mtc_alive, 1, "worker-2", boot_a, 100);
    BOOST_TEST((g.check(newcomer) == reject_reason::table_full));
    BOOST_TEST(!g.accept(newcomer));
    BOOST_TEST(g.accept(view(message_type::mtc_alive, 2, "worker-1", boot_a, 100)));
    g.forget("worker-0");
    BOOST_TEST(g.accept(newcomer));
    BOOST_TEST(g.size() == 2U);
}

BOOST_AUTO_TEST_CASE(decoded_messages_flow_through_the_guard) {
    net::codec c{cluster_key};
    net::replay_guard g;
    const auto first = encode(c, header(message_type::pulse_response, 1), pulse_response_payload(1, 1, 0));
    const auto second = encode(c, header(message_type::pulse_response, 2), pulse_response_payload(2, 1, 0));
    auto m1 = c.decode(first);
    auto m2 = c.decode(second);
    BOOST_TEST_REQUIRE((m1.has_value() && m2.has_value()));
    BOOST_TEST(g.accept(*m2));
    BOOST_TEST((g.check(*m1) == reject_reason::replay));  // arrived late: a reordered datagram is dropped
    BOOST_TEST((g.check(*c.decode(second)) == reject_reason::replay));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(payloads_and_boot_ids)

BOOST_AUTO_TEST_CASE(pulse_payloads_round_trip) {
    const auto req = pulse_request_payload(0xfedcba9876543210ULL, 4000, "storage-12", 0x0102030405060708ULL);
    auto r = net::parse_pulse_request(req);
    BOOST_TEST_REQUIRE(r.has_value());
    BOOST_TEST(r->period == 0xfedcba9876543210ULL);
    BOOST_TEST(r->nonce == 0x0102030405060708ULL);
    BOOST_TEST(r->host_index == 4000U);
    BOOST_TEST(r->target == "storage-12");

    auto anyone = net::parse_pulse_request(pulse_request_payload(1, 2));
    BOOST_TEST_REQUIRE(anyone.has_value());
    BOOST_TEST(anyone->target.empty());

    const auto rsp = pulse_response_payload(42, 7, 0x80000003U, 0xa1a2a3a4a5a6a7a8ULL);
    auto s = net::parse_pulse_response(rsp);
    BOOST_TEST_REQUIRE(s.has_value());
    BOOST_TEST(s->period == 42U);
    BOOST_TEST(s->nonce == 0xa1a2a3a4a5a6a7a8ULL);
    BOOST_TEST(s->host_index == 7U);
    BOOST_TEST(s->flags == 0x80000003U);
}

BOOST_AUTO_TEST_CASE(pulse_payloads_of_the_wrong_size_or_with_a_bad_target_are_malformed) {
    BOOST_TEST(!net::parse_pulse_response(bytes(net::pulse_response_size + 1)).has_value());
    BOOST_TEST(!net::parse_pulse_request(bytes(net::pulse_request_size - 1)).has_value());
    auto req = pulse_request_payload(1, 2, "worker-3");
    req[20 + 20] = std::byte{'z'};  // not NUL-padded
    BOOST_TEST(!net::parse_pulse_request(req).has_value());
    bytes out(net::pulse_request_size);
    BOOST_TEST(!net::encode_payload(net::pulse_request{1, 0, 2, "bad name", {}}, out).has_value());
}

BOOST_AUTO_TEST_CASE(a_pulse_request_carries_a_list_of_teachings_after_its_fixed_part) {
    std::array<std::byte, net::max_teachings_size> list{};
    std::size_t used = 0;
    for (const auto& t : {net::pulse_teaching{7, "worker-7"}, net::pulse_teaching{0x01020304, "s"}}) {
        const auto next = net::append_teaching(list, used, t);
        BOOST_TEST_REQUIRE(next.has_value());
        used = *next;
    }
    BOOST_TEST(used == (5U + 8U) + (5U + 1U));
    bytes p(net::max_payload_size);
    const auto n =
        net::encode_payload(net::pulse_request{3, 4, 5, "worker-5", std::span{list}.first(used)}, p);
    BOOST_TEST_REQUIRE(n.has_value());
    BOOST_TEST(*n == net::pulse_request_size + used);
    p.resize(*n);
    // index (big-endian), name length, name: right after the 84 fixed bytes
    BOOST_TEST(std::to_integer<int>(p[84 + 3]) == 7);
    BOOST_TEST(std::to_integer<int>(p[84 + 4]) == 8);
    BOOST_TEST(std::to_integer<char>(p[84 + 5]) == 'w');
    BOOST_TEST(std::to_integer<int>(p[84 + 13]) == 0x01);
    const auto r = net::parse_pulse_request(p);
    BOOST_TEST_REQUIRE(r.has_value());
    BOOST_TEST(r->teachings.size() == used);
    BOOST_TEST(net::taught_index(*r, "worker-5").value_or(0) == 5U);
    BOOST_TEST(net::taught_index(*r, "worker-7").value_or(0) == 7U);
    BOOST_TEST(net::taught_index(*r, "s").value_or(0) == 0x01020304U);
    BOOST_TEST(!net::taught_index(*r, "worker-8").has_value());
    // A request that teaches no one (index 0, no target, no list) teaches the receiver nothing either.
    const auto none = net::parse_pulse_request(pulse_request_payload(9, 0));
    BOOST_TEST_REQUIRE(none.has_value());
    BOOST_TEST(!net::taught_index(*none, "worker-5").has_value());
    const auto unicast = net::parse_pulse_request(pulse_request_payload(9, 12));
    BOOST_TEST(net::taught_index(*unicast, "worker-5").value_or(0) == 12U);
}

BOOST_AUTO_TEST_CASE(a_teaching_that_does_not_fit_or_is_invalid_is_refused_and_a_bad_list_is_malformed) {
    std::array<std::byte, 20> small{};
    BOOST_TEST(net::append_teaching(small, 0, {1, "worker-0"}).value_or(0) == 13U);
    BOOST_TEST(!net::append_teaching(small, 13, {2, "worker-1"}).has_value());  // 13 + 13 > 20
    BOOST_TEST(!net::append_teaching(small, 0, {0, "worker-0"}).has_value());   // index 0 means none
    BOOST_TEST(!net::append_teaching(small, 0, {1, ""}).has_value());
    BOOST_TEST(!net::append_teaching(small, 0, {1, "bad name"}).has_value());

    const auto with = [](std::initializer_list<int> tail) {
        auto p = pulse_request_payload(1, 2, "worker-3");
        for (const int b : tail) {
            p.push_back(static_cast<std::byte>(b));
        }
        return p;
    };
    BOOST_TEST(net::parse_pulse_request(with({0, 0, 0, 1, 1, 'a'})).has_value());
    BOOST_TEST(!net::parse_pulse_request(with({0, 0, 0, 1})).has_value());             // cut in the entry
    BOOST_TEST(!net::parse_pulse_request(with({0, 0, 0, 1, 2, 'a'})).has_value());     // name cut short
    BOOST_TEST(!net::parse_pulse_request(with({0, 0, 0, 0, 1, 'a'})).has_value());     // index 0
    BOOST_TEST(!net::parse_pulse_request(with({0, 0, 0, 1, 0})).has_value());          // empty name
    BOOST_TEST(!net::parse_pulse_request(with({0, 0, 0, 1, 1, ' '})).has_value());     // not a host name
    BOOST_TEST(!net::parse_pulse_request(with({0, 0, 0, 1, 1, 'a', 0})).has_value());  // trailing byte
    // Encoding checks the list the same way.
    const std::array bad{std::byte{0}, std::byte{0}, std::byte{0},
                         std::byte{0}, std::byte{1}, std::byte{'a'}};
    bytes out(net::max_payload_size);
    BOOST_TEST(!net::encode_payload(net::pulse_request{1, 0, 2, "", bad}, out).has_value());
}

BOOST_AUTO_TEST_CASE(pulse_payloads_are_big_endian_at_the_documented_offsets) {
    const auto req = pulse_request_payload(0x0102030405060708ULL, 0x11121314U, "w", 0x2122232425262728ULL);
    BOOST_TEST(req.size() == 84U);
    BOOST_TEST(std::to_integer<int>(req[0]) == 0x01);
    BOOST_TEST(std::to_integer<int>(req[7]) == 0x08);
    BOOST_TEST(std::to_integer<int>(req[8]) == 0x21);
    BOOST_TEST(std::to_integer<int>(req[15]) == 0x28);
    BOOST_TEST(std::to_integer<int>(req[16]) == 0x11);
    BOOST_TEST(std::to_integer<int>(req[19]) == 0x14);
    BOOST_TEST(std::to_integer<int>(req[20]) == 'w');
    BOOST_TEST(std::to_integer<int>(req[21]) == 0);
    const auto rsp =
        pulse_response_payload(0x0102030405060708ULL, 0x11121314U, 0x31323334U, 0x2122232425262728ULL);
    BOOST_TEST(rsp.size() == 24U);
    BOOST_TEST(std::to_integer<int>(rsp[8]) == 0x21);
    BOOST_TEST(std::to_integer<int>(rsp[15]) == 0x28);
    BOOST_TEST(std::to_integer<int>(rsp[16]) == 0x11);
    BOOST_TEST(std::to_integer<int>(rsp[20]) == 0x31);
    BOOST_TEST(std::to_integer<int>(rsp[23]) == 0x34);
}

BOOST_AUTO_TEST_CASE(random_nonces_differ) {
    const auto a = net::random_nonce();
    const auto b = net::random_nonce();
    BOOST_TEST(a != b);  // 2^-64 chance of a false failure
}

BOOST_AUTO_TEST_CASE(a_kernel_boot_id_parses_to_its_16_bytes) {
    const auto id = net::parse_boot_id("3F2504E0-4F89-11D3-9A0C-0305E82C3301\n");
    const std::array<int, 16> want{0x3f, 0x25, 0x04, 0xe0, 0x4f, 0x89, 0x11, 0xd3,
                                   0x9a, 0x0c, 0x03, 0x05, 0xe8, 0x2c, 0x33, 0x01};
    for (std::size_t i = 0; i < want.size(); ++i) {
        BOOST_TEST(std::to_integer<int>(id[i]) == want[i]);
    }
    BOOST_TEST(net::to_string(id) == "3f2504e0-4f89-11d3-9a0c-0305e82c3301");
    BOOST_TEST((net::parse_boot_id(net::to_string(id)) == id));
}

BOOST_AUTO_TEST_CASE(any_other_text_is_hashed_with_sha256) {
    // SHA-256("abc") = ba7816bf 8f01cfea 414140de 5dae2223 b00361a3 ...
    BOOST_TEST(net::to_string(net::parse_boot_id("abc")) == "ba7816bf-8f01-cfea-4141-40de5dae2223");
    BOOST_TEST((net::parse_boot_id("sim-host-7 boot 1") != net::parse_boot_id("sim-host-7 boot 2")));
    // Almost a UUID is not one.
    BOOST_TEST((net::parse_boot_id("3f2504e0-4f89-11d3-9a0c-0305e82c330g") !=
                net::parse_boot_id("3f2504e0-4f89-11d3-9a0c-0305e82c3300")));
    BOOST_TEST(net::to_string(net::parse_boot_id("3f2504e0x4f89-11d3-9a0c-0305e82c3301")) !=
               "3f2504e0-4f89-11d3-9a0c-0305e82c3301");
}

BOOST_AUTO_TEST_CASE(every_reason_and_type_has_a_name) {
    for (std::size_t i = 0; i < net::reject_reason_count; ++i) {
        BOOST_TEST(net::to_string(static_cast<reject_reason>(i)) != "unknown");
    }
    for (int t = 1; t <= 6; ++t) {
        BOOST_TEST(net::to_string(static_cast<message_type>(t)) != "unknown");
    }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(benchmark_decode_and_verify_of_pulse_responses) {
    net::codec c{cluster_key};
    net::replay_guard guard;
    constexpr int n = 100'000;
    std::vector<bytes> datagrams;
    datagrams.reserve(n);
    for (int i = 0; i < n; ++i) {
        const std::string name = "worker-" + std::to_string(i % 1000);
        datagrams.push_back(encode(c, header(message_type::pulse_response, 1 + i / 1000, name),
                                   pulse_response_payload(i, i % 1000 + 1, 1)));
    }
    const auto start = std::chrono::steady_clock::now();
    std::size_t accepted = 0;
    for (const auto& d : datagrams) {
        auto m = c.decode(d);
        if (m && !guard.check(*m) && net::parse_pulse_response(m->payload)) {
            accepted += guard.accept(*m) ? 1 : 0;
        }
    }
    const auto ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start);
    BOOST_TEST(accepted == static_cast<std::size_t>(n));
    BOOST_TEST_MESSAGE("decode + verify + replay check + accept of "
                       << n << " pulse responses (1000 senders): " << ns.count() / n << " ns/msg");
}
