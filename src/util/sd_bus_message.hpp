#pragma once

#include <sdbus-c++/Message.h>
#include <systemd/sd-bus.h>

namespace left4me {

// sdbus-c++ 1.2 exposes neither the ALLOW_INTERACTIVE_AUTHORIZATION flag of
// an incoming call nor a way to set it on an outgoing one. The underlying
// sd_bus_message is a protected member of sdbus::Message; a pointer to it
// formed through a derived class is legal C++ and gives us the message to
// hand to sd-bus directly. Revisit with sdbus-c++ 2.x.
struct MessageAccess : sdbus::Message
{
    static sd_bus_message* raw(const sdbus::Message& message)
    {
        return static_cast<sd_bus_message*>(message.*(&MessageAccess::msg_));
    }
};

} // namespace left4me
