#include "loop/bus_source.hpp"

#include "util/log.hpp"

#include <poll.h>
#include <sdbus-c++/Error.h>

#include <cstdint>
#include <ctime>

namespace left4me {

namespace {

struct Source
{
    GSource base;
    sdbus::IConnection* connection;
    std::function<void()>* onLost;
    GPollFD pollFd;
    uint64_t deadlineUsec;
};

uint64_t monotonicUsec()
{
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000U + static_cast<uint64_t>(ts.tv_nsec) / 1000U;
}

gboolean prepare(GSource* base, gint* timeoutMs)
{
    auto* s = reinterpret_cast<Source*>(base);
    auto data = s->connection->getEventLoopPollData();
    s->pollFd.fd = data.fd;
    s->pollFd.events = static_cast<gushort>(data.events);
    s->deadlineUsec = data.timeout_usec;
    if (data.timeout_usec == UINT64_MAX)
    {
        *timeoutMs = -1;
        return FALSE;
    }
    auto now = monotonicUsec();
    if (data.timeout_usec <= now)
    {
        *timeoutMs = 0;
        return TRUE;
    }
    *timeoutMs = static_cast<gint>((data.timeout_usec - now + 999) / 1000);
    return FALSE;
}

gboolean check(GSource* base)
{
    auto* s = reinterpret_cast<Source*>(base);
    return (s->pollFd.revents != 0) || (s->deadlineUsec != UINT64_MAX && monotonicUsec() >= s->deadlineUsec);
}

gboolean dispatch(GSource* base, GSourceFunc, gpointer)
{
    auto* s = reinterpret_cast<Source*>(base);
    try
    {
        // Process everything queued: one wake-up may carry many messages.
        while (s->connection->processPendingRequest())
        {
        }
    }
    catch (const sdbus::Error& e)
    {
        log::error(std::string("Error while processing D-Bus messages: ") + e.what());
        if (e.getName() == "org.freedesktop.DBus.Error.Disconnected")
        {
            // Polling a dead connection would spin; the owner exits.
            (*s->onLost)();
            return G_SOURCE_REMOVE;
        }
    }
    catch (const std::exception& e)
    {
        log::error(std::string("Error while processing D-Bus messages: ") + e.what());
    }
    return G_SOURCE_CONTINUE;
}

GSourceFuncs funcs = {prepare, check, dispatch, nullptr, nullptr, nullptr};

} // namespace

BusSource::BusSource(sdbus::IConnection& connection, std::function<void()> onLost) : onLost_(std::move(onLost))
{
    source_ = g_source_new(&funcs, sizeof(Source));
    auto* s = reinterpret_cast<Source*>(source_);
    s->connection = &connection;
    s->onLost = &onLost_;
    auto data = connection.getEventLoopPollData();
    s->pollFd.fd = data.fd;
    s->pollFd.events = static_cast<gushort>(data.events);
    s->deadlineUsec = UINT64_MAX;
    g_source_add_poll(source_, &s->pollFd);
    g_source_attach(source_, nullptr);
}

BusSource::~BusSource()
{
    g_source_destroy(source_);
    g_source_unref(source_);
}

} // namespace left4me
