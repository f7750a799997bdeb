#include "bmc/ipmi.hpp"

#include <algorithm>
#include <array>
#include <utility>

#include <asio/cancellation_state.hpp>
#include <asio/cancellation_type.hpp>
#include <asio/error.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/steady_timer.hpp>
#include <asio/system_error.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include "core/text.hpp"

namespace mtce::bmc {

namespace ipmi {

namespace {

using namespace std::chrono_literals;

/// How much of ipmitool's output an error message quotes.
constexpr std::size_t quote_limit = 240;

/// Lines ipmitool prints in verbose mode, or while it looks for the best cipher suite, on every run that
/// reaches the BMC, successful or not: never a reason, so never quoted. ("Invalid completion code received:
/// Invalid command" is the answer of a BMC without the OEM "VSO capabilities" ipmitool asks every BMC for.)
constexpr std::array<std::string_view, 6> chatter{
    "Loading IANA PEN Registry",
    "Running Get VSO Capabilities",
    "Invalid completion code received: Invalid command",
    "Discovered IPMB address",
    "Unable to Get Channel Cipher Suites",
    "Using best available cipher suite",
};

bool starts_with(std::string_view text, std::string_view prefix) {
    return text.substr(0, prefix.size()) == prefix;
}

bool contains(std::string_view text, std::string_view needle) {
    return text.find(needle) != std::string_view::npos;
}

/// `text` in lower case (ASCII only).
std::string lower(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; });
    return out;
}

/// The lines of `text`, without their line ends, leading "> " markers and surrounding blanks; empty lines
/// dropped.
std::vector<std::string_view> lines_of(std::string_view text) {
    std::vector<std::string_view> lines;
    while (!text.empty()) {
        std::size_t end = text.find('\n');
        std::string_view line = text.substr(0, end);
        text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
        while (!line.empty() && (line.front() == ' ' || line.front() == '\t' || line.front() == '>')) {
            line.remove_prefix(1);
        }
        while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r')) {
            line.remove_suffix(1);
        }
        if (!line.empty()) {
            lines.push_back(line);
        }
    }
    return lines;
}

bool is_chatter(std::string_view line) {
    return std::any_of(chatter.begin(), chatter.end(),
                       [&](std::string_view c) { return starts_with(line, c); });
}

/// A line that says the command itself went out inside an established session and got no reply
/// (ipmi_chassis.c prints these for !rsp): the BMC may have carried it out.
bool says_command_unanswered(std::string_view line) {
    return starts_with(line, "Unable to get Chassis Power Status") ||
           starts_with(line, "Unable to set Chassis Power Control") ||
           starts_with(line, "Error setting Chassis Boot Parameter") ||
           starts_with(line, "Error Getting Chassis Boot Parameter");
}

/// A line that says the BMC did not answer: no reply to the first message of a session, to a RAKP message or
/// to the command itself inside a session, or no address to send to.
bool says_no_answer(std::string_view line) {
    const std::string l = lower(line);
    return contains(l, "no response") || starts_with(line, "Get Auth Capabilities error") ||
           starts_with(line, "Error issuing Get Channel Authentication Capabilities request") ||
           starts_with(line, "Address lookup for") || starts_with(line, "Could not open socket") ||
           says_command_unanswered(line);
}

/// A line that says the BMC refused the credentials: the RAKP exchange failed (unknown user: "unauthorized
/// name"; wrong password: "RAKP 2 HMAC is invalid"), or the user may not have the privilege level asked for.
bool says_credentials_refused(std::string_view line) {
    if (contains(lower(line), "no response")) {
        return false;
    }
    return contains(line, "RAKP") || contains(lower(line), "unauthorized") ||
           (starts_with(line, "Set Session Privilege Level") && contains(line, "failed"));
}

/// Printable, bounded: control characters become '?', and the text is cut at quote_limit bytes (never inside
/// a UTF-8 sequence).
std::string printable(std::string text) {
    bool cut = text.size() > quote_limit;
    text = cut_utf8(std::move(text), quote_limit);
    for (char& c : text) {
        auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) {
            c = '?';
        }
    }
    if (cut) {
        text += "...";
    }
    return text;
}

/// What ipmitool said that is worth quoting: its non-chatter lines, stderr first, joined with "; ".
std::string what_ipmitool_said(const child_result& run) {
    std::string said;
    for (const std::string* stream : {&run.err, &run.out}) {
        for (std::string_view line : lines_of(*stream)) {
            if (is_chatter(line)) {
                continue;
            }
            if (!said.empty()) {
                said += "; ";
            }
            said.append(line);
            if (said.size() > quote_limit) {
                return said;
            }
        }
    }
    return said;
}

error make_error(errc code, operation op, const std::string& what, const child_result& run) {
    std::string message = "ipmitool " + command_text(op) + ": " + what;
    std::string said = what_ipmitool_said(run);
    if (!said.empty()) {
        message += ": \"" + printable(std::move(said)) + "\"";
    }
    return error{code, 0, std::move(message)};
}

/// The single line of `out` (one trailing newline allowed), or nothing if it has none or several.
std::optional<std::string_view> only_line(std::string_view out) {
    if (!out.empty() && out.back() == '\n') {
        out.remove_suffix(1);
    }
    if (out.empty() || contains(out, "\n")) {
        return std::nullopt;
    }
    return out;
}

}  // namespace

std::vector<std::string> command_words(operation op) {
    switch (op) {
    case operation::power_status:
        return {"chassis", "power", "status"};
    case operation::power_on:
        return {"chassis", "power", "on"};
    case operation::power_off:
        return {"chassis", "power", "off"};
    case operation::power_cycle:
        return {"chassis", "power", "cycle"};
    case operation::reset:
        return {"chassis", "power", "reset"};
    case operation::bootdev_pxe:
        return {"chassis", "bootdev", "pxe"};
    }
    return {};
}

std::string command_text(operation op) {
    std::string text;
    for (const std::string& word : command_words(op)) {
        if (!text.empty()) {
            text += ' ';
        }
        text += word;
    }
    return text;
}

std::string_view success_line(operation op) {
    switch (op) {
    case operation::power_status:
        break;
    case operation::power_on:
        return "Chassis Power Control: Up/On";
    case operation::power_off:
        return "Chassis Power Control: Down/Off";
    case operation::power_cycle:
        return "Chassis Power Control: Cycle";
    case operation::reset:
        return "Chassis Power Control: Reset";
    case operation::bootdev_pxe:
        return "Set Boot Device to pxe";
    }
    return {};
}

session_limits limits_for(std::chrono::milliseconds request_timeout) {
    // ipmitool keeps -N in an int of seconds; a day is more than any BMC exchange deserves.
    auto quarter = std::chrono::duration_cast<std::chrono::seconds>(request_timeout / 4).count();
    return session_limits{static_cast<unsigned>(std::clamp<long long>(quarter, 1, 24LL * 3600)), 1};
}

std::vector<std::string> arguments(const endpoint& bmc, const timing& t, const ipmi_options& options,
                                   operation op) {
    std::vector<std::string> args{"-I", "lanplus", "-H", bmc.address};
    if (bmc.port != 0) {
        args.insert(args.end(), {"-p", std::to_string(bmc.port)});
    }
    args.insert(args.end(), {"-U", bmc.username, "-E"});
    if (options.cipher_suite) {
        args.insert(args.end(), {"-C", std::to_string(*options.cipher_suite)});
    }
    session_limits limits = limits_for(t.request_timeout);
    args.insert(args.end(),
                {"-N", std::to_string(limits.timeout_s), "-R", std::to_string(limits.retries), "-v"});
    for (std::string& word : command_words(op)) {
        args.push_back(std::move(word));
    }
    return args;
}

error classify(operation op, const child_result& run) {
    if (!run.started) {
        return error{errc::refused, 0, "ipmitool " + command_text(op) + ": " + printable(run.describe())};
    }
    if (run.timed_out) {
        return make_error(errc::timeout, op, "no complete answer in time: " + run.describe(), run);
    }
    if (run.ok()) {
        return make_error(errc::bad_answer, op, "unexpected output", run);
    }
    bool no_answer = false;
    bool command_unanswered = false;
    bool credentials_refused = false;
    for (const std::string* stream : {&run.err, &run.out}) {
        for (std::string_view line : lines_of(*stream)) {
            no_answer = no_answer || says_no_answer(line);
            command_unanswered = command_unanswered || says_command_unanswered(line);
            credentials_refused = credentials_refused || says_credentials_refused(line);
        }
    }
    if (credentials_refused) {
        return make_error(errc::auth, op, "the BMC refused the credentials", run);
    }
    if (no_answer) {
        // Silence before the session was up: the command never went out.
        auto e = make_error(errc::unreachable, op, "no answer from the BMC", run);
        e.may_have_reached = command_unanswered;
        return e;
    }
    return make_error(errc::refused, op, "failed (" + run.describe() + ")", run);
}

result<power_state> parse(operation op, const child_result& run) {
    if (!run.ok()) {
        return tl::unexpected(classify(op, run));
    }
    std::optional<std::string_view> line = only_line(run.out);
    if (line) {
        if (op == operation::power_status) {
            if (*line == "Chassis Power is on") {
                return power_state::on;
            }
            if (*line == "Chassis Power is off") {
                return power_state::off;
            }
        } else if (*line == success_line(op)) {
            return power_state::unknown;
        }
    }
    return tl::unexpected(classify(op, run));
}

bool repeatable(operation op) noexcept {
    return op != operation::power_cycle && op != operation::reset;
}

}  // namespace ipmi

namespace {

using namespace std::chrono_literals;
constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

/// ipmitool ends at once on SIGTERM; the grace only covers a machine too busy to schedule it.
constexpr auto ipmitool_kill_grace = 1s;
/// Enough for every message ipmitool prints on one run, verbose included.
constexpr std::size_t ipmitool_output_limit = std::size_t{16} * 1024;

class ipmi_driver final : public driver {
public:
    ipmi_driver(asio::any_io_executor ex, endpoint bmc, timing t, std::filesystem::path ipmitool,
                ipmi_options options)
        : ex_(std::move(ex)),
          bmc_(std::move(bmc)),
          timing_(t),
          ipmitool_(std::move(ipmitool)),
          options_(options) {}

    [[nodiscard]] std::string_view protocol() const noexcept override { return "ipmi"; }

    asio::awaitable<result<capabilities>> probe() override {
        result<power_state> status = co_await perform(ipmi::operation::power_status);
        if (!status) {
            co_return tl::unexpected(std::move(status.error()));
        }
        co_return capabilities{{"On", "ForceOff", "PowerCycle", "ForceRestart"}, /*boot_override=*/true};
    }

    asio::awaitable<result<power_state>> power() override {
        result<power_state> status = co_await perform(ipmi::operation::power_status);
        co_return status;
    }

    asio::awaitable<result<void>> power_on() override { return control(ipmi::operation::power_on); }
    asio::awaitable<result<void>> power_off() override { return control(ipmi::operation::power_off); }
    asio::awaitable<result<void>> power_cycle() override { return control(ipmi::operation::power_cycle); }
    asio::awaitable<result<void>> reset() override { return control(ipmi::operation::reset); }
    asio::awaitable<result<void>> boot_pxe_once() override { return control(ipmi::operation::bootdev_pxe); }

private:
    asio::awaitable<result<void>> control(ipmi::operation op) {
        result<power_state> done = co_await perform(op);
        if (!done) {
            co_return tl::unexpected(std::move(done.error()));
        }
        co_return result<void>{};
    }

    /// Runs `op` until it succeeds, fails for good, or the retries are spent.
    asio::awaitable<result<power_state>> perform(ipmi::operation op) {
        for (unsigned attempt = 0;; ++attempt) {
            child_result run = co_await run_once(op);
            result<power_state> outcome = ipmi::parse(op, run);
            if (outcome) {
                co_return outcome;
            }
            error failure = std::move(outcome.error());
            failure.message = redact(std::move(failure.message), bmc_.password);
            if (!worth_retrying(failure, ipmi::repeatable(op)) || attempt >= timing_.retries) {
                if (attempt > 0) {
                    failure.message += " (after " + std::to_string(attempt + 1) + " attempts)";
                }
                co_return tl::unexpected(std::move(failure));
            }
            asio::steady_timer pause(ex_, backoff_delay(timing_, attempt));
            co_await pause.async_wait(use_tuple);
            co_await throw_if_cancelled();
        }
    }

    asio::awaitable<child_result> run_once(ipmi::operation op) {
        child_spec spec;
        spec.program = ipmitool_;
        spec.args = ipmi::arguments(bmc_, timing_, options_, op);
        spec.env = script_environment({{"IPMI_PASSWORD", bmc_.password}});
        spec.deadline = timing_.request_timeout;
        spec.kill_grace = ipmitool_kill_grace;
        spec.output_limit = ipmitool_output_limit;
        child_result run = co_await run_child(std::move(spec));
        co_return run;
    }

    /// A wait with use_tuple reports cancellation as an error code; a cancelled operation ends here instead.
    static asio::awaitable<void> throw_if_cancelled() {
        asio::cancellation_state state = co_await asio::this_coro::cancellation_state;
        if (state.cancelled() != asio::cancellation_type::none) {
            throw asio::system_error(asio::error::operation_aborted);
        }
    }

    asio::any_io_executor ex_;
    endpoint bmc_;
    timing timing_;
    std::filesystem::path ipmitool_;
    ipmi_options options_;
};

}  // namespace

std::unique_ptr<driver> make_ipmi_driver(asio::any_io_executor ex, endpoint bmc, timing t,
                                         std::filesystem::path ipmitool, ipmi_options options) {
    return std::make_unique<ipmi_driver>(std::move(ex), std::move(bmc), t, std::move(ipmitool), options);
}

}  // namespace mtce::bmc
