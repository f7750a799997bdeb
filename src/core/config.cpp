#include "core/config.hpp"

#include <arpa/inet.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "core/duration.hpp"
#include "core/files.hpp"
#include "core/text.hpp"
#include "mtce/role_defaults.hpp"

namespace mtce {

std::string_view to_string(role r) {
    switch (r) {
    case role::controller:
        return "controller";
    case role::worker:
        return "worker";
    case role::storage:
        return "storage";
    }
    return "unknown";
}

std::optional<role> parse_role(std::string_view s) {
    if (s == "controller") {
        return role::controller;
    }
    if (s == "worker") {
        return role::worker;
    }
    if (s == "storage") {
        return role::storage;
    }
    return std::nullopt;
}

std::vector<role> config::functions() const {
    std::vector<role> out{self};
    for (auto f : agent.subfunctions) {
        if (std::find(out.begin(), out.end(), f) == out.end()) {
            out.push_back(f);
        }
    }
    return out;
}

bool config::has_worker_subfunction() const {
    return self == role::controller && std::find(agent.subfunctions.begin(), agent.subfunctions.end(),
                                                 role::worker) != agent.subfunctions.end();
}

std::string config_error::to_string() const {
    std::string out = file;
    if (line != 0) {
        out += fmt::format(":{}", line);
    }
    out += ": ";
    if (!key.empty()) {
        out += key + ": ";
    }
    out += message;
    return out;
}

namespace {

/// Where a key's value came from, for messages about cross-field problems.
struct origin {
    std::string file;
    std::uint32_t line = 0;
};

/// A setter converts one TOML value into the struct, or says what is wrong with it.
using setter = std::function<std::optional<std::string>(const toml::node&, config&)>;

std::optional<std::string> type_error(const toml::node& n, std::string_view expected) {
    return fmt::format("expected {}, found {}", expected, [&] {
        switch (n.type()) {
        case toml::node_type::string:
            return "a string";
        case toml::node_type::integer:
            return "an integer";
        case toml::node_type::floating_point:
            return "a float";
        case toml::node_type::boolean:
            return "a boolean";
        case toml::node_type::array:
            return "an array";
        case toml::node_type::table:
            return "a table";
        default:
            return "a date or time";
        }
    }());
}

template <typename Get>
setter string_value(Get get) {
    return [get](const toml::node& n, config& c) -> std::optional<std::string> {
        auto v = n.value<std::string>();
        if (!n.is_string() || !v) {
            return type_error(n, "a string");
        }
        get(c) = *v;
        return std::nullopt;
    };
}

template <typename Get>
setter path_value(Get get, bool allow_empty) {
    return [get, allow_empty](const toml::node& n, config& c) -> std::optional<std::string> {
        if (!n.is_string()) {
            return type_error(n, "a path string");
        }
        std::string v = *n.value<std::string>();
        if (v.empty() && allow_empty) {
            get(c) = std::filesystem::path{};
            return std::nullopt;
        }
        if (v.empty() || v.front() != '/') {
            return fmt::format("'{}' is not an absolute path", v);
        }
        get(c) = std::filesystem::path{v};
        return std::nullopt;
    };
}

template <typename T, typename Get>
setter integer_value(Get get, std::int64_t min, std::int64_t max) {
    return [get, min, max](const toml::node& n, config& c) -> std::optional<std::string> {
        if (!n.is_integer()) {
            return type_error(n, "an integer");
        }
        const std::int64_t v = *n.value<std::int64_t>();
        if (v < min || v > max) {
            return fmt::format("{} is out of range [{}, {}]", v, min, max);
        }
        get(c) = static_cast<T>(v);
        return std::nullopt;
    };
}

template <typename Get>
setter bool_value(Get get) {
    return [get](const toml::node& n, config& c) -> std::optional<std::string> {
        if (!n.is_boolean()) {
            return type_error(n, "true or false");
        }
        get(c) = *n.value<bool>();
        return std::nullopt;
    };
}

/// Durations are a string with a unit ("500ms", "5s", "2m") or an integer number of seconds.
template <typename Get>
setter duration_value(Get get, std::chrono::milliseconds min, std::chrono::milliseconds max) {
    return [get, min, max](const toml::node& n, config& c) -> std::optional<std::string> {
        std::chrono::milliseconds d{0};
        if (n.is_integer()) {
            const auto s = *n.value<std::int64_t>();
            if (s < 0 || s > max.count() / 1000 + 1) {
                return fmt::format("{}s is out of range [{}, {}]", s, format_duration(min),
                                   format_duration(max));
            }
            d = std::chrono::seconds{s};
        } else if (n.is_string()) {
            auto parsed = parse_duration(*n.value<std::string>());
            if (!parsed) {
                return parsed.error();
            }
            d = *parsed;
        } else {
            return type_error(n, "a duration such as \"5s\"");
        }
        if (d < min || d > max) {
            return fmt::format("{} is out of range [{}, {}]", format_duration(d), format_duration(min),
                               format_duration(max));
        }
        get(c) = d;
        return std::nullopt;
    };
}

/// A duration key of one section: `key` sets `(c.*section).*field`.
template <typename Section>
void add_duration(std::map<std::string, setter>& keys, std::string key, Section config::*section,
                  std::chrono::milliseconds Section::*field, std::chrono::milliseconds min,
                  std::chrono::milliseconds max) {
    keys[std::move(key)] = duration_value(
        [section, field](config& c) -> std::chrono::milliseconds& { return (c.*section).*field; }, min, max);
}

bool is_ip_address(const std::string& s) {
    in6_addr buf{};
    return ::inet_pton(AF_INET, s.c_str(), &buf) == 1 || ::inet_pton(AF_INET6, s.c_str(), &buf) == 1;
}

bool is_multicast_address(const std::string& s) {
    in_addr v4{};
    if (::inet_pton(AF_INET, s.c_str(), &v4) == 1) {
        return (ntohl(v4.s_addr) >> 28) == 0xE;
    }
    in6_addr v6{};
    return ::inet_pton(AF_INET6, s.c_str(), &v6) == 1 && v6.s6_addr[0] == 0xFF;
}

template <typename Get>
setter address_value(Get get, bool allow_empty) {
    return [get, allow_empty](const toml::node& n, config& c) -> std::optional<std::string> {
        if (!n.is_string()) {
            return type_error(n, "an IP address string");
        }
        std::string v = *n.value<std::string>();
        if (!(v.empty() && allow_empty) && !is_ip_address(v)) {
            return fmt::format("'{}' is not an IPv4 or IPv6 address", v);
        }
        get(c) = v;
        return std::nullopt;
    };
}

void add_network_keys(std::map<std::string, setter>& keys, const std::string& name,
                      network_config config::*member) {
    auto net = [member](config& c) -> network_config& { return c.*member; };
    keys["network." + name + ".address"] =
        address_value([net](config& c) -> std::string& { return net(c).address; }, /*allow_empty=*/true);
    keys["network." + name + ".interface"] =
        string_value([net](config& c) -> std::string& { return net(c).interface; });
    keys["network." + name + ".multicast_group"] = [net](const toml::node& n,
                                                         config& c) -> std::optional<std::string> {
        if (!n.is_string()) {
            return type_error(n, "a multicast address string");
        }
        std::string v = *n.value<std::string>();
        if (!is_multicast_address(v)) {
            return fmt::format("'{}' is not a multicast address", v);
        }
        net(c).multicast_group = v;
        return std::nullopt;
    };
    auto port = [&](const char* key, std::uint16_t network_config::*field) {
        keys["network." + name + "." + key] = integer_value<std::uint16_t>(
            [net, field](config& c) -> std::uint16_t& { return net(c).*field; }, 1, 65535);
    };
    port("agent_port", &network_config::agent_port);
    port("controller_port", &network_config::controller_port);
    port("pulse_port", &network_config::pulse_port);
    port("pulse_reply_port", &network_config::pulse_reply_port);
}

/// One `[[controller.hosts]]` table. Returns why it is unusable, or nothing.
std::optional<std::string> parse_monitored_host(const toml::table& t, monitored_host& h) {
    for (const auto& [k, v] : t) {
        const std::string_view key = k.str();
        if (key == "name") {
            if (!v.is_string() || !is_valid_hostname(*v.value<std::string>())) {
                return std::string{"name: must be a host name (RFC 1123, at most 63 characters)"};
            }
            h.name = *v.value<std::string>();
        } else if (key == "personality") {
            const auto r = v.is_string() ? parse_role(*v.value<std::string>()) : std::nullopt;
            if (!r) {
                return std::string{"personality: must be \"controller\", \"worker\" or \"storage\""};
            }
            h.personality = *r;
        } else if (key == "mgmt_ip" || key == "cluster_ip") {
            if (!v.is_string() || !is_ip_address(*v.value<std::string>())) {
                return fmt::format("{}: must be an IPv4 or IPv6 address", key);
            }
            (key == "mgmt_ip" ? h.mgmt_ip : h.cluster_ip) = *v.value<std::string>();
        } else {
            return fmt::format("unknown key '{}' (name, personality, mgmt_ip, cluster_ip)", key);
        }
    }
    if (h.name.empty()) {
        return std::string{"name is required"};
    }
    if (h.mgmt_ip.empty() && h.cluster_ip.empty()) {
        return fmt::format("host '{}' needs mgmt_ip or cluster_ip", h.name);
    }
    return std::nullopt;
}

/// `[[controller.hosts]]`: every entry valid, no name or address twice.
std::optional<std::string> parse_monitored_hosts(const toml::node& n, config& c) {
    const auto* arr = n.as_array();
    if (arr == nullptr) {
        return type_error(n, "an array of tables ([[controller.hosts]])");
    }
    std::vector<monitored_host> out;
    std::set<std::string, std::less<>> names;
    std::set<std::string, std::less<>> addresses;
    for (const auto& e : *arr) {
        const auto line = e.source().begin.line;
        const auto* t = e.as_table();
        if (t == nullptr) {
            return fmt::format("entry at line {}: expected a table", line);
        }
        monitored_host h;
        h.line = line;
        if (auto err = parse_monitored_host(*t, h)) {
            return fmt::format("entry at line {}: {}", line, *err);
        }
        if (!names.insert(h.name).second) {
            return fmt::format("entry at line {}: host '{}' is listed twice", line, h.name);
        }
        for (const auto* a : {&h.mgmt_ip, &h.cluster_ip}) {
            if (!a->empty() && !addresses.insert(*a).second) {
                return fmt::format("entry at line {}: address {} is used twice", line, *a);
            }
        }
        out.push_back(std::move(h));
    }
    c.controller.hosts = std::move(out);
    return std::nullopt;
}

using namespace std::chrono_literals;

const std::map<std::string, setter>& schema() {
    static const std::map<std::string, setter> keys = [] {
        std::map<std::string, setter> k;
        k["agent.hostname"] = [](const toml::node& n, config& c) -> std::optional<std::string> {
            if (!n.is_string()) {
                return type_error(n, "a host name string");
            }
            std::string v = *n.value<std::string>();
            if (!v.empty() && !is_valid_hostname(v)) {
                return fmt::format("'{}' is not a valid host name (RFC 1123, at most 63 characters)", v);
            }
            c.agent.hostname = v;
            return std::nullopt;
        };
        k["agent.subfunctions"] = [](const toml::node& n, config& c) -> std::optional<std::string> {
            const auto* arr = n.as_array();
            if (arr == nullptr) {
                return type_error(n, "an array of function names");
            }
            std::vector<role> out;
            for (const auto& e : *arr) {
                auto r = e.is_string() ? parse_role(*e.value<std::string>()) : std::nullopt;
                if (r != role::worker) {
                    return std::string{"the only subfunction is \"worker\" (an all-in-one controller)"};
                }
                if (std::find(out.begin(), out.end(), *r) != out.end()) {
                    return fmt::format("'{}' is listed twice", to_string(*r));
                }
                out.push_back(*r);
            }
            c.agent.subfunctions = std::move(out);
            return std::nullopt;
        };
        k["agent.controllers"] = [](const toml::node& n, config& c) -> std::optional<std::string> {
            const auto* arr = n.as_array();
            if (arr == nullptr) {
                return type_error(n, "an array of addresses");
            }
            std::vector<std::string> out;
            for (const auto& e : *arr) {
                if (!e.is_string() || !is_ip_address(*e.value<std::string>())) {
                    return std::string{"every controller must be an IPv4 or IPv6 address"};
                }
                out.push_back(*e.value<std::string>());
            }
            if (out.empty()) {
                return std::string{"at least one controller address is required"};
            }
            c.agent.controllers = std::move(out);
            return std::nullopt;
        };
        k["agent.boot_id_file"] = path_value(
            [](config& c) -> std::filesystem::path& { return c.agent.boot_id_file; }, /*allow_empty=*/true);
        k["agent.drain_timeout"] = duration_value(
            [](config& c) -> std::chrono::milliseconds& { return c.agent.drain_timeout; }, 100ms, 10min);
        k["agent.log_level"] = [](const toml::node& n, config& c) -> std::optional<std::string> {
            static const std::vector<std::string> levels{"trace", "debug",    "info", "warn",
                                                         "error", "critical", "off"};
            if (!n.is_string()) {
                return type_error(n, "a log level string");
            }
            std::string v = *n.value<std::string>();
            if (std::find(levels.begin(), levels.end(), v) == levels.end()) {
                return fmt::format("'{}' is not one of trace, debug, info, warn, error, critical, off", v);
            }
            c.agent.log_level = v;
            return std::nullopt;
        };
        k["auth.key_file"] = path_value([](config& c) -> std::filesystem::path& { return c.auth.key_file; },
                                        /*allow_empty=*/false);

        add_network_keys(k, "mgmt", &config::mgmt);
        add_network_keys(k, "cluster", &config::cluster);

        auto threshold = [&](const char* key, std::uint32_t heartbeat_config::*field) {
            k[std::string{"heartbeat."} + key] = integer_value<std::uint32_t>(
                [field](config& c) -> std::uint32_t& { return c.heartbeat.*field; }, 1, 1000);
        };
        k["heartbeat.period_ms"] = integer_value<std::uint32_t>(
            [](config& c) -> std::uint32_t& { return c.heartbeat.period_ms; }, 10, 60000);
        threshold("minor_threshold", &heartbeat_config::minor_threshold);
        threshold("degrade_threshold", &heartbeat_config::degrade_threshold);
        threshold("failure_threshold", &heartbeat_config::failure_threshold);
        threshold("recovery_threshold", &heartbeat_config::recovery_threshold);
        k["heartbeat.mode"] = [](const toml::node& n, config& c) -> std::optional<std::string> {
            if (!n.is_string()) {
                return type_error(n, "\"multicast\" or \"unicast\"");
            }
            std::string v = *n.value<std::string>();
            if (v == "multicast") {
                c.heartbeat.mode = heartbeat_mode::multicast;
            } else if (v == "unicast") {
                c.heartbeat.mode = heartbeat_mode::unicast;
            } else {
                return fmt::format("'{}' is neither \"multicast\" nor \"unicast\"", v);
            }
            return std::nullopt;
        };
        k["heartbeat.failure_action"] = [](const toml::node& n, config& c) -> std::optional<std::string> {
            if (!n.is_string()) {
                return type_error(n, "\"fail\", \"degrade\", \"alarm\" or \"none\"");
            }
            const std::string v = *n.value<std::string>();
            for (const auto a : {failure_action::fail, failure_action::degrade, failure_action::alarm,
                                 failure_action::none}) {
                if (v == to_string(a)) {
                    c.heartbeat.on_failure = a;
                    return std::nullopt;
                }
            }
            return fmt::format("'{}' is not one of \"fail\", \"degrade\", \"alarm\", \"none\"", v);
        };

        auto host_path = [&](const char* key, std::filesystem::path host_config::*field) {
            k[std::string{"host."} + key] =
                path_value([field](config& c) -> std::filesystem::path& { return c.host.*field; },
                           /*allow_empty=*/false);
        };
        host_path("goenabled_dir", &host_config::goenabled_dir);
        host_path("services_dir", &host_config::services_dir);
        host_path("run_dir", &host_config::run_dir);
        host_path("state_dir", &host_config::state_dir);
        host_path("subfunction_config_marker", &host_config::subfunction_config_marker);
        auto host_duration = [&](const char* key, std::chrono::milliseconds host_config::*field,
                                 std::chrono::milliseconds min, std::chrono::milliseconds max) {
            add_duration(k, std::string{"host."} + key, &config::host, field, min, max);
        };
        host_duration("goenabled_timeout", &host_config::goenabled_timeout, 100ms, 24h);
        host_duration("services_timeout", &host_config::services_timeout, 100ms, 24h);
        host_duration("kill_grace", &host_config::kill_grace, 10ms, 10min);
        host_duration("subfunction_config_timeout", &host_config::subfunction_config_timeout, 100ms, 24h);
        host_duration("mtcalive_period", &host_config::mtcalive_period, 100ms, 10min);
        host_duration("failsafe_delay", &host_config::failsafe_delay, 1s, 300s);
        k["host.output_limit"] =
            integer_value<std::size_t>([](config& c) -> std::size_t& { return c.host.output_limit; }, 1024,
                                       std::int64_t{64} * 1024 * 1024);
        k["host.reboot_command"] =
            string_value([](config& c) -> std::string& { return c.host.reboot_command; });
        k["host.reset_command"] =
            string_value([](config& c) -> std::string& { return c.host.reset_command; });
        k["host.script_isolation"] = [](const toml::node& n, config& c) -> std::optional<std::string> {
            if (!n.is_string()) {
                return type_error(n, "\"auto\", \"systemd\", \"cgroup\" or \"process-group\"");
            }
            const std::string v = *n.value<std::string>();
            for (const auto i : {script_isolation::automatic, script_isolation::systemd,
                                 script_isolation::cgroup, script_isolation::process_group}) {
                if (v == to_string(i)) {
                    c.host.isolation = i;
                    return std::nullopt;
                }
            }
            return fmt::format("'{}' is not one of \"auto\", \"systemd\", \"cgroup\", \"process-group\"", v);
        };

        k["controller.state_dir"] =
            path_value([](config& c) -> std::filesystem::path& { return c.controller.state_dir; },
                       /*allow_empty=*/false);
        k["controller.api_listen"] = [](const toml::node& n, config& c) -> std::optional<std::string> {
            if (!n.is_string()) {
                return type_error(n, "an \"address:port\" string");
            }
            std::string v = *n.value<std::string>();
            const auto colon = v.rfind(':');
            std::string host = colon == std::string::npos ? "" : v.substr(0, colon);
            const bool bracketed = host.size() > 2 && host.front() == '[' && host.back() == ']';
            if (bracketed) {
                host = host.substr(1, host.size() - 2);
            }
            // Brackets exactly around IPv6, as the API server (api::parse_listen) reads it: "::1:2112" is
            // ambiguous and "[127.0.0.1]:2112" is not a URL's authority.
            const bool brackets_ok = bracketed == (host.find(':') != std::string::npos);
            const std::string port = colon == std::string::npos ? "" : v.substr(colon + 1);
            const bool port_ok =
                !port.empty() && port.size() <= 5 &&
                std::all_of(port.begin(), port.end(), [](char ch) { return ch >= '0' && ch <= '9'; }) &&
                std::stoi(port) >= 1 && std::stoi(port) <= 65535;
            if (!is_ip_address(host) || !brackets_ok || !port_ok) {
                return fmt::format("'{}' is not of the form ADDRESS:PORT (IPv6 as [ADDRESS]:PORT)", v);
            }
            c.controller.api_listen = v;
            return std::nullopt;
        };
        k["controller.api_token_file"] =
            path_value([](config& c) -> std::filesystem::path& { return c.controller.api_token_file; },
                       /*allow_empty=*/true);
        k["controller.api_socket"] =
            path_value([](config& c) -> std::filesystem::path& { return c.controller.api_socket; },
                       /*allow_empty=*/true);
        k["controller.api_socket_group"] =
            string_value([](config& c) -> std::string& { return c.controller.api_socket_group; });
        k["controller.api_trust_loopback"] =
            bool_value([](config& c) -> bool& { return c.controller.api_trust_loopback; });
        k["controller.api_max_connections"] = integer_value<std::uint32_t>(
            [](config& c) -> std::uint32_t& { return c.controller.api_max_connections; }, 1, 100000);
        k["controller.api_client_connections"] = integer_value<std::uint32_t>(
            [](config& c) -> std::uint32_t& { return c.controller.api_client_connections; }, 1, 100000);
        k["controller.bmc_key_file"] =
            path_value([](config& c) -> std::filesystem::path& { return c.controller.bmc_key_file; },
                       /*allow_empty=*/false);
        k["controller.hosts"] = parse_monitored_hosts;
        auto controller_duration = [&](const char* key, std::chrono::milliseconds controller_config::*field,
                                       std::chrono::milliseconds min, std::chrono::milliseconds max) {
            add_duration(k, std::string{"controller."} + key, &config::controller, field, min, max);
        };
        controller_duration("controller_boot_timeout", &controller_config::controller_boot_timeout, 1s, 24h);
        controller_duration("worker_boot_timeout", &controller_config::worker_boot_timeout, 1s, 24h);
        controller_duration("storage_boot_timeout", &controller_config::storage_boot_timeout, 1s, 24h);
        controller_duration("goenabled_timeout", &controller_config::goenabled_timeout, 100ms, 24h);
        controller_duration("services_timeout", &controller_config::services_timeout, 100ms, 24h);
        controller_duration("subfunction_config_timeout", &controller_config::subfunction_config_timeout,
                            100ms, 24h);
        controller_duration("heartbeat_soak", &controller_config::heartbeat_soak, 0ms, 10min);
        controller_duration("command_timeout", &controller_config::command_timeout, 100ms, 10min);
        k["controller.command_retries"] = integer_value<std::uint32_t>(
            [](config& c) -> std::uint32_t& { return c.controller.command_retries; }, 1, 100);
        controller_duration("reboot_timeout", &controller_config::reboot_timeout, 1s, 24h);
        controller_duration("offline_window", &controller_config::offline_window, 1s, 1h);
        controller_duration("fresh_boot_uptime", &controller_config::fresh_boot_uptime, 0ms, 24h);
        controller_duration("loss_recovery_timeout", &controller_config::loss_recovery_timeout, 100ms, 10min);
        controller_duration("self_reboot_delay", &controller_config::self_reboot_delay, 0ms, 10min);
        controller_duration("task_display", &controller_config::task_display, 0ms, 1h);
        controller_duration("api_client_timeout", &controller_config::api_client_timeout, 100ms, 1h);
        auto autorecovery_interval = [&](const char* key,
                                         std::chrono::milliseconds autorecovery_config::*field) {
            add_duration(k, std::string{"autorecovery."} + key, &config::autorecovery, field, 0ms, 24h);
        };
        autorecovery_interval("config_interval", &autorecovery_config::config_interval);
        autorecovery_interval("goenabled_interval", &autorecovery_config::goenabled_interval);
        autorecovery_interval("services_interval", &autorecovery_config::services_interval);
        autorecovery_interval("heartbeat_interval", &autorecovery_config::heartbeat_interval);
        autorecovery_interval("boot_interval", &autorecovery_config::boot_interval);
        k["controller.recovery_nest_limit"] = integer_value<std::uint32_t>(
            [](config& c) -> std::uint32_t& { return c.controller.recovery_nest_limit; }, 0, 100);
        k["autorecovery.threshold"] = integer_value<std::uint32_t>(
            [](config& c) -> std::uint32_t& { return c.autorecovery.threshold; }, 0, 100);
        k["bmc.audit_period_s"] = integer_value<std::uint32_t>(
            [](config& c) -> std::uint32_t& { return c.bmc.audit_period_s; }, 0, 86400);
        k["bmc.reset_delay_s"] = integer_value<std::uint32_t>(
            [](config& c) -> std::uint32_t& { return c.bmc.reset_delay_s; }, 0, 3600);
        k["bmc.retries"] =
            integer_value<std::uint32_t>([](config& c) -> std::uint32_t& { return c.bmc.retries; }, 0, 10);
        k["bmc.quarantine_failures"] = integer_value<std::uint32_t>(
            [](config& c) -> std::uint32_t& { return c.bmc.quarantine_failures; }, 1, 100);
        k["bmc.ipmi_cipher_suite"] =
            integer_value<int>([](config& c) -> int& { return c.bmc.ipmi_cipher_suite; }, -1, 255);
        k["bmc.ca_file"] = path_value([](config& c) -> std::filesystem::path& { return c.bmc.ca_file; },
                                      /*allow_empty=*/true);
        k["bmc.ipmitool"] = path_value([](config& c) -> std::filesystem::path& { return c.bmc.ipmitool; },
                                       /*allow_empty=*/false);
        add_duration(k, "bmc.request_timeout", &config::bmc, &bmc_config::request_timeout, 100ms, 10min);
        add_duration(k, "bmc.backoff", &config::bmc, &bmc_config::backoff, 0ms, 10min);
        add_duration(k, "bmc.power_off_timeout", &config::bmc, &bmc_config::power_off_timeout, 1s, 1h);
        add_duration(k, "bmc.power_on_timeout", &config::bmc, &bmc_config::power_on_timeout, 1s, 1h);
        add_duration(k, "bmc.access_alarm_delay", &config::bmc, &bmc_config::access_alarm_delay, 0ms, 24h);
        add_duration(k, "bmc.reprobe_interval", &config::bmc, &bmc_config::reprobe_interval, 1s, 24h);
        k["dor.detect_s"] = integer_value<std::uint32_t>(
            [](config& c) -> std::uint32_t& { return c.dor.detect_s; }, 0, 86400);
        k["dor.timeout_s"] = integer_value<std::uint32_t>(
            [](config& c) -> std::uint32_t& { return c.dor.timeout_s; }, 1, 86400);
        k["dor.aio_timeout_s"] = integer_value<std::uint32_t>(
            [](config& c) -> std::uint32_t& { return c.dor.aio_timeout_s; }, 1, 86400);
        k["mnfa.threshold"] = integer_value<std::uint32_t>(
            [](config& c) -> std::uint32_t& { return c.mnfa.threshold; }, 1, 100000);
        add_duration(k, "mnfa.timeout", &config::mnfa, &mnfa_config::timeout, 0ms, 24h);
        k["mnfa.backoff_factor"] = integer_value<std::uint32_t>(
            [](config& c) -> std::uint32_t& { return c.mnfa.backoff_factor; }, 1, 100);
        return k;
    }();
    return keys;
}

bool is_section(const std::string& path) {
    const auto& keys = schema();
    const std::string prefix = path + ".";
    auto it = keys.lower_bound(prefix);
    return it != keys.end() && it->first.compare(0, prefix.size(), prefix) == 0;
}

/// Applies every key of `table` (recursively) to `c`, recording errors and where each key came from.
void apply_table(const toml::table& table, const std::string& prefix, const std::string& file, config& c,
                 std::map<std::string, origin>& origins, config_errors& errors) {
    for (const auto& [k, node] : table) {
        const std::string path = prefix.empty() ? std::string{k.str()} : prefix + "." + std::string{k.str()};
        const std::uint32_t line = node.source().begin.line;
        const auto& keys = schema();
        if (auto it = keys.find(path); it != keys.end()) {
            if (auto err = it->second(node, c)) {
                errors.push_back({file, line, path, *err});
            } else {
                origins[path] = {file, line};
            }
            continue;
        }
        if (is_section(path)) {
            if (const auto* sub = node.as_table()) {
                apply_table(*sub, path, file, c, origins, errors);
            } else {
                errors.push_back({file, line, path, "expected a table [" + path + "]"});
            }
            continue;
        }
        errors.push_back({file, line, path, "unknown key"});
    }
}

bool apply_text(std::string_view text, const std::string& name, config& c,
                std::map<std::string, origin>& origins, config_errors& errors) {
    try {
        toml::table table = toml::parse(text, std::string_view{name});
        apply_table(table, "", name, c, origins, errors);
        return true;
    } catch (const toml::parse_error& e) {
        errors.push_back({name, e.source().begin.line, "", std::string{e.description()}});
        return false;
    }
}

std::string_view role_fragment(role r) {
    switch (r) {
    case role::controller:
        return role_defaults::controller;
    case role::worker:
        return role_defaults::worker;
    case role::storage:
        return role_defaults::storage;
    }
    return {};
}

std::string kernel_hostname() {
    char buf[HOST_NAME_MAX + 1] = {};
    if (::gethostname(buf, sizeof buf - 1) != 0) {
        return "localhost";
    }
    return buf;
}

/// Checks that need more than one key, or the filesystem.
void validate(config& c, const std::map<std::string, origin>& origins, config_errors& errors) {
    auto at = [&](const std::string& key) {
        auto it = origins.find(key);
        return it == origins.end() ? origin{"<default>", 0} : it->second;
    };
    auto fail = [&](const std::string& key, std::string message) {
        const auto o = at(key);
        errors.push_back({o.file, o.line, key, std::move(message)});
    };

    if (c.agent.hostname.empty()) {
        c.agent.hostname = kernel_hostname();
    }
    if (!c.agent.subfunctions.empty() && c.self != role::controller) {
        fail("agent.subfunctions", "only a controller can have the worker subfunction");
    }
    const auto& hb = c.heartbeat;
    if (!(hb.minor_threshold < hb.degrade_threshold && hb.degrade_threshold < hb.failure_threshold)) {
        // Name the threshold the operator set, so the message points at the line to change.
        std::string key = "heartbeat.failure_threshold";
        for (const auto* k :
             {"heartbeat.minor_threshold", "heartbeat.degrade_threshold", "heartbeat.failure_threshold"}) {
            if (origins.count(k) != 0) {
                key = k;
            }
        }
        fail(key, fmt::format("thresholds must rise: minor ({}) < degrade ({}) < failure ({})",
                              hb.minor_threshold, hb.degrade_threshold, hb.failure_threshold));
    }

    if (c.self == role::controller && !c.controller.hosts.empty() && c.mgmt.address.empty() &&
        c.cluster.address.empty()) {
        fail("controller.hosts",
             "monitoring hosts needs this controller's network.mgmt.address or network.cluster.address");
    }

    // The cluster key authenticates every command: a key others can read lets them forge commands. Its owner
    // is checked when the daemon reads it: `config check` may run as another user.
    if (const auto facts = facts_of(c.auth.key_file)) {
        if (auto problem = access_problem(c.auth.key_file, file_use::private_file, *facts, /*self=*/0,
                                          /*check_owner=*/false);
            !problem.empty()) {
            fail("auth.key_file", std::move(problem));
        }
    }
}

tl::expected<config, config_errors> build(std::string_view text, const std::string& name, bool has_file,
                                          role self) {
    config c;
    c.self = self;
    std::map<std::string, origin> origins;
    config_errors errors;
    const std::string fragment_name = fmt::format("<built-in {} defaults>", to_string(self));
    apply_text(role_fragment(self), fragment_name, c, origins, errors);
    if (has_file) {
        apply_text(text, name, c, origins, errors);
    }
    if (errors.empty()) {
        validate(c, origins, errors);
    }
    if (!errors.empty()) {
        return tl::unexpected{std::move(errors)};
    }
    return c;
}

}  // namespace

std::vector<std::string> config_keys() {
    std::vector<std::string> out;
    for (const auto& [k, _] : schema()) {
        out.push_back(k);
    }
    return out;
}

tl::expected<config, config_errors> parse_config(std::string_view text, std::string_view name, role self) {
    return build(text, std::string{name}, /*has_file=*/true, self);
}

tl::expected<config, config_errors> load_config(const std::filesystem::path& path, role self) {
    if (path.empty()) {
        return build({}, {}, /*has_file=*/false, self);
    }
    std::ifstream in{path, std::ios::binary};
    if (!in) {
        return tl::unexpected{config_errors{
            {path.string(), 0, "", fmt::format("cannot read the configuration: {}", std::strerror(errno))}}};
    }
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) {
        return tl::unexpected{
            config_errors{{path.string(), 0, "", "cannot read the configuration: I/O error"}}};
    }
    return build(text.str(), path.string(), /*has_file=*/true, self);
}

config_store::config_store(std::filesystem::path path, role self, config initial)
    : path_{std::move(path)}, self_{self}, current_{std::make_shared<const config>(std::move(initial))} {}

tl::expected<void, config_errors> config_store::reload() {
    auto next = load_config(path_, self_);
    if (!next) {
        return tl::unexpected{std::move(next.error())};
    }
    current_ = std::make_shared<const config>(std::move(*next));
    return {};
}

}  // namespace mtce
