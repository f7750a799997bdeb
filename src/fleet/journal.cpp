#include "fleet/journal.hpp"

#include <algorithm>
#include <chrono>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace mtce::fleet {

std::int64_t wall_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

host_row row_of(const host_record& h) {
    host_row row{h.spec, h.states, h.task, h.action, h.cause, wall_ms(), h.bmc_protocol};
    row.failure_counts = h.failure_counts;
    if (h.being_saved) {
        row.states.administrative = h.being_saved->administrative;
        row.action = h.being_saved->action;
    }
    return row;
}

void journal::open(inventory db, std::vector<alarm_row> alarms, std::vector<event_row> recent) {
    db_ = std::make_unique<store>(std::move(db));
    for (auto& a : alarms) {
        auto key = std::pair{a.host, a.alarm_id};
        alarms_.emplace(std::move(key), std::move(a));
    }
    for (auto& e : recent) {
        next_event_ = std::max(next_event_, e.id + 1);
        events_.push_back(std::move(e));
    }
}

void journal::count_failure(const tl::expected<void, store_error>& r) {
    if (!r) {
        ++store_failures_;
    }
}

void journal::log_event(std::string_view host, std::string_view kind, std::string text) {
    event_row e{next_event_++, wall_ms(), std::string{host}, std::string{kind}, std::move(text)};
    if (db_) {
        db_->post([e](inventory& inv) { return inv.record_event(e); }, ex_,
                  [alive = std::weak_ptr<journal*>{self_}](tl::expected<void, store_error> r) {
                      auto self = alive.lock();
                      if (!self) {
                          return;
                      }
                      if (!r) {
                          ++(*self)->store_failures_;
                          spdlog::warn("cannot save an event: {}", r.error().message);
                      }
                  });
    }
    events_.push_back(std::move(e));
    while (events_.size() > event_window) {
        events_.pop_front();
    }
}

void journal::set_alarms(std::string_view host, const std::vector<alarm>& wanted) {
    const std::string name{host};
    // Clear what is no longer wanted.
    for (auto it = alarms_.lower_bound({name, {}}); it != alarms_.end() && it->first.first == name;) {
        const bool keep = std::any_of(wanted.begin(), wanted.end(),
                                      [&](const alarm& a) { return a.id == it->first.second; });
        if (keep) {
            ++it;
            continue;
        }
        log_event(name, "alarm", fmt::format("cleared {}: {}", it->second.alarm_id, it->second.reason));
        if (db_) {
            db_->post(
                [host = name, id = it->second.alarm_id](inventory& inv) { return inv.clear_alarm(host, id); },
                ex_,
                [alive = std::weak_ptr<journal*>{self_}](const tl::expected<void, store_error>& r) {
                    if (auto self = alive.lock()) {
                        (*self)->count_failure(r);
                    }
                });
        }
        it = alarms_.erase(it);
    }
    for (const auto& a : wanted) {
        const auto key = std::pair{name, a.id};
        auto it = alarms_.find(key);
        if (it != alarms_.end() && it->second.severity == a.severity && it->second.reason == a.reason) {
            continue;
        }
        alarm_row row{name, a.id, a.severity, a.reason,
                      it == alarms_.end() ? wall_ms() : it->second.since_ms};
        log_event(name, "alarm", fmt::format("raised {} {}: {}", a.id, a.severity, a.reason));
        alarms_[key] = row;
        if (db_) {
            db_->post([row](inventory& inv) { return inv.set_alarm(row); }, ex_,
                      [alive = std::weak_ptr<journal*>{self_}](const tl::expected<void, store_error>& r) {
                          if (auto self = alive.lock()) {
                              (*self)->count_failure(r);
                          }
                      });
        }
    }
}

void journal::forget_alarms(std::string_view host) {
    const std::string name{host};
    for (auto it = alarms_.lower_bound({name, {}}); it != alarms_.end() && it->first.first == name;) {
        it = alarms_.erase(it);
    }
}

void journal::save(const host_record& h) {
    if (!db_) {
        return;
    }
    db_->post(
        [row = row_of(h)](inventory& inv) { return inv.update_host(row); }, ex_,
        [alive = std::weak_ptr<journal*>{self_}, name = h.spec.name](tl::expected<void, store_error> r) {
            auto self = alive.lock();
            if (!self) {
                return;  // the fleet stopped meanwhile; the row was written or is lost with it
            }
            auto& j = **self;
            if (r) {
                j.unsaved_.erase(name);
                return;
            }
            ++j.store_failures_;
            if (j.unsaved_.insert(name).second) {
                spdlog::error("host {}: cannot save its state, kept in memory and saved again later: {}",
                              name, r.error().message);
            }
        });
}

void journal::retry_unsaved(const std::function<const host_record*(std::string_view)>& find) {
    // Writes that failed (a full disk, a locked database) are made again until they succeed.
    for (const auto& name : std::vector<std::string>{unsaved_.begin(), unsaved_.end()}) {
        if (const auto* h = find(name)) {
            save(*h);
        } else {
            unsaved_.erase(name);
        }
    }
}

}  // namespace mtce::fleet
