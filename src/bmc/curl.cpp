#include "bmc/curl.hpp"

#include <dlfcn.h>

#include <mutex>
#include <optional>

#include "core/dl.hpp"

namespace mtce::bmc::curl {

namespace {

std::string failure(const std::string& why) {
    return "Redfish needs libcurl (Debian package libcurl4): " + why;
}

}  // namespace

tl::expected<api, std::string> open(const char* soname) {
    // RTLD_LOCAL: libcurl's symbols stay out of the global namespace; nothing else in mtce looks them up.
    void* lib = ::dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    if (lib == nullptr) {
        return tl::unexpected{failure(dl::last_error())};
    }
    api a{};
    std::string why;
    const bool ok = dl::resolve(lib, "curl_global_init", a.global_init, why) &&
                    dl::resolve(lib, "curl_easy_init", a.easy_init, why) &&
                    dl::resolve(lib, "curl_easy_cleanup", a.easy_cleanup, why) &&
                    dl::resolve(lib, "curl_easy_setopt", a.easy_setopt, why) &&
                    dl::resolve(lib, "curl_easy_getinfo", a.easy_getinfo, why) &&
                    dl::resolve(lib, "curl_easy_strerror", a.easy_strerror, why) &&
                    dl::resolve(lib, "curl_multi_init", a.multi_init, why) &&
                    dl::resolve(lib, "curl_multi_cleanup", a.multi_cleanup, why) &&
                    dl::resolve(lib, "curl_multi_setopt", a.multi_setopt, why) &&
                    dl::resolve(lib, "curl_multi_add_handle", a.multi_add_handle, why) &&
                    dl::resolve(lib, "curl_multi_remove_handle", a.multi_remove_handle, why) &&
                    dl::resolve(lib, "curl_multi_socket_action", a.multi_socket_action, why) &&
                    dl::resolve(lib, "curl_multi_info_read", a.multi_info_read, why) &&
                    dl::resolve(lib, "curl_multi_strerror", a.multi_strerror, why) &&
                    dl::resolve(lib, "curl_slist_append", a.slist_append, why) &&
                    dl::resolve(lib, "curl_slist_free_all", a.slist_free_all, why) &&
                    dl::resolve(lib, "curl_version_info", a.version_info, why);
    if (!ok) {
        (void)::dlclose(lib);
        return tl::unexpected{failure(why)};
    }
    return a;  // the library stays loaded for the life of the process
}

tl::expected<const api*, std::string> load() {
    static std::once_flag once;
    static std::optional<api> loaded;
    static std::string error;
    std::call_once(once, [] {
        auto a = open(library);
        if (!a) {
            error = a.error();
            return;
        }
        // curl_global_init is not thread-safe in older libcurl: call_once makes it run exactly once.
        const CURLcode rc = a->global_init(CURL_GLOBAL_DEFAULT);
        if (rc != CURLE_OK) {
            error = failure(std::string{"curl_global_init: "} + a->easy_strerror(rc));
            return;
        }
        loaded = *a;
    });
    if (!loaded) {
        return tl::unexpected{error};
    }
    return &*loaded;
}

}  // namespace mtce::bmc::curl
