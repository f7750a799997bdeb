#define BOOST_TEST_MODULE api_admission_test
// Which API connections are served (a total and a per-client share), and how refusals are counted and logged.
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <string>

#include "api/admission.hpp"

using mtce::api::admission;
using mtce::api::refusal_kind;
using mtce::api::refusal_record;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_CASE(one_client_gets_its_share_and_others_still_get_in) {
    admission a{/*max_connections=*/4, /*per_client=*/2};
    BOOST_TEST(!a.admit("10.0.0.9").has_value());
    BOOST_TEST(!a.admit("10.0.0.9").has_value());
    BOOST_TEST((a.admit("10.0.0.9") == refusal_kind::client_full));
    BOOST_TEST(a.open_by("10.0.0.9") == 2U);
    BOOST_TEST(!a.admit("10.0.0.2").has_value());
    BOOST_TEST(!a.admit("uid 1000").has_value());
    BOOST_TEST((a.admit("uid 0") == refusal_kind::server_full));
    BOOST_TEST(a.open() == 4U);
    a.release("10.0.0.9");
    BOOST_TEST(!a.admit("uid 0").has_value());
    BOOST_TEST((a.admit("10.0.0.9") == refusal_kind::server_full));
}

BOOST_AUTO_TEST_CASE(releasing_every_connection_forgets_the_client) {
    admission a{/*max_connections=*/10, /*per_client=*/1};
    BOOST_TEST(!a.admit("10.0.0.9").has_value());
    BOOST_TEST((a.admit("10.0.0.9") == refusal_kind::client_full));
    a.release("10.0.0.9");
    a.release("10.0.0.9");  // a second release of nothing open changes nothing
    BOOST_TEST(a.open() == 0U);
    BOOST_TEST(a.open_by("10.0.0.9") == 0U);
    BOOST_TEST(!a.admit("10.0.0.9").has_value());
}

BOOST_AUTO_TEST_CASE(refusals_are_all_counted_but_logged_once_per_interval_with_the_number_left_out) {
    refusal_record r{10s};
    const refusal_record::clock_type::time_point t0{};
    BOOST_TEST((r.count(refusal_kind::client_full, t0) == std::optional<std::uint64_t>{0}));
    BOOST_TEST(!r.count(refusal_kind::client_full, t0 + 1s).has_value());
    BOOST_TEST(!r.count(refusal_kind::client_full, t0 + 9s).has_value());
    BOOST_TEST((r.count(refusal_kind::server_full, t0 + 9s) == std::optional<std::uint64_t>{0}));
    BOOST_TEST((r.count(refusal_kind::client_full, t0 + 10s) == std::optional<std::uint64_t>{2}));
    BOOST_TEST(r.total(refusal_kind::client_full) == 4U);
    const auto text = r.metrics(/*open=*/3);
    BOOST_TEST(text.find("mtce_api_connections 3\n") != std::string::npos, text);
    BOOST_TEST(text.find("mtce_api_refused_total{reason=\"client_full\"} 4\n") != std::string::npos, text);
    BOOST_TEST(text.find("mtce_api_refused_total{reason=\"peer_credentials\"} 0\n") != std::string::npos,
               text);
}
