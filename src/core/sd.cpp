#include "core/sd.hpp"

#include <string>

#include <systemd/sd-daemon.h>

namespace mtce::sd {

void notify(std::string_view message) {
    const std::string text{message};
    (void)::sd_notify(/*unset_environment=*/0, text.c_str());
}

std::optional<std::chrono::microseconds> watchdog_interval() {
    std::uint64_t usec = 0;
    if (::sd_watchdog_enabled(/*unset_environment=*/0, &usec) <= 0 || usec == 0) {
        return std::nullopt;
    }
    return std::chrono::microseconds{usec / 2};
}

}  // namespace mtce::sd
