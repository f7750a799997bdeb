#define BOOST_TEST_MODULE core_config_test
#include "core/config.hpp"

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>

#include <boost/test/unit_test.hpp>

namespace fs = std::filesystem;
using mtce::role;

namespace {

/// A scratch directory removed at the end of the test.
struct scratch {
    fs::path dir;
    scratch() {
        std::string tmpl = (fs::temp_directory_path() / "mtce-config-test.XXXXXX").string();
        BOOST_REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
        dir = tmpl;
    }
    ~scratch() { fs::remove_all(dir); }
    fs::path write(const std::string& name, const std::string& text, mode_t mode = 0600) {
        const auto p = dir / name;
        std::ofstream{p} << text;
        ::chmod(p.c_str(), mode);
        return p;
    }
};

std::string only_error(const tl::expected<mtce::config, mtce::config_errors>& r) {
    BOOST_REQUIRE(!r.has_value());
    BOOST_REQUIRE_EQUAL(r.error().size(), 1u);
    return r.error().front().to_string();
}

}  // namespace

BOOST_AUTO_TEST_CASE(defaults_follow_the_reference_when_the_file_is_empty) {
    auto cfg = mtce::parse_config("", "t.toml", role::worker);
    BOOST_REQUIRE(cfg.has_value());
    BOOST_TEST(cfg->heartbeat.period_ms == 100u);
    BOOST_TEST(cfg->heartbeat.minor_threshold == 4u);
    BOOST_TEST(cfg->heartbeat.degrade_threshold == 6u);
    BOOST_TEST(cfg->heartbeat.failure_threshold == 10u);
    BOOST_TEST((cfg->heartbeat.mode == mtce::heartbeat_mode::multicast));
    BOOST_TEST(cfg->host.goenabled_timeout.count() == 600000);
    BOOST_TEST(cfg->host.services_timeout.count() == 300000);
    BOOST_TEST(cfg->host.mtcalive_period.count() == 5000);
    BOOST_TEST(cfg->controller.api_listen == "127.0.0.1:2112");
    BOOST_TEST(cfg->dor.detect_s == 1200u);
    BOOST_TEST(cfg->mnfa.threshold == 2u);
    BOOST_TEST(cfg->mgmt.agent_port == 2118);
    BOOST_TEST(!cfg->agent.hostname.empty());
}

BOOST_AUTO_TEST_CASE(role_fragments_set_role_specific_defaults) {
    auto storage = mtce::parse_config("", "t.toml", role::storage);
    auto worker = mtce::parse_config("", "t.toml", role::worker);
    BOOST_REQUIRE(storage && worker);
    BOOST_TEST(storage->host.goenabled_timeout.count() == 900000);
    BOOST_TEST(worker->host.goenabled_timeout.count() == 600000);
}

BOOST_AUTO_TEST_CASE(values_in_the_file_override_defaults) {
    auto cfg = mtce::parse_config(
        "[heartbeat]\nperiod_ms = 250\nmode = \"unicast\"\n"
        "[host]\nservices_timeout = \"90s\"\ngoenabled_timeout = 30\n"
        "[agent]\nhostname = \"worker-7\"\n",
        "t.toml", role::worker);
    BOOST_REQUIRE(cfg.has_value());
    BOOST_TEST(cfg->heartbeat.period_ms == 250u);
    BOOST_TEST((cfg->heartbeat.mode == mtce::heartbeat_mode::unicast));
    BOOST_TEST(cfg->host.services_timeout.count() == 90000);
    BOOST_TEST(cfg->host.goenabled_timeout.count() == 30000);
    BOOST_TEST(cfg->agent.hostname == "worker-7");
}

BOOST_AUTO_TEST_CASE(an_unknown_key_is_named_with_its_file_and_line) {
    auto r = mtce::parse_config("[heartbeat]\nperiod_ms = 100\nperiod = 5\n", "site.toml", role::worker);
    BOOST_TEST(only_error(r) == "site.toml:3: heartbeat.period: unknown key");
}

BOOST_AUTO_TEST_CASE(an_unknown_section_is_an_unknown_key) {
    auto r = mtce::parse_config("\n[heartbeats]\nperiod_ms = 100\n", "site.toml", role::worker);
    BOOST_TEST(only_error(r) == "site.toml:2: heartbeats: unknown key");
}

BOOST_AUTO_TEST_CASE(a_wrong_type_says_what_was_expected) {
    auto r = mtce::parse_config("[heartbeat]\nperiod_ms = \"fast\"\n", "site.toml", role::worker);
    BOOST_TEST(only_error(r) == "site.toml:2: heartbeat.period_ms: expected an integer, found a string");
}

BOOST_AUTO_TEST_CASE(an_out_of_range_period_is_refused) {
    auto r = mtce::parse_config("[heartbeat]\nperiod_ms = 5\n", "site.toml", role::worker);
    BOOST_TEST(only_error(r) == "site.toml:2: heartbeat.period_ms: 5 is out of range [10, 60000]");
}

BOOST_AUTO_TEST_CASE(a_bad_duration_names_the_unit_problem) {
    auto r = mtce::parse_config("[host]\nservices_timeout = \"5 minutes\"\n", "site.toml", role::worker);
    BOOST_TEST(only_error(r) ==
               "site.toml:2: host.services_timeout: unknown unit ' minutes' (use ms, s, m or h)");
}

BOOST_AUTO_TEST_CASE(thresholds_must_rise_from_minor_to_failure) {
    auto r = mtce::parse_config("[heartbeat]\ndegrade_threshold = 12\n", "site.toml", role::worker);
    BOOST_TEST(only_error(r) ==
               "site.toml:2: heartbeat.degrade_threshold: thresholds must rise: "
               "minor (4) < degrade (12) < failure (10)");
}

BOOST_AUTO_TEST_CASE(a_syntax_error_gives_the_line) {
    auto r = mtce::parse_config("[agent]\nhostname = \n", "site.toml", role::worker);
    BOOST_REQUIRE(!r.has_value());
    BOOST_TEST(r.error().front().line == 2u);
    BOOST_TEST(r.error().front().file == "site.toml");
}

BOOST_AUTO_TEST_CASE(every_problem_is_reported_not_only_the_first) {
    auto r = mtce::parse_config("[agent]\nhostname = \"-bad-\"\n[host]\nrun_dir = \"relative\"\n", "s.toml",
                                role::worker);
    BOOST_REQUIRE(!r.has_value());
    BOOST_REQUIRE_EQUAL(r.error().size(), 2u);
    BOOST_TEST(
        r.error()[0].to_string() ==
        "s.toml:2: agent.hostname: '-bad-' is not a valid host name (RFC 1123, at most 63 characters)");
    BOOST_TEST(r.error()[1].to_string() == "s.toml:4: host.run_dir: 'relative' is not an absolute path");
}

BOOST_AUTO_TEST_CASE(addresses_and_listen_endpoints_are_validated) {
    BOOST_TEST(
        only_error(mtce::parse_config("[network.mgmt]\naddress = \"10.0.0.300\"\n", "s", role::worker)) ==
        "s:2: network.mgmt.address: '10.0.0.300' is not an IPv4 or IPv6 address");
    BOOST_TEST(only_error(mtce::parse_config("[network.cluster]\nmulticast_group = \"10.1.1.1\"\n", "s",
                                             role::worker)) ==
               "s:2: network.cluster.multicast_group: '10.1.1.1' is not a multicast address");
    BOOST_TEST(
        only_error(mtce::parse_config("[controller]\napi_listen = \"localhost\"\n", "s", role::worker)) ==
        "s:2: controller.api_listen: 'localhost' is not of the form ADDRESS:PORT (IPv6 as [ADDRESS]:PORT)");
    BOOST_TEST(
        mtce::parse_config("[controller]\napi_listen = \"[::1]:2112\"\n", "s", role::worker).has_value());
    for (const char* unbracketed : {"::1:2112", "[127.0.0.1]:2112"}) {
        const auto text = std::string{"[controller]\napi_listen = \""} + unbracketed + "\"\n";
        BOOST_TEST(only_error(mtce::parse_config(text, "s", role::worker)) ==
                       "s:2: controller.api_listen: '" + std::string{unbracketed} +
                           "' is not of the form ADDRESS:PORT (IPv6 as [ADDRESS]:PORT)",
                   unbracketed);
    }
}

BOOST_AUTO_TEST_CASE(monitored_hosts_are_read_in_file_order_with_their_addresses) {
    const auto c = mtce::parse_config(
        "[network.mgmt]\naddress = \"10.0.0.1\"\n"
        "[[controller.hosts]]\nname = \"worker-0\"\nmgmt_ip = \"10.0.0.10\"\ncluster_ip = \"10.1.0.10\"\n"
        "[[controller.hosts]]\nname = \"storage-0\"\npersonality = \"storage\"\nmgmt_ip = \"10.0.0.20\"\n",
        "s", role::controller);
    BOOST_REQUIRE(c.has_value());
    BOOST_REQUIRE_EQUAL(c->controller.hosts.size(), 2u);
    BOOST_TEST(c->controller.hosts[0].name == "worker-0");
    BOOST_TEST((c->controller.hosts[0].personality == role::worker));
    BOOST_TEST(c->controller.hosts[0].cluster_ip == "10.1.0.10");
    BOOST_TEST((c->controller.hosts[1].personality == role::storage));
    BOOST_TEST(c->controller.hosts[1].cluster_ip.empty());
}

BOOST_AUTO_TEST_CASE(a_bad_monitored_host_names_the_line_of_its_table) {
    const std::string head = "[network.mgmt]\naddress = \"10.0.0.1\"\n";
    auto error = [&](const std::string& body) {
        return only_error(mtce::parse_config(head + body, "s", role::controller));
    };
    const std::string w0 = "[[controller.hosts]]\nname = \"worker-0\"\nmgmt_ip = \"10.0.0.10\"\n";
    BOOST_TEST(error(w0 + w0).find("entry at line 6: host 'worker-0' is listed twice") != std::string::npos);
    BOOST_TEST(error(w0 + "[[controller.hosts]]\nname = \"worker-1\"\nmgmt_ip = \"10.0.0.10\"\n")
                   .find("address 10.0.0.10 is used twice") != std::string::npos);
    BOOST_TEST(error("[[controller.hosts]]\nname = \"worker-0\"\n").find("needs mgmt_ip or cluster_ip") !=
               std::string::npos);
    BOOST_TEST(error("[[controller.hosts]]\nname = \"bad name\"\nmgmt_ip = \"10.0.0.10\"\n")
                   .find("name: must be a host name") != std::string::npos);
    BOOST_TEST(error("[[controller.hosts]]\nname = \"w\"\nmgmt_ip = \"10.0.0.10\"\nrack = 3\n")
                   .find("unknown key 'rack'") != std::string::npos);
    BOOST_TEST(
        error("[[controller.hosts]]\nname = \"w\"\npersonality = \"router\"\nmgmt_ip = \"10.0.0.10\"\n")
            .find("personality: must be") != std::string::npos);
    BOOST_TEST(error("[controller]\nhosts = 3\n").find("controller.hosts") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_controller_with_hosts_but_no_address_of_its_own_is_refused) {
    BOOST_TEST(only_error(mtce::parse_config("[[controller.hosts]]\nname = \"w\"\nmgmt_ip = \"10.0.0.10\"\n",
                                             "s", role::controller))
                   .find("controller.hosts: monitoring hosts needs this controller's") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(only_a_controller_can_have_the_worker_subfunction) {
    auto aio = mtce::parse_config("[agent]\nsubfunctions = [\"worker\"]\n", "s", role::controller);
    BOOST_REQUIRE(aio.has_value());
    BOOST_TEST(aio->has_worker_subfunction());
    BOOST_TEST(aio->functions().size() == 2u);
    BOOST_TEST(only_error(mtce::parse_config("[agent]\nsubfunctions = [\"worker\"]\n", "s", role::worker)) ==
               "s:2: agent.subfunctions: only a controller can have the worker subfunction");
    BOOST_TEST(
        only_error(mtce::parse_config("[agent]\nsubfunctions = [\"storage\"]\n", "s", role::controller)) ==
        "s:2: agent.subfunctions: the only subfunction is \"worker\" (an all-in-one controller)");
}

BOOST_AUTO_TEST_CASE(a_key_file_readable_by_others_is_refused) {
    scratch s;
    const auto key = s.write("cluster.key", "0123456789abcdef0123456789abcdef\n", 0644);
    const auto text = "[auth]\nkey_file = \"" + key.string() + "\"\n";
    BOOST_TEST(only_error(mtce::parse_config(text, "s.toml", role::worker)) ==
               "s.toml:2: auth.key_file: '" + key.string() +
                   "' is readable by others (mode 0644); run: chmod 600 '" + key.string() + "'");
    ::chmod(key.c_str(), 0600);
    BOOST_TEST(mtce::parse_config(text, "s.toml", role::worker).has_value());
}

BOOST_AUTO_TEST_CASE(an_unreadable_file_is_an_error_naming_it) {
    auto r = mtce::load_config("/nonexistent/mtce.toml", role::worker);
    BOOST_TEST(only_error(r) ==
               "/nonexistent/mtce.toml: cannot read the configuration: No such file or directory");
}

BOOST_AUTO_TEST_CASE(reload_keeps_the_old_config_when_the_new_one_is_bad) {
    scratch s;
    const auto path = s.write("mtce.toml", "[heartbeat]\nperiod_ms = 200\n");
    auto first = mtce::load_config(path, role::worker);
    BOOST_REQUIRE(first.has_value());
    mtce::config_store store{path, role::worker, std::move(*first)};
    s.write("mtce.toml", "[heartbeat]\nperiod_ms = 0\n");
    auto result = store.reload();
    BOOST_TEST(!result.has_value());
    BOOST_TEST(store.current()->heartbeat.period_ms == 200u);
    s.write("mtce.toml", "[heartbeat]\nperiod_ms = 300\n");
    BOOST_TEST(store.reload().has_value());
    BOOST_TEST(store.current()->heartbeat.period_ms == 300u);
}

BOOST_AUTO_TEST_CASE(the_shipped_configuration_is_valid_for_every_role) {
    for (auto r : {role::controller, role::worker, role::storage}) {
        auto cfg = mtce::load_config(fs::path{MTCE_SOURCE_DIR} / "etc/mtce/mtce.toml", r);
        BOOST_TEST(cfg.has_value());
    }
}
