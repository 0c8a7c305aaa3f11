#include "bus/call_context.hpp"

#include "bus/names.hpp"
#include "util/log.hpp"
#include "util/sd_bus_message.hpp"

#include <sdbus-c++/Error.h>

namespace left4me {

uid_t CallerUids::of(const std::string& sender, const sdbus::Message& message)
{
    if (const auto* known = uids_.find(sender))
    {
        return *known;
    }
    uid_t uid = message.getCredsUid();
    uids_.put(sender, uid);
    return uid;
}

CallContext currentCall(const sdbus::IObject& object, CallerUids& uids)
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
        context.uid = uids.of(context.sender, *message);
    }
    catch (const sdbus::Error&)
    {
        log::notice("Refused a call from " + context.sender + ": its credentials are gone (it disconnected)",
                    {{"LEFT4ME_CALLER", context.sender}, {"LEFT4ME_ERROR", names::error::notAuthorized}});
        throw sdbus::Error(names::error::notAuthorized,
                           "Cannot identify the caller (it may have disconnected); the call is refused.");
    }
    auto* raw = MessageAccess::raw(*message);
    context.allowInteraction = raw != nullptr && sd_bus_message_get_allow_interactive_authorization(raw) > 0;
    return context;
}

} // namespace left4me
