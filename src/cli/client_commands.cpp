#include "cli/client_commands.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "api/client.hpp"
#include "api/listen.hpp"
#include "cli/cli.hpp"
#include "cli/host_view.hpp"
#include "core/config.hpp"

namespace mtce::cli {

namespace {

using nlohmann::json;

/// For one request to the controller, connection included.
constexpr std::chrono::seconds request_timeout{10};

/// What the API answered, as JSON; nullopt if the body is not JSON.
std::optional<json> parse_body(const api::reply& r) {
    auto doc = json::parse(r.body, /*cb=*/nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded()) {
        return std::nullopt;
    }
    return doc;
}

/// The "error: reason" of a JSON error body (design §3.4), or what there is of it.
std::string error_text(const api::reply& r, const std::optional<json>& doc) {
    if (doc && doc->is_object()) {
        const auto error = doc->value("error", std::string{});
        const auto reason = doc->value("reason", std::string{});
        if (!error.empty() || !reason.empty()) {
            return reason.empty() ? error : error.empty() ? reason : fmt::format("{}: {}", error, reason);
        }
    }
    return fmt::format("HTTP status {}", r.status);
}

/// The API's base URL for this command line; the reason (a usage or configuration error) otherwise.
tl::expected<std::string, std::string> api_url(const client_options& options) {
    std::optional<std::string> env;
    if (const char* e = std::getenv("MTCE_API"); e != nullptr && *e != '\0') {
        env = e;
    }
    std::optional<std::string> listen;
    if (!options.api && !env) {
        auto from_config = listen_from_config(options.config);
        if (!from_config) {
            return tl::unexpected{from_config.error()};
        }
        listen = *from_config;
    }
    return choose_api_url(options.api, env, listen);
}

/// Fetches `path` as JSON. On failure prints why on stderr and sets `status` to the exit status.
struct fetched {
    int status = exit_ok;
    long http_status = 0;
    json doc;
    std::string error;  ///< for a non-2xx answer: the API's "error: reason"
};

fetched fetch(const client_options& options, const std::string& path) {
    fetched out;
    const auto url = api_url(options);
    if (!url) {
        fmt::print(stderr, "mtce: {}\n", url.error());
        out.status = exit_usage;
        return out;
    }
    const auto r = api::get(*url, path, request_timeout);
    if (!r) {
        fmt::print(stderr, "mtce: {}\n", r.error());
        out.status = exit_unreachable;
        return out;
    }
    out.http_status = r->status;
    auto doc = parse_body(*r);
    if (r->status < 200 || r->status > 299) {
        out.error = error_text(*r, doc);
        out.status = exit_failed;
        return out;
    }
    if (!doc) {
        fmt::print(stderr, "mtce: the controller at {} answered {} with something that is not JSON\n", *url,
                   path);
        out.status = exit_failed;
        return out;
    }
    out.doc = std::move(*doc);
    return out;
}

void print_json(const json& doc) {
    fmt::print("{}\n", doc.dump(2, ' ', /*ensure_ascii=*/false, json::error_handler_t::replace));
}

}  // namespace

tl::expected<std::string, std::string> choose_api_url(const std::optional<std::string>& flag,
                                                      const std::optional<std::string>& env,
                                                      const std::optional<std::string>& listen) {
    const auto checked = [](const std::string& url,
                            std::string_view source) -> tl::expected<std::string, std::string> {
        if (!url.starts_with("http://") && !url.starts_with("https://")) {
            return tl::unexpected{fmt::format("{} '{}' is not an http:// or https:// URL", source, url)};
        }
        return url;
    };
    if (flag) {
        return checked(*flag, "--api");
    }
    if (env) {
        return checked(*env, "MTCE_API");
    }
    if (listen) {
        const auto where = api::parse_listen(*listen);
        if (!where) {
            return tl::unexpected{"controller.api_listen: " + where.error()};
        }
        return api::local_url(*where);
    }
    return std::string{default_api_url};
}

tl::expected<std::optional<std::string>, std::string> listen_from_config(
    const std::optional<std::filesystem::path>& config) {
    std::filesystem::path path = default_config_path;
    if (config) {
        path = *config;
    } else if (::access(path.c_str(), R_OK) != 0) {
        return std::optional<std::string>{};
    }
    std::optional<config_errors> first_errors;
    for (const auto r : {role::controller, role::worker, role::storage}) {
        auto cfg = load_config(path, r);
        if (cfg) {
            return std::optional<std::string>{cfg->controller.api_listen};
        }
        if (!first_errors) {
            first_errors = std::move(cfg.error());
        }
    }
    return tl::unexpected{first_errors->front().to_string()};
}

int run_host_list(const client_options& options) {
    const auto got = fetch(options, "/v1/hosts");
    if (got.status != exit_ok) {
        if (!got.error.empty()) {
            fmt::print(stderr, "mtce: cannot list hosts: {}\n", got.error);
        }
        return got.status;
    }
    if (!got.doc.is_array()) {
        fmt::print(stderr, "mtce: the controller's host list is not a JSON array\n");
        return exit_failed;
    }
    if (options.json) {
        print_json(got.doc);
    } else {
        fmt::print("{}", render_host_table(got.doc));
    }
    return exit_ok;
}

int run_host_show(const client_options& options, const std::string& name) {
    const auto got = fetch(options, "/v1/hosts/" + api::percent_encode(name));
    if (got.http_status == 404) {
        fmt::print(stderr, "mtce: {}\n", got.error);
        return exit_no_such_host;
    }
    if (got.status != exit_ok) {
        if (!got.error.empty()) {
            fmt::print(stderr, "mtce: cannot show host {}: {}\n", name, got.error);
        }
        return got.status;
    }
    if (!got.doc.is_object()) {
        fmt::print(stderr, "mtce: the controller's host document is not a JSON object\n");
        return exit_failed;
    }
    if (options.json) {
        print_json(got.doc);
    } else {
        fmt::print("{}", render_host(got.doc));
    }
    return exit_ok;
}

}  // namespace mtce::cli
