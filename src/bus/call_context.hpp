#pragma once

#include <sdbus-c++/IObject.h>
#include <sys/types.h>

#include <string>

namespace left4me {

// Who is calling, read from the message being handled.
struct CallContext
{
    std::string sender; // unique bus name: the polkit subject
    uid_t uid = static_cast<uid_t>(-1);
    bool allowInteraction = false; // ALLOW_INTERACTIVE_AUTHORIZATION header flag
};

// Throws sdbus::Error (Failed) if the caller's credentials cannot be read,
// e.g. because it has already disconnected: fail closed.
CallContext currentCall(const sdbus::IObject& object);

} // namespace left4me
