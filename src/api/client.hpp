#pragma once

// A small blocking HTTP client for the command line (a short-lived process that makes one or two requests).

#include <chrono>
#include <string>
#include <string_view>

#include <tl/expected.hpp>

namespace mtce::api {

/// What the server answered, whatever the status.
struct reply {
    long status = 0;
    std::string content_type;
    std::string body;
};

/// Sends `method` `base_url` + `path` (e.g. "POST", "http://127.0.0.1:2112" + "/v1/hosts") with `body` (as
/// "Content-Type: application/json", as is every change) and waits for the reply, within `timeout` for the
/// whole exchange, with "Authorization: Bearer <bearer_token>" if the token is not empty. Proxies from the
/// environment are not used: the controller is reached directly. Redirects are not followed. A reply body
/// larger than 64 MiB is an error.
///
/// Plain HTTP/1.1 only: `base_url` is "http://ADDRESS:PORT" or "http://[IPV6]:PORT" with a numeric address
/// (no name lookup) and an optional path prefix, or "unix:/PATH" for the controller's local socket; https is
/// not supported by this client. The reply must have
/// a Content-Length or end when the server closes the connection (chunked replies are errors), with
/// headers of at most 64 KiB.
///
/// Any answer is a reply, 4xx and 5xx included; only failing to get one is an error, as
/// "controller unreachable at URL: reason" (a change whose reply did not come may still have been made).
/// Blocking; safe to call from one thread at a time.
[[nodiscard]] tl::expected<reply, std::string> request(std::string_view method, std::string_view base_url,
                                                       std::string_view path, std::string_view body,
                                                       std::chrono::milliseconds timeout,
                                                       std::string_view bearer_token = {});

/// request("GET", base_url, path, no body, timeout, bearer_token).
[[nodiscard]] tl::expected<reply, std::string> get(std::string_view base_url, std::string_view path,
                                                   std::chrono::milliseconds timeout,
                                                   std::string_view bearer_token = {});

/// `s` with every byte but the unreserved ones (A-Z a-z 0-9 - . _ ~) as %XX, for one path segment.
[[nodiscard]] std::string percent_encode(std::string_view s);

}  // namespace mtce::api
