#pragma once

#include <memory>
#include <string>

#include <asio/any_io_executor.hpp>
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
};

/// Builds the components of `r` and spawns their tasks. An error says which component could not start.
[[nodiscard]] tl::expected<std::unique_ptr<running_role>, std::string> start(role r, role_context& ctx);

/// The parts roles are composed of.
[[nodiscard]] tl::expected<std::unique_ptr<running_role>, std::string> start_controller(role_context& ctx);
[[nodiscard]] tl::expected<std::unique_ptr<running_role>, std::string> start_worker(role_context& ctx);
[[nodiscard]] tl::expected<std::unique_ptr<running_role>, std::string> start_storage(role_context& ctx);

}  // namespace mtce::roles
