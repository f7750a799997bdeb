#pragma once

#include <cstdint>
#include <string>
#include <thread>
#include <utility>

#include <asio/io_context.hpp>
#include <asio/post.hpp>

#include "api/server.hpp"
#include "core/tasks.hpp"

namespace mtce::test {

/// The REST server on 127.0.0.1 (an ephemeral port), on its own io_context in a thread, as the daemon runs
/// it: spawned in a task set and stopped with request_stop().
class api_server {
public:
    explicit api_server(api::backend& b, api::server_options options = {}, std::string token = "")
        : server_{io_.get_executor(), api::listen_address{"127.0.0.1", 0}, b, std::move(token), options} {
        port_ = server_.bind();
        tasks_.spawn("api", server_.run(tasks_));
        thread_ = std::thread{[this] { io_.run(); }};
    }
    ~api_server() { stop(); }
    api_server(const api_server&) = delete;
    api_server& operator=(const api_server&) = delete;

    [[nodiscard]] std::uint16_t port() const { return port_; }
    [[nodiscard]] std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

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
    asio::io_context io_;
    task_set tasks_{io_.get_executor()};
    api::server server_;
    std::uint16_t port_ = 0;
    std::thread thread_;
};

}  // namespace mtce::test
