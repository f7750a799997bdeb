#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <asio/awaitable.hpp>
#include <asio/ip/address.hpp>
#include <asio/ip/udp.hpp>
#include <asio/steady_timer.hpp>

#include "core/config.hpp"
#include "core/tasks.hpp"
#include "net/message.hpp"
#include "net/payloads.hpp"
#include "net/wire.hpp"

namespace mtce::host {

class host_agent;

/// What the mtcAlive flags are computed from: which flag files of this boot exist, and the lock.
struct alive_inputs {
    bool goenabled = false;              ///< goenabled
    bool goenabled_failed = false;       ///< goenabled_failed
    bool goenabled_subf = false;         ///< goenabled_subf
    bool goenabled_subf_failed = false;  ///< goenabled_subf_failed
    bool services_started = false;       ///< services_<main function>
    bool services_failed = false;        ///< services_<main function>_failed
    bool services_subf_started = false;  ///< services_worker (all-in-one)
    bool services_subf_failed = false;   ///< services_worker_failed (all-in-one)
    bool locked = false;
    bool has_worker_subfunction = false;
    bool subfunction_configured = false;  ///< host.subfunction_config_marker exists
    bool config_failed = false;           ///< <run_dir>/config_failed: the platform's configuration failed
    bool luks_failed = false;             ///< <run_dir>/luks_failed: the encrypted volume is not active
};

/// The net::alive_flags bits for `in`. Pure.
///
/// configured is set unless the platform's configuration says it failed (then not_healthy too); locked
/// mirrors the lock; the goenabled and services bits mirror their flag files, the subfunction ones only on an
/// all-in-one host; luks_failed mirrors its file. healthy once the main self-tests passed and nothing failed;
/// not_healthy as soon as anything failed; neither while the self-tests have not finished.
[[nodiscard]] std::uint32_t compute_alive_flags(const alive_inputs& in);

/// The texts of the failure flag files of this boot; nullopt where the file does not exist.
struct failure_texts {
    std::optional<std::string> goenabled_failed;       ///< goenabled_failed
    std::optional<std::string> goenabled_subf_failed;  ///< goenabled_subf_failed (all-in-one)
    std::optional<std::string> services_failed;        ///< services_<main function>_failed
    std::optional<std::string> services_subf_failed;   ///< services_worker_failed (all-in-one)
    std::optional<std::string> config_failed;          ///< config_failed
    bool has_worker_subfunction = false;
};

/// mtcAlive's `failure`: the `reason=` line (or, for the configuration, the first line) of the first failure
/// file that exists, in the order of failure_texts (self-tests before services, main function before
/// subfunction, the configuration last; the subfunction's files only on an all-in-one host, as for the
/// flags). A file without a reason line gives a generic text ("host
/// services failed"). Empty when no file exists. Pure.
[[nodiscard]] std::string failure_reason(const failure_texts& in);

/// Sends mtcAlive to every controller on every provisioned network, every `host.mtcalive_period`, and at
/// once when the flags change (the host agent tells it when it writes a flag or changes the lock).
/// Not thread-safe: lives on the event loop's thread.
class mtc_alive_sender {
public:
    /// Opens one sending socket per provisioned network; throws std::system_error if one cannot be bound.
    mtc_alive_sender(const asio::any_io_executor& ex, config_store& config, host_agent& agent,
                     net::wire_sender& wire, std::vector<asio::ip::address> controllers);

    /// Sends until the tasks are asked to stop.
    asio::awaitable<void> run(task_set& tasks);

    /// The flags may have changed: send now if they did.
    void flags_may_have_changed();

    /// Sends one report on every network now (a controller asked for it), without waiting for the period.
    void send_now() { send(); }

    [[nodiscard]] std::uint32_t current_flags() const;

    /// Where each report's `drops` come from: everything the agent dropped since it started, by reason.
    void set_drop_source(std::function<std::map<std::string, std::uint64_t>()> source) {
        drop_source_ = std::move(source);
    }

private:
    void send();
    [[nodiscard]] std::string current_failure() const;

    config_store& config_;
    host_agent& agent_;
    net::wire_sender& wire_;
    std::vector<asio::ip::address> controllers_;
    std::function<std::map<std::string, std::uint64_t>()> drop_source_;
    std::vector<std::pair<network_config, asio::ip::udp::socket>> sockets_;
    asio::steady_timer next_;
    std::uint32_t sent_flags_ = 0;
    bool sent_once_ = false;
    std::array<std::byte, net::max_datagram_size> out_{};
};

}  // namespace mtce::host
