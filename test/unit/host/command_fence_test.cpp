#define BOOST_TEST_MODULE host_command_fence_test
// The rules that bind a command to its host, its epoch and its order, and their durable position.
#include "host/command_fence.hpp"

#include <sys/stat.h>

#include <stdexcept>

#include <boost/test/unit_test.hpp>

#include "scratch.hpp"

using mtce::host::after;
using mtce::host::command_fence;
using mtce::host::fence_position;
using mtce::host::fence_verdict;
using mtce::host::judge;
namespace net = mtce::net;

namespace {

net::command cmd(std::string target, std::uint64_t epoch, std::uint64_t id) {
    return net::command{net::command_kind::reboot, id, 0, false, std::move(target), epoch, 1};
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_first_command_for_this_host_is_carried_out) {
    BOOST_TEST((judge({}, cmd("worker-0", 1, 1), "worker-0") == fence_verdict::carry_out));
}

BOOST_AUTO_TEST_CASE(a_command_for_another_host_or_for_no_host_is_refused) {
    BOOST_TEST((judge({}, cmd("worker-1", 1, 1), "worker-0") == fence_verdict::wrong_target));
    BOOST_TEST((judge({}, cmd("", 1, 1), "worker-0") == fence_verdict::wrong_target));
    BOOST_TEST((judge({}, cmd("worker-0.", 1, 1), "worker-0") == fence_verdict::wrong_target));
}

BOOST_AUTO_TEST_CASE(host_names_are_compared_without_regard_to_ascii_case) {
    BOOST_TEST((judge({}, cmd("WORKER-0", 1, 1), "worker-0") == fence_verdict::carry_out));
    BOOST_TEST((judge({}, cmd("worker-0", 1, 1), "Worker-0") == fence_verdict::carry_out));
}

BOOST_AUTO_TEST_CASE(a_lower_epoch_is_refused_whatever_its_id) {
    BOOST_TEST((judge({5, 10}, cmd("w", 4, 1'000'000), "w") == fence_verdict::stale_epoch));
}

BOOST_AUTO_TEST_CASE(within_an_epoch_only_a_greater_id_is_carried_out) {
    BOOST_TEST((judge({5, 10}, cmd("w", 5, 10), "w") == fence_verdict::old_id));
    BOOST_TEST((judge({5, 10}, cmd("w", 5, 9), "w") == fence_verdict::old_id));
    BOOST_TEST((judge({5, 10}, cmd("w", 5, 11), "w") == fence_verdict::carry_out));
}

BOOST_AUTO_TEST_CASE(a_higher_epoch_starts_a_new_id_sequence) {
    BOOST_TEST((judge({5, 10}, cmd("w", 6, 1), "w") == fence_verdict::carry_out));
    BOOST_TEST((after(cmd("w", 6, 1)) == fence_position{6, 1}));
}

BOOST_AUTO_TEST_CASE(the_text_form_round_trips_and_garbage_is_refused) {
    const fence_position p{18446744073709551615ULL, 42};
    BOOST_TEST(mtce::host::to_text(p) == "epoch 18446744073709551615\nid 42\n");
    const auto back = mtce::host::parse_fence(mtce::host::to_text(p));
    BOOST_REQUIRE(back.has_value());
    BOOST_TEST((*back == p));
    for (const auto* bad : {"", "epoch 1\n", "epoch 1\nid 2", "epoch x\nid 2\n", "epoch 1\nid 2\nmore\n",
                            "id 2\nepoch 1\n", "epoch -1\nid 2\n", "epoch 99999999999999999999\nid 1\n"}) {
        BOOST_TEST(!mtce::host::parse_fence(bad).has_value(), bad);
    }
}

BOOST_AUTO_TEST_CASE(a_host_without_the_file_has_carried_out_nothing) {
    const mtce::test::scratch dir;
    command_fence f{dir.path()};
    f.load();
    BOOST_TEST((f.position() == fence_position{}));
}

BOOST_AUTO_TEST_CASE(an_advance_is_on_disk_private_and_read_back_by_the_next_agent) {
    const mtce::test::scratch dir;
    {
        command_fence f{dir.path()};
        f.load();
        BOOST_TEST(!f.advance({3, 77}));
        BOOST_TEST((f.position() == fence_position{3, 77}));
    }
    struct stat st {};
    BOOST_REQUIRE(::stat((dir.path() / "command_fence").c_str(), &st) == 0);
    BOOST_TEST((st.st_mode & 0777) == 0600U);
    command_fence next{dir.path()};
    next.load();
    BOOST_TEST((next.position() == fence_position{3, 77}));
}

BOOST_AUTO_TEST_CASE(a_damaged_file_stops_the_agent_instead_of_forgetting_what_it_carried_out) {
    const mtce::test::scratch dir;
    dir.write("command_fence", "epoch 3\nid\n");
    command_fence f{dir.path()};
    BOOST_CHECK_THROW(f.load(), std::runtime_error);
}

BOOST_AUTO_TEST_CASE(a_failed_write_leaves_the_position_unchanged) {
    const mtce::test::scratch dir;
    command_fence f{dir.path() / "missing" / "dir"};
    f.load();
    BOOST_TEST(static_cast<bool>(f.advance({1, 1})));
    BOOST_TEST((f.position() == fence_position{}));
}
