// The man pages agree with the program: every flag `mtce ... --help` prints is documented in man/mtce.8,
// every configuration key is documented in man/mtce.toml.5, and neither page documents a key that does not
// exist.
#define BOOST_TEST_MODULE docs_test
#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string_view>
#include <string>
#include <vector>

#include "core/config.hpp"

namespace {

namespace fs = std::filesystem;
using path_words = std::vector<std::string>;

/// Every subcommand path of the fixed interface (design §3.1), groups included.
const std::vector<path_words>& interface_paths() {
    static const std::vector<path_words> paths{
        {"agent"},
        {"host"},
        {"host", "list"},
        {"host", "show"},
        {"host", "add"},
        {"host", "delete"},
        {"host", "lock"},
        {"host", "unlock"},
        {"host", "reboot"},
        {"host", "reset"},
        {"host", "power-on"},
        {"host", "power-off"},
        {"host", "power-cycle"},
        {"host", "reinstall"},
        {"host", "wait"},
        {"alarm"},
        {"alarm", "list"},
        {"event"},
        {"event", "list"},
        {"system"},
        {"system", "show"},
        {"config"},
        {"config", "check"},
        {"demo"},
        {"version"},
    };
    return paths;
}

std::string joined(const path_words& words) {
    std::string out = "mtce";
    for (const auto& w : words) {
        out += " " + w;
    }
    return out;
}

struct run_result {
    int status = -1;  ///< exit status, or -1 if killed or not started
    std::string output;
    bool timed_out = false;
};

/// Runs `mtce <args...>` with stdout and stderr on one pipe; reads at most `limit` bytes (the rest is drained
/// and dropped) and kills the child after `deadline`.
run_result run_mtce(const std::vector<std::string>& args,
                    std::chrono::seconds deadline = std::chrono::seconds{60}, std::size_t limit = 1 << 20) {
    run_result result;
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        BOOST_FAIL("pipe2: " << std::strerror(errno));
    }
    std::vector<std::string> argv_storage{MTCE_BINARY};
    argv_storage.insert(argv_storage.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_storage) {
        argv.push_back(a.data());
    }
    argv.push_back(nullptr);

    const pid_t pid = ::fork();
    if (pid < 0) {
        BOOST_FAIL("fork: " << std::strerror(errno));
    }
    if (pid == 0) {
        ::dup2(fds[1], STDOUT_FILENO);
        ::dup2(fds[1], STDERR_FILENO);
        const int null = ::open("/dev/null", O_RDONLY);
        if (null >= 0) {
            ::dup2(null, STDIN_FILENO);
        }
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    ::close(fds[1]);

    const auto until = std::chrono::steady_clock::now() + deadline;
    char buf[4096];
    for (;;) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now())
                .count();
        if (left <= 0) {
            result.timed_out = true;
            break;
        }
        pollfd p{fds[0], POLLIN, 0};
        const int ready = ::poll(&p, 1, static_cast<int>(left));
        if (ready < 0 && errno == EINTR) {
            continue;
        }
        if (ready <= 0) {
            result.timed_out = ready == 0;
            break;
        }
        const ssize_t n = ::read(fds[0], buf, sizeof buf);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        if (result.output.size() < limit) {
            result.output.append(
                buf, std::min<std::size_t>(static_cast<std::size_t>(n), limit - result.output.size()));
        }
    }
    ::close(fds[0]);
    if (result.timed_out) {
        ::kill(pid, SIGKILL);
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!result.timed_out && WIFEXITED(status)) {
        result.status = WEXITSTATUS(status);
    }
    return result;
}

/// `mtce <path...> --help`, which must succeed.
std::string help_of(const path_words& path) {
    auto args = path;
    args.emplace_back("--help");
    const auto r = run_mtce(args);
    BOOST_TEST_INFO(joined(path) << " --help printed:\n" << r.output);
    BOOST_REQUIRE_MESSAGE(!r.timed_out, joined(path) << " --help did not finish");
    BOOST_REQUIRE_MESSAGE(r.status == 0, joined(path) << " --help exited with " << r.status);
    return r.output;
}

bool is_lower(char c) {
    return c >= 'a' && c <= 'z';
}
bool is_flag_char(char c) {
    return is_lower(c) || (c >= '0' && c <= '9') || c == '-';
}
bool is_key_char(char c) {
    return is_lower(c) || (c >= '0' && c <= '9') || c == '_';
}

/// The long flags in a help text, e.g. "--log-level": "--" and a letter, then letters, digits and '-'.
/// (No std::regex: g++ 12 warns inside <regex> at -O1 with the sanitizers, and warnings are errors.)
std::set<std::string> long_flags(const std::string& help) {
    std::set<std::string> out;
    for (auto pos = help.find("--"); pos != std::string::npos; pos = help.find("--", pos + 1)) {
        if (pos + 2 >= help.size() || !is_lower(help[pos + 2]) || (pos > 0 && help[pos - 1] == '-')) {
            continue;
        }
        auto end = pos + 2;
        while (end < help.size() && is_flag_char(help[end])) {
            ++end;
        }
        out.insert(help.substr(pos, end - pos));
    }
    return out;
}

std::string trimmed(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) {
        s.remove_prefix(1);
    }
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) {
        s.remove_suffix(1);
    }
    return std::string{s};
}

/// The subcommand names listed in a CLI11 help text ("Subcommands:" section, one "  name  description" a
/// line).
std::vector<std::string> subcommands_in(const std::string& help) {
    std::vector<std::string> out;
    std::istringstream in{help};
    std::string line;
    bool in_section = false;
    while (std::getline(in, line)) {
        std::string lower = line;
        std::transform(lower.begin(), lower.end(), lower.begin(),
                       [](unsigned char c) { return std::tolower(c); });
        if (lower.rfind("subcommands:", 0) == 0) {
            in_section = true;
            continue;
        }
        if (!in_section || line.empty()) {
            continue;
        }
        if (!std::isspace(static_cast<unsigned char>(line.front()))) {
            in_section = false;  // the next section
            continue;
        }
        const auto entry = trimmed(line);
        const auto name = entry.substr(0, entry.find_first_of(" \t"));
        if (!name.empty() && is_lower(name.front()) && std::all_of(name.begin(), name.end(), is_flag_char)) {
            out.push_back(name);
        }
    }
    return out;
}

std::string read_text(const fs::path& file) {
    std::ifstream in{file, std::ios::binary};
    BOOST_REQUIRE_MESSAGE(in, "cannot read " << file);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

/// The man source with the roff escapes that matter for matching undone: "\-" is "-"; font changes
/// ("\fB", "\fI", "\fR", "\fP", "\f(CW", "\f[B]") and the zero-width "\&", "\:", "\%" vanish.
std::string unescaped(const std::string& text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '\\' || i + 1 >= text.size()) {
            out += text[i];
            continue;
        }
        const char next = text[i + 1];
        if (next == '-') {
            out += '-';
            ++i;
        } else if (next == '&' || next == ':' || next == '%') {
            ++i;
        } else if (next == 'f' && i + 2 < text.size()) {
            if (text[i + 2] == '(') {
                i += 4;
            } else if (text[i + 2] == '[') {
                const auto close = text.find(']', i + 3);
                i = close == std::string::npos ? text.size() : close;
            } else {
                i += 2;
            }
        } else {
            out += text[i];
        }
    }
    return out;
}

/// Whether `word` occurs in `text` not as part of a longer flag or name ("--api" is not found in
/// "--api-key").
bool contains_word(const std::string& text, const std::string& word) {
    for (auto pos = text.find(word); pos != std::string::npos; pos = text.find(word, pos + 1)) {
        const bool left_ok = pos == 0 || !is_flag_char(text[pos - 1]) || word.front() == '-';
        const auto after = pos + word.size();
        const bool right_ok = after == text.size() || !is_flag_char(text[after]);
        if (left_ok && right_ok) {
            return true;
        }
    }
    return false;
}

std::string man_page(const char* name) {
    return read_text(fs::path{MTCE_SOURCE_DIR} / "man" / name);
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in{text};
    for (std::string line; std::getline(in, line);) {
        while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r')) {
            line.pop_back();
        }
        out.push_back(line);
    }
    return out;
}

std::string list(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& i : items) {
        out += "\n  " + i;
    }
    return out;
}

/// Every subcommand path: the fixed interface, plus whatever the help texts list (so a new subcommand cannot
/// go undocumented).
std::vector<path_words> all_paths() {
    std::vector<path_words> paths = interface_paths();
    std::vector<path_words> todo{{}};
    std::set<path_words> seen(paths.begin(), paths.end());
    while (!todo.empty()) {
        auto path = todo.back();
        todo.pop_back();
        for (const auto& sub : subcommands_in(help_of(path))) {
            auto child = path;
            child.push_back(sub);
            if (seen.insert(child).second) {
                paths.push_back(child);
            }
            if (child.size() < 3) {
                todo.push_back(child);
            }
        }
    }
    return paths;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(mtce_8)

BOOST_AUTO_TEST_CASE(help_lists_the_subcommands_of_the_interface) {
    // The discovery below relies on parsing "Subcommands:"; make sure it finds the known ones.
    const auto top = subcommands_in(help_of({}));
    for (const char* name : {"agent", "host", "alarm", "event", "system", "config", "demo", "version"}) {
        BOOST_CHECK_MESSAGE(std::find(top.begin(), top.end(), name) != top.end(),
                            "'mtce --help' does not list the subcommand '" << name << "'");
    }
}

BOOST_AUTO_TEST_CASE(every_flag_of_every_subcommand_is_documented) {
    const auto man = unescaped(man_page("mtce.8"));
    std::vector<std::string> missing;
    for (const auto& path : all_paths()) {
        const auto help = help_of(path);
        for (const auto& flag : long_flags(help)) {
            if (!contains_word(man, flag)) {
                missing.push_back(joined(path) + ": " + flag);
            }
        }
    }
    BOOST_TEST(missing.empty(), "flags printed by --help but not in man/mtce.8:" << list(missing));
}

BOOST_AUTO_TEST_CASE(every_subcommand_is_documented) {
    const auto man = unescaped(man_page("mtce.8"));
    std::vector<std::string> missing;
    for (const auto& path : all_paths()) {
        // "mtce agent", "host power-on", "config check": the command with its parent, as the page names it.
        const std::string phrase =
            (path.size() == 1 ? std::string{"mtce"} : path[path.size() - 2]) + " " + path.back();
        if (!contains_word(man, phrase)) {
            missing.push_back(joined(path) + " (looked for \"" + phrase + "\")");
        }
    }
    BOOST_TEST(missing.empty(), "subcommands not in man/mtce.8:" << list(missing));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(mtce_toml_5)

BOOST_AUTO_TEST_CASE(every_configuration_key_has_an_entry) {
    const auto lines = lines_of(man_page("mtce.toml.5"));
    std::vector<std::string> missing;
    const auto keys = mtce::config_keys();
    BOOST_REQUIRE(!keys.empty());
    for (const auto& key : keys) {
        bool found = false;
        for (std::size_t i = 1; i < lines.size() && !found; ++i) {
            found = lines[i] == ".B " + key && lines[i - 1] == ".TP";
        }
        if (!found) {
            missing.push_back(key);
        }
    }
    BOOST_TEST(missing.empty(),
               "keys without a \".TP\" + \".B <key>\" entry in man/mtce.toml.5:" << list(missing));
}

BOOST_AUTO_TEST_CASE(every_documented_key_exists) {
    const auto keys = mtce::config_keys();
    const std::set<std::string> known(keys.begin(), keys.end());
    std::vector<std::string> stale;
    const auto lines = lines_of(man_page("mtce.toml.5"));
    for (std::size_t i = 0; i < lines.size(); ++i) {
        // ".B section.key": lower-case words joined by dots, nothing else on the line.
        if (!lines[i].starts_with(".B ")) {
            continue;
        }
        const auto word = lines[i].substr(3);
        const bool dotted =
            word.find('.') != std::string::npos && is_lower(word.front()) && word.back() != '.' &&
            word.find("..") == std::string::npos &&
            std::all_of(word.begin(), word.end(), [](char c) { return is_key_char(c) || c == '.'; });
        if (dotted && !known.contains(word)) {
            stale.push_back(word + " (man/mtce.toml.5 line " + std::to_string(i + 1) + ")");
        }
    }
    BOOST_TEST(stale.empty(),
               "man/mtce.toml.5 documents keys the configuration does not have:" << list(stale));
}

BOOST_AUTO_TEST_CASE(keys_named_in_either_page_exist) {
    // Catches a renamed key still mentioned in prose ("see host.goenabled_timeout").
    const auto keys = mtce::config_keys();
    std::set<std::string> known(keys.begin(), keys.end());
    for (const auto& k : keys) {
        for (auto dot = k.find('.'); dot != std::string::npos; dot = k.find('.', dot + 1)) {
            known.insert(k.substr(0, dot));  // tables: "network.mgmt"
        }
    }
    std::set<std::string> tables;
    for (const auto& k : keys) {
        tables.insert(k.substr(0, k.find('.')));
    }
    std::vector<std::string> stale;
    for (const char* page : {"mtce.8", "mtce.toml.5"}) {
        const auto text = unescaped(man_page(page));
        // A mention is "table.word[.word...]" not glued to a longer name ("mtce@controller.service").
        for (std::size_t i = 0; i < text.size();) {
            if (!is_lower(text[i]) ||
                (i > 0 && (is_key_char(text[i - 1]) || std::strchr("@./-", text[i - 1]) ||
                           (text[i - 1] >= 'A' && text[i - 1] <= 'Z')))) {
                ++i;
                continue;
            }
            auto end = i;
            while (end < text.size() &&
                   (is_key_char(text[end]) ||
                    (text[end] == '.' && end + 1 < text.size() && is_key_char(text[end + 1])))) {
                ++end;
            }
            const auto name = text.substr(i, end - i);
            const auto table = name.substr(0, name.find('.'));
            if (name.find('.') != std::string::npos && tables.contains(table) && !known.contains(name)) {
                stale.push_back(std::string{page} + ": " + name);
            }
            i = end;
        }
    }
    std::sort(stale.begin(), stale.end());
    stale.erase(std::unique(stale.begin(), stale.end()), stale.end());
    BOOST_TEST(stale.empty(), "configuration keys named in the man pages that do not exist:" << list(stale));
}

BOOST_AUTO_TEST_SUITE_END()
