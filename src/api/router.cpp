#include "api/router.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "api/access.hpp"
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

http::response method_not_allowed(const http::request& req) {
    auto r = error_response(405, "method not allowed",
                            fmt::format("{} {} accepts GET and HEAD only", req.method, req.path));
    r.headers.emplace_back("Allow", "GET, HEAD");
    return r;
}

bool is_read(std::string_view method) {
    return method == "GET" || method == "HEAD";
}

/// GET /v1/hosts/{name}
http::response one_host(std::string_view encoded_name, const backend& b) {
    const auto name = percent_decode(encoded_name);
    if (!name) {
        return error_response(400, "bad request",
                              "the host name in the path is not correctly percent-encoded");
    }
    json doc;
    if (!b.host(*name, doc)) {
        return error_response(404, "not found", fmt::format("no host named {}", *name));
    }
    return json_response(doc);
}

}  // namespace

http::response error_response(int status, std::string_view error, std::string_view reason) {
    return {status, "application/json", dump(json{{"error", error}, {"reason", reason}}) + "\n", {}};
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

http::response route(const http::request& req, const backend& b, bool may_change) {
    if (is_mutating(req.method) && !may_change) {
        return error_response(403, "forbidden",
                              "changes are accepted only from loopback or with the API bearer token");
    }
    constexpr std::string_view hosts_prefix = "/v1/hosts/";
    const std::string_view path = req.path;
    const bool known = path == "/v1/hosts" || path == "/v1/health" || path == "/metrics" ||
                       (path.starts_with(hosts_prefix) && path.size() > hosts_prefix.size() &&
                        path.find('/', hosts_prefix.size()) == std::string_view::npos);
    if (!known) {
        return error_response(404, "not found", fmt::format("no resource at {}", path));
    }
    if (!is_read(req.method)) {
        return method_not_allowed(req);
    }
    if (path == "/v1/hosts") {
        return json_response(b.hosts());
    }
    if (path == "/v1/health") {
        return json_response(b.health());
    }
    if (path == "/metrics") {
        return {200, std::string{metrics_content_type}, b.metrics(), {}};
    }
    return one_host(path.substr(hosts_prefix.size()), b);
}

}  // namespace mtce::api
