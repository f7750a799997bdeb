// libFuzzer target for the REST API's request decoders (api/requests.hpp): arbitrary bytes must be refused
// with a reason or parse into a request that, written back as JSON (or as a query), parses to the same one,
// and that is refused once a key is given twice.
//
//   clang++-14 -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -Isrc \
//       src/api/requests.cpp test/fuzz/requests_fuzz.cpp -o /tmp/requests_fuzz
//   /tmp/requests_fuzz -max_total_time=60
//
// The first byte picks the decoder (add host, action, events query, modify host); the rest is the body or the
// query.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "api/requests.hpp"

namespace {

using nlohmann::json;

void check(bool ok) {
    if (!ok) {
        std::abort();
    }
}

void add_host(std::string_view body) {
    const auto r = mtce::api::parse_add_host(body);
    if (!r) {
        check(!r.error().empty());
        return;
    }
    json doc{{"name", r->name},
             {"personality", r->personality},
             {"mgmt_ip", r->mgmt_ip},
             {"subfunctions", r->subfunctions},
             {"cluster_ip", r->cluster_ip},
             {"bmc_type", r->bmc_type},
             {"bmc_address", r->bmc_address},
             {"bmc_username", r->bmc_username},
             {"bmc_password", r->bmc_password}};
    const auto again = mtce::api::parse_add_host(doc.dump());
    check(again.has_value() && again->name == r->name && again->personality == r->personality &&
          again->mgmt_ip == r->mgmt_ip && again->subfunctions == r->subfunctions &&
          again->cluster_ip == r->cluster_ip && again->bmc_type == r->bmc_type &&
          again->bmc_address == r->bmc_address && again->bmc_username == r->bmc_username &&
          again->bmc_password == r->bmc_password);
    // The same request with a key given twice is refused: two parsers would not agree on its value.
    auto twice = doc.dump();
    twice.insert(1, R"("name":"other",)");
    check(!mtce::api::parse_add_host(twice).has_value());
}

void modify_host(std::string_view body) {
    const auto r = mtce::api::parse_modify_host(body);
    if (!r) {
        check(!r.error().empty());
        return;
    }
    json doc = json::object();
    const std::pair<const char*, const std::optional<std::string>*> strings[] = {
        {"bmc_type", &r->bmc_type},
        {"bmc_address", &r->bmc_address},
        {"bmc_username", &r->bmc_username},
        {"bmc_password", &r->bmc_password},
    };
    for (const auto& [key, value] : strings) {
        if (*value) {
            doc[key] = **value;
        }
    }
    if (r->bmc_insecure) {
        doc["bmc_insecure"] = *r->bmc_insecure;
    }
    check(!doc.empty());
    const auto again = mtce::api::parse_modify_host(doc.dump());
    check(again.has_value() && *again == *r);
}

void action(std::string_view body) {
    const auto r = mtce::api::parse_action(body);
    if (!r) {
        check(!r.error().empty());
        return;
    }
    const auto again = mtce::api::parse_action(json{{"action", *r}}.dump());
    check(again.has_value() && *again == *r);
}

void events(std::string_view query) {
    const auto r = mtce::api::parse_events_query(query);
    if (!r) {
        check(!r.error().empty());
        return;
    }
    check(r->limit >= 1 && r->limit <= mtce::api::max_events_limit);
    const auto again = mtce::api::parse_events_query("limit=" + std::to_string(r->limit) +
                                                     "&since=" + std::to_string(r->since));
    check(again.has_value() && *again == *r);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) {
        return 0;
    }
    const std::string_view rest{reinterpret_cast<const char*>(data + 1), size - 1};
    switch (data[0] % 4) {
    case 0:
        add_host(rest);
        break;
    case 3:
        modify_host(rest);
        break;
    case 1:
        action(rest);
        break;
    default:
        events(rest);
        break;
    }
    return 0;
}
