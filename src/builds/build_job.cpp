#include "builds/build_job.hpp"

#include "builds/exit_record.hpp"
#include "builds/progress.hpp"
#include "builds/unit_properties.hpp"
#include "ops/message_ids.hpp"
#include "sandbox/stream_lines.hpp"
#include "systemd/unit_names.hpp"
#include "util/clock.hpp"
#include "util/log.hpp"

#include <algorithm>
#include <fstream>
#include <iterator>

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

uint64_t timeoutWarningAt(uint64_t createdAt, uint64_t deadline, uint32_t percent)
{
    if (percent == 0 || deadline <= createdAt)
    {
        return 0;
    }
    constexpr uint64_t whole = 100;
    // At most 7 days of µs times 100: far from overflowing.
    return createdAt + (deadline - createdAt) * percent / whole;
}

BuildJob::BuildJob(JobInfo info, const std::string& jobDir, BindMount bind, Systemd& systemd)
    : info_(std::move(info)),
      log_(jobDir + "/log", [this](uint64_t first, std::vector<std::string>&& lines) { onLog(first, lines); }),
      exitRecordPath_(jobDir + "/exit/record"), bind_(std::move(bind)), systemd_(systemd),
      alive_(std::make_shared<BuildJob*>(this))
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
    // The observer last: the lines move into its signal.
    if (hooks_.log)
    {
        hooks_.log(first, lines);
    }
    if (observer_.log)
    {
        observer_.log(first, std::move(lines));
    }
    // After the lines: a client sees the marker line, then the new values.
    if (progressed)
    {
        changed({"Progress", "StatusText"});
    }
}

void BuildJob::changed(const std::vector<std::string>& properties)
{
    if (hooks_.changed)
    {
        hooks_.changed(properties);
    }
    if (observer_.changed)
    {
        observer_.changed(properties);
    }
}

void BuildJob::finished()
{
    if (hooks_.finished)
    {
        hooks_.finished();
    }
    if (observer_.finished)
    {
        observer_.finished();
    }
}

BuildJob::~BuildJob()
{
    *alive_ = nullptr;
}

void BuildJob::start(std::vector<UnitProperty> properties, std::optional<std::vector<net::IpPrefix>> hostNetworks,
                     uint32_t warningPercent, OverlayBinder bind)
{
    binder_ = std::move(bind);
    armDeadline(warningPercent);
    // Watch before starting, so no state change can slip past us.
    try
    {
        watch_ = systemd_.watchActiveState(info_.unit, [this](const std::string& state) { onActiveState(state); });
    }
    catch (const std::exception& e)
    {
        return failStart("cannot watch the unit's state", e.what());
    }
    log_.follow();
    // A reference keeps systemd from unloading the instance when it ends,
    // before we have read its result. The calls go out together (systemd
    // answers a connection's calls in order, so a failed RefUnit has ended
    // the job before a later reply is seen); StartUnit waits for the
    // properties, so that a build never runs without its limits.
    systemd_.refUnit(info_.unit, guarded([this](const SystemdError* error) {
                         if (error != nullptr)
                         {
                             failStart("cannot reference the unit", error->message);
                         }
                     }));
    if (!hostNetworks)
    {
        return configureAndStart(properties);
    }
    systemd_.addressAllow(info_.unit,
                          guarded([this, properties = std::move(properties), host = std::move(*hostNetworks)](
                                      const SystemdError* error, const std::vector<net::IpPrefix>& allow) mutable {
                              if (ended_)
                              {
                                  return;
                              }
                              if (error != nullptr)
                              {
                                  return failStart("cannot read the template's IP allow list", error->message);
                              }
                              auto egress = publicEgress(allow, host);
                              properties.insert(properties.end(), egress.begin(), egress.end());
                              configureAndStart(properties);
                          }));
}

void BuildJob::configureAndStart(const std::vector<UnitProperty>& properties)
{
    systemd_.setUnitProperties(
        info_.unit, properties, guarded([this](const SystemdError* error) {
            if (ended_)
            {
                return;
            }
            if (error != nullptr)
            {
                return failStart("cannot set the build limits on the unit", error->message);
            }
            systemd_.startUnit(info_.unit, guarded([this](const SystemdError* error, const std::string& jobPath) {
                                   if (error != nullptr)
                                   {
                                       return failStart("cannot start the unit", error->message);
                                   }
                                   systemd_.whenJobRemoved(jobPath, guarded([this](const std::string& result) {
                                                               onStartJobRemoved(result);
                                                           }));
                               }));
        }));
}

void BuildJob::adopt(uint32_t warningPercent, OverlayBinder bind)
{
    binder_ = std::move(bind);
    // The recorded state stays: "starting" if it never ran, as far as we know.
    startJobDone_ = true;
    armDeadline(warningPercent);
    try
    {
        watch_ = systemd_.watchActiveState(info_.unit, [this](const std::string& state) { onActiveState(state); });
    }
    catch (const std::exception& e)
    {
        // It keeps running; its deadline still ends it.
        log::error("Cannot watch adopted unit " + info_.unit + "; its end will be seen at its deadline: " + e.what(),
                   {{"LEFT4ME_JOB", std::to_string(info_.id)}, {"UNIT", info_.unit}});
    }
    log_.follow();
    systemd_.refUnit(info_.unit, guarded([this](const SystemdError* error) {
                         if (error != nullptr)
                         {
                             log::warning("Cannot reference adopted unit " + info_.unit + ": " + error->message,
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
    systemd_.activeState(info_.unit, guarded([this](const SystemdError* error, const std::string& state) {
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

void BuildJob::failStart(const std::string& step, const std::string& why)
{
    if (ended_)
    {
        return;
    }
    auto reason = "systemd could not start " + info_.unit + ": " + step + ": " + why;
    log::error("Build " + std::to_string(info_.id) + " could not start: " + reason,
               {{"LEFT4ME_JOB", std::to_string(info_.id)}, {"UNIT", info_.unit}});
    // The caller has its job already: the reason reaches it as StatusText.
    info_.statusText = reason;
    changed({"StatusText"});
    finishWith("resources", -1);
}

void BuildJob::bindOverlay(unsigned attempt)
{
    systemd_.serviceUser(info_.unit, guarded([this, attempt](const SystemdError* error, const ServiceUser& user) {
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
                                 constexpr std::chrono::milliseconds retry{100};
                                 if (attempt < attempts)
                                 {
                                     bindRetry_ = GlibSource::timeout(retry, [this, attempt] {
                                         bindOverlay(attempt + 1);
                                         return false;
                                     });
                                 }
                                 return onActiveStateNow();
                             }
                             try
                             {
                                 if (error != nullptr)
                                 {
                                     throw std::runtime_error(error->message);
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
    changed({"StatusText"});
    startJobDone_ = true;
    stop([](const std::string&) {});
}

void BuildJob::onStartJobRemoved(const std::string& result)
{
    startJobDone_ = true;
    if (result == jobLostResult)
    {
        log::notice("Build " + std::to_string(info_.id) +
                        ": systemd's start job ended unannounced; settling from the unit's state",
                    {{"LEFT4ME_JOB", std::to_string(info_.id)}, {"UNIT", info_.unit}});
    }
    else
    {
        log::debug("Start job of " + info_.unit + " ended: " + result, {{"UNIT", info_.unit}});
    }
    // Lost, it may have started all the same: bindOverlay() asks.
    if ((result == "done" || result == jobLostResult) && binder_)
    {
        return bindOverlay();
    }
    onActiveStateNow();
}

void BuildJob::onActiveStateNow()
{
    // The unit may have come and gone already; ask where it is.
    systemd_.activeState(info_.unit, guarded([this](const SystemdError* error, const std::string& state) {
                             onActiveState(error != nullptr ? std::string("inactive") : state);
                         }));
}

void BuildJob::armDeadline(uint32_t warningPercent)
{
    constexpr uint64_t usecPerSec = 1000000;
    constexpr uint64_t usecPerMsec = 1000;
    uint64_t now = clock::realtimeUsec();
    // Whole seconds (GLib may batch the wake-up), rounded up, at least one.
    uint64_t left = info_.deadline > now ? (info_.deadline - now + usecPerSec - 1) / usecPerSec : 1;
    timer_ = GlibSource::timeoutSeconds(static_cast<unsigned>(left), [this] { return onTimeout(); });
    warnAt_ = info_.timeoutWarned ? 0 : timeoutWarningAt(info_.createdAt, info_.deadline, warningPercent);
    if (warnAt_ > now)
    {
        warnTimer_ =
            GlibSource::timeout(std::chrono::milliseconds((warnAt_ - now + usecPerMsec - 1) / usecPerMsec), [this] {
                warnIfDue();
                return false;
            });
    }
    // A point already passed (a build adopted late) waits for systemd to
    // say that the unit still runs: see onActiveState().
}

void BuildJob::warnIfDue()
{
    if (warnAt_ == 0 || clock::realtimeUsec() < warnAt_ || info_.timeoutWarned || ended_ || collecting_ ||
        cancelRequested_ || timedOut_ || abandoned_)
    {
        return;
    }
    info_.timeoutWarned = true;
    uint64_t now = clock::realtimeUsec();
    constexpr uint64_t usecPerSec = 1000000;
    auto left = info_.deadline > now ? (info_.deadline - now) / usecPerSec : 0;
    log::notice("Build " + std::to_string(info_.id) + " of overlay " + info_.overlay + " will be stopped in " +
                    std::to_string(left) + " s, when it reaches its timeout (timeout_sec)",
                {{"MESSAGE_ID", messageId::buildTimeoutWarning},
                 {"LEFT4ME_JOB", std::to_string(info_.id)},
                 {"LEFT4ME_OVERLAY", info_.overlay},
                 {"LEFT4ME_DEADLINE", std::to_string(info_.deadline)},
                 {"UNIT", info_.unit}});
    // The record first (the service's hook), so that a restarted daemon
    // never warns twice; then the bus.
    changed({"TimeoutWarned"});
    if (observer_.timeoutWarning)
    {
        observer_.timeoutWarning();
    }
}

bool BuildJob::onTimeout()
{
    log::notice("Build " + std::to_string(info_.id) + " ran past its timeout; stopping it",
                {{"LEFT4ME_JOB", std::to_string(info_.id)}, {"UNIT", info_.unit}});
    timedOut_ = !cancelRequested_;
    stop([](const std::string&) {});
    return false;
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
            changed({"State"});
        }
        if (state != "deactivating")
        {
            warnIfDue(); // one adopted past its warning point, still running
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
    systemd_.serviceOutcome(info_.unit, [alive](const SystemdError* error, const ServiceOutcome& outcome) {
        auto p = alive.lock();
        if (!p || *p == nullptr)
        {
            return;
        }
        auto* job = *p;
        if (error != nullptr)
        {
            log::warning("Cannot read the result of " + job->info_.unit + ": " + error->message,
                         {{"UNIT", job->info_.unit}});
            job->finishWith("resources", -1);
            return;
        }
        if (outcome.result == "success" && outcome.execMainStartUsec == 0)
        {
            // systemd had collected the instance and loaded it afresh (a
            // daemon adopting a build that ended while none watched): the
            // unit's own ExecStopPost= left how it ended.
            return job->settleCollected();
        }
        job->finishWith(outcome.result, unit::exitStatus(outcome.execMainCode, outcome.execMainStatus));
    });
}

void BuildJob::settleCollected()
{
    std::ifstream in(exitRecordPath_);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto record = parseExitRecord(text);
    if (record)
    {
        log::notice("The unit " + info_.unit + " was collected before it was adopted; it had ended with result " +
                        record->result,
                    {{"LEFT4ME_JOB", std::to_string(info_.id)}, {"UNIT", info_.unit}});
        return finishWith(record->result, record->exitStatus);
    }
    if (info_.state == JobState::running)
    {
        // Seen running, and gone without a record (a unit of a template
        // older than the record): CollectMode=inactive keeps failed units,
        // so it succeeded.
        log::notice("The unit " + info_.unit + " was collected before it was adopted; it had succeeded",
                    {{"LEFT4ME_JOB", std::to_string(info_.id)}, {"UNIT", info_.unit}});
        return finishWith("success", 0);
    }
    log::notice("The unit " + info_.unit + " never ran: the daemon that was starting it stopped first",
                {{"LEFT4ME_JOB", std::to_string(info_.id)}, {"UNIT", info_.unit}});
    finishWith("interrupted", -1);
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
    warnTimer_.reset();
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
              {{"MESSAGE_ID", messageId::buildFinished},
               {"LEFT4ME_JOB", std::to_string(info_.id)},
               {"LEFT4ME_OVERLAY", info_.overlay},
               {"LEFT4ME_RESULT", info_.result},
               {"UNIT", info_.unit}});
    changed({"State", "Result", "ExitStatus", "FinishedAt"});
    finished();
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
    finished();
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
    systemd_.stopUnit(info_.unit, [done = std::move(done)](const SystemdError* error, const std::string&) {
        done(error == nullptr ? std::string() : error->message);
    });
}

} // namespace left4me
