#include "api/requests.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <limits>
#include <optional>
#include <set>
#include <system_error>
#include <vector>

#include <nlohmann/json.hpp>

// No fmt here: the fuzz preset compiles this file alone with clang, with nothing but the JSON library.

namespace mtce::api {

namespace {

using nlohmann::json;
using error = tl::unexpected<std::string>;

std::string in_quotes(std::string_view name) {
    return "'" + std::string{name} + "'";
}

/// The body as a JSON object, or why it is not one.
tl::expected<json, std::string> parse_object(std::string_view body) {
    json doc;
    // The keys of each object being read, innermost last: a key given twice is refused, since parsers
    // disagree on which value wins (nlohmann keeps the last, others the first).
    std::vector<std::set<std::string>> keys;
    std::optional<std::string> twice;
    const json::parser_callback_t note_keys = [&](int /*depth*/, json::parse_event_t event, json& parsed) {
        if (event == json::parse_event_t::object_start) {
            keys.emplace_back();
        } else if (event == json::parse_event_t::object_end && !keys.empty()) {
            keys.pop_back();
        } else if (event == json::parse_event_t::key && !keys.empty()) {
            auto name = parsed.get<std::string>();
            if (!keys.back().insert(name).second && !twice) {
                twice = std::move(name);
            }
        }
        return true;
    };
    try {
        doc = json::parse(body, note_keys);
    } catch (const json::exception& e) {
        // A parse_error ("[json.exception.parse_error.101] parse error at line 1, column 2: ...") or an
        // out_of_range ("[json.exception.out_of_range.406] number overflow parsing '1e999'"): keep where and
        // why.
        std::string_view what = e.what();
        if (const auto tag_end = what.find("] ");
            what.starts_with("[json.exception.") && tag_end != what.npos) {
            what.remove_prefix(tag_end + 2);
        }
        constexpr std::string_view at = "parse error at ";
        if (what.starts_with(at)) {
            what.remove_prefix(at.size());
        }
        return error{"the body is not valid JSON: " + std::string{what}};
    }
    if (twice) {
        return error{"the body has the key " + in_quotes(*twice) + " twice"};
    }
    if (!doc.is_object()) {
        return error{"the body must be a JSON object"};
    }
    return doc;
}

/// The first field of `doc` not in `known`, as an error.
template <std::size_t N>
std::optional<std::string> unknown_field(const json& doc, const std::array<std::string_view, N>& known) {
    for (const auto& [key, value] : doc.items()) {
        if (std::find(known.begin(), known.end(), key) == known.end()) {
            return "unknown field " + in_quotes(key);
        }
    }
    return std::nullopt;
}

/// Copies the string field `name` of `doc` into `out`. Absent (or null, when optional) leaves `out` alone.
std::optional<std::string> take_string(const json& doc, std::string_view name, bool required,
                                       std::string& out) {
    const auto it = doc.find(name);
    if (it == doc.end() || (it->is_null() && !required)) {
        if (required) {
            return in_quotes(name) + " is required";
        }
        return std::nullopt;
    }
    if (!it->is_string()) {
        return in_quotes(name) + " must be a string";
    }
    out = it->get<std::string>();
    return std::nullopt;
}

std::optional<std::string> take_strings(const json& doc, std::string_view name,
                                        std::vector<std::string>& out) {
    const auto it = doc.find(name);
    if (it == doc.end() || it->is_null()) {
        return std::nullopt;
    }
    const auto all_strings =
        it->is_array() && std::all_of(it->begin(), it->end(), [](const json& e) { return e.is_string(); });
    if (!all_strings) {
        return in_quotes(name) + " must be an array of strings";
    }
    out = it->get<std::vector<std::string>>();
    return std::nullopt;
}

/// A whole decimal number without sign, spaces or leading '+', no larger than `max`.
std::optional<std::uint64_t> parse_number(std::string_view text, std::uint64_t max) {
    if (text.empty() || !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return std::nullopt;
    }
    std::uint64_t n = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc{} || end != text.data() + text.size() || n > max) {
        return std::nullopt;
    }
    return n;
}

}  // namespace

tl::expected<add_host_request, std::string> parse_add_host(std::string_view body) {
    constexpr std::array<std::string_view, 10> known{
        "name",     "personality", "subfunctions", "mgmt_ip",      "cluster_ip",
        "bmc_type", "bmc_address", "bmc_username", "bmc_password", "bmc_insecure"};
    const auto doc = parse_object(body);
    if (!doc) {
        return error{doc.error()};
    }
    if (auto bad = unknown_field(*doc, known)) {
        return error{std::move(*bad)};
    }
    add_host_request r;
    const std::array<std::pair<std::string_view, std::string*>, 8> strings{{
        {"name", &r.name},
        {"personality", &r.personality},
        {"mgmt_ip", &r.mgmt_ip},
        {"cluster_ip", &r.cluster_ip},
        {"bmc_type", &r.bmc_type},
        {"bmc_address", &r.bmc_address},
        {"bmc_username", &r.bmc_username},
        {"bmc_password", &r.bmc_password},
    }};
    for (const auto& [name, target] : strings) {
        const bool required = name == "name" || name == "personality" || name == "mgmt_ip";
        if (auto bad = take_string(*doc, name, required, *target)) {
            return error{std::move(*bad)};
        }
    }
    if (auto bad = take_strings(*doc, "subfunctions", r.subfunctions)) {
        return error{std::move(*bad)};
    }
    if (const auto it = doc->find("bmc_insecure"); it != doc->end() && !it->is_null()) {
        if (!it->is_boolean()) {
            return error{in_quotes("bmc_insecure") + " must be true or false"};
        }
        r.bmc_insecure = it->get<bool>();
    }
    return r;
}

tl::expected<modify_host_request, std::string> parse_modify_host(std::string_view body) {
    constexpr std::array<std::string_view, 5> fixed{"name", "personality", "subfunctions", "mgmt_ip",
                                                    "cluster_ip"};
    constexpr std::array<std::string_view, 5> known{"bmc_type", "bmc_address", "bmc_username", "bmc_password",
                                                    "bmc_insecure"};
    const auto doc = parse_object(body);
    if (!doc) {
        return error{doc.error()};
    }
    for (const auto& [key, value] : doc->items()) {
        if (std::find(fixed.begin(), fixed.end(), key) != fixed.end()) {
            return error{in_quotes(key) + " cannot be changed; delete the host and add it again"};
        }
    }
    if (auto bad = unknown_field(*doc, known)) {
        return error{std::move(*bad)};
    }
    if (doc->empty()) {
        return error{
            "nothing to change: give bmc_type, bmc_address, bmc_username, bmc_password or bmc_insecure"};
    }
    modify_host_request r;
    const std::array<std::pair<std::string_view, std::optional<std::string>*>, 4> strings{{
        {"bmc_type", &r.bmc_type},
        {"bmc_address", &r.bmc_address},
        {"bmc_username", &r.bmc_username},
        {"bmc_password", &r.bmc_password},
    }};
    for (const auto& [name, target] : strings) {
        const auto it = doc->find(name);
        if (it == doc->end()) {
            continue;
        }
        if (!it->is_string()) {
            return error{in_quotes(name) + " must be a string"};
        }
        *target = it->get<std::string>();
    }
    if (const auto it = doc->find("bmc_insecure"); it != doc->end()) {
        if (!it->is_boolean()) {
            return error{in_quotes("bmc_insecure") + " must be true or false"};
        }
        r.bmc_insecure = it->get<bool>();
    }
    return r;
}

tl::expected<std::string, std::string> parse_action(std::string_view body) {
    constexpr std::array<std::string_view, 1> known{"action"};
    const auto doc = parse_object(body);
    if (!doc) {
        return error{doc.error()};
    }
    if (auto bad = unknown_field(*doc, known)) {
        return error{std::move(*bad)};
    }
    std::string action;
    if (auto bad = take_string(*doc, "action", /*required=*/true, action)) {
        return error{std::move(*bad)};
    }
    return action;
}

tl::expected<events_query, std::string> parse_events_query(std::string_view query) {
    events_query q;
    bool seen_since = false;
    bool seen_limit = false;
    while (!query.empty()) {
        const auto amp = query.find('&');
        const auto param = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
        if (param.empty()) {
            return error{"the query has an empty parameter"};
        }
        const auto eq = param.find('=');
        const auto key = param.substr(0, eq);
        const auto value = eq == std::string_view::npos ? std::string_view{} : param.substr(eq + 1);
        if (key != "since" && key != "limit") {
            return error{"unknown query parameter " + in_quotes(key) + "; 'since' and 'limit' are known"};
        }
        bool& seen = key == "since" ? seen_since : seen_limit;
        if (seen) {
            return error{in_quotes(key) + " is given twice"};
        }
        seen = true;
        if (key == "since") {
            const auto n = parse_number(value, std::numeric_limits<std::uint64_t>::max());
            if (!n) {
                return error{"'since' must be a whole number, the id of the last event seen"};
            }
            q.since = *n;
        } else {
            const auto n = parse_number(value, max_events_limit);
            if (!n || *n == 0) {
                return error{"'limit' must be a whole number from 1 to " + std::to_string(max_events_limit)};
            }
            q.limit = static_cast<std::size_t>(*n);
        }
        if (amp != std::string_view::npos && query.empty()) {
            return error{"the query has an empty parameter"};
        }
    }
    return q;
}

}  // namespace mtce::api
