#include "net/payloads.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <utility>

#include <nlohmann/json.hpp>

#include "core/text.hpp"
#include "net/message.hpp"

namespace mtce::net {

namespace {

using nlohmann::json;

constexpr std::array<std::pair<command_kind, std::string_view>, command_kind_count> command_names{{
    {command_kind::lock, "lock"},
    {command_kind::unlock, "unlock"},
    {command_kind::reboot, "reboot"},
    {command_kind::reset, "reset"},
    {command_kind::goenabled, "goenabled"},
    {command_kind::mtcalive, "mtcalive"},
}};

/// Longest name or reason kept from a peer; the datagram bounds the rest.
constexpr std::size_t max_text = 512;

std::string dump(const json& j) {
    return j.dump(-1, ' ', /*ensure_ascii=*/false, json::error_handler_t::replace);
}

tl::expected<json, std::string> parse_object(std::span<const std::byte> payload) {
    const auto* begin = reinterpret_cast<const char*>(payload.data());
    auto doc = json::parse(begin, begin + payload.size(), /*cb=*/nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded()) {
        return tl::unexpected{std::string{"not valid JSON"}};
    }
    if (!doc.is_object()) {
        return tl::unexpected{std::string{"not a JSON object"}};
    }
    return doc;
}

/// Reads field `key` of `doc` into `out` if present; false (with `why` set) if it has the wrong type.
bool text_field(const json& doc, std::string_view key, std::string& out, std::string& why, bool required) {
    const auto it = doc.find(key);
    if (it == doc.end()) {
        if (required) {
            why = "missing \"" + std::string{key} + "\"";
        }
        return !required;
    }
    if (!it->is_string()) {
        why = "\"" + std::string{key} + "\" is not a string";
        return false;
    }
    out = cut_utf8(it->get<std::string>(), max_text);
    return true;
}

template <class T>
bool number_field(const json& doc, std::string_view key, T& out, std::string& why, bool required) {
    const auto it = doc.find(key);
    if (it == doc.end()) {
        if (required) {
            why = "missing \"" + std::string{key} + "\"";
        }
        return !required;
    }
    if (!it->is_number_unsigned() || it->get<std::uint64_t>() > std::numeric_limits<T>::max()) {
        why = "\"" + std::string{key} + "\" is not an unsigned integer in range";
        return false;
    }
    out = it->get<T>();
    return true;
}

}  // namespace

std::string_view to_string(command_kind k) noexcept {
    for (const auto& [v, n] : command_names) {
        if (v == k) {
            return n;
        }
    }
    return "unknown";
}

std::optional<command_kind> parse_command_kind(std::string_view s) noexcept {
    for (const auto& [v, n] : command_names) {
        if (n == s) {
            return v;
        }
    }
    return std::nullopt;
}

std::string to_json(const command& c) {
    json doc{{"command", to_string(c.kind)},
             {"id", c.id},
             {"host", c.target},
             {"epoch", c.epoch},
             {"nonce", c.nonce}};
    if (c.kind == command_kind::reboot && c.delay_s != 0) {
        doc["delay_s"] = c.delay_s;
    }
    if (c.kind == command_kind::goenabled) {
        doc["function"] = c.subfunction ? "subfunction" : "main";
    }
    return dump(doc);
}

tl::expected<command, command_error> parse_command(std::span<const std::byte> payload) {
    auto doc = parse_object(payload);
    if (!doc) {
        return tl::unexpected{command_error{doc.error(), std::nullopt, {}, 0}};
    }
    command_error error;
    std::uint64_t id = 0;
    if (number_field(*doc, "id", id, error.reason, /*required=*/true)) {
        error.id = id;
    }
    std::string ignored;
    (void)number_field(*doc, "nonce", error.nonce, ignored, /*required=*/false);
    std::string why;
    if (!text_field(*doc, "command", error.name, why, /*required=*/true)) {
        error.reason = why;
        return tl::unexpected{std::move(error)};
    }
    if (!error.id) {
        return tl::unexpected{std::move(error)};
    }
    const auto kind = parse_command_kind(error.name);
    if (!kind) {
        error.reason = "unsupported command \"" + error.name + "\"";
        return tl::unexpected{std::move(error)};
    }
    command c{*kind, id, 0, false, {}, 0, 0};
    if (!number_field(*doc, "delay_s", c.delay_s, error.reason, /*required=*/false) ||
        !text_field(*doc, "host", c.target, error.reason, /*required=*/true) ||
        !number_field(*doc, "epoch", c.epoch, error.reason, /*required=*/true) ||
        !number_field(*doc, "nonce", c.nonce, error.reason, /*required=*/true)) {
        return tl::unexpected{std::move(error)};
    }
    std::string function = "main";
    if (!text_field(*doc, "function", function, error.reason, /*required=*/false)) {
        return tl::unexpected{std::move(error)};
    }
    if (function != "main" && function != "subfunction") {
        error.reason = "\"function\" must be \"main\" or \"subfunction\"";
        return tl::unexpected{std::move(error)};
    }
    c.subfunction = function == "subfunction";
    return c;
}

std::string to_json(const command_ack& a) {
    json doc{{"command", a.name}, {"id", a.id}, {"nonce", a.nonce}};
    if (!a.error.empty()) {
        doc["error"] = a.error;
    }
    return dump(doc);
}

tl::expected<command_ack, std::string> parse_command_ack(std::span<const std::byte> payload) {
    auto doc = parse_object(payload);
    if (!doc) {
        return tl::unexpected{doc.error()};
    }
    command_ack a;
    std::string why;
    if (!text_field(*doc, "command", a.name, why, /*required=*/true) ||
        !number_field(*doc, "id", a.id, why, /*required=*/true) ||
        !number_field(*doc, "nonce", a.nonce, why, /*required=*/true) ||
        !text_field(*doc, "error", a.error, why, /*required=*/false)) {
        return tl::unexpected{why};
    }
    return a;
}

std::string to_json(const command_result& r) {
    return dump(
        json{{"command", r.name}, {"id", r.id}, {"ok", r.ok}, {"reason", r.reason}, {"nonce", r.nonce}});
}

tl::expected<command_result, std::string> parse_command_result(std::span<const std::byte> payload) {
    auto doc = parse_object(payload);
    if (!doc) {
        return tl::unexpected{doc.error()};
    }
    command_result r;
    std::string why;
    if (!text_field(*doc, "command", r.name, why, /*required=*/true) ||
        !number_field(*doc, "id", r.id, why, /*required=*/true) ||
        !number_field(*doc, "nonce", r.nonce, why, /*required=*/true) ||
        !text_field(*doc, "reason", r.reason, why, /*required=*/false)) {
        return tl::unexpected{why};
    }
    const auto ok = doc->find("ok");
    if (ok == doc->end() || !ok->is_boolean()) {
        return tl::unexpected{std::string{"\"ok\" is missing or not a boolean"}};
    }
    r.ok = ok->get<bool>();
    return r;
}

int health_of(std::uint32_t flags) noexcept {
    if ((flags & alive_flags::not_healthy) != 0) {
        return 2;
    }
    return (flags & alive_flags::healthy) != 0 ? 1 : 0;
}

std::string to_json(const alive_report& r) {
    json functions = json::array();
    for (const auto& f : r.functions) {
        functions.push_back(cut_utf8(f, 32));
    }
    json doc{{"hostname", r.hostname},
             {"personality", cut_utf8(r.personality, 32)},
             {"subfunctions", std::move(functions)},
             {"mgmt_ip", cut_utf8(r.mgmt_ip, 64)},
             {"cluster_ip", cut_utf8(r.cluster_ip, 64)},
             {"boot_id", cut_utf8(r.boot_id, 128)},
             {"uptime_s", r.uptime_s},
             {"flags", r.flags},
             {"health", health_of(r.flags)}};
    if (!r.failure.empty()) {
        doc["failure"] = cut_utf8(r.failure, max_failure_text);
    }
    if (r.drops.empty()) {
        return dump(doc);
    }
    // The largest counts first, so that what has to be left out to fit is what matters least.
    std::vector<std::pair<std::string, std::uint64_t>> drops;
    for (const auto& [reason, n] : r.drops) {
        if (n != 0 && !reason.empty()) {
            drops.emplace_back(cut_utf8(reason, max_drop_reason), n);
        }
    }
    std::stable_sort(drops.begin(), drops.end(),
                     [](const auto& a, const auto& b) { return a.second > b.second; });
    drops.resize(std::min(drops.size(), max_drop_reasons));
    for (; !drops.empty(); drops.pop_back()) {
        json object = json::object();
        for (const auto& [reason, n] : drops) {
            object[reason] = n;
        }
        doc["drops"] = std::move(object);
        auto text = dump(doc);
        if (text.size() <= max_payload_size) {
            return text;
        }
    }
    doc.erase("drops");
    return dump(doc);
}

tl::expected<alive_report, std::string> parse_alive(std::span<const std::byte> payload) {
    auto doc = parse_object(payload);
    if (!doc) {
        return tl::unexpected{doc.error()};
    }
    alive_report r;
    std::string why;
    if (!text_field(*doc, "hostname", r.hostname, why, /*required=*/true) ||
        !text_field(*doc, "personality", r.personality, why, /*required=*/true) ||
        !text_field(*doc, "boot_id", r.boot_id, why, /*required=*/true) ||
        !text_field(*doc, "mgmt_ip", r.mgmt_ip, why, /*required=*/false) ||
        !text_field(*doc, "cluster_ip", r.cluster_ip, why, /*required=*/false) ||
        !text_field(*doc, "failure", r.failure, why, /*required=*/false) ||
        !number_field(*doc, "uptime_s", r.uptime_s, why, /*required=*/true) ||
        !number_field(*doc, "flags", r.flags, why, /*required=*/true)) {
        return tl::unexpected{why};
    }
    const auto functions = doc->find("subfunctions");
    if (functions == doc->end() || !functions->is_array() || functions->size() > 8) {
        return tl::unexpected{std::string{"\"subfunctions\" is missing or not an array of at most 8 names"}};
    }
    for (const auto& f : *functions) {
        if (!f.is_string()) {
            return tl::unexpected{std::string{"\"subfunctions\" holds something that is not a string"}};
        }
        r.functions.push_back(cut_utf8(f.get<std::string>(), 32));
    }
    if (const auto drops = doc->find("drops"); drops != doc->end()) {
        if (!drops->is_object() || drops->size() > max_drop_reasons) {
            return tl::unexpected{std::string{"\"drops\" is not an object of at most 16 counts"}};
        }
        for (const auto& [reason, n] : drops->items()) {
            if (!n.is_number_unsigned() || reason.empty() || reason.size() > max_drop_reason) {
                return tl::unexpected{
                    std::string{"\"drops\" holds something that is not a reason and a count"}};
            }
            r.drops[reason] = n.get<std::uint64_t>();
        }
    }
    return r;
}

}  // namespace mtce::net
