// BuildService against a fake systemd and a fake kernel: what it refuses,
// what it records, and what a restarted daemon makes of the records.
#include "builds/build_service.hpp"
#include "builds/job_record.hpp"
#include "fake_systemd.hpp"
#include "temp_dir.hpp"
#include "util/clock.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <set>

using namespace left4me;
using left4me::test::FakeSystemd;
using left4me::test::TempDir;

namespace fs = std::filesystem;

namespace {

struct Harness
{
    TempDir dir;
    FakeSystemd systemd;
    Config config;
    std::set<std::string> mounted;  // what the fake kernel has mounted
    std::vector<std::string> bound; // targets it bound
    std::unique_ptr<BuildService> builds;
    std::vector<uint64_t> warnings; // the jobs that warned of their timeout, since the last restart

    Harness()
    {
        config.ownerUser = "root";
        config.allowUnenforcedLimits = true;
        config.overlaysRoot = dir.path() + "/overlays";
        fs::create_directories(config.overlaysRoot + "/demo");
        fs::create_directories(config.overlaysRoot + "/other");
        restart();
    }

    BuildKernel kernel()
    {
        BuildKernel k;
        k.openOverlay = [this](const std::string& root, const std::string& overlay, bool) {
            if (!fs::is_directory(root + "/" + overlay))
            {
                throw BindError(ENOENT, "no such overlay");
            }
            return std::shared_ptr<const BindSource>();
        };
        k.bindOverlay = [this](const auto&, const auto&, const auto&, const std::string& target, const Idmap&) {
            bound.push_back(target);
            mounted.insert(target);
            return BindMount();
        };
        k.isMounted = [this](const std::string& target) { return mounted.count(target) != 0; };
        k.detach = [this](const std::string& target) { mounted.erase(target); };
        k.hostNetworks = [] { return std::vector<net::IpPrefix>{}; };
        return k;
    }

    // A daemon (re)started on the same state.
    void restart()
    {
        builds.reset();
        builds = std::make_unique<BuildService>(config, BuildPaths{dir.path() + "/state", dir.path() + "/run"}, systemd,
                                                kernel());
        warnings.clear();
        // As the bus layer does, before anything is published.
        builds->onJobCreated([this](BuildJob& job) {
            BuildJob::Events events;
            events.timeoutWarning = [this, id = job.info().id] { warnings.push_back(id); };
            job.setObserver(events);
        });
        builds->recover();
        systemd.run();
    }

    Outcome<uint64_t> start(const std::string& overlay, const std::string& script, bool skip = false)
    {
        BuildRequest request{0, overlay, script, {}};
        request.options.limits = config.limits;
        request.options.network = Network::none;
        request.options.skipIfUnchanged = skip;
        std::optional<Outcome<uint64_t>> answer;
        try
        {
            builds->start(request, [&](Outcome<uint64_t> outcome) { answer = std::move(outcome); });
        }
        catch (const OpError& e)
        {
            answer = e;
        }
        systemd.run();
        REQUIRE(answer.has_value());
        return *answer;
    }

    // CREATED_AGO_SEC before now, its deadline an hour after creation.
    void record(uint64_t id, JobState state, std::string bootId, uint64_t finishedAt = 0, uint64_t createdAgoSec = 0)
    {
        constexpr uint64_t usecPerSec = 1000000;
        JobRecord record;
        record.info.id = id;
        record.info.overlay = "demo";
        record.info.unit = "left4me-build@" + std::to_string(id) + ".service";
        record.info.state = state;
        record.info.createdAt = clock::realtimeUsec() - createdAgoSec * usecPerSec;
        record.info.finishedAt = finishedAt;
        record.info.result = isEnded(state) ? "success" : "";
        record.info.deadline = record.info.createdAt + 3600 * usecPerSec;
        record.bootId = std::move(bootId);
        auto jobDir = dir.path() + "/state/jobs/" + std::to_string(id);
        fs::create_directories(jobDir);
        std::ofstream(jobDir + "/job.json") << serializeJobRecord(record);
        LogFile::create(jobDir + "/log");
    }

    [[nodiscard]] std::string bootId() const
    {
        std::ifstream in(dir.path() + "/run/boot-id");
        std::string id;
        std::getline(in, id);
        return id;
    }
};

} // namespace

TEST_CASE("a busy overlay answers Busy and a full house LimitsExceeded, and neither leaves anything behind")
{
    Harness h;
    h.systemd.startsComplete = false; // the first build keeps running
    auto first = h.start("demo", "sleep 60");
    REQUIRE(first.ok());
    auto jobs = fs::directory_iterator(h.dir.path() + "/state/jobs");
    auto before = std::distance(jobs, fs::directory_iterator());

    auto busy = h.start("demo", "true");
    REQUIRE_FALSE(busy.ok());
    CHECK(busy.error().kind() == ErrorKind::busy);

    auto missing = h.start("nope", "true");
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().kind() == ErrorKind::invalidArgument);

    h.config.maxRunningBuilds = 1;
    auto full = h.start("other", "true");
    REQUIRE_FALSE(full.ok());
    CHECK(full.error().kind() == ErrorKind::limitsExceeded);

    jobs = fs::directory_iterator(h.dir.path() + "/state/jobs");
    CHECK(std::distance(jobs, fs::directory_iterator()) == before);
}

TEST_CASE("skip_if_unchanged: the same inputs after a success give a job that has succeeded, and nothing runs")
{
    Harness h;
    h.systemd.units["left4me-build@1.service"].user = {62001, 62001};
    auto first = h.start("demo", "make", true);
    REQUIRE(first.ok());
    h.systemd.end("left4me-build@1.service", {"success", 1, 1, 0});
    h.systemd.run();
    REQUIRE(std::string(toString(h.builds->find(first.value())->info().state)) == "succeeded");
    auto starts = h.systemd.calls.size();
    auto second = h.start("demo", "make", true);
    REQUIRE(second.ok());
    const auto& info = h.builds->find(second.value())->info();
    CHECK(std::string(toString(info.state)) == "succeeded");
    CHECK(info.result == "skipped");
    CHECK(h.systemd.calls.size() == starts); // not a single call to systemd
    auto changed = h.start("demo", "make all", true);
    CHECK(h.builds->find(changed.value())->info().result != "skipped");
}

TEST_CASE("a restart keeps the newest job_retention_count ended jobs, and removes the rest with their files")
{
    Harness h;
    h.config.jobRetentionCount = 2;
    for (uint64_t id = 1; id <= 4; ++id)
    {
        h.record(id, JobState::succeeded, h.bootId(), clock::realtimeUsec());
    }
    h.restart();
    CHECK(h.builds->find(1) == nullptr);
    CHECK(h.builds->find(2) == nullptr);
    CHECK(h.builds->find(3) != nullptr);
    CHECK(h.builds->find(4) != nullptr);
    CHECK_FALSE(fs::exists(h.dir.path() + "/state/jobs/1"));
    CHECK(fs::exists(h.dir.path() + "/state/jobs/4/job.json"));
}

TEST_CASE("a build recorded running in an earlier boot ends interrupted; one of this boot is adopted")
{
    Harness h;
    h.record(5, JobState::running, "an-earlier-boot-000000000000000000000000");
    h.record(6, JobState::running, h.bootId());
    h.mounted.insert(h.dir.path() + "/run/jobs/6/overlay"); // its overlay is bound
    h.systemd.units["left4me-build@6.service"].activeState = "active";
    h.restart();
    const auto& interrupted = h.builds->find(5)->info();
    CHECK(std::string(toString(interrupted.state)) == "failed");
    CHECK(interrupted.result == "interrupted");
    CHECK_FALSE(h.builds->find(6)->ended());
    CHECK(h.bound.empty()); // the mount was there: taken over, not made again
    // Its overlay is still taken.
    auto again = h.start("demo", "true");
    REQUIRE_FALSE(again.ok());
    CHECK(again.error().kind() == ErrorKind::busy);
}

TEST_CASE("a build whose daemon died before it bound the overlay gets it bound by the next daemon")
{
    Harness h;
    h.record(9, JobState::starting, h.bootId());
    auto& unit = h.systemd.units["left4me-build@9.service"];
    unit.activeState = "activating"; // the relay waits for its overlay
    unit.user = {61500, 61500};
    h.restart();
    REQUIRE(h.bound.size() == 1);
    CHECK(h.bound[0] == h.dir.path() + "/run/jobs/9/overlay");
}

TEST_CASE("a job's deadline is its creation plus timeout_sec; a skipped one has none")
{
    Harness h;
    h.config.limits.timeoutSec = 1200;
    auto first = h.start("demo", "make", true);
    REQUIRE(first.ok());
    const auto& info = h.builds->find(first.value())->info();
    CHECK(info.deadline == info.createdAt + uint64_t{1200} * 1000000);
    h.systemd.end("left4me-build@1.service", {"success", 1, 1, 0});
    h.systemd.run();
    auto skipped = h.start("demo", "make", true);
    REQUIRE(h.builds->find(skipped.value())->info().result == "skipped");
    CHECK(h.builds->find(skipped.value())->info().deadline == 0);
}

TEST_CASE("a build adopted past its warning point is warned once, and the record keeps it from a second daemon")
{
    Harness h;
    // Running for 50 of its 60 minutes: past 75 %, not yet warned.
    h.record(4, JobState::running, h.bootId(), 0, 3000);
    h.mounted.insert(h.dir.path() + "/run/jobs/4/overlay");
    h.systemd.units["left4me-build@4.service"].activeState = "active";
    h.restart();
    CHECK(h.warnings == std::vector<uint64_t>{4});
    CHECK(h.builds->find(4)->info().timeoutWarned);
    std::ifstream in(h.dir.path() + "/state/jobs/4/job.json");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto record = parseJobRecord(text);
    REQUIRE(record);
    CHECK(record->info.timeoutWarned);

    h.restart();
    CHECK(h.warnings.empty());
    CHECK(h.builds->find(4)->info().timeoutWarned);

    SUBCASE("timeout_warning_percent 0 warns no build, even one past the point")
    {
        h.record(5, JobState::running, h.bootId(), 0, 3000);
        h.mounted.insert(h.dir.path() + "/run/jobs/5/overlay");
        h.systemd.units["left4me-build@5.service"].activeState = "active";
        h.config.timeoutWarningPercent = 0;
        h.restart();
        CHECK(h.warnings.empty());
        CHECK_FALSE(h.builds->find(5)->info().timeoutWarned);
    }
}
