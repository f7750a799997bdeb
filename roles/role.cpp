#include "role.hpp"

namespace mtce::roles {

tl::expected<std::unique_ptr<running_role>, std::string> start(role r, role_context& ctx) {
    switch (r) {
    case role::controller:
        return start_controller(ctx);
    case role::worker:
        return start_worker(ctx);
    case role::storage:
        return start_storage(ctx);
    }
    return tl::unexpected{std::string{"unknown role"}};
}

}  // namespace mtce::roles
