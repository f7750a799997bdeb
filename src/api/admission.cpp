#include "api/admission.hpp"

#include <fmt/format.h>

namespace mtce::api {

std::string_view to_string(refusal_kind k) {
    switch (k) {
    case refusal_kind::server_full:
        return "server_full";
    case refusal_kind::client_full:
        return "client_full";
    case refusal_kind::peer_credentials:
        return "peer_credentials";
    case refusal_kind::timed_out:
        return "timed_out";
    case refusal_kind::access:
        return "access";
    }
    return "unknown";
}

admission::admission(std::size_t max_connections, std::size_t per_client)
    : max_{max_connections}, per_client_{per_client} {}

std::optional<refusal_kind> admission::admit(const std::string& client) {
    if (open_ >= max_) {
        return refusal_kind::server_full;
    }
    auto& mine = by_client_[client];
    if (mine >= per_client_) {
        if (mine == 0) {
            by_client_.erase(client);
        }
        return refusal_kind::client_full;
    }
    ++mine;
    ++open_;
    return std::nullopt;
}

void admission::release(const std::string& client) {
    const auto it = by_client_.find(client);
    if (it == by_client_.end()) {
        return;
    }
    --open_;
    if (--it->second == 0) {
        by_client_.erase(it);
    }
}

std::size_t admission::open_by(const std::string& client) const {
    const auto it = by_client_.find(client);
    return it == by_client_.end() ? 0 : it->second;
}

std::optional<std::uint64_t> refusal_record::count(refusal_kind k, clock_type::time_point now) {
    auto& r = kinds_[index(k)];
    ++r.total;
    if (r.logged && now - *r.logged < interval_) {
        ++r.unlogged;
        return std::nullopt;
    }
    r.logged = now;
    const auto before = r.unlogged;
    r.unlogged = 0;
    return before;
}

std::string refusal_record::metrics(std::size_t open) const {
    std::string out =
        "# HELP mtce_api_connections API connections being served.\n"
        "# TYPE mtce_api_connections gauge\n";
    out += fmt::format("mtce_api_connections {}\n", open);
    out +=
        "# HELP mtce_api_refused_total API connections and requests refused or cut off, by reason.\n"
        "# TYPE mtce_api_refused_total counter\n";
    for (std::size_t i = 0; i < refusal_kinds; ++i) {
        out += fmt::format("mtce_api_refused_total{{reason=\"{}\"}} {}\n",
                           to_string(static_cast<refusal_kind>(i)), kinds_[i].total);
    }
    return out;
}

}  // namespace mtce::api
