#define BOOST_TEST_MODULE fleet_epoch_test
// The controller's epoch as the inventory keeps it: raised at every start, never handed out twice.
#include "fleet/epoch.hpp"

#include <sqlite3.h>

#include <boost/test/unit_test.hpp>

#include "scratch.hpp"

using mtce::fleet::inventory;
using mtce::fleet::inventory_epoch;

namespace {

inventory open_at(const std::filesystem::path& dir) {
    auto inv = inventory::open(dir, dir / "bmc.key");
    BOOST_REQUIRE_MESSAGE(inv.has_value(), inv.error().message);
    return std::move(*inv);
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_first_term_of_a_new_inventory_is_epoch_1) {
    const mtce::test::scratch dir;
    auto db = open_at(dir.path());
    inventory_epoch epochs{db};
    const auto e = epochs.begin_term();
    BOOST_REQUIRE_MESSAGE(e.has_value(), e.error());
    BOOST_TEST(*e == 1U);
}

BOOST_AUTO_TEST_CASE(every_start_of_the_controller_raises_the_epoch_also_across_reopening) {
    const mtce::test::scratch dir;
    {
        auto db = open_at(dir.path());
        BOOST_TEST(db.raise_epoch().value() == 1U);
        BOOST_TEST(db.raise_epoch().value() == 2U);
    }
    auto db = open_at(dir.path());  // the controller restarted
    inventory_epoch epochs{db};
    BOOST_TEST(epochs.begin_term().value() == 3U);
    BOOST_TEST(epochs.begin_term().value() == 4U);
}

BOOST_AUTO_TEST_CASE(an_epoch_that_is_not_a_number_is_refused_as_corrupt) {
    const mtce::test::scratch dir;
    {
        auto db = open_at(dir.path());
        BOOST_TEST(db.raise_epoch().value() == 1U);
    }
    sqlite3* raw = nullptr;
    BOOST_REQUIRE(sqlite3_open((dir.path() / "inventory.db").c_str(), &raw) == SQLITE_OK);
    BOOST_REQUIRE(sqlite3_exec(raw, "UPDATE meta SET value = 'many' WHERE key = 'epoch'", nullptr, nullptr,
                               nullptr) == SQLITE_OK);
    sqlite3_close(raw);
    auto db = open_at(dir.path());
    const auto e = inventory_epoch{db}.begin_term();
    BOOST_REQUIRE(!e.has_value());
    BOOST_TEST_MESSAGE("refused: " << e.error());
    BOOST_TEST(e.error().find("epoch") != std::string::npos);
}
