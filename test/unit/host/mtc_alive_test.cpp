#define BOOST_TEST_MODULE host_mtc_alive_test
#include "host/mtc_alive.hpp"

#include <unistd.h>

#include <ctime>
#include <filesystem>

#include <boost/test/unit_test.hpp>

#include "host/boot.hpp"
#include "net/message.hpp"

namespace f = mtce::net::alive_flags;
using mtce::host::alive_inputs;
using mtce::host::compute_alive_flags;

BOOST_AUTO_TEST_CASE(a_host_whose_self_tests_have_not_finished_is_configured_and_nothing_else) {
    BOOST_TEST(compute_alive_flags({}) == f::configured);
    alive_inputs locked;
    locked.locked = true;
    BOOST_TEST(compute_alive_flags(locked) == (f::configured | f::locked));
}

BOOST_AUTO_TEST_CASE(passed_self_tests_make_the_host_healthy) {
    alive_inputs in;
    in.goenabled = true;
    BOOST_TEST(compute_alive_flags(in) == (f::configured | f::main_goenabled | f::healthy));
}

BOOST_AUTO_TEST_CASE(any_failure_makes_the_host_not_healthy) {
    alive_inputs tests;
    tests.goenabled_failed = true;
    BOOST_TEST(compute_alive_flags(tests) == (f::configured | f::main_goenabled_failed | f::not_healthy));
    alive_inputs services;
    services.goenabled = true;
    services.services_failed = true;
    BOOST_TEST(compute_alive_flags(services) ==
               (f::configured | f::main_goenabled | f::main_services_failed | f::not_healthy));
}

BOOST_AUTO_TEST_CASE(subfunction_bits_count_only_on_an_all_in_one_host) {
    alive_inputs in;
    in.goenabled = true;
    in.subfunction_configured = true;
    in.goenabled_subf = true;
    in.goenabled_subf_failed = false;
    in.services_subf_failed = true;
    BOOST_TEST(compute_alive_flags(in) == (f::configured | f::main_goenabled | f::healthy));
    in.has_worker_subfunction = true;
    BOOST_TEST(compute_alive_flags(in) == (f::configured | f::main_goenabled | f::subf_configured |
                                           f::subf_goenabled | f::subf_services_failed | f::not_healthy));
    in.services_subf_failed = false;
    in.goenabled_subf = false;
    in.goenabled_subf_failed = true;
    BOOST_TEST(compute_alive_flags(in) == (f::configured | f::main_goenabled | f::subf_configured |
                                           f::subf_goenabled_failed | f::not_healthy));
}

BOOST_AUTO_TEST_CASE(the_boot_time_is_kept_within_a_boot_and_grows_with_a_new_one) {
    using mtce::host::choose_boot_time;
    BOOST_TEST(choose_boot_time("b1", std::nullopt, 1000) == 1000U);
    BOOST_TEST(choose_boot_time("b1", std::string{"boot_id=b1\nboot_time=900\n"}, 1000) == 900U);
    // A simulated reboot: the kernel's clocks did not restart, so the computed time may not be later.
    BOOST_TEST(choose_boot_time("b2", std::string{"boot_id=b1\nboot_time=1000\n"}, 1000) == 1001U);
    BOOST_TEST(choose_boot_time("b2", std::string{"boot_id=b1\nboot_time=900\n"}, 5000) == 5000U);
    BOOST_TEST(choose_boot_time("b1", std::string{"garbage"}, 1000) == 1000U);
}

BOOST_AUTO_TEST_CASE(started_host_services_set_mtce_s_own_bits) {
    alive_inputs in;
    in.goenabled = true;
    in.services_started = true;
    BOOST_TEST(compute_alive_flags(in) ==
               (f::configured | f::main_goenabled | f::healthy | f::main_services_started));
    // The worker's services count as the subfunction's only on an all-in-one host.
    in.services_subf_started = true;
    BOOST_TEST(compute_alive_flags(in) ==
               (f::configured | f::main_goenabled | f::healthy | f::main_services_started));
    in.has_worker_subfunction = true;
    BOOST_TEST(compute_alive_flags(in) == (f::configured | f::main_goenabled | f::healthy |
                                           f::main_services_started | f::subf_services_started));
    BOOST_TEST(f::main_services_started == 0x2000U);
    BOOST_TEST(f::subf_services_started == 0x4000U);
}

BOOST_AUTO_TEST_CASE(the_failure_text_is_the_reason_of_the_first_failure_file_in_order) {
    using mtce::host::failure_reason;
    using mtce::host::failure_texts;
    const auto file = [](const std::string& reason) {
        return std::optional<std::string>{"result=failed\nreason=" + reason + "\nkind=x\n"};
    };
    BOOST_TEST(failure_reason({}).empty());

    failure_texts in;
    in.services_failed = file("/etc/mtce/services.d/worker/20-kubelet: exit code 1");
    BOOST_TEST(failure_reason(in) == "/etc/mtce/services.d/worker/20-kubelet: exit code 1");
    in.goenabled_failed =
        file("/etc/mtce/goenabled.d/memory: timed out after 600s, killed by signal 15 (SIGTERM)");
    BOOST_TEST(failure_reason(in) ==
               "/etc/mtce/goenabled.d/memory: timed out after 600s, killed by signal 15 (SIGTERM)");

    // The subfunction's files count only on an all-in-one host, after the main function's self-tests.
    failure_texts aio;
    aio.goenabled_subf_failed = file("worker subfunction tests");
    aio.services_failed = file("controller services");
    aio.services_subf_failed = file("worker services");
    BOOST_TEST(failure_reason(aio) == "controller services");
    aio.has_worker_subfunction = true;
    BOOST_TEST(failure_reason(aio) == "worker subfunction tests");
    aio.goenabled_subf_failed.reset();
    BOOST_TEST(failure_reason(aio) == "controller services");
    aio.services_failed.reset();
    BOOST_TEST(failure_reason(aio) == "worker services");

    // A file without its reason line still says what failed.
    failure_texts bare;
    bare.goenabled_failed = std::string{"result=failed\n"};
    BOOST_TEST(failure_reason(bare) == "self-tests failed");
}

BOOST_AUTO_TEST_CASE(a_simulated_host_is_up_since_its_boot_time_a_real_one_since_the_kernel_booted) {
    using mtce::host::uptime_seconds;
    using mtce::net::boot_identity;
    boot_identity real;
    real.boot_time = 1'000'000;
    BOOST_TEST(uptime_seconds(real, 1'000'500, 77) == 77U);
    boot_identity simulated = real;
    simulated.simulated = true;
    BOOST_TEST(uptime_seconds(simulated, 1'000'500, 77) == 500U);
    // A simulated reboot may set the boot time a second ahead of the clock: never a negative uptime.
    BOOST_TEST(uptime_seconds(simulated, 999'999, 77) == 0U);
}

BOOST_AUTO_TEST_CASE(a_simulated_boot_begins_when_the_agent_first_sees_its_id) {
    namespace fs = std::filesystem;
    const auto dir = fs::temp_directory_path() / ("mtce-alive-test-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    const auto now = [] { return static_cast<std::uint64_t>(std::time(nullptr)); };
    const auto before = now();
    const auto first = mtce::host::load_boot_identity(dir, "sim-boot-1", /*simulated=*/true);
    BOOST_TEST(first.simulated);
    BOOST_TEST(first.boot_time >= before);
    BOOST_TEST(first.boot_time <= now());
    // The same id later (an agent restart): the same boot time.
    const auto again = mtce::host::load_boot_identity(dir, "sim-boot-1", /*simulated=*/true);
    BOOST_TEST(again.boot_time == first.boot_time);
    // A simulated reboot: a later boot time.
    const auto next = mtce::host::load_boot_identity(dir, "sim-boot-2", /*simulated=*/true);
    BOOST_TEST(next.boot_time > first.boot_time);
    // The kernel's boot began before now, when the machine booted.
    fs::create_directories(dir / "kernel");
    const auto kernel = mtce::host::load_boot_identity(dir / "kernel", "kernel-boot", /*simulated=*/false);
    BOOST_TEST(!kernel.simulated);
    BOOST_TEST(kernel.boot_time <= before);
    fs::remove_all(dir);
}
