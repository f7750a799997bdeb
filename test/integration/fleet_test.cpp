#define BOOST_TEST_MODULE fleet_test
// The fleet manager end to end on loopback: a real controller and real host agents, each on its own 127.x
// addresses with its own directories, driven through the real `mtce` command line. A host "reboots" by
// running its host.reboot_command, which asks this test to restart its agent with a new boot identity.
#include "cluster.hpp"

using namespace std::chrono_literals;
using mtce::test::cluster;
using mtce::test::contains;
using mtce::test::with;
using nlohmann::json;

BOOST_AUTO_TEST_CASE(this_controller_adds_itself_locked) {
    cluster c;
    BOOST_REQUIRE(c.wait("controller-0", "locked-disabled-online", 30s));
    const auto doc = c.show("controller-0");
    BOOST_TEST(doc.value("this_controller", false));
    BOOST_TEST(doc.value("management", "") == "managed");
    BOOST_TEST(doc["auto_recovery_disabled"] == false);
    BOOST_TEST(doc["autorecovery"] == json({{"cause", "none"}, {"count", 0}}));

    // Whatever mode the fleet policy is in (a controller that booted moments ago may be in Dead Office
    // Recovery), the system view names it and lists this controller as itself.
    const auto r = c.run({"system", "show", "--json"});
    BOOST_TEST_INFO(r.out << r.err);
    BOOST_REQUIRE(r.exit_code == 0);
    const auto system = json::parse(r.out);
    BOOST_TEST((system["mode"] == "normal" || system["mode"] == "dor" || system["mode"] == "mnfa"));
    BOOST_TEST(system["mnfa"]["networks"] == json({{"mgmt", 0}, {"cluster", 0}}));
    BOOST_TEST(system["dor"]["total"] == system["dor"]["hosts"].size());
    BOOST_TEST(
        system["controllers"] ==
        json::array({{{"name", "controller-0"}, {"state", "locked-disabled-online"}, {"self", true}}}));
    const auto text = c.run({"system", "show"});
    BOOST_TEST(text.exit_code == 0);
    BOOST_TEST(contains(text.out, "controllers: controller-0  locked-disabled-online  (this controller)\n"),
               text.out);
}

BOOST_AUTO_TEST_CASE(a_worker_is_added_unlocked_enabled_and_locked_again) {
    cluster c;
    const auto added = c.add("worker-0");
    BOOST_TEST_INFO(added.out << added.err);
    BOOST_REQUIRE(added.exit_code == 0);
    BOOST_REQUIRE(c.wait("worker-0", "locked-disabled-online", 30s));
    // A locked host stops its services (it started them when it booted unlocked): the controller tells it it
    // is locked when its mtcAlive says otherwise.
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (c.dir().exists("worker-0/run/services_worker") && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(100ms);
    }
    BOOST_TEST(!c.dir().exists("worker-0/run/services_worker"));
    BOOST_TEST(contains(c.dir().read("worker-0/services.log"), "stop"));

    const auto t0 = std::chrono::steady_clock::now();
    BOOST_REQUIRE(c.run({"host", "unlock", "worker-0"}).exit_code == 0);
    BOOST_REQUIRE(c.wait("worker-0", "unlocked-enabled-available", 60s));
    BOOST_TEST_MESSAGE(
        "unlock to unlocked-enabled-available: "
        << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
               .count()
        << " ms (no reboot: the host booted moments ago)");
    const auto doc = c.show("worker-0");
    BOOST_TEST(doc["heartbeat"]["mgmt"]["state"] == "ok");
    BOOST_TEST(doc["heartbeat"]["cluster"]["state"] == "ok");
    BOOST_TEST(c.dir().exists("worker-0/run/services_worker"));
    BOOST_TEST(doc.value("boot_id", "") == "worker-0-boot-1");

    BOOST_REQUIRE(c.run({"host", "lock", "worker-0"}).exit_code == 0);
    BOOST_REQUIRE(c.wait("worker-0", "locked-disabled-online", 60s));
    BOOST_TEST(!c.dir().exists("worker-0/run/services_worker"));
    const auto alarms = c.run({"alarm", "list", "--json"});
    BOOST_TEST(contains(alarms.out, "200.001"));
    const auto events = c.run({"event", "list", "--json"});
    BOOST_TEST(contains(events.out, "unlocked-enabled-available"));
}

BOOST_AUTO_TEST_CASE(refusals_carry_a_reason_and_their_exit_status) {
    cluster c;
    BOOST_REQUIRE(c.add("worker-0").exit_code == 0);
    BOOST_TEST(c.run({"host", "unlock", "no-such-host"}).exit_code == 3);
    BOOST_TEST(c.add("worker-0").exit_code == 4);  // already exists
    const auto bad =
        c.run({"host", "add", "Bad_Name", "--personality", "worker", "--mgmt-ip", "127.51.0.99"});
    BOOST_TEST(bad.exit_code == 2);
    const auto lock = c.run({"host", "lock", "worker-0"});
    BOOST_TEST(lock.exit_code == 4);
    BOOST_TEST(contains(lock.err, "already locked"));
    const auto self = c.run({"host", "lock", "controller-0"});
    BOOST_TEST(self.exit_code == 4);
    BOOST_REQUIRE(c.wait("worker-0", "locked-disabled-online", 30s));
    BOOST_REQUIRE(c.run({"host", "unlock", "worker-0"}).exit_code == 0);
    const auto again = c.run({"host", "unlock", "worker-0"});
    BOOST_TEST(again.exit_code == 4);
    BOOST_TEST(contains(again.err, "already unlocked"));
    const auto del = c.run({"host", "delete", "worker-0"});
    BOOST_TEST(del.exit_code == 4);
    BOOST_TEST(contains(del.err, "lock it first"));
    const auto reboot = c.run({"host", "reboot", "worker-0"});
    BOOST_TEST(reboot.exit_code == 4);
}

BOOST_AUTO_TEST_CASE(a_host_name_is_the_same_name_whatever_its_case) {
    cluster c;
    BOOST_REQUIRE(c.add("worker-0").exit_code == 0);
    const auto shown = c.run({"host", "show", "Worker-0", "--json"});
    BOOST_TEST(shown.exit_code == 0, shown.err);
    BOOST_TEST(contains(shown.out, "\"name\": \"worker-0\""), shown.out);
    const auto again =
        c.run({"host", "add", "WORKER-0", "--personality", "worker", "--mgmt-ip", "127.51.0.98"});
    BOOST_TEST(again.exit_code == 4, again.err);  // 409: it exists
    BOOST_TEST(contains(again.err, "already exists"), again.err);
    BOOST_REQUIRE(c.wait("worker-0", "locked-disabled-online", 30s));
    BOOST_TEST(c.run({"host", "reboot", "WORKER-0"}).exit_code == 0);
}

BOOST_AUTO_TEST_CASE(an_unlock_reboots_a_host_that_has_been_up_and_enables_it_on_its_new_boot) {
    cluster c{with([](auto& o) { o.fresh_boot_uptime = "0s"; })};
    BOOST_REQUIRE(c.add("worker-1").exit_code == 0);
    BOOST_REQUIRE(c.wait("worker-1", "locked-disabled-online", 30s));
    const auto t0 = std::chrono::steady_clock::now();
    BOOST_REQUIRE(c.run({"host", "unlock", "worker-1"}).exit_code == 0);
    BOOST_REQUIRE(c.wait("worker-1", "unlocked-enabled-available", 90s));
    BOOST_TEST_MESSAGE(
        "unlock to unlocked-enabled-available with a reboot: "
        << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
               .count()
        << " ms");
    BOOST_TEST(c.show("worker-1").value("boot_id", "") == "worker-1-boot-2");
}

BOOST_AUTO_TEST_CASE(a_failing_self_test_fails_the_enable_naming_the_script_and_a_retry_recovers) {
    // The unlock reboots the host, which then runs the broken self-test.
    cluster c{with([](auto& o) { o.fresh_boot_uptime = "0s"; })};
    c.write_script("worker-0", "goenabled.d/20-memory", "echo 'ECC errors' >&2\nexit 1");
    BOOST_REQUIRE(c.add("worker-0").exit_code == 0);
    BOOST_REQUIRE(c.wait("worker-0", "locked-disabled-online", 30s));
    BOOST_REQUIRE(c.run({"host", "unlock", "worker-0"}).exit_code == 0);
    BOOST_REQUIRE(c.wait("worker-0", "unlocked-disabled-failed", 90s));
    auto doc = c.show("worker-0");
    BOOST_TEST_INFO(doc.dump());
    BOOST_TEST(contains(doc.value("task", ""), "In-Test Failed"));
    BOOST_TEST(contains(doc.value("task", ""), "20-memory"));
    BOOST_TEST(doc.value("failure_cause", "") == "goenabled");
    BOOST_TEST(contains(c.run({"alarm", "list", "--json"}).out, "200.004"));
    // Repaired: the next retry (after autorecovery.goenabled_interval) enables it.
    c.remove("worker-0", "goenabled.d/20-memory");
    BOOST_REQUIRE(c.wait("worker-0", "unlocked-enabled-available", 120s));
    BOOST_TEST(!contains(c.run({"alarm", "list", "--json"}).out, "200.004"));
}

BOOST_AUTO_TEST_CASE(a_host_services_failure_fails_the_enable_naming_the_service) {
    // The unlock reboots the host, which then starts the broken service.
    cluster c{with([](auto& o) { o.fresh_boot_uptime = "0s"; })};
    c.write_script("worker-1", "services.d/worker/20-broken", "[ \"$1\" = start ] && exit 4\nexit 0");
    BOOST_REQUIRE(c.add("worker-1").exit_code == 0);
    BOOST_REQUIRE(c.wait("worker-1", "locked-disabled-online", 30s));
    BOOST_REQUIRE(c.run({"host", "unlock", "worker-1"}).exit_code == 0);
    BOOST_REQUIRE(c.wait("worker-1", "unlocked-disabled-failed", 90s));
    const auto doc = c.show("worker-1");
    BOOST_TEST_INFO(doc.dump());
    BOOST_TEST(contains(doc.value("task", ""), "Host Services Failed"));
    BOOST_TEST(contains(doc.value("task", ""), "20-broken"));
    BOOST_TEST(doc.value("failure_cause", "") == "services");
}

BOOST_AUTO_TEST_CASE(the_controller_restarts_without_disturbing_an_enabled_host) {
    cluster c;
    for (const auto* w : {"worker-0", "worker-1"}) {
        BOOST_REQUIRE(c.add(w).exit_code == 0);
    }
    for (const auto* w : {"worker-0", "worker-1"}) {
        BOOST_REQUIRE(c.wait(w, "locked-disabled-online", 30s));
        BOOST_REQUIRE(c.run({"host", "unlock", w}).exit_code == 0);
    }
    for (const auto* w : {"worker-0", "worker-1"}) {
        BOOST_REQUIRE(c.wait(w, "unlocked-enabled-available", 60s));
    }
    const auto before = json::parse(c.run({"event", "list", "--json"}).out, nullptr, false);
    BOOST_REQUIRE(before.is_array());
    const auto last_id = before.empty() ? 0 : before.back().value("id", 0);

    c.kill("controller-0");
    c.start_again("controller-0", false);
    // Give it a soak and more to disturb anyone.
    std::this_thread::sleep_for(8s);
    for (const auto* w : {"worker-0", "worker-1"}) {
        BOOST_TEST(c.state(w) == "unlocked-enabled-available");
        BOOST_TEST(c.show(w).value("boot_id", "") == std::string{w} + "-boot-1");
        BOOST_TEST(!contains(c.log(w), "reboot requested"));
    }
    const auto after = json::parse(c.run({"event", "list", "--json"}).out, nullptr, false);
    BOOST_REQUIRE(after.is_array());
    for (const auto& e : after) {
        if (e.value("id", 0) > last_id && e.value("kind", "") == "state") {
            BOOST_TEST(!contains(e.value("host", ""), "worker"), e.dump());
        }
    }
}

BOOST_AUTO_TEST_CASE(a_locked_host_whose_agent_dies_goes_offline_and_comes_back_online) {
    cluster c;
    BOOST_REQUIRE(c.add("worker-0").exit_code == 0);
    BOOST_REQUIRE(c.wait("worker-0", "locked-disabled-online", 30s));
    const auto t0 = std::chrono::steady_clock::now();
    c.kill("worker-0");
    BOOST_REQUIRE(c.wait("worker-0", "locked-disabled-offline", 30s));
    const auto took = std::chrono::steady_clock::now() - t0;
    BOOST_TEST_MESSAGE("offline after " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                                        << " ms (window 4 s)");
    BOOST_TEST(took >= 3s);
    c.start_again("worker-0", true);
    BOOST_REQUIRE(c.wait("worker-0", "locked-disabled-online", 30s));
}

BOOST_AUTO_TEST_CASE(an_enabled_host_that_dies_is_failed_and_enabled_again_when_it_boots) {
    cluster c;
    BOOST_REQUIRE(c.in_service("worker-0"));
    c.kill("worker-0");
    BOOST_REQUIRE(c.wait("worker-0", "unlocked-disabled-failed", 30s));
    const auto doc = c.show("worker-0");
    BOOST_TEST(contains(doc.value("task", ""), "Graceful Recovery"));
    c.start_again("worker-0", true);
    BOOST_REQUIRE(c.wait("worker-0", "unlocked-enabled-available", 60s));
}

BOOST_AUTO_TEST_CASE(a_frozen_host_recovers_gracefully_without_a_reboot) {
    cluster c;
    BOOST_REQUIRE(c.in_service("worker-1"));
    c.host("worker-1").agent->signal(SIGSTOP);
    std::this_thread::sleep_for(1500ms);  // heartbeat lost (10 x 100 ms), recovery asks for an mtcAlive
    c.host("worker-1").agent->signal(SIGCONT);
    std::this_thread::sleep_for(6s);
    BOOST_REQUIRE(c.wait("worker-1", "unlocked-enabled-available", 30s));
    BOOST_TEST(c.show("worker-1").value("boot_id", "") == "worker-1-boot-1");
    BOOST_TEST(contains(c.run({"event", "list", "--json"}).out, "gracefully recovered"));
}

BOOST_AUTO_TEST_CASE(a_locked_host_is_rebooted_and_deleted) {
    cluster c;
    BOOST_REQUIRE(c.add("worker-0").exit_code == 0);
    BOOST_REQUIRE(c.wait("worker-0", "locked-disabled-online", 30s));
    BOOST_REQUIRE(c.run({"host", "reboot", "worker-0"}).exit_code == 0);
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (c.show("worker-0").value("boot_id", "") != "worker-0-boot-2" &&
           std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(200ms);
    }
    BOOST_TEST(c.show("worker-0").value("boot_id", "") == "worker-0-boot-2");
    BOOST_REQUIRE(c.wait("worker-0", "locked-disabled-online", 30s));
    BOOST_REQUIRE(c.run({"host", "delete", "worker-0"}).exit_code == 0);
    // Still reporting, it is now listed as discovered, not managed.
    std::this_thread::sleep_for(2500ms);
    const auto doc = c.show("worker-0");
    BOOST_TEST_INFO(doc.dump());
    BOOST_TEST(doc.value("management", "") == "discovered");
}

BOOST_AUTO_TEST_CASE(an_all_in_one_controller_enables_its_worker_subfunction_after_the_main_function) {
    cluster c{with([](auto& o) { o.all_in_one = true; })};
    BOOST_REQUIRE(c.wait("controller-0", "locked-disabled-online", 30s));
    BOOST_REQUIRE(c.run({"host", "unlock", "controller-0"}).exit_code == 0);
    BOOST_REQUIRE(c.wait("controller-0", "unlocked-enabled-available", 60s));
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (c.show("controller-0").value("subfunction_availability", "") != "available" &&
           std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(200ms);
    }
    const auto doc = c.show("controller-0");
    BOOST_TEST_INFO(doc.dump());
    BOOST_TEST(doc.value("subfunction_operational", "") == "enabled");
    BOOST_TEST(doc.value("subfunction_availability", "") == "available");
    // The main function was enabled first.
    const auto events = c.run({"event", "list", "--json"}).out;
    const auto main_enabled = events.find("-> unlocked-enabled-available (enabled)");
    const auto subf_enabled = events.find("subfunction enabled");
    BOOST_TEST(main_enabled != std::string::npos);
    BOOST_TEST(subf_enabled != std::string::npos);
    BOOST_TEST(main_enabled < subf_enabled);
}

BOOST_AUTO_TEST_CASE(a_corrupt_inventory_stops_the_controller_which_says_so_and_leaves_it_as_it_is) {
    const std::string garbage = "this is not an SQLite database, but an operator's mistake\n";
    cluster c{with([&](auto& o) { o.inventory_bytes = garbage; })};
    const auto code = c.host("controller-0").agent->exit_code(30s);
    BOOST_REQUIRE(code.has_value());
    BOOST_TEST(*code == 1);
    const auto log = c.dir().read("controller-0/err.log.tmp");
    BOOST_TEST_INFO(log);
    BOOST_TEST(contains(log, "inventory.db"));
    BOOST_TEST(contains(log, "left as it is"));
    BOOST_TEST(c.dir().read("controller-0/ctl/inventory.db") == garbage);
}

BOOST_AUTO_TEST_CASE(a_locked_inventory_refuses_changes_with_a_reason_and_loses_nothing) {
    cluster c;
    BOOST_REQUIRE(c.add("worker-0").exit_code == 0);
    BOOST_REQUIRE(c.wait("worker-0", "locked-disabled-online", 30s));
    // Another program holds the database's write lock for a while.
    const auto db = (c.dir().path() / "controller-0/ctl/inventory.db").string();
    mtce::test::process holder{{"/usr/bin/python3", "-c",
                                "import sqlite3, sys, time\n"
                                "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
                                "c.execute('BEGIN EXCLUSIVE')\n"
                                "print('held', flush=True)\n"
                                "time.sleep(8)\n",
                                db},
                               c.dir().path() / "holder.out",
                               c.dir().path() / "holder.err"};
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!contains(c.dir().read("holder.out"), "held") && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(50ms);
    }
    BOOST_REQUIRE(contains(c.dir().read("holder.out"), "held"));
    const auto add = c.add("worker-1");
    BOOST_TEST(add.exit_code == 1);
    BOOST_TEST(contains(add.err, "locked by another process"), add.err);
    const auto unlock = c.run({"host", "unlock", "worker-0"});
    BOOST_TEST(unlock.exit_code == 1);
    BOOST_TEST(c.state("worker-0") == "locked-disabled-online");  // nothing changed
    const auto other = c.show("worker-1");
    BOOST_TEST((other.is_null() || other.value("management", "") != "managed"));
    BOOST_REQUIRE(holder.exit_code(20s).has_value());
    // Released: the same requests go through, and what was there before is all there.
    BOOST_TEST(c.add("worker-1").exit_code == 0);
    BOOST_TEST(c.run({"host", "unlock", "worker-0"}).exit_code == 0);
    BOOST_REQUIRE(c.wait("worker-0", "unlocked-enabled-available", 60s));
}

BOOST_AUTO_TEST_CASE(a_full_disk_refuses_changes_with_a_reason_and_loses_nothing) {
    if (::geteuid() != 0) {
        BOOST_TEST_MESSAGE("skipped: mounting a small tmpfs needs root");
        return;
    }
    cluster c{with([](auto& o) { o.small_state_disk = true; })};
    BOOST_REQUIRE(c.add("worker-0").exit_code == 0);
    BOOST_REQUIRE(c.wait("worker-0", "locked-disabled-online", 30s));
    // Fill the disk the inventory is on.
    const auto filler = c.dir().path() / "controller-0/ctl/filler";
    (void)mtce::test::run_command({"/bin/dd", "if=/dev/zero", "of=" + filler.string(), "bs=64k", "count=100"},
                                  c.dir().path());
    const auto add = c.add("worker-1");
    BOOST_TEST(add.exit_code == 1);
    BOOST_TEST(contains(add.err, "full"), add.err);
    BOOST_TEST(c.state("worker-0") == "locked-disabled-online");
    std::filesystem::remove(filler);
    BOOST_TEST(c.add("worker-1").exit_code == 0);
    BOOST_REQUIRE(c.wait("worker-1", "locked-disabled-online", 30s));
    // A restart finds both.
    c.kill("controller-0");
    c.start_again("controller-0", false);
    BOOST_REQUIRE(c.wait("worker-0", "locked-disabled-online", 60s));
    BOOST_REQUIRE(c.wait("worker-1", "locked-disabled-online", 60s));
}

BOOST_AUTO_TEST_CASE(a_force_lock_reboots_an_enabled_host_and_a_reset_resets_a_locked_one) {
    cluster c;
    BOOST_REQUIRE(c.in_service("worker-0"));
    auto boot_becomes = [&](const std::string& boot) {
        const auto deadline = std::chrono::steady_clock::now() + 60s;
        while (c.show("worker-0").value("boot_id", "") != boot &&
               std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(200ms);
        }
        return c.show("worker-0").value("boot_id", "") == boot;
    };
    BOOST_REQUIRE(c.run({"host", "lock", "worker-0", "--force"}).exit_code == 0);
    BOOST_TEST(boot_becomes("worker-0-boot-2"));
    BOOST_REQUIRE(c.wait("worker-0", "locked-disabled-online", 60s));
    BOOST_TEST(contains(c.run({"event", "list"}).out, "force-lock accepted"));
    BOOST_REQUIRE(c.run({"host", "reset", "worker-0"}).exit_code == 0);
    BOOST_TEST(boot_becomes("worker-0-boot-3"));
    BOOST_REQUIRE(c.wait("worker-0", "locked-disabled-online", 60s));
    BOOST_TEST(contains(c.run({"event", "list"}).out, "Reset Completed"));
}
