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
    timer_ = released_ ? GlibSource::timeout(std::chrono::milliseconds(100), [this] { return onTimeout(); })
                       : GlibSource::timeoutSeconds(timeoutSec_, [this] { return onTimeout(); });
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

bool IdleExit::onTimeout()
{
    if (held_ > 0 || busy_())
    {
        arm();
        return false;
    }
    if (!released_)
    {
        // Give up the name first: dbus-daemon queues new calls for the next
        // activation, and whatever reached us before is still served below.
        log::info("Idle; releasing the bus name and exiting once queued calls are served");
        released_ = true;
        release_();
        arm();
        return false;
    }
    g_main_loop_quit(loop_);
    return false;
}

} // namespace left4me
