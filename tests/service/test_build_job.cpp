// BuildJob against a fake systemd: how each way a build can go ends it.
#include "builds/build_job.hpp"
#include "fake_systemd.hpp"
#include "sandbox/stream_lines.hpp"
#include "temp_dir.hpp"
#include "util/clock.hpp"

#include <doctest/doctest.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>

using namespace left4me;
using left4me::test::FakeSystemd;
using left4me::test::TempDir;

namespace {

constexpr const char* unitName = "left4me-build@7.service";

constexpr uint64_t usecPerSec = 1000000;

struct Harness
{
    TempDir dir;
    FakeSystemd systemd;
    std::unique_ptr<BuildJob> job;
    int finished = 0;
    // What the bus object is told, in order: "changed TimeoutWarned",
    // "warning <deadline>", "finished".
    std::vector<std::string> told;
    std::vector<std::pair<uid_t, gid_t>> bound;
    bool bindFails = false;

    Harness()
    {
        LogFile::create(dir.path() + "/log");
        JobInfo info;
        info.id = 7;
        info.overlay = "demo";
        info.unit = unitName;
        create(info);
        systemd.units[unitName].user = {62001, 62001};
    }

    void create(const JobInfo& info)
    {
        job = std::make_unique<BuildJob>(info, dir.path(), BindMount(), systemd);
        BuildJob::Hooks hooks;
        hooks.finished = [this] { ++finished; };
        job->setHooks(hooks);
        BuildJob::Events observer;
        observer.changed = [this](const std::vector<std::string>& properties) {
            for (const auto& p : properties)
            {
                told.push_back("changed " + p);
            }
        };
        observer.timeoutWarning = [this] { told.push_back("warning " + std::to_string(job->info().deadline)); };
        observer.finished = [this] { told.push_back("finished"); };
        job->setObserver(observer);
    }

    // The job as BuildService makes it: created AGO_MSEC ago, its deadline
    // LEFT_MSEC from now.
    void createTimed(int64_t agoMsec, int64_t leftMsec)
    {
        JobInfo info = job->info();
        uint64_t now = clock::realtimeUsec();
        info.createdAt = now - static_cast<uint64_t>(agoMsec) * 1000;
        info.deadline = now + static_cast<uint64_t>(leftMsec) * 1000;
        create(info);
    }

    [[nodiscard]] int count(const std::string& prefix) const
    {
        return static_cast<int>(
            std::count_if(told.begin(), told.end(), [&](const auto& t) { return t.rfind(prefix, 0) == 0; }));
    }

    // Runs the loop (timers) and the fake systemd for MSEC.
    void spin(unsigned msec)
    {
        bool over = false;
        auto timer = GlibSource::timeout(std::chrono::milliseconds(msec), [&] {
            over = true;
            return false;
        });
        while (!over)
        {
            g_main_context_iteration(nullptr, TRUE);
            systemd.run();
        }
    }

    OverlayBinder binder()
    {
        return [this](uid_t uid, gid_t gid) {
            if (bindFails)
            {
                throw std::runtime_error("no such overlay");
            }
            bound.emplace_back(uid, gid);
            return BindMount();
        };
    }

    // Starts the job, as created, or created now with a deadline TIMEOUT_SEC away.
    void start(std::optional<uint64_t> timeoutSec = 3600, std::optional<std::vector<net::IpPrefix>> host = std::nullopt,
               uint32_t warningPercent = 75)
    {
        if (timeoutSec)
        {
            createTimed(0, static_cast<int64_t>(*timeoutSec * 1000));
        }
        job->start({{"MemoryMax", uint64_t{1} << 30U}}, std::move(host), warningPercent, binder());
        systemd.run();
    }

    void log(const std::string& text) { std::ofstream(dir.path() + "/log", std::ios::app) << text; }

    [[nodiscard]] const JobInfo& info() const { return job->info(); }
};

ServiceOutcome exited(int status)
{
    return {status == 0 ? "success" : "exit-code", 1, CLD_EXITED, status};
}

} // namespace

TEST_CASE("a build runs as the user systemd gave it, its overlay bound for that user, and ends as its script did")
{
    Harness h;
    h.start();
    REQUIRE(h.bound.size() == 1);
    CHECK(h.bound[0] == std::pair<uid_t, gid_t>{62001, 62001});
    CHECK(std::string(toString(h.info().state)) == "running");
    CHECK(h.systemd.units[unitName].refs == 1); // kept loaded until its result is read

    SUBCASE("exit 0: succeeded, result success")
    {
        h.systemd.end(unitName, exited(0));
        h.systemd.run();
        CHECK(std::string(toString(h.info().state)) == "succeeded");
        CHECK(h.info().result == "success");
        CHECK(h.info().exitStatus == 0);
    }
    SUBCASE("exit 3: failed, result exit-code, exit status 3")
    {
        h.systemd.end(unitName, exited(3));
        h.systemd.run();
        CHECK(std::string(toString(h.info().state)) == "failed");
        CHECK(h.info().result == "exit-code");
        CHECK(h.info().exitStatus == 3);
    }
    SUBCASE("killed by SIGKILL: failed, result signal, exit status 137")
    {
        h.systemd.end(unitName, {"signal", 1, CLD_KILLED, SIGKILL});
        h.systemd.run();
        CHECK(std::string(toString(h.info().state)) == "failed");
        CHECK(h.info().result == "signal");
        CHECK(h.info().exitStatus == 128 + SIGKILL);
    }
    SUBCASE("the relay stopped it at the log's limit: failed, result log-limit")
    {
        h.log(std::string(1, stderrMark) + logLimitMessage + " of 1048576 bytes; the build is stopped.\n");
        h.systemd.end(unitName, exited(logLimitExitStatus));
        h.systemd.run();
        CHECK(std::string(toString(h.info().state)) == "failed");
        CHECK(h.info().result == "log-limit");
    }
    SUBCASE("exit 125 without the relay's closing line is the script's own status")
    {
        h.log("125 is mine\n");
        h.systemd.end(unitName, exited(logLimitExitStatus));
        h.systemd.run();
        CHECK(h.info().result == "exit-code");
        CHECK(h.info().exitStatus == logLimitExitStatus);
    }
    SUBCASE("cancelled: stopped through systemd, and cancelled whatever the script's status")
    {
        h.systemd.units[unitName].outcome = {"exit-code", 1, CLD_EXITED, 143};
        std::string problem = "not answered";
        h.job->cancel([&](const std::string& p) { problem = p; });
        h.systemd.run();
        CHECK(problem.empty());
        CHECK(h.systemd.count(std::string("StopUnit ") + unitName) == 1);
        CHECK(std::string(toString(h.info().state)) == "cancelled");
    }
    CHECK(h.finished == 1);
    CHECK(h.systemd.units[unitName].refs == 0); // let go once read
    CHECK(h.systemd.count(std::string("ResetFailedUnit ") + unitName) == 1);
    // The end is final: a later signal changes nothing.
    auto ended = h.info();
    h.systemd.setState(unitName, "active");
    h.systemd.run();
    CHECK(toString(h.info().state) == toString(ended.state));
    CHECK(h.finished == 1);
}

TEST_CASE("a build systemd refuses to start ends failed with result resources and systemd's reason")
{
    Harness h;
    h.systemd.failures["StartUnit"] = {"org.freedesktop.systemd1.UnitMasked",
                                       "Unit left4me-build@7.service is masked."};
    h.start();
    CHECK(std::string(toString(h.info().state)) == "failed");
    CHECK(h.info().result == "resources");
    CHECK(h.info().exitStatus == -1);
    CHECK(h.info().statusText.find("masked") != std::string::npos);
    CHECK(h.bound.empty());
    CHECK(h.finished == 1);
}

TEST_CASE("a build whose overlay cannot be bound is stopped and ends failed with result resources")
{
    Harness h;
    h.bindFails = true;
    h.systemd.units[unitName].outcome = {"exit-code", 1, CLD_EXITED, 1}; // the relay, stopped while it waited
    h.start();
    CHECK(h.systemd.count(std::string("StopUnit ") + unitName) == 1);
    CHECK(std::string(toString(h.info().state)) == "failed");
    CHECK(h.info().result == "resources");
    CHECK(h.info().statusText.find("no such overlay") != std::string::npos);
}

TEST_CASE("a build past its timeout is stopped and ends failed with result timeout")
{
    Harness h;
    h.systemd.units[unitName].outcome = {"exit-code", 1, CLD_EXITED, 143};
    h.start(1);
    CHECK(std::string(toString(h.info().state)) == "running");
    while (h.finished == 0)
    {
        g_main_context_iteration(nullptr, TRUE); // the timer
        h.systemd.run();
    }
    CHECK(std::string(toString(h.info().state)) == "failed");
    CHECK(h.info().result == "timeout");
}

TEST_CASE("public egress is the template's allow list less the host's networks, set before the start")
{
    Harness h;
    h.systemd.units[unitName].allow = {*net::parsePrefix("1.0.0.0/8"), *net::parsePrefix("2000::/3")};
    h.start(3600, std::vector<net::IpPrefix>{*net::parsePrefix("1.1.1.77/32")});
    const auto& set = h.systemd.units[unitName].properties;
    std::vector<std::vector<net::IpPrefix>> lists;
    for (const auto& p : set)
    {
        if (p.name == "IPAddressAllow")
        {
            lists.push_back(std::get<AddressList>(p.value).prefixes);
        }
    }
    REQUIRE(lists.size() == 2);
    CHECK(lists[0].empty()); // cleared first
    auto host = *net::parsePrefix("1.1.1.77");
    CHECK(std::none_of(lists[1].begin(), lists[1].end(), [&](const auto& range) { return range.contains(host); }));
    CHECK(std::any_of(lists[1].begin(), lists[1].end(),
                      [](const auto& range) { return range.contains(*net::parsePrefix("1.1.1.1")); }));
    // The properties went out before the start.
    auto& calls = h.systemd.calls;
    auto properties = std::find(calls.begin(), calls.end(), std::string("SetUnitProperties ") + unitName);
    auto start = std::find(calls.begin(), calls.end(), std::string("StartUnit ") + unitName);
    CHECK(properties < start);
}

TEST_CASE("adoption: a running build is followed on; one collected before the daemon came back is judged by its record")
{
    Harness h;
    auto adopted = [&](JobState recorded) {
        JobInfo info;
        info.id = 8;
        info.overlay = "demo";
        info.unit = "left4me-build@8.service";
        info.state = recorded;
        info.createdAt = clock::realtimeUsec();
        info.deadline = info.createdAt + 600 * usecPerSec;
        h.create(info);
    };
    SUBCASE("still running: adopted, and its end is seen")
    {
        adopted(JobState::running);
        h.systemd.units["left4me-build@8.service"].activeState = "active";
        h.job->adopt(75);
        h.systemd.run();
        CHECK_FALSE(h.job->ended());
        h.systemd.end("left4me-build@8.service", exited(0));
        h.systemd.run();
        CHECK(std::string(toString(h.info().state)) == "succeeded");
    }
    SUBCASE("collected after it ran, with its exit record: as the record says")
    {
        adopted(JobState::running);
        std::filesystem::create_directory(h.dir.path() + "/exit");
        std::ofstream(h.dir.path() + "/exit/record") << "success exited 0\n";
        h.systemd.units["left4me-build@8.service"].outcome = {"success", 0, 0, 0}; // loaded afresh
        h.job->adopt(75);
        h.systemd.run();
        CHECK(std::string(toString(h.info().state)) == "succeeded");
        CHECK(h.info().exitStatus == 0);
    }
    SUBCASE("collected after it ran, without a record (an older template): CollectMode=inactive keeps failures")
    {
        adopted(JobState::running);
        h.systemd.units["left4me-build@8.service"].outcome = {"success", 0, 0, 0};
        h.job->adopt(75);
        h.systemd.run();
        CHECK(std::string(toString(h.info().state)) == "succeeded");
        CHECK(h.info().exitStatus == 0);
    }
    SUBCASE("recorded starting (the daemon died before it saw the unit run), collected, with a record: it ran")
    {
        adopted(JobState::starting);
        std::filesystem::create_directory(h.dir.path() + "/exit");
        std::ofstream(h.dir.path() + "/exit/record") << "success exited 0\n";
        h.systemd.units["left4me-build@8.service"].outcome = {"success", 0, 0, 0};
        h.job->adopt(75);
        h.systemd.run();
        CHECK(std::string(toString(h.info().state)) == "succeeded");
        CHECK(h.info().result == "success");
    }
    SUBCASE("recorded starting, collected, no record: it never ran, and the result says the daemon stopped")
    {
        adopted(JobState::starting);
        h.systemd.units["left4me-build@8.service"].outcome = {"success", 0, 0, 0};
        h.job->adopt(75);
        h.systemd.run();
        CHECK(std::string(toString(h.info().state)) == "failed");
        CHECK(h.info().result == "interrupted");
        CHECK(h.info().exitStatus == -1);
    }
    SUBCASE("the daemon died before it bound the overlay: the adopter binds it for the build's user")
    {
        adopted(JobState::starting);
        h.systemd.units["left4me-build@8.service"].activeState = "activating";
        h.systemd.units["left4me-build@8.service"].user = {63000, 63000};
        h.job->adopt(75, h.binder());
        h.systemd.run();
        REQUIRE(h.bound.size() == 1);
        CHECK(h.bound[0].first == 63000);
    }
}

TEST_CASE("a build is warned once, when the configured share of its timeout has passed, then stopped at its deadline")
{
    Harness h;
    h.systemd.units[unitName].outcome = {"exit-code", 1, CLD_EXITED, 143};
    // 2 s in all: warned 1.5 s in (0.3 s from now), stopped at the deadline (0.8 s from now).
    h.createTimed(1200, 800);
    h.start(std::nullopt);
    CHECK(h.count("warning") == 0);
    while (h.finished == 0)
    {
        g_main_context_iteration(nullptr, TRUE);
        h.systemd.run();
    }
    CHECK(h.info().result == "timeout");
    CHECK(h.info().timeoutWarned);
    // The property changes first (the service records it there), then the signal, once.
    auto warning = "warning " + std::to_string(h.info().deadline);
    auto first = std::find(h.told.begin(), h.told.end(), "changed TimeoutWarned");
    REQUIRE(first != h.told.end());
    REQUIRE(first + 1 != h.told.end());
    CHECK(*(first + 1) == warning);
    CHECK(h.count("changed TimeoutWarned") == 1);
    CHECK(h.count("warning") == 1);
    CHECK(std::find(h.told.begin(), h.told.end(), "finished") > first);
}

TEST_CASE("a build that ends before its warning point is never warned")
{
    Harness h;
    // Warned 0.2 s from now, unless it has ended.
    h.createTimed(0, 400);
    SUBCASE("it succeeded")
    {
        h.start(std::nullopt, std::nullopt, 50);
        h.systemd.end(unitName, exited(0));
        h.systemd.run();
        REQUIRE(h.job->ended());
    }
    SUBCASE("it was cancelled")
    {
        h.start(std::nullopt, std::nullopt, 50);
        h.job->cancel([](const std::string&) {});
        h.systemd.run();
        REQUIRE(h.job->ended());
    }
    SUBCASE("timeout_warning_percent 0: it runs past the point and is not warned")
    {
        h.start(std::nullopt, std::nullopt, 0);
    }
    h.spin(300);
    CHECK_FALSE(h.info().timeoutWarned);
    CHECK(h.count("warning") == 0);
    CHECK(h.count("changed TimeoutWarned") == 0);
}

TEST_CASE("adoption past the warning point: warned at once if it still runs and was not warned, never twice")
{
    Harness h;
    JobInfo info = h.info();
    info.state = JobState::running;
    uint64_t now = clock::realtimeUsec();
    info.createdAt = now - 3000 * usecPerSec; // warned at 2700 s of 3600
    info.deadline = now + 600 * usecPerSec;
    SUBCASE("not warned, still running: warned once systemd says it runs, with its recorded deadline")
    {
        h.create(info);
        h.systemd.units[unitName].activeState = "active";
        h.job->adopt(75);
        CHECK(h.count("warning") == 0); // not before systemd has answered
        h.systemd.run();
        CHECK(h.info().timeoutWarned);
        CHECK(h.told == std::vector<std::string>{"changed TimeoutWarned", "warning " + std::to_string(info.deadline)});
        h.systemd.setState(unitName, "active");
        h.systemd.run();
        CHECK(h.count("warning") == 1);
    }
    SUBCASE("warned by the daemon before: not again")
    {
        info.timeoutWarned = true;
        h.create(info);
        h.systemd.units[unitName].activeState = "active";
        h.job->adopt(75);
        h.systemd.run();
        CHECK(h.count("warning") == 0);
        CHECK(h.info().timeoutWarned);
    }
    SUBCASE("ended while no daemon watched: not warned")
    {
        h.create(info);
        h.systemd.units[unitName].activeState = "failed";
        h.systemd.units[unitName].outcome = {"exit-code", 1, CLD_EXITED, 2};
        h.job->adopt(75);
        h.systemd.run();
        REQUIRE(h.job->ended());
        CHECK(h.count("warning") == 0);
        CHECK_FALSE(h.info().timeoutWarned);
    }
}

TEST_CASE("the warning point is the configured share of the time from creation to the deadline")
{
    constexpr uint64_t created = 1700000000000000;
    constexpr uint64_t twentyMinutes = 1200 * usecPerSec;
    CHECK(timeoutWarningAt(created, created + twentyMinutes, 75) == created + 900 * usecPerSec);
    CHECK(timeoutWarningAt(created, created + twentyMinutes, 1) == created + 12 * usecPerSec);
    CHECK(timeoutWarningAt(created, created + twentyMinutes, 0) == 0);
    CHECK(timeoutWarningAt(created, 0, 75) == 0); // no deadline (skipped)
}
