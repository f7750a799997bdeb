#pragma once

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <cstdint>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include <asio/io_context.hpp>
#include <asio/post.hpp>

#include "api/server.hpp"
#include "core/tasks.hpp"

namespace mtce::test {

/// The REST server on 127.0.0.1 (an ephemeral port) or `where`, on its own io_context in a thread, as the
/// daemon runs it: spawned in a task set and stopped with request_stop().
class api_server {
public:
    explicit api_server(api::backend& b, api::server_options options = {}, std::string token = "",
                        api::listen_address where = {"127.0.0.1", 0})
        : host_{where.host}, server_{io_.get_executor(), where, b, std::move(token), options} {
        port_ = server_.bind();
        tasks_.spawn("api", server_.run(tasks_));
        thread_ = std::thread{[this] { io_.run(); }};
    }
    ~api_server() { stop(); }
    api_server(const api_server&) = delete;
    api_server& operator=(const api_server&) = delete;

    [[nodiscard]] std::uint16_t port() const { return port_; }
    [[nodiscard]] std::string url() const { return "http://" + host_ + ":" + std::to_string(port_); }

    /// Asks the server to stop and waits until its loop has nothing left to do.
    void stop() {
        if (thread_.joinable()) {
            asio::post(io_, [this] { tasks_.request_stop(); });
            thread_.join();
        }
    }
    /// Whether the server's task ended with an error (read after stop()).
    [[nodiscard]] bool failed() const { return tasks_.failed(); }
    [[nodiscard]] std::size_t running() const { return tasks_.running(); }

private:
    std::string host_;
    asio::io_context io_;
    task_set tasks_{io_.get_executor()};
    api::server server_;
    std::uint16_t port_ = 0;
    std::thread thread_;
};

/// An IPv4 address of this machine outside 127.0.0.0/8 on an interface that is up, to be a client the
/// server does not see as loopback; nullopt on a machine with none (tests that need one skip themselves).
inline std::optional<std::string> non_loopback_ipv4() {
    ifaddrs* all = nullptr;
    if (::getifaddrs(&all) != 0) {
        return std::nullopt;
    }
    std::optional<std::string> out;
    for (const ifaddrs* i = all; i != nullptr && !out; i = i->ifa_next) {
        if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != AF_INET || (i->ifa_flags & IFF_UP) == 0 ||
            (i->ifa_flags & IFF_LOOPBACK) != 0) {
            continue;
        }
        const auto* a = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
        char text[INET_ADDRSTRLEN];
        if ((ntohl(a->sin_addr.s_addr) >> 24) != 127 &&
            ::inet_ntop(AF_INET, &a->sin_addr, text, sizeof text) != nullptr) {
            out = text;
        }
    }
    ::freeifaddrs(all);
    return out;
}

}  // namespace mtce::test
