#define BOOST_TEST_MODULE net_payloads_test
#include "net/payloads.hpp"

#include <boost/test/unit_test.hpp>

#include "net/message.hpp"

namespace net = mtce::net;
namespace f = net::alive_flags;

namespace {

std::span<const std::byte> bytes(const std::string& s) {
    return std::as_bytes(std::span{s.data(), s.size()});
}

}  // namespace

BOOST_AUTO_TEST_CASE(health_follows_the_flags) {
    BOOST_TEST(net::health_of(f::configured) == 0);
    BOOST_TEST(net::health_of(f::configured | f::healthy) == 1);
    BOOST_TEST(net::health_of(f::configured | f::not_healthy) == 2);
    BOOST_TEST(net::health_of(f::healthy | f::not_healthy) == 2);
}

BOOST_AUTO_TEST_CASE(an_mtcalive_report_survives_the_round_trip) {
    net::alive_report r;
    r.hostname = "controller-0";
    r.personality = "controller";
    r.functions = {"controller", "worker"};
    r.mgmt_ip = "192.168.204.2";
    r.boot_id = "a\"b";
    r.uptime_s = 42;
    r.flags = f::configured | f::healthy | f::main_services_started;
    r.failure = "goenabled: '20-memory' exited with status 1";
    const auto text = net::to_json(r);
    BOOST_TEST(text.find(R"("health":1)") != std::string::npos);
    const auto back = net::parse_alive(bytes(text));
    BOOST_REQUIRE(back.has_value());
    BOOST_TEST(back->hostname == r.hostname);
    BOOST_TEST(back->personality == r.personality);
    BOOST_TEST(back->functions == r.functions);
    BOOST_TEST(back->mgmt_ip == r.mgmt_ip);
    BOOST_TEST(back->cluster_ip.empty());
    BOOST_TEST(back->boot_id == r.boot_id);
    BOOST_TEST(back->uptime_s == 42U);
    BOOST_TEST(back->flags == r.flags);
    BOOST_TEST(back->failure == r.failure);
}

BOOST_AUTO_TEST_CASE(a_long_failure_text_is_cut_so_the_report_fits_a_datagram) {
    net::alive_report r;
    r.hostname = "worker-0";
    r.personality = "worker";
    r.functions = {"worker"};
    r.boot_id = std::string(300, 'b');
    r.failure = std::string(5000, 'x');
    const auto text = net::to_json(r);
    BOOST_TEST(text.size() <= net::max_payload_size);
    const auto back = net::parse_alive(bytes(text));
    BOOST_REQUIRE(back.has_value());
    BOOST_TEST(back->failure.size() == net::max_failure_text);
}

BOOST_AUTO_TEST_CASE(a_received_text_over_512_bytes_is_cut_between_characters) {
    // A peer that does not cut its own text: 511 ASCII bytes, then two-byte characters across the limit.
    std::string failure(511, 'x');
    for (int i = 0; i < 10; ++i) {
        failure += "\xc3\xa9";  // é
    }
    const std::string text =
        std::string{R"({"hostname":"w","personality":"worker","subfunctions":["worker"],)"} +
        R"("boot_id":"b","uptime_s":1,"flags":0,"failure":")" + failure + "\"}";
    const auto back = net::parse_alive(bytes(text));
    BOOST_REQUIRE(back.has_value());
    BOOST_TEST(back->failure == std::string(511, 'x'));  // not 511 bytes and half an é
}

BOOST_AUTO_TEST_CASE(mtcalive_reports_with_missing_or_mistyped_fields_are_refused) {
    BOOST_TEST(!net::parse_alive(bytes("not json")).has_value());
    BOOST_TEST(!net::parse_alive(bytes("[1,2]")).has_value());
    BOOST_TEST(!net::parse_alive(bytes(R"({"hostname":"w","personality":"worker","subfunctions":["worker"],)"
                                       R"("boot_id":"b","uptime_s":-1,"flags":0})"))
                    .has_value());
    BOOST_TEST(!net::parse_alive(bytes(R"({"hostname":"w","personality":"worker","subfunctions":"worker",)"
                                       R"("boot_id":"b","uptime_s":1,"flags":0})"))
                    .has_value());
    BOOST_TEST(!net::parse_alive(bytes(R"({"hostname":"w","personality":"worker","subfunctions":["worker"],)"
                                       R"("uptime_s":1,"flags":0})"))
                    .has_value());
    BOOST_TEST(net::parse_alive(bytes(R"({"hostname":"w","personality":"worker","subfunctions":["worker"],)"
                                      R"("boot_id":"b","uptime_s":1,"flags":0,"from_the_future":true})"))
                   .has_value());
}

BOOST_AUTO_TEST_CASE(commands_survive_the_round_trip) {
    constexpr std::uint64_t nonce = 0xfedcba9876543210ULL;  // above 2^63: JSON carries all 64 bits
    for (const auto& c : {net::command{net::command_kind::lock, 7, 0, false, "worker-0", 1, nonce},
                          net::command{net::command_kind::reboot, 8, 15, false, "Worker-1", 2, nonce},
                          net::command{net::command_kind::goenabled, 9, 0, true, "controller-0", 3, 1},
                          net::command{net::command_kind::goenabled, 10, 0, false, "storage-0", 4, 2},
                          net::command{net::command_kind::mtcalive, 11, 0, false, "w", 5, 3}}) {
        const auto back = net::parse_command(bytes(net::to_json(c)));
        BOOST_REQUIRE(back.has_value());
        BOOST_TEST(static_cast<int>(back->kind) == static_cast<int>(c.kind));
        BOOST_TEST(back->id == c.id);
        BOOST_TEST(back->delay_s == c.delay_s);
        BOOST_TEST(back->subfunction == c.subfunction);
        BOOST_TEST(back->target == c.target);
        BOOST_TEST(back->epoch == c.epoch);
        BOOST_TEST(back->nonce == c.nonce);
    }
}

BOOST_AUTO_TEST_CASE(a_command_without_its_host_epoch_or_nonce_is_refused_with_its_name_and_id) {
    for (const auto* text : {R"({"command":"reboot","id":3,"epoch":1,"nonce":2})",
                             R"({"command":"reboot","id":3,"host":"worker-0","nonce":2})",
                             R"({"command":"reboot","id":3,"host":"worker-0","epoch":1})",
                             R"({"command":"reboot","id":3,"host":7,"epoch":1,"nonce":2})",
                             R"({"command":"reboot","id":3,"host":"worker-0","epoch":-1,"nonce":2})"}) {
        const auto r = net::parse_command(bytes(text));
        BOOST_REQUIRE(!r.has_value());
        BOOST_TEST(r.error().name == "reboot");
        BOOST_REQUIRE(r.error().id.has_value());
        BOOST_TEST(*r.error().id == 3U);
    }
    const auto r = net::parse_command(bytes(R"({"command":"reboot","id":3,"host":"worker-0","nonce":9})"));
    BOOST_REQUIRE(!r.has_value());
    BOOST_TEST(r.error().nonce == 9U);  // the refusal echoes it
}

BOOST_AUTO_TEST_CASE(an_unsupported_command_keeps_its_name_and_id_for_the_ack) {
    const auto r = net::parse_command(bytes(R"({"command":"format-disk","id":12})"));
    BOOST_REQUIRE(!r.has_value());
    BOOST_TEST(r.error().name == "format-disk");
    BOOST_REQUIRE(r.error().id.has_value());
    BOOST_TEST(*r.error().id == 12U);
    BOOST_TEST(r.error().reason.find("unsupported") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(commands_without_an_id_or_with_bad_arguments_are_refused) {
    BOOST_TEST(!net::parse_command(bytes(R"({"command":"lock"})")).has_value());
    BOOST_TEST(!net::parse_command(bytes(R"({"command":"lock","id":"7"})")).has_value());
    BOOST_TEST(!net::parse_command(bytes(R"({"command":"goenabled","id":7,"function":"both"})")).has_value());
    BOOST_TEST(!net::parse_command(bytes(R"({"command":"reboot","id":7,"delay_s":-3})")).has_value());
    BOOST_TEST(!net::parse_command(bytes(R"({"command":7,"id":7})")).has_value());
}

BOOST_AUTO_TEST_CASE(acks_and_results_survive_the_round_trip) {
    const auto ack = net::parse_command_ack(bytes(net::to_json(net::command_ack{"reboot", 5, "", 77})));
    BOOST_REQUIRE(ack.has_value());
    BOOST_TEST(ack->name == "reboot");
    BOOST_TEST(ack->id == 5U);
    BOOST_TEST(ack->error.empty());
    BOOST_TEST(ack->nonce == 77U);
    const auto refused =
        net::parse_command_ack(bytes(net::to_json(net::command_ack{"x", 6, "unsupported", 78})));
    BOOST_REQUIRE(refused.has_value());
    BOOST_TEST(refused->error == "unsupported");

    const auto result = net::parse_command_result(
        bytes(net::to_json(net::command_result{"lock", 9, false, "stop failed", 79})));
    BOOST_REQUIRE(result.has_value());
    BOOST_TEST(result->nonce == 79U);
    BOOST_TEST(result->name == "lock");
    BOOST_TEST(result->id == 9U);
    BOOST_TEST(!result->ok);
    BOOST_TEST(result->reason == "stop failed");
    BOOST_TEST(
        !net::parse_command_result(bytes(R"({"command":"lock","id":9,"ok":"yes","nonce":1})")).has_value());
    // Version 2: an ack or a result without the nonce answers nothing.
    BOOST_TEST(!net::parse_command_ack(bytes(R"({"command":"lock","id":9})")).has_value());
    BOOST_TEST(!net::parse_command_result(bytes(R"({"command":"lock","id":9,"ok":true})")).has_value());
}

BOOST_AUTO_TEST_CASE(an_mtcalive_report_carries_the_agents_drop_counts) {
    net::alive_report r;
    r.hostname = "worker-0";
    r.personality = "worker";
    r.functions = {"worker"};
    r.boot_id = "b";
    BOOST_TEST(net::to_json(r).find("drops") == std::string::npos);  // none: left out
    r.drops = {{"bad_mac", 3}, {"replay", 1}};
    const auto text = net::to_json(r);
    BOOST_TEST(text.find(R"("drops":{"bad_mac":3,"replay":1})") != std::string::npos);
    const auto back = net::parse_alive(bytes(text));
    BOOST_REQUIRE(back.has_value());
    BOOST_TEST((back->drops == r.drops));
}

BOOST_AUTO_TEST_CASE(drop_counts_that_would_not_fit_are_left_out_smallest_first) {
    net::alive_report r;
    r.hostname = std::string(63, 'h');
    r.personality = std::string(32, 'p');
    r.functions = std::vector<std::string>(8, std::string(32, 'f'));
    r.mgmt_ip = std::string(64, 'm');
    r.cluster_ip = std::string(64, 'c');
    r.boot_id = std::string(128, 'b');
    r.uptime_s = 18446744073709551615ULL;
    r.flags = 4294967295U;
    r.failure = std::string(5000, 'x');
    for (std::uint64_t i = 0; i < 20; ++i) {
        r.drops[std::string(31, 'a') + static_cast<char>('a' + i)] = 18446744073709551615ULL - i;
    }
    const auto text = net::to_json(r);
    BOOST_TEST(text.size() <= net::max_payload_size);
    const auto back = net::parse_alive(bytes(text));
    BOOST_REQUIRE(back.has_value());
    BOOST_TEST(back->drops.size() < 16u);
    BOOST_TEST(back->drops.count(std::string(31, 'a') + 'a') == 1u);  // the largest count is kept
}

BOOST_AUTO_TEST_CASE(mtcalive_drops_that_are_not_counts_are_refused) {
    const std::string head = R"({"hostname":"w","personality":"worker","subfunctions":["worker"],)"
                             R"("boot_id":"b","uptime_s":1,"flags":0,)";
    BOOST_TEST(net::parse_alive(bytes(head + R"("drops":{"bad_mac":2}})")).has_value());
    BOOST_TEST(!net::parse_alive(bytes(head + R"("drops":[1]})")).has_value());
    BOOST_TEST(!net::parse_alive(bytes(head + R"("drops":{"bad_mac":-1}})")).has_value());
    BOOST_TEST(!net::parse_alive(bytes(head + R"("drops":{"bad_mac":"x"}})")).has_value());
}
