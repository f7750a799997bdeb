#pragma once

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

namespace mtce::test {

/// A temporary directory, removed with everything in it when the test ends.
class scratch {
public:
    scratch() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "mtce-test.XXXXXX").string();
        if (::mkdtemp(tmpl.data()) == nullptr) {
            throw std::runtime_error{"mkdtemp failed"};
        }
        dir_ = tmpl;
    }
    ~scratch() {
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
    scratch(const scratch&) = delete;
    scratch& operator=(const scratch&) = delete;

    [[nodiscard]] const std::filesystem::path& path() const { return dir_; }

    /// Writes `text` to `name` (parents created) with `mode`; returns the full path.
    std::filesystem::path write(const std::string& name, const std::string& text, mode_t mode = 0644) const {
        const auto p = dir_ / name;
        std::filesystem::create_directories(p.parent_path());
        {
            std::ofstream out{p, std::ios::trunc};
            out << text;
        }
        ::chmod(p.c_str(), mode);
        return p;
    }

    /// Writes an executable /bin/sh script with `body`.
    std::filesystem::path script(const std::string& name, const std::string& body) const {
        return write(name, "#!/bin/sh\n" + body + "\n", 0755);
    }

    [[nodiscard]] std::string read(const std::string& name) const {
        std::ifstream in{dir_ / name};
        return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
    }

    [[nodiscard]] bool exists(const std::string& name) const { return std::filesystem::exists(dir_ / name); }

private:
    std::filesystem::path dir_;
};

/// A host configuration rooted in `dir`: key file, boot id file, script, run and state directories there.
/// `agent_keys` and `host_keys` are added to the [agent] and [host] tables; `tables` (whole tables) go last.
/// Unless `host_keys` sets them, host.reboot_command and host.reset_command only append a line to
/// `dir`/reboot-requested and `dir`/reset-requested: a test never reboots the machine it runs on.
inline std::string host_config(const std::filesystem::path& dir, const std::string& hostname,
                               const std::string& agent_keys = "", const std::string& host_keys = "",
                               const std::string& tables = "") {
    const auto d = dir.string();
    std::string harmless;
    if (host_keys.find("reboot_command") == std::string::npos) {
        harmless += "reboot_command = \"echo reboot >> '" + d + "/reboot-requested'\"\n";
    }
    if (host_keys.find("reset_command") == std::string::npos) {
        harmless += "reset_command = \"echo reset >> '" + d + "/reset-requested'\"\n";
    }
    return "[agent]\nhostname = \"" + hostname + "\"\nboot_id_file = \"" + d + "/boot_id\"\n" + agent_keys +
           "\n[auth]\nkey_file = \"" + d + "/key\"\n[host]\ngoenabled_dir = \"" + d +
           "/goenabled.d\"\nservices_dir = \"" + d + "/services.d\"\nrun_dir = \"" + d +
           "/run\"\nstate_dir = \"" + d + "/state\"\n" + harmless + host_keys + "\n" + tables + "\n";
}

/// Whether `needle` occurs in `haystack`; for checks on logs, flag files and command output.
inline bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

}  // namespace mtce::test
