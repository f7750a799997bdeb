#include "core/log.hpp"

#include <cstdio>
#include <memory>
#include <string>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/systemd_sink.h>
#include <spdlog/spdlog.h>

namespace mtce {

bool set_log_level(std::string_view level) {
    const auto lvl = spdlog::level::from_str(std::string{level});
    if (lvl == spdlog::level::off && level != "off") {
        return false;
    }
    spdlog::set_level(lvl);
    return true;
}

void init_logging(bool foreground, std::string_view level) {
    spdlog::drop("mtce");
    std::shared_ptr<spdlog::logger> logger;
    if (foreground) {
        logger = spdlog::stderr_color_mt("mtce");
        logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ %v");
    } else {
        logger = std::make_shared<spdlog::logger>(
            "mtce", std::make_shared<spdlog::sinks::systemd_sink_mt>("mtce", /*enable_formatting=*/false));
    }
    spdlog::set_default_logger(logger);
    spdlog::set_error_handler(
        [](const std::string& msg) { std::fprintf(stderr, "mtce: log sink failed: %s\n", msg.c_str()); });
    spdlog::flush_on(spdlog::level::info);
    (void)set_log_level(level);
}

}  // namespace mtce
