#pragma once

#include "builds/build_job.hpp"
#include "builds/build_kernel.hpp"
#include "builds/build_request.hpp"
#include "kernel/idmap.hpp"
#include "loop/glib_source.hpp"
#include "ops/reply.hpp"
#include "util/config.hpp"

#include <glib.h>
#include <sys/types.h>

#include <functional>
#include <map>
#include <memory>
#include <string>

namespace left4me {

struct BuildPaths
{
    std::string stateDir;   // jobs/<id>/{script,log}
    std::string runtimeDir; // jobs/<id>/overlay, the mount the unit binds
};

// Starts builds and keeps their jobs. The operation layer between the bus
// (which has validated and authorized the call) and systemd and the kernel.
class BuildService
{
  public:
    BuildService(const Config& config, BuildPaths paths, Systemd& systemd, BuildKernel kernel = realBuildKernel());
    BuildService(const BuildService&) = delete;
    BuildService& operator=(const BuildService&) = delete;
    // Builds outlive the daemon: running ones keep their mounts.
    ~BuildService();

    // Told about every new job before it starts, so its bus object exists
    // before it can emit anything.
    void onJobCreated(std::function<void(BuildJob&)> hook) { jobCreated_ = std::move(hook); }
    // Told before an ended job is removed for good (retention).
    void onJobRemoved(std::function<void(uint64_t id)> hook) { jobRemoved_ = std::move(hook); }

    // Creates, records and publishes the job, then asks systemd to start
    // its unit and returns the job without waiting for systemd: a refusal
    // ends the job (see BuildJob::start). Throws OpError, with nothing
    // left behind, for what the caller can mend (a busy overlay, limits, a
    // missing overlay directory, ...).
    void start(const BuildRequest& request, const Reply<uint64_t>& reply);

    // Stops build ID: SIGTERM, then SIGKILL after 1 s; the job ends
    // cancelled. Answers once systemd has the stop. Throws OpError
    // (noSuchJob).
    void cancel(uint64_t id, const Reply<Done>& reply);

    [[nodiscard]] BuildJob* find(uint64_t id) const;
    // Builds whose unit was started but whose overlay is not bound yet.
    [[nodiscard]] std::size_t awaitingOverlay() const;
    [[nodiscard]] std::size_t running() const { return runningOverlays_.size(); }
    [[nodiscard]] std::size_t runningFor(uid_t owner) const;

    // Republishes the jobs an earlier run of the daemon recorded: ended ones
    // as they ended, running ones adopted (their unit watched, their log
    // followed, their mount detached at the end, their timeout and its
    // warning re-armed), and
    // ones that ended unwatched with the outcome the template recorded.
    // Detaches mounts no job owns. Call once the bus layer's hooks are set.
    void recover();

  private:
    uint64_t allocateId();
    // Owns JOB, records it on disk (unless !SAVE), tells the bus layer and
    // hooks its end.
    BuildJob* publish(std::unique_ptr<BuildJob> job, bool save = true);
    void saveRecord(const BuildJob& job) const;
    // NEWER_ENDED: ended jobs newer than ID already kept, for retention.
    void recoverJob(uint64_t id, std::size_t& newerEnded);
    // Removes ended jobs past job_retention_sec or beyond the newest
    // job_retention_count: bus object, record and log together.
    void prune();
    [[nodiscard]] bool expired(const JobInfo& info, std::size_t newerEnded) const;
    void removeJob(uint64_t id);
    // Binds SOURCE (or, if null, OVERLAY resolved anew when called) at job
    // ID's mount point, idmapped from the build's user onto the owner.
    OverlayBinder overlayBinder(uint64_t id, const std::string& overlay, std::shared_ptr<const BindSource> source);
    // The hash of the last successful build of OVERLAY, for skip_if_unchanged.
    std::string lastSuccess(const std::string& overlay) const;
    void rememberSuccess(const std::string& overlay, const std::string& hash) const;

    const Config& config_;
    BuildPaths paths_;
    Systemd& systemd_;
    std::map<uint64_t, std::unique_ptr<BuildJob>> jobs_;
    std::map<std::string, uint64_t> runningOverlays_;
    std::function<void(BuildJob&)> jobCreated_;
    std::function<void(uint64_t)> jobRemoved_;
    BuildKernel kernel_;
    GlibSource pruneSource_;
    uint64_t nextId_ = 0;
    // See readBootId(): recorded with each job to tell a reboot from a restart.
    std::string bootId_;
};

} // namespace left4me
