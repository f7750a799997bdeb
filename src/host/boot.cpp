#include "host/boot.hpp"

#include <ctime>

#include <algorithm>
#include <charconv>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/files.hpp"

namespace mtce::host {

namespace {

std::uint64_t clock_ns(clockid_t id) {
    timespec ts{};
    ::clock_gettime(id, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000U + static_cast<std::uint64_t>(ts.tv_nsec);
}

/// The value of `key=` in key=value text, if present.
std::optional<std::string_view> field(std::string_view text, std::string_view key) {
    while (!text.empty()) {
        const auto nl = text.find('\n');
        const auto line = text.substr(0, nl);
        if (line.size() > key.size() && line.substr(0, key.size()) == key && line[key.size()] == '=') {
            return line.substr(key.size() + 1);
        }
        if (nl == std::string_view::npos) {
            break;
        }
        text.remove_prefix(nl + 1);
    }
    return std::nullopt;
}

std::optional<std::uint64_t> to_number(std::string_view s) {
    std::uint64_t v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || end != s.data() + s.size()) {
        return std::nullopt;
    }
    return v;
}

}  // namespace

std::uint64_t boottime_ns() {
    return clock_ns(CLOCK_BOOTTIME);
}

std::uint64_t realtime_ns() {
    return clock_ns(CLOCK_REALTIME);
}

std::uint64_t uptime_seconds(const net::boot_identity& boot, std::uint64_t realtime_s,
                             std::uint64_t boottime_s) {
    if (!boot.simulated) {
        return boottime_s;
    }
    return realtime_s > boot.boot_time ? realtime_s - boot.boot_time : 0;
}

std::uint64_t choose_boot_time(std::string_view boot_id_text, const std::optional<std::string>& recorded,
                               std::uint64_t computed) {
    if (!recorded) {
        return computed;
    }
    const auto id = field(*recorded, "boot_id");
    const auto time = field(*recorded, "boot_time");
    const auto previous = time ? to_number(*time) : std::nullopt;
    if (!previous) {
        return computed;
    }
    if (id && *id == boot_id_text) {
        return *previous;
    }
    return std::max(computed, *previous + 1);
}

net::boot_identity load_boot_identity(const std::filesystem::path& run_dir, std::string boot_id_text,
                                      bool simulated) {
    const auto file = run_dir / "boot_time";
    const auto recorded = read_small_file(file, 512);
    const std::uint64_t now = clock_ns(CLOCK_REALTIME);
    const std::uint64_t computed = (simulated ? now : now - clock_ns(CLOCK_BOOTTIME)) / 1'000'000'000U;
    net::boot_identity boot;
    boot.simulated = simulated;
    boot.boot_time = choose_boot_time(boot_id_text, recorded, computed);
    boot.id = net::parse_boot_id(boot_id_text);
    const bool same =
        recorded && field(*recorded, "boot_id") == std::optional<std::string_view>{boot_id_text};
    if (!same ||
        field(*recorded, "boot_time") != std::optional<std::string_view>{std::to_string(boot.boot_time)}) {
        if (auto ec = write_file_atomic(
                file, fmt::format("boot_id={}\nboot_time={}\n", boot_id_text, boot.boot_time))) {
            spdlog::warn("cannot record the boot time in '{}': {}", file.string(), ec.message());
        }
    }
    boot.id_text = std::move(boot_id_text);
    return boot;
}

}  // namespace mtce::host
