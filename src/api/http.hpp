#pragma once

// HTTP/1.1 messages for the REST server, sans-io: a request parser fed with whatever bytes arrived (the
// parsing itself is libhttp-parser's), and the serialisation of a response. No sockets here.

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mtce::api::http {

/// What one request may hold. A request whose request line and headers exceed `max_head` bytes is refused
/// with 431, one whose body exceeds `max_body` with 413.
struct limits {
    std::size_t max_head = std::size_t{16} * 1024;
    std::size_t max_body = std::size_t{64} * 1024;
};

struct request {
    std::string method;  ///< "GET", "POST", ...
    std::string target;  ///< as sent, e.g. "/v1/events?since=4"
    std::string path;    ///< the target without its query, not percent-decoded
    std::string query;   ///< without the '?'
    std::vector<std::pair<std::string, std::string>> headers;  ///< names in lower case, in arrival order
    std::string body;
    bool keep_alive = false;  ///< HTTP/1.1 without "Connection: close", or HTTP/1.0 with keep-alive

    /// The first header named `lower_name` (lower case), if any.
    [[nodiscard]] std::optional<std::string_view> header(std::string_view lower_name) const;
};

/// Why a request was refused before it could be routed: the status to answer with and a reason.
struct parse_error {
    int status = 400;
    std::string reason;
};

/// Reads one request at a time from a byte stream (keep-alive and pipelining: bytes after the end of a
/// request are not consumed). Not thread-safe.
class request_parser {
public:
    explicit request_parser(limits l = {});
    ~request_parser();
    request_parser(const request_parser&) = delete;
    request_parser& operator=(const request_parser&) = delete;

    enum class state { need_more, complete, failed };
    struct step {
        state now = state::need_more;
        std::size_t consumed = 0;  ///< bytes of `data` that belong to this request
    };

    /// Feeds the next bytes of the stream. After `complete`, the request is in current() and the bytes after
    /// `consumed` belong to the next one (call next() first); after `failed`, error() says why and the
    /// connection must be closed.
    step feed(std::string_view data);
    /// Whether some bytes of the current request have arrived (a close now would cut a request short).
    [[nodiscard]] bool started() const;

    [[nodiscard]] request& current();
    [[nodiscard]] const parse_error& error() const;
    /// Forgets the current request and waits for the next one on the same stream.
    void next();

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

/// A response about to be sent.
struct response {
    int status = 200;
    std::string content_type = "application/json";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;  ///< extra headers, e.g. {"Allow", "GET, HEAD"}
};

/// The reason phrase of a status code ("Not Found"); "Unknown" for codes the server never sends.
[[nodiscard]] std::string_view reason_phrase(int status);

/// The bytes of `r` on the wire: status line, Content-Type, Content-Length, Connection, extra headers and,
/// unless `with_body` is false (a HEAD request), the body. A 204 or 304 response has no body, Content-Type
/// or Content-Length.
[[nodiscard]] std::string serialize(const response& r, bool keep_alive, bool with_body);

}  // namespace mtce::api::http
