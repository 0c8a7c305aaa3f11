#include "builds/build_job.hpp"

#include "builds/progress.hpp"
#include "builds/unit_properties.hpp"
#include "bus/names.hpp"
#include "sandbox/stream_lines.hpp"
#include "systemd/unit_names.hpp"
#include "util/clock.hpp"
#include "util/log.hpp"

#include <algorithm>

namespace left4me {

std::string_view toString(JobState state)
{
    switch (state)
    {
    case JobState::starting:
        return "starting";
    case JobState::running:
        return "running";
    case JobState::succeeded:
        return "succeeded";
    case JobState::failed:
        return "failed";
    case JobState::cancelled:
        return "cancelled";
    }
    return "failed";
}

BuildJob::BuildJob(JobInfo info, std::string logPath, BindMount bind, SystemdClient& systemd)
    : info_(std::move(info)),
      log_(std::move(logPath), [this](uint64_t first, std::vector<std::string>&& lines) { onLog(first, lines); }),
      bind_(std::move(bind)), systemd_(systemd), alive_(std::make_shared<BuildJob*>(this))
{
}

void BuildJob::onLog(uint64_t first, std::vector<std::string>& lines)
{
    // The relay's closing line is the last thing it writes.
    if (!lines.empty())
    {
        auto [stream, text] = unmark(lines.back());
        logLimitHit_ = logLimitHit_ || (stream == Stream::err && text.rfind(logLimitMessage, 0) == 0);
        logWriteFailed_ = logWriteFailed_ || (stream == Stream::err && text.rfind(logWriteFailedMessage, 0) == 0);
    }
    bool progressed = false;
    for (const auto& line : lines)
    {
        if (auto report = parseProgressLine(line))
        {
            info_.progress = report->progress;
            info_.statusText = report->status;
            progressed = true;
        }
    }
    if (events_.log)
    {
        events_.log(first, std::move(lines));
    }
    // After the lines: a client sees the marker line, then the new values.
    if (progressed && events_.changed)
    {
        events_.changed({"Progress", "StatusText"});
    }
}

BuildJob::~BuildJob()
{
    *alive_ = nullptr;
}

void BuildJob::start(std::vector<UnitProperty> properties, std::optional<std::vector<net::IpPrefix>> hostNetworks,
                     uint64_t timeoutSec, OverlayBinder bind)
{
    binder_ = std::move(bind);
    timer_.reset(g_timeout_add_seconds(static_cast<guint>(timeoutSec), &BuildJob::onTimeout, this));
    // Watch before starting, so no state change can slip past us.
    try
    {
        watch_ = systemd_.watchActiveState(info_.unit, [this](const std::string& state) { onActiveState(state); });
    }
    catch (const sdbus::Error& e)
    {
        return failStart("cannot watch the unit's state", e);
    }
    log_.follow();
    // A reference keeps systemd from unloading the instance when it ends,
    // before we have read its result. The calls go out together (systemd
    // answers a connection's calls in order, so a failed RefUnit has ended
    // the job before a later reply is seen); StartUnit waits for the
    // properties, so that a build never runs without its limits.
    systemd_.refUnit(info_.unit, guarded([this](const sdbus::Error* error) {
                         if (error != nullptr)
                         {
                             failStart("cannot reference the unit", *error);
                         }
                     }));
    if (!hostNetworks)
    {
        return configureAndStart(properties);
    }
    systemd_.addressAllow(info_.unit,
                          guarded([this, properties = std::move(properties), host = std::move(*hostNetworks)](
                                      const sdbus::Error* error, const std::vector<net::IpPrefix>& allow) mutable {
                              if (ended_)
                              {
                                  return;
                              }
                              if (error != nullptr)
                              {
                                  return failStart("cannot read the template's IP allow list", *error);
                              }
                              auto egress = publicEgress(allow, host);
                              properties.insert(properties.end(), egress.begin(), egress.end());
                              configureAndStart(properties);
                          }));
}

void BuildJob::configureAndStart(const std::vector<UnitProperty>& properties)
{
    systemd_.setUnitProperties(
        info_.unit, properties, guarded([this](const sdbus::Error* error) {
            if (ended_)
            {
                return;
            }
            if (error != nullptr)
            {
                return failStart("cannot set the build limits on the unit", *error);
            }
            systemd_.startUnit(info_.unit, guarded([this](const sdbus::Error* error, const std::string& jobPath) {
                                   if (error != nullptr)
                                   {
                                       return failStart("cannot start the unit", *error);
                                   }
                                   systemd_.whenJobRemoved(jobPath, guarded([this](const std::string& result) {
                                                               onStartJobRemoved(result);
                                                           }));
                               }));
        }));
}

void BuildJob::adopt(uint64_t remainingSec, OverlayBinder bind)
{
    binder_ = std::move(bind);
    // The recorded state stays: "starting" if it never ran, as far as we know.
    startJobDone_ = true;
    timer_.reset(
        g_timeout_add_seconds(static_cast<guint>(std::max<uint64_t>(remainingSec, 1)), &BuildJob::onTimeout, this));
    try
    {
        watch_ = systemd_.watchActiveState(info_.unit, [this](const std::string& state) { onActiveState(state); });
    }
    catch (const sdbus::Error& e)
    {
        // It keeps running; its deadline still ends it.
        log::error("Cannot watch adopted unit " + info_.unit +
                       "; its end will be seen at its deadline: " + e.getMessage(),
                   {{"LEFT4ME_JOB", std::to_string(info_.id)}, {"UNIT", info_.unit}});
    }
    log_.follow();
    systemd_.refUnit(info_.unit, guarded([this](const sdbus::Error* error) {
                         if (error != nullptr)
                         {
                             log::warning("Cannot reference adopted unit " + info_.unit + ": " + error->getMessage(),
                                          {{"UNIT", info_.unit}});
                         }
                     }));
    if (binder_)
    {
        // The earlier daemon died before it bound the overlay: the relay
        // is still waiting for it.
        return bindOverlay();
    }
    // It may have ended between the look that found it running and the watch.
    systemd_.activeState(info_.unit, guarded([this](const sdbus::Error* error, const std::string& state) {
                             onActiveState(error != nullptr ? std::string("inactive") : state);
                         }));
}

void BuildJob::restoreEnded(std::optional<LogExtent> log)
{
    ended_ = true;
    if (!log || !log_.restore(*log))
    {
        log_.finish();
    }
}

void BuildJob::endInterrupted()
{
    startJobDone_ = true;
    finishWith("interrupted", -1);
}

void BuildJob::failStart(const std::string& step, const sdbus::Error& error)
{
    if (ended_)
    {
        return;
    }
    auto reason = "systemd could not start " + info_.unit + ": " + step + ": " + error.getMessage();
    log::error("Build " + std::to_string(info_.id) + " could not start: " + reason,
               {{"LEFT4ME_JOB", std::to_string(info_.id)}, {"UNIT", info_.unit}});
    // The caller has its job already: the reason reaches it as StatusText.
    info_.statusText = reason;
    if (events_.changed)
    {
        events_.changed({"StatusText"});
    }
    finishWith("resources", -1);
}

void BuildJob::bindOverlay(unsigned attempt)
{
    systemd_.serviceUser(info_.unit, guarded([this, attempt](const sdbus::Error* error, const ServiceUser& user) {
                             if (ended_)
                             {
                                 return;
                             }
                             if (error == nullptr && user.uid == ServiceUser::none)
                             {
                                 // Not running (yet: an adopted start systemd has still to run,
                                 // or no more: it failed at once). Ask again a few times while it
                                 // may come; its state decides the rest.
                                 constexpr unsigned attempts = 50;
                                 constexpr guint retryMs = 100;
                                 if (attempt < attempts)
                                 {
                                     bindAttempt_ = attempt + 1;
                                     bindRetry_.reset(g_timeout_add(
                                         retryMs,
                                         [](gpointer data) -> gboolean {
                                             auto* job = static_cast<BuildJob*>(data);
                                             job->bindRetry_.forget();
                                             job->bindOverlay(job->bindAttempt_);
                                             return G_SOURCE_REMOVE;
                                         },
                                         this));
                                 }
                                 return onActiveStateNow();
                             }
                             try
                             {
                                 if (error != nullptr)
                                 {
                                     throw std::runtime_error(error->getMessage());
                                 }
                                 bind_ = binder_(static_cast<uid_t>(user.uid), static_cast<gid_t>(user.gid));
                                 binder_ = nullptr;
                                 log::debug("Bound the overlay of build " + std::to_string(info_.id) + " for uid " +
                                                std::to_string(user.uid),
                                            {{"LEFT4ME_JOB", std::to_string(info_.id)}, {"UNIT", info_.unit}});
                             }
                             catch (const std::exception& e)
                             {
                                 return abandon(std::string("cannot bind the overlay for the build's user: ") +
                                                e.what());
                             }
                             onActiveStateNow();
                         }));
}

void BuildJob::abandon(const std::string& reason)
{
    log::error("Build " + std::to_string(info_.id) + " is stopped: " + reason,
               {{"LEFT4ME_JOB", std::to_string(info_.id)}, {"UNIT", info_.unit}});
    abandoned_ = true;
    binder_ = nullptr;
    info_.statusText = reason;
    if (events_.changed)
    {
        events_.changed({"StatusText"});
    }
    startJobDone_ = true;
    stop([](const std::string&) {});
}

void BuildJob::onStartJobRemoved(const std::string& result)
{
    startJobDone_ = true;
    log::debug("Start job of " + info_.unit + " ended: " + result, {{"UNIT", info_.unit}});
    if (result == "done" && binder_)
    {
        return bindOverlay();
    }
    onActiveStateNow();
}

void BuildJob::onActiveStateNow()
{
    // The unit may have come and gone already; ask where it is.
    systemd_.activeState(info_.unit, guarded([this](const sdbus::Error* error, const std::string& state) {
                             onActiveState(error != nullptr ? std::string("inactive") : state);
                         }));
}

gboolean BuildJob::onTimeout(gpointer data)
{
    auto* job = static_cast<BuildJob*>(data);
    job->timer_.forget();
    log::notice("Build " + std::to_string(job->info_.id) + " ran past its timeout; stopping it",
                {{"LEFT4ME_JOB", std::to_string(job->info_.id)}, {"UNIT", job->info_.unit}});
    job->timedOut_ = !job->cancelRequested_;
    job->stop([](const std::string&) {});
    return G_SOURCE_REMOVE;
}

void BuildJob::onActiveState(const std::string& state)
{
    if (ended_ || collecting_)
    {
        return;
    }
    if (state == "active" || state == "activating" || state == "reloading" || state == "deactivating")
    {
        if (info_.state == JobState::starting && state != "deactivating")
        {
            info_.state = JobState::running;
            if (events_.changed)
            {
                events_.changed({"State"});
            }
        }
        return;
    }
    // "inactive" is also where the unit sits before the start job runs; it
    // only means "ended" once the start job is gone.
    if ((state == "inactive" && startJobDone_) || state == "failed")
    {
        collect();
    }
}

void BuildJob::collect()
{
    collecting_ = true;
    std::weak_ptr<BuildJob*> alive = alive_;
    systemd_.serviceOutcome(info_.unit, [alive](const sdbus::Error* error, const ServiceOutcome& outcome) {
        auto p = alive.lock();
        if (!p || *p == nullptr)
        {
            return;
        }
        auto* job = *p;
        if (error != nullptr)
        {
            log::warning("Cannot read the result of " + job->info_.unit + ": " + error->getMessage(),
                         {{"UNIT", job->info_.unit}});
            job->finishWith("resources", -1);
            return;
        }
        if (outcome.result == "success" && outcome.execMainStartUsec == 0)
        {
            // systemd had collected the instance and loaded it afresh (a
            // daemon adopting a build that ended while none watched). The
            // template keeps failed instances (CollectMode=inactive), so one
            // that was running and is gone succeeded; one that never got
            // to run did not.
            bool ran = job->info_.state == JobState::running;
            log::notice("The unit " + job->info_.unit + " was collected before it was adopted; it " +
                            (ran ? "had succeeded" : "never ran"),
                        {{"UNIT", job->info_.unit}});
            job->finishWith(ran ? "success" : "resources", ran ? 0 : -1);
            return;
        }
        job->finishWith(outcome.result, unit::exitStatus(outcome.execMainCode, outcome.execMainStatus));
    });
}

void BuildJob::finishWith(std::string result, int32_t exitStatus)
{
    if (ended_)
    {
        return;
    }
    ended_ = true;
    watch_ = {};
    timer_.reset();
    bindRetry_.reset();
    // Everything the script wrote is in the file by now: deliver the rest
    // before announcing the end.
    log_.finish();
    bind_.reset();
    systemd_.unrefUnit(info_.unit);
    // A failed instance stays loaded until reset (see the template); its
    // result is read, so it may go now.
    systemd_.resetFailedUnit(info_.unit);

    info_.result = std::move(result);
    info_.exitStatus = exitStatus;
    info_.finishedAt = clock::realtimeUsec();
    if (abandoned_)
    {
        info_.result = "resources";
        info_.state = JobState::failed;
    }
    else if (timedOut_)
    {
        info_.result = "timeout";
        info_.state = JobState::failed;
    }
    else if (logLimitHit_ && exitStatus == logLimitExitStatus)
    {
        info_.result = "log-limit";
        info_.state = JobState::failed;
    }
    else if (logWriteFailed_ && exitStatus == logWriteFailedExitStatus)
    {
        info_.result = "log-write-failed";
        info_.state = JobState::failed;
    }
    else if (cancelRequested_)
    {
        info_.state = JobState::cancelled;
    }
    else if (info_.result == "success")
    {
        info_.state = JobState::succeeded;
    }
    else
    {
        info_.state = JobState::failed;
    }
    log::info("Build " + std::to_string(info_.id) + " of overlay " + info_.overlay + " ended " +
                  std::string(toString(info_.state)) + " (result " + info_.result + ", exit status " +
                  std::to_string(info_.exitStatus) + ", " + std::to_string(log_.lineCount()) + " log lines)",
              {{"MESSAGE_ID", names::messageId::buildFinished},
               {"LEFT4ME_JOB", std::to_string(info_.id)},
               {"LEFT4ME_OVERLAY", info_.overlay},
               {"LEFT4ME_RESULT", info_.result},
               {"UNIT", info_.unit}});
    if (events_.changed)
    {
        events_.changed({"State", "Result", "ExitStatus", "FinishedAt"});
    }
    if (events_.finished)
    {
        events_.finished();
    }
}

void BuildJob::skip()
{
    ended_ = true;
    log_.finish();
    bind_.reset();
    info_.state = JobState::succeeded;
    info_.result = "skipped";
    info_.exitStatus = 0;
    info_.finishedAt = clock::realtimeUsec();
    log::info("Build " + std::to_string(info_.id) + " of overlay " + info_.overlay +
                  " skipped: the last successful build had the same inputs",
              {{"LEFT4ME_JOB", std::to_string(info_.id)}, {"LEFT4ME_OVERLAY", info_.overlay}});
    if (events_.finished)
    {
        events_.finished();
    }
}

void BuildJob::cancel(std::function<void(std::string)> done)
{
    if (ended_)
    {
        done({});
        return;
    }
    cancelRequested_ = true;
    log::info("Cancelling build " + std::to_string(info_.id), {{"LEFT4ME_JOB", std::to_string(info_.id)}});
    stop(std::move(done));
}

void BuildJob::stop(std::function<void(std::string)> done)
{
    // The template's TimeoutStopSec= turns SIGTERM into SIGKILL after 1 s,
    // so even a script that traps TERM is gone within 2 s.
    systemd_.stopUnit(info_.unit, [done = std::move(done)](const sdbus::Error* error) {
        done(error == nullptr ? std::string() : error->getMessage());
    });
}

} // namespace left4me
