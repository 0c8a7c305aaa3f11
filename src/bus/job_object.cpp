#include "bus/job_object.hpp"

#include "bus/names.hpp"

#include <algorithm>
#include <charconv>

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

JobObject::JobObject(sdbus::IConnection& bus, BuildJob& job, CallerUids& callers, CancelHandler cancel,
                     std::function<void()> activity)
    : AdaptorInterfaces(bus, jobPath(job.info().id)), job_(job), callers_(callers), cancel_(std::move(cancel)),
      activity_(std::move(activity))
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

std::tuple<uint64_t, std::vector<std::string>> JobObject::ReadLog(const uint64_t& from_line, const uint32_t& max_lines)
{
    activity_();
    // A page is bounded anyway (8 MiB of text), so every client reads on
    // from next_line: asking for more than the cap gets a full page, not an
    // error, and clients need not know the cap.
    constexpr uint32_t maxLinesPerCall = 65536;
    return job_.log().read(from_line, std::min(max_lines, maxLinesPerCall));
}

} // namespace left4me
