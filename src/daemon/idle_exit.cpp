#include "daemon/idle_exit.hpp"

#include "util/log.hpp"

namespace left4me {

IdleExit::IdleExit(unsigned timeoutSec, GMainLoop* loop, std::function<bool()> busy, std::function<void()> release)
    : timeoutSec_(timeoutSec), loop_(loop), busy_(std::move(busy)), release_(std::move(release))
{
    arm();
}

void IdleExit::arm()
{
    // After the name is released, only queued calls remain: exit as soon as
    // they are done rather than after another full period.
    timer_.reset(released_ ? g_timeout_add(100, &IdleExit::onTimeout, this)
                           : g_timeout_add_seconds(timeoutSec_, &IdleExit::onTimeout, this));
}

void IdleExit::activity()
{
    arm();
}

std::shared_ptr<void> IdleExit::hold()
{
    ++held_;
    return {nullptr, [this](void*) {
                --held_;
                arm();
            }};
}

gboolean IdleExit::onTimeout(gpointer data)
{
    auto* self = static_cast<IdleExit*>(data);
    self->timer_.forget();
    if (self->held_ > 0 || self->busy_())
    {
        self->arm();
        return G_SOURCE_REMOVE;
    }
    if (!self->released_)
    {
        // Give up the name first: dbus-daemon queues new calls for the next
        // activation, and whatever reached us before is still served below.
        log::info("Idle; releasing the bus name and exiting once queued calls are served");
        self->released_ = true;
        self->release_();
        self->arm();
        return G_SOURCE_REMOVE;
    }
    g_main_loop_quit(self->loop_);
    return G_SOURCE_REMOVE;
}

} // namespace left4me
