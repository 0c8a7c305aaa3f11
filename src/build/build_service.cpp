#include "build/build_service.hpp"

#include "build/cgroup_controllers.hpp"
#include "build/unit_properties.hpp"
#include "bus/names.hpp"
#include "systemd/unit_names.hpp"
#include "util/clock.hpp"
#include "util/join.hpp"
#include "util/log.hpp"
#include "util/users.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <system_error>

namespace left4me {

namespace fs = std::filesystem;

namespace {

void writeFile(const std::string& path, const std::string& content, mode_t mode)
{
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode));
    if (!fd)
    {
        throw std::system_error(errno, std::generic_category(), "cannot create " + path);
    }
    std::string_view rest = content;
    while (!rest.empty())
    {
        auto n = ::write(fd.get(), rest.data(), rest.size());
        if (n < 0 && errno == EINTR)
        {
            continue;
        }
        if (n < 0)
        {
            throw std::system_error(errno, std::generic_category(), "cannot write " + path);
        }
        rest.remove_prefix(static_cast<std::size_t>(n));
    }
    // The mode must not depend on the daemon's umask.
    (void)::fchmod(fd.get(), mode);
}

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

} // namespace

BuildService::BuildService(const Config& config, BuildPaths paths, SystemdClient& systemd)
    : config_(config), paths_(std::move(paths)), systemd_(systemd)
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
}

uint64_t BuildService::allocateId()
{
    while (fs::exists(paths_.stateDir + "/jobs/" + std::to_string(nextId_)))
    {
        ++nextId_;
    }
    uint64_t id = nextId_++;
    auto tmp = paths_.stateDir + "/next-job-id.tmp";
    {
        std::ofstream out(tmp, std::ios::trunc);
        out << nextId_ << '\n';
    }
    fs::rename(tmp, paths_.stateDir + "/next-job-id");
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
    auto path = paths_.stateDir + "/last-success/" + overlay;
    {
        std::ofstream out(path + ".tmp", std::ios::trunc);
        out << hash << '\n';
    }
    fs::rename(path + ".tmp", path, ignored);
}

std::size_t BuildService::runningFor(uid_t owner) const
{
    return static_cast<std::size_t>(
        std::count_if(runningOverlays_.begin(), runningOverlays_.end(), [&](const auto& entry) {
            auto job = jobs_.find(entry.second);
            return job != jobs_.end() && job->second->info().owner == owner;
        }));
}

void BuildService::start(uid_t owner, const std::string& overlay, const std::string& script,
                         const BuildOptions& options, Started done)
{
    if (auto busy = runningOverlays_.find(overlay); busy != runningOverlays_.end())
    {
        throw sdbus::Error(names::error::busy, "Overlay \"" + overlay + "\" is being built by job " +
                                                   std::to_string(busy->second) +
                                                   "; wait for it to finish or cancel it first.");
    }
    if (running() >= config_.maxRunningBuilds)
    {
        throw sdbus::Error(names::error::limitsExceeded, std::to_string(running()) +
                                                             " builds are running, the configured maximum " +
                                                             "(max_running_builds); try again when one has finished.");
    }
    if (auto mine = runningFor(owner); mine >= config_.maxRunningBuildsPerUser)
    {
        throw sdbus::Error(names::error::limitsExceeded,
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
            throw sdbus::Error(names::error::limitsUnenforceable,
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
    std::string environment =
        "SOURCE_DATE_EPOCH=" + std::to_string(sourceDateEpoch(hash)) + "\n" + "LEFT4ME_BUILD_HASH=" + hash + "\n";
    for (const auto& entry : options.environment)
    {
        environment += entry + "\n";
    }

    uint64_t id = allocateId();
    auto stateDir = paths_.stateDir + "/jobs/" + std::to_string(id);
    auto runtimeDir = paths_.runtimeDir + "/jobs/" + std::to_string(id);
    BindMount bind;
    try
    {
        fs::create_directory(stateDir);
        fs::permissions(stateDir, fs::perms::owner_all);
        // The sandbox reads the script through a read-only bind of this file.
        writeFile(stateDir + "/script", script, 0644);
        // Read by systemd (EnvironmentFile=) as root, never by the sandbox.
        writeFile(stateDir + "/environment", environment, 0600);
        LogFile::create(stateDir + "/log");
        if (skip)
        {
            // Nothing will run: the overlay is checked as for a build, but
            // not bound (so skipping works even where idmapping does not).
            BindMount::checkSource(config_.overlaysRoot, overlay);
        }
        else
        {
            fs::create_directories(runtimeDir);
            // The script runs as the sandbox user, but what it writes must
            // land owned by the owner user: the bind is idmapped sandbox ->
            // owner.
            auto owner = userIds(config_.ownerUser);
            auto sandbox = userIds(config_.sandboxUser);
            Idmap idmap{sandbox.uid, sandbox.gid, owner.uid, owner.gid};
            bind = BindMount::create(config_.overlaysRoot, overlay, runtimeDir + "/overlay", &idmap);
        }
    }
    catch (const BindError& e)
    {
        fs::remove_all(stateDir);
        fs::remove_all(runtimeDir);
        if (e.error() == EOPNOTSUPP)
        {
            throw sdbus::Error(names::error::unsupportedFilesystem,
                               "The overlay " + config_.overlaysRoot + "/" + overlay +
                                   " is on a filesystem that cannot be idmapped (overlayfs cannot); keep "
                                   "overlays_root on ext4, xfs, btrfs or tmpfs.");
        }
        if (e.error() == ENOENT || e.error() == ENOTDIR || e.error() == ELOOP || e.error() == EXDEV)
        {
            throw sdbus::Error(names::error::invalidArgument,
                               "Argument overlay: " + config_.overlaysRoot + "/" + overlay +
                                   " must be an existing directory, reached without symlinks and on the same "
                                   "filesystem as " +
                                   config_.overlaysRoot + ". Create it first.");
        }
        throw sdbus::Error(names::error::failed, std::string("Cannot mount the overlay for the build: ") + e.what());
    }
    catch (const std::exception& e)
    {
        fs::remove_all(stateDir);
        fs::remove_all(runtimeDir);
        throw sdbus::Error(names::error::failed, std::string("Cannot prepare the build: ") + e.what());
    }

    JobInfo info;
    info.id = id;
    info.overlay = overlay;
    info.unit = unit::buildUnitName(id);
    info.owner = owner;
    info.createdAt = clock::realtimeUsec();
    info.buildHash = hash;
    auto job = std::make_unique<BuildJob>(std::move(info), stateDir + "/log", std::move(bind), systemd_);
    auto* raw = job.get();
    jobs_[id] = std::move(job);
    runningOverlays_[overlay] = id;
    if (jobCreated_)
    {
        jobCreated_(*raw);
    }
    log::info("Build " + std::to_string(id) + " of overlay " + overlay + " starting as " + raw->info().unit,
              {{"MESSAGE_ID", names::messageId::buildStarted},
               {"LEFT4ME_JOB", std::to_string(id)},
               {"LEFT4ME_OVERLAY", overlay},
               {"LEFT4ME_CALLER_UID", std::to_string(owner)},
               {"UNIT", raw->info().unit}});

    // Whatever the bus layer listens to, the service must learn of the end
    // too, to free the overlay for the next build.
    auto events = raw->events();
    events.finished = [this, raw, runtimeDir, inner = std::move(events.finished)] {
        runningOverlays_.erase(raw->info().overlay);
        if (raw->info().state == JobState::succeeded && raw->info().result == "success")
        {
            rememberSuccess(raw->info().overlay, raw->info().buildHash);
        }
        // The mount point went with the mount; its directory goes too.
        std::error_code ignored;
        fs::remove(runtimeDir, ignored);
        if (inner)
        {
            inner();
        }
        if (jobEnded_)
        {
            jobEnded_(*raw);
        }
    };
    raw->setEvents(std::move(events));
    if (skip)
    {
        raw->skip();
        done(raw, nullptr);
        return;
    }
    raw->start(buildUnitProperties(options), options.limits.timeoutSec,
               [raw, done = std::move(done)](const std::string& problem) {
                   if (problem.empty())
                   {
                       done(raw, nullptr);
                       return;
                   }
                   sdbus::Error error(names::error::failed,
                                      "systemd could not start the build unit " + raw->info().unit + ": " + problem);
                   done(raw, &error);
               });
}

BuildJob* BuildService::find(uint64_t id) const
{
    auto it = jobs_.find(id);
    return it == jobs_.end() ? nullptr : it->second.get();
}

void BuildService::cleanStaleMounts()
{
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(paths_.runtimeDir + "/jobs", ec))
    {
        auto name = entry.path().filename().string();
        uint64_t id = std::strtoull(name.c_str(), nullptr, 10);
        auto dir = entry.path().string();
        systemd_.activeState(unit::buildUnitName(id), [dir](const sdbus::Error* error, const std::string& state) {
            if (error == nullptr && (state == "active" || state == "activating" || state == "deactivating"))
            {
                log::warning("A build from an earlier run of the daemon is still running; leaving its mount",
                             {{"LEFT4ME_MOUNT", dir + "/overlay"}});
                return;
            }
            BindMount::detach(dir + "/overlay");
            std::error_code ignored;
            fs::remove_all(dir, ignored);
        });
    }
}

} // namespace left4me
