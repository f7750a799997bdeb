#include "host/command_fence.hpp"

#include <charconv>
#include <stdexcept>

#include <fmt/format.h>

#include "core/files.hpp"
#include "core/text.hpp"

namespace mtce::host {

namespace {

/// Reads "<label> <unsigned>\n" at the start of `text` and moves past it.
bool read_line(std::string_view& text, std::string_view label, std::uint64_t& out) {
    if (text.substr(0, label.size()) != label || text.size() <= label.size() || text[label.size()] != ' ') {
        return false;
    }
    text.remove_prefix(label.size() + 1);
    const auto* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, out);
    if (ec != std::errc{} || ptr == text.data() || ptr == end || *ptr != '\n') {
        return false;
    }
    text.remove_prefix(static_cast<std::size_t>(ptr - text.data()) + 1);
    return true;
}

}  // namespace

std::string_view to_string(fence_verdict v) noexcept {
    switch (v) {
    case fence_verdict::carry_out:
        return "carry_out";
    case fence_verdict::wrong_target:
        return "wrong_target";
    case fence_verdict::stale_epoch:
        return "stale_epoch";
    case fence_verdict::old_id:
        return "old_id";
    }
    return "unknown";
}

fence_verdict judge(const fence_position& at, const net::command& c, std::string_view hostname) noexcept {
    if (!iequals(c.target, hostname)) {
        return fence_verdict::wrong_target;
    }
    if (c.epoch < at.epoch) {
        return fence_verdict::stale_epoch;
    }
    if (c.epoch == at.epoch && c.id <= at.last_id) {
        return fence_verdict::old_id;
    }
    return fence_verdict::carry_out;
}

std::string to_text(const fence_position& p) {
    return fmt::format("epoch {}\nid {}\n", p.epoch, p.last_id);
}

tl::expected<fence_position, std::string> parse_fence(std::string_view text) {
    fence_position p;
    if (!read_line(text, "epoch", p.epoch)) {
        return tl::unexpected{std::string{"the first line is not \"epoch N\""}};
    }
    if (!read_line(text, "id", p.last_id)) {
        return tl::unexpected{std::string{"the second line is not \"id N\""}};
    }
    if (!text.empty()) {
        return tl::unexpected{std::string{"trailing text after \"id N\""}};
    }
    return p;
}

command_fence::command_fence(const std::filesystem::path& state_dir) : path_{state_dir / "command_fence"} {}

void command_fence::load() {
    std::error_code ec;
    if (!std::filesystem::exists(path_, ec) && !ec) {
        position_ = {};
        return;
    }
    const auto text = read_small_file(path_, 4096);
    if (!text) {
        throw std::runtime_error{fmt::format("cannot read '{}'", path_.string())};
    }
    auto parsed = parse_fence(*text);
    if (!parsed) {
        throw std::runtime_error{
            fmt::format("'{}' is damaged ({}); no command can be carried out until it is "
                        "repaired or removed",
                        path_.string(), parsed.error())};
    }
    position_ = *parsed;
}

std::error_code command_fence::advance(const fence_position& p) {
    if (auto ec = write_file_atomic(path_, to_text(p), std::filesystem::perms{0600})) {
        return ec;
    }
    position_ = p;
    return {};
}

}  // namespace mtce::host
