#pragma once

// The controller API client subcommands' common ground: how they find the API and the bearer token, how an
// answer becomes an exit status, and `mtce host list` / `mtce host show` / `mtce system show`.

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>
#include <tl/expected.hpp>

namespace mtce::cli {

/// What every client subcommand is given on its command line.
struct client_options {
    std::optional<std::string> api;               ///< --api URL
    std::optional<std::filesystem::path> config;  ///< --config FILE
    bool json = false;                            ///< --json
};

/// The URL used when nothing else names one.
inline constexpr const char* default_api_url = "http://127.0.0.1:2112";

/// For one request to the controller, connection included.
inline constexpr std::chrono::seconds request_timeout{10};

/// The controller API's base URL, from the first of (design §3.1): `flag` (--api), `env` (MTCE_API, if not
/// empty), `socket` (controller.api_socket, when the caller found a socket there) as "unix:PATH", `listen`
/// (controller.api_listen of a configuration, as a local URL), the default. The URL must be http://,
/// https:// or unix:; otherwise, or for a bad `listen`, the reason as text.
[[nodiscard]] tl::expected<std::string, std::string> choose_api_url(
    const std::optional<std::string>& flag, const std::optional<std::string>& env,
    const std::optional<std::string>& listen, const std::optional<std::string>& socket = std::nullopt);

/// What the client commands take from a configuration file.
struct client_config {
    std::string api_listen;                ///< controller.api_listen
    std::filesystem::path api_token_file;  ///< controller.api_token_file; empty when not set
    std::filesystem::path api_socket;      ///< controller.api_socket; empty when none
};

/// The client settings of `config` if given (it must load), else of /etc/mtce/mtce.toml if that is
/// readable, else nothing. The file is loaded as for the controller role, else the worker's, else the
/// storage role's; if none accepts it, the controller role's first error as text.
[[nodiscard]] tl::expected<std::optional<client_config>, std::string> client_config_from(
    const std::optional<std::filesystem::path>& config);

/// controller.api_listen of client_config_from(config).
[[nodiscard]] tl::expected<std::optional<std::string>, std::string> listen_from_config(
    const std::optional<std::filesystem::path>& config);

/// The bearer token for changes: `env` (MTCE_API_TOKEN) if not empty, else `token_file_text` (the content
/// of controller.api_token_file) without surrounding whitespace, as the controller reads it, if that leaves
/// anything; else none (a client on the controller's local socket needs none).
[[nodiscard]] std::optional<std::string> choose_api_token(const std::optional<std::string>& env,
                                                          const std::optional<std::string>& token_file_text);

/// The exit status an HTTP status means (mtce(8), EXIT STATUS): 0 for 2xx, 2 for 400 (the request is
/// invalid), 3 for 404 when the request names a host (`names_a_host`), 4 for 409 (refused by the state
/// machine), 1 for anything else.
[[nodiscard]] int exit_status_for(long http_status, bool names_a_host);

/// The controller API as one client command uses it: where it is and, for changes, the bearer token.
/// Blocking; one request at a time.
class api_session {
public:
    /// What one request got.
    struct answer {
        bool reached = false;               ///< false: unreachable (no reply in time), `reason` says why
        long status = 0;                    ///< the HTTP status
        std::optional<nlohmann::json> doc;  ///< the body, if it is JSON
        std::string
            reason;  ///< unreachable: why; not 2xx: the API's reason (else its error, else the status)

        [[nodiscard]] bool ok() const { return reached && status >= 200 && status <= 299; }
    };

    /// Finds the API for `options` and, if `for_changes`, the bearer token (MTCE_API_TOKEN, else the
    /// configuration's controller.api_token_file if readable). A usage or configuration error as text.
    [[nodiscard]] static tl::expected<api_session, std::string> open(const client_options& options,
                                                                     bool for_changes);

    /// GET `path`, within `timeout`.
    [[nodiscard]] answer get(const std::string& path,
                             std::chrono::milliseconds timeout = request_timeout) const;
    /// `method` `path` with the JSON `body` (if not empty) and the bearer token (if any).
    [[nodiscard]] answer send(std::string_view method, const std::string& path, std::string_view body) const;

    [[nodiscard]] const std::string& url() const { return url_; }

private:
    api_session(std::string url, std::string token) : url_{std::move(url)}, token_{std::move(token)} {}

    std::string url_;
    std::string token_;
};

/// Prints on stderr why `got` is not a 2xx answer, as "mtce: WHAT: REASON" (or the unreachable controller's
/// message), and returns the exit status it means (exit_status_for(), or 5 when unreachable).
int report_failure(const api_session::answer& got, std::string_view what, bool names_a_host);

/// Prints `doc` on stdout, indented (a --json document).
void print_json(const nlohmann::json& doc);

/// `mtce host list`; returns the exit status (mtce(8)).
/// GET `path` (a JSON array) and print it: one JSON document with --json, else `render`'s table. `what`
/// names the list in messages ("hosts"). Returns the exit status.
int run_list(const client_options& options, const std::string& path, std::string_view what,
             std::string (*render)(const nlohmann::json&));
int run_host_list(const client_options& options);
/// `mtce host show NAME`; returns the exit status (3 when there is no such host).
int run_host_show(const client_options& options, const std::string& name);
/// `mtce system show`: the system view (design §7); returns the exit status (mtce(8)).
int run_system_show(const client_options& options);

}  // namespace mtce::cli
