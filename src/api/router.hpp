#pragma once

// The REST API's routes (design §3.4): a request in, a response out, the data and the decisions from a
// backend. No I/O of its own: reads are answered at once from the backend's documents, changes await the
// backend's coroutines.

#include <optional>
#include <string>
#include <string_view>

#include <asio/awaitable.hpp>

#include "api/backend.hpp"
#include "api/http.hpp"

namespace mtce::api {

/// The content type of GET /metrics (Prometheus text exposition format).
inline constexpr std::string_view metrics_content_type = "text/plain; version=0.0.4";

/// A JSON error response: {"error": error, "reason": reason} with `status`.
[[nodiscard]] http::response error_response(int status, std::string_view error, std::string_view reason);

/// The "error" of a JSON error for `status` when nothing more specific is known: its reason phrase in lower
/// case ("Request Header Fields Too Large" -> "request header fields too large").
[[nodiscard]] std::string error_title(int status);

/// Answers `req`:
/// - GET (and HEAD, answered as GET: the caller leaves the body out) /v1/hosts, /v1/hosts/{name},
///   /v1/alarms, /v1/events?since=N&limit=M, /v1/health, /v1/system and /metrics;
/// - POST /v1/hosts, PATCH /v1/hosts/{name}, DELETE /v1/hosts/{name} and POST /v1/hosts/{name}/actions,
///   which await the backend's add_host(), modify_host(), delete_host() and act(); their outcome becomes the
///   response: result::done is 201, 200, 204 (no body) and 202 respectively, with the outcome's body ({} when
///   empty); the others are JSON errors with the outcome's reason: invalid 400 "bad request", not_found 404
///   "not found", refused 409 "refused", conflict 409 "conflict", not_saved 503 "not saved".
///
/// `may_change` is the access decision for this client (see may_change()): a mutating request without it is
/// refused with 403 before anything else is looked at. Then an unknown path is 404, a method the path does
/// not serve 405 (with Allow), a change with a body whose Content-Type is not application/json 415, and a
/// body or query that does not parse 400 with the reason; only then is the backend asked.
///
/// The backend's exceptions propagate, as does a std::logic_error for an outcome whose kind is none of
/// api::result's. `req` and `b` must outlive the returned awaitable. Cancelling it cancels the backend's
/// coroutine.
[[nodiscard]] asio::awaitable<http::response> route(const http::request& req, backend& b, bool may_change);

/// Decodes %XX escapes in one path segment; nullopt for a malformed escape or an encoded '/' or NUL.
[[nodiscard]] std::optional<std::string> percent_decode(std::string_view segment);

}  // namespace mtce::api
