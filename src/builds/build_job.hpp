#pragma once

#include "builds/log_file.hpp"
#include "kernel/bind_mount.hpp"
#include "loop/glib_source.hpp"
#include "systemd/systemd.hpp"

#include <glib.h>
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace left4me {

enum class JobState
{
    starting,
    running,
    succeeded,
    failed,
    cancelled,
};

std::string_view toString(JobState state);

struct JobInfo
{
    uint64_t id = 0;
    std::string overlay;
    std::string unit;
    uid_t owner = 0;
    uint64_t createdAt = 0; // µs since the epoch
    uint64_t finishedAt = 0;
    JobState state = JobState::starting;
    std::string result;
    int32_t exitStatus = -1;
    std::string buildHash;
    double progress = -1; // 0..1, -1 unknown: see build/progress.hpp
    std::string statusText;
    // µs since the epoch at which the build is stopped (createdAt plus
    // timeout_sec); 0 for a job that never runs (a skipped build).
    uint64_t deadline = 0;
    // The warning before the deadline was given: once per job, across
    // restarts of the daemon (the record keeps it).
    bool timeoutWarned = false;
};

// When a build from CREATED_AT to DEADLINE (µs since the epoch) is warned:
// once PERCENT of its time has passed. 0 (never) for PERCENT 0 or no deadline.
[[nodiscard]] uint64_t timeoutWarningAt(uint64_t createdAt, uint64_t deadline, uint32_t percent);

// Binds a build's overlay at its mount point, idmapped from the user systemd
// runs the build as (UID, GID) onto the owner. Throws on failure.
using OverlayBinder = std::function<BindMount(uid_t uid, gid_t gid)>;

// One build from start to end: it starts the template instance, follows its
// state through systemd's signals, follows its log file, and on the end
// collects systemd's verdict, detaches the overlay mount and drops its unit
// reference. It knows nothing of the bus; the owner is told through Events.
class BuildJob
{
  public:
    // What happens to the job, told to two listeners, each with a slot of
    // its own: the service that owns the job (its bookkeeping, first) and
    // an observer (its bus object, which publishes it).
    struct Hooks
    {
        std::function<void(uint64_t firstLine, const std::vector<std::string>& lines)> log;
        std::function<void(const std::vector<std::string>& properties)> changed;
        std::function<void()> finished;
    };
    struct Events
    {
        std::function<void(uint64_t firstLine, std::vector<std::string>&& lines)> log;
        std::function<void(const std::vector<std::string>& properties)> changed;
        std::function<void()> finished;
        // The warning before the timeout, right after TimeoutWarned changed.
        std::function<void()> timeoutWarning;
    };

    // JOB_DIR is the job's state directory: its log, and exit/record, which
    // the unit's ExecStopPost= writes (builds/exit_record.hpp).
    BuildJob(JobInfo info, const std::string& jobDir, BindMount bind, Systemd& systemd);
    BuildJob(const BuildJob&) = delete;
    BuildJob& operator=(const BuildJob&) = delete;
    ~BuildJob();

    void setHooks(Hooks hooks) { hooks_ = std::move(hooks); }
    void setObserver(Events observer) { observer_ = std::move(observer); }

    // Sets PROPERTIES on the instance and starts it, returning at once.
    // Once it runs, BIND mounts the overlay for the build's dynamic user
    // (the sandbox's relay waits for it). If systemd refuses, or the overlay
    // cannot be bound, the job ends failed with result "resources" and its
    // StatusText says why. info().deadline bounds the run: past it the unit
    // is stopped and the job ends failed with result "timeout"; once
    // WARNING_PERCENT of its time has passed (0: never), the job warns
    // (Events::timeoutWarning) unless it has ended.
    // With HOST_NETWORKS (network "public"), the template's IP allow list is
    // read from systemd and set on the instance less those networks (see
    // publicEgress()) before it starts.
    void start(std::vector<UnitProperty> properties, std::optional<std::vector<net::IpPrefix>> hostNetworks,
               uint32_t warningPercent, OverlayBinder bind);
    // Ends the job as succeeded with result "skipped" without running
    // anything: skip_if_unchanged found the same inputs built before.
    void skip();
    // Takes over a build an earlier run of the daemon started: watches the
    // unit, follows the log from its start, warns and stops the build at
    // the same times as start() would. A warning point passed while no
    // daemon watched is made up for once systemd says the unit still runs,
    // unless info().timeoutWarned says it was given. If the unit has ended
    // meanwhile, the job ends at once with systemd's verdict. BIND, if set,
    // mounts the overlay that the earlier daemon died before mounting.
    void adopt(uint32_t warningPercent, OverlayBinder bind = {});
    // A job that ended before this daemon started, as info() says. Its log
    // is taken as LOG (the record's count) when the file agrees; otherwise
    // it is read to count its lines.
    void restoreEnded(std::optional<LogExtent> log);
    // Ends a job recorded as running in an earlier boot: failed, result
    // "interrupted", exit status -1.
    void endInterrupted();
    // The daemon is exiting: a running build keeps its mount for the next
    // daemon to adopt.
    void leaveRunning() { bind_.release(); }
    // Stops the unit; the job ends cancelled once systemd reports it down.
    void cancel(std::function<void(std::string)> done);

    [[nodiscard]] const JobInfo& info() const { return info_; }
    [[nodiscard]] bool ended() const { return ended_; }
    // Started, with its overlay still to bind.
    [[nodiscard]] bool awaitingOverlay() const { return !ended_ && binder_ != nullptr; }
    [[nodiscard]] const LogFile& log() const { return log_; }

  private:
    // Wraps a callback from systemd so that it does nothing if this job is
    // gone by the time the reply arrives.
    template <typename F> auto guarded(F f)
    {
        return [alive = std::weak_ptr<BuildJob*>(alive_), f = std::move(f)](auto&&... args) mutable {
            auto p = alive.lock();
            if (p && *p != nullptr)
            {
                f(std::forward<decltype(args)>(args)...);
            }
        };
    }
    // Arms the stop at info().deadline and the warning before it.
    void armDeadline(uint32_t warningPercent);
    bool onTimeout();
    // Warns if the warning point has passed, the warning was not given yet,
    // and nothing is ending the build.
    void warnIfDue();
    void onLog(uint64_t first, std::vector<std::string>& lines);
    void failStart(const std::string& step, const std::string& why);
    // Sets PROPERTIES on the instance, then starts it.
    void configureAndStart(const std::vector<UnitProperty>& properties);
    // Asks systemd which user the running unit got, and binds the overlay
    // for it; then looks at the unit's state as after its start job.
    void bindOverlay(unsigned attempt = 0);
    // The unit runs but cannot do its work: stop it, and end "resources".
    void abandon(const std::string& reason);
    void onStartJobRemoved(const std::string& result);
    void onActiveState(const std::string& state);
    // Asks systemd for the unit's state, then as onActiveState().
    void onActiveStateNow();
    // Ends a job whose unit systemd collected unseen, from its exit record.
    void settleCollected();
    void finishWith(std::string result, int32_t exitStatus);
    void changed(const std::vector<std::string>& properties);
    void finished();
    void collect();
    void stop(std::function<void(std::string)> done);

    JobInfo info_;
    LogFile log_;
    std::string exitRecordPath_;
    BindMount bind_;
    OverlayBinder binder_; // set until the overlay is bound
    GlibSource bindRetry_;
    Systemd& systemd_;
    Hooks hooks_;
    Events observer_;
    Subscription watch_;
    bool startJobDone_ = false;
    bool collecting_ = false;
    bool ended_ = false;
    bool cancelRequested_ = false;
    bool timedOut_ = false;
    bool abandoned_ = false;
    // The sandbox's relay said the log reached its size limit.
    bool logLimitHit_ = false;
    // The relay said it could not write the log (a full disk).
    bool logWriteFailed_ = false;
    GlibSource timer_;
    uint64_t warnAt_ = 0; // µs since the epoch; 0: no warning (due)
    GlibSource warnTimer_;
    // Callbacks from systemd may arrive after we are gone; they hold this.
    std::shared_ptr<BuildJob*> alive_;
};

} // namespace left4me
