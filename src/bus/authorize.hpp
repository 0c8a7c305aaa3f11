#pragma once

#include "auth/authorizer.hpp"
#include "bus/call_context.hpp"

#include <sdbus-c++/Error.h>

namespace left4me {

// The error a caller gets for a refused authorization: NotAuthorized,
// InteractiveAuthorizationRequired or AuthorizationUnavailable, with a
// sentence saying what to do about it.
sdbus::Error authorizationError(const AuthDecision& decision, const std::string& action);

AuthRequest authRequest(const CallContext& call, const char* action, std::map<std::string, std::string> details,
                        std::string message);

} // namespace left4me
