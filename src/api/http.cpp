#include "api/http.hpp"

#include <algorithm>
#include <climits>

#include <fmt/format.h>
#include <http_parser.h>

#include "core/text.hpp"

namespace mtce::api::http {

namespace {

void trim_trailing_whitespace(std::string& s) {
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
        s.pop_back();
    }
}

}  // namespace

std::optional<std::string_view> request::header(std::string_view lower_name) const {
    for (const auto& [name, value] : headers) {
        if (name == lower_name) {
            return std::string_view{value};
        }
    }
    return std::nullopt;
}

// http_parser calls back into this through `parser.data`; the callbacks only collect, decisions are taken in
// on_headers_complete (limits, version, target) and feed().
struct request_parser::impl {
    limits lim;
    http_parser parser{};
    http_parser_settings settings{};
    request req;
    parse_error err;
    bool own_error = false;      ///< err was set by a callback, not by http_parser
    bool last_was_value = true;  ///< the next header field callback starts a new header
    bool headers_done = false;
    bool started = false;
    bool failed = false;
    std::size_t head_bytes = 0;

    explicit impl(limits l) : lim{l} {
        http_parser_init(&parser, HTTP_REQUEST);
        parser.data = this;
        settings.on_message_begin = [](http_parser* p) { return self(p).on_begin(); };
        settings.on_url = [](http_parser* p, const char* at, std::size_t n) {
            self(p).req.target.append(at, n);
            return 0;
        };
        settings.on_header_field = [](http_parser* p, const char* at, std::size_t n) {
            return self(p).on_field(std::string_view{at, n});
        };
        settings.on_header_value = [](http_parser* p, const char* at, std::size_t n) {
            auto& s = self(p);
            s.req.headers.back().second.append(at, n);
            s.last_was_value = true;
            return 0;
        };
        settings.on_headers_complete = [](http_parser* p) { return self(p).on_headers_complete(); };
        settings.on_body = [](http_parser* p, const char* at, std::size_t n) {
            return self(p).on_body(std::string_view{at, n});
        };
        settings.on_message_complete = [](http_parser* p) {
            auto& s = self(p);
            s.req.keep_alive = http_should_keep_alive(p) != 0 && p->upgrade == 0;
            http_parser_pause(p, 1);  // one request at a time: feed() returns what belongs to it
            return 0;
        };
    }

    static impl& self(http_parser* p) { return *static_cast<impl*>(p->data); }

    int refuse(int status, std::string reason) {
        err = {status, std::move(reason)};
        own_error = true;
        return -1;
    }

    int on_begin() {
        started = true;
        return 0;
    }

    int on_field(std::string_view piece) {
        if (last_was_value) {
            req.headers.emplace_back();
            last_was_value = false;
        }
        req.headers.back().first.append(piece);
        return 0;
    }

    int on_headers_complete() {
        headers_done = true;
        if (parser.http_major != 1) {
            return refuse(505, fmt::format("HTTP/{}.{} is not supported; use HTTP/1.1", parser.http_major,
                                           parser.http_minor));
        }
        for (auto& [name, value] : req.headers) {
            std::transform(name.begin(), name.end(), name.begin(), ascii_lower);
            trim_trailing_whitespace(value);
        }
        req.method = http_method_str(static_cast<http_method>(parser.method));
        http_parser_url url{};
        http_parser_url_init(&url);
        if (http_parser_parse_url(req.target.data(), req.target.size(), parser.method == HTTP_CONNECT,
                                  &url) != 0 ||
            (url.field_set & (1 << UF_PATH)) == 0) {
            return refuse(400, "the request target is not a path");
        }
        req.path = req.target.substr(url.field_data[UF_PATH].off, url.field_data[UF_PATH].len);
        if ((url.field_set & (1 << UF_QUERY)) != 0) {
            req.query = req.target.substr(url.field_data[UF_QUERY].off, url.field_data[UF_QUERY].len);
        }
        if ((parser.flags & F_CONTENTLENGTH) != 0 && parser.content_length > lim.max_body) {
            return refuse(413, fmt::format("the body exceeds {} bytes", lim.max_body));
        }
        return 0;
    }

    int on_body(std::string_view piece) {
        if (req.body.size() + piece.size() > lim.max_body) {
            return refuse(413, fmt::format("the body exceeds {} bytes", lim.max_body));
        }
        req.body.append(piece);
        return 0;
    }

    step fail(std::size_t consumed) {
        failed = true;
        if (!own_error) {
            const auto code = HTTP_PARSER_ERRNO(&parser);
            err = code == HPE_HEADER_OVERFLOW
                      ? parse_error{431,
                                    fmt::format("the request line and headers exceed {} bytes", lim.max_head)}
                      : parse_error{400, http_errno_description(code)};
        }
        return {state::failed, consumed};
    }

    step feed(std::string_view data) {
        if (failed) {
            return {state::failed, 0};
        }
        std::size_t total = 0;
        while (total < data.size()) {
            auto chunk = data.substr(total);
            if (!headers_done) {
                // Never hand http_parser more of a head than the limit allows, so the limit is exact.
                chunk = chunk.substr(0, lim.max_head - head_bytes);
            }
            const auto n = http_parser_execute(&parser, &settings, chunk.data(), chunk.size());
            started = started || n > 0;
            if (!headers_done) {
                head_bytes += n;
            }
            total += n;
            const auto code = HTTP_PARSER_ERRNO(&parser);
            if (code == HPE_PAUSED) {
                return {state::complete, total};
            }
            if (code != HPE_OK || n < chunk.size()) {
                return fail(total);
            }
            if (!headers_done && head_bytes >= lim.max_head) {
                own_error = true;
                err = {431, fmt::format("the request line and headers exceed {} bytes", lim.max_head)};
                return fail(total);
            }
        }
        return {state::need_more, total};
    }

    void next() {
        http_parser_pause(&parser, 0);
        req = request{};
        last_was_value = true;
        headers_done = false;
        started = false;
        head_bytes = 0;
    }
};

request_parser::request_parser(limits l) : impl_{std::make_unique<impl>(l)} {}
request_parser::~request_parser() = default;

request_parser::step request_parser::feed(std::string_view data) {
    return impl_->feed(data);
}

bool request_parser::started() const {
    return impl_->started;
}

request& request_parser::current() {
    return impl_->req;
}

const parse_error& request_parser::error() const {
    return impl_->err;
}

void request_parser::next() {
    impl_->next();
}

std::string_view reason_phrase(int status) {
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 413:
        return "Content Too Large";
    case 415:
        return "Unsupported Media Type";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Unknown";
    }
}

std::string serialize(const response& r, bool keep_alive, bool with_body) {
    std::string out = fmt::format("HTTP/1.1 {} {}\r\n", r.status, reason_phrase(r.status));
    // 204 and 304 have no body, and so neither Content-Type nor Content-Length (RFC 9110 §8.6, §15.3.5).
    const bool bodiless = r.status == 204 || r.status == 304;
    if (!bodiless) {
        out += fmt::format("Content-Type: {}\r\nContent-Length: {}\r\n", r.content_type, r.body.size());
    }
    out += fmt::format("Connection: {}\r\n", keep_alive ? "keep-alive" : "close");
    for (const auto& [name, value] : r.headers) {
        out += fmt::format("{}: {}\r\n", name, value);
    }
    out += "\r\n";
    if (with_body && !bodiless) {
        out += r.body;
    }
    return out;
}

}  // namespace mtce::api::http
