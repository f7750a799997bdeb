#define BOOST_TEST_MODULE cli_api_test
// The client commands (`mtce host ...`, `mtce alarm list`, `mtce event list`, `mtce system show`): the real
// binary against the REST server with a scripted backend, on loopback.
#include <boost/test/unit_test.hpp>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <sstream>
#include <thread>

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

/// The test servers' bearer token: changes over TCP need it.
const std::string cli_token = "cli-t0ken";

/// Runs `mtce args...` with the test servers' token in MTCE_API_TOKEN.
mtce::test::command_result mtce_run(const std::vector<std::string>& args, const mtce::test::scratch& s) {
    return mtce_with_env(args, {"MTCE_API_TOKEN=" + cli_token}, s);
}

/// Waits until the file at `p` contains `needle`, for at most `limit`; its content then.
std::string wait_for_text(const std::filesystem::path& p, const std::string& needle,
                          std::chrono::milliseconds limit = std::chrono::seconds{30}) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
        auto text = mtce::test::read_file(p);
        if (contains(text, needle) || std::chrono::steady_clock::now() >= deadline) {
            return text;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds{20});
    }
}

std::size_t count_of(const std::string& haystack, const std::string& needle) {
    std::size_t n = 0;
    for (auto pos = haystack.find(needle); pos != std::string::npos; pos = haystack.find(needle, pos + 1)) {
        ++n;
    }
    return n;
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in{text};
    for (std::string line; std::getline(in, line);) {
        out.push_back(line);
    }
    return out;
}

struct no_mtce_api {
    no_mtce_api() {
        ::unsetenv("MTCE_API");
        ::unsetenv("MTCE_API_TOKEN");
    }
};

}  // namespace

BOOST_GLOBAL_FIXTURE(no_mtce_api);

BOOST_AUTO_TEST_CASE(host_list_json_prints_exactly_the_apis_document) {
    mtce::test::fake_backend b;
    mtce::test::api_server server{b, {}, cli_token};
    mtce::test::scratch s;
    const auto r = run_command({MTCE_BINARY, "host", "list", "--json", "--api", server.url()}, s.path());
    BOOST_TEST(r.exit_code == 0, r.err);
    BOOST_TEST(json::parse(r.out) == b.hosts_);
    BOOST_TEST(r.err.empty());
}

BOOST_AUTO_TEST_CASE(host_list_prints_a_table_with_names_and_heartbeat_states) {
    mtce::test::fake_backend b;
    mtce::test::api_server server{b, {}, cli_token};
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
    mtce::test::api_server server{b, {}, cli_token};
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
    mtce::test::api_server server{b, {}, cli_token};
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

BOOST_AUTO_TEST_CASE(system_show_prints_the_summary_or_exactly_the_apis_document) {
    mtce::test::fake_backend b;
    mtce::test::api_server server{b, {}, cli_token};
    mtce::test::scratch s;
    const auto text = mtce_run({"system", "--api", server.url(), "show"}, s);
    BOOST_TEST(text.exit_code == 0, text.err);
    BOOST_TEST(text.out.starts_with("mode:        dor\n"), text.out);
    BOOST_TEST(contains(text.out, "2 of 4 hosts recovered\n"), text.out);
    BOOST_TEST(contains(text.out, "  worker-0      unlocked-disabled-offline   waiting\n"), text.out);
    BOOST_TEST(
        contains(text.out, "controllers: controller-0  unlocked-enabled-available  (this controller)\n"),
        text.out);
    const auto doc = mtce_run({"system", "show", "--json", "--api", server.url()}, s);
    BOOST_TEST(doc.exit_code == 0, doc.err);
    BOOST_TEST(json::parse(doc.out) == b.system());
    BOOST_TEST(doc.err.empty());
    b.set_system(json::array());
    const auto bad = mtce_run({"system", "show", "--api", server.url()}, s);
    BOOST_TEST(bad.exit_code == 1);
    BOOST_TEST(bad.out.empty());
    BOOST_TEST(bad.err == "mtce: the controller's system view is not a JSON object\n");
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
    mtce::test::api_server server{b, {}, cli_token};
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
    BOOST_TEST(contains(r.err, "--api '127.0.0.1:2112' is not an http://, https:// or unix: URL"), r.err);
    const auto bad = s.write("bad.toml", "[controller]\napi_listen = 7\n");
    const auto c = run_command({MTCE_BINARY, "host", "list", "--config", bad.string()}, s.path());
    BOOST_TEST(c.exit_code == 2);
    BOOST_TEST(contains(c.err, bad.string() + ":2: controller.api_listen: "), c.err);
}

BOOST_AUTO_TEST_SUITE(changes)

BOOST_AUTO_TEST_CASE(host_add_sends_every_option_and_the_password_which_it_never_prints) {
    mtce::test::fake_backend b;
    mtce::test::api_server server{b, {}, cli_token};
    mtce::test::scratch s;
    const std::string password = "hunter2-very-secret";
    const auto file = s.write("worker-1.bmc", password + "\n", 0600);
    const auto r = mtce_run({"host",          "add",
                             "worker-1",      "--personality",
                             "worker",        "--subfunctions",
                             "a,b",           "--mgmt-ip",
                             "10.0.0.11",     "--cluster-ip",
                             "10.1.0.11",     "--bmc-type",
                             "redfish",       "--bmc-address",
                             "10.9.0.11:443", "--bmc-username",
                             "root",          "--bmc-password-file",
                             file.string(),   "--api",
                             server.url()},
                            s);
    BOOST_TEST(r.exit_code == 0, r.err);
    BOOST_TEST(r.out == "worker-1: added\n");
    BOOST_TEST(r.err.empty(), r.err);
    const auto calls = b.calls();
    BOOST_REQUIRE(calls.size() == 1u);
    const auto& got = calls[0].request;
    BOOST_TEST(calls[0].method == "add_host");
    BOOST_TEST(got.name == "worker-1");
    BOOST_TEST(got.personality == "worker");
    BOOST_TEST(got.subfunctions == (std::vector<std::string>{"a", "b"}));
    BOOST_TEST(got.mgmt_ip == "10.0.0.11");
    BOOST_TEST(got.cluster_ip == "10.1.0.11");
    BOOST_TEST(got.bmc_type == "redfish");
    BOOST_TEST(got.bmc_address == "10.9.0.11:443");
    BOOST_TEST(got.bmc_username == "root");
    BOOST_TEST(got.bmc_password == password);

    // Readable by others: accepted with a warning, which does not show the password either.
    const auto open_file = s.write("open.bmc", password, 0644);
    b.answer_next(mtce::api::outcome::failure(mtce::api::result::conflict, "host worker-1 exists"));
    const auto again =
        mtce_run({"host", "add", "worker-1", "--personality", "worker", "--mgmt-ip", "10.0.0.11",
                  "--bmc-type", "ipmi", "--bmc-address", "10.9.0.11", "--bmc-username", "root",
                  "--bmc-password-file", open_file.string(), "--api", server.url()},
                 s);
    BOOST_TEST(again.exit_code == 4, again.err);
    BOOST_TEST(contains(again.err, "is readable by other users"), again.err);
    BOOST_TEST(contains(again.err, "mtce: cannot add worker-1: host worker-1 exists"), again.err);
    BOOST_REQUIRE(b.calls().size() == 2u);
    BOOST_TEST(b.calls()[1].request.bmc_password == password);
    for (const auto& text : {r.out, r.err, again.out, again.err}) {
        BOOST_TEST(!contains(text, password), text);
    }
}

BOOST_AUTO_TEST_CASE(host_add_without_a_usable_password_file_exits_2_naming_it) {
    mtce::test::fake_backend b;
    mtce::test::api_server server{b, {}, cli_token};
    mtce::test::scratch s;
    const std::vector<std::string> head{"host",   "add",           "worker-1",   "--personality",
                                        "worker", "--mgmt-ip",     "10.0.0.11",  "--bmc-type",
                                        "ipmi",   "--bmc-address", "10.9.0.11",  "--bmc-username",
                                        "root",   "--api",         server.url(), "--bmc-password-file"};
    const auto missing = (s.path() / "missing.bmc").string();
    const auto empty = s.write("empty.bmc", "\n", 0600).string();
    for (const auto& [file, why] : std::vector<std::pair<std::string, std::string>>{
             {missing, "cannot be read: No such file or directory"}, {empty, "is empty"}}) {
        auto args = head;
        args.push_back(file);
        const auto r = mtce_run(args, s);
        BOOST_TEST(r.exit_code == 2);
        BOOST_TEST(r.out.empty());
        BOOST_TEST(contains(r.err, "mtce: the BMC password file '" + file + "' " + why), r.err);
    }
    // A BMC type without the password file is a usage error too.
    auto no_file = head;
    no_file.pop_back();
    const auto r = mtce_run(no_file, s);
    BOOST_TEST(r.exit_code == 2);
    BOOST_TEST(contains(r.err, "--bmc-type ipmi needs --bmc-password-file"), r.err);
    BOOST_TEST(b.calls().empty());
}

BOOST_AUTO_TEST_CASE(host_modify_sends_only_what_is_given_and_never_prints_the_password) {
    mtce::test::fake_backend b;
    mtce::test::api_server server{b, {}, cli_token};
    mtce::test::scratch s;
    const std::string password = "n3w-very-secret";
    const auto file = s.write("worker-1.bmc", password + "\n", 0600);
    const auto r = mtce_run({"host", "modify", "worker-1", "--bmc-address", "10.9.0.12",
                             "--bmc-password-file", file.string(), "--bmc-verify", "--api", server.url()},
                            s);
    BOOST_TEST(r.exit_code == 0, r.err);
    BOOST_TEST(r.out == "worker-1: modified\n");
    const auto calls = b.calls();
    BOOST_REQUIRE(calls.size() == 1u);
    BOOST_TEST(calls[0].method == "modify_host");
    BOOST_TEST(calls[0].name == "worker-1");
    BOOST_TEST(calls[0].modify.bmc_address.value_or("") == "10.9.0.12");
    BOOST_TEST(calls[0].modify.bmc_password.value_or("") == password);
    BOOST_TEST(calls[0].modify.bmc_insecure.value_or(true) == false);
    BOOST_TEST(!calls[0].modify.bmc_type.has_value());
    BOOST_TEST(!calls[0].modify.bmc_username.has_value());

    b.answer_next(mtce::api::outcome::failure(mtce::api::result::invalid,
                                              "bmc_address 'x!' is not an IP address or DNS name"));
    const auto bad =
        mtce_run({"host", "modify", "worker-1", "--bmc-address", "x!", "--api", server.url()}, s);
    BOOST_TEST(bad.exit_code == 2);
    BOOST_TEST(contains(bad.err, "mtce: cannot modify worker-1: bmc_address 'x!'"), bad.err);
    const auto nothing = mtce_run({"host", "modify", "worker-1", "--api", server.url()}, s);
    BOOST_TEST(nothing.exit_code == 2);
    BOOST_TEST(contains(nothing.err, "nothing to change"), nothing.err);
    BOOST_TEST(b.calls().size() == 2u);
    for (const auto& text : {r.out, r.err, bad.out, bad.err}) {
        BOOST_TEST(!contains(text, password), text);
    }
}

BOOST_AUTO_TEST_CASE(delete_and_every_action_reach_the_backend_and_print_one_line) {
    mtce::test::fake_backend b;
    mtce::test::api_server server{b, {}, cli_token};
    mtce::test::scratch s;
    const auto deleted = mtce_run({"host", "delete", "worker-0", "--api", server.url()}, s);
    BOOST_TEST(deleted.exit_code == 0, deleted.err);
    BOOST_TEST(deleted.out == "worker-0: delete accepted\n");
    const std::vector<std::string> actions{"lock",     "unlock",    "reboot",      "reset",
                                           "power-on", "power-off", "power-cycle", "reinstall"};
    for (const auto& action : actions) {
        const auto r = mtce_run({"host", action, "worker-0", "--api", server.url()}, s);
        BOOST_TEST(r.exit_code == 0, action << ": " << r.err);
        BOOST_TEST(r.out == "worker-0: " + action + " accepted\n");
        BOOST_TEST(r.err.empty());
    }
    const auto forced = mtce_run({"host", "lock", "--force", "worker-0", "--api", server.url()}, s);
    BOOST_TEST(forced.exit_code == 0, forced.err);
    BOOST_TEST(forced.out == "worker-0: force-lock accepted\n");
    const auto calls = b.calls();
    BOOST_REQUIRE(calls.size() == actions.size() + 2);
    BOOST_TEST(calls[0].method == "delete_host");
    BOOST_TEST(calls[0].name == "worker-0");
    for (std::size_t i = 0; i < actions.size(); ++i) {
        BOOST_TEST(calls[i + 1].method == "act");
        BOOST_TEST(calls[i + 1].name == "worker-0");
        BOOST_TEST(calls[i + 1].action == actions[i]);
    }
    BOOST_TEST(calls.back().action == "force-lock");
}

BOOST_AUTO_TEST_CASE(force_with_another_action_is_a_usage_error) {
    mtce::test::fake_backend b;
    mtce::test::api_server server{b, {}, cli_token};
    mtce::test::scratch s;
    const auto r = mtce_run({"host", "unlock", "worker-0", "--force", "--api", server.url()}, s);
    BOOST_TEST(r.exit_code == 2);
    BOOST_TEST(contains(r.err, "--force applies only to lock"), r.err);
    BOOST_TEST(b.calls().empty());
}

BOOST_AUTO_TEST_CASE(each_answer_has_its_exit_status_and_the_reason_is_printed) {
    mtce::test::fake_backend b;
    mtce::test::api_server server{b, {}, cli_token};
    mtce::test::scratch s;
    struct expectation {
        mtce::api::outcome answer;
        int exit_code;
        std::string message;
    };
    using mtce::api::outcome;
    using mtce::api::result;
    const std::vector<expectation> cases{
        {outcome::failure(result::invalid, "unknown action"), 2,
         "mtce: cannot unlock worker-0: unknown action\n"},
        {outcome::failure(result::not_found, "no host named worker-0"), 3,
         "mtce: cannot unlock worker-0: no host named worker-0\n"},
        {outcome::failure(result::refused, "host is already unlocked"), 4,
         "mtce: cannot unlock worker-0: host is already unlocked\n"},
        {outcome::failure(result::conflict, "host worker-1 exists"), 4,
         "mtce: cannot unlock worker-0: host worker-1 exists\n"},
        {outcome::failure(result::not_saved, "the state could not be saved"), 1,
         "mtce: cannot unlock worker-0: the state could not be saved\n"},
    };
    for (const auto& c : cases) {
        b.answer_next(c.answer);
        const auto r = mtce_run({"host", "unlock", "worker-0", "--api", server.url()}, s);
        BOOST_TEST(r.exit_code == c.exit_code, c.answer.reason);
        BOOST_TEST(r.out.empty());
        BOOST_TEST(r.err == c.message);
    }
    b.throw_next("boom");
    const auto failed = mtce_run({"host", "delete", "worker-0", "--api", server.url()}, s);
    BOOST_TEST(failed.exit_code == 1);
    BOOST_TEST(failed.err == "mtce: cannot delete worker-0: the controller could not answer; see its log\n");
}

BOOST_AUTO_TEST_CASE(an_unreachable_controller_exits_5_for_every_client_command) {
    mtce::test::scratch s;
    const auto url = "http://127.0.0.1:" + std::to_string(closed_port());
    const auto pw = s.write("pw", "x", 0600).string();
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"host", "delete", "w"},
             {"host", "lock", "w", "--force"},
             {"host", "power-cycle", "w"},
             {"host", "add", "w", "--personality", "worker", "--mgmt-ip", "1.2.3.4"},
             {"alarm", "list"},
             {"system", "show"},
             {"event", "list", "--json"},
             {"event", "list", "--follow"}}) {
        auto argv = args;
        argv.insert(argv.end(), {"--api", url});
        const auto r = mtce_run(argv, s);
        BOOST_TEST(r.exit_code == 5, args[0] << " " << args[1]);
        BOOST_TEST(r.out.empty());
        BOOST_TEST(contains(r.err, "mtce: controller unreachable at " + url + "/v1/"), r.err);
    }
}

BOOST_AUTO_TEST_CASE(a_client_on_another_address_needs_the_token_from_the_environment_or_the_configuration) {
    const auto address = mtce::test::non_loopback_ipv4();
    if (!address) {
        BOOST_TEST_MESSAGE("no non-loopback IPv4 address on this machine: skipped");
        return;
    }
    mtce::test::fake_backend b;
    mtce::test::api_server server{b, {}, "t0k3n", {*address, 0}};
    mtce::test::scratch s;
    const auto forbidden = mtce_with_env({"host", "lock", "worker-0", "--api", server.url()}, {}, s);
    BOOST_TEST(forbidden.exit_code == 1);
    BOOST_TEST(
        contains(forbidden.err, "mtce: cannot lock worker-0: changes over TCP need the API bearer token"),
        forbidden.err);
    BOOST_TEST(b.calls().empty());

    const auto from_env =
        mtce_with_env({"host", "lock", "worker-0", "--api", server.url()}, {"MTCE_API_TOKEN=t0k3n"}, s);
    BOOST_TEST(from_env.exit_code == 0, from_env.err);

    const auto token = s.write("token", "t0k3n\n", 0600);
    const auto config = s.write("mtce.toml", "[controller]\napi_listen = \"" + *address + ":" +
                                                 std::to_string(server.port()) + "\"\napi_token_file = \"" +
                                                 token.string() + "\"\n");
    const auto from_file = mtce_with_env({"host", "unlock", "worker-0", "--config", config.string()}, {}, s);
    BOOST_TEST(from_file.exit_code == 0, from_file.err);
    // MTCE_API_TOKEN wins over the file.
    const auto env_wins = mtce_with_env({"host", "reboot", "worker-0", "--config", config.string()},
                                        {"MTCE_API_TOKEN=wrong"}, s);
    BOOST_TEST(env_wins.exit_code == 1, env_wins.err);
    BOOST_TEST(b.calls().size() == 2u);
    for (const auto& r : {forbidden, from_env, from_file, env_wins}) {
        BOOST_TEST(!contains(r.out + r.err, "t0k3n"));
    }
}

BOOST_AUTO_TEST_CASE(the_command_line_uses_the_configured_socket_without_a_token_and_tcp_without_one) {
    mtce::test::fake_backend b;
    mtce::test::scratch s;
    mtce::api::server_options options;
    options.socket_path = (s.path() / "api.sock").string();
    mtce::test::api_server server{b, options, cli_token};
    // Changes over the socket need no token; TCP (the listen address) is not even tried.
    const auto config =
        s.write("mtce.toml", "[controller]\napi_listen = \"127.0.0.1:" + std::to_string(closed_port()) +
                                 "\"\napi_socket = \"" + options.socket_path + "\"\n");
    const auto locked = mtce_with_env({"host", "lock", "worker-0", "--config", config.string()}, {}, s);
    BOOST_TEST(locked.exit_code == 0, locked.err);
    const auto explicit_socket =
        mtce_with_env({"host", "unlock", "worker-0", "--api", "unix:" + options.socket_path}, {}, s);
    BOOST_TEST(explicit_socket.exit_code == 0, explicit_socket.err);
    BOOST_TEST(b.calls().size() == 2u);
    // No socket there: TCP, as configured, where a change without the token is refused.
    const auto tcp_config =
        s.write("tcp.toml", "[controller]\napi_listen = \"127.0.0.1:" + std::to_string(server.port()) +
                                "\"\napi_socket = \"" + (s.path() / "none.sock").string() + "\"\n");
    const auto listed = mtce_with_env({"host", "list", "--config", tcp_config.string()}, {}, s);
    BOOST_TEST(listed.exit_code == 0, listed.err);
    const auto refused = mtce_with_env({"host", "lock", "worker-0", "--config", tcp_config.string()}, {}, s);
    BOOST_TEST(refused.exit_code == 1);
    BOOST_TEST(contains(refused.err, "controller.api_socket"), refused.err);
    BOOST_TEST(b.calls().size() == 2u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(host_wait)

BOOST_AUTO_TEST_CASE(host_wait_prints_each_change_and_exits_0_once_the_state_is_reached) {
    mtce::test::fake_backend b;
    b.change_after("worker-0", 2,
                   {{"operational", "disabled"}, {"availability", "intest"}, {"task", "Testing"}});
    b.change_after("worker-0", 4, {{"operational", "enabled"}, {"availability", "available"}, {"task", ""}});
    mtce::test::api_server server{b, {}, cli_token};
    mtce::test::scratch s;
    const auto r = mtce_run({"host", "wait", "worker-0", "--state", "unlocked-enabled-available", "--timeout",
                             "60", "--api", server.url()},
                            s);
    BOOST_TEST(r.exit_code == 0, r.err);
    BOOST_TEST(r.err.empty(), r.err);
    const auto lines = lines_of(r.out);
    BOOST_REQUIRE_MESSAGE(lines.size() == 3u, r.out);
    BOOST_TEST(lines[0].ends_with(" worker-0 unlocked-enabled-degraded Heartbeat degraded"), lines[0]);
    BOOST_TEST(lines[1].ends_with(" worker-0 unlocked-disabled-intest Testing"), lines[1]);
    BOOST_TEST(lines[2].ends_with(" worker-0 unlocked-enabled-available"), lines[2]);
    BOOST_TEST(lines[0].size() > 9u);
    BOOST_TEST(lines[0][2] == ':');  // "12:03:04 "
    BOOST_TEST(b.reads_of("worker-0") == 5u);
}

BOOST_AUTO_TEST_CASE(host_wait_exits_6_when_the_timeout_passes) {
    mtce::test::fake_backend b;
    mtce::test::api_server server{b, {}, cli_token};
    mtce::test::scratch s;
    const auto start = std::chrono::steady_clock::now();
    const auto r = mtce_run({"host", "wait", "worker-0", "--state", "locked-disabled-online", "--timeout",
                             "1", "--api", server.url()},
                            s);
    const auto took = std::chrono::steady_clock::now() - start;
    BOOST_TEST(r.exit_code == 6, r.err);
    BOOST_TEST(lines_of(r.out).size() == 1u, r.out);  // the state never changed
    BOOST_TEST(contains(r.err, "mtce: worker-0 did not reach locked-disabled-online within 1 s"), r.err);
    BOOST_TEST(took >= std::chrono::seconds{1});
    BOOST_TEST(b.reads_of("worker-0") >= 2u);
}

BOOST_AUTO_TEST_CASE(host_wait_exits_3_for_an_unknown_host_or_one_deleted_during_the_wait) {
    mtce::test::fake_backend b;
    b.change_after("worker-0", 2, nullptr);
    mtce::test::api_server server{b, {}, cli_token};
    mtce::test::scratch s;
    const auto unknown =
        mtce_run({"host", "wait", "nosuch", "--state", "locked-disabled-online", "--api", server.url()}, s);
    BOOST_TEST(unknown.exit_code == 3);
    BOOST_TEST(contains(unknown.err, "no host named nosuch"), unknown.err);
    const auto deleted =
        mtce_run({"host", "wait", "worker-0", "--state", "locked-disabled-online", "--api", server.url()}, s);
    BOOST_TEST(deleted.exit_code == 3);
    BOOST_TEST(contains(deleted.err, "mtce: worker-0: the host was deleted"), deleted.err);
}

BOOST_AUTO_TEST_CASE(host_wait_with_a_bad_state_exits_2_without_asking) {
    mtce::test::fake_backend b;
    mtce::test::api_server server{b, {}, cli_token};
    mtce::test::scratch s;
    for (const char* state : {"unlocked-enabled", "up-enabled-available", "locked-disabled-power"}) {
        const auto r = mtce_run({"host", "wait", "worker-0", "--state", state, "--api", server.url()}, s);
        BOOST_TEST(r.exit_code == 2, state);
        BOOST_TEST(contains(r.err, std::string{"--state '"} + state + "'"), r.err);
    }
    BOOST_TEST(b.reads_of("worker-0") == 0u);
}

BOOST_AUTO_TEST_CASE(host_wait_keeps_waiting_through_a_controller_restart) {
    mtce::test::scratch s;
    const auto port = closed_port();
    const auto url = "http://127.0.0.1:" + std::to_string(port);
    mtce::test::process waiting{{MTCE_BINARY, "host", "wait", "worker-0", "--state",
                                 "unlocked-enabled-degraded", "--timeout", "120", "--api", url},
                                s.path() / "out",
                                s.path() / "err"};
    BOOST_TEST(
        contains(wait_for_text(s.path() / "err", "still waiting"), "controller unreachable at " + url));
    mtce::test::fake_backend b;
    mtce::test::api_server server{b, {}, "", {"127.0.0.1", port}};
    const auto code = waiting.exit_code(std::chrono::seconds{60});
    BOOST_TEST(code.value_or(-2) == 0);
    const auto err = s.read("err");
    BOOST_TEST(count_of(err, "controller unreachable") == 1u, err);
    BOOST_TEST(contains(s.read("out"), " worker-0 unlocked-enabled-degraded Heartbeat degraded\n"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(alarms_and_events)

BOOST_AUTO_TEST_CASE(alarm_list_prints_a_table_or_exactly_the_apis_document) {
    mtce::test::fake_backend b;
    const json alarms = json::array({{{"id", "200.004"},
                                      {"host", "worker-0"},
                                      {"severity", "critical"},
                                      {"since", 1700000000000},
                                      {"reason", "heartbeat lost"}}});
    b.set_alarms(alarms);
    mtce::test::api_server server{b, {}, cli_token};
    mtce::test::scratch s;
    const auto table = mtce_with_env({"alarm", "list", "--api", server.url()}, {"TZ=UTC0"}, s);
    BOOST_TEST(table.exit_code == 0, table.err);
    BOOST_TEST(table.out.starts_with("ID "), table.out);
    BOOST_TEST(
        contains(table.out, "200.004  worker-0  critical  2023-11-14T22:13:20+00:00  heartbeat lost\n"),
        table.out);
    const auto doc = mtce_run({"alarm", "list", "--json", "--api", server.url()}, s);
    BOOST_TEST(doc.exit_code == 0, doc.err);
    BOOST_TEST(json::parse(doc.out) == alarms);
    BOOST_TEST(doc.err.empty());
}

BOOST_AUTO_TEST_CASE(event_list_reads_every_page_and_prints_a_table_or_one_json_array) {
    mtce::test::fake_backend b;
    for (int i = 1; i <= 1005; ++i) {
        b.add_event(i % 2 == 0 ? "worker-0" : "", "state", "event number " + std::to_string(i));
    }
    mtce::test::api_server server{b, {}, cli_token};
    mtce::test::scratch s;
    const auto doc = mtce_run({"event", "list", "--json", "--api", server.url()}, s);
    BOOST_TEST(doc.exit_code == 0, doc.err);
    const auto all = json::parse(doc.out);
    BOOST_REQUIRE(all.size() == 1005u);
    BOOST_TEST(all[1004]["text"] == "event number 1005");
    const auto queries = b.event_queries();
    BOOST_REQUIRE(queries.size() == 2u);
    BOOST_TEST(queries[1].first == 1000u);

    const auto table = mtce_run({"event", "list", "--api", server.url()}, s);
    BOOST_TEST(table.exit_code == 0, table.err);
    const auto lines = lines_of(table.out);
    BOOST_REQUIRE(lines.size() == 1006u);
    BOOST_TEST(lines[0].starts_with("ID      TIME"), lines[0]);
    BOOST_TEST(lines[1005].starts_with("1005    "), lines[1005]);
    BOOST_TEST(lines[1005].ends_with("  state             event number 1005"), lines[1005]);
}

BOOST_AUTO_TEST_CASE(event_list_follow_prints_events_added_later_and_stops_on_sigterm) {
    mtce::test::fake_backend b;
    b.add_event("worker-0", "state", "first event");
    mtce::test::api_server server{b, {}, cli_token};
    mtce::test::scratch s;
    mtce::test::process follower{{MTCE_BINARY, "event", "list", "--follow", "--api", server.url()},
                                 s.path() / "out",
                                 s.path() / "err"};
    BOOST_TEST(contains(wait_for_text(s.path() / "out", "first event"), "first event"));
    b.add_event("worker-1", "alarm", "second event");
    const auto out = wait_for_text(s.path() / "out", "second event");
    BOOST_TEST(contains(out, "second event"), out);
    follower.signal(SIGTERM);
    BOOST_TEST(follower.exit_code(std::chrono::seconds{30}).value_or(-2) == 0);
    const auto lines = lines_of(s.read("out"));
    BOOST_REQUIRE(lines.size() == 3u);
    BOOST_TEST(lines[0].starts_with("ID "));
    BOOST_TEST(lines[1].starts_with("1 "));
    BOOST_TEST(lines[2].starts_with("2 "));
    BOOST_TEST(s.read("err").empty());
}

BOOST_AUTO_TEST_CASE(event_list_json_follow_prints_one_json_object_per_line_and_stops_on_sigint) {
    mtce::test::fake_backend b;
    b.add_event("worker-0", "state", "first event");
    mtce::test::api_server server{b, {}, cli_token};
    mtce::test::scratch s;
    mtce::test::process follower{{MTCE_BINARY, "event", "list", "--json", "--follow", "--api", server.url()},
                                 s.path() / "out",
                                 s.path() / "err"};
    (void)wait_for_text(s.path() / "out", "first event");
    b.add_event("worker-1", "alarm", "second\nevent");
    (void)wait_for_text(s.path() / "out", "second\\nevent");
    follower.signal(SIGINT);
    BOOST_TEST(follower.exit_code(std::chrono::seconds{30}).value_or(-2) == 0);
    const auto lines = lines_of(s.read("out"));
    BOOST_REQUIRE(lines.size() == 2u);
    BOOST_TEST(json::parse(lines[0])["text"] == "first event");
    BOOST_TEST(json::parse(lines[1])["text"] == "second\nevent");
    BOOST_TEST(json::parse(lines[1])["id"] == 2);
}

BOOST_AUTO_TEST_SUITE_END()
