#pragma once

#include <glib.h>
#include <sdbus-c++/IConnection.h>

#include <functional>

namespace left4me {

// Drives an sdbus-c++ connection from the GLib main context, so that sd-bus
// and libpolkit-gobject share one event loop and one thread. The poll data
// is re-read before every wait: sd-bus changes the events it wants (POLLOUT
// while its write queue is not empty) and its timeout (pending calls).
class BusSource
{
  public:
    // ON_LOST is called once if the connection is lost (the bus went away):
    // nothing more can be served, so the daemon should exit.
    BusSource(sdbus::IConnection& connection, std::function<void()> onLost);
    BusSource(const BusSource&) = delete;
    BusSource& operator=(const BusSource&) = delete;
    ~BusSource();

  private:
    std::function<void()> onLost_;
    GSource* source_ = nullptr;
};

} // namespace left4me
