#include "loop/glib_source.hpp"

#include <glib-unix.h>

namespace left4me {

namespace {

gboolean run(gpointer data)
{
    return (*static_cast<GlibSource::Callback*>(data))() ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

gboolean runForFd(gint /*fd*/, GIOCondition /*condition*/, gpointer data)
{
    return run(data);
}

void destroy(gpointer data)
{
    delete static_cast<GlibSource::Callback*>(data);
}

} // namespace

GlibSource GlibSource::attach(GSource* source, Callback fn)
{
    // GLib holds the callback for as long as it may call it, also while it
    // runs: a callback that resets its own owner does not free itself.
    g_source_set_callback(source, &run, new Callback(std::move(fn)), &destroy);
    g_source_attach(source, nullptr);
    return GlibSource(source); // keeps the reference _new gave us
}

GlibSource GlibSource::timeout(std::chrono::milliseconds after, Callback fn)
{
    return attach(g_timeout_source_new(static_cast<guint>(after.count())), std::move(fn));
}

GlibSource GlibSource::timeoutSeconds(unsigned seconds, Callback fn)
{
    return attach(g_timeout_source_new_seconds(seconds), std::move(fn));
}

GlibSource GlibSource::idle(Callback fn, int priority)
{
    GSource* source = g_idle_source_new();
    g_source_set_priority(source, priority);
    return attach(source, std::move(fn));
}

GlibSource GlibSource::fdWatch(int fd, GIOCondition condition, Callback fn)
{
    GSource* source = g_unix_fd_source_new(fd, condition);
    g_source_set_callback(source, reinterpret_cast<GSourceFunc>(reinterpret_cast<void (*)()>(&runForFd)),
                          new Callback(std::move(fn)), &destroy);
    g_source_attach(source, nullptr);
    return GlibSource(source);
}

GlibSource GlibSource::unixSignal(int signal, Callback fn)
{
    return attach(g_unix_signal_source_new(signal), std::move(fn));
}

void GlibSource::reset() noexcept
{
    if (source_ != nullptr)
    {
        g_source_destroy(source_); // nothing if it was done already
        g_source_unref(source_);
        source_ = nullptr;
    }
}

} // namespace left4me
