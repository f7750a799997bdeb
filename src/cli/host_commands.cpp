#include "cli/host_commands.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <thread>

#include <fmt/format.h>

#include "api/client.hpp"
#include "cli/cli.hpp"
#include "cli/host_view.hpp"
#include "fleet/states.hpp"
#include "core/text.hpp"

namespace mtce::cli {

namespace {

using nlohmann::json;
using clock_type = std::chrono::steady_clock;

constexpr std::size_t max_password_file = 4096;

/// The string field `key` of `doc`, or "" if it is missing or not a string.
std::string string_field(const json& doc, const char* key) {
    if (!doc.is_object()) {
        return {};
    }
    const auto it = doc.find(key);
    return it != doc.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

/// The names of an enumeration's values, "a, b or c", for messages.
template <typename E>
std::string alternatives(E last) {
    std::vector<std::string> names;
    for (int v = 0; v <= static_cast<int>(last); ++v) {
        names.emplace_back(fleet::to_string(static_cast<E>(v)));
    }
    std::sort(names.begin(), names.end());
    const auto tail = names.back();
    names.pop_back();
    return fmt::format("{} or {}", fmt::join(names, ", "), tail);
}

/// The current local time of day, "12:03:04".
std::string clock_now() {
    const auto t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm local{};
    char text[16] = "??:??:??";
    if (::localtime_r(&t, &local) != nullptr) {
        (void)std::strftime(text, sizeof text, "%H:%M:%S", &local);
    }
    return text;
}

/// Sends one change and reports it: `done` on stdout for a 2xx answer, else the reason on stderr.
int change(const client_options& options, std::string_view method, const std::string& path,
           std::string_view body, std::string_view verb, const std::string& name,
           std::string_view done_text) {
    const auto session = api_session::open(options, /*for_changes=*/true);
    if (!session) {
        fmt::print(stderr, "mtce: {}\n", session.error());
        return exit_usage;
    }
    const auto got = session->send(method, path, body);
    if (!got.ok()) {
        return report_failure(got, fmt::format("cannot {} {}", verb, printable(name)), /*names_a_host=*/true);
    }
    fmt::print("{}: {}\n", printable(name), done_text);
    return exit_ok;
}

/// Puts the password read from `file` (when one is given) into the request `doc`; false, said on stderr, if
/// it cannot be read.
bool add_password(json& doc, const std::filesystem::path& file) {
    if (file.empty()) {
        return true;
    }
    const auto read = read_password_file(file);
    if (!read) {
        fmt::print(stderr, "mtce: {}\n", read.error());
        return false;
    }
    if (read->warning) {
        fmt::print(stderr, "mtce: warning: {}\n", *read->warning);
    }
    doc["bmc_password"] = read->password;
    return true;
}

}  // namespace

tl::expected<std::vector<std::string>, std::string> split_subfunctions(std::string_view list) {
    std::vector<std::string> out;
    if (trim_blanks(list).empty()) {
        return out;
    }
    for (std::size_t start = 0;;) {
        const auto comma = list.find(',', start);
        const auto item =
            trim_blanks(list.substr(start, comma == std::string_view::npos ? comma : comma - start));
        if (item.empty()) {
            return tl::unexpected{fmt::format("--subfunctions '{}' has an empty name", printable(list))};
        }
        out.emplace_back(item);
        if (comma == std::string_view::npos) {
            return out;
        }
        start = comma + 1;
    }
}

tl::expected<json, std::string> add_host_document(const add_options& o) {
    const auto subfunctions = split_subfunctions(o.subfunctions);
    if (!subfunctions) {
        return tl::unexpected{subfunctions.error()};
    }
    const bool has_bmc = o.bmc_type == "redfish" || o.bmc_type == "ipmi" || o.bmc_type == "auto";
    const std::array<std::pair<const char*, bool>, 3> bmc_options{{
        {"--bmc-address", !o.bmc_address.empty()},
        {"--bmc-username", !o.bmc_username.empty()},
        {"--bmc-password-file", !o.bmc_password_file.empty()},
    }};
    std::vector<std::string> missing;
    std::vector<std::string> given;
    for (const auto& [flag, present] : bmc_options) {
        (present ? given : missing).emplace_back(flag);
    }
    if (has_bmc && !missing.empty()) {
        return tl::unexpected{fmt::format("--bmc-type {} needs {}", o.bmc_type, fmt::join(missing, " and "))};
    }
    if (!has_bmc && !given.empty()) {
        return tl::unexpected{
            fmt::format("{} need --bmc-type redfish, ipmi or auto", fmt::join(given, " and "))};
    }
    if (o.bmc_insecure && o.bmc_type != "redfish" && o.bmc_type != "auto") {
        return tl::unexpected{std::string{"--bmc-insecure needs --bmc-type redfish or auto"}};
    }
    json doc{{"name", o.name}, {"personality", o.personality}, {"mgmt_ip", o.mgmt_ip}};
    if (!subfunctions->empty()) {
        doc["subfunctions"] = *subfunctions;
    }
    const std::array<std::pair<const char*, const std::string*>, 4> optional{{
        {"cluster_ip", &o.cluster_ip},
        {"bmc_type", &o.bmc_type},
        {"bmc_address", &o.bmc_address},
        {"bmc_username", &o.bmc_username},
    }};
    for (const auto& [key, value] : optional) {
        if (!value->empty()) {
            doc[key] = *value;
        }
    }
    if (o.bmc_insecure) {
        doc["bmc_insecure"] = true;
    }
    return doc;
}

tl::expected<json, std::string> modify_host_document(const modify_options& o) {
    if (o.bmc_insecure && o.bmc_verify) {
        return tl::unexpected{std::string{"--bmc-insecure and --bmc-verify contradict each other"}};
    }
    json doc = json::object();
    const std::array<std::pair<const char*, const std::string*>, 3> given{{
        {"bmc_type", &o.bmc_type},
        {"bmc_address", &o.bmc_address},
        {"bmc_username", &o.bmc_username},
    }};
    for (const auto& [key, value] : given) {
        if (!value->empty()) {
            doc[key] = *value;
        }
    }
    if (o.bmc_insecure || o.bmc_verify) {
        doc["bmc_insecure"] = o.bmc_insecure;
    }
    if (doc.empty() && o.bmc_password_file.empty()) {
        return tl::unexpected{std::string{
            "nothing to change: give --bmc-type, --bmc-address, --bmc-username, --bmc-password-file, "
            "--bmc-insecure or --bmc-verify"}};
    }
    return doc;
}

tl::expected<password_file, std::string> read_password_file(const std::filesystem::path& path) {
    const auto fail = [&](std::string_view why) {
        return tl::unexpected{fmt::format("the BMC password file '{}' {}", printable(path.string()), why)};
    };
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        return fail(fmt::format("cannot be read: {}", std::strerror(errno)));
    }
    struct closer {
        int fd;
        ~closer() { ::close(fd); }
    } const close_at_exit{fd};
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        return fail(fmt::format("cannot be read: {}", std::strerror(errno)));
    }
    password_file out;
    if (S_ISREG(st.st_mode) && (st.st_mode & (S_IRGRP | S_IROTH)) != 0) {
        out.warning = fmt::format(
            "the BMC password file '{}' is readable by other users (mode {:04o}); "
            "chmod 600 it",
            printable(path.string()), st.st_mode & 07777);
    }
    std::string text;
    char buf[1024];
    for (;;) {
        const auto n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return fail(fmt::format("cannot be read: {}", std::strerror(errno)));
        }
        if (n == 0) {
            break;
        }
        text.append(buf, static_cast<std::size_t>(n));
        if (text.size() > max_password_file) {
            return fail(fmt::format("is larger than {} bytes", max_password_file));
        }
    }
    if (text.ends_with('\n')) {
        text.pop_back();
    }
    if (text.empty()) {
        return fail("is empty");
    }
    out.password = std::move(text);
    return out;
}

tl::expected<std::string, std::string> action_for(std::string_view command, bool force) {
    if (!force) {
        return std::string{command};
    }
    if (command == "lock") {
        return std::string{"force-lock"};
    }
    return tl::unexpected{fmt::format("--force applies only to lock, not to {}", command)};
}

bool wanted_state::matches(const json& host) const {
    return string_field(host, "administrative") == administrative &&
           string_field(host, "operational") == operational &&
           string_field(host, "availability") == availability;
}

tl::expected<wanted_state, std::string> parse_wait_state(std::string_view text) {
    const auto fail = [&](const std::string& why) {
        return tl::unexpected{fmt::format("--state '{}': {}", printable(text), why)};
    };
    // The administrative and operational words have no dash; the availability may ("power-off").
    const auto first = text.find('-');
    const auto second = first == std::string_view::npos ? first : text.find('-', first + 1);
    if (second == std::string_view::npos) {
        return fail("expected ADMIN-OPER-AVAIL, e.g. unlocked-enabled-available");
    }
    const auto admin = text.substr(0, first);
    const auto oper = text.substr(first + 1, second - first - 1);
    const auto avail = text.substr(second + 1);
    if (!fleet::parse_admin_state(admin)) {
        return fail(fmt::format("'{}' is not an administrative state: {}", printable(admin),
                                alternatives(fleet::admin_state::unlocked)));
    }
    if (!fleet::parse_oper_state(oper)) {
        return fail(fmt::format("'{}' is not an operational state: {}", printable(oper),
                                alternatives(fleet::oper_state::enabled)));
    }
    if (!fleet::parse_avail_state(avail)) {
        return fail(fmt::format("'{}' is not an availability: {}", printable(avail),
                                alternatives(fleet::avail_state::offduty)));
    }
    return wanted_state{std::string{admin}, std::string{oper}, std::string{avail}};
}

int run_host_add(const client_options& options, const add_options& add) {
    auto doc = add_host_document(add);
    if (!doc) {
        fmt::print(stderr, "mtce: {}\n", doc.error());
        return exit_usage;
    }
    if (!add_password(*doc, add.bmc_password_file)) {
        return exit_usage;
    }
    return change(options, "POST", "/v1/hosts", doc->dump(), "add", add.name, "added");
}

int run_host_modify(const client_options& options, const modify_options& modify) {
    auto doc = modify_host_document(modify);
    if (!doc) {
        fmt::print(stderr, "mtce: {}\n", doc.error());
        return exit_usage;
    }
    if (!add_password(*doc, modify.bmc_password_file)) {
        return exit_usage;
    }
    return change(options, "PATCH", "/v1/hosts/" + api::percent_encode(modify.name), doc->dump(), "modify",
                  modify.name, "modified");
}

int run_host_delete(const client_options& options, const std::string& name) {
    return change(options, "DELETE", "/v1/hosts/" + api::percent_encode(name), {}, "delete", name,
                  "delete accepted");
}

int run_host_action(const client_options& options, const std::string& name, std::string_view command,
                    bool force) {
    const auto action = action_for(command, force);
    if (!action) {
        fmt::print(stderr, "mtce: {}\n", action.error());
        return exit_usage;
    }
    const auto body = json{{"action", *action}}.dump();
    return change(options, "POST", "/v1/hosts/" + api::percent_encode(name) + "/actions", body, *action, name,
                  *action + " accepted");
}

int run_host_wait(const client_options& options, const std::string& name, const std::string& state,
                  const wait_options& wait) {
    const auto wanted = parse_wait_state(state);
    if (!wanted) {
        fmt::print(stderr, "mtce: {}\n", wanted.error());
        return exit_usage;
    }
    const auto session = api_session::open(options, /*for_changes=*/false);
    if (!session) {
        fmt::print(stderr, "mtce: {}\n", session.error());
        return exit_usage;
    }
    const auto path = "/v1/hosts/" + api::percent_encode(name);
    const auto deadline = clock_type::now() + wait.timeout;
    std::optional<std::string> shown;  ///< the state and task last printed
    bool noted = false;                ///< the current outage was reported
    for (;;) {
        const auto started = clock_type::now();
        if (started >= deadline) {
            break;
        }
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - started);
        const auto got = session->get(path, std::min<std::chrono::milliseconds>(request_timeout, left));
        if (got.reached && got.status == 404) {
            if (shown) {
                fmt::print(stderr, "mtce: {}: the host was deleted\n", printable(name));
            } else {
                fmt::print(stderr, "mtce: cannot wait for {}: {}\n", printable(name), got.reason);
            }
            return exit_no_such_host;
        }
        if (got.reached && got.status >= 400 && got.status <= 499) {
            // The request itself is wrong (a name the API cannot take, say): asking again will not help.
            return report_failure(got, fmt::format("cannot wait for {}", printable(name)),
                                  /*names_a_host=*/true);
        }
        if (got.ok() && got.doc && got.doc->is_object()) {
            noted = false;
            const auto now_showing = state_text(*got.doc) + " " + cell_text(*got.doc, "task");
            if (now_showing != shown) {
                fmt::print("{}", render_wait_line(clock_now(), name, *got.doc));
                std::fflush(stdout);
                shown = now_showing;
            }
            if (wanted->matches(*got.doc)) {
                return exit_ok;
            }
        } else if (!noted) {
            const auto why = !got.reached ? got.reason
                             : got.ok()   ? std::string{"the answer is not a host document"}
                                        : fmt::format("cannot read host {}: {}", printable(name), got.reason);
            fmt::print(stderr, "mtce: {}; still waiting\n", why);
            noted = true;
        }
        std::this_thread::sleep_until(std::min(started + wait.interval, deadline));
    }
    fmt::print(stderr, "mtce: {} did not reach {} within {} s\n", printable(name), printable(state),
               std::chrono::duration_cast<std::chrono::seconds>(wait.timeout).count());
    return exit_wait_timeout;
}

}  // namespace mtce::cli
