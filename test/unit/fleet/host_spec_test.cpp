#define BOOST_TEST_MODULE fleet_host_spec_test
#include "fleet/host_spec.hpp"

#include <string>

#include <boost/test/unit_test.hpp>

#include "api/backend.hpp"

using mtce::role;
using mtce::api::add_host_request;
using mtce::fleet::validate_host;

namespace mtce {
std::ostream& operator<<(std::ostream& os, role r) {
    return os << to_string(r);
}
}  // namespace mtce

namespace {

add_host_request worker(std::string name = "worker-0") {
    add_host_request r;
    r.name = std::move(name);
    r.personality = "worker";
    r.mgmt_ip = "10.0.0.10";
    return r;
}

add_host_request with_bmc(std::string type, std::string address) {
    auto r = worker();
    r.bmc_type = std::move(type);
    r.bmc_address = std::move(address);
    r.bmc_username = "admin";
    r.bmc_password = "s3cret!";
    return r;
}

/// The reason a request is refused; fails the test if it is accepted.
std::string refusal(const add_host_request& r) {
    const auto spec = validate_host(r);
    BOOST_REQUIRE_MESSAGE(!spec.has_value(), "the request was accepted");
    BOOST_TEST_MESSAGE("refused: " << spec.error());
    return spec.error();
}

bool has(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(names)

BOOST_AUTO_TEST_CASE(a_plain_worker_is_accepted_with_its_fields) {
    auto r = worker();
    r.cluster_ip = "192.168.206.10";
    const auto spec = validate_host(r);
    BOOST_REQUIRE_MESSAGE(spec.has_value(), spec.error());
    BOOST_TEST(spec->name == "worker-0");
    BOOST_TEST(spec->personality == role::worker);
    BOOST_TEST((spec->functions == std::vector<role>{role::worker}));
    BOOST_TEST(spec->mgmt_ip == "10.0.0.10");
    BOOST_TEST(spec->cluster_ip == "192.168.206.10");
    BOOST_TEST(spec->bmc.type == "none");
    BOOST_TEST(spec->bmc.address.empty());
    BOOST_TEST(spec->bmc.username.empty());
    BOOST_TEST(!spec->has_worker_subfunction());
}

BOOST_AUTO_TEST_CASE(dotted_names_and_names_of_63_characters_are_accepted) {
    BOOST_TEST(validate_host(worker("compute-1.rack2.example")).has_value());
    BOOST_TEST(validate_host(worker(std::string(63, 'a'))).has_value());
    BOOST_TEST(validate_host(worker("W0")).has_value());
}

BOOST_AUTO_TEST_CASE(an_invalid_name_is_refused_with_the_name_quoted) {
    const auto reason = refusal(worker("Worker_0"));
    BOOST_TEST(reason == "name 'Worker_0' is not a valid host name (1 to 63 letters, digits, '-' and '.')");
    for (const auto* bad : {"-worker", "worker-", "a..b", ".a", "a.", "work er", "wörker"}) {
        BOOST_TEST(has(refusal(worker(bad)), "name '"), bad);
    }
    BOOST_TEST(has(refusal(worker(std::string(64, 'a'))), "name 'aaaa"));
}

BOOST_AUTO_TEST_CASE(an_empty_name_is_refused_as_required) {
    BOOST_TEST(has(refusal(worker("")), "name is required"));
}

BOOST_AUTO_TEST_CASE(control_characters_in_a_quoted_value_are_escaped_and_long_values_cut) {
    const auto reason = refusal(worker(std::string{"a\nb\x01", 4}));
    BOOST_TEST(has(reason, "name 'a\\x0ab\\x01'"));
    BOOST_TEST(reason.find('\n') == std::string::npos);
    const auto long_reason = refusal(worker(std::string(500, '_')));
    BOOST_TEST(has(long_reason, std::string(80, '_') + "...'"));
    BOOST_TEST(!has(long_reason, std::string(81, '_')));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(functions)

BOOST_AUTO_TEST_CASE(every_personality_is_accepted) {
    for (const auto* p : {"controller", "worker", "storage"}) {
        auto r = worker();
        r.personality = p;
        const auto spec = validate_host(r);
        BOOST_REQUIRE_MESSAGE(spec.has_value(), spec.error());
        BOOST_TEST(to_string(spec->personality) == p);
        BOOST_TEST(spec->functions.size() == 1u);
    }
}

BOOST_AUTO_TEST_CASE(an_unknown_or_missing_personality_is_refused_naming_the_field) {
    auto r = worker();
    r.personality = "compute";
    BOOST_TEST(refusal(r) == "personality 'compute' is not one of controller, worker or storage");
    r.personality = "Worker";
    BOOST_TEST(has(refusal(r), "personality 'Worker'"));
    r.personality = "";
    BOOST_TEST(has(refusal(r), "personality is required"));
}

BOOST_AUTO_TEST_CASE(an_all_in_one_controller_has_the_worker_function_after_its_main_one) {
    auto r = worker("controller-0");
    r.personality = "controller";
    r.subfunctions = {"worker"};
    auto spec = validate_host(r);
    BOOST_REQUIRE_MESSAGE(spec.has_value(), spec.error());
    BOOST_TEST((spec->functions == std::vector<role>{role::controller, role::worker}));
    BOOST_TEST(spec->has_worker_subfunction());

    r.subfunctions = {"worker", "controller"};  // the personality may be listed, in any place
    spec = validate_host(r);
    BOOST_REQUIRE_MESSAGE(spec.has_value(), spec.error());
    BOOST_TEST((spec->functions == std::vector<role>{role::controller, role::worker}));
}

BOOST_AUTO_TEST_CASE(the_personality_listed_as_a_subfunction_is_dropped) {
    auto r = worker();
    r.subfunctions = {"worker"};
    const auto spec = validate_host(r);
    BOOST_REQUIRE_MESSAGE(spec.has_value(), spec.error());
    BOOST_TEST((spec->functions == std::vector<role>{role::worker}));
}

BOOST_AUTO_TEST_CASE(a_subfunction_that_is_not_a_function_is_refused) {
    auto r = worker();
    r.subfunctions = {"lowlatency"};
    BOOST_TEST(refusal(r) ==
               "subfunctions entry 'lowlatency' is not a function (controller, worker or storage)");
    r.subfunctions = {""};
    BOOST_TEST(has(refusal(r), "subfunctions entry ''"));
}

BOOST_AUTO_TEST_CASE(only_a_controller_may_have_a_subfunction_and_only_worker) {
    auto r = worker();
    r.subfunctions = {"storage"};
    BOOST_TEST(has(refusal(r), "subfunctions entry 'storage' is not allowed on a worker"));
    r.personality = "storage";
    r.subfunctions = {"worker"};
    BOOST_TEST(has(refusal(r), "subfunctions entry 'worker' is not allowed on a storage"));
    r.personality = "controller";
    r.subfunctions = {"storage"};
    BOOST_TEST(has(refusal(r), "subfunctions entry 'storage' is not allowed"));
}

BOOST_AUTO_TEST_CASE(a_subfunction_listed_twice_is_refused) {
    auto r = worker("controller-0");
    r.personality = "controller";
    r.subfunctions = {"worker", "worker"};
    BOOST_TEST(refusal(r) == "subfunctions lists 'worker' twice");
    r.subfunctions = {"controller", "controller"};
    BOOST_TEST(has(refusal(r), "subfunctions lists 'controller' twice"));
}

BOOST_AUTO_TEST_CASE(functions_print_and_parse_as_a_comma_separated_list) {
    using mtce::fleet::parse_functions;
    BOOST_TEST(mtce::fleet::to_string(std::vector<role>{role::controller, role::worker}) ==
               "controller,worker");
    BOOST_TEST(mtce::fleet::to_string(std::vector<role>{role::storage}) == "storage");
    BOOST_TEST((parse_functions("controller,worker") == std::vector<role>{role::controller, role::worker}));
    BOOST_TEST(!parse_functions("").has_value());
    BOOST_TEST(!parse_functions("controller,").has_value());
    BOOST_TEST(!parse_functions("controller,lowlatency").has_value());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(addresses)

BOOST_AUTO_TEST_CASE(addresses_are_stored_in_canonical_form) {
    auto r = worker();
    r.mgmt_ip = "FD00:0:0::0010";
    r.cluster_ip = "fd01::0:1";
    const auto spec = validate_host(r);
    BOOST_REQUIRE_MESSAGE(spec.has_value(), spec.error());
    BOOST_TEST(spec->mgmt_ip == "fd00::10");
    BOOST_TEST(spec->cluster_ip == "fd01::1");
    BOOST_TEST(mtce::fleet::canonical_ip("127.0.0.1").value_or("") == "127.0.0.1");
    BOOST_TEST(!mtce::fleet::canonical_ip("localhost").has_value());
}

BOOST_AUTO_TEST_CASE(a_missing_mgmt_ip_is_refused_as_required) {
    auto r = worker();
    r.mgmt_ip = "";
    BOOST_TEST(has(refusal(r), "mgmt_ip is required"));
}

BOOST_AUTO_TEST_CASE(an_mgmt_ip_that_is_not_a_numeric_address_is_refused) {
    for (const auto* bad : {"worker-0", "10.0.0", "10.0.0.256", "010.0.0.1", "10.0.0.1/24", "fe80::1%eth0",
                            " 10.0.0.1", "10.0.0.1:80"}) {
        auto r = worker();
        r.mgmt_ip = bad;
        BOOST_TEST(refusal(r) == "mgmt_ip '" + std::string{bad} + "' is not a numeric IPv4 or IPv6 address",
                   bad);
    }
    auto r = worker();
    r.mgmt_ip = std::string{"10.0.0.1\0x", 10};  // inet_pton would stop at the NUL
    BOOST_TEST(has(refusal(r), "mgmt_ip '10.0.0.1\\x00x'"));
}

BOOST_AUTO_TEST_CASE(addresses_that_no_host_can_have_are_refused) {
    for (const auto* bad : {"0.0.0.0", "::", "224.0.0.1", "239.1.1.2", "255.255.255.255", "ff02::1"}) {
        auto r = worker();
        r.mgmt_ip = bad;
        BOOST_TEST(has(refusal(r), "mgmt_ip '" + std::string{bad} + "' is "), bad);
        r = worker();
        r.cluster_ip = bad;
        BOOST_TEST(has(refusal(r), "cluster_ip '" + std::string{bad} + "' is "), bad);
    }
    auto r = worker();
    r.mgmt_ip = "127.0.0.5";  // loopback hosts: the simulator and the integration tests
    BOOST_TEST(validate_host(r).has_value());
}

BOOST_AUTO_TEST_CASE(a_cluster_ip_that_is_not_an_address_is_refused) {
    auto r = worker();
    r.cluster_ip = "cluster-0";
    BOOST_TEST(refusal(r) == "cluster_ip 'cluster-0' is not a numeric IPv4 or IPv6 address");
}

BOOST_AUTO_TEST_CASE(a_cluster_ip_equal_to_the_mgmt_ip_is_refused_even_when_spelt_differently) {
    auto r = worker();
    r.mgmt_ip = "fd00::10";
    r.cluster_ip = "FD00:0::10";
    BOOST_TEST(refusal(r) == "cluster_ip 'FD00:0::10' is the same address as mgmt_ip 'fd00::10'");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(bmc)

BOOST_AUTO_TEST_CASE(no_bmc_type_and_none_mean_none) {
    auto r = worker();
    r.bmc_type = "none";
    auto spec = validate_host(r);
    BOOST_REQUIRE_MESSAGE(spec.has_value(), spec.error());
    BOOST_TEST(spec->bmc.type == "none");
    r.bmc_type = "";
    spec = validate_host(r);
    BOOST_REQUIRE_MESSAGE(spec.has_value(), spec.error());
    BOOST_TEST(spec->bmc.type == "none");
}

BOOST_AUTO_TEST_CASE(bmc_fields_without_a_bmc_type_are_refused_naming_each_field) {
    auto r = worker();
    r.bmc_address = "10.0.1.10";
    BOOST_TEST(refusal(r) == "bmc_address '10.0.1.10' is given but bmc_type is 'none'");
    r = worker();
    r.bmc_type = "none";
    r.bmc_username = "admin";
    BOOST_TEST(refusal(r) == "bmc_username 'admin' is given but bmc_type is 'none'");
    r = worker();
    r.bmc_password = "hunter2";
    const auto reason = refusal(r);
    BOOST_TEST(reason == "bmc_password is given but bmc_type is 'none'");
}

BOOST_AUTO_TEST_CASE(an_unknown_bmc_type_is_refused) {
    auto r = with_bmc("idrac", "10.0.1.10");
    BOOST_TEST(refusal(r) == "bmc_type 'idrac' is not one of none, redfish, ipmi or auto");
    r.bmc_type = "Redfish";
    BOOST_TEST(has(refusal(r), "bmc_type 'Redfish'"));
}

BOOST_AUTO_TEST_CASE(redfish_and_ipmi_bmcs_are_accepted_with_every_address_form) {
    const std::pair<const char*, const char*> cases[] = {
        {"10.0.1.10", "10.0.1.10"},
        {"10.0.1.10:8443", "10.0.1.10:8443"},
        {"10.0.1.10:00443", "10.0.1.10:443"},
        {"fd00::1:10", "fd00::1:10"},
        {"FD00:0::10", "fd00::10"},
        {"[fd00::10]", "fd00::10"},
        {"[FD00::10]:443", "[fd00::10]:443"},
        {"bmc-0", "bmc-0"},
        {"bmc-0.rack1.example.com", "bmc-0.rack1.example.com"},
        {"bmc-0.rack1.example.com:623", "bmc-0.rack1.example.com:623"},
        {"1bmc.example", "1bmc.example"},
        {"localhost:1", "localhost:1"},
        {"bmc:65535", "bmc:65535"},
    };
    for (const auto* type : {"redfish", "ipmi"}) {
        for (const auto& [given, stored] : cases) {
            const auto spec = validate_host(with_bmc(type, given));
            BOOST_REQUIRE_MESSAGE(spec.has_value(), given << ": " << spec.error());
            BOOST_TEST(spec->bmc.type == type);
            BOOST_TEST(spec->bmc.address == stored, given);
            BOOST_TEST(spec->bmc.username == "admin");
        }
    }
}

BOOST_AUTO_TEST_CASE(a_bmc_without_an_address_is_refused) {
    auto r = with_bmc("redfish", "");
    BOOST_TEST(refusal(r) == "bmc_address is required when bmc_type is 'redfish'");
}

BOOST_AUTO_TEST_CASE(invalid_bmc_addresses_are_refused_with_the_address_quoted) {
    for (const auto* bad : {"bmc_0",           "-bmc",           "bmc-",
                            "bmc..example",    "bmc.",           "10.0.1",
                            "10.0.1.300",      "10.0.1.10:0",    "10.0.1.10:65536",
                            "10.0.1.10:",      "10.0.1.10:http", "bmc:-1",
                            "[10.0.1.10]:443", "[fd00::10",      "[fd00::10]443",
                            "[bmc]:443",       "fd00::10]:443",  "https://10.0.1.10",
                            "bmc/redfish",     "0.0.0.0",        "[::]:443",
                            "224.0.0.1:623",   "b\xc3\xa4mc",    "example.123"}) {
        BOOST_TEST(has(refusal(with_bmc("redfish", bad)), "bmc_address '"), bad);
    }
    BOOST_TEST(has(refusal(with_bmc("ipmi", std::string(254, 'a'))), "bmc_address 'aaaa"));
    BOOST_TEST(has(refusal(with_bmc("ipmi", std::string(64, 'a') + ".example")), "bmc_address 'aaaa"));
    BOOST_TEST(validate_host(with_bmc("ipmi", std::string(63, 'a') + ".example")).has_value());
}

BOOST_AUTO_TEST_CASE(the_bmc_username_must_be_1_to_64_printable_characters) {
    auto r = with_bmc("ipmi", "10.0.1.10");
    r.bmc_username = "";
    BOOST_TEST(refusal(r) == "bmc_username is required when bmc_type is 'ipmi'");
    r.bmc_username = std::string(65, 'u');
    BOOST_TEST(has(refusal(r), "bmc_username 'uuuu"));
    r.bmc_username = "ad\tmin";
    BOOST_TEST(refusal(r) == "bmc_username 'ad\\x09min' is not 1 to 64 printable ASCII characters");
    r.bmc_username = std::string(64, 'u');
    BOOST_TEST(validate_host(r).has_value());
    r.bmc_username = "Domain Admin~1";
    BOOST_TEST(validate_host(r).has_value());
}

BOOST_AUTO_TEST_CASE(the_bmc_password_must_be_1_to_256_bytes_without_nul_or_newline) {
    auto r = with_bmc("redfish", "10.0.1.10");
    r.bmc_password = "";
    BOOST_TEST(refusal(r) == "bmc_password is required when bmc_type is 'redfish'");
    r.bmc_password = std::string(257, 'p');
    BOOST_TEST(refusal(r) == "bmc_password is 257 bytes long, more than the 256 allowed");
    r.bmc_password = "line\nbreak";
    BOOST_TEST(refusal(r) == "bmc_password contains a NUL or newline character");
    r.bmc_password = std::string{"nul\0byte", 8};
    BOOST_TEST(refusal(r) == "bmc_password contains a NUL or newline character");
    r.bmc_password = std::string(256, 'p');
    BOOST_TEST(validate_host(r).has_value());
    r.bmc_password = "sp ace\tand \xc3\xa4 unicode";  // anything else is the BMC's business
    BOOST_TEST(validate_host(r).has_value());
}

BOOST_AUTO_TEST_CASE(no_reason_ever_contains_the_bmc_password) {
    const std::string password = "Pa55-word-XYZ";
    auto base = with_bmc("redfish", "10.0.1.10");
    base.bmc_password = password;
    std::vector<add_host_request> requests;
    const auto refused_with = [&](auto change) {
        auto r = base;
        change(r);
        requests.push_back(r);
    };
    refused_with([](add_host_request& r) { r.name = "bad_name"; });
    refused_with([](add_host_request& r) { r.personality = "compute"; });
    refused_with([](add_host_request& r) { r.subfunctions = {"storage"}; });
    refused_with([](add_host_request& r) { r.mgmt_ip = "bad"; });
    refused_with([](add_host_request& r) { r.cluster_ip = r.mgmt_ip; });
    refused_with([](add_host_request& r) { r.bmc_type = "idrac"; });
    refused_with([](add_host_request& r) { r.bmc_type = "none"; });
    refused_with([](add_host_request& r) { r.bmc_address = "bad_bmc"; });
    refused_with([](add_host_request& r) { r.bmc_username = ""; });
    refused_with([&](add_host_request& r) { r.bmc_password = password + "\n"; });
    refused_with([&](add_host_request& r) { r.bmc_password = password + std::string(256, 'x'); });
    for (const auto& request : requests) {
        const auto spec = validate_host(request);
        BOOST_REQUIRE(!spec.has_value());
        BOOST_TEST(!has(spec.error(), password), spec.error());
    }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(an_auto_bmc_is_accepted_and_insecure_tls_only_for_redfish) {
    auto r = with_bmc("auto", "10.0.1.10");
    const auto spec = validate_host(r);
    BOOST_REQUIRE(spec.has_value());
    BOOST_TEST(spec->bmc.type == "auto");
    BOOST_TEST(spec->bmc.verify_tls);
    r.bmc_insecure = true;
    BOOST_TEST(!validate_host(r)->bmc.verify_tls);
    r.bmc_type = "ipmi";
    BOOST_TEST(has(refusal(r), "bmc_insecure applies to Redfish BMCs"));

    r = with_bmc("none", "");
    r.bmc_username.clear();
    r.bmc_password.clear();
    r.bmc_insecure = true;
    BOOST_TEST(has(refusal(r), "bmc_insecure is given but bmc_type is 'none'"));
}

BOOST_AUTO_TEST_SUITE(bmc_changes)

using mtce::api::modify_host_request;
using mtce::fleet::bmc_spec;
using mtce::fleet::modify_bmc;

bmc_spec redfish_bmc() {
    return {.type = "redfish", .address = "10.0.1.10:8443", .username = "admin", .verify_tls = false};
}

BOOST_AUTO_TEST_CASE(a_field_not_given_keeps_its_value) {
    modify_host_request patch;
    patch.bmc_password = "n3w";
    const auto c = modify_bmc(redfish_bmc(), "old", patch);
    BOOST_REQUIRE(c.has_value());
    BOOST_TEST((c->bmc == redfish_bmc()));
    BOOST_TEST(c->password == "n3w");

    patch = {};
    patch.bmc_address = "FD00::0:7";
    const auto moved = modify_bmc(redfish_bmc(), "old", patch);
    BOOST_REQUIRE(moved.has_value());
    BOOST_TEST(moved->bmc.address == "fd00::7");  // canonical, as when added
    BOOST_TEST(moved->bmc.username == "admin");
    BOOST_TEST(!moved->bmc.verify_tls);
    BOOST_TEST(moved->password == "old");
}

BOOST_AUTO_TEST_CASE(a_new_type_keeps_the_account_and_insecure_stays_with_redfish_only) {
    modify_host_request patch;
    patch.bmc_type = "ipmi";
    const auto ipmi = modify_bmc(redfish_bmc(), "old", patch);
    BOOST_REQUIRE(ipmi.has_value());
    BOOST_TEST(ipmi->bmc.type == "ipmi");
    BOOST_TEST(ipmi->bmc.address == "10.0.1.10:8443");
    BOOST_TEST(ipmi->bmc.verify_tls);
    BOOST_TEST(ipmi->password == "old");

    patch.bmc_type = "auto";
    const auto learned = modify_bmc(redfish_bmc(), "old", patch);
    BOOST_REQUIRE(learned.has_value());
    BOOST_TEST(!learned->bmc.verify_tls);

    patch.bmc_type = "ipmi";
    patch.bmc_insecure = true;
    const auto bad = modify_bmc(redfish_bmc(), "old", patch);
    BOOST_REQUIRE(!bad.has_value());
    BOOST_TEST(has(bad.error(), "bmc_insecure applies to Redfish BMCs"));
}

BOOST_AUTO_TEST_CASE(none_drops_every_field_and_a_first_bmc_needs_all_of_them) {
    modify_host_request off;
    off.bmc_type = "none";
    const auto c = modify_bmc(redfish_bmc(), "old", off);
    BOOST_REQUIRE(c.has_value());
    BOOST_TEST((c->bmc == bmc_spec{}));
    BOOST_TEST(c->password.empty());

    off.bmc_username = "admin";
    const auto both = modify_bmc(redfish_bmc(), "old", off);
    BOOST_REQUIRE(!both.has_value());
    BOOST_TEST(has(both.error(), "bmc_username 'admin' is given but bmc_type is 'none'"));

    modify_host_request first;
    first.bmc_type = "ipmi";
    first.bmc_address = "10.0.1.11";
    const auto half = modify_bmc(bmc_spec{}, "", first);
    BOOST_REQUIRE(!half.has_value());
    BOOST_TEST(has(half.error(), "bmc_username is required when bmc_type is 'ipmi'"));
    first.bmc_username = "root";
    first.bmc_password = "pw";
    const auto whole = modify_bmc(bmc_spec{}, "", first);
    BOOST_REQUIRE(whole.has_value());
    BOOST_TEST(whole->bmc.type == "ipmi");
    BOOST_TEST(whole->password == "pw");

    modify_host_request address_only;
    address_only.bmc_address = "10.0.1.12";
    const auto no_type = modify_bmc(bmc_spec{}, "", address_only);
    BOOST_REQUIRE(!no_type.has_value());
    BOOST_TEST(has(no_type.error(), "is given but bmc_type is 'none'"));
}

BOOST_AUTO_TEST_CASE(a_bad_value_is_refused_without_the_password) {
    modify_host_request patch;
    patch.bmc_password = std::string{"line1\nline2"};
    const auto c = modify_bmc(redfish_bmc(), "old", patch);
    BOOST_REQUIRE(!c.has_value());
    BOOST_TEST(!has(c.error(), "line1"));
    patch = {};
    patch.bmc_address = "bad address!";
    BOOST_TEST(has(modify_bmc(redfish_bmc(), "old", patch).error(), "'bad address!'"));
}

BOOST_AUTO_TEST_SUITE_END()
