#include "cli/client_commands.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include <fmt/format.h>

#include "api/client.hpp"
#include "api/client_wire.hpp"
#include "api/listen.hpp"
#include "cli/cli.hpp"
#include "cli/host_view.hpp"
#include "cli/system_view.hpp"
#include "core/config.hpp"
#include "core/files.hpp"

namespace mtce::cli {

namespace {

using nlohmann::json;

/// The longest token file read; the controller reads at most as much.
constexpr std::size_t max_token_file = 4096;

std::optional<std::string> env_value(const char* name) {
    const char* v = std::getenv(name);
    if (v == nullptr || *v == '\0') {
        return std::nullopt;
    }
    return std::string{v};
}

/// The reason of a JSON error body (design §3.4), else its error, else the HTTP status.
std::string reason_of(long status, const std::optional<json>& doc) {
    if (doc && doc->is_object()) {
        for (const char* field : {"reason", "error"}) {
            const auto it = doc->find(field);
            if (it != doc->end() && it->is_string() && !it->get_ref<const std::string&>().empty()) {
                return printable(it->get<std::string>());
            }
        }
    }
    return fmt::format("HTTP status {}", status);
}

api_session::answer classify(const tl::expected<api::reply, std::string>& r) {
    api_session::answer a;
    if (!r) {
        a.reason = r.error();
        return a;
    }
    a.reached = true;
    a.status = r->status;
    auto doc = json::parse(r->body, /*cb=*/nullptr, /*allow_exceptions=*/false);
    if (!doc.is_discarded()) {
        a.doc = std::move(doc);
    }
    if (!a.ok()) {
        a.reason = reason_of(a.status, a.doc);
    }
    return a;
}

}  // namespace

tl::expected<std::string, std::string> choose_api_url(const std::optional<std::string>& flag,
                                                      const std::optional<std::string>& env,
                                                      const std::optional<std::string>& listen,
                                                      const std::optional<std::string>& socket) {
    const auto checked = [](const std::string& url,
                            std::string_view source) -> tl::expected<std::string, std::string> {
        if (!url.starts_with("http://") && !url.starts_with("https://") && !url.starts_with("unix:")) {
            return tl::unexpected{
                fmt::format("{} '{}' is not an http://, https:// or unix: URL", source, url)};
        }
        return url;
    };
    if (flag) {
        return checked(*flag, "--api");
    }
    if (env) {
        return checked(*env, "MTCE_API");
    }
    if (socket) {
        return "unix:" + *socket;
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

tl::expected<std::optional<client_config>, std::string> client_config_from(
    const std::optional<std::filesystem::path>& config) {
    std::filesystem::path path = default_config_path;
    if (config) {
        path = *config;
    } else if (::access(path.c_str(), R_OK) != 0) {
        return std::optional<client_config>{};
    }
    std::optional<config_errors> first_errors;
    for (const auto r : {role::controller, role::worker, role::storage}) {
        auto cfg = load_config(path, r);
        if (cfg) {
            return client_config{cfg->controller.api_listen, cfg->controller.api_token_file,
                                 cfg->controller.api_socket};
        }
        if (!first_errors) {
            first_errors = std::move(cfg.error());
        }
    }
    return tl::unexpected{first_errors->front().to_string()};
}

tl::expected<std::optional<std::string>, std::string> listen_from_config(
    const std::optional<std::filesystem::path>& config) {
    const auto cfg = client_config_from(config);
    if (!cfg) {
        return tl::unexpected{cfg.error()};
    }
    if (!*cfg) {
        return std::optional<std::string>{};
    }
    return std::optional<std::string>{(*cfg)->api_listen};
}

std::optional<std::string> choose_api_token(const std::optional<std::string>& env,
                                            const std::optional<std::string>& token_file_text) {
    if (env && !env->empty()) {
        return env;
    }
    if (!token_file_text) {
        return std::nullopt;
    }
    constexpr std::string_view blanks = " \t\r\n";
    const auto first = token_file_text->find_first_not_of(blanks);
    if (first == std::string::npos) {
        return std::nullopt;
    }
    const auto last = token_file_text->find_last_not_of(blanks);
    return token_file_text->substr(first, last - first + 1);
}

int exit_status_for(long http_status, bool names_a_host) {
    if (http_status >= 200 && http_status <= 299) {
        return exit_ok;
    }
    switch (http_status) {
    case 400:
        return exit_usage;
    case 404:
        return names_a_host ? exit_no_such_host : exit_failed;
    case 409:
        return exit_refused;
    default:
        return exit_failed;
    }
}

tl::expected<api_session, std::string> api_session::open(const client_options& options, bool for_changes) {
    const auto env_api = env_value("MTCE_API");
    std::optional<client_config> cfg;
    bool loaded = false;
    const auto load = [&]() -> tl::expected<void, std::string> {
        if (!loaded) {
            auto c = client_config_from(options.config);
            if (!c) {
                return tl::unexpected{c.error()};
            }
            cfg = std::move(*c);
            loaded = true;
        }
        return {};
    };
    std::optional<std::string> listen;
    std::optional<std::string> socket;
    if (!options.api && !env_api) {
        if (auto ok = load(); !ok) {
            return tl::unexpected{ok.error()};
        }
        if (cfg) {
            listen = cfg->api_listen;
        }
        // The local socket when there is one that this user may open (the controller runs here), else TCP
        // as configured.
        const auto path = cfg ? cfg->api_socket : config{}.controller.api_socket;
        struct stat st {};
        if (!path.empty() && ::stat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode) &&
            ::access(path.c_str(), R_OK | W_OK) == 0) {
            socket = path.string();
        }
    }
    auto url = choose_api_url(options.api, env_api, listen, socket);
    if (!url) {
        return tl::unexpected{url.error()};
    }
    std::optional<std::string> token;
    if (for_changes) {
        const auto env_token = env_value("MTCE_API_TOKEN");
        std::optional<std::string> file_text;
        if (!env_token) {
            if (auto ok = load(); !ok) {
                return tl::unexpected{ok.error()};
            }
            if (cfg && !cfg->api_token_file.empty()) {
                file_text = read_small_file(cfg->api_token_file, max_token_file);
            }
        }
        token = choose_api_token(env_token, file_text);
        if (token && !api::wire::is_token_text(*token)) {
            return tl::unexpected{
                std::string{env_token ? "MTCE_API_TOKEN" : "the controller.api_token_file"} +
                " token contains spaces or control characters"};
        }
    }
    return api_session{std::move(*url), token.value_or("")};
}

api_session::answer api_session::get(const std::string& path, std::chrono::milliseconds timeout) const {
    return classify(api::get(url_, path, timeout));
}

api_session::answer api_session::send(std::string_view method, const std::string& path,
                                      std::string_view body) const {
    return classify(api::request(method, url_, path, body, request_timeout, token_));
}

int report_failure(const api_session::answer& got, std::string_view what, bool names_a_host) {
    if (!got.reached) {
        fmt::print(stderr, "mtce: {}\n", got.reason);
        return exit_unreachable;
    }
    // The controller's reason may already say what could not be done ("cannot lock worker-0: ...").
    if (got.reason.starts_with(fmt::format("{}: ", what))) {
        fmt::print(stderr, "mtce: {}\n", got.reason);
    } else {
        fmt::print(stderr, "mtce: {}: {}\n", what, got.reason);
    }
    return exit_status_for(got.status, names_a_host);
}

void print_json(const json& doc) {
    fmt::print("{}\n", doc.dump(2, ' ', /*ensure_ascii=*/false, json::error_handler_t::replace));
}

int run_list(const client_options& options, const std::string& path, std::string_view what,
             std::string (*render)(const nlohmann::json&)) {
    const auto session = api_session::open(options, /*for_changes=*/false);
    if (!session) {
        fmt::print(stderr, "mtce: {}\n", session.error());
        return exit_usage;
    }
    const auto got = session->get(path);
    if (!got.ok()) {
        return report_failure(got, fmt::format("cannot list {}", what), /*names_a_host=*/false);
    }
    if (!got.doc || !got.doc->is_array()) {
        fmt::print(stderr, "mtce: the controller's {} list is not a JSON array\n", what);
        return exit_failed;
    }
    if (options.json) {
        print_json(*got.doc);
    } else {
        fmt::print("{}", render(*got.doc));
    }
    return exit_ok;
}

int run_host_list(const client_options& options) {
    return run_list(options, "/v1/hosts", "hosts", render_host_table);
}

int run_host_show(const client_options& options, const std::string& name) {
    const auto session = api_session::open(options, /*for_changes=*/false);
    if (!session) {
        fmt::print(stderr, "mtce: {}\n", session.error());
        return exit_usage;
    }
    const auto got = session->get("/v1/hosts/" + api::percent_encode(name));
    if (!got.ok()) {
        return report_failure(got, fmt::format("cannot show host {}", printable(name)),
                              /*names_a_host=*/true);
    }
    if (!got.doc || !got.doc->is_object()) {
        fmt::print(stderr, "mtce: the controller's host document is not a JSON object\n");
        return exit_failed;
    }
    if (options.json) {
        print_json(*got.doc);
    } else {
        fmt::print("{}", render_host(*got.doc));
    }
    return exit_ok;
}

int run_system_show(const client_options& options) {
    const auto session = api_session::open(options, /*for_changes=*/false);
    if (!session) {
        fmt::print(stderr, "mtce: {}\n", session.error());
        return exit_usage;
    }
    const auto got = session->get("/v1/system");
    if (!got.ok()) {
        return report_failure(got, "cannot show the system", /*names_a_host=*/false);
    }
    if (!got.doc || !got.doc->is_object()) {
        fmt::print(stderr, "mtce: the controller's system view is not a JSON object\n");
        return exit_failed;
    }
    if (options.json) {
        print_json(*got.doc);
    } else {
        fmt::print("{}", render_system(*got.doc));
    }
    return exit_ok;
}

}  // namespace mtce::cli
