#pragma once

#include "build/log_file.hpp"
#include "systemd/systemd_client.hpp"
#include "util/bind_mount.hpp"
#include "util/glib_source.hpp"

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
};

// One build from start to end: it starts the template instance, follows its
// state through systemd's signals, follows its log file, and on the end
// collects systemd's verdict, detaches the overlay mount and drops its unit
// reference. It knows nothing of the bus; the owner is told through Events.
class BuildJob
{
  public:
    struct Events
    {
        std::function<void(uint64_t firstLine, std::vector<std::string>&& lines)> log;
        std::function<void(const std::vector<std::string>& properties)> changed;
        std::function<void()> finished;
    };

    BuildJob(JobInfo info, std::string logPath, BindMount bind, SystemdClient& systemd);
    BuildJob(const BuildJob&) = delete;
    BuildJob& operator=(const BuildJob&) = delete;
    ~BuildJob();

    void setEvents(Events events) { events_ = std::move(events); }
    [[nodiscard]] const Events& events() const { return events_; }

    // Sets PROPERTIES on the instance and starts it, returning at once. If
    // systemd refuses, the job ends failed with result "resources" and its
    // StatusText says why. TIMEOUT_SEC bounds the run: past it the unit is
    // stopped and the job ends failed with result "timeout".
    void start(const std::vector<UnitProperty>& properties, uint64_t timeoutSec);
    // Ends the job as succeeded with result "skipped" without running
    // anything: skip_if_unchanged found the same inputs built before.
    void skip();
    // Takes over a build an earlier run of the daemon started: watches the
    // unit, follows the log from its start and stops the build after
    // REMAINING_SEC more seconds. If the unit has ended meanwhile, the job
    // ends at once with systemd's verdict.
    void adopt(uint64_t remainingSec);
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
    static gboolean onTimeout(gpointer data);
    void onLog(uint64_t first, std::vector<std::string>& lines);
    void failStart(const std::string& step, const sdbus::Error& error);
    void onStartJobRemoved(const std::string& result);
    void onActiveState(const std::string& state);
    void finishWith(std::string result, int32_t exitStatus);
    void collect();
    void stop(std::function<void(std::string)> done);

    JobInfo info_;
    LogFile log_;
    BindMount bind_;
    SystemdClient& systemd_;
    Events events_;
    sdbus::Slot watch_;
    bool startJobDone_ = false;
    bool collecting_ = false;
    bool ended_ = false;
    bool cancelRequested_ = false;
    bool timedOut_ = false;
    // The sandbox's relay said the log reached its size limit.
    bool logLimitHit_ = false;
    // The relay said it could not write the log (a full disk).
    bool logWriteFailed_ = false;
    GlibSource timer_;
    // Callbacks from systemd may arrive after we are gone; they hold this.
    std::shared_ptr<BuildJob*> alive_;
};

} // namespace left4me
