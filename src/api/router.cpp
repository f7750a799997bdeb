#include "api/router.hpp"

#include <stdexcept>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "api/access.hpp"
#include "api/requests.hpp"
#include "core/text.hpp"

namespace mtce::api {

namespace {

using nlohmann::json;

std::string dump(const json& j) {
    // Invalid UTF-8 in a string (a host's task text, say) must not fail the whole reply.
    return j.dump(-1, ' ', /*ensure_ascii=*/false, json::error_handler_t::replace);
}

http::response json_response(const json& j) {
    return {200, "application/json", dump(j) + "\n", {}};
}

bool is_read(std::string_view method) {
    return method == "GET" || method == "HEAD";
}

/// What a path names.
enum class resource { hosts, host, host_actions, alarms, events, health, system, metrics };

struct match {
    resource what;
    std::string_view name;  ///< the host's path segment, still percent-encoded (host, host_actions)
};

std::optional<match> match_path(std::string_view path) {
    if (path == "/v1/hosts") {
        return match{resource::hosts, {}};
    }
    if (path == "/v1/alarms") {
        return match{resource::alarms, {}};
    }
    if (path == "/v1/events") {
        return match{resource::events, {}};
    }
    if (path == "/v1/health") {
        return match{resource::health, {}};
    }
    if (path == "/v1/system") {
        return match{resource::system, {}};
    }
    if (path == "/metrics") {
        return match{resource::metrics, {}};
    }
    constexpr std::string_view hosts_prefix = "/v1/hosts/";
    constexpr std::string_view actions_suffix = "/actions";
    if (!path.starts_with(hosts_prefix)) {
        return std::nullopt;
    }
    const auto rest = path.substr(hosts_prefix.size());
    const auto slash = rest.find('/');
    const auto name = rest.substr(0, slash);
    if (name.empty()) {
        return std::nullopt;
    }
    if (slash == std::string_view::npos) {
        return match{resource::host, name};
    }
    if (rest.substr(slash) == actions_suffix) {
        return match{resource::host_actions, name};
    }
    return std::nullopt;
}

/// The methods a resource serves, as the Allow header lists them.
std::string_view allowed_methods(resource r) {
    switch (r) {
    case resource::hosts:
        return "GET, HEAD, POST";
    case resource::host:
        return "GET, HEAD, PATCH, DELETE";
    case resource::host_actions:
        return "POST";
    default:
        return "GET, HEAD";
    }
}

bool serves(resource r, std::string_view method) {
    switch (r) {
    case resource::hosts:
        return is_read(method) || method == "POST";
    case resource::host:
        return is_read(method) || method == "PATCH" || method == "DELETE";
    case resource::host_actions:
        return method == "POST";
    default:
        return is_read(method);
    }
}

http::response method_not_allowed(const http::request& req, resource r) {
    const auto allow = allowed_methods(r);
    auto resp = error_response(405, "method not allowed", fmt::format("{} serves {} only", req.path, allow));
    resp.headers.emplace_back("Allow", std::string{allow});
    return resp;
}

http::response bad_request(std::string_view reason) {
    return error_response(400, "bad request", reason);
}

http::response bad_name() {
    return bad_request("the host name in the path is not correctly percent-encoded");
}

/// Whether a Content-Type names JSON: "application/json", any case, parameters (charset) allowed.
bool is_json_type(std::string_view type) {
    return iequals(trim_blanks(type.substr(0, type.find(';'))), "application/json");
}

/// GET /v1/hosts/{name}
http::response one_host(std::string_view encoded_name, const backend& b) {
    const auto name = percent_decode(encoded_name);
    if (!name) {
        return bad_name();
    }
    json doc;
    if (!b.host(*name, doc)) {
        return error_response(404, "not found", fmt::format("no host named {}", *name));
    }
    return json_response(doc);
}

/// GET /v1/events?since=N&limit=M
http::response events(std::string_view query, const backend& b) {
    const auto q = parse_events_query(query);
    if (!q) {
        return bad_request(q.error());
    }
    return json_response(b.events(q->since, q->limit));
}

http::response read(const http::request& req, const match& m, const backend& b) {
    switch (m.what) {
    case resource::hosts:
        return json_response(b.hosts());
    case resource::host:
        return one_host(m.name, b);
    case resource::alarms:
        return json_response(b.alarms());
    case resource::events:
        return events(req.query, b);
    case resource::health:
        return json_response(b.health());
    case resource::system:
        return json_response(b.system());
    case resource::metrics:
        return {200, std::string{metrics_content_type}, b.metrics(), {}};
    case resource::host_actions:
        break;
    }
    throw std::logic_error{"no read on " + req.path};
}

/// The change a mutating request asks for: it decides the status of a change that was made.
enum class change { add, modify, remove, act };

int done_status(change c) {
    switch (c) {
    case change::add:
        return 201;
    case change::modify:
        return 200;
    case change::remove:
        return 204;
    case change::act:
        return 202;
    }
    throw std::logic_error{"no such change"};
}

/// The response for what the backend did with change `c`. Only here do the backend's results become HTTP.
http::response from_outcome(change c, const outcome& o) {
    switch (o.kind) {
    case result::done: {
        const int status = done_status(c);
        if (status == 204) {
            return {204, "application/json", {}, {}};
        }
        auto body = o.body.empty() ? std::string{"{}"} : o.body;
        if (!body.ends_with('\n')) {
            body += '\n';
        }
        return {status, "application/json", std::move(body), {}};
    }
    case result::invalid:
        return bad_request(o.reason);
    case result::not_found:
        return error_response(404, "not found", o.reason);
    case result::refused:
        return error_response(409, "refused", o.reason);
    case result::conflict:
        return error_response(409, "conflict", o.reason);
    case result::not_saved:
        return error_response(503, "not saved", o.reason);
    }
    throw std::logic_error{fmt::format("the backend answered with result {}", static_cast<int>(o.kind))};
}

}  // namespace

http::response error_response(int status, std::string_view error, std::string_view reason) {
    return {status, "application/json", dump(json{{"error", error}, {"reason", reason}}) + "\n", {}};
}

std::string error_title(int status) {
    std::string s{http::reason_phrase(status)};
    for (auto& c : s) {
        c = ascii_lower(c);
    }
    return s;
}

std::optional<std::string> percent_decode(std::string_view segment) {
    std::string out;
    out.reserve(segment.size());
    for (std::size_t i = 0; i < segment.size(); ++i) {
        if (segment[i] != '%') {
            out += segment[i];
            continue;
        }
        if (segment.size() - i < 3) {
            return std::nullopt;
        }
        const int hi = hex_value(segment[i + 1]);
        const int lo = hex_value(segment[i + 2]);
        const int c = hi * 16 + lo;
        if (hi < 0 || lo < 0 || c == '/' || c == 0) {
            return std::nullopt;
        }
        out += static_cast<char>(c);
        i += 2;
    }
    return out;
}

asio::awaitable<http::response> route(const http::request& req, backend& b, bool may_change) {
    if (is_mutating(req.method) && !may_change) {
        co_return error_response(403, "forbidden", "changes need the API bearer token, or the local socket");
    }
    const auto m = match_path(req.path);
    if (!m) {
        co_return error_response(404, "not found", fmt::format("no resource at {}", req.path));
    }
    if (!serves(m->what, req.method)) {
        co_return method_not_allowed(req, m->what);
    }
    if (is_read(req.method)) {
        co_return read(req, *m, b);
    }
    const auto type = req.header("content-type");
    if (!req.body.empty() && type && !is_json_type(*type)) {
        co_return error_response(415, "unsupported media type",
                                 fmt::format("the body must be application/json, not '{}'", *type));
    }
    if (m->what == resource::hosts) {
        auto request = parse_add_host(req.body);
        if (!request) {
            co_return bad_request(request.error());
        }
        const auto done = co_await b.add_host(std::move(*request));
        co_return from_outcome(change::add, done);
    }
    auto name = percent_decode(m->name);
    if (!name) {
        co_return bad_name();
    }
    if (m->what == resource::host && req.method == "PATCH") {
        auto request = parse_modify_host(req.body);
        if (!request) {
            co_return bad_request(request.error());
        }
        const auto done = co_await b.modify_host(std::move(*name), std::move(*request));
        co_return from_outcome(change::modify, done);
    }
    if (m->what == resource::host) {
        const auto done = co_await b.delete_host(std::move(*name));
        co_return from_outcome(change::remove, done);
    }
    auto action = parse_action(req.body);
    if (!action) {
        co_return bad_request(action.error());
    }
    const auto done = co_await b.act(std::move(*name), std::move(*action));
    co_return from_outcome(change::act, done);
}

}  // namespace mtce::api
