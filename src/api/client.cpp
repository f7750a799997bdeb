#include "api/client.hpp"

#include <memory>

#include <curl/curl.h>
#include <fmt/format.h>

namespace mtce::api {

namespace {

constexpr std::size_t max_body = 64 * 1024 * 1024;

struct easy_deleter {
    void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct slist_deleter {
    void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

/// libcurl's global state, set up once for the process (the CLI makes its requests from one thread).
bool curl_ready() {
    static const bool ready = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
    return ready;
}

std::size_t append_body(char* data, std::size_t size, std::size_t count, void* user) {
    auto& body = *static_cast<std::string*>(user);
    const auto n = size * count;
    if (body.size() + n > max_body) {
        return 0;  // makes curl fail with CURLE_WRITE_ERROR
    }
    body.append(data, n);
    return n;
}

}  // namespace

std::string percent_encode(std::string_view s) {
    std::string out;
    for (const char c : s) {
        const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                                c == '-' || c == '.' || c == '_' || c == '~';
        if (unreserved) {
            out += c;
        } else {
            out += fmt::format("%{:02X}", static_cast<unsigned char>(c));
        }
    }
    return out;
}

tl::expected<reply, std::string> get(std::string_view base_url, std::string_view path,
                                     std::chrono::milliseconds timeout, std::string_view bearer_token) {
    while (!base_url.empty() && base_url.back() == '/') {
        base_url.remove_suffix(1);
    }
    const std::string url = std::string{base_url} + std::string{path};
    const auto unreachable = [&](std::string_view why) {
        return tl::unexpected{fmt::format("controller unreachable at {}: {}", url, why)};
    };
    if (!curl_ready()) {
        return unreachable("libcurl cannot be initialised");
    }
    // Declared before the handle, which refers to both until it is cleaned up.
    reply out;
    char error[CURL_ERROR_SIZE] = {};
    std::unique_ptr<CURL, easy_deleter> curl{curl_easy_init()};
    if (!curl) {
        return unreachable("libcurl cannot be initialised");
    }
    std::unique_ptr<curl_slist, slist_deleter> headers;
    if (!bearer_token.empty()) {
        const auto authorization = fmt::format("Authorization: Bearer {}", bearer_token);
        headers.reset(curl_slist_append(nullptr, authorization.c_str()));
    }
    CURL* c = curl.get();
    (void)curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    (void)curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    (void)curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    (void)curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    (void)curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
    (void)curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(timeout.count()));
    (void)curl_easy_setopt(c, CURLOPT_USERAGENT, "mtce");
    (void)curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
    (void)curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, append_body);
    (void)curl_easy_setopt(c, CURLOPT_WRITEDATA, &out.body);
    if (headers) {
        (void)curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
    }
    const auto rc = curl_easy_perform(c);
    if (rc != CURLE_OK) {
        return unreachable(error[0] != '\0' ? error : curl_easy_strerror(rc));
    }
    (void)curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out.status);
    const char* type = nullptr;
    (void)curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &type);
    out.content_type = type != nullptr ? type : "";
    return out;
}

}  // namespace mtce::api
