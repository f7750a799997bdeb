#define BOOST_TEST_MODULE controller_role_test
#include <chrono>
#include <future>
#include <thread>

#include <asio/co_spawn.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/use_future.hpp>
#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include "api/client.hpp"
#include "core/config.hpp"
#include "core/tasks.hpp"
#include "role.hpp"
#include "scratch.hpp"

// The controller role in one process: its active part (heartbeat monitor, fleet manager, API) stops and
// starts again while its host agent runs on, as a standby controller needs (design §8).

using namespace std::chrono_literals;
using mtce::test::scratch;

namespace {

constexpr const char* api_url = "http://127.61.0.1:2612";

/// The controller's process: a role on an event loop of its own thread.
class controller_process {
public:
    explicit controller_process(const scratch& dir) {
        const auto d = dir.path();
        std::filesystem::create_directories(d / "goenabled.d");
        std::filesystem::create_directories(d / "services.d" / "controller");
        dir.write("key", "0123456789abcdef0123456789abcdef", 0600);
        dir.write("boot_id", "controller-0-boot-1\n");
        const std::string tables =
            "[heartbeat]\nmode = \"unicast\"\n"
            "[network.mgmt]\naddress = \"127.61.0.1\"\nagent_port = 2601\ncontroller_port = 2602\n"
            "pulse_port = 2603\npulse_reply_port = 2604\n"
            "[controller]\nstate_dir = \"" +
            (d / "ctl").string() + "\"\napi_listen = \"127.61.0.1:2612\"\napi_socket = \"" +
            (d / "api.sock").string() + "\"\n";
        auto cfg = mtce::parse_config(
            mtce::test::host_config(d, "controller-0",
                                    "controllers = [\"127.61.0.1\"]\ndrain_timeout = \"2s\"",
                                    "mtcalive_period = \"1s\"", tables),
            "controller-0.toml", mtce::role::controller);
        if (!cfg) {
            throw std::runtime_error{cfg.error().front().to_string()};
        }
        store_ =
            std::make_unique<mtce::config_store>(d / "mtce.toml", mtce::role::controller, std::move(*cfg));
        tasks_ = std::make_unique<mtce::task_set>(io_.get_executor());
        ctx_ = std::make_unique<mtce::roles::role_context>(mtce::roles::role_context{
            io_.get_executor(), *store_, *tasks_, "0123456789abcdef0123456789abcdef"});
        auto started = mtce::roles::start(mtce::role::controller, *ctx_);
        if (!started) {
            throw std::runtime_error{started.error()};
        }
        role_ = std::move(*started);
        thread_ = std::thread{[this] { io_.run(); }};
    }

    ~controller_process() {
        on_loop([this] { tasks_->request_stop(); });
        auto drained = asio::co_spawn(io_, tasks_->drained_within(10s), asio::use_future);
        (void)drained.wait_for(15s);
        on_loop([this] { role_.reset(); });
        work_.reset();
        io_.stop();
        thread_.join();
    }

    /// Runs `f` on the loop and waits for it.
    template <class F>
    auto on_loop(F f) -> decltype(f()) {
        std::packaged_task<decltype(f())()> task{std::move(f)};
        auto done = task.get_future();
        asio::post(io_, [&task] { task(); });
        return done.get();
    }

    void stop_active() {
        auto done = asio::co_spawn(io_, role_->stop_active(), asio::use_future);
        BOOST_REQUIRE(done.wait_for(20s) == std::future_status::ready);
        done.get();
    }
    void start_active() {
        on_loop([this] { role_->start_active(); });
    }
    [[nodiscard]] bool active() {
        return on_loop([this] { return role_->active(); });
    }
    [[nodiscard]] std::size_t tasks_running() {
        return on_loop([this] { return tasks_->running(); });
    }
    [[nodiscard]] bool stopping() {
        return on_loop([this] { return tasks_->stopping(); });
    }

private:
    asio::io_context io_{1};
    /// The loop runs until the end of the test, also once the role's tasks have ended: on_loop() needs it.
    asio::executor_work_guard<asio::io_context::executor_type> work_{io_.get_executor()};
    std::unique_ptr<mtce::config_store> store_;
    std::unique_ptr<mtce::task_set> tasks_;
    std::unique_ptr<mtce::roles::role_context> ctx_;
    std::unique_ptr<mtce::roles::running_role> role_;
    std::thread thread_;
};

/// The API's host list, once it answers (within `limit`); empty when it never does.
std::optional<nlohmann::json> hosts_within(std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    do {
        auto r = mtce::api::get(api_url, "/v1/hosts", 2s);
        if (r && r->status == 200) {
            return nlohmann::json::parse(r->body);
        }
        std::this_thread::sleep_for(100ms);
    } while (std::chrono::steady_clock::now() < deadline);
    return std::nullopt;
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_active_part_stops_and_starts_again_while_the_host_agent_runs_on) {
    scratch dir;
    controller_process c{dir};
    auto hosts = hosts_within(20s);
    BOOST_REQUIRE(hosts.has_value());
    BOOST_REQUIRE(hosts->size() == 1U);
    BOOST_TEST((*hosts)[0]["name"] == "controller-0");
    BOOST_TEST(c.active());
    const auto with_active = c.tasks_running();

    c.stop_active();
    BOOST_TEST(!c.active());
    // The API is gone; the host agent's tasks run on, and the daemon is not stopping.
    const auto after = mtce::api::get(api_url, "/v1/health", 2s);
    BOOST_TEST(!after.has_value());
    BOOST_TEST(!c.stopping());
    BOOST_TEST(c.tasks_running() == with_active);  // the components' tasks are their own, not the process's
    BOOST_TEST(c.tasks_running() > 1U);
    // The agent's run directory is still there (its reports are checked once a fleet listens again).
    BOOST_TEST(std::filesystem::exists(dir.path() / "run"));

    c.start_active();
    BOOST_TEST(c.active());
    hosts = hosts_within(20s);
    BOOST_REQUIRE(hosts.has_value());
    BOOST_REQUIRE(hosts->size() == 1U);
    BOOST_TEST((*hosts)[0]["name"] == "controller-0");
    BOOST_TEST((*hosts)[0]["administrative"] == "locked");
    // The host agent kept running through it all: the new fleet manager hears its mtcAlive.
    bool heard = false;
    for (int i = 0; i < 100 && !heard; ++i) {
        const auto doc = mtce::api::get(api_url, "/v1/hosts/controller-0", 2s);
        heard = doc && doc->status == 200 && !nlohmann::json::parse(doc->body)["last_mtcalive_s"].is_null();
        if (!heard) {
            std::this_thread::sleep_for(100ms);
        }
    }
    BOOST_TEST(heard);
}
