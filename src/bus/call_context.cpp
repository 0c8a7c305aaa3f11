#include "bus/call_context.hpp"

#include "bus/names.hpp"

#include <sdbus-c++/Error.h>
#include <sdbus-c++/Message.h>
#include <systemd/sd-bus.h>

namespace left4me {

namespace {

// sdbus-c++ 1.2 does not expose the ALLOW_INTERACTIVE_AUTHORIZATION flag of
// an incoming call. The underlying sd_bus_message is a protected member of
// sdbus::Message; a pointer to it formed through a derived class is legal
// C++ and gives us the message to ask sd-bus directly. Revisit with
// sdbus-c++ 2.x, which has Message::getMessage() style accessors.
struct MessageAccess : sdbus::Message
{
    static sd_bus_message* raw(const sdbus::Message& message)
    {
        return static_cast<sd_bus_message*>(message.*(&MessageAccess::msg_));
    }
};

} // namespace

CallContext currentCall(const sdbus::IObject& object)
{
    const sdbus::Message* message = object.getCurrentlyProcessedMessage();
    if (message == nullptr)
    {
        throw sdbus::Error(names::error::failed, "Internal error: no current D-Bus message.");
    }
    CallContext context;
    context.sender = message->getSender();
    try
    {
        context.uid = message->getCredsUid();
    }
    catch (const sdbus::Error&)
    {
        throw sdbus::Error(names::error::notAuthorized,
                           "Cannot identify the caller (it may have disconnected); the call is refused.");
    }
    auto* raw = MessageAccess::raw(*message);
    context.allowInteraction = raw != nullptr && sd_bus_message_get_allow_interactive_authorization(raw) > 0;
    return context;
}

} // namespace left4me
