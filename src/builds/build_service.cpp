#include "builds/build_service.hpp"

#include "builds/cgroup_controllers.hpp"
#include "builds/job_record.hpp"
#include "builds/unit_properties.hpp"
#include "fs/file_write.hpp"
#include "fs/resolve.hpp"
#include "ops/message_ids.hpp"
#include "ops/op_error.hpp"
#include "sandbox/stream_lines.hpp"
#include "systemd/unit_names.hpp"
#include "util/clock.hpp"
#include "util/join.hpp"
#include "util/log.hpp"
#include "util/users.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <systemd/sd-id128.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <system_error>

namespace left4me {

namespace fs = std::filesystem;

namespace {

// The uid and gid of USER. Throws std::runtime_error naming the user.
UserIds userIds(const std::string& user)
{
    auto ids = lookupUser(user);
    if (!ids)
    {
        throw std::runtime_error("the configured user \"" + user + "\" does not exist; run systemd-sysusers");
    }
    return *ids;
}

// This boot's id as the daemon keeps it: a random UUID in PATH, under
// /run, which every boot starts empty. Not the kernel's boot_id, which a
// service in a container sees as the host's (ProtectKernelTunables= hides
// the container manager's own), so a container reboot would go unnoticed.
std::string readBootId(const std::string& path)
{
    std::string id;
    if (std::ifstream in(path); std::getline(in, id) && id.size() == 36)
    {
        return id;
    }
    sd_id128_t random{};
    if (sd_id128_randomize(&random) < 0)
    {
        return {};
    }
    std::array<char, SD_ID128_UUID_STRING_MAX> text{};
    id = sd_id128_to_uuid_string(random, text.data());
    try
    {
        replaceFile(path, id + "\n", 0644);
    }
    catch (const std::exception& e)
    {
        log::warning(std::string("Cannot record the boot id; a reboot will not be told from a restart: ") + e.what());
        return {};
    }
    return id;
}

} // namespace

BuildService::BuildService(const Config& config, BuildPaths paths, Systemd& systemd, BuildKernel kernel)
    : config_(config), paths_(std::move(paths)), systemd_(systemd), kernel_(std::move(kernel))
{
    fs::create_directories(paths_.stateDir + "/jobs");
    fs::create_directories(paths_.runtimeDir + "/jobs");
    // Job ids never repeat, not even across restarts: each has its unit
    // instance, its log and its object path.
    std::ifstream counter(paths_.stateDir + "/next-job-id");
    if (!(counter >> nextId_) || nextId_ == 0)
    {
        nextId_ = 1;
    }
    bootId_ = readBootId(paths_.runtimeDir + "/boot-id");
}

BuildService::~BuildService()
{
    for (auto& [id, job] : jobs_)
    {
        if (!job->ended())
        {
            job->leaveRunning();
        }
    }
}

uint64_t BuildService::allocateId()
{
    while (fs::exists(paths_.stateDir + "/jobs/" + std::to_string(nextId_)))
    {
        ++nextId_;
    }
    uint64_t id = nextId_++;
    replaceFile(paths_.stateDir + "/next-job-id", std::to_string(nextId_) + "\n", 0644);
    return id;
}

std::string BuildService::lastSuccess(const std::string& overlay) const
{
    std::ifstream in(paths_.stateDir + "/last-success/" + overlay);
    std::string hash;
    in >> hash;
    return hash;
}

void BuildService::rememberSuccess(const std::string& overlay, const std::string& hash) const
{
    std::error_code ignored;
    fs::create_directories(paths_.stateDir + "/last-success", ignored);
    try
    {
        replaceFile(paths_.stateDir + "/last-success/" + overlay, hash + "\n", 0644);
    }
    catch (const std::exception& e)
    {
        // Only skip_if_unchanged loses: the next build of OVERLAY runs.
        log::warning(std::string("Cannot record the last successful build: ") + e.what(),
                     {{"LEFT4ME_OVERLAY", overlay}});
    }
}

std::size_t BuildService::runningFor(uid_t owner) const
{
    return static_cast<std::size_t>(
        std::count_if(runningOverlays_.begin(), runningOverlays_.end(), [&](const auto& entry) {
            auto job = jobs_.find(entry.second);
            return job != jobs_.end() && job->second->info().owner == owner;
        }));
}

void BuildService::start(const BuildRequest& request, const Reply<uint64_t>& reply)
{
    auto owner = request.caller;
    const auto& overlay = request.overlay;
    const auto& script = request.script;
    const auto& options = request.options;
    if (auto busy = runningOverlays_.find(overlay); busy != runningOverlays_.end())
    {
        throw OpError(ErrorKind::busy, "Overlay \"" + overlay + "\" is being built by job " +
                                           std::to_string(busy->second) +
                                           "; wait for it to finish or cancel it first.");
    }
    if (running() >= config_.maxRunningBuilds)
    {
        throw OpError(ErrorKind::limitsExceeded, std::to_string(running()) +
                                                     " builds are running, the configured maximum " +
                                                     "(max_running_builds); try again when one has finished.");
    }
    if (auto mine = runningFor(owner); mine >= config_.maxRunningBuildsPerUser)
    {
        throw OpError(ErrorKind::limitsExceeded,
                      "You have " + std::to_string(mine) +
                          " builds running, the configured maximum per user (max_running_builds_per_user); "
                          "try again when one has finished.");
    }

    // Limits that cannot be enforced are never pretended.
    if (auto missing = missingHostControllers(); !missing.empty())
    {
        auto list = join(missing, ", ");
        if (!config_.allowUnenforcedLimits)
        {
            throw OpError(ErrorKind::limitsUnenforceable,
                          "This host cannot enforce the build limits: the cgroup controllers " + list +
                              " are missing from the unified hierarchy (a cgroup v1 or hybrid host, or a "
                              "container). Boot with the unified hierarchy, or set \"allow_unenforced_limits\": "
                              "true in /etc/left4me/builder.json to run builds without them.");
        }
        log::warning("Build limits are not enforced on this host: missing cgroup controllers " + list,
                     {{"LEFT4ME_OVERLAY", overlay}});
    }
    auto hash = buildHash(script, options);
    bool skip = options.skipIfUnchanged && lastSuccess(overlay) == hash;
    // The unit's own environment, for every process systemd starts for it:
    // the relay, and the ExecStopPost= that runs as root. Only values of the
    // daemon's; the caller's reach the script alone (caller-environment).
    std::string environment = "SOURCE_DATE_EPOCH=" + std::to_string(sourceDateEpoch(hash)) + "\n" +
                              "LEFT4ME_BUILD_HASH=" + hash + "\n" +
                              // For left4me-build-run, which stops the build there.
                              std::string(logLimitVariable) + "=" + std::to_string(config_.maxLogBytes) + "\n";

    // Public egress stops short of the host itself: its networks as they are
    // now leave the build's allow list. Not knowing them, no build starts.
    std::optional<std::vector<net::IpPrefix>> hostNetworks;
    if (options.network == Network::publicOnly && !skip)
    {
        try
        {
            hostNetworks = kernel_.hostNetworks();
        }
        catch (const std::exception& e)
        {
            throw OpError(ErrorKind::failed,
                          std::string("Cannot list the host's network addresses, which a build must not "
                                      "reach, so no build starts: ") +
                              e.what());
        }
    }
    uint64_t id = allocateId();
    auto stateDir = paths_.stateDir + "/jobs/" + std::to_string(id);
    auto runtimeDir = paths_.runtimeDir + "/jobs/" + std::to_string(id);
    std::shared_ptr<const BindSource> source;
    try
    {
        fs::create_directory(stateDir);
        fs::permissions(stateDir, fs::perms::owner_all);
        // The sandbox reads the script through a read-only bind of this file.
        writeNewFile(stateDir + "/script", script, 0644);
        // Read by systemd (EnvironmentFile=) as root, never by the sandbox.
        writeNewFile(stateDir + "/environment", environment, 0600);
        // The caller's variables, for the script alone: the relay reads
        // them through a read-only bind and hands them to the shell, so they
        // never shape the relay itself (LD_PRELOAD, GLIBC_TUNABLES, ...).
        // Readable by the build's dynamic user; the 0700 job directory keeps
        // everyone else out.
        std::string callerEnvironment;
        for (const auto& entry : options.environment)
        {
            callerEnvironment.append(entry).push_back('\0');
        }
        writeNewFile(stateDir + "/caller-environment", callerEnvironment, 0644);
        LogFile::create(stateDir + "/log");
        // Where the unit's ExecStopPost= (as root) records how it ended: a
        // bind in the sandbox, which cannot open it (root's, 0700).
        fs::create_directory(stateDir + "/exit");
        fs::permissions(stateDir + "/exit", fs::perms::owner_all);
        if (skip)
        {
            // Nothing will run: the overlay is checked as for a build, but
            // not bound (so skipping works even where idmapping does not).
            (void)kernel_.openOverlay(config_.overlaysRoot, overlay, false);
        }
        else
        {
            fs::create_directories(runtimeDir);
            fs::create_directories(runtimeDir + "/overlay");
            // Resolved now, bound once systemd has given the build its user:
            // the script runs as a dynamic user of its own, yet what it
            // writes must land owned by the owner user.
            (void)userIds(config_.ownerUser); // before anything runs: it must exist
            source = kernel_.openOverlay(config_.overlaysRoot, overlay, true);
        }
    }
    catch (const KernelUnsupported&)
    {
        fs::remove_all(stateDir);
        fs::remove_all(runtimeDir);
        throw; // authorizeThen answers it, as for every method
    }
    catch (const BindError& e)
    {
        fs::remove_all(stateDir);
        fs::remove_all(runtimeDir);
        if (e.error() == EOPNOTSUPP)
        {
            throw OpError(ErrorKind::unsupportedFilesystem,
                          "The overlay " + config_.overlaysRoot + "/" + overlay +
                              " is on a filesystem that cannot be idmapped (overlayfs cannot); keep "
                              "overlays_root on ext4, xfs, btrfs or tmpfs.");
        }
        if (e.error() == ENOENT || e.error() == ENOTDIR || e.error() == ELOOP || e.error() == EXDEV)
        {
            throw OpError(ErrorKind::invalidArgument,
                          "Argument overlay: " + config_.overlaysRoot + "/" + overlay +
                              " must be an existing directory, reached without symlinks and on the same "
                              "filesystem as " +
                              config_.overlaysRoot + ". Create it first.");
        }
        throw OpError(ErrorKind::failed, std::string("Cannot mount the overlay for the build: ") + e.what());
    }
    catch (const std::exception& e)
    {
        fs::remove_all(stateDir);
        fs::remove_all(runtimeDir);
        throw OpError(ErrorKind::failed, std::string("Cannot prepare the build: ") + e.what());
    }

    JobInfo info;
    info.id = id;
    info.overlay = overlay;
    info.unit = unit::buildUnitName(id);
    info.owner = owner;
    info.createdAt = clock::realtimeUsec();
    info.buildHash = hash;
    constexpr uint64_t usecPerSec = 1000000;
    info.deadline = skip ? 0 : info.createdAt + options.limits.timeoutSec * usecPerSec;
    auto* raw = publish(std::make_unique<BuildJob>(std::move(info), stateDir, BindMount(), systemd_));
    runningOverlays_[overlay] = id;
    log::info("Build " + std::to_string(id) + " of overlay " + overlay + " starting as " + raw->info().unit,
              {{"MESSAGE_ID", messageId::buildStarted},
               {"LEFT4ME_JOB", std::to_string(id)},
               {"LEFT4ME_OVERLAY", overlay},
               {"LEFT4ME_CALLER_UID", std::to_string(owner)},
               {"UNIT", raw->info().unit}});
    if (skip)
    {
        raw->skip();
        return reply(id);
    }
    raw->start(buildUnitProperties(options), std::move(hostNetworks), config_.timeoutWarningPercent,
               overlayBinder(id, overlay, std::move(source)));
    reply(id);
}

OverlayBinder BuildService::overlayBinder(uint64_t id, const std::string& overlay,
                                          std::shared_ptr<const BindSource> source)
{
    auto target = paths_.runtimeDir + "/jobs/" + std::to_string(id) + "/overlay";
    return [this, target, overlay, source = std::move(source)](uid_t uid, gid_t gid) {
        auto owner = userIds(config_.ownerUser);
        // One user namespace per build: it maps this build's user, and no
        // other, onto the owner.
        return kernel_.bindOverlay(source, config_.overlaysRoot, overlay, target,
                                   Idmap{uid, gid, owner.uid, owner.gid});
    };
}

std::size_t BuildService::awaitingOverlay() const
{
    return static_cast<std::size_t>(
        std::count_if(jobs_.begin(), jobs_.end(), [](const auto& entry) { return entry.second->awaitingOverlay(); }));
}

void BuildService::cancel(uint64_t id, const Reply<Done>& reply)
{
    auto* job = find(id);
    if (job == nullptr)
    {
        throw OpError(ErrorKind::noSuchJob, "Job " + std::to_string(id) + " no longer exists.");
    }
    job->cancel([reply](const std::string& problem) {
        if (problem.empty())
        {
            return reply(Done{});
        }
        reply(OpError(ErrorKind::failed, "systemd could not stop the build: " + problem));
    });
}

BuildJob* BuildService::find(uint64_t id) const
{
    auto it = jobs_.find(id);
    return it == jobs_.end() ? nullptr : it->second.get();
}

BuildJob* BuildService::publish(std::unique_ptr<BuildJob> job, bool save)
{
    auto* raw = job.get();
    uint64_t id = raw->info().id;
    jobs_[id] = std::move(job);
    if (save)
    {
        saveRecord(*raw);
    }
    if (jobCreated_)
    {
        jobCreated_(*raw);
    }
    // The service's own bookkeeping, before the bus object publishes anything.
    BuildJob::Hooks hooks;
    // Running is recorded too: after a crash, a unit that is gone then
    // means it ran and succeeded, not that it never started. So is the
    // timeout warning, which a restarted daemon must not give again.
    hooks.changed = [this, raw](const auto& properties) {
        auto has = [&](const char* name) {
            return std::find(properties.begin(), properties.end(), name) != properties.end();
        };
        if ((raw->info().state == JobState::running && has("State")) || has("TimeoutWarned"))
        {
            saveRecord(*raw);
        }
    };
    hooks.finished = [this, raw] {
        // Only its own claim: a job of an earlier boot, ended at recovery,
        // must not free the overlay for a build adopted from this one.
        if (auto claim = runningOverlays_.find(raw->info().overlay);
            claim != runningOverlays_.end() && claim->second == raw->info().id)
        {
            runningOverlays_.erase(claim);
        }
        if (raw->info().state == JobState::succeeded && raw->info().result == "success")
        {
            rememberSuccess(raw->info().overlay, raw->info().buildHash);
        }
        saveRecord(*raw);
        // The mount point goes, and then its directory. A job that was
        // never bound (its unit never ran, or systemd refused it) still has
        // the empty mount point the start made. Never remove_all here:
        // through a mount that is still there it would delete the overlay's
        // files; rmdir of a mount point fails (EBUSY) and leaves it alone.
        std::error_code ignored;
        auto runtimeDir = paths_.runtimeDir + "/jobs/" + std::to_string(raw->info().id);
        fs::remove(runtimeDir + "/overlay", ignored);
        fs::remove(runtimeDir, ignored);
        // Not from inside the job's own callback: from the loop, once.
        if (!pruneSource_)
        {
            pruneSource_ = GlibSource::idle([this] {
                prune();
                return false;
            });
        }
    };
    raw->setHooks(std::move(hooks));
    return raw;
}

void BuildService::saveRecord(const BuildJob& job) const
{
    try
    {
        JobRecord record{job.info(), bootId_, std::nullopt};
        if (job.log().finished()) // only once the job has ended
        {
            record.log = job.log().extent();
        }
        replaceFile(paths_.stateDir + "/jobs/" + std::to_string(job.info().id) + "/job.json",
                    serializeJobRecord(record), 0600);
    }
    catch (const std::exception& e)
    {
        // The job itself goes on; only a later daemon could not adopt it.
        log::warning(std::string("Cannot record job state: ") + e.what(),
                     {{"LEFT4ME_JOB", std::to_string(job.info().id)}});
    }
}

void BuildService::recover()
{
    std::error_code ec;
    std::vector<uint64_t> ids;
    for (const auto& entry : fs::directory_iterator(paths_.stateDir + "/jobs", ec))
    {
        auto name = entry.path().filename().string();
        if (!name.empty() && name.find_first_not_of("0123456789") == std::string::npos)
        {
            ids.push_back(std::strtoull(name.c_str(), nullptr, 10));
        }
    }
    // Newest first, so that retention is decided from the records alone:
    // the logs of jobs it removes are never read.
    std::sort(ids.rbegin(), ids.rend());
    std::size_t newerEnded = 0;
    for (auto id : ids)
    {
        recoverJob(id, newerEnded);
    }
    // Mounts of jobs that left no record (an older daemon): never leave them.
    for (const auto& entry : fs::directory_iterator(paths_.runtimeDir + "/jobs", ec))
    {
        uint64_t id = std::strtoull(entry.path().filename().c_str(), nullptr, 10);
        if (!jobs_.contains(id))
        {
            kernel_.detach(entry.path().string() + "/overlay");
            std::error_code ignored;
            fs::remove(entry.path(), ignored); // only if the detach left it empty
        }
    }
}

bool BuildService::expired(const JobInfo& info, std::size_t newerEnded) const
{
    uint64_t now = clock::realtimeUsec();
    return newerEnded >= config_.jobRetentionCount ||
           (info.finishedAt != 0 && now > info.finishedAt && now - info.finishedAt > config_.jobRetentionSec * 1000000);
}

void BuildService::prune()
{
    std::vector<uint64_t> doomed;
    std::size_t newerEnded = 0;
    for (auto it = jobs_.rbegin(); it != jobs_.rend(); ++it) // newest first
    {
        if (!it->second->ended())
        {
            continue;
        }
        if (expired(it->second->info(), newerEnded))
        {
            doomed.push_back(it->first);
        }
        ++newerEnded;
    }
    for (auto id : doomed)
    {
        removeJob(id);
    }
}

void BuildService::removeJob(uint64_t id)
{
    if (jobRemoved_)
    {
        jobRemoved_(id);
    }
    jobs_.erase(id);
    std::error_code ignored;
    fs::remove_all(paths_.stateDir + "/jobs/" + std::to_string(id), ignored);
    log::debug("Removed ended job " + std::to_string(id) + " (retention)", {{"LEFT4ME_JOB", std::to_string(id)}});
}

void BuildService::recoverJob(uint64_t id, std::size_t& newerEnded)
{
    auto stateDir = paths_.stateDir + "/jobs/" + std::to_string(id);
    auto runtimeDir = paths_.runtimeDir + "/jobs/" + std::to_string(id);
    std::ifstream in(stateDir + "/job.json");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto record = parseJobRecord(text);
    if (!record || record->info.id != id)
    {
        return; // no record, or one we cannot read: left alone, never guessed
    }
    const auto& info = record->info;
    if (isEnded(info.state))
    {
        if (expired(info, newerEnded++))
        {
            std::error_code ignored;
            fs::remove_all(stateDir, ignored);
            return;
        }
        auto job = std::make_unique<BuildJob>(info, stateDir, BindMount(), systemd_);
        job->restoreEnded(record->log);
        // Its record stays as it is, unless it lacked the log's extent.
        publish(std::move(job), !record->log);
        return;
    }
    if (!record->bootId.empty() && record->bootId != bootId_)
    {
        // The machine rebooted since: the unit, its overlay bind and its
        // runtime directory went with the old boot, and systemd knows
        // nothing of how the build ended.
        auto job = std::make_unique<BuildJob>(info, stateDir, BindMount(), systemd_);
        auto* raw = publish(std::move(job));
        log::notice("Build " + std::to_string(id) + " of overlay " + info.overlay +
                        " was running when the machine rebooted; it ends with result \"interrupted\"",
                    {{"LEFT4ME_JOB", std::to_string(id)}, {"LEFT4ME_OVERLAY", info.overlay}, {"UNIT", info.unit}});
        raw->endInterrupted();
        saveRecord(*raw);
        return;
    }
    // Running, or ended while no daemon watched: adopted either way, and
    // systemd's verdict ends it at once in the second case. An earlier
    // daemon may have died before it bound the overlay: bind it then.
    auto target = runtimeDir + "/overlay";
    bool bound = kernel_.isMounted(target);
    auto job = std::make_unique<BuildJob>(info, stateDir, bound ? BindMount::adopt(target) : BindMount(), systemd_);
    auto* raw = publish(std::move(job));
    runningOverlays_[info.overlay] = id;
    log::notice("Adopting build " + std::to_string(id) + " of overlay " + info.overlay +
                    " from an earlier run of the daemon",
                {{"LEFT4ME_JOB", std::to_string(id)}, {"LEFT4ME_OVERLAY", info.overlay}, {"UNIT", info.unit}});
    raw->adopt(config_.timeoutWarningPercent, bound ? OverlayBinder() : overlayBinder(id, info.overlay, nullptr));
}

} // namespace left4me
