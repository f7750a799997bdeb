#define BOOST_TEST_MODULE controller_role_test
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <sys/stat.h>

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
#include "process.hpp"
#include "role.hpp"
#include "scratch.hpp"

// The controller role in one process: its active part (heartbeat monitor, fleet manager, API) stops and
// starts again while its host agent runs on, as a standby controller needs (design §8).

using namespace std::chrono_literals;
using mtce::test::scratch;

namespace {

constexpr const char* api_url = "http://127.61.0.1:2612";

/// The configuration of this test's controller; `controller_keys`: more lines for its [controller] table.
std::string config_text(const scratch& dir, const std::string& controller_keys) {
    const auto d = dir.path();
    const std::string tables =
        "[heartbeat]\nmode = \"unicast\"\n"
        "[network.mgmt]\naddress = \"127.61.0.1\"\nagent_port = 2601\ncontroller_port = 2602\n"
        "pulse_port = 2603\npulse_reply_port = 2604\n"
        "[controller]\nstate_dir = \"" +
        (d / "ctl").string() + "\"\napi_listen = \"127.61.0.1:2612\"\napi_socket = \"" +
        (d / "api.sock").string() + "\"\nbmc_key_file = \"" + (d / "bmc.key").string() + "\"\n" +
        controller_keys;
    return mtce::test::host_config(d, "controller-0",
                                   "controllers = [\"127.61.0.1\"]\ndrain_timeout = \"2s\"",
                                   "mtcalive_period = \"1s\"", tables);
}

/// The controller's process: a role on an event loop of its own thread.
class controller_process {
public:
    /// `controller_keys`: more lines for the [controller] table.
    explicit controller_process(const scratch& dir, const std::string& controller_keys = "") {
        const auto d = dir.path();
        std::filesystem::create_directories(d / "goenabled.d");
        std::filesystem::create_directories(d / "services.d" / "controller");
        dir.write("key", "0123456789abcdef0123456789abcdef", 0600);
        dir.write("boot_id", "controller-0-boot-1\n");
        auto cfg = mtce::parse_config(config_text(dir, controller_keys), "controller-0.toml",
                                      mtce::role::controller);
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

/// Why `mtce agent --role controller` refused to start (its standard error), or "" if it did not exit 1.
std::string refusal(const scratch& dir, const std::string& controller_keys = "") {
    const auto d = dir.path();
    std::filesystem::create_directories(d / "goenabled.d");
    std::filesystem::create_directories(d / "services.d" / "controller");
    dir.write("key", "0123456789abcdef0123456789abcdef", 0600);
    dir.write("boot_id", "controller-0-boot-1\n");
    const auto file = dir.write("mtce.toml", config_text(dir, controller_keys), 0600);
    const auto r = mtce::test::run_command(
        {MTCE_BINARY, "agent", "--role", "controller", "--config", file.string(), "--foreground"}, d, 30s);
    return r.exit_code == 1 ? r.err : std::string{};
}

}  // namespace

BOOST_AUTO_TEST_CASE(an_api_token_file_others_can_read_stops_the_controller_with_the_fix) {
    scratch dir;
    const auto token = dir.write("api.token", "s3cret-token\n", 0644);
    const auto why = refusal(dir, "api_token_file = \"" + token.string() + "\"\n");
    BOOST_TEST(why.find("'" + token.string() + "' is readable by others (mode 0644); run: chmod 600 '" +
                        token.string() + "'") != std::string::npos,
               why);
}

BOOST_AUTO_TEST_CASE(an_api_that_cannot_listen_stops_the_controller_in_order_with_the_reason) {
    // The heartbeat monitor and the fleet run already when the API fails to bind: they are stopped in
    // order and the daemon exits 1 with the reason (it used to abort, destroying their running tasks).
    const int busy = ::socket(AF_INET, SOCK_STREAM, 0);
    BOOST_REQUIRE(busy >= 0);
    sockaddr_in where{};
    where.sin_family = AF_INET;
    where.sin_port = htons(2612);
    ::inet_pton(AF_INET, "127.61.0.1", &where.sin_addr);
    const int one = 1;
    ::setsockopt(busy, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    BOOST_REQUIRE(::bind(busy, reinterpret_cast<const sockaddr*>(&where), sizeof where) == 0);
    BOOST_REQUIRE(::listen(busy, 1) == 0);
    scratch dir;
    const auto why = refusal(dir);
    ::close(busy);
    BOOST_TEST(why.find("api: ") != std::string::npos, why);
    BOOST_TEST(why.find("Assertion") == std::string::npos, why);
}

BOOST_AUTO_TEST_CASE(a_state_directory_others_can_write_stops_the_controller_with_the_fix) {
    scratch dir;
    const auto state = dir.path() / "ctl";
    std::filesystem::create_directories(state);
    ::chmod(state.c_str(), 0777);
    const auto why = refusal(dir);
    BOOST_TEST(why.find("'" + state.string() + "' can be written by others (mode 0777); run: chmod 700 '" +
                        state.string() + "'") != std::string::npos,
               why);
    BOOST_TEST(!std::filesystem::exists(state / "inventory.db"));
}

BOOST_AUTO_TEST_CASE(an_empty_inventory_stops_the_controller_and_is_left_as_it_is) {
    scratch dir;
    const auto state = dir.path() / "ctl";
    std::filesystem::create_directories(state);
    ::chmod(state.c_str(), 0700);
    const auto db = dir.write("ctl/inventory.db", "", 0600);
    const auto why = refusal(dir);
    BOOST_TEST(why.find("'" + db.string() + "' is empty") != std::string::npos, why);
    BOOST_TEST(std::filesystem::file_size(db) == 0U);
    BOOST_TEST(!std::filesystem::exists(state / "inventory.db-wal"));
}

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
