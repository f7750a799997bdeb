#include "bmc/redfish.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <utility>

#include <asio/experimental/as_tuple.hpp>
#include <asio/steady_timer.hpp>
#include <asio/system_error.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace mtce::bmc {

namespace {

using nlohmann::json;
constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);
constexpr std::string_view root_path = "/redfish/v1/";
constexpr std::size_t max_message = 300;
/// A logout nobody waits for gets at most this long.
constexpr std::chrono::milliseconds logout_timeout{std::chrono::seconds{5}};

error fail(errc code, std::string message) {
    return error{code, 0, std::move(message)};
}

/// An error about what GET `path` returned, saying so.
error from(const std::string& path, error e) {
    e.message = "GET " + path + ": " + e.message;
    return e;
}

/// The body as a JSON object, or bad_answer naming `what` was expected.
result<json> parse_object(std::string_view body, std::string_view what) {
    json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded()) {
        return tl::unexpected{fail(errc::bad_answer, "the " + std::string{what} + " is not JSON")};
    }
    if (!doc.is_object()) {
        return tl::unexpected{fail(errc::bad_answer, "the " + std::string{what} + " is not a JSON object")};
    }
    return doc;
}

/// obj[key] if it is a string.
std::optional<std::string> string_at(const json& obj, std::string_view key) {
    if (!obj.is_object()) {
        return std::nullopt;
    }
    auto it = obj.find(key);
    if (it == obj.end() || !it->is_string()) {
        return std::nullopt;
    }
    return it->get<std::string>();
}

/// obj[key]["@odata.id"] if it is a string.
std::optional<std::string> link_at(const json& obj, std::string_view key) {
    if (!obj.is_object()) {
        return std::nullopt;
    }
    auto it = obj.find(key);
    if (it == obj.end()) {
        return std::nullopt;
    }
    return string_at(*it, "@odata.id");
}

/// A path the driver may request: absolute, printable, no blanks (it goes into a URL as is).
bool is_resource_path(std::string_view p) {
    if (p.empty() || p.front() != '/' || p.size() > 1024) {
        return false;
    }
    return std::none_of(p.begin(), p.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u <= 0x20 || u >= 0x7f;
    });
}

/// The strings of a JSON array (other elements skipped).
std::vector<std::string> strings_of(const json& a) {
    std::vector<std::string> out;
    if (!a.is_array()) {
        return out;
    }
    for (const auto& v : a) {
        if (v.is_string()) {
            out.push_back(v.get<std::string>());
        }
    }
    return out;
}

std::string clean_message(std::string s) {
    for (auto& c : s) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
            c = ' ';
        }
    }
    if (s.size() > max_message) {
        s.resize(max_message);
        s += "...";
    }
    return s;
}

std::string join(const std::vector<std::string>& v) {
    std::string out;
    for (const auto& s : v) {
        out += out.empty() ? "" : ", ";
        out += s;
    }
    return out;
}

}  // namespace

namespace redfish {

result<service_root> parse_service_root(std::string_view body) {
    auto doc = parse_object(body, "service root");
    if (!doc) {
        return tl::unexpected{doc.error()};
    }
    service_root root;
    auto version = string_at(*doc, "RedfishVersion");
    if (!version) {
        return tl::unexpected{
            fail(errc::unsupported, "not a Redfish service: the service root has no RedfishVersion")};
    }
    root.version = *version;
    unsigned major = 0;
    const auto* end = version->data() + version->size();
    const auto [ptr, ec] = std::from_chars(version->data(), end, major);
    if (ec != std::errc{} || (ptr != end && *ptr != '.')) {
        return tl::unexpected{fail(errc::unsupported, "not a Redfish service: RedfishVersion '" +
                                                          clean_message(*version) + "' is not a version")};
    }
    if (major < 1) {
        return tl::unexpected{
            fail(errc::unsupported, "Redfish version " + clean_message(*version) + " is older than 1.0")};
    }
    if (auto systems = link_at(*doc, "Systems")) {
        if (!is_resource_path(*systems)) {
            return tl::unexpected{fail(errc::bad_answer, "the service root's Systems link is not a path")};
        }
        root.systems = *systems;
    }
    if (doc->contains("SessionService")) {
        root.sessions = "/redfish/v1/SessionService/Sessions";
        if (auto links = doc->find("Links"); links != doc->end()) {
            if (auto sessions = link_at(*links, "Sessions"); sessions && is_resource_path(*sessions)) {
                root.sessions = *sessions;
            }
        }
    }
    return root;
}

result<std::string> parse_first_member(std::string_view collection) {
    auto doc = parse_object(collection, "collection");
    if (!doc) {
        return tl::unexpected{doc.error()};
    }
    auto members = doc->find("Members");
    if (members == doc->end() || !members->is_array()) {
        return tl::unexpected{fail(errc::bad_answer, "the collection has no Members")};
    }
    if (members->empty()) {
        return tl::unexpected{fail(errc::unsupported, "the collection is empty")};
    }
    auto id = string_at(members->front(), "@odata.id");
    if (!id || !is_resource_path(*id)) {
        return tl::unexpected{fail(errc::bad_answer, "the collection's first member has no @odata.id path")};
    }
    return *id;
}

result<power_state> parse_power_state(std::string_view system) {
    auto doc = parse_object(system, "computer system");
    if (!doc) {
        return tl::unexpected{doc.error()};
    }
    const auto state = string_at(*doc, "PowerState").value_or("");
    if (state == "On" || state == "PoweringOn") {
        return power_state::on;
    }
    if (state == "Off" || state == "PoweringOff") {
        return power_state::off;
    }
    return power_state::unknown;
}

result<reset_action> parse_reset_action(std::string_view system) {
    auto doc = parse_object(system, "computer system");
    if (!doc) {
        return tl::unexpected{doc.error()};
    }
    auto actions = doc->find("Actions");
    if (actions == doc->end() || !actions->is_object() || !actions->contains("#ComputerSystem.Reset")) {
        return tl::unexpected{
            fail(errc::unsupported, "the computer system has no #ComputerSystem.Reset action")};
    }
    const auto& reset = (*actions)["#ComputerSystem.Reset"];
    auto target = string_at(reset, "target");
    if (!target || !is_resource_path(*target)) {
        return tl::unexpected{fail(errc::bad_answer, "the #ComputerSystem.Reset action has no target path")};
    }
    reset_action out;
    out.target = *target;
    if (auto allowed = reset.find("ResetType@Redfish.AllowableValues"); allowed != reset.end()) {
        out.reset_types = strings_of(*allowed);
    }
    if (auto info = string_at(reset, "@Redfish.ActionInfo")) {
        if (!is_resource_path(*info)) {
            return tl::unexpected{
                fail(errc::bad_answer, "the reset action's @Redfish.ActionInfo is not a path")};
        }
        out.action_info = *info;
    }
    return out;
}

result<std::vector<std::string>> parse_action_info(std::string_view body) {
    auto doc = parse_object(body, "action info");
    if (!doc) {
        return tl::unexpected{doc.error()};
    }
    auto params = doc->find("Parameters");
    if (params == doc->end() || !params->is_array()) {
        return tl::unexpected{fail(errc::bad_answer, "the action info has no Parameters")};
    }
    for (const auto& p : *params) {
        if (string_at(p, "Name") == "ResetType") {
            auto allowed = p.find("AllowableValues");
            return allowed == p.end() ? std::vector<std::string>{} : strings_of(*allowed);
        }
    }
    return std::vector<std::string>{};
}

result<bool> parse_boot_override(std::string_view system) {
    auto doc = parse_object(system, "computer system");
    if (!doc) {
        return tl::unexpected{doc.error()};
    }
    auto boot = doc->find("Boot");
    if (boot == doc->end() || !boot->is_object()) {
        return false;
    }
    auto targets = boot->find("BootSourceOverrideTarget@Redfish.AllowableValues");
    if (targets == boot->end()) {
        return true;
    }
    const auto values = strings_of(*targets);
    return std::find(values.begin(), values.end(), "Pxe") != values.end();
}

std::string error_message(std::string_view body) {
    json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded() || !doc.is_object()) {
        return {};
    }
    auto err = doc.find("error");
    if (err == doc.end() || !err->is_object()) {
        return {};
    }
    if (auto info = err->find("@Message.ExtendedInfo");
        info != err->end() && info->is_array() && !info->empty()) {
        if (auto m = string_at(info->front(), "Message"); m && !m->empty()) {
            return clean_message(*m);
        }
    }
    return clean_message(string_at(*err, "message").value_or(""));
}

bool repeatable_reset(std::string_view type) noexcept {
    return type == "On" || type == "ForceOn" || type == "ForceOff" || type == "GracefulShutdown";
}

std::optional<std::string> choose_reset_type(const std::vector<std::string>& offered,
                                             std::span<const std::string_view> preferred) {
    for (auto p : preferred) {
        if (std::find(offered.begin(), offered.end(), p) != offered.end()) {
            return std::string{p};
        }
    }
    return std::nullopt;
}

result<std::string> base_url(const endpoint& ep) {
    // A host name, an IPv4 address or an IPv6 address (a zone index allowed): nothing that could carry
    // credentials, a path or a port into the URL.
    const bool valid =
        !ep.address.empty() && ep.address.size() <= 253 &&
        std::all_of(ep.address.begin(), ep.address.end(), [](char c) {
            const auto u = static_cast<unsigned char>(c);
            return std::isalnum(u) != 0 || c == '.' || c == '-' || c == ':' || c == '%' || c == '_';
        });
    if (!valid) {
        // Not echoed: an address with '@' in it may hold credentials.
        return tl::unexpected{fail(errc::unreachable, "the BMC address is not a host name or an IP address")};
    }
    std::string host = ep.address;
    if (host.find(':') != std::string::npos) {
        host = "[" + host + "]";
    }
    return "https://" + host + ":" + std::to_string(ep.port == 0 ? 443 : ep.port);
}

}  // namespace redfish

redfish_driver::redfish_driver(http_client& client, endpoint ep, timing t)
    : client_{client}, ep_{std::move(ep)}, timing_{t} {
    if (auto base = redfish::base_url(ep_); base) {
        base_ = std::move(*base);
    } else {
        unusable_ = base.error();
    }
    if (auto loaded = client_.load(); !loaded) {
        unusable_ = fail(errc::unsupported, loaded.error());
    }
    if (!ep_.verify_tls) {
        spdlog::warn("BMC {}: the Redfish certificate is not verified for this host (verify_tls is off)",
                     ep_.address);
    }
}

redfish_driver::~redfish_driver() {
    if (token_.empty() || session_path_.empty()) {
        return;
    }
    auto req = request("DELETE", session_path_, "");
    req.timeout = std::min(timing_.request_timeout, logout_timeout);
    client_.perform_detached(req);
}

http_request redfish_driver::request(const std::string& method, const std::string& path,
                                     const std::string& body) const {
    http_request r;
    r.method = method;
    r.url = base_ + path;
    r.body = body;
    r.verify_tls = ep_.verify_tls;
    r.timeout = timing_.request_timeout;
    if (!token_.empty()) {
        r.headers.push_back("X-Auth-Token: " + token_);
    } else {
        r.username = ep_.username;
        r.password = ep_.password;
    }
    return r;
}

error redfish_driver::scrub(error e) const {
    // A BMC could echo what it was sent; a password never reaches a log through an error.
    e.message = redact(redact(std::move(e.message), ep_.password), token_);
    return e;
}

asio::awaitable<bool> redfish_driver::log_in() {
    token_.clear();
    session_path_.clear();
    if (!root_) {
        auto root_request = request("GET", std::string{root_path}, "");
        auto got = co_await client_.perform(std::move(root_request));
        if (!got || got->status != 200) {
            co_return false;
        }
        auto root = redfish::parse_service_root(got->body);
        if (!root) {
            co_return false;
        }
        root_ = std::move(*root);
    }
    if (root_->sessions.empty()) {
        co_return false;
    }
    const json credentials = {{"UserName", ep_.username}, {"Password", ep_.password}};
    auto req = request("POST", root_->sessions, credentials.dump());
    req.username.clear();
    req.password.clear();
    auto got = co_await client_.perform(std::move(req));
    if (!got || (got->status != 200 && got->status != 201) || got->auth_token.empty()) {
        co_return false;
    }
    token_ = got->auth_token;
    // Location may be a whole URL; only its path is kept (the session lives on this BMC).
    std::string where = got->location;
    if (auto scheme = where.find("://"); scheme != std::string::npos) {
        auto slash = where.find('/', scheme + 3);
        where = slash == std::string::npos ? "" : where.substr(slash);
    }
    if (!is_resource_path(where)) {
        where.clear();
        if (auto doc = parse_object(got->body, "session"); doc) {
            where = string_at(*doc, "@odata.id").value_or("");
        }
    }
    session_path_ = is_resource_path(where) ? where : "";
    co_return true;
}

asio::awaitable<result<http_response>> redfish_driver::exchange(std::string_view method,
                                                                const std::string& path,
                                                                const std::string& body, bool repeatable) {
    if (unusable_) {
        co_return tl::unexpected{*unusable_};
    }
    const std::string verb{method};
    const std::string what = verb + " " + path;
    std::uint32_t attempt = 0;
    bool logged_in = false;
    for (;;) {
        auto req = request(verb, path, body);
        auto got = co_await client_.perform(std::move(req));
        bool retry = false;
        if (!got) {
            retry = worth_retrying(got.error(), repeatable);
            if (!retry || attempt >= timing_.retries) {
                auto e = got.error();
                e.message = what + ": " + e.message;
                if (attempt > 0) {
                    e.message += " (after " + std::to_string(attempt + 1) + " attempts)";
                }
                co_return tl::unexpected{scrub(std::move(e))};
            }
        } else if (got->status == 401 && !logged_in) {
            // Basic authentication refused (or the session expired): a session, if the BMC offers them.
            logged_in = true;
            const bool in = co_await log_in();
            if (in) {
                continue;
            }
        } else if (got->status >= 500 && repeatable && attempt < timing_.retries) {
            retry = true;
        }
        if (!retry) {
            const long status = got->status;
            if (status >= 200 && status < 300) {
                co_return std::move(*got);
            }
            const auto code = (status == 401 || status == 403) ? errc::auth : errc::refused;
            std::string message = what + ": HTTP " + std::to_string(status);
            if (auto bmc_says = redfish::error_message(got->body); !bmc_says.empty()) {
                message += ": " + bmc_says;
            }
            if (attempt > 0) {
                message += " (after " + std::to_string(attempt + 1) + " attempts)";
            }
            co_return tl::unexpected{scrub(error{code, static_cast<int>(status), std::move(message)})};
        }
        const auto ex = co_await asio::this_coro::executor;
        asio::steady_timer pause{ex, backoff_delay(timing_, attempt)};
        auto [ec] = co_await pause.async_wait(use_tuple);
        if (ec) {
            throw asio::system_error{ec};  // cancelled
        }
        ++attempt;
    }
}

asio::awaitable<result<std::string>> redfish_driver::get(const std::string& path) {
    const std::string no_body;
    auto got = co_await exchange("GET", path, no_body);
    if (!got) {
        co_return tl::unexpected{got.error()};
    }
    co_return std::move(got->body);
}

asio::awaitable<result<void>> redfish_driver::discover() {
    discovered_ = false;
    const std::string root_at{root_path};
    auto root_body = co_await get(root_at);
    if (!root_body) {
        co_return tl::unexpected{root_body.error()};
    }
    auto root = redfish::parse_service_root(*root_body);
    if (!root) {
        co_return tl::unexpected{from(root_at, root.error())};
    }
    root_ = *root;
    const std::string systems_at = root->systems;
    auto systems = co_await get(systems_at);
    if (!systems) {
        co_return tl::unexpected{systems.error()};
    }
    auto member = redfish::parse_first_member(*systems);
    if (!member) {
        co_return tl::unexpected{from(systems_at, member.error())};
    }
    auto system = co_await get(*member);
    if (!system) {
        co_return tl::unexpected{system.error()};
    }
    auto action = redfish::parse_reset_action(*system);
    if (!action && action.error().code != errc::unsupported) {
        co_return tl::unexpected{from(*member, action.error())};
    }
    auto boot = redfish::parse_boot_override(*system);
    if (!boot) {
        co_return tl::unexpected{from(*member, boot.error())};
    }
    std::vector<std::string> types;
    std::string target;
    if (action) {
        target = action->target;
        types = action->reset_types;
        if (types.empty() && !action->action_info.empty()) {
            const std::string info_at = action->action_info;
            auto info = co_await get(info_at);
            if (!info) {
                co_return tl::unexpected{info.error()};
            }
            auto listed = redfish::parse_action_info(*info);
            if (!listed) {
                co_return tl::unexpected{from(info_at, listed.error())};
            }
            types = std::move(*listed);
        }
    }
    system_path_ = std::move(*member);
    reset_target_ = std::move(target);
    reset_types_ = std::move(types);
    boot_pxe_ = *boot;
    discovered_ = true;
    co_return result<void>{};
}

asio::awaitable<result<void>> redfish_driver::ensure_discovered() {
    if (discovered_) {
        co_return result<void>{};
    }
    co_return co_await discover();
}

asio::awaitable<result<capabilities>> redfish_driver::probe() {
    auto found = co_await discover();
    if (!found) {
        co_return tl::unexpected{found.error()};
    }
    if (reset_types_.empty()) {
        co_return tl::unexpected{fail(errc::unsupported, reset_target_.empty()
                                                             ? "the computer system has no reset action"
                                                             : "the BMC advertises no reset types")};
    }
    co_return capabilities{reset_types_, boot_pxe_};
}

asio::awaitable<result<power_state>> redfish_driver::power() {
    auto found = co_await ensure_discovered();
    if (!found) {
        co_return tl::unexpected{found.error()};
    }
    const std::string system_at = system_path_;
    auto system = co_await get(system_at);
    if (!system) {
        co_return tl::unexpected{system.error()};
    }
    auto state = redfish::parse_power_state(*system);
    if (!state) {
        co_return tl::unexpected{from(system_at, state.error())};
    }
    co_return *state;
}

asio::awaitable<result<void>> redfish_driver::send_reset(std::span<const std::string_view> preferred) {
    auto found = co_await ensure_discovered();
    if (!found) {
        co_return tl::unexpected{found.error()};
    }
    auto type = redfish::choose_reset_type(reset_types_, preferred);
    if (!type) {
        std::string wanted;
        for (auto p : preferred) {
            wanted += wanted.empty() ? "" : " or ";
            wanted += p;
        }
        co_return tl::unexpected{
            fail(errc::unsupported, "the BMC does not offer " + wanted + " (it offers " +
                                        (reset_types_.empty() ? "none" : join(reset_types_)) + ")")};
    }
    const std::string body = json{{"ResetType", *type}}.dump();
    const std::string target = reset_target_;
    auto sent = co_await exchange("POST", target, body, redfish::repeatable_reset(*type));
    if (!sent) {
        co_return tl::unexpected{sent.error()};
    }
    co_return result<void>{};
}

// The reset types each operation sends, in order of preference (static: they outlive every await).
namespace {
constexpr std::array<std::string_view, 2> power_on_types{"On", "ForceOn"};
constexpr std::array<std::string_view, 1> power_off_types{"ForceOff"};
constexpr std::array<std::string_view, 1> power_cycle_types{"PowerCycle"};
constexpr std::array<std::string_view, 2> reset_types{"ForceRestart", "GracefulRestart"};
}  // namespace

asio::awaitable<result<void>> redfish_driver::power_on() {
    co_return co_await send_reset(power_on_types);
}

asio::awaitable<result<void>> redfish_driver::power_off() {
    co_return co_await send_reset(power_off_types);
}

asio::awaitable<result<void>> redfish_driver::power_cycle() {
    co_return co_await send_reset(power_cycle_types);
}

asio::awaitable<result<void>> redfish_driver::reset() {
    co_return co_await send_reset(reset_types);
}

asio::awaitable<result<void>> redfish_driver::boot_pxe_once() {
    auto found = co_await ensure_discovered();
    if (!found) {
        co_return tl::unexpected{found.error()};
    }
    if (!boot_pxe_) {
        co_return tl::unexpected{
            fail(errc::unsupported, "the computer system offers no boot override to Pxe")};
    }
    const std::string body =
        json{{"Boot", {{"BootSourceOverrideEnabled", "Once"}, {"BootSourceOverrideTarget", "Pxe"}}}}.dump();
    const std::string system_at = system_path_;
    auto sent = co_await exchange("PATCH", system_at, body);
    if (!sent) {
        co_return tl::unexpected{sent.error()};
    }
    co_return result<void>{};
}

std::unique_ptr<driver> make_redfish_driver(http_client& client, endpoint ep, timing t) {
    return std::make_unique<redfish_driver>(client, std::move(ep), t);
}

}  // namespace mtce::bmc
