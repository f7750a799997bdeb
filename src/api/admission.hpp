#pragma once

// Which connections the REST API serves, and the record of those it refuses (design §3.4). Sans-io: the
// server asks before serving a connection and says when it ends; no clock is read here.

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace mtce::api {

/// Why a connection or request was refused or cut off, as counted in /metrics.
enum class refusal_kind : std::uint8_t {
    server_full,       ///< controller.api_max_connections were open
    client_full,       ///< the client (address, or user on the local socket) had its share open
    peer_credentials,  ///< a local socket peer that is not root, the daemon's user or in api_socket_group
    timed_out,         ///< no complete request within controller.api_client_timeout
    access,            ///< a request refused by check_request() (Host, Origin, content type, token)
};
inline constexpr std::size_t refusal_kinds = 5;

/// The label value of `k` in /metrics ("server_full", ...).
[[nodiscard]] std::string_view to_string(refusal_kind k);

/// Counts open connections in total and per client, and decides whether one more is served: at most
/// `max_connections` in all and `per_client` for one client. A client is a key the server chooses (the peer's
/// address on TCP, its user on the local socket). Memory: one map entry per client with a connection open.
/// Not thread-safe.
class admission {
public:
    admission(std::size_t max_connections, std::size_t per_client);

    /// Counts a new connection of `client` and returns nullopt if it may be served; otherwise counts nothing
    /// and returns why not (server_full before client_full).
    [[nodiscard]] std::optional<refusal_kind> admit(const std::string& client);
    /// The end of a connection admit() let in.
    void release(const std::string& client);

    [[nodiscard]] std::size_t open() const { return open_; }
    [[nodiscard]] std::size_t open_by(const std::string& client) const;

private:
    std::size_t max_;
    std::size_t per_client_;
    std::size_t open_ = 0;
    std::map<std::string, std::size_t, std::less<>> by_client_;
};

/// Refusals counted by kind, and logged at a rate limit: the first of a kind is logged at once, then at
/// most one line per `interval` for that kind, saying how many were not. Not thread-safe.
class refusal_record {
public:
    using clock_type = std::chrono::steady_clock;

    explicit refusal_record(clock_type::duration interval = std::chrono::seconds{10}) : interval_{interval} {}

    /// Counts one refusal at `now`. Returns, when a line should be logged now, how many refusals of this kind
    /// went unlogged before this one (0 for the first).
    [[nodiscard]] std::optional<std::uint64_t> count(refusal_kind k, clock_type::time_point now);

    [[nodiscard]] std::uint64_t total(refusal_kind k) const { return kinds_[index(k)].total; }

    /// The Prometheus lines: mtce_api_connections (gauge, `open`) and mtce_api_refused_total{reason=...}
    /// for every kind.
    [[nodiscard]] std::string metrics(std::size_t open) const;

private:
    struct per_kind {
        std::uint64_t total = 0;
        std::uint64_t unlogged = 0;
        std::optional<clock_type::time_point> logged;
    };
    static std::size_t index(refusal_kind k) { return static_cast<std::size_t>(k); }

    clock_type::duration interval_;
    std::array<per_kind, refusal_kinds> kinds_{};
};

}  // namespace mtce::api
