#include "fleet/sqlite_loader.hpp"

#include <dlfcn.h>

#include <cstdarg>
#include <cstdlib>

#include <sqlite3.h>

#include "core/dl.hpp"

namespace mtce::fleet::sqlite {

namespace {

/// The SQLite functions mtce calls, resolved from the loaded library; each has its trampoline below.
struct api {
    decltype(&::sqlite3_open) open;
    decltype(&::sqlite3_open_v2) open_v2;
    decltype(&::sqlite3_close) close;
    decltype(&::sqlite3_close_v2) close_v2;
    decltype(&::sqlite3_exec) exec;
    decltype(&::sqlite3_free) free;
    decltype(&::sqlite3_errmsg) errmsg;
    decltype(&::sqlite3_errstr) errstr;
    decltype(&::sqlite3_system_errno) system_errno;
    decltype(&::sqlite3_extended_result_codes) extended_result_codes;
    decltype(&::sqlite3_busy_timeout) busy_timeout;
    decltype(&::sqlite3_db_config) db_config;
    decltype(&::sqlite3_changes) changes;
    decltype(&::sqlite3_last_insert_rowid) last_insert_rowid;
    decltype(&::sqlite3_get_autocommit) get_autocommit;
    decltype(&::sqlite3_wal_checkpoint_v2) wal_checkpoint_v2;
    decltype(&::sqlite3_prepare_v2) prepare_v2;
    decltype(&::sqlite3_prepare_v3) prepare_v3;
    decltype(&::sqlite3_step) step;
    decltype(&::sqlite3_reset) reset;
    decltype(&::sqlite3_finalize) finalize;
    decltype(&::sqlite3_clear_bindings) clear_bindings;
    decltype(&::sqlite3_bind_int64) bind_int64;
    decltype(&::sqlite3_bind_null) bind_null;
    decltype(&::sqlite3_bind_text) bind_text;
    decltype(&::sqlite3_column_bytes) column_bytes;
    decltype(&::sqlite3_column_int64) column_int64;
    decltype(&::sqlite3_column_text) column_text;
};

struct loaded {
    api fns{};
    std::string error;  ///< empty once loaded
};

std::string failure(const std::string& why) {
    return "the inventory needs SQLite (libsqlite3.so.0: Debian package libsqlite3-0, sqlite-libs on Fedora "
           "and "
           "RHEL): " +
           why;
}

loaded open_library() {
    loaded l;
    // RTLD_LOCAL: SQLite's symbols stay out of the global namespace, so nothing binds to them by accident;
    // mtce reaches them only through the table.
    void* lib = ::dlopen(library, RTLD_NOW | RTLD_LOCAL);
    if (lib == nullptr) {
        l.error = failure(dl::last_error());
        return l;
    }
    api& a = l.fns;
    std::string why;
    const bool ok =
        dl::resolve(lib, "sqlite3_open", a.open, why) &&
        dl::resolve(lib, "sqlite3_open_v2", a.open_v2, why) &&
        dl::resolve(lib, "sqlite3_close", a.close, why) &&
        dl::resolve(lib, "sqlite3_close_v2", a.close_v2, why) &&
        dl::resolve(lib, "sqlite3_exec", a.exec, why) && dl::resolve(lib, "sqlite3_free", a.free, why) &&
        dl::resolve(lib, "sqlite3_errmsg", a.errmsg, why) &&
        dl::resolve(lib, "sqlite3_errstr", a.errstr, why) &&
        dl::resolve(lib, "sqlite3_system_errno", a.system_errno, why) &&
        dl::resolve(lib, "sqlite3_extended_result_codes", a.extended_result_codes, why) &&
        dl::resolve(lib, "sqlite3_busy_timeout", a.busy_timeout, why) &&
        dl::resolve(lib, "sqlite3_db_config", a.db_config, why) &&
        dl::resolve(lib, "sqlite3_changes", a.changes, why) &&
        dl::resolve(lib, "sqlite3_last_insert_rowid", a.last_insert_rowid, why) &&
        dl::resolve(lib, "sqlite3_get_autocommit", a.get_autocommit, why) &&
        dl::resolve(lib, "sqlite3_wal_checkpoint_v2", a.wal_checkpoint_v2, why) &&
        dl::resolve(lib, "sqlite3_prepare_v2", a.prepare_v2, why) &&
        dl::resolve(lib, "sqlite3_prepare_v3", a.prepare_v3, why) &&
        dl::resolve(lib, "sqlite3_step", a.step, why) && dl::resolve(lib, "sqlite3_reset", a.reset, why) &&
        dl::resolve(lib, "sqlite3_finalize", a.finalize, why) &&
        dl::resolve(lib, "sqlite3_clear_bindings", a.clear_bindings, why) &&
        dl::resolve(lib, "sqlite3_bind_int64", a.bind_int64, why) &&
        dl::resolve(lib, "sqlite3_bind_null", a.bind_null, why) &&
        dl::resolve(lib, "sqlite3_bind_text", a.bind_text, why) &&
        dl::resolve(lib, "sqlite3_column_bytes", a.column_bytes, why) &&
        dl::resolve(lib, "sqlite3_column_int64", a.column_int64, why) &&
        dl::resolve(lib, "sqlite3_column_text", a.column_text, why);
    if (!ok) {
        (void)::dlclose(lib);
        l.fns = api{};
        l.error = failure(why);
        return l;
    }
    return l;  // the library stays loaded for the life of the process
}

/// The library, opened on the first call (a function-local static: initialised once, thread-safe).
const loaded& state() {
    static const loaded l = open_library();
    return l;
}

/// The functions, for a trampoline whose caller holds a connection or a statement: there is none unless
/// sqlite3_open*() succeeded, so the library is loaded.
const api& fns() {
    const loaded& l = state();
    if (!l.error.empty()) {
        std::abort();  // a handle from nowhere: memory corruption
    }
    return l.fns;
}

/// The loader's error, or nullptr once the library is loaded.
const char* load_error() {
    const loaded& l = state();
    return l.error.empty() ? nullptr : l.error.c_str();
}

}  // namespace

tl::expected<void, std::string> load() {
    if (const char* e = load_error(); e != nullptr) {
        return tl::unexpected{std::string{e}};
    }
    return {};
}

}  // namespace mtce::fleet::sqlite

using mtce::fleet::sqlite::fns;
using mtce::fleet::sqlite::load_error;

// The trampolines. Those that can be called before any connection exists (open, the error texts, and the
// functions documented as harmless on a null pointer) work without the library: sqlite3_open*() returns
// SQLITE_CANTOPEN with a null connection, and sqlite3_errstr()/sqlite3_errmsg(nullptr) return the loader's
// error, so a caller that reports SQLite's text names the missing package. The inventory checks load() itself
// before opening (inventory.cpp says why).
extern "C" {

int sqlite3_open(const char* filename, sqlite3** db) {
    if (load_error() != nullptr) {
        *db = nullptr;
        return SQLITE_CANTOPEN;
    }
    return fns().open(filename, db);
}

int sqlite3_open_v2(const char* filename, sqlite3** db, int flags, const char* vfs) {
    if (load_error() != nullptr) {
        *db = nullptr;
        return SQLITE_CANTOPEN;
    }
    return fns().open_v2(filename, db, flags, vfs);
}

int sqlite3_close(sqlite3* db) {
    return db == nullptr ? SQLITE_OK : fns().close(db);
}

int sqlite3_close_v2(sqlite3* db) {
    return db == nullptr ? SQLITE_OK : fns().close_v2(db);
}

int sqlite3_exec(sqlite3* db, const char* sql, int (*callback)(void*, int, char**, char**), void* arg,
                 char** errmsg) {
    return fns().exec(db, sql, callback, arg, errmsg);
}

void sqlite3_free(void* p) {
    if (p != nullptr) {
        fns().free(p);
    }
}

const char* sqlite3_errmsg(sqlite3* db) {
    if (const char* e = load_error(); e != nullptr && db == nullptr) {
        return e;
    }
    return fns().errmsg(db);
}

const char* sqlite3_errstr(int rc) {
    if (const char* e = load_error(); e != nullptr) {
        return e;
    }
    return fns().errstr(rc);
}

int sqlite3_system_errno(sqlite3* db) {
    return fns().system_errno(db);
}

int sqlite3_extended_result_codes(sqlite3* db, int onoff) {
    return fns().extended_result_codes(db, onoff);
}

int sqlite3_busy_timeout(sqlite3* db, int ms) {
    return fns().busy_timeout(db, ms);
}

// Variadic, and C cannot pass a va_list on to a variadic function: the arguments are read by the shape
// <sqlite3.h> documents for the op and passed on as they are. mtce passes SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
// which takes (int, int*) like every op from SQLITE_DBCONFIG_ENABLE_FKEY up; MAINDBNAME (const char*) and
// LOOKASIDE (void*, int, int) are the only other shapes.
int sqlite3_db_config(sqlite3* db, int op, ...) {
    const auto config = fns().db_config;
    std::va_list args;
    va_start(args, op);
    int rc = SQLITE_OK;
    switch (op) {
    case SQLITE_DBCONFIG_MAINDBNAME:
        rc = config(db, op, va_arg(args, const char*));
        break;
    case SQLITE_DBCONFIG_LOOKASIDE: {
        void* buffer = va_arg(args, void*);
        const int slot_size = va_arg(args, int);
        const int slots = va_arg(args, int);
        rc = config(db, op, buffer, slot_size, slots);
        break;
    }
    default: {
        const int value = va_arg(args, int);
        int* out = va_arg(args, int*);
        rc = config(db, op, value, out);
        break;
    }
    }
    va_end(args);
    return rc;
}

int sqlite3_changes(sqlite3* db) {
    return fns().changes(db);
}

sqlite3_int64 sqlite3_last_insert_rowid(sqlite3* db) {
    return fns().last_insert_rowid(db);
}

int sqlite3_get_autocommit(sqlite3* db) {
    return fns().get_autocommit(db);
}

int sqlite3_wal_checkpoint_v2(sqlite3* db, const char* schema, int mode, int* log_frames, int* checkpointed) {
    return fns().wal_checkpoint_v2(db, schema, mode, log_frames, checkpointed);
}

int sqlite3_prepare_v2(sqlite3* db, const char* sql, int bytes, sqlite3_stmt** stmt, const char** tail) {
    return fns().prepare_v2(db, sql, bytes, stmt, tail);
}

int sqlite3_prepare_v3(sqlite3* db, const char* sql, int bytes, unsigned int flags, sqlite3_stmt** stmt,
                       const char** tail) {
    return fns().prepare_v3(db, sql, bytes, flags, stmt, tail);
}

int sqlite3_step(sqlite3_stmt* stmt) {
    return fns().step(stmt);
}

int sqlite3_reset(sqlite3_stmt* stmt) {
    return stmt == nullptr ? SQLITE_OK : fns().reset(stmt);
}

int sqlite3_finalize(sqlite3_stmt* stmt) {
    return stmt == nullptr ? SQLITE_OK : fns().finalize(stmt);
}

int sqlite3_clear_bindings(sqlite3_stmt* stmt) {
    return fns().clear_bindings(stmt);
}

int sqlite3_bind_int64(sqlite3_stmt* stmt, int index, sqlite3_int64 value) {
    return fns().bind_int64(stmt, index, value);
}

int sqlite3_bind_null(sqlite3_stmt* stmt, int index) {
    return fns().bind_null(stmt, index);
}

int sqlite3_bind_text(sqlite3_stmt* stmt, int index, const char* text, int bytes, void (*destructor)(void*)) {
    return fns().bind_text(stmt, index, text, bytes, destructor);
}

int sqlite3_column_bytes(sqlite3_stmt* stmt, int column) {
    return fns().column_bytes(stmt, column);
}

sqlite3_int64 sqlite3_column_int64(sqlite3_stmt* stmt, int column) {
    return fns().column_int64(stmt, column);
}

const unsigned char* sqlite3_column_text(sqlite3_stmt* stmt, int column) {
    return fns().column_text(stmt, column);
}

}  // extern "C"
