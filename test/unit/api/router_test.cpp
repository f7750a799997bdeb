#define BOOST_TEST_MODULE api_router_test
// The REST API's routes without sockets: reads from the backend's documents, changes through its coroutines,
// and every refusal (403, 404, 405, 415, 400) before the backend is asked.
#include <boost/test/unit_test.hpp>

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/router.hpp"
#include "fake_backend.hpp"
#include "run_awaitable.hpp"

using mtce::api::outcome;
using mtce::api::result;
using mtce::api::http::request;
using mtce::api::http::response;
using mtce::test::fake_backend;
using nlohmann::json;

namespace {

/// A request as the parser gives it: `target` split into path and query at '?'.
request make(std::string method, const std::string& target, std::string body = {},
             std::optional<std::string> content_type = std::nullopt) {
    request r;
    r.method = std::move(method);
    r.target = target;
    const auto q = target.find('?');
    r.path = target.substr(0, q);
    r.query = q == std::string::npos ? "" : target.substr(q + 1);
    r.body = std::move(body);
    if (content_type) {
        r.headers.emplace_back("content-type", *content_type);
    }
    return r;
}

request get(const std::string& target, std::string method = "GET") {
    return make(std::move(method), target);
}

response route(const request& r, fake_backend& b, bool may_change = true) {
    return mtce::test::run_awaitable(mtce::api::route(r, b, may_change));
}

json body_of(const response& r) {
    return json::parse(r.body);
}

const std::string add_body = R"({"name": "worker-1", "personality": "worker", "mgmt_ip": "10.0.0.11"})";

}  // namespace

BOOST_AUTO_TEST_SUITE(reads)

BOOST_AUTO_TEST_CASE(get_hosts_is_the_backends_array) {
    fake_backend b;
    const auto r = route(get("/v1/hosts"), b, false);
    BOOST_TEST(r.status == 200);
    BOOST_TEST(r.content_type == "application/json");
    BOOST_TEST(body_of(r) == b.hosts_);
}

BOOST_AUTO_TEST_CASE(get_one_host_finds_it_by_its_percent_decoded_name) {
    fake_backend b;
    BOOST_TEST(body_of(route(get("/v1/hosts/worker-0"), b, false)) == b.hosts_[1]);
    BOOST_TEST(body_of(route(get("/v1/hosts/worker%2D0"), b, false)) == b.hosts_[1]);
    BOOST_TEST(route(get("/v1/hosts/worker%2"), b, false).status == 400);
}

BOOST_AUTO_TEST_CASE(an_unknown_host_is_404_with_the_error_body) {
    fake_backend b;
    const auto r = route(get("/v1/hosts/nosuch"), b, false);
    BOOST_TEST(r.status == 404);
    BOOST_TEST(body_of(r) == (json{{"error", "not found"}, {"reason", "no host named nosuch"}}));
}

BOOST_AUTO_TEST_CASE(health_and_metrics_come_from_the_backend) {
    fake_backend b;
    BOOST_TEST(body_of(route(get("/v1/health"), b, false)) == b.health());
    const auto m = route(get("/metrics"), b, false);
    BOOST_TEST(m.status == 200);
    BOOST_TEST(m.content_type == "text/plain; version=0.0.4");
    BOOST_TEST(m.body == b.metrics());
}

BOOST_AUTO_TEST_CASE(the_system_view_is_the_backends_document_and_serves_reads_only) {
    fake_backend b;
    const auto r = route(get("/v1/system"), b, false);
    BOOST_TEST(r.status == 200);
    BOOST_TEST(r.content_type == "application/json");
    BOOST_TEST(body_of(r) == b.system());
    BOOST_TEST(body_of(r)["mode"] == "dor");
    BOOST_TEST(route(get("/v1/system", "HEAD"), b, false).status == 200);
    const auto post = route(make("POST", "/v1/system", "{}"), b);
    BOOST_TEST(post.status == 405);
    BOOST_TEST(body_of(post)["error"] == "method not allowed");
    BOOST_REQUIRE(post.headers.size() == 1u);
    BOOST_TEST(post.headers[0].second == "GET, HEAD");
    BOOST_TEST(route(make("POST", "/v1/system", "{}"), b, false).status == 403);
    BOOST_TEST(b.calls().empty());
}

BOOST_AUTO_TEST_CASE(alarms_are_the_backends_array) {
    fake_backend b;
    const json alarms = json::array({{{"id", "200.004"},
                                      {"host", "worker-0"},
                                      {"severity", "critical"},
                                      {"reason", "heartbeat lost"},
                                      {"since", 1700000000000}}});
    b.set_alarms(alarms);
    const auto r = route(get("/v1/alarms"), b, false);
    BOOST_TEST(r.status == 200);
    BOOST_TEST(body_of(r) == alarms);
}

BOOST_AUTO_TEST_CASE(events_pass_since_and_limit_to_the_backend_with_their_defaults) {
    fake_backend b;
    for (int i = 0; i < 5; ++i) {
        b.add_event("worker-0", "state", "event " + std::to_string(i));
    }
    const auto all = route(get("/v1/events"), b, false);
    BOOST_TEST(all.status == 200);
    BOOST_TEST(body_of(all).size() == 5u);
    const auto some = body_of(route(get("/v1/events?since=2&limit=2"), b, false));
    BOOST_REQUIRE(some.size() == 2u);
    BOOST_TEST(some[0]["id"] == 3);
    BOOST_TEST(some[1]["id"] == 4);
    const auto queries = b.event_queries();
    BOOST_REQUIRE(queries.size() == 2u);
    BOOST_TEST(queries[0].first == 0u);
    BOOST_TEST(queries[0].second == 1000u);
    BOOST_TEST(queries[1].first == 2u);
    BOOST_TEST(queries[1].second == 2u);
}

BOOST_AUTO_TEST_CASE(a_bad_events_query_is_400_with_the_reason_and_the_backend_is_not_asked) {
    fake_backend b;
    for (const char* target : {"/v1/events?since=x", "/v1/events?limit=0", "/v1/events?since=1&order=desc"}) {
        const auto r = route(get(target), b, false);
        BOOST_TEST(r.status == 400, target);
        BOOST_TEST(body_of(r)["error"] == "bad request", target);
    }
    BOOST_TEST(body_of(route(get("/v1/events?limit=1001"), b, false))["reason"] ==
               "'limit' must be a whole number from 1 to 1000");
    BOOST_TEST(b.event_queries().empty());
}

BOOST_AUTO_TEST_CASE(head_is_answered_as_get) {
    fake_backend b;
    BOOST_TEST(route(get("/v1/hosts", "HEAD"), b, false).status == 200);
    BOOST_TEST(route(get("/v1/alarms", "HEAD"), b, false).status == 200);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(refusals)

BOOST_AUTO_TEST_CASE(unknown_paths_are_404) {
    fake_backend b;
    for (const char* path : {"/", "/v1", "/v1/hosts/", "/v1/hosts/a/b", "/v2/hosts", "/metrics/x",
                             "/v1/hosts//actions", "/v1/hosts/a/actions/", "/v1/hosts/a/actions/x",
                             "/v1/alarms/1", "/v1/events/", "/v1/system/", "/v1/system/dor"}) {
        const auto r = route(get(path), b, false);
        BOOST_TEST(r.status == 404, path);
        BOOST_TEST(body_of(r)["error"] == "not found", path);
        BOOST_TEST(route(make("POST", path, "{}"), b).status == 404, path);
    }
    BOOST_TEST(b.calls().empty());
}

BOOST_AUTO_TEST_CASE(each_path_answers_405_with_allow_for_the_methods_it_does_not_serve) {
    fake_backend b;
    const std::vector<std::tuple<std::string, std::string, std::string>> cases{
        {"PUT", "/v1/hosts", "GET, HEAD, POST"},
        {"DELETE", "/v1/hosts", "GET, HEAD, POST"},
        {"POST", "/v1/hosts/worker-0", "GET, HEAD, PATCH, DELETE"},
        {"PUT", "/v1/hosts/worker-0", "GET, HEAD, PATCH, DELETE"},
        {"PATCH", "/v1/hosts", "GET, HEAD, POST"},
        {"GET", "/v1/hosts/worker-0/actions", "POST"},
        {"DELETE", "/v1/hosts/worker-0/actions", "POST"},
        {"POST", "/v1/alarms", "GET, HEAD"},
        {"POST", "/v1/events", "GET, HEAD"},
        {"DELETE", "/v1/health", "GET, HEAD"},
        {"PUT", "/v1/system", "GET, HEAD"},
        {"OPTIONS", "/metrics", "GET, HEAD"},
    };
    for (const auto& [method, path, allow] : cases) {
        const auto r = route(make(method, path, "{}"), b);
        BOOST_TEST(r.status == 405, method << " " << path);
        BOOST_TEST(body_of(r)["error"] == "method not allowed");
        BOOST_REQUIRE(r.headers.size() == 1u);
        BOOST_TEST(r.headers[0].first == "Allow");
        BOOST_TEST(r.headers[0].second == allow, method << " " << path);
    }
    BOOST_TEST(b.calls().empty());
}

BOOST_AUTO_TEST_CASE(a_mutating_request_without_the_right_to_change_is_403_before_routing) {
    fake_backend b;
    for (const char* m : {"POST", "DELETE", "PUT", "PATCH"}) {
        BOOST_TEST(route(make(m, "/v1/hosts/worker-0", "{}"), b, false).status == 403, m);
        BOOST_TEST(route(make(m, "/nowhere", "{}"), b, false).status == 403, m);
        BOOST_TEST(
            route(make(m, "/v1/hosts/worker-0/actions", R"({"action": "lock"})"), b, false).status == 403, m);
    }
    const auto r = route(make("POST", "/v1/hosts", add_body), b, false);
    BOOST_TEST(body_of(r)["error"] == "forbidden");
    BOOST_TEST(b.calls().empty());
}

BOOST_AUTO_TEST_CASE(a_body_that_is_not_json_is_415_and_json_with_parameters_or_any_case_is_accepted) {
    fake_backend b;
    for (const char* type : {"text/plain", "application/x-www-form-urlencoded", "application/jsonx", ""}) {
        const auto r = route(make("POST", "/v1/hosts", add_body, type), b);
        BOOST_TEST(r.status == 415, type);
        BOOST_TEST(body_of(r)["error"] == "unsupported media type");
        BOOST_TEST(
            route(make("POST", "/v1/hosts/worker-0/actions", R"({"action":"lock"})", type), b).status == 415,
            type);
        BOOST_TEST(route(make("DELETE", "/v1/hosts/worker-0", "x", type), b).status == 415, type);
    }
    BOOST_TEST(b.calls().empty());
    for (const char* type : {"application/json", "application/json; charset=utf-8", "Application/JSON ",
                             "application/json;charset=UTF-8"}) {
        BOOST_TEST(route(make("POST", "/v1/hosts", add_body, type), b).status == 201, type);
    }
    BOOST_TEST(route(make("POST", "/v1/hosts", add_body), b).status == 201);  // no Content-Type at all
    BOOST_TEST(route(make("DELETE", "/v1/hosts/worker-0", "", "text/plain"), b).status == 204);  // no body
    BOOST_TEST(b.calls().size() == 6u);
}

BOOST_AUTO_TEST_CASE(a_bad_add_body_is_400_with_the_parsers_reason_and_the_backend_is_not_asked) {
    fake_backend b;
    const std::vector<std::pair<std::string, std::string>> cases{
        {R"({"name": "w", "personality": "worker", "mgmt_ip": 7})", "'mgmt_ip' must be a string"},
        {R"({"name": "w", "personality": "worker", "mgmt_ip": "1", "colour": "red"})",
         "unknown field 'colour'"},
        {R"({"name": "w", "personality": "worker"})", "'mgmt_ip' is required"},
        {"[1, 2]", "the body must be a JSON object"},
    };
    for (const auto& [body, reason] : cases) {
        const auto r = route(make("POST", "/v1/hosts", body, "application/json"), b);
        BOOST_TEST(r.status == 400, body);
        BOOST_TEST(body_of(r) == (json{{"error", "bad request"}, {"reason", reason}}), body);
    }
    const auto malformed = route(make("POST", "/v1/hosts", R"({"name": "w")", "application/json"), b);
    BOOST_TEST(malformed.status == 400);
    BOOST_TEST(body_of(malformed)["reason"].get<std::string>().starts_with("the body is not valid JSON: "));
    BOOST_TEST(b.calls().empty());
}

BOOST_AUTO_TEST_CASE(a_bad_action_body_or_host_name_is_400_and_the_backend_is_not_asked) {
    fake_backend b;
    BOOST_TEST(body_of(route(make("POST", "/v1/hosts/worker-0/actions", R"({"verb": "lock"})"),
                             b))["reason"] == "unknown field 'verb'");
    BOOST_TEST(body_of(route(make("POST", "/v1/hosts/worker-0/actions", "{}"), b))["reason"] ==
               "'action' is required");
    BOOST_TEST(route(make("POST", "/v1/hosts/worker-0/actions", ""), b).status == 400);
    BOOST_TEST(route(make("POST", "/v1/hosts/a%2Fb/actions", R"({"action": "lock"})"), b).status == 400);
    BOOST_TEST(route(make("DELETE", "/v1/hosts/a%zz"), b).status == 400);
    BOOST_TEST(b.calls().empty());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(changes)

BOOST_AUTO_TEST_CASE(post_hosts_passes_the_parsed_request_and_answers_the_backends_201_document) {
    fake_backend b;
    const auto r = route(make("POST", "/v1/hosts",
                              R"({"name": "worker-1", "personality": "worker", "mgmt_ip": "10.0.0.11",
                                  "subfunctions": ["a"], "bmc_type": "ipmi", "bmc_password": "s3cret"})",
                              "application/json"),
                         b);
    BOOST_TEST(r.status == 201);
    BOOST_TEST(r.content_type == "application/json");
    BOOST_TEST(body_of(r) == (json{{"name", "worker-1"}}));
    BOOST_TEST(r.body.ends_with("\n"));
    const auto calls = b.calls();
    BOOST_REQUIRE(calls.size() == 1u);
    BOOST_TEST(calls[0].method == "add_host");
    BOOST_TEST(calls[0].request.name == "worker-1");
    BOOST_TEST(calls[0].request.mgmt_ip == "10.0.0.11");
    BOOST_TEST(calls[0].request.subfunctions == std::vector<std::string>{"a"});
    BOOST_TEST(calls[0].request.bmc_type == "ipmi");
    BOOST_TEST(calls[0].request.bmc_password == "s3cret");
}

BOOST_AUTO_TEST_CASE(delete_passes_the_decoded_name_and_a_204_has_no_body) {
    fake_backend b;
    const auto r = route(make("DELETE", "/v1/hosts/worker%2D0"), b);
    BOOST_TEST(r.status == 204);
    BOOST_TEST(r.body.empty());
    // A 204 has no body, even if the backend gives one.
    b.answer_next(outcome::success(R"({"name": "worker-0", "task": "Deleting"})"));
    const auto with_body = route(make("DELETE", "/v1/hosts/worker-0"), b);
    BOOST_TEST(with_body.status == 204);
    BOOST_TEST(with_body.body.empty());
    const auto calls = b.calls();
    BOOST_REQUIRE(calls.size() == 2u);
    BOOST_TEST(calls[0].method == "delete_host");
    BOOST_TEST(calls[0].name == "worker-0");
}

BOOST_AUTO_TEST_CASE(a_patch_reaches_the_backend_with_only_the_fields_given) {
    fake_backend b;
    const auto r =
        route(make("PATCH", "/v1/hosts/worker%2D0",
                   R"({"bmc_address": "10.9.0.4:8443", "bmc_password": "n3w"})", "application/json"),
              b);
    BOOST_TEST(r.status == 200);
    BOOST_TEST(body_of(r) == (json{{"name", "worker-0"}}));
    const auto bad =
        route(make("PATCH", "/v1/hosts/worker-0", R"({"mgmt_ip": "10.0.0.9"})", "application/json"), b);
    BOOST_TEST(bad.status == 400);
    BOOST_TEST(body_of(bad)["reason"].get<std::string>().find("cannot be changed") != std::string::npos);
    const auto calls = b.calls();
    BOOST_REQUIRE(calls.size() == 1u);
    BOOST_TEST(calls[0].method == "modify_host");
    BOOST_TEST(calls[0].name == "worker-0");
    BOOST_TEST(calls[0].modify.bmc_address.value_or("") == "10.9.0.4:8443");
    BOOST_TEST(calls[0].modify.bmc_password.value_or("") == "n3w");
    BOOST_TEST(!calls[0].modify.bmc_type.has_value());
    BOOST_TEST(!calls[0].modify.bmc_username.has_value());
    BOOST_TEST(!calls[0].modify.bmc_insecure.has_value());
}

BOOST_AUTO_TEST_CASE(an_action_reaches_the_backend_as_given_and_an_empty_202_is_an_empty_object) {
    fake_backend b;
    for (const char* action : {"lock", "force-lock", "unlock", "reboot", "reset", "power-on", "power-off",
                               "power-cycle", "reinstall"}) {
        const auto r = route(
            make("POST", "/v1/hosts/worker-0/actions", json{{"action", action}}.dump(), "application/json"),
            b);
        BOOST_TEST(r.status == 202, action);
        BOOST_TEST(body_of(r) == json::object(), action);
    }
    const auto calls = b.calls();
    BOOST_REQUIRE(calls.size() == 9u);
    BOOST_TEST(calls[1].method == "act");
    BOOST_TEST(calls[1].name == "worker-0");
    BOOST_TEST(calls[1].action == "force-lock");
    BOOST_TEST(calls[8].action == "reinstall");
}

BOOST_AUTO_TEST_CASE(an_unknown_action_reaches_the_backend_which_decides) {
    fake_backend b;
    b.answer_next(outcome::failure(result::invalid, "unknown action 'dance'"));
    const auto r = route(make("POST", "/v1/hosts/worker-0/actions", R"({"action": "dance"})"), b);
    BOOST_TEST(r.status == 400);
    BOOST_TEST(body_of(r) == (json{{"error", "bad request"}, {"reason", "unknown action 'dance'"}}));
    BOOST_REQUIRE(b.calls().size() == 1u);
    BOOST_TEST(b.calls()[0].action == "dance");
}

BOOST_AUTO_TEST_CASE(the_backends_refusals_keep_their_reason) {
    fake_backend b;
    b.answer_next(outcome::failure(result::not_found, "no host named worker-9"));
    b.answer_next(outcome::failure(result::refused, "cannot unlock: host is already unlocked"));
    b.answer_next(outcome::failure(result::not_saved, "the state could not be saved"));
    b.answer_next(outcome::failure(result::conflict, "host worker-1 exists"));
    const auto lost = route(make("POST", "/v1/hosts/worker-9/actions", R"({"action": "lock"})"), b);
    BOOST_TEST(lost.status == 404);
    BOOST_TEST(body_of(lost) == (json{{"error", "not found"}, {"reason", "no host named worker-9"}}));
    const auto refused = route(make("POST", "/v1/hosts/worker-0/actions", R"({"action": "unlock"})"), b);
    BOOST_TEST(refused.status == 409);
    BOOST_TEST(body_of(refused)["reason"] == "cannot unlock: host is already unlocked");
    const auto unsaved = route(make("DELETE", "/v1/hosts/worker-0"), b);
    BOOST_TEST(unsaved.status == 503);
    BOOST_TEST(body_of(unsaved) ==
               (json{{"error", "not saved"}, {"reason", "the state could not be saved"}}));
    const auto taken = route(make("POST", "/v1/hosts", add_body), b);
    BOOST_TEST(taken.status == 409);
    BOOST_TEST(body_of(taken) == (json{{"error", "conflict"}, {"reason", "host worker-1 exists"}}));
}

BOOST_AUTO_TEST_CASE(each_result_has_its_status_and_title_on_each_change) {
    struct change {
        std::string name;
        request req;
        int done_status;
    };
    const std::vector<change> changes{
        {"add", make("POST", "/v1/hosts", add_body), 201},
        {"modify", make("PATCH", "/v1/hosts/worker-0", R"({"bmc_address": "10.9.0.4"})"), 200},
        {"delete", make("DELETE", "/v1/hosts/worker-0"), 204},
        {"act", make("POST", "/v1/hosts/worker-0/actions", R"({"action": "lock"})"), 202},
    };
    struct failure {
        result kind;
        int status;
        std::string title;
    };
    const std::vector<failure> failures{
        {result::invalid, 400, "bad request"}, {result::not_found, 404, "not found"},
        {result::refused, 409, "refused"},     {result::conflict, 409, "conflict"},
        {result::not_saved, 503, "not saved"},
    };
    for (const auto& c : changes) {
        fake_backend b;
        b.answer_next(outcome::success(R"({"name": "worker-0"})"));
        const auto done = route(c.req, b);
        BOOST_TEST(done.status == c.done_status, c.name);
        if (c.done_status == 204) {
            BOOST_TEST(done.body.empty(), c.name);
        } else {
            BOOST_TEST(body_of(done) == (json{{"name", "worker-0"}}), c.name);
        }
        for (const auto& f : failures) {
            b.answer_next(outcome::failure(f.kind, "because " + f.title));
            const auto r = route(c.req, b);
            BOOST_TEST(r.status == f.status, c.name << " " << f.title);
            BOOST_TEST(r.content_type == "application/json", c.name << " " << f.title);
            BOOST_TEST(body_of(r) == (json{{"error", f.title}, {"reason", "because " + f.title}}),
                       c.name << " " << f.title);
        }
        BOOST_TEST(b.calls().size() == 1 + failures.size(), c.name);
    }
}

BOOST_AUTO_TEST_CASE(a_backend_exception_propagates_to_the_server) {
    fake_backend b;
    b.throw_next("disk on fire");
    BOOST_CHECK_THROW(route(make("POST", "/v1/hosts/worker-0/actions", R"({"action": "lock"})"), b),
                      std::runtime_error);
}

BOOST_AUTO_TEST_CASE(an_outcome_of_no_known_kind_is_a_logic_error) {
    fake_backend b;
    b.answer_next({static_cast<result>(42), "what", ""});
    BOOST_CHECK_THROW(route(make("DELETE", "/v1/hosts/worker-0"), b), std::logic_error);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(percent_decoding_refuses_bad_escapes_slashes_and_nul) {
    BOOST_TEST(mtce::api::percent_decode("a%20b").value_or("?") == "a b");
    BOOST_TEST(mtce::api::percent_decode("plain").value_or("?") == "plain");
    BOOST_TEST(!mtce::api::percent_decode("a%2").has_value());
    BOOST_TEST(!mtce::api::percent_decode("a%").has_value());
    BOOST_TEST(!mtce::api::percent_decode("a%zz").has_value());
    BOOST_TEST(!mtce::api::percent_decode("a%2Fb").has_value());
    BOOST_TEST(!mtce::api::percent_decode("a%00").has_value());
}
