// The heartbeat's sockets and clock: every period, requests out on each network, replies read in a few
// batches. Every decision is the monitor's; this file only waits, sends and receives.
#include <unistd.h>

#include <type_traits>
#include <variant>

#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/ip/udp.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "heartbeat/monitor.hpp"
#include "net/udp_endpoint.hpp"

namespace mtce::heartbeat {

namespace {

constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);
constexpr std::size_t batch_size = 64;
// Room in the receive buffer for a whole period's replies with the kernel's per-datagram overhead.
constexpr std::size_t receive_buffer_per_host = 2048;
constexpr std::size_t min_receive_buffer = 1U << 20U;
// Replies are read this many times per period, the last just before the period is judged.
constexpr int reads_per_period = 4;

/// A socket taken out of the event loop's reactor. The reactor watches a socket edge-triggered from the
/// moment it is opened, so every burst of arriving replies would wake the loop, read or not: at 20,000
/// replies a second that was thousands of wake-ups for nothing. Replies are read at set times instead.
class quiet_socket {
public:
    explicit quiet_socket(asio::ip::udp::socket s) : fd_{s.release()} {}
    quiet_socket(const quiet_socket&) = delete;
    quiet_socket& operator=(const quiet_socket&) = delete;
    ~quiet_socket() { ::close(fd_); }
    [[nodiscard]] int fd() const { return fd_; }

private:
    int fd_;
};

/// One network's socket: bound to this controller's address at pulse_reply_port; requests leave from it
/// and replies arrive on it.
struct network_io {
    network net = network::mgmt;
    network_config config;
    std::optional<quiet_socket> socket;
    asio::ip::udp::endpoint group;  ///< multicast destination
};

/// Sends this period's requests on one network, draining replies between batches so that a burst of
/// replies never has to wait for the whole burst of requests to leave.
void send_requests(monitor& m, network_io& io, heartbeat_mode mode, const net::datagram_sink& sink,
                   std::vector<std::array<std::byte, net::max_datagram_size>>& buffers) {
    std::array<net::outgoing_datagram, batch_size> batch;
    const int fd = io.socket->fd();
    auto flush = [&](std::size_t n) {
        const auto r = net::send_batch(fd, std::span{batch}.first(n));
        if (r.failed != 0) {
            m.count_send_failure(io.net, r.failed);
            spdlog::debug("heartbeat ({}): {} request(s) not sent: {}", to_string(io.net), r.failed,
                          r.last_error.message());
        }
        net::drain_udp(fd, sink, 4 * batch_size);
    };
    if (mode == heartbeat_mode::multicast) {
        batch[0] = {m.multicast_request(io.net, buffers[0]), io.group};
        flush(1);
        return;
    }
    std::size_t n = 0;
    for (const auto slot : m.targets(io.net)) {
        batch[n] = {m.unicast_request(io.net, slot, buffers[n]),
                    {m.address(slot, io.net), io.config.pulse_port}};
        if (++n == batch_size) {
            flush(n);
            n = 0;
        }
    }
    if (n != 0) {
        flush(n);
    }
}

void open_socket(network_io& io, const monitor& m, heartbeat_mode mode, const asio::any_io_executor& ex) {
    // Replies come back unicast, so the socket is bound to this controller's own address in either mode.
    auto socket = net::open_udp(ex, io.config, io.config.pulse_reply_port, heartbeat_mode::unicast);
    const auto want = std::max(min_receive_buffer, m.targets(io.net).size() * receive_buffer_per_host);
    const auto got = net::set_receive_buffer(socket, want);
    if (got < want) {
        spdlog::warn(
            "heartbeat ({}): receive buffer is {} bytes, less than the {} wanted for {} host(s); raise "
            "net.core.rmem_max or grant CAP_NET_ADMIN, or replies may be dropped in bursts",
            to_string(io.net), got, want, m.targets(io.net).size());
    }
    const auto local = asio::ip::make_address(io.config.address);
    if (mode == heartbeat_mode::multicast) {
        net::set_multicast_sender(socket, local);
        io.group = {asio::ip::make_address(io.config.multicast_group), io.config.pulse_port};
    }
    io.socket.emplace(std::move(socket));
    spdlog::info("heartbeat ({}): monitoring {} host(s) from {}:{} every {} ms ({})", to_string(io.net),
                 m.targets(io.net).size(), io.config.address, io.config.pulse_reply_port,
                 m.period_length().count(),
                 mode == heartbeat_mode::multicast ? "multicast " + io.config.multicast_group
                                                   : std::string{"unicast"});
}

}  // namespace

asio::awaitable<void> run_monitor(monitor& m, const config_store& config, task_set& tasks) {
    using namespace asio::experimental::awaitable_operators;
    const auto ex = co_await asio::this_coro::executor;
    const auto cfg = config.current();
    const auto mode = cfg->heartbeat.mode;
    std::array<network_io, network_count> io{network_io{network::mgmt, cfg->mgmt, {}, {}},
                                             network_io{network::cluster, cfg->cluster, {}, {}}};
    for (auto& n : io) {
        if (m.on_network(n.net)) {
            open_socket(n, m, mode, ex);
        }
    }
    // Not a secret (it is on the wire in clear); logged so that a capture can be matched to a run.
    spdlog::info("heartbeat: this run's nonce is {:016x}", m.nonce());
    std::array<net::datagram_sink, network_count> sinks;
    for (auto& n : io) {
        sinks[static_cast<std::size_t>(n.net)] = [&m, net = n.net](const asio::ip::udp::endpoint&,
                                                                   std::span<const std::byte> data) {
            m.on_datagram(net, data);
        };
    }
    // Reads what is queued on every network, bounded so that a flood cannot hold the loop (twice a period's
    // replies; the rest waits for the next read or is dropped by the kernel when the buffer is full).
    auto read_replies = [&] {
        for (auto& n : io) {
            if (!n.socket) {
                continue;
            }
            std::error_code error;
            net::drain_udp(n.socket->fd(), sinks[static_cast<std::size_t>(n.net)],
                           2 * m.targets(n.net).size() + batch_size, &error);
            if (error) {
                throw std::system_error{error,
                                        fmt::format("heartbeat ({}): receiving replies", to_string(n.net))};
            }
        }
    };

    auto periods = [&]() -> asio::awaitable<void> {
        std::vector<std::array<std::byte, net::max_datagram_size>> buffers(batch_size);
        asio::steady_timer timer{ex};
        auto due = std::chrono::steady_clock::now();
        for (;;) {
            // A reload (SIGHUP) may have changed the period, and multi-node failure avoidance backs it off:
            // either applies from this period on.
            const std::chrono::milliseconds length{config.current()->heartbeat.period_ms * m.period_factor()};
            if (length != m.period_length()) {
                m.set_period_length(length);
                spdlog::info("heartbeat: period now {} ms", length.count());
            }
            const auto period = std::chrono::duration_cast<std::chrono::steady_clock::duration>(length);
            m.begin_period(std::chrono::steady_clock::now());
            for (auto& n : io) {
                if (n.socket) {
                    send_requests(m, n, mode, sinks[static_cast<std::size_t>(n.net)], buffers);
                }
            }
            // A starved controller may take most of the period to send: then the hosts last in line had no
            // fair chance to answer, and the period must not count against them.
            m.requests_sent(std::chrono::steady_clock::now());
            const auto start = due;
            due += period;
            // The replies are read in a few large batches rather than as they come: nothing is judged before
            // the period ends, so reading them later delays no decision, and it saves the loop most of its
            // wake-ups and system calls. The last read comes just before the period is judged.
            for (int read = 1; read <= reads_per_period; ++read) {
                timer.expires_at(read == reads_per_period ? due : start + period * read / reads_per_period);
                auto [ec] = co_await timer.async_wait(use_tuple);
                if (ec) {
                    co_return;
                }
                read_replies();
            }
            const auto now = std::chrono::steady_clock::now();
            m.end_period(now);
            if (now - due > period) {
                due = now;  // late: start afresh rather than firing a burst of short periods
            }
        }
    };

    // No operand may throw: `||` would hold a failure back until another operand ends, which for these loops
    // is the daemon's stop. The first to end wins; its failure is rethrown once the others are cancelled.
    const auto first = co_await (catching(periods()) || tasks.until_stop());
    std::visit(
        [](const auto& ended) {
            if constexpr (std::is_same_v<std::decay_t<decltype(ended)>, std::exception_ptr>) {
                rethrow_if_failed(ended);
            }
        },
        first);
}

}  // namespace mtce::heartbeat
