// mtce-fleet-sim: one process playing N hosts that answer the controller's heartbeat pulses with real,
// authenticated pulse responses, on the management and cluster networks, with faults commanded on stdin.
//
// One UDP socket per network is bound to 0.0.0.0:pulse_port. IP_PKTINFO tells which address a request was
// sent to (which simulated host it is for), and each reply leaves from that address (in_pktinfo
// ipi_spec_dst), so the controller sees N distinct hosts while the simulator needs two sockets, not 2N.
// With --multicast-group-X the socket also joins that group (on --interface-X): a request sent to the group
// is for every simulated host, and each live host answers it unicast from its own address, as in multicast
// mode. Decisions live in fleet.{hpp,cpp}; this file moves datagrams, reads commands and prints counters.

#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <queue>
#include <string>
#include <system_error>
#include <vector>

#include <CLI/CLI.hpp>
#include <asio/co_spawn.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/udp.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/read_until.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/log.hpp"
#include "core/tasks.hpp"
#include "fleet.hpp"

namespace {

namespace bench = mtce::bench;
using bench::network_id;
using clock_type = std::chrono::steady_clock;
constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

constexpr std::size_t batch_size = 64;       // datagrams per recvmmsg/sendmmsg
constexpr std::size_t rounds_per_wake = 64;  // then yield to the other tasks
constexpr std::size_t reply_size =
    mtce::net::header_size + mtce::net::pulse_response_size + mtce::net::tag_size;
constexpr int socket_buffer_bytes = 8 * 1024 * 1024;  // a 5000-host burst fits

std::size_t at(network_id n) {
    return static_cast<std::size_t>(n);
}

std::uint64_t clock_ns(clockid_t id) {
    timespec ts{};
    ::clock_gettime(id, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000U + static_cast<std::uint64_t>(ts.tv_nsec);
}

std::system_error errno_error(const std::string& what) {
    return std::system_error{errno, std::system_category(), what};
}

/// Writes one line on stdout at once: a driver reads acknowledgements as they come.
void say(const std::string& line) {
    std::fputs(line.c_str(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
}

struct sim_options {
    bench::fleet_options fleet;
    std::string key_file;
    std::array<std::uint16_t, bench::network_count> pulse_port{2106, 2116};
    std::array<std::uint16_t, bench::network_count> reply_port{2103, 2113};
    std::array<std::string, bench::network_count> multicast_group;  ///< joined when not empty
    std::array<std::string, bench::network_count> interface;  ///< where to join; empty: the kernel's choice
    std::vector<std::string> commands;
    double stats_interval_s = 10;
    bool ignore_eof = false;
    std::string log_level = "info";
};

/// A reply ready to leave: from a simulated host's address to the controller's reply port.
struct outgoing {
    bench::ipv4 from = 0;
    bench::ipv4 to = 0;
    std::uint16_t port = 0;
    std::array<std::byte, reply_size> bytes{};
    std::size_t size = 0;
};

struct delayed {
    clock_type::time_point due;
    std::uint64_t order = 0;  // keeps equal deadlines in arrival order
    network_id network = network_id::mgmt;
    outgoing reply;
};

/// How long the controller takes to send one period's requests on one network, seen from here: the time
/// between the first and the last request of a period that arrived. A send phase that fills most of the
/// period leaves the last hosts too little time to answer.
class spread_meter {
public:
    void on_request(std::uint64_t period, clock_type::time_point now) {
        if (period != period_) {
            close();
            period_ = period;
            first_ = now;
        }
        last_ = now;
    }
    [[nodiscard]] std::string text(std::string_view net) const {
        const auto mean = periods_ == 0 ? 0.0 : sum_ms_ / static_cast<double>(periods_);
        return fmt::format("{0}.spread_ms_mean={1:.1f} {0}.spread_ms_max={2:.1f}", net, mean, max_ms_);
    }

private:
    void close() {
        if (period_ == 0) {
            return;
        }
        const double ms = std::chrono::duration<double, std::milli>(last_ - first_).count();
        sum_ms_ += ms;
        max_ms_ = std::max(max_ms_, ms);
        ++periods_;
    }

    std::uint64_t period_ = 0;
    clock_type::time_point first_;
    clock_type::time_point last_;
    double sum_ms_ = 0;
    double max_ms_ = 0;
    std::uint64_t periods_ = 0;
};

struct later {
    bool operator()(const delayed& a, const delayed& b) const {
        return a.due != b.due ? a.due > b.due : a.order > b.order;
    }
};

sockaddr_in to_sockaddr(bench::ipv4 a, std::uint16_t port) {
    sockaddr_in s{};
    s.sin_family = AF_INET;
    s.sin_port = htons(port);
    s.sin_addr.s_addr = htonl(a);
    return s;
}

void set_buffer(int fd, int force, int plain, int bytes) {
    // Root may exceed net.core.[rw]mem_max; otherwise take what the kernel allows.
    if (::setsockopt(fd, SOL_SOCKET, force, &bytes, sizeof bytes) != 0) {
        (void)::setsockopt(fd, SOL_SOCKET, plain, &bytes, sizeof bytes);
    }
}

/// A wildcard socket on `port` that reports each datagram's destination address (IP_PKTINFO).
asio::ip::udp::socket open_pulse_socket(const asio::any_io_executor& ex, std::uint16_t port) {
    asio::ip::udp::socket s{ex, asio::ip::udp::v4()};
    s.set_option(asio::socket_base::reuse_address(true));
    const int on = 1;
    if (::setsockopt(s.native_handle(), IPPROTO_IP, IP_PKTINFO, &on, sizeof on) != 0) {
        throw errno_error("IP_PKTINFO");
    }
    set_buffer(s.native_handle(), SO_RCVBUFFORCE, SO_RCVBUF, socket_buffer_bytes);
    set_buffer(s.native_handle(), SO_SNDBUFFORCE, SO_SNDBUF, socket_buffer_bytes);
    std::error_code ec;
    s.bind({asio::ip::address_v4::any(), port}, ec);
    if (ec) {
        throw std::system_error{ec, fmt::format("cannot bind 0.0.0.0:{}", port)};
    }
    s.non_blocking(true);
    return s;
}

/// Joins `group` on the socket, on the interface named `interface` (empty: the one the kernel routes the
/// group to).
void join_group(asio::ip::udp::socket& s, const std::string& group, const std::string& interface) {
    const auto g = bench::parse_ipv4(group);
    if (!g || !bench::is_multicast(*g)) {
        throw std::invalid_argument(fmt::format("'{}' is not an IPv4 multicast group", group));
    }
    ip_mreqn membership{};
    membership.imr_multiaddr.s_addr = htonl(*g);
    if (!interface.empty()) {
        const auto index = ::if_nametoindex(interface.c_str());
        if (index == 0) {
            throw errno_error(fmt::format("no interface '{}' to join {} on", interface, group));
        }
        membership.imr_ifindex = static_cast<int>(index);
    }
    if (::setsockopt(s.native_handle(), IPPROTO_IP, IP_ADD_MEMBERSHIP, &membership, sizeof membership) != 0) {
        throw errno_error(fmt::format("cannot join {} on '{}'", group, interface));
    }
}

/// The destination address of a datagram received with IP_PKTINFO, 0 if the kernel did not say.
bench::ipv4 destination_of(msghdr& m) {
    for (cmsghdr* c = CMSG_FIRSTHDR(&m); c != nullptr; c = CMSG_NXTHDR(&m, c)) {
        if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
            in_pktinfo info{};
            std::memcpy(&info, CMSG_DATA(c), sizeof info);
            return ntohl(info.ipi_addr.s_addr);
        }
    }
    return 0;
}

/// Receive buffers for one batch, with room for each datagram's source and IP_PKTINFO.
struct receive_batch {
    std::array<std::array<std::byte, 2048>, batch_size> data{};
    std::array<sockaddr_in, batch_size> from{};
    std::array<std::array<char, CMSG_SPACE(sizeof(in_pktinfo))>, batch_size> control{};
    std::array<iovec, batch_size> iov{};
    std::array<mmsghdr, batch_size> headers{};

    void reset() {
        for (std::size_t i = 0; i < batch_size; ++i) {
            iov[i] = {data[i].data(), data[i].size()};
            headers[i] = {};
            headers[i].msg_hdr.msg_name = &from[i];
            headers[i].msg_hdr.msg_namelen = sizeof from[i];
            headers[i].msg_hdr.msg_iov = &iov[i];
            headers[i].msg_hdr.msg_iovlen = 1;
            headers[i].msg_hdr.msg_control = control[i].data();
            headers[i].msg_hdr.msg_controllen = control[i].size();
        }
    }
};

/// Sends replies, each from its simulated host's address; returns how many the kernel refused.
std::size_t send_replies(int fd, std::span<const outgoing> replies) {
    std::array<sockaddr_in, batch_size> to{};
    std::array<std::array<char, CMSG_SPACE(sizeof(in_pktinfo))>, batch_size> control{};
    std::array<iovec, batch_size> iov{};
    std::array<mmsghdr, batch_size> headers{};
    std::size_t failed = 0;
    while (!replies.empty()) {
        const std::size_t n = std::min(replies.size(), batch_size);
        for (std::size_t i = 0; i < n; ++i) {
            const auto& r = replies[i];
            to[i] = to_sockaddr(r.to, r.port);
            iov[i] = {const_cast<std::byte*>(r.bytes.data()), r.size};
            headers[i] = {};
            auto& m = headers[i].msg_hdr;
            m.msg_name = &to[i];
            m.msg_namelen = sizeof to[i];
            m.msg_iov = &iov[i];
            m.msg_iovlen = 1;
            m.msg_control = control[i].data();
            m.msg_controllen = control[i].size();
            cmsghdr* c = CMSG_FIRSTHDR(&m);
            c->cmsg_level = IPPROTO_IP;
            c->cmsg_type = IP_PKTINFO;
            c->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
            in_pktinfo info{};
            info.ipi_spec_dst.s_addr = htonl(r.from);
            std::memcpy(CMSG_DATA(c), &info, sizeof info);
        }
        const int sent = ::sendmmsg(fd, headers.data(), static_cast<unsigned>(n), MSG_DONTWAIT);
        if (sent < 0 && errno == EINTR) {
            continue;
        }
        // A reply the kernel will not take now (full buffer, refused) is late anyway: count it and go on.
        const std::size_t done = sent <= 0 ? 1 : static_cast<std::size_t>(sent);
        failed += sent <= 0 ? 1 : 0;
        replies = replies.subspan(done);
    }
    return failed;
}

/// Runs the fleet on real sockets until `quit`, end of input or SIGINT/SIGTERM.
class simulator {
public:
    simulator(const asio::any_io_executor& ex, bench::fleet& fleet, const sim_options& options,
              mtce::task_set& tasks)
        : fleet_{fleet},
          options_{options},
          tasks_{tasks},
          delay_timer_{ex, clock_type::time_point::max()},
          stats_timer_{ex},
          signals_{ex, SIGINT, SIGTERM},
          input_{ex} {
        for (std::size_t n = 0; n < bench::network_count; ++n) {
            if (options_.fleet.networks[n]) {
                sockets_[n].emplace(open_pulse_socket(ex, options_.pulse_port[n]));
                if (!options_.multicast_group[n].empty()) {
                    join_group(*sockets_[n], options_.multicast_group[n], options_.interface[n]);
                }
            }
        }
        const int in = ::dup(STDIN_FILENO);
        std::error_code ec;
        if (in >= 0) {
            input_.assign(in, ec);
        }
        if (in < 0 || ec) {
            // /dev/null or a regular file cannot be waited on: run without commands until a signal.
            spdlog::info("standard input cannot be watched; commands are not read");
            if (in >= 0) {
                ::close(in);
            }
        }
    }

    void start() {
        for (std::size_t n = 0; n < bench::network_count; ++n) {
            if (sockets_[n]) {
                const auto id = static_cast<network_id>(n);
                tasks_.spawn(fmt::format("answer {}", bench::to_string(id)), serve(id));
            }
        }
        tasks_.spawn("send delayed replies", send_delayed());
        tasks_.spawn("signals", wait_for_signal());
        if (input_.is_open()) {
            tasks_.spawn("commands", read_commands());
        }
        if (options_.stats_interval_s > 0) {
            tasks_.spawn("statistics", log_stats());
        }
    }

    /// Runs one command line and acknowledges it on stdout.
    void handle_line(std::string_view line) {
        const auto first = line.find_first_not_of(" \t\r\n");
        if (first == std::string_view::npos || line[first] == '#') {
            return;
        }
        const auto c = bench::parse_command(line);
        if (!c) {
            say("error " + c.error());
            return;
        }
        const auto hosts = fleet_.apply(*c);
        if (!hosts) {
            say("error " + hosts.error());
            return;
        }
        const auto t = clock_ns(CLOCK_REALTIME);
        if (c->what == bench::verb::stats) {
            say(fmt::format("ok stats t={} {}", t, counters_text()));
        } else if (c->what == bench::verb::quit) {
            say(fmt::format("ok quit t={} {}", t, counters_text()));
            stop();
        } else {
            say(fmt::format("ok {} t={} n={} hosts={}", describe(*c), t, hosts->size(), names(*hosts)));
        }
    }

private:
    void stop() {
        if (tasks_.stopping()) {
            return;
        }
        tasks_.request_stop();
        std::error_code ec;
        for (auto& s : sockets_) {
            if (s) {
                s->close(ec);
            }
        }
        input_.close(ec);
        signals_.cancel(ec);
        delay_timer_.cancel();
        stats_timer_.cancel();
    }

    asio::awaitable<void> serve(network_id n) {
        auto& socket = *sockets_[at(n)];
        auto batch = std::make_unique<receive_batch>();
        for (;;) {
            auto [ec] = co_await socket.async_wait(asio::socket_base::wait_read, use_tuple);
            if (tasks_.stopping() || ec == asio::error::operation_aborted) {
                co_return;
            }
            if (ec) {
                throw std::system_error{ec, fmt::format("waiting for {} pulses", bench::to_string(n))};
            }
            drain(n, socket.native_handle(), *batch);
        }
    }

    /// Answers what is queued on the socket, a bounded number of batches at a time.
    void drain(network_id n, int fd, receive_batch& batch) {
        std::vector<outgoing> now;
        now.reserve(batch_size);
        const auto flush = [&] {
            send_errors_[at(n)] += send_replies(fd, now);
            now.clear();
        };
        for (std::size_t round = 0; round < rounds_per_wake; ++round) {
            batch.reset();
            const int got = ::recvmmsg(fd, batch.headers.data(), batch_size, MSG_DONTWAIT, nullptr);
            if (got < 0) {
                if (errno == EINTR || errno == ECONNREFUSED) {
                    continue;
                }
                if (errno == EAGAIN || errno == EWOULDBLOCK) {
                    return;
                }
                throw errno_error(fmt::format("receiving {} pulses", bench::to_string(n)));
            }
            const auto arrived = clock_type::now();
            for (std::size_t i = 0; i < static_cast<std::size_t>(got); ++i) {
                auto& h = batch.headers[i];
                const auto data = std::span<const std::byte>{batch.data[i].data(), h.msg_len};
                const auto destination = destination_of(h.msg_hdr);
                const auto source = ntohl(batch.from[i].sin_addr.s_addr);
                const auto queue = [&](const bench::reply& r, bench::ipv4 from) {
                    outgoing o{from, source, options_.reply_port[at(n)], {}, r.datagram.size()};
                    std::copy(r.datagram.begin(), r.datagram.end(), o.bytes.begin());
                    if (r.delay.count() == 0) {
                        now.push_back(o);
                        if (now.size() == batch_size) {
                            flush();
                        }
                    } else {
                        hold(n, o, r.delay);
                    }
                };
                if (bench::is_multicast(destination)) {
                    // For every host on this network: each answers from its own address.
                    std::uint64_t period = 0;
                    const auto replies =
                        fleet_.on_multicast_request(n, source, data, [&](const bench::reply& r) {
                            period = r.period;
                            queue(r, fleet_.address_of(n, r.host));
                        });
                    if (replies != 0) {
                        spread_[at(n)].on_request(period, arrived);
                    }
                    continue;
                }
                const auto r = fleet_.on_request(n, destination, source, data);
                if (!r) {
                    continue;
                }
                spread_[at(n)].on_request(r->period, arrived);
                queue(*r, destination);
            }
            flush();
            if (static_cast<std::size_t>(got) < batch_size) {
                return;
            }
        }
    }

    void hold(network_id n, const outgoing& o, std::chrono::milliseconds delay) {
        const auto due = clock_type::now() + delay;
        const bool earliest = delayed_.empty() || due < delayed_.top().due;
        delayed_.push({due, next_order_++, n, o});
        if (earliest) {
            delay_timer_.cancel();  // wakes send_delayed() to wait for this one instead
        }
    }

    asio::awaitable<void> send_delayed() {
        while (!tasks_.stopping()) {
            delay_timer_.expires_at(delayed_.empty() ? clock_type::time_point::max() : delayed_.top().due);
            co_await delay_timer_.async_wait(use_tuple);
            if (!tasks_.stopping()) {
                send_due();
            }
        }
    }

    void send_due() {
        std::array<std::vector<outgoing>, bench::network_count> due;
        const auto now = clock_type::now();
        while (!delayed_.empty() && delayed_.top().due <= now) {
            due[at(delayed_.top().network)].push_back(delayed_.top().reply);
            delayed_.pop();
        }
        for (std::size_t n = 0; n < bench::network_count; ++n) {
            if (!due[n].empty() && sockets_[n]) {
                send_errors_[n] += send_replies(sockets_[n]->native_handle(), due[n]);
            }
        }
    }

    asio::awaitable<void> wait_for_signal() {
        auto [ec, sig] = co_await signals_.async_wait(use_tuple);
        if (!ec) {
            spdlog::info("signal {}: stopping", sig);
            say(fmt::format("ok quit t={} {}", clock_ns(CLOCK_REALTIME), counters_text()));
            stop();
        }
    }

    asio::awaitable<void> read_commands() {
        std::string buffer;
        for (;;) {
            auto [ec, n] = co_await asio::async_read_until(input_, asio::dynamic_buffer(buffer, 1 << 16),
                                                           '\n', use_tuple);
            if (tasks_.stopping() || ec == asio::error::operation_aborted) {
                co_return;
            }
            if (ec) {
                end_of_input(ec, buffer);
                co_return;
            }
            handle_line(std::string_view{buffer}.substr(0, n));
            buffer.erase(0, n);
        }
    }

    void end_of_input(const std::error_code& ec, const std::string& rest) {
        if (ec != asio::error::eof) {
            spdlog::error("reading commands: {}", ec.message());
        } else if (!rest.empty()) {
            handle_line(rest);
        }
        if (tasks_.stopping()) {
            return;
        }
        if (options_.ignore_eof) {
            spdlog::info("end of commands; answering until SIGINT or SIGTERM");
            return;
        }
        spdlog::info("end of commands: stopping");
        say(fmt::format("ok quit t={} {}", clock_ns(CLOCK_REALTIME), counters_text()));
        stop();
    }

    asio::awaitable<void> log_stats() {
        const auto interval = std::chrono::duration_cast<clock_type::duration>(
            std::chrono::duration<double>{options_.stats_interval_s});
        auto next = clock_type::now() + interval;
        while (!tasks_.stopping()) {
            stats_timer_.expires_at(next);
            co_await stats_timer_.async_wait(use_tuple);
            if (tasks_.stopping()) {
                co_return;
            }
            spdlog::info("stats {} {}", counters_text(), rejection_detail());
            next += interval;
        }
    }

    [[nodiscard]] std::string counters_text() const {
        std::string out;
        for (std::size_t i = 0; i < bench::network_count; ++i) {
            if (!options_.fleet.networks[i]) {
                continue;
            }
            const auto n = static_cast<network_id>(i);
            const auto& c = fleet_.counters(n);
            const auto name = bench::to_string(n);
            out += fmt::format(
                "{0}.requests={1} {0}.replies={2} {0}.dropped={3} {0}.delayed={4} "
                "{0}.rejected={5} {0}.send_errors={6} ",
                name, c.requests, c.replies, c.dropped, c.delayed, c.rejected_total(), send_errors_[i]);
            out += spread_[i].text(name) + " ";
        }
        return out + fmt::format("killed={} queued={}", fleet_.killed(), delayed_.size());
    }

    [[nodiscard]] std::string rejection_detail() const {
        std::string out;
        for (std::size_t i = 0; i < bench::network_count; ++i) {
            const auto n = static_cast<network_id>(i);
            const auto& c = fleet_.counters(n);
            if (c.rejected_total() == 0) {
                continue;
            }
            out += fmt::format(" {}: unknown_target={} unknown_source={} not_a_request={}",
                               bench::to_string(n), c.unknown_target, c.unknown_source, c.not_a_request);
            out += mtce::net::describe(c.rejected);
        }
        return out;
    }

    [[nodiscard]] std::string names(const std::vector<std::size_t>& hosts) const {
        constexpr std::size_t shown = 100;  // a driver needs the names of the few hosts it faults
        std::string out;
        for (std::size_t i = 0; i < hosts.size() && i < shown; ++i) {
            out += (i == 0 ? "" : ",") + fleet_.host(hosts[i]).name;
        }
        if (hosts.size() > shown) {
            out += ",...";
        }
        return out;
    }

    [[nodiscard]] static std::string describe(const bench::command& c) {
        switch (c.what) {
        case bench::verb::kill:
            return "kill";
        case bench::verb::freeze:
            return "freeze";
        case bench::verb::thaw:
            return "thaw";
        case bench::verb::drop:
            return fmt::format("drop {}", c.amount);
        case bench::verb::delay:
            return fmt::format("delay {}", c.amount);
        case bench::verb::net:
            return fmt::format("net {} {}", bench::to_string(c.network), c.up ? "up" : "down");
        case bench::verb::stats:
            return "stats";
        case bench::verb::quit:
            return "quit";
        }
        return "?";
    }

    bench::fleet& fleet_;
    const sim_options& options_;
    mtce::task_set& tasks_;
    std::array<std::optional<asio::ip::udp::socket>, bench::network_count> sockets_;
    std::array<std::uint64_t, bench::network_count> send_errors_{};
    std::array<spread_meter, bench::network_count> spread_{};
    std::priority_queue<delayed, std::vector<delayed>, later> delayed_;
    std::uint64_t next_order_ = 0;
    asio::steady_timer delay_timer_;
    asio::steady_timer stats_timer_;
    asio::signal_set signals_;
    asio::posix::stream_descriptor input_;
};

std::vector<std::byte> read_key(const std::string& path) {
    std::ifstream in{path, std::ios::binary};
    if (!in) {
        throw std::runtime_error(fmt::format("cannot read key file '{}'", path));
    }
    const std::string text{std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
    const auto bytes = std::as_bytes(std::span{text.data(), text.size()});
    return {bytes.begin(), bytes.end()};
}

bench::ipv4 address_option(const std::string& text, const std::string& option) {
    const auto a = bench::parse_ipv4(text);
    if (!a) {
        throw CLI::ValidationError(option, "'" + text + "' is not an IPv4 address");
    }
    return *a;
}

/// Fills in what the command line gives as text (addresses, networks) and the boot identity.
void finish_options(sim_options& o, const std::vector<std::string>& controllers, const std::string& networks,
                    const std::array<std::string, 2>& bases, const std::string& boot_tag) {
    o.fleet.controllers.clear();
    for (const auto& c : controllers) {
        o.fleet.controllers.push_back(address_option(c, "--controller"));
    }
    o.fleet.networks = {false, false};
    std::string_view rest = networks;
    while (!rest.empty()) {
        const auto comma = std::min(rest.find(','), rest.size());
        const auto n = bench::parse_network(rest.substr(0, comma));
        if (!n) {
            throw CLI::ValidationError("--networks", "'" + networks + "': give mgmt or mgmt,cluster");
        }
        o.fleet.networks[at(*n)] = true;
        rest.remove_prefix(std::min(comma + 1, rest.size()));
    }
    o.fleet.base = {address_option(bases[0], "--base-mgmt"), address_option(bases[1], "--base-cluster")};
    const auto now_s = clock_ns(CLOCK_REALTIME) / 1'000'000'000U;
    if (boot_tag.empty()) {
        // Like a real host: one boot per machine boot, and a restarted simulator continues its sequences.
        o.fleet.boot_tag = "mtce-fleet-sim";
        o.fleet.boot_time = now_s - clock_ns(CLOCK_BOOTTIME) / 1'000'000'000U;
    } else {
        o.fleet.boot_tag = boot_tag;
        o.fleet.boot_time = now_s;
    }
    o.fleet.first_sequence = clock_ns(CLOCK_BOOTTIME);
}

int run(const sim_options& options) {
    const auto key = read_key(options.key_file);
    bench::fleet fleet{options.fleet, key};
    asio::io_context io{1};
    mtce::task_set tasks{io.get_executor()};
    simulator sim{io.get_executor(), fleet, options, tasks};
    for (const auto& c : options.commands) {
        sim.handle_line(c);
    }
    sim.start();
    std::string nets;
    for (std::size_t n = 0; n < bench::network_count; ++n) {
        if (options.fleet.networks[n]) {
            const auto id = static_cast<network_id>(n);
            nets +=
                fmt::format("{}{}:{}", nets.empty() ? "" : ",", bench::to_string(id), options.pulse_port[n]);
        }
    }
    say(fmt::format("ready t={} hosts={} networks={} first={} last={}", clock_ns(CLOCK_REALTIME),
                    fleet.size(), nets, fleet.size() ? fleet.host(0).name : "-",
                    fleet.size() ? fleet.host(fleet.size() - 1).name : "-"));
    io.run();
    return tasks.failed() ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"Simulates a fleet of hosts answering mtce heartbeat pulses; reads fault commands on stdin.",
                 "mtce-fleet-sim"};
    sim_options o;
    std::vector<std::string> controllers{"127.0.0.1"};
    std::string networks = "mgmt,cluster";
    std::array<std::string, 2> bases{"127.1.0.0", "127.2.0.0"};
    std::string boot_tag;
    app.add_option("--hosts", o.fleet.hosts, "How many hosts to simulate")
        ->required()
        ->check(CLI::Range(1, 99999));
    app.add_option("--prefix", o.fleet.prefix, "Host names are PREFIX plus the index in five digits")
        ->capture_default_str();
    app.add_option("--key-file", o.key_file, "Cluster key (its bytes exactly, as auth.key_file)")->required();
    app.add_option("--controller", controllers, "Address whose pulse requests are answered (repeatable)")
        ->capture_default_str();
    app.add_option("--networks", networks, "mgmt,cluster or mgmt")->capture_default_str();
    app.add_option("--base-mgmt", bases[0], "Host i's mgmt address is this + 1 + i")->capture_default_str();
    app.add_option("--base-cluster", bases[1], "Host i's cluster address is this + 1 + i")
        ->capture_default_str();
    app.add_option("--mgmt-port", o.pulse_port[0], "mgmt pulse_port")->capture_default_str();
    app.add_option("--mgmt-reply-port", o.reply_port[0], "mgmt pulse_reply_port")->capture_default_str();
    app.add_option("--cluster-port", o.pulse_port[1], "cluster pulse_port")->capture_default_str();
    app.add_option("--cluster-reply-port", o.reply_port[1], "cluster pulse_reply_port")
        ->capture_default_str();
    app.add_option("--multicast-group-mgmt", o.multicast_group[0],
                   "Join this group on the mgmt socket: a request to it is for every host");
    app.add_option("--multicast-group-cluster", o.multicast_group[1],
                   "Join this group on the cluster socket: a request to it is for every host");
    app.add_option("--interface-mgmt", o.interface[0], "Interface on which to join the mgmt group");
    app.add_option("--interface-cluster", o.interface[1], "Interface on which to join the cluster group");
    app.add_option("--command", o.commands, "A command to run at start, as on stdin (repeatable)");
    app.add_option("--seed", o.fleet.seed, "Seed for drop decisions and random selections")
        ->capture_default_str();
    app.add_option("--boot-tag", boot_tag, "Boot every host anew now, with boot ids made from this text");
    app.add_option("--stats-interval", o.stats_interval_s, "Seconds between counters on stderr; 0: never")
        ->capture_default_str();
    app.add_flag("--ignore-eof", o.ignore_eof, "Keep answering after the end of standard input");
    app.add_option("--log-level", o.log_level, "trace, debug, info, warn, error")->capture_default_str();
    try {
        app.parse(argc, argv);
        finish_options(o, controllers, networks, bases, boot_tag);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? 0 : 2;
    }
    std::signal(SIGPIPE, SIG_IGN);
    mtce::init_logging(/*foreground=*/true, o.log_level);
    try {
        return run(o);
    } catch (const std::exception& e) {
        spdlog::error("{}", e.what());
        return 1;
    }
}
