#pragma once

// The controller's epoch (design §8): a number that every term of an active controller raises, carried in
// every command so that a host refuses commands of an earlier term. With one controller it is a counter in
// the inventory raised at every start; with two it will be the create_revision of the leader key in etcd.
// Internal to src/fleet.

#include <cstdint>
#include <string>
#include <utility>

#include <tl/expected.hpp>

#include "fleet/inventory.hpp"

namespace mtce::fleet {

/// Where a term's epoch comes from. Not thread-safe.
class epoch_source {
public:
    epoch_source() = default;
    epoch_source(const epoch_source&) = delete;
    epoch_source& operator=(const epoch_source&) = delete;
    virtual ~epoch_source() = default;

    /// The epoch of the term that begins now: higher than that of every earlier term. The error is a
    /// sentence naming the store.
    [[nodiscard]] virtual tl::expected<std::uint64_t, std::string> begin_term() = 0;
};

/// One controller: the inventory's counter (meta.epoch), raised by one at every start of the fleet.
class inventory_epoch final : public epoch_source {
public:
    explicit inventory_epoch(inventory& db) : db_{db} {}

    [[nodiscard]] tl::expected<std::uint64_t, std::string> begin_term() override {
        auto raised = db_.raise_epoch();
        if (!raised) {
            return tl::unexpected{std::move(raised.error().message)};
        }
        return *raised;
    }

private:
    inventory& db_;
};

}  // namespace mtce::fleet
