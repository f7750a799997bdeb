#define BOOST_TEST_MODULE cli_api_test
// `mtce host list` and `mtce host show`: the real binary against the REST server on loopback.
#include <boost/test/unit_test.hpp>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>

#include <nlohmann/json.hpp>

#include "api_server.hpp"
#include "fake_backend.hpp"
#include "process.hpp"
#include "scratch.hpp"

using mtce::test::contains;
using mtce::test::run_command;
using nlohmann::json;

namespace {

/// A loopback port nothing listens on (bound, then released).
std::uint16_t closed_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    BOOST_REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    BOOST_REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    ::close(fd);
    return ntohs(a.sin_port);
}

/// Runs `mtce args...` with `env` added to the environment.
mtce::test::command_result mtce_with_env(const std::vector<std::string>& args,
                                         const std::vector<std::string>& env, const mtce::test::scratch& s) {
    std::vector<std::string> argv{MTCE_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    mtce::test::command_result r;
    {
        mtce::test::process p{argv, s.path() / "out", s.path() / "err", env};
        r.exit_code = p.exit_code(std::chrono::seconds{60}).value_or(-2);
    }
    r.out = s.read("out");
    r.err = s.read("err");
    return r;
}

struct no_mtce_api {
    no_mtce_api() { ::unsetenv("MTCE_API"); }
};

}  // namespace

BOOST_GLOBAL_FIXTURE(no_mtce_api);

BOOST_AUTO_TEST_CASE(host_list_json_prints_exactly_the_apis_document) {
    mtce::test::fake_backend b;
    mtce::test::api_server server{b};
    mtce::test::scratch s;
    const auto r = run_command({MTCE_BINARY, "host", "list", "--json", "--api", server.url()}, s.path());
    BOOST_TEST(r.exit_code == 0, r.err);
    BOOST_TEST(json::parse(r.out) == b.hosts_);
    BOOST_TEST(r.err.empty());
}

BOOST_AUTO_TEST_CASE(host_list_prints_a_table_with_names_and_heartbeat_states) {
    mtce::test::fake_backend b;
    mtce::test::api_server server{b};
    mtce::test::scratch s;
    const auto r = run_command({MTCE_BINARY, "host", "--api", server.url(), "list"}, s.path());
    BOOST_TEST(r.exit_code == 0, r.err);
    BOOST_TEST(r.out.starts_with("NAME "), r.out);
    BOOST_TEST(contains(r.out, "MGMT-HB"));
    BOOST_TEST(contains(r.out, "controller-0"));
    BOOST_TEST(contains(r.out, "worker-0"));
    BOOST_TEST(contains(r.out, "degraded(7)"));
    BOOST_TEST(contains(r.out, "ok(1)"));
}

BOOST_AUTO_TEST_CASE(host_show_prints_one_host_as_lines_or_as_its_json_document) {
    mtce::test::fake_backend b;
    mtce::test::api_server server{b};
    mtce::test::scratch s;
    const auto text = run_command({MTCE_BINARY, "host", "show", "worker-0", "--api", server.url()}, s.path());
    BOOST_TEST(text.exit_code == 0, text.err);
    BOOST_TEST(contains(text.out, "name:                     worker-0\n"));
    BOOST_TEST(contains(text.out, "heartbeat cluster:        degraded(7)\n"));
    const auto doc =
        run_command({MTCE_BINARY, "host", "show", "--json", "worker-0", "--api", server.url()}, s.path());
    BOOST_TEST(doc.exit_code == 0, doc.err);
    BOOST_TEST(json::parse(doc.out) == b.hosts_[1]);
}

BOOST_AUTO_TEST_CASE(host_show_of_an_unknown_host_exits_3_and_says_so) {
    mtce::test::fake_backend b;
    mtce::test::api_server server{b};
    mtce::test::scratch s;
    for (const char* json_flag : {"--json", ""}) {
        std::vector<std::string> argv{MTCE_BINARY, "host", "show", "nosuch", "--api", server.url()};
        if (*json_flag != '\0') {
            argv.emplace_back(json_flag);
        }
        const auto r = run_command(argv, s.path());
        BOOST_TEST(r.exit_code == 3);
        BOOST_TEST(r.out.empty(), r.out);
        BOOST_TEST(contains(r.err, "no host named nosuch"), r.err);
    }
}

BOOST_AUTO_TEST_CASE(an_unreachable_controller_exits_5_naming_the_url) {
    mtce::test::scratch s;
    const auto url = "http://127.0.0.1:" + std::to_string(closed_port());
    for (const char* sub : {"list", "show"}) {
        std::vector<std::string> argv{MTCE_BINARY, "host", sub, "--api", url, "--json"};
        if (std::string{sub} == "show") {
            argv.emplace_back("worker-0");
        }
        const auto r = run_command(argv, s.path());
        BOOST_TEST(r.exit_code == 5, sub);
        BOOST_TEST(r.out.empty());
        BOOST_TEST(contains(r.err, "mtce: controller unreachable at " + url + "/v1/hosts"), r.err);
    }
}

BOOST_AUTO_TEST_CASE(the_api_is_found_from_mtce_api_then_from_the_configuration) {
    mtce::test::fake_backend b;
    mtce::test::api_server server{b};
    mtce::test::scratch s;
    const auto from_env = mtce_with_env({"host", "list", "--json"}, {"MTCE_API=" + server.url()}, s);
    BOOST_TEST(from_env.exit_code == 0, from_env.err);
    BOOST_TEST(json::parse(from_env.out) == b.hosts_);

    const auto config = s.write(
        "mtce.toml", "[controller]\napi_listen = \"127.0.0.1:" + std::to_string(server.port()) + "\"\n");
    const auto from_config = run_command(
        {MTCE_BINARY, "host", "show", "controller-0", "--config", config.string(), "--json"}, s.path());
    BOOST_TEST(from_config.exit_code == 0, from_config.err);
    BOOST_TEST(json::parse(from_config.out)["name"] == "controller-0");

    // --api beats MTCE_API, which beats the configuration.
    const auto closed = "http://127.0.0.1:" + std::to_string(closed_port());
    const auto flag_wins =
        mtce_with_env({"host", "list", "--json", "--api", server.url(), "--config", config.string()},
                      {"MTCE_API=" + closed}, s);
    BOOST_TEST(flag_wins.exit_code == 0, flag_wins.err);
    const auto env_wins =
        mtce_with_env({"host", "list", "--config", config.string()}, {"MTCE_API=" + closed}, s);
    BOOST_TEST(env_wins.exit_code == 5, env_wins.err);
}

BOOST_AUTO_TEST_CASE(a_bad_url_or_configuration_is_a_usage_error) {
    mtce::test::scratch s;
    const auto r = run_command({MTCE_BINARY, "host", "list", "--api", "127.0.0.1:2112"}, s.path());
    BOOST_TEST(r.exit_code == 2);
    BOOST_TEST(contains(r.err, "--api '127.0.0.1:2112' is not an http:// or https:// URL"), r.err);
    const auto bad = s.write("bad.toml", "[controller]\napi_listen = 7\n");
    const auto c = run_command({MTCE_BINARY, "host", "list", "--config", bad.string()}, s.path());
    BOOST_TEST(c.exit_code == 2);
    BOOST_TEST(contains(c.err, bad.string() + ":2: controller.api_listen: "), c.err);
}
