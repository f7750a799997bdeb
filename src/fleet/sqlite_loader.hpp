#pragma once

// SQLite, loaded at run time. The one mtce binary runs on every host, and only a controller keeps an
// inventory: linking libsqlite3 would cost every host agent its share of RSS (about 256 kB). So
// sqlite_loader.cpp defines, with C linkage and <sqlite3.h>'s prototypes, each sqlite3_* function mtce calls,
// as a trampoline to the real one in libsqlite3.so.0, which is opened with dlopen() on the first call. The
// callers (inventory.cpp, the tests) are written against <sqlite3.h> as if SQLite were linked.

#include <string>

#include <tl/expected.hpp>

namespace mtce::fleet::sqlite {

/// The library name opened by load().
inline constexpr const char* library = "libsqlite3.so.0";

/// Opens libsqlite3.so.0 and resolves the functions the first time; later calls return the same outcome.
/// Thread-safe. The error reads "the inventory needs SQLite (libsqlite3.so.0: Debian package libsqlite3-0,
/// sqlite-libs on Fedora and RHEL): <dlerror>".
[[nodiscard]] tl::expected<void, std::string> load();

}  // namespace mtce::fleet::sqlite
