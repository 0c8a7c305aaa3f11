#pragma once

#include "auth/authorizer.hpp"
#include "bus/call_context.hpp"
#include "ops/op_error.hpp"

#include <sdbus-c++/Error.h>

#include <exception>
#include <string>

namespace left4me {

// The one place an OpError becomes org.left4me.Builder.Error.*: its kind
// picks the name (bus/names.hpp), its sentence is the message.
sdbus::Error busError(const OpError& error);

// Whatever a call threw, as the OpError its caller gets: an OpError as it
// is, a kernel without the system calls the daemon needs as NotSupported,
// anything else as Failed (and in the journal, since it is a bug).
OpError asOpError(const std::exception_ptr& thrown, const std::string& method);

// A refused authorization as the caller gets it: NotAuthorized,
// InteractiveAuthorizationRequired or AuthorizationUnavailable, with a
// sentence saying what to do about it.
OpError authorizationError(const AuthDecision& decision, const std::string& action);

// One journal line per refused call, with one set of fields: the action,
// the caller's unique name and uid, and the error's name. Repeated
// refusals are someone probing the door.
void logRefusal(const CallContext& call, const std::string& action, const OpError& error);

} // namespace left4me
