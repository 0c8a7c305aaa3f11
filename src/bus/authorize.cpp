#include "bus/authorize.hpp"

#include "bus/names.hpp"

namespace left4me {

sdbus::Error authorizationError(const AuthDecision& decision, const std::string& action)
{
    switch (decision.outcome)
    {
    case AuthOutcome::needsInteraction:
        return {names::error::interactiveAuthorizationRequired,
                "Authentication is required for " + action +
                    ". Call again allowing interactive authorization (busctl "
                    "--allow-interactive-authorization=yes) with a polkit agent running, or ask an administrator "
                    "to grant the action to you."};
    case AuthOutcome::unavailable:
        return {names::error::authorizationUnavailable, "Authorization is unavailable (" + decision.detail + "), so " +
                                                            action +
                                                            " is refused. Check that polkit.service can start."};
    case AuthOutcome::denied:
    case AuthOutcome::allowed:
        break;
    }
    return {names::error::notAuthorized, "Not authorized to perform " + action +
                                             ". Ask an administrator to grant it, for example with a polkit "
                                             "rule for your group."};
}

AuthRequest authRequest(const CallContext& call, const char* action, std::map<std::string, std::string> details,
                        std::string message)
{
    return {call.sender, action, std::move(details), std::move(message), call.allowInteraction};
}

} // namespace left4me
