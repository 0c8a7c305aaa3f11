#include "bus/job_object.hpp"

#include "bus/names.hpp"
#include "util/clock.hpp"

#include <algorithm>
#include <vector>

namespace left4me {

JobObject::JobObject(sdbus::IConnection& bus, BuildJob& job, CallServer& server, ReadBudget& reads, CancelPlan cancel)
    : AdaptorInterfaces(bus, jobPath(job.info().id)), job_(job), server_(server), reads_(reads),
      cancel_(std::move(cancel))
{
    registerAdaptor();
    BuildJob::Events events;
    events.log = [this](uint64_t first, std::vector<std::string>&& lines) { emitLog(first, lines); };
    events.changed = [this](const std::vector<std::string>& properties) {
        getObject().emitPropertiesChangedSignal(names::jobInterface, properties);
    };
    events.finished = [this] { emitFinished(job_.info().result, job_.info().exitStatus); };
    events.timeoutWarning = [this] { emitTimeoutWarning(job_.info().deadline); };
    job_.setObserver(std::move(events));
    emitInterfacesAddedSignal({names::jobInterface});
}

JobObject::~JobObject()
{
    heldTimer_.reset();
    for (auto& held : held_)
    {
        reads_.release(held.uid);
        held.reply(OpError(ErrorKind::noSuchJob, "Job " + std::to_string(job_.info().id) +
                                                     " was removed (retention) before its log could be read."));
    }
    job_.setObserver({});
    try
    {
        emitInterfacesRemovedSignal({names::jobInterface});
    }
    catch (const sdbus::Error&)
    {
        // The bus is gone (shutdown): nobody is left to tell.
    }
    unregisterAdaptor();
}

void JobObject::Cancel(sdbus::Result<>&& result)
{
    server_.serve<Done>(
        "Job.Cancel", getObject(), std::move(result),
        [this](const CallContext& call) { return cancel_(call, job_.info().id); },
        [](sdbus::Result<>& r, const Done& done) { sendResult(r, done); });
}

void JobObject::ReadLog(sdbus::Result<uint64_t, std::vector<std::string>>&& result, uint64_t from_line,
                        uint32_t max_lines)
{
    // Public (see SECURITY.md): no authorization, but a budget per caller.
    server_.serve<LogPage>(
        "ReadLog", getObject(), std::move(result),
        [this, from_line, max_lines](const CallContext& call) {
            return Plan<LogPage>{std::nullopt,
                                 [this, uid = call.uid, from_line, max_lines](const Reply<LogPage>& reply) {
                                     readOrHold(uid, from_line, max_lines, reply);
                                 }};
        },
        [](sdbus::Result<uint64_t, std::vector<std::string>>& r, const LogPage& page) {
            r.returnResults(page.next, page.lines);
        });
}

void JobObject::readOrHold(uid_t uid, uint64_t from, uint32_t max, const Reply<LogPage>& reply)
{
    // A page is bounded anyway (8 MiB of text), so every client reads on
    // from next_line: asking for more than the cap gets a full page, not an
    // error, and clients need not know the cap.
    constexpr uint32_t maxLinesPerCall = 65536;
    max = std::min(max, maxLinesPerCall);
    bool queued = std::any_of(held_.begin(), held_.end(), [&](const HeldRead& h) { return h.uid == uid; });
    if (!queued && reads_.waitUsec(uid, clock::monotonicUsec()) == 0)
    {
        return read(uid, from, max, reply);
    }
    if (!reads_.hold(uid))
    {
        throw OpError(ErrorKind::limitsExceeded,
                      "You have read more of this service's logs than your budget (16 MiB per second after "
                      "the first 64 MiB), and 4 of your ReadLog calls are waiting for it; wait for their "
                      "answers before you ask for more.");
    }
    held_.push_back({reply, uid, from, max});
    serveHeld();
}

void JobObject::read(uid_t uid, uint64_t from, uint32_t max, const Reply<LogPage>& reply)
{
    auto [next, lines] = job_.log().read(from, max);
    uint64_t bytes = 0;
    for (const auto& line : lines)
    {
        bytes += line.size();
    }
    reads_.spend(uid, bytes, clock::monotonicUsec());
    reply(LogPage{next, std::move(lines)});
}

void JobObject::serveHeld()
{
    // Each caller's calls in the order they came; one caller's wait never
    // holds up another's.
    uint64_t nextWait = 0;
    std::vector<uid_t> blocked;
    for (auto it = held_.begin(); it != held_.end();)
    {
        if (std::find(blocked.begin(), blocked.end(), it->uid) != blocked.end())
        {
            ++it;
            continue;
        }
        auto wait = reads_.waitUsec(it->uid, clock::monotonicUsec());
        if (wait > 0)
        {
            blocked.push_back(it->uid);
            nextWait = nextWait == 0 ? wait : std::min(nextWait, wait);
            ++it;
            continue;
        }
        auto held = std::move(*it);
        it = held_.erase(it);
        reads_.release(held.uid);
        try
        {
            read(held.uid, held.from, held.max, held.reply);
        }
        catch (const std::exception& e)
        {
            held.reply(OpError(ErrorKind::failed, std::string("Cannot read the log: ") + e.what()));
        }
    }
    if (nextWait > 0 && !heldTimer_)
    {
        constexpr uint64_t usecPerMs = 1000;
        heldTimer_ = GlibSource::timeout(std::chrono::milliseconds(nextWait / usecPerMs + 1), [this] {
            heldTimer_.reset(); // done: serveHeld() may arm the next
            serveHeld();
            return false;
        });
    }
}

} // namespace left4me
