#include "bus/call_context.hpp"

#include "ops/op_error.hpp"
#include "util/sd_bus_message.hpp"

#include <cstring>
#include <memory>

namespace left4me {

namespace {

// The uid dbus-daemon recorded for the caller's connection when it
// connected (SO_PEERCRED: the effective uid then), through
// GetConnectionCredentials. It is the identity polkit checks for a
// system-bus-name subject and the one the bus policy applies. Not
// sdbus::Message::getCredsUid(): that asks for the real uid, which the bus
// does not report, so sd-bus reads it from /proc/<pid>/status. That is
// racy (the pid may be reused), can name another user than polkit's (a
// setuid caller), and costs a file read per new caller.
uid_t connectionUid(const sdbus::Message& message)
{
    sd_bus_creds* raw = nullptr;
    // No SD_BUS_CREDS_AUGMENT: only what the bus itself vouches for.
    int r = sd_bus_query_sender_creds(MessageAccess::raw(message), SD_BUS_CREDS_EUID, &raw);
    std::unique_ptr<sd_bus_creds, decltype(&sd_bus_creds_unref)> creds(raw, &sd_bus_creds_unref);
    uid_t uid = static_cast<uid_t>(-1);
    if (r >= 0)
    {
        r = sd_bus_creds_get_euid(creds.get(), &uid);
    }
    if (r < 0)
    {
        throw OpError(ErrorKind::notAuthorized,
                      std::string("Cannot read the caller's credentials: ") + std::strerror(-r));
    }
    return uid;
}

} // namespace

uid_t CallerUids::of(const std::string& sender, const sdbus::Message& message)
{
    if (const auto* known = uids_.find(sender))
    {
        return *known;
    }
    uid_t uid = connectionUid(message);
    uids_.put(sender, uid);
    return uid;
}

CallContext currentCall(const sdbus::IObject& object, CallerUids& uids)
{
    const sdbus::Message* message = object.getCurrentlyProcessedMessage();
    if (message == nullptr)
    {
        throw OpError(ErrorKind::failed, "Internal error: no current D-Bus message.");
    }
    CallContext context;
    context.sender = message->getSender();
    try
    {
        context.uid = uids.of(context.sender, *message);
    }
    catch (const OpError&)
    {
        throw OpError(ErrorKind::notAuthorized,
                      "Cannot identify the caller (it may have disconnected); the call is refused.");
    }
    auto* raw = MessageAccess::raw(*message);
    context.allowInteraction = raw != nullptr && sd_bus_message_get_allow_interactive_authorization(raw) > 0;
    return context;
}

} // namespace left4me
