#pragma once

#include "loop/glib_source.hpp"

#include <glib.h>

#include <functional>
#include <memory>

namespace left4me {

// Exits the daemon after a quiet period, the way systemd's
// bus_event_loop_with_idle() does: only when nothing is running or pending,
// and only after releasing the bus name and serving every call that was
// already queued, so that no caller is dropped.
class IdleExit
{
  public:
    // BUSY says whether work is running; RELEASE gives up the bus name.
    IdleExit(unsigned timeoutSec, GMainLoop* loop, std::function<bool()> busy, std::function<void()> release);
    IdleExit(const IdleExit&) = delete;
    IdleExit& operator=(const IdleExit&) = delete;
    ~IdleExit() = default;

    // A call arrived: the quiet period starts again.
    void activity();
    // Held by an operation in flight (e.g. waiting on polkit or systemd);
    // the daemon does not exit while any token lives.
    [[nodiscard]] std::shared_ptr<void> hold();

  private:
    bool onTimeout();
    void arm();

    unsigned timeoutSec_;
    GMainLoop* loop_;
    std::function<bool()> busy_;
    std::function<void()> release_;
    GlibSource timer_;
    unsigned held_ = 0;
    bool released_ = false;
};

} // namespace left4me
