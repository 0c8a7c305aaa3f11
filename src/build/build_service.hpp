#pragma once

#include "build/build_job.hpp"
#include "build/build_options.hpp"
#include "util/config.hpp"

#include <sdbus-c++/Error.h>
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
    using Started = std::function<void(BuildJob* job, const sdbus::Error* error)>;

    BuildService(const Config& config, BuildPaths paths, SystemdClient& systemd);

    // Told about every new job before it starts, so its bus object exists
    // before it can emit anything.
    void onJobCreated(std::function<void(BuildJob&)> hook) { jobCreated_ = std::move(hook); }
    // Told whenever a job ends.
    void onJobEnded(std::function<void(BuildJob&)> hook) { jobEnded_ = std::move(hook); }

    void start(uid_t owner, const std::string& overlay, const std::string& script, const BuildOptions& options,
               Started done);

    [[nodiscard]] BuildJob* find(uint64_t id) const;
    [[nodiscard]] std::size_t running() const { return runningOverlays_.size(); }
    [[nodiscard]] std::size_t runningFor(uid_t owner) const;

    // Detaches mounts an earlier daemon left behind for builds that are no
    // longer running.
    void cleanStaleMounts();

  private:
    uint64_t allocateId();
    // The hash of the last successful build of OVERLAY, for skip_if_unchanged.
    std::string lastSuccess(const std::string& overlay) const;
    void rememberSuccess(const std::string& overlay, const std::string& hash) const;

    const Config& config_;
    BuildPaths paths_;
    SystemdClient& systemd_;
    std::map<uint64_t, std::unique_ptr<BuildJob>> jobs_;
    std::map<std::string, uint64_t> runningOverlays_;
    std::function<void(BuildJob&)> jobCreated_;
    std::function<void(BuildJob&)> jobEnded_;
    uint64_t nextId_ = 0;
};

} // namespace left4me
