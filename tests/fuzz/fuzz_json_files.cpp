// Every JSON file the daemon reads: /etc/left4me/builder.json, and what a
// restarted daemon reads back from its state directory, job.json
// (build/job_record), the mount records (mount/mount_record) and the
// ApplyCaps intents (caps/caps_intent). One text goes through all four
// parsers.
//
// The configuration is either one that keeps every documented rule or a
// ConfigError (the daemon exits 78 on it); a record is read or refused,
// never an exception or a guess, and one that is read writes out to itself.
#include "builds/job_record.hpp"
#include "caps/caps_intent.hpp"
#include "fuzz_check.hpp"
#include "mounts/mount_record.hpp"
#include "util/config.hpp"
#include "validate/arguments.hpp"

#include <string_view>

using namespace left4me;

namespace {

void checkConfig(std::string_view text)
{
    Config config;
    try
    {
        config = parseConfig(text);
    }
    catch (const ConfigError& e)
    {
        FUZZ_CHECK(*e.what() != '\0');
        return;
    }
    for (const auto& path : {config.overlaysRoot, config.runtimeRoot, config.addonsRoot})
    {
        FUZZ_CHECK(!validate::absoluteDirectoryPath(path));
    }
    FUZZ_CHECK(!config.layerRoots.empty());
    for (const auto& path : config.layerRoots)
    {
        FUZZ_CHECK(!validate::absoluteDirectoryPath(path));
    }
    for (const auto& name : config.capsAllowlist)
    {
        FUZZ_CHECK(validate::normalizeCapabilityName(name) == name);
    }
    FUZZ_CHECK(!validate::userName(config.ownerUser));
    FUZZ_CHECK(config.limits.memoryMaxBytes > 0 && config.limits.tasksMax > 0 && config.limits.cpuQuotaPercent > 0 &&
               config.limits.timeoutSec > 0);
    FUZZ_CHECK(config.idleTimeoutSec > 0 && config.polkitTimeoutSec > 0 && config.polkitInteractiveTimeoutSec > 0);
    FUZZ_CHECK(config.maxRunningBuilds > 0 && config.maxRunningBuildsPerUser > 0);
    FUZZ_CHECK(config.jobRetentionSec > 0 && config.jobRetentionCount > 0);
}

bool sameJob(const JobRecord& a, const JobRecord& b)
{
    const auto& x = a.info;
    const auto& y = b.info;
    return x.id == y.id && x.overlay == y.overlay && x.unit == y.unit && x.owner == y.owner &&
           x.createdAt == y.createdAt && x.finishedAt == y.finishedAt && x.state == y.state && x.result == y.result &&
           x.exitStatus == y.exitStatus && x.buildHash == y.buildHash && x.progress == y.progress &&
           x.statusText == y.statusText && x.deadline == y.deadline && x.timeoutWarned == y.timeoutWarned;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size)
{
    std::string_view text(reinterpret_cast<const char*>(bytes), size);
    checkConfig(text);
    if (auto job = parseJobRecord(text))
    {
        auto again = parseJobRecord(serializeJobRecord(*job));
        FUZZ_CHECK(again && sameJob(*job, *again));
    }
    if (auto mount = mountRecordFromJson(text))
    {
        FUZZ_CHECK(!validate::instanceName(mount->instance) && !validate::layers(mount->layers));
        FUZZ_CHECK(mountRecordFromJson(toJson(*mount)) == mount);
    }
    if (auto intent = capsIntentFromJson(text))
    {
        FUZZ_CHECK(!validate::addonSegment(intent->addon) && !validate::addonSegment(intent->version) &&
                   !validate::relativeBinaryPath(intent->binary));
        FUZZ_CHECK(capsIntentFromJson(toJson(*intent)) == intent);
    }
    return 0;
}
