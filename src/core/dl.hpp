#pragma once

// Helpers for libraries mtce loads at run time with dlopen() rather than links (libcurl in bmc/curl.cpp,
// SQLite in fleet/sqlite_loader.cpp), so that a host agent that never uses them does not map them.

#include <dlfcn.h>

#include <string>

namespace mtce::dl {

/// The dynamic loader's reason for the last failed dlopen()/dlsym(). Not thread-safe across those calls:
/// call it from the thread that failed, before any other loader call (as under std::call_once).
[[nodiscard]] inline std::string last_error() {
    const char* e = ::dlerror();
    return e != nullptr ? e : "unknown dynamic loader error";
}

/// Resolves `name` into `fn`; false (with the loader's reason in `why`) if the library lacks it.
template <class Fn>
[[nodiscard]] bool resolve(void* lib, const char* name, Fn& fn, std::string& why) {
    (void)::dlerror();
    void* sym = ::dlsym(lib, name);
    if (sym == nullptr) {
        why = last_error();
        return false;
    }
    // POSIX guarantees that a data pointer from dlsym converts to the function's pointer type.
    fn = reinterpret_cast<Fn>(sym);
    return true;
}

}  // namespace mtce::dl
