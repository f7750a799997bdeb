#define BOOST_TEST_MODULE heartbeat_monitor_test
#include "heartbeat/monitor.hpp"

#include <boost/test/unit_test.hpp>

#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/udp.hpp>
#include <asio/use_future.hpp>
#include <fmt/format.h>

using namespace std::chrono_literals;
using mtce::heartbeat::hb_event;
using mtce::heartbeat::hb_event_kind;
using mtce::heartbeat::hb_state;
using mtce::heartbeat::monitor;
using mtce::heartbeat::network;
using mtce::net::reject_reason;

namespace {

const std::string key = "0123456789abcdef0123456789abcdef";
const std::string other_key = "fedcba9876543210fedcba9876543210";
/// The fixture's monitor's nonce, echoed by the fake hosts.
constexpr std::uint64_t run_nonce = 0x0123456789abcdefULL;

std::span<const std::byte> bytes(const std::string& s) {
    return std::as_bytes(std::span{s.data(), s.size()});
}

mtce::net::boot_identity boot(const std::string& text) {
    return {text, mtce::net::parse_boot_id(text), 1000};
}

/// A simulated host: answers a decoded request the way a real one does.
struct fake_host {
    mtce::net::wire_sender wire;
    std::array<std::byte, mtce::net::max_datagram_size> buf{};

    explicit fake_host(const std::string& name, const std::string& k = key)
        : wire{bytes(k), name, boot(name + "-boot"), /*first_sequence=*/1} {}

    std::span<const std::byte> reply(std::uint64_t period, std::uint32_t index,
                                     std::uint64_t nonce = run_nonce) {
        std::array<std::byte, mtce::net::pulse_response_size> payload{};
        const auto n = mtce::net::encode_payload(mtce::net::pulse_response{period, nonce, index, 1}, payload);
        return wire.encode(mtce::net::message_type::pulse_response, std::span{payload}.first(*n), buf);
    }
};

struct fixture {
    mtce::heartbeat_config hb;
    mtce::net::wire_sender controller{bytes(key), "controller-0", boot("controller-boot"),
                                      /*first_sequence=*/1};
    mtce::net::codec reader{bytes(key)};
    std::unique_ptr<monitor> m;
    std::vector<std::pair<std::string, hb_event>> events;
    std::vector<std::pair<std::uint64_t, std::size_t>> calls;  // per listener call: period, events
    monitor::time_point t{};
    std::array<std::byte, mtce::net::max_datagram_size> out{};

    explicit fixture(std::array<bool, 2> nets = {true, true}) {
        m = std::make_unique<monitor>(hb, controller, nets, run_nonce);
        m->on_period([this](std::uint64_t period, std::span<const mtce::heartbeat::host_event> batch) {
            calls.emplace_back(period, batch.size());
            for (const auto& e : batch) {
                events.emplace_back(std::string{e.host}, e.event);
            }
        });
    }

    std::uint32_t add(const std::string& name, const std::string& mgmt, const std::string& cluster = "") {
        return m->add_host({name, mtce::role::worker, mgmt, cluster, 0});
    }

    /// One whole period in which `answer` is called between the request and the period's end.
    template <class F>
    void period(F&& answer) {
        m->begin_period(t);
        answer(m->period());
        t += 100ms;
        m->end_period(t);
    }
    void silent_periods(int n) {
        for (int i = 0; i < n; ++i) {
            period([](std::uint64_t) {});
        }
    }

    mtce::net::pulse_request decode_request(std::span<const std::byte> datagram) {
        auto msg = reader.decode(datagram);
        BOOST_TEST_REQUIRE(msg.has_value());
        BOOST_TEST((msg->type == mtce::net::message_type::pulse_request));
        BOOST_TEST(msg->sender == "controller-0");
        auto r = mtce::net::parse_pulse_request(msg->payload);
        BOOST_TEST_REQUIRE(r.has_value());
        return *r;
    }

    std::uint64_t accepted() const { return m->ledger().responses().accepted; }
};

}  // namespace

BOOST_AUTO_TEST_CASE(a_unicast_request_carries_the_period_and_the_hosts_slot_plus_one) {
    fixture f;
    f.add("worker-0", "10.0.0.10");
    const auto slot = f.add("worker-1", "10.0.0.11");
    f.m->begin_period(f.t);
    const auto r = f.decode_request(f.m->unicast_request(network::mgmt, slot, f.out));
    BOOST_TEST(r.period == 1U);
    BOOST_TEST(r.nonce == run_nonce);
    BOOST_TEST(r.host_index == slot + 1);
    BOOST_TEST(r.target.empty());
    BOOST_TEST(f.m->counters(network::mgmt).requests_sent == 1U);
}

BOOST_AUTO_TEST_CASE(a_reply_to_an_earlier_run_of_the_controller_is_dropped_as_wrong_nonce) {
    // The controller restarted: its period numbers start again at 1 and its replay tables are new, so a
    // captured reply of the same period number is fresh to them. Only the nonce tells it apart.
    fixture f;
    const auto slot = f.add("worker-0", "10.0.0.10");
    fake_host h{"worker-0"};
    constexpr std::uint64_t earlier_run = 0x0badc0ffee0ddf00ULL;
    for (int i = 0; i < 12; ++i) {
        f.period(
            [&](std::uint64_t p) { f.m->on_datagram(network::mgmt, h.reply(p, slot + 1, earlier_run)); });
    }
    BOOST_TEST(f.m->counters(network::mgmt).rejected.count(reject_reason::wrong_nonce) == 12U);
    BOOST_TEST(f.m->counters(network::mgmt).replies == 0U);
    BOOST_TEST(f.accepted() == 0U);
    // Twelve silent periods: the host is lost, as it should be.
    const auto status = f.m->find("worker-0")->status[0];
    BOOST_TEST((status.state == hb_state::failed));
}

BOOST_AUTO_TEST_CASE(every_monitor_draws_its_own_nonce) {
    mtce::heartbeat_config hb;
    mtce::net::wire_sender w{bytes(key), "controller-0", boot("controller-boot"), /*first_sequence=*/1};
    const monitor a{hb, w, {true, false}};
    const monitor b{hb, w, {true, false}};
    BOOST_TEST(a.nonce() != b.nonce());
}

BOOST_AUTO_TEST_CASE(an_authenticated_reply_with_the_echoed_index_counts_as_an_answer) {
    fixture f;
    const auto slot = f.add("worker-0", "10.0.0.10", "10.1.0.10");
    fake_host h{"worker-0"};
    f.period([&](std::uint64_t p) {
        f.m->on_datagram(network::mgmt, h.reply(p, slot + 1));
        f.m->on_datagram(network::cluster, h.reply(p, slot + 1));
    });
    BOOST_TEST(f.accepted() == 2U);
    BOOST_TEST(f.m->counters(network::mgmt).replies == 1U);
    BOOST_TEST(f.m->find("worker-0")->status[0].misses == 0U);
    BOOST_TEST(f.events.empty());
}

BOOST_AUTO_TEST_CASE(ten_silent_periods_lose_the_host_on_each_network_it_is_on) {
    fixture f;
    f.add("worker-0", "10.0.0.10", "10.1.0.10");
    f.silent_periods(9);
    BOOST_TEST((f.m->find("worker-0")->status[0].state == hb_state::degraded));
    f.silent_periods(1);
    const auto v = f.m->find("worker-0");
    BOOST_TEST((v->status[0].state == hb_state::failed));
    BOOST_TEST((v->status[1].state == hb_state::failed));
    const auto losses = std::count_if(f.events.begin(), f.events.end(), [](const auto& e) {
        return e.first == "worker-0" && e.second.kind == hb_event_kind::loss;
    });
    BOOST_TEST(losses == 2);
    BOOST_TEST(f.m->counters(network::cluster).events[static_cast<std::size_t>(hb_event_kind::loss)] == 1U);
}

BOOST_AUTO_TEST_CASE(a_host_without_a_cluster_address_is_not_asked_on_the_cluster_network) {
    fixture f;
    f.add("worker-0", "10.0.0.10");
    f.add("worker-1", "10.0.0.11", "10.1.0.11");
    BOOST_TEST(f.m->targets(network::mgmt).size() == 2U);
    BOOST_TEST(f.m->targets(network::cluster).size() == 1U);
    f.silent_periods(10);
    BOOST_TEST((f.m->find("worker-0")->status[1].state == hb_state::unmonitored));
}

BOOST_AUTO_TEST_CASE(a_controller_without_a_cluster_address_monitors_nobody_there) {
    fixture f{{true, false}};
    f.add("worker-0", "10.0.0.10", "10.1.0.10");
    BOOST_TEST(f.m->targets(network::cluster).empty());
    BOOST_TEST(!f.m->on_network(network::cluster));
}

BOOST_AUTO_TEST_CASE(a_reply_signed_with_another_key_is_dropped_as_bad_mac_and_changes_nothing) {
    fixture f;
    const auto slot = f.add("worker-0", "10.0.0.10");
    fake_host forger{"worker-0", other_key};
    f.period([&](std::uint64_t p) { f.m->on_datagram(network::mgmt, forger.reply(p, slot + 1)); });
    BOOST_TEST(f.m->counters(network::mgmt).rejected.count(reject_reason::bad_mac) == 1U);
    BOOST_TEST(f.accepted() == 0U);
    BOOST_TEST(f.m->find("worker-0")->status[0].misses == 1U);
}

BOOST_AUTO_TEST_CASE(a_replayed_reply_is_dropped_and_does_not_answer_a_later_period) {
    fixture f;
    const auto slot = f.add("worker-0", "10.0.0.10");
    fake_host h{"worker-0"};
    std::vector<std::byte> captured;
    f.period([&](std::uint64_t p) {
        const auto d = h.reply(p + 1, slot + 1);  // an answer for the next period, captured on the wire
        captured.assign(d.begin(), d.end());
        f.m->on_datagram(network::mgmt, h.reply(p, slot + 1));
    });
    f.period([&](std::uint64_t) { f.m->on_datagram(network::mgmt, captured); });
    BOOST_TEST(f.m->counters(network::mgmt).rejected.count(reject_reason::replay) == 1U);
    BOOST_TEST(f.accepted() == 1U);
    BOOST_TEST(f.m->find("worker-0")->status[0].misses == 1U);
}

BOOST_AUTO_TEST_CASE(a_reply_from_a_host_not_monitored_is_dropped_as_unknown_sender) {
    fixture f;
    f.add("worker-0", "10.0.0.10");
    fake_host stranger{"intruder"};
    f.period([&](std::uint64_t p) { f.m->on_datagram(network::mgmt, stranger.reply(p, 1)); });
    BOOST_TEST(f.m->counters(network::mgmt).rejected.count(reject_reason::unknown_sender) == 1U);
    BOOST_TEST(f.accepted() == 0U);
    BOOST_TEST(f.m->find("worker-0")->status[0].misses == 1U);
}

BOOST_AUTO_TEST_CASE(short_garbage_and_non_responses_are_counted_by_reason) {
    fixture f;
    f.add("worker-0", "10.0.0.10");
    const std::vector<std::byte> garbage(20, std::byte{0x41});
    f.m->on_datagram(network::mgmt, garbage);
    std::vector<std::byte> big(mtce::net::max_datagram_size + 1, std::byte{0});
    f.m->on_datagram(network::mgmt, big);
    f.m->begin_period(f.t);
    const auto request = f.m->unicast_request(network::mgmt, 0, f.out);  // our own request, reflected
    const std::vector<std::byte> reflected(request.begin(), request.end());
    f.m->on_datagram(network::mgmt, reflected);
    const auto& c = f.m->counters(network::mgmt);
    BOOST_TEST(c.rejected.count(reject_reason::short_datagram) == 1U);
    BOOST_TEST(c.rejected.count(reject_reason::oversized) == 1U);
    BOOST_TEST(c.not_a_response == 1U);
    BOOST_TEST(c.dropped() == 3U);
    BOOST_TEST(f.accepted() == 0U);
}

BOOST_AUTO_TEST_CASE(a_reply_echoing_another_hosts_index_is_matched_by_name_and_that_host_is_taught) {
    fixture f;
    const auto a = f.add("worker-0", "10.0.0.10");
    const auto b = f.add("worker-1", "10.0.0.11");
    fake_host hb{"worker-1"};
    f.period([&](std::uint64_t p) { f.m->on_datagram(network::mgmt, hb.reply(p, a + 1)); });
    BOOST_TEST(f.m->find("worker-1")->status[0].misses == 0U);
    BOOST_TEST(f.m->find("worker-0")->status[0].misses == 1U);
    f.m->begin_period(f.t);
    const auto r = f.decode_request(f.m->multicast_request(network::mgmt, f.out));
    BOOST_TEST(r.target == "worker-1");
    BOOST_TEST(r.host_index == b + 1);
    // Taught once: the next request teaches nobody.
    const auto next = f.decode_request(f.m->multicast_request(network::mgmt, f.out));
    BOOST_TEST(next.target.empty());
    BOOST_TEST(next.host_index == 0U);
}

/// What a multicast request teaches: name -> index, from its target and its list.
std::map<std::string, std::uint32_t> taught_by(const mtce::net::pulse_request& r) {
    std::map<std::string, std::uint32_t> out;
    if (r.host_index != 0) {
        out.emplace(std::string{r.target}, r.host_index);
    }
    auto list = r.teachings;
    while (const auto t = mtce::net::next_teaching(list)) {
        out.emplace(std::string{t->name}, t->host_index);
    }
    BOOST_TEST(list.empty());
    return out;
}

BOOST_AUTO_TEST_CASE(a_multicast_request_teaches_as_many_hosts_as_one_datagram_holds) {
    fixture f;
    std::vector<fake_host> hosts;
    std::map<std::string, std::uint32_t> slots;
    for (int i = 0; i < 200; ++i) {
        const auto name = fmt::format("worker-{:03}", i);
        slots[name] = f.add(name, fmt::format("10.0.{}.{}", i / 250, i % 250 + 1));
        hosts.emplace_back(name);
    }
    // Nobody knows its index yet: every reply echoes 0, and each is found by name.
    f.period([&](std::uint64_t p) {
        for (auto& h : hosts) {
            f.m->on_datagram(network::mgmt, h.reply(p, 0));
        }
    });
    BOOST_TEST(f.accepted() == 200U);
    std::map<std::string, std::uint32_t> taught;
    std::vector<std::size_t> per_request;
    for (int i = 0; i < 4; ++i) {
        f.m->begin_period(f.t);
        const auto r = f.decode_request(f.m->multicast_request(network::mgmt, f.out));
        const auto batch = taught_by(r);
        per_request.push_back(batch.size());
        for (const auto& [name, index] : batch) {
            BOOST_TEST(index == slots.at(name) + 1, name);
            BOOST_TEST(taught.emplace(name, index).second, name << " taught twice");
        }
        // Not taught on the cluster network: the queues are per network.
        BOOST_TEST(taught_by(f.decode_request(f.m->multicast_request(network::cluster, f.out))).empty());
        f.t += 100ms;
        f.m->end_period(f.t);
    }
    // 200 names of 10 characters at 15 bytes each: 78 in the list plus the target per datagram.
    BOOST_TEST(per_request == (std::vector<std::size_t>{79, 79, 42, 0}));
    BOOST_TEST(taught.size() == 200U);
}

BOOST_AUTO_TEST_CASE(a_host_that_keeps_echoing_a_wrong_index_is_taught_again_after_1_2_4_periods) {
    fixture f;
    const auto slot = f.add("worker-0", "10.0.0.10");
    fake_host h{"worker-0"};
    std::vector<std::uint64_t> teaching_periods;
    for (int i = 0; i < 12; ++i) {
        f.m->begin_period(f.t);
        const auto r = f.decode_request(f.m->multicast_request(network::mgmt, f.out));
        if (!taught_by(r).empty()) {
            BOOST_TEST(r.target == "worker-0");
            BOOST_TEST(r.host_index == slot + 1);
            teaching_periods.push_back(f.m->period());
        }
        f.m->on_datagram(network::mgmt, h.reply(f.m->period(), 0));  // the teaching never arrives
        f.t += 100ms;
        f.m->end_period(f.t);
    }
    // Queued by the reply of period 1; then the reply to the teaching period itself does not count, and the
    // waits double.
    BOOST_TEST(teaching_periods == (std::vector<std::uint64_t>{2, 4, 7, 12}));
    // Once it echoes the right index, nothing more is taught, and the count starts afresh.
    f.m->begin_period(f.t);
    (void)f.m->multicast_request(network::mgmt, f.out);
    f.m->on_datagram(network::mgmt, h.reply(f.m->period(), slot + 1));
    f.t += 100ms;
    f.m->end_period(f.t);
    f.m->begin_period(f.t);
    BOOST_TEST(taught_by(f.decode_request(f.m->multicast_request(network::mgmt, f.out))).empty());
}

BOOST_AUTO_TEST_CASE(a_replay_is_judged_per_host_and_network_and_a_returning_name_starts_afresh) {
    fixture f;
    const auto slot = f.add("worker-0", "10.0.0.10", "10.1.0.10");
    fake_host h{"worker-0"};
    std::vector<std::byte> mgmt_reply;
    f.period([&](std::uint64_t p) {
        const auto d = h.reply(p, slot + 1);
        mgmt_reply.assign(d.begin(), d.end());
        // A host has one sequence for both networks: the later one arrives first on cluster, and the earlier
        // one is still fresh on mgmt.
        f.m->on_datagram(network::cluster, h.reply(p, slot + 1));
        f.m->on_datagram(network::mgmt, mgmt_reply);
    });
    BOOST_TEST(f.accepted() == 2U);
    f.period([&](std::uint64_t) { f.m->on_datagram(network::mgmt, mgmt_reply); });
    BOOST_TEST(f.m->counters(network::mgmt).rejected.count(reject_reason::replay) == 1U);
    // Removed and added again (reinstalled): what was known of the old one is gone.
    BOOST_TEST(f.m->remove_host("worker-0"));
    const auto again = f.add("worker-0", "10.0.0.10");
    BOOST_TEST(again == slot);
    f.period([&](std::uint64_t) { f.m->on_datagram(network::mgmt, mgmt_reply); });
    BOOST_TEST(f.m->counters(network::mgmt).rejected.count(reject_reason::replay) == 1U);
    BOOST_TEST(f.m->ledger().responses().wrong_period == 1U);  // fresh, but for an earlier period
}

BOOST_AUTO_TEST_CASE(a_reply_for_an_earlier_period_is_a_miss) {
    fixture f;
    const auto slot = f.add("worker-0", "10.0.0.10");
    fake_host h{"worker-0"};
    f.period([&](std::uint64_t p) { f.m->on_datagram(network::mgmt, h.reply(p - 1, slot + 1)); });
    BOOST_TEST(f.m->ledger().responses().wrong_period == 1U);
    BOOST_TEST(f.m->find("worker-0")->status[0].misses == 1U);
}

BOOST_AUTO_TEST_CASE(a_period_closed_late_counts_no_misses) {
    fixture f;
    f.add("worker-0", "10.0.0.10");
    f.m->begin_period(f.t);
    f.t += 250ms;  // the controller's timer fired 150 ms late
    const auto s = f.m->end_period(f.t);
    BOOST_TEST(s.voided);
    BOOST_TEST(f.m->ledger().late_periods() == 1U);
    BOOST_TEST(f.m->find("worker-0")->status[0].misses == 0U);
}

BOOST_AUTO_TEST_CASE(a_removed_host_is_forgotten_and_its_name_can_return) {
    fixture f;
    f.add("worker-0", "10.0.0.10");
    f.silent_periods(3);
    BOOST_TEST(f.m->remove_host("worker-0"));
    BOOST_TEST(!f.m->find("worker-0"));
    BOOST_TEST(f.m->targets(network::mgmt).empty());
    BOOST_TEST(!f.m->remove_host("worker-0"));
    f.add("worker-0", "10.0.0.10");
    BOOST_TEST(f.m->find("worker-0")->status[0].misses == 0U);
}

BOOST_AUTO_TEST_CASE(targets_stay_in_slot_order_when_a_freed_slot_is_reused) {
    fixture f;
    f.add("worker-0", "10.0.0.10");
    f.add("worker-1", "10.0.0.11", "10.1.0.11");
    f.add("worker-2", "10.0.0.12");
    BOOST_TEST(f.m->remove_host("worker-1"));
    const auto reused = f.add("worker-3", "10.0.0.13", "10.1.0.13");
    BOOST_TEST(reused == 1U);
    BOOST_TEST(f.m->targets(network::mgmt) == (std::vector<std::uint32_t>{0, 1, 2}));
    BOOST_TEST(f.m->targets(network::cluster) == (std::vector<std::uint32_t>{1}));
    f.add("worker-4", "10.0.0.14", "10.1.0.14");
    BOOST_TEST(f.m->targets(network::cluster) == (std::vector<std::uint32_t>{1, 3}));
}

BOOST_AUTO_TEST_CASE(a_duplicate_or_invalid_host_is_refused) {
    fixture f;
    f.add("worker-0", "10.0.0.10");
    BOOST_CHECK_THROW(f.add("worker-0", "10.0.0.11"), std::invalid_argument);
    BOOST_CHECK_THROW(f.add("bad name", "10.0.0.12"), std::invalid_argument);
    BOOST_CHECK_THROW(f.add("worker-2", "not-an-ip"), std::invalid_argument);
    BOOST_TEST(f.m->hosts().size() == 1U);
}

BOOST_AUTO_TEST_CASE(all_events_of_a_period_arrive_in_one_call_and_a_quiet_period_gives_an_empty_one) {
    fixture f;
    f.add("worker-0", "10.0.0.10", "10.1.0.10");
    f.add("worker-1", "10.0.0.11");
    f.silent_periods(3);
    using call = std::pair<std::uint64_t, std::size_t>;
    BOOST_TEST((f.calls == std::vector<call>{{1, 0}, {2, 0}, {3, 0}}));
    f.silent_periods(1);  // the fourth miss: minor on mgmt for both hosts
    BOOST_TEST_REQUIRE(f.calls.size() == 4U);
    BOOST_TEST((f.calls[3] == call{4, 2}));
    BOOST_TEST_REQUIRE(f.events.size() == 2U);
    BOOST_TEST(f.events[0].first == "worker-0");
    BOOST_TEST(f.events[1].first == "worker-1");
    BOOST_TEST((f.events[1].second.kind == hb_event_kind::minor_set));
    f.m->end_period(f.t);  // no period open: nothing to hand over
    BOOST_TEST(f.calls.size() == 4U);
}

BOOST_AUTO_TEST_CASE(a_late_period_is_handed_over_too_with_no_miss_events) {
    fixture f;
    f.add("worker-0", "10.0.0.10");
    f.silent_periods(3);
    f.m->begin_period(f.t);
    f.t += 250ms;  // the fourth miss would raise minor, but the period is void
    BOOST_TEST(f.m->end_period(f.t).voided);
    BOOST_TEST_REQUIRE(f.calls.size() == 4U);
    BOOST_TEST((f.calls[3] == std::pair<std::uint64_t, std::size_t>{4, 0}));
}

BOOST_AUTO_TEST_CASE(the_names_in_a_batch_outlive_hosts_the_listener_removes) {
    fixture f;
    f.add("worker-0", "10.0.0.10");
    f.add("worker-1", "10.0.0.11");
    std::vector<std::string> seen;
    f.m->on_period([&](std::uint64_t, std::span<const mtce::heartbeat::host_event> batch) {
        for (const auto& e : batch) {
            seen.emplace_back(e.host);
            (void)f.m->remove_host(e.host == "worker-0" ? "worker-1" : "worker-0");
        }
    });
    f.silent_periods(4);
    BOOST_TEST((seen == std::vector<std::string>{"worker-0", "worker-1"}));
}

// ---- run_monitor: the period loop on loopback sockets ----

namespace {

/// run_monitor on 127.0.0.1, unicast, heartbeating one host that never answers (a socket that only
/// receives). The configuration file the store reloads from is `file`, in a fresh directory.
struct loopback_heartbeat {
    asio::io_context io;
    mtce::task_set tasks{io.get_executor()};
    asio::ip::udp::socket silent_host{io, {asio::ip::make_address("127.0.0.1"), 0}};
    std::filesystem::path dir;
    std::filesystem::path file;
    std::unique_ptr<mtce::config_store> store;
    mtce::net::wire_sender controller{bytes(key), "controller-0", boot("controller-boot"),
                                      /*first_sequence=*/1};
    std::unique_ptr<monitor> m;

    loopback_heartbeat() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "mtce-monitor-test.XXXXXX").string();
        BOOST_TEST_REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
        dir = tmpl;
        file = dir / "mtce.toml";
        mtce::config cfg;
        cfg.mgmt.address = "127.0.0.1";
        cfg.mgmt.pulse_port = silent_host.local_endpoint().port();
        cfg.mgmt.pulse_reply_port = 0;  // any free port
        cfg.heartbeat.mode = mtce::heartbeat_mode::unicast;
        cfg.heartbeat.period_ms = 20;
        m = std::make_unique<monitor>(cfg.heartbeat, controller, std::array<bool, 2>{true, false});
        m->add_host({"worker-0", mtce::role::worker, "127.0.0.1", "", 0});
        store = std::make_unique<mtce::config_store>(file, mtce::role::worker, std::move(cfg));
    }
    ~loopback_heartbeat() {
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
    }
    loopback_heartbeat(const loopback_heartbeat&) = delete;
    loopback_heartbeat& operator=(const loopback_heartbeat&) = delete;

    std::future<void> start() {
        return asio::co_spawn(io, mtce::heartbeat::run_monitor(*m, *store, tasks), asio::use_future);
    }

    /// Runs the monitor for at most `limit`; whether it ended by itself (if not, it is stopped).
    bool ends_within(std::future<void>& done, std::chrono::milliseconds limit) {
        io.run_for(limit);
        const bool ended = done.wait_for(std::chrono::seconds{0}) == std::future_status::ready;
        if (!ended) {
            tasks.request_stop();
            io.run_for(std::chrono::seconds{2});
        }
        return ended;
    }
};

}  // namespace

BOOST_AUTO_TEST_CASE(a_failure_in_the_period_loop_ends_the_heartbeat_at_once_with_its_error) {
    loopback_heartbeat h;
    h.m->on_period([](std::uint64_t, std::span<const mtce::heartbeat::host_event>) {
        throw std::runtime_error{"listener failed"};
    });
    auto done = h.start();
    // The first period's end throws; the receive loops would run until the daemon stops.
    BOOST_TEST_REQUIRE(h.ends_within(done, 3s));
    BOOST_CHECK_EXCEPTION(done.get(), std::runtime_error, [](const std::runtime_error& e) {
        return std::string{e.what()} == "listener failed";
    });
}

BOOST_AUTO_TEST_CASE(a_reloaded_period_applies_from_the_next_period_on) {
    loopback_heartbeat h;
    struct closed {
        std::uint64_t period;
        std::chrono::milliseconds length;
        std::chrono::steady_clock::time_point at;
    };
    std::vector<closed> closes;
    h.m->on_period([&](std::uint64_t period, std::span<const mtce::heartbeat::host_event>) {
        closes.push_back({period, h.m->period_length(), std::chrono::steady_clock::now()});
        if (period == 3) {
            std::ofstream{h.file} << "[heartbeat]\nperiod_ms = 200\n";
            BOOST_TEST(h.store->reload().has_value());
        }
        if (period == 6) {
            h.tasks.request_stop();
        }
    });
    auto done = h.start();
    BOOST_TEST_REQUIRE(h.ends_within(done, 10s));
    done.get();
    BOOST_TEST_REQUIRE(closes.size() == 6U);
    BOOST_TEST(closes[2].length.count() == 20);
    BOOST_TEST(closes[3].length.count() == 200);
    BOOST_TEST(h.m->period_length().count() == 200);
    // The timer follows: periods 4 to 6 take three new lengths, less at most one old period of lateness
    // (a period later than that restarts the schedule).
    BOOST_TEST((closes[5].at - closes[2].at >= 3 * 200ms - 20ms));
}
