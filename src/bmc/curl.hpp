#pragma once

// libcurl, loaded at run time. The one mtce binary runs on every host, and only controllers talk Redfish:
// linking libcurl would cost every host agent its share of RSS (libcurl and the libraries it pulls in, about
// 3.7 MiB). So libcurl.so.4 is opened with dlopen() the first time a Redfish client is made, and only the
// functions listed here are resolved. Compiled against libcurl's headers (types and constants only).

#include <string>

#include <curl/curl.h>
#include <tl/expected.hpp>

namespace mtce::bmc::curl {

/// The libcurl functions mtce uses, resolved from the loaded library.
struct api {
    CURLcode (*global_init)(long flags);
    CURL* (*easy_init)();
    void (*easy_cleanup)(CURL*);
    CURLcode (*easy_setopt)(CURL*, CURLoption, ...);
    CURLcode (*easy_getinfo)(CURL*, CURLINFO, ...);
    const char* (*easy_strerror)(CURLcode);
    CURLM* (*multi_init)();
    CURLMcode (*multi_cleanup)(CURLM*);
    CURLMcode (*multi_setopt)(CURLM*, CURLMoption, ...);
    CURLMcode (*multi_add_handle)(CURLM*, CURL*);
    CURLMcode (*multi_remove_handle)(CURLM*, CURL*);
    CURLMcode (*multi_socket_action)(CURLM*, curl_socket_t, int, int*);
    CURLMsg* (*multi_info_read)(CURLM*, int*);
    const char* (*multi_strerror)(CURLMcode);
    curl_slist* (*slist_append)(curl_slist*, const char*);
    void (*slist_free_all)(curl_slist*);
    curl_version_info_data* (*version_info)(CURLversion);
};

/// The library name opened by load().
inline constexpr const char* library = "libcurl.so.4";

/// Opens libcurl.so.4 and initialises it (curl_global_init) the first time; later calls return the same
/// functions, or the same error. Thread-safe. The error reads
/// "Redfish needs libcurl (Debian package libcurl4): <dlerror>".
[[nodiscard]] tl::expected<const api*, std::string> load();

/// Opens `soname` and resolves the functions, without caching or curl_global_init: for tests of the
/// failure path (a library that does not exist, or one that lacks a function).
[[nodiscard]] tl::expected<api, std::string> open(const char* soname);

}  // namespace mtce::bmc::curl
