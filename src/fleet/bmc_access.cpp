#include "fleet/bmc_access.hpp"

#include <asio/this_coro.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "fleet/bmc_policy.hpp"
#include "fleet/host_slot.hpp"

namespace mtce::fleet {

namespace {

asio::awaitable<bool> cancelled() {
    auto state = co_await asio::this_coro::cancellation_state;
    co_return state.cancelled() != asio::cancellation_type::none;
}

}  // namespace

bmc::endpoint bmc_access::endpoint_of(const host_record& h) const {
    bmc::endpoint e;
    if (auto where = split_bmc_address(h.spec.bmc.address)) {
        e.address = where->first;
        e.port = where->second;
    } else {
        e.address = h.spec.bmc.address;
    }
    e.username = h.spec.bmc.username;
    e.password = h.bmc_password;
    e.verify_tls = h.spec.bmc.verify_tls;
    return e;
}

template <class T, class Op>
asio::awaitable<bmc::result<T>> bmc_access::call(host_slot& h, Op op) {
    (void)co_await acquire(h, time_point::max());
    const bmc_lease lease{h};  // frees the BMC however the exchange ends, cancelled or not
    auto ready = co_await ensure(h);
    if (!ready) {
        record(h, &ready.error());
        co_return tl::unexpected{ready.error()};
    }
    auto r = co_await op(*h.driver());
    record(h, r ? nullptr : &r.error());
    co_return r;
}

asio::awaitable<bool> bmc_access::acquire(host_slot& h, time_point deadline) {
    auto& rec = h.host();
    auto free_now = [&rec] { return !rec.bmc_busy; };
    const bool free = co_await wait_until(h, free_now, deadline);
    if (free) {
        rec.bmc_busy = true;
    }
    co_return free;
}

void bmc_access::record(host_slot& h, const bmc::error* failed) {
    const auto cfg = settings_.current();
    auto& rec = h.host();
    const auto now = h.now();
    if (failed == nullptr) {
        record_success(rec.bmc_state, now, cfg->bmc);
        ++operations_["ok"];
    } else {
        if (rec.bmc_state.accessible || rec.bmc_state.last_error != failed->message) {
            spdlog::warn("host {}: BMC: {}", rec.spec.name, failed->message);
        }
        record_failure(rec.bmc_state, now, cfg->bmc, failed->message);
        ++operations_[std::string{to_string(failed->code)}];
    }
    h.update_alarms();
    h.notify_bmc();
}

asio::awaitable<bmc::result<void>> bmc_access::ensure(host_slot& h) {
    auto& rec = h.host();
    if (!rec.has_bmc()) {
        co_return tl::unexpected{bmc::error{bmc::errc::unsupported, 0, "the host has no BMC provisioned"}};
    }
    if (!make_driver_) {
        co_return tl::unexpected{bmc::error{bmc::errc::unsupported, 0, "this controller cannot reach BMCs"}};
    }
    // A quarantined BMC is audited less often (bmc_policy); an operation a person asked for still tries it.
    auto& driver = h.driver();
    if (driver && rec.bmc_state.accessible) {
        co_return bmc::result<void>{};
    }
    const auto cfg = settings_.current();
    const bmc::timing timing{cfg->bmc.request_timeout, cfg->bmc.retries, cfg->bmc.backoff};
    const auto where = endpoint_of(rec);
    bmc::error last{bmc::errc::unsupported, 0, "no protocol to try"};
    auto protocols = driver ? std::vector<std::string>{std::string{driver->protocol()}}
                            : protocols_to_try(rec.spec.bmc.type, rec.bmc_protocol);
    // The driver it has is probed again (it may have lost its session); another protocol gets a new one.
    std::unique_ptr<bmc::driver> known;
    known.swap(driver);
    for (const auto& protocol : protocols) {
        std::unique_ptr<bmc::driver> candidate;
        if (known && known->protocol() == protocol) {
            candidate.swap(known);
        } else {
            candidate = make_driver_(protocol, where, timing);
        }
        if (!candidate) {
            last = {bmc::errc::unsupported, 0, fmt::format("this controller cannot speak {}", protocol)};
            continue;
        }
        auto caps = co_await candidate->probe();
        if (!caps) {
            last = caps.error();
            last.message = fmt::format("{}: {}", protocol, last.message);
            continue;
        }
        driver = std::move(candidate);
        rec.bmc_caps = std::move(*caps);
        if (rec.bmc_protocol != protocol) {
            spdlog::info("host {}: BMC at {} speaks {}", rec.spec.name, rec.spec.bmc.address, protocol);
            h.log_event("bmc", fmt::format("the BMC speaks {}", protocol));
            rec.bmc_protocol = protocol;
            h.save();
        }
        co_return bmc::result<void>{};
    }
    co_return tl::unexpected{last};
}

asio::awaitable<bmc::result<bmc::power_state>> bmc_access::power(host_slot& h) {
    auto r = co_await call<bmc::power_state>(h, [](bmc::driver& d) { return d.power(); });
    if (r) {
        h.host().bmc_state.power = *r;
    }
    co_return r;
}

asio::awaitable<bmc::result<void>> bmc_access::act(host_slot& h, bmc_request request) {
    switch (request) {
    case bmc_request::power_on:
        co_return co_await call<void>(h, [](bmc::driver& d) { return d.power_on(); });
    case bmc_request::power_off:
        co_return co_await call<void>(h, [](bmc::driver& d) { return d.power_off(); });
    case bmc_request::power_cycle:
        co_return co_await call<void>(h, [](bmc::driver& d) { return d.power_cycle(); });
    case bmc_request::reset:
        co_return co_await call<void>(h, [](bmc::driver& d) { return d.reset(); });
    case bmc_request::boot_pxe_once:
        break;
    }
    co_return co_await call<void>(h, [](bmc::driver& d) { return d.boot_pxe_once(); });
}

void bmc_access::apply_power(host_slot& h) {
    auto& rec = h.host();
    const auto power = rec.bmc_state.power;
    const bool idle = rec.running == job_kind::none;
    const bool locked_disabled = rec.locked() && !rec.enabled();
    if (power == bmc::power_state::off && rec.states.availability != avail_state::power_off &&
        (idle || locked_disabled) && !rec.self) {
        if (!rec.locked()) {
            // An unlocked host that is off is out of service: its enable powers it on again.
            h.stop_heartbeat();
            rec.retry_at.reset();
            h.set_task("Powered Off");
        }
        set_oper_avail(h, oper_state::disabled, avail_state::power_off, "its BMC reports the power off");
    } else if (power == bmc::power_state::on && rec.states.availability == avail_state::power_off &&
               locked_disabled) {
        set_oper_avail(h, oper_state::disabled, avail_state::offline, "its BMC reports the power on");
    }
}

asio::awaitable<void> bmc_access::audit(host_slot& h) {
    auto& rec = h.host();
    for (;;) {
        const auto cfg = settings_.current();
        const auto now = h.now();
        // Wake for the audit, and for the moment the access alarm becomes due.
        auto wake = rec.bmc_state.next_audit;
        if (rec.bmc_state.unreachable_since && !access_alarm(rec.bmc_state, now, cfg->bmc)) {
            wake = std::min(wake, *rec.bmc_state.unreachable_since + cfg->bmc.access_alarm_delay);
        }
        if (now < wake) {
            co_await h.bmc_changed().wait(wake);
            const bool stop = co_await cancelled();
            if (stop) {
                co_return;
            }
            // The access alarm falls due with time alone.
            const bool due = access_alarm(rec.bmc_state, h.now(), cfg->bmc);
            if (due != rec.bmc_alarm) {
                h.update_alarms();
            }
            continue;
        }
        (void)co_await power(h);
        apply_power(h);
        if (rec.bmc_state.next_audit <= h.now()) {
            // Audits are off and nothing moved the next one: wait for a change.
            rec.bmc_state.next_audit = time_point::max();
        }
    }
}

}  // namespace mtce::fleet
