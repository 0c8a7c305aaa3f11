#pragma once

#include <glib.h>

#include <chrono>
#include <functional>
#include <utility>

namespace left4me {

// Sole owner of one source on the GLib main loop (a timeout, an idle, an fd
// watch or a Unix signal) and of the callback it runs: destroying or
// resetting the owner removes the source, so no callback ever fires into an
// object that is gone, and the callback (a std::function, with whatever it
// captured) is freed with the source. The callback returns whether the
// source stays (true) or is done (false); a source that is done may still
// be reset or destroyed. Move-only, like UniqueFd.
class GlibSource
{
  public:
    using Callback = std::function<bool()>;

    GlibSource() = default;
    // FN after AFTER, and again every AFTER while it returns true.
    static GlibSource timeout(std::chrono::milliseconds after, Callback fn);
    // The same at a second's granularity, which lets GLib batch wake-ups.
    static GlibSource timeoutSeconds(unsigned seconds, Callback fn);
    // FN when the loop has nothing more urgent to do.
    static GlibSource idle(Callback fn, int priority = G_PRIORITY_DEFAULT_IDLE);
    // FN whenever FD meets CONDITION.
    static GlibSource fdWatch(int fd, GIOCondition condition, Callback fn);
    // FN for each SIGNAL (SIGTERM, SIGINT, ...) instead of its default action.
    static GlibSource unixSignal(int signal, Callback fn);

    GlibSource(const GlibSource&) = delete;
    GlibSource& operator=(const GlibSource&) = delete;
    GlibSource(GlibSource&& other) noexcept : source_(std::exchange(other.source_, nullptr)) {}
    GlibSource& operator=(GlibSource&& other) noexcept
    {
        if (this != &other)
        {
            reset();
            source_ = std::exchange(other.source_, nullptr);
        }
        return *this;
    }
    ~GlibSource() { reset(); }

    // True while the source is attached and not done.
    [[nodiscard]] bool active() const noexcept { return source_ != nullptr && !g_source_is_destroyed(source_); }
    explicit operator bool() const noexcept { return active(); }
    void reset() noexcept;

  private:
    explicit GlibSource(GSource* source) : source_(source) {}
    static GlibSource attach(GSource* source, Callback fn);
    GSource* source_ = nullptr;
};

} // namespace left4me
