#pragma once

// A plain UDP socket for tests that play the controller (or a host) against a real agent on loopback.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>
#include <fmt/format.h>

namespace mtce::test {

/// `ip:port` as a socket address; throws for an address that is not IPv4.
inline sockaddr_in ipv4_address(const std::string& ip, std::uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    if (::inet_pton(AF_INET, ip.c_str(), &a.sin_addr) != 1) {
        throw std::runtime_error{"bad address " + ip};
    }
    return a;
}

/// A UDP socket bound to `ip:port` (port 0: any).
class udp_socket {
public:
    udp_socket(const std::string& ip, std::uint16_t port) {
        fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        const auto a = ipv4_address(ip, port);
        if (fd_ < 0 || ::bind(fd_, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) {
            throw std::runtime_error{fmt::format("cannot bind {}:{}", ip, port)};
        }
    }
    ~udp_socket() { ::close(fd_); }
    udp_socket(const udp_socket&) = delete;
    udp_socket& operator=(const udp_socket&) = delete;

    void send(std::span<const std::byte> data, const std::string& ip, std::uint16_t port) const {
        const auto a = ipv4_address(ip, port);
        BOOST_REQUIRE(::sendto(fd_, data.data(), data.size(), 0, reinterpret_cast<const sockaddr*>(&a),
                               sizeof a) == static_cast<ssize_t>(data.size()));
    }

    /// The next datagram within `limit`, or nothing.
    [[nodiscard]] std::optional<std::vector<std::byte>> receive(std::chrono::milliseconds limit) const {
        pollfd pfd{fd_, POLLIN, 0};
        if (::poll(&pfd, 1, static_cast<int>(std::max<std::int64_t>(limit.count(), 0))) <= 0) {
            return std::nullopt;
        }
        std::vector<std::byte> buf(2048);
        const auto n = ::recv(fd_, buf.data(), buf.size(), 0);
        if (n < 0) {
            return std::nullopt;
        }
        buf.resize(static_cast<std::size_t>(n));
        return buf;
    }

private:
    int fd_ = -1;
};

}  // namespace mtce::test
