#pragma once

// HTTPS exchanges with BMCs, on libcurl's multi interface driven by the event loop: curl tells which
// sockets to watch and when to wake it, Asio watches them, and each request is a coroutine that waits for its
// own transfer. No thread is ever blocked, a BMC that never answers costs one socket and not a worker, and
// cancelling a request removes its transfer at once. Connections (and TLS sessions) are kept and reused
// between requests to the same BMC.

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <tl/expected.hpp>

#include "bmc/driver.hpp"

namespace mtce::bmc {

/// Bodies larger than this are refused (bad_answer) without being read further.
inline constexpr std::size_t max_http_body = std::size_t{1024} * 1024;

struct http_request {
    std::string method = "GET";        ///< GET, POST, PATCH or DELETE
    std::string url;                   ///< https://HOST:PORT/PATH; never with credentials in it
    std::string body;                  ///< sent as application/json when not empty
    std::vector<std::string> headers;  ///< extra header lines, "Name: value"
    std::string username;              ///< HTTP basic authentication when not empty
    std::string password;
    bool verify_tls = true;  ///< false: neither the certificate nor the host name is checked
    std::chrono::milliseconds timeout{std::chrono::seconds{20}};  ///< the whole exchange, connection included
};

struct http_response {
    long status = 0;
    std::string body;
    std::string auth_token;  ///< the X-Auth-Token header, if the answer had one
    std::string location;    ///< the Location header, if the answer had one
};

/// Why no answer came: only errc::unreachable, timeout, tls or bad_answer (too large), with curl's reason.
using http_result = tl::expected<http_response, error>;

/// One per controller: the connections to every Redfish BMC. Made cheaply; libcurl is loaded by load(), which
/// the first Redfish driver calls. Not thread-safe: use it, and await its requests, on the thread that runs
/// the executor it was made with. It must outlive the drivers that use it.
class http_client {
public:
    /// `ca_file`: the CA bundle to verify BMC certificates with (bmc.ca_file); empty: the system's store.
    http_client(asio::any_io_executor ex, std::filesystem::path ca_file = {});
    /// Ends every transfer still running; their requests complete with errc::unreachable.
    ~http_client();
    http_client(const http_client&) = delete;
    http_client& operator=(const http_client&) = delete;

    /// Loads libcurl (once per process) and sets up the transfers; the reason if it cannot.
    [[nodiscard]] tl::expected<void, std::string> load();

    /// Performs one exchange. Any HTTP status is a response; only a missing answer is an error.
    /// Cancellation (a terminal or partial cancellation of the awaiting coroutine) abandons the transfer and
    /// rethrows operation_aborted.
    asio::awaitable<http_result> perform(http_request request);

    /// Starts an exchange whose outcome nobody waits for (a best-effort session logout). Bounded by its
    /// timeout; dropped if the client is destroyed first.
    void perform_detached(const http_request& request);

    /// Transfers in progress, awaited or not.
    [[nodiscard]] std::size_t in_flight() const;

    class impl;

private:
    std::shared_ptr<impl> impl_;
};

}  // namespace mtce::bmc
