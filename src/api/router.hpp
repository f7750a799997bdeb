#pragma once

// The REST API's routes (design §3.4): a request in, a response out, the data from a backend. No I/O.

#include <optional>
#include <string>
#include <string_view>

#include "api/backend.hpp"
#include "api/http.hpp"

namespace mtce::api {

/// The content type of GET /metrics (Prometheus text exposition format).
inline constexpr std::string_view metrics_content_type = "text/plain; version=0.0.4";

/// A JSON error response: {"error": error, "reason": reason} with `status`.
[[nodiscard]] http::response error_response(int status, std::string_view error, std::string_view reason);

/// Answers `req`. `may_change` is the access decision for this client (see may_change()); a mutating request
/// without it is refused with 403 before anything else is looked at. HEAD is answered as GET (the caller
/// leaves the body out). The backend's exceptions propagate.
[[nodiscard]] http::response route(const http::request& req, const backend& b, bool may_change);

/// Decodes %XX escapes in one path segment; nullopt for a malformed escape or an encoded '/' or NUL.
[[nodiscard]] std::optional<std::string> percent_decode(std::string_view segment);

}  // namespace mtce::api
