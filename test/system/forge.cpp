// mtce-forge: sends one command datagram as a given sender, signed with a given key, from a given address:
// what an intruder on a network could send. For the system tests' forged-command scenarios.
//
//   mtce-forge --key FILE --sender NAME --to ADDR:PORT [--from ADDR] [--command lock] [--id N] [--host NAME]
//              [--epoch N]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "net/message.hpp"
#include "net/payloads.hpp"

namespace {

int usage() {
    std::fprintf(stderr,
                 "usage: mtce-forge --key FILE --sender NAME --to ADDR:PORT [--from ADDR] [--command NAME] "
                 "[--id N] [--host NAME] [--epoch N]\n");
    return 2;
}

bool parse_ipv4(const std::string& text, in_addr& out) {
    return ::inet_pton(AF_INET, text.c_str(), &out) == 1;
}

}  // namespace

int main(int argc, char** argv) {
    std::string key_file, sender, to, from, command = "lock";
    std::uint64_t id = 1;
    std::string host;  // the target host; empty: none (refused by every host)
    std::uint64_t epoch = 1;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string flag = argv[i];
        const std::string value = argv[i + 1];
        if (flag == "--key") {
            key_file = value;
        } else if (flag == "--sender") {
            sender = value;
        } else if (flag == "--to") {
            to = value;
        } else if (flag == "--from") {
            from = value;
        } else if (flag == "--command") {
            command = value;
        } else if (flag == "--id") {
            id = std::stoull(value);
        } else if (flag == "--host") {
            host = value;
        } else if (flag == "--epoch") {
            epoch = std::stoull(value);
        } else {
            return usage();
        }
    }
    const auto colon = to.rfind(':');
    if (key_file.empty() || sender.empty() || colon == std::string::npos) {
        return usage();
    }
    std::ifstream in{key_file, std::ios::binary};
    std::string key{std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
    const auto kind = mtce::net::parse_command_kind(command);
    if (!kind || key.size() < mtce::net::min_key_size) {
        std::fprintf(stderr, "mtce-forge: unknown command or short key\n");
        return 2;
    }
    const auto payload = mtce::net::to_json(mtce::net::command{*kind, id, 0, false, host, epoch, 0});
    mtce::net::codec codec{std::as_bytes(std::span{key.data(), key.size()})};
    const auto now = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                                    std::chrono::system_clock::now().time_since_epoch())
                                                    .count());
    const mtce::net::message_header header{mtce::net::message_type::command, sender,
                                           mtce::net::parse_boot_id("forged-" + std::to_string(now)),
                                           now / 1'000'000'000U, now};
    std::vector<std::byte> out(mtce::net::max_datagram_size);
    const auto n = codec.encode(header, std::as_bytes(std::span{payload.data(), payload.size()}), out);
    if (!n) {
        std::fprintf(stderr, "mtce-forge: cannot encode\n");
        return 2;
    }
    sockaddr_in dst{};
    dst.sin_family = AF_INET;
    dst.sin_port = htons(static_cast<std::uint16_t>(std::stoi(to.substr(colon + 1))));
    if (!parse_ipv4(to.substr(0, colon), dst.sin_addr)) {
        return usage();
    }
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (!from.empty()) {
        sockaddr_in src{};
        src.sin_family = AF_INET;
        if (!parse_ipv4(from, src.sin_addr) ||
            ::bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0) {
            std::fprintf(stderr, "mtce-forge: cannot bind %s: %s\n", from.c_str(), std::strerror(errno));
            return 1;
        }
    }
    if (::sendto(fd, out.data(), *n, 0, reinterpret_cast<sockaddr*>(&dst), sizeof dst) < 0) {
        std::fprintf(stderr, "mtce-forge: sendto: %s\n", std::strerror(errno));
        return 1;
    }
    ::close(fd);
    return 0;
}
