#pragma once

#include <glib.h>

#include <utility>

namespace left4me {

// Sole owner of one source on the GLib main loop (a timeout, an idle or an fd
// watch), by its id: removes it on reset() and on destruction, so that no
// callback fires into an object that is gone. Move-only, like UniqueFd.
//
// A callback that returns G_SOURCE_REMOVE has already removed its source:
// it calls forget() first, or the owner would remove a stale id, which GLib
// reports as a critical warning (and the id may by then name another source).
class GlibSource
{
  public:
    GlibSource() = default;
    explicit GlibSource(guint id) noexcept : id_(id) {}
    GlibSource(const GlibSource&) = delete;
    GlibSource& operator=(const GlibSource&) = delete;
    GlibSource(GlibSource&& other) noexcept : id_(std::exchange(other.id_, 0)) {}
    GlibSource& operator=(GlibSource&& other) noexcept
    {
        if (this != &other)
        {
            reset(std::exchange(other.id_, 0));
        }
        return *this;
    }
    ~GlibSource() { reset(); }

    [[nodiscard]] bool active() const noexcept { return id_ != 0; }
    explicit operator bool() const noexcept { return active(); }

    // The source has removed itself (its callback returned G_SOURCE_REMOVE).
    void forget() noexcept { id_ = 0; }
    void reset(guint id = 0) noexcept
    {
        if (id_ != 0)
        {
            g_source_remove(id_);
        }
        id_ = id;
    }

  private:
    guint id_ = 0;
};

} // namespace left4me
