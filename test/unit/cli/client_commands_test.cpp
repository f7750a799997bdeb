#define BOOST_TEST_MODULE cli_client_commands_test
// Where the client commands find the controller API: --api, MTCE_API, the configuration, the default.
#include <boost/test/unit_test.hpp>

#include "cli/client_commands.hpp"
#include "scratch.hpp"

using mtce::cli::choose_api_url;
using mtce::cli::listen_from_config;

BOOST_AUTO_TEST_CASE(the_flag_wins_over_the_environment_and_the_configuration) {
    BOOST_TEST(choose_api_url("http://a:1", "http://b:2", "10.0.0.1:3").value() == "http://a:1");
}

BOOST_AUTO_TEST_CASE(the_environment_wins_over_the_configuration) {
    BOOST_TEST(choose_api_url(std::nullopt, "https://b:2", "10.0.0.1:3").value() == "https://b:2");
}

BOOST_AUTO_TEST_CASE(the_configurations_listen_address_becomes_a_local_url) {
    BOOST_TEST(choose_api_url(std::nullopt, std::nullopt, "10.0.0.1:3").value() == "http://10.0.0.1:3");
    BOOST_TEST(choose_api_url(std::nullopt, std::nullopt, "0.0.0.0:2112").value() == "http://127.0.0.1:2112");
    BOOST_TEST(choose_api_url(std::nullopt, std::nullopt, "[::]:2112").value() == "http://[::1]:2112");
}

BOOST_AUTO_TEST_CASE(without_any_source_the_default_is_loopback_2112) {
    BOOST_TEST(choose_api_url(std::nullopt, std::nullopt, std::nullopt).value() == "http://127.0.0.1:2112");
}

BOOST_AUTO_TEST_CASE(a_url_that_is_not_http_is_refused_naming_its_source) {
    BOOST_TEST(choose_api_url("ftp://x", std::nullopt, std::nullopt).error() ==
               "--api 'ftp://x' is not an http://, https:// or unix: URL");
    BOOST_TEST(choose_api_url(std::nullopt, "127.0.0.1:2112", std::nullopt).error() ==
               "MTCE_API '127.0.0.1:2112' is not an http://, https:// or unix: URL");
}

BOOST_AUTO_TEST_CASE(the_local_socket_comes_after_the_flag_and_the_environment_and_before_tcp) {
    BOOST_TEST(choose_api_url("unix:/tmp/a.sock", std::nullopt, std::nullopt).value() == "unix:/tmp/a.sock");
    BOOST_TEST(choose_api_url(std::nullopt, "unix:/tmp/b.sock", std::nullopt).value() == "unix:/tmp/b.sock");
    BOOST_TEST(choose_api_url(std::nullopt, std::nullopt, "10.0.0.1:3", "/run/mtce/api.sock").value() ==
               "unix:/run/mtce/api.sock");
    BOOST_TEST(choose_api_url("http://a:1", std::nullopt, "10.0.0.1:3", "/run/mtce/api.sock").value() ==
               "http://a:1");
    BOOST_TEST(choose_api_url(std::nullopt, "http://b:2", std::nullopt, "/run/mtce/api.sock").value() ==
               "http://b:2");
}

BOOST_AUTO_TEST_CASE(the_listen_address_is_read_from_a_given_configuration_file) {
    mtce::test::scratch s;
    const auto file = s.write("mtce.toml", "[controller]\napi_listen = \"192.168.204.2:2200\"\n");
    BOOST_TEST(listen_from_config(file).value().value_or("") == "192.168.204.2:2200");
}

BOOST_AUTO_TEST_CASE(an_all_in_one_controllers_file_and_a_workers_file_both_give_it) {
    mtce::test::scratch s;
    const auto aio = s.write("aio.toml", "[agent]\nsubfunctions = [\"worker\"]\n");
    BOOST_TEST(listen_from_config(aio).value().value_or("") == "127.0.0.1:2112");
}

BOOST_AUTO_TEST_CASE(a_given_file_that_cannot_be_loaded_is_an_error_with_file_and_line) {
    mtce::test::scratch s;
    const auto bad = s.write("bad.toml", "[controller]\napi_listen = \"localhost\"\n");
    const auto r = listen_from_config(bad);
    BOOST_REQUIRE(!r.has_value());
    BOOST_TEST(r.error().starts_with(bad.string() + ":2: controller.api_listen: "), r.error());
    BOOST_TEST(!listen_from_config(s.path() / "missing.toml").has_value());
}

BOOST_AUTO_TEST_CASE(the_token_comes_from_the_environment_first_then_the_file_trimmed) {
    using mtce::cli::choose_api_token;
    BOOST_TEST(choose_api_token("env-token", "file-token").value_or("") == "env-token");
    BOOST_TEST(choose_api_token(std::nullopt, " file-token\n").value_or("") == "file-token");
    BOOST_TEST(choose_api_token(std::string{}, "file-token").value_or("") == "file-token");
    BOOST_TEST(!choose_api_token(std::nullopt, " \n\t").has_value());
    BOOST_TEST(!choose_api_token(std::nullopt, std::nullopt).has_value());
    BOOST_TEST(!choose_api_token(std::string{}, std::nullopt).has_value());
}

BOOST_AUTO_TEST_CASE(the_token_file_is_named_by_the_configuration) {
    mtce::test::scratch s;
    const auto token = s.write("token", "t0k\n", 0600);
    const auto file = s.write("mtce.toml", "[controller]\napi_token_file = \"" + token.string() + "\"\n");
    const auto cfg = mtce::cli::client_config_from(file).value();
    BOOST_REQUIRE(cfg.has_value());
    BOOST_TEST(cfg->api_token_file == token);
    BOOST_TEST(cfg->api_listen == "127.0.0.1:2112");
}

BOOST_AUTO_TEST_CASE(http_statuses_map_to_the_documented_exit_statuses) {
    using mtce::cli::exit_status_for;
    for (const long ok : {200L, 201L, 202L, 204L}) {
        BOOST_TEST(exit_status_for(ok, true) == 0);
    }
    BOOST_TEST(exit_status_for(400, true) == 2);
    BOOST_TEST(exit_status_for(404, true) == 3);
    BOOST_TEST(exit_status_for(404, false) == 1);  // a route the controller does not have: not a host
    BOOST_TEST(exit_status_for(409, true) == 4);
    for (const long other : {401L, 403L, 405L, 415L, 500L, 501L, 503L, 302L}) {
        BOOST_TEST(exit_status_for(other, true) == 1, other);
    }
}
