#define BOOST_TEST_MODULE core_files_test
#include "core/files.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include <boost/test/unit_test.hpp>
#include <fmt/format.h>

#include "scratch.hpp"

namespace fs = std::filesystem;
using mtce::access_problem;
using mtce::check_access;
using mtce::file_facts;
using mtce::file_use;

namespace {

constexpr std::uint32_t self = 1000;

file_facts directory(std::uint32_t mode, std::uint32_t owner = self) {
    return {/*directory=*/true, /*regular=*/false, mode, owner};
}

file_facts regular(std::uint32_t mode, std::uint32_t owner = self) {
    return {/*directory=*/false, /*regular=*/true, mode, owner};
}

std::string problem(file_use use, const file_facts& f) {
    return access_problem("/var/lib/mtce/x", use, f, self, /*check_owner=*/true);
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_private_directory_and_a_private_file_of_the_daemon_or_root_are_trusted) {
    BOOST_TEST(problem(file_use::directory, directory(0700)).empty());
    BOOST_TEST(problem(file_use::directory, directory(0755)).empty());  // its files are private themselves
    BOOST_TEST(problem(file_use::directory, directory(0700, 0)).empty());
    BOOST_TEST(problem(file_use::private_file, regular(0600)).empty());
    BOOST_TEST(problem(file_use::private_file, regular(0400, 0)).empty());
}

BOOST_AUTO_TEST_CASE(a_directory_others_can_write_is_refused_with_the_path_and_the_fix) {
    for (const std::uint32_t mode : {0777U, 0770U, 0720U, 0702U, 01777U}) {
        BOOST_TEST(problem(file_use::directory, directory(mode)) ==
                       fmt::format("'/var/lib/mtce/x' can be written by others (mode {:04o}); run: chmod 700 "
                                   "'/var/lib/mtce/x'",
                                   mode),
                   std::oct << mode);
    }
}

BOOST_AUTO_TEST_CASE(a_private_file_with_any_permission_for_others_is_refused_with_the_path_and_the_fix) {
    for (const std::uint32_t mode : {0644U, 0640U, 0604U, 0660U, 0610U}) {
        BOOST_TEST(problem(file_use::private_file, regular(mode)) ==
                       fmt::format("'/var/lib/mtce/x' is readable by others (mode {:04o}); run: chmod 600 "
                                   "'/var/lib/mtce/x'",
                                   mode),
                   std::oct << mode);
    }
}

BOOST_AUTO_TEST_CASE(a_path_owned_by_another_user_is_refused_unless_the_owner_is_not_checked) {
    BOOST_TEST(
        problem(file_use::private_file, regular(0600, 1001)) ==
        "'/var/lib/mtce/x' belongs to uid 1001, not to this daemon's user (uid 1000) or root; run: chown "
        "1000 '/var/lib/mtce/x'");
    BOOST_TEST(problem(file_use::directory, directory(0700, 1001)) != "");
    BOOST_TEST(access_problem("/k", file_use::private_file, regular(0600, 1001), self, /*check_owner=*/false)
                   .empty());
}

BOOST_AUTO_TEST_CASE(the_wrong_kind_of_file_is_refused) {
    BOOST_TEST(problem(file_use::directory, regular(0700)) == "'/var/lib/mtce/x' is not a directory");
    BOOST_TEST(problem(file_use::private_file, directory(0700)) == "'/var/lib/mtce/x' is not a regular file");
}

BOOST_AUTO_TEST_CASE(check_access_looks_at_the_real_file_and_accepts_a_missing_one) {
    mtce::test::scratch dir;
    BOOST_TEST(check_access(dir.path() / "missing", file_use::private_file).empty());
    const auto key = dir.write("key", "k", 0600);
    BOOST_TEST(check_access(key, file_use::private_file).empty());
    ::chmod(key.c_str(), 0644);
    BOOST_TEST(check_access(key, file_use::private_file) ==
               "'" + key.string() + "' is readable by others (mode 0644); run: chmod 600 '" + key.string() +
                   "'");
    ::chmod(dir.path().c_str(), 0777);
    BOOST_TEST(check_access(dir.path(), file_use::directory) != "");
    ::chmod(dir.path().c_str(), 0700);
    BOOST_TEST(check_access(dir.path(), file_use::directory).empty());
}
