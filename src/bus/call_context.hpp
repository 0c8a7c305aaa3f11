#pragma once

#include "util/bounded_map.hpp"

#include <sdbus-c++/IObject.h>
#include <sys/types.h>

#include <cstddef>
#include <string>

namespace left4me {

// Who is calling, read from the message being handled.
struct CallContext
{
    std::string sender; // unique bus name: the polkit subject
    // The connection's uid as dbus-daemon recorded it, the same that
    // polkit checks for the subject (see connectionUid()).
    uid_t uid = static_cast<uid_t>(-1);
    bool allowInteraction = false; // ALLOW_INTERACTIVE_AUTHORIZATION header flag
};

// The uid behind each unique bus name, asked of the bus once per caller.
// Asking is a synchronous round trip to dbus-daemon (sd-bus offers no
// other way) that stalls the one loop: 100 StartBuild calls at once paid
// 100 of them before the last reached polkit. Remembering is exact, not a
// guess: dbus-daemon never reuses a unique name while it runs (and the
// daemon exits when the bus goes), and a connection's credentials are
// fixed when it connects.
class CallerUids
{
  public:
    // SENDER's uid, asked of the bus through MESSAGE (SENDER's call) if it
    // is new. Throws OpError if the bus cannot tell (the caller is gone).
    uid_t of(const std::string& sender, const sdbus::Message& message);

  private:
    // Callers come and go; the oldest are forgotten, never reused.
    static constexpr std::size_t capacity = 256; // about 25 KiB
    BoundedMap<uid_t> uids_{capacity};
};

// Throws OpError (notAuthorized) if the caller's credentials cannot be
// read, e.g. because it has already disconnected: fail closed.
CallContext currentCall(const sdbus::IObject& object, CallerUids& uids);

} // namespace left4me
