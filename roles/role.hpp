#pragma once

#include <memory>
#include <string>

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <tl/expected.hpp>

#include "core/config.hpp"
#include "core/tasks.hpp"

namespace mtce::roles {

/// What a role's components are built from: the event loop, the configuration in force, the task set.
struct role_context {
    asio::any_io_executor ex;
    config_store& config;
    task_set& tasks;
    std::string cluster_key;  ///< auth.key_file's bytes, read and checked once at start
};

/// The components of a running role; they live until the process exits.
class running_role {
public:
    virtual ~running_role() = default;

    /// What only an active controller runs (heartbeat monitor, fleet manager, API), started anew and stopped
    /// in reverse order while the host agent runs on (design §8). Nothing for the other roles. start_active()
    /// throws naming the component that could not start.
    virtual void start_active() {}
    virtual asio::awaitable<void> stop_active() { co_return; }
    [[nodiscard]] virtual bool active() const { return false; }
};

/// Builds the components of `r` and spawns their tasks. An error says which component could not start.
[[nodiscard]] tl::expected<std::unique_ptr<running_role>, std::string> start(role r, role_context& ctx);

/// The parts roles are composed of.
[[nodiscard]] tl::expected<std::unique_ptr<running_role>, std::string> start_controller(role_context& ctx);
[[nodiscard]] tl::expected<std::unique_ptr<running_role>, std::string> start_worker(role_context& ctx);
[[nodiscard]] tl::expected<std::unique_ptr<running_role>, std::string> start_storage(role_context& ctx);

}  // namespace mtce::roles
