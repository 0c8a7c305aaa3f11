#include "bus/job_object.hpp"

#include "bus/names.hpp"
#include "util/clock.hpp"

#include <algorithm>
#include <charconv>
#include <vector>

namespace left4me {

std::string jobPath(uint64_t id)
{
    return names::jobPathPrefix + std::to_string(id);
}

std::optional<uint64_t> jobIdFromPath(const std::string& path)
{
    std::string_view prefix = names::jobPathPrefix;
    if (path.size() <= prefix.size() || path.compare(0, prefix.size(), prefix) != 0)
    {
        return std::nullopt;
    }
    uint64_t id = 0;
    const char* begin = path.data() + prefix.size();
    const char* end = path.data() + path.size();
    auto [ptr, ec] = std::from_chars(begin, end, id);
    if (ec != std::errc() || ptr != end || *begin == '0')
    {
        return std::nullopt;
    }
    return id;
}

JobObject::JobObject(sdbus::IConnection& bus, BuildJob& job, CallerUids& callers, ReadBudget& reads,
                     CancelHandler cancel, std::function<void()> activity)
    : AdaptorInterfaces(bus, jobPath(job.info().id)), job_(job), callers_(callers), reads_(reads),
      cancel_(std::move(cancel)), activity_(std::move(activity))
{
    registerAdaptor();
    auto events = job_.events();
    events.log = [this](uint64_t first, std::vector<std::string>&& lines) { emitLog(first, lines); };
    events.changed = [this](const std::vector<std::string>& properties) {
        getObject().emitPropertiesChangedSignal(names::jobInterface, properties);
    };
    events.finished = [this] { emitFinished(job_.info().result, job_.info().exitStatus); };
    job_.setEvents(std::move(events));
    emitInterfacesAddedSignal({names::jobInterface});
}

JobObject::~JobObject()
{
    heldTimer_.reset();
    for (auto& held : held_)
    {
        reads_.release(held.uid);
        held.reply.returnError(sdbus::Error(names::error::noSuchJob, "Job " + std::to_string(job_.info().id) +
                                                                         " was removed (retention) before its "
                                                                         "log could be read."));
    }
    job_.setEvents({});
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
    activity_();
    auto call = currentCall(getObject(), callers_);
    cancel_(std::make_shared<sdbus::Result<>>(std::move(result)), call, job_.info().id);
}

void JobObject::ReadLog(ReadReply&& result, uint64_t from_line, uint32_t max_lines)
{
    activity_();
    // A page is bounded anyway (8 MiB of text), so every client reads on
    // from next_line: asking for more than the cap gets a full page, not an
    // error, and clients need not know the cap.
    constexpr uint32_t maxLinesPerCall = 65536;
    max_lines = std::min(max_lines, maxLinesPerCall);
    auto uid = currentCall(getObject(), callers_).uid;
    bool queued = std::any_of(held_.begin(), held_.end(), [&](const HeldRead& h) { return h.uid == uid; });
    if (!queued && reads_.waitUsec(uid, clock::monotonicUsec()) == 0)
    {
        return serve(result, uid, from_line, max_lines);
    }
    if (!reads_.hold(uid))
    {
        throw sdbus::Error(names::error::limitsExceeded,
                           "You have read more of this service's logs than your budget (16 MiB per second after "
                           "the first 64 MiB), and 4 of your ReadLog calls are waiting for it; wait for their "
                           "answers before you ask for more.");
    }
    held_.push_back({std::move(result), uid, from_line, max_lines});
    serveHeld();
}

void JobObject::serve(ReadReply& reply, uid_t uid, uint64_t from, uint32_t max)
{
    auto [next, lines] = job_.log().read(from, max);
    uint64_t bytes = 0;
    for (const auto& line : lines)
    {
        bytes += line.size();
    }
    reads_.spend(uid, bytes, clock::monotonicUsec());
    reply.returnResults(next, lines);
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
            serve(held.reply, held.uid, held.from, held.max);
        }
        catch (const sdbus::Error& e)
        {
            held.reply.returnError(e);
        }
    }
    if (nextWait > 0 && !heldTimer_)
    {
        constexpr uint64_t usecPerMs = 1000;
        heldTimer_.reset(g_timeout_add(
            static_cast<guint>(nextWait / usecPerMs + 1),
            [](gpointer data) -> gboolean {
                auto* self = static_cast<JobObject*>(data);
                self->heldTimer_.forget();
                self->serveHeld();
                return G_SOURCE_REMOVE;
            },
            this));
    }
}

} // namespace left4me
