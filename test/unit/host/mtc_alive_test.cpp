#define BOOST_TEST_MODULE host_mtc_alive_test
#include "host/mtc_alive.hpp"

#include <boost/test/unit_test.hpp>

#include "host/wire.hpp"
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
