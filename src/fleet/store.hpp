#pragma once

// The inventory on its own thread: SQLite commits wait for the disk (synchronous=FULL), and the event loop
// must never wait with them (style §8: blocking syscalls go to a small pool). Every call runs on one
// thread, in the order made, so writes for one host land in the order the loop issued them. Internal to
// src/fleet.

#include <exception>
#include <functional>
#include <type_traits>
#include <utility>

#include <asio/any_io_executor.hpp>
#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/post.hpp>
#include <asio/thread_pool.hpp>
#include <asio/use_awaitable.hpp>

#include "fleet/inventory.hpp"

namespace mtce::fleet {

class store {
public:
    explicit store(inventory db) : db_{std::move(db)} {}
    /// Waits for every call already made (a write accepted is a write done), then closes the database.
    ~store() { pool_.join(); }
    store(const store&) = delete;
    store& operator=(const store&) = delete;

    /// Runs `f(inventory&)` on the store's thread and resumes the caller on its own executor with the
    /// result (a tl::expected<..., store_error>). Not cancellable: the write is made even if the caller has
    /// gone; a caller that is cancelled meanwhile sees the cancellation at its next await.
    template <class F>
    auto call(F f) -> asio::awaitable<std::invoke_result_t<F&, inventory&>> {
        using result = std::invoke_result_t<F&, inventory&>;
        return asio::async_initiate<const asio::use_awaitable_t<>&, void(result)>(
            [this](auto handler, F fn) {
                asio::post(pool_, [this, fn = std::move(fn), handler = std::move(handler)]() mutable {
                    auto r = run(fn);
                    auto ex = asio::get_associated_executor(handler);
                    asio::post(ex, [handler = std::move(handler), r = std::move(r)]() mutable {
                        std::move(handler)(std::move(r));
                    });
                });
            },
            asio::use_awaitable, std::move(f));
    }

    /// Runs `f(inventory&)` on the store's thread without waiting; `done(result)` is then called on `loop`.
    template <class F, class Done>
    void post(F f, asio::any_io_executor loop, Done done) {
        asio::post(pool_, [this, f = std::move(f), loop, done = std::move(done)]() mutable {
            auto r = run(f);
            asio::post(loop, [done = std::move(done), r = std::move(r)]() mutable { done(std::move(r)); });
        });
    }

private:
    template <class F>
    auto run(F& f) -> std::invoke_result_t<F&, inventory&> {
        try {
            return f(db_);
        } catch (const std::exception& e) {
            return tl::unexpected{store_error{store_errc::other, {}, e.what()}};
        }
    }

    inventory db_;
    asio::thread_pool pool_{1};
};

}  // namespace mtce::fleet
