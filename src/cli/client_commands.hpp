#pragma once

// The controller API client subcommands (`mtce host list`, `mtce host show`) and how they find the API.

#include <filesystem>
#include <optional>
#include <string>

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

/// The controller API's base URL, from the first of (design §3.1): `flag` (--api), `env` (MTCE_API, if not
/// empty), `listen` (controller.api_listen of a configuration, as a local URL), the default. The URL must be
/// http:// or https://; otherwise, or for a bad `listen`, the reason as text.
[[nodiscard]] tl::expected<std::string, std::string> choose_api_url(const std::optional<std::string>& flag,
                                                                    const std::optional<std::string>& env,
                                                                    const std::optional<std::string>& listen);

/// controller.api_listen of `config` if given (it must load), else of /etc/mtce/mtce.toml if that is
/// readable, else nothing. The file is loaded as for the controller role, else the worker's, else the
/// storage role's; if none accepts it, the controller role's first error as text.
[[nodiscard]] tl::expected<std::optional<std::string>, std::string> listen_from_config(
    const std::optional<std::filesystem::path>& config);

/// `mtce host list`; returns the exit status (mtce(8)).
int run_host_list(const client_options& options);
/// `mtce host show NAME`; returns the exit status (3 when there is no such host).
int run_host_show(const client_options& options, const std::string& name);

}  // namespace mtce::cli
