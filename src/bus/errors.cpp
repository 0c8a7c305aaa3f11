#include "bus/errors.hpp"

#include "bus/names.hpp"
#include "fs/resolve.hpp"
#include "ops/message_ids.hpp"
#include "util/log.hpp"

namespace left4me {

namespace {

const char* errorName(ErrorKind kind)
{
    switch (kind)
    {
    case ErrorKind::invalidArgument:
        return names::error::invalidArgument;
    case ErrorKind::notAuthorized:
        return names::error::notAuthorized;
    case ErrorKind::interactiveAuthorizationRequired:
        return names::error::interactiveAuthorizationRequired;
    case ErrorKind::authorizationUnavailable:
        return names::error::authorizationUnavailable;
    case ErrorKind::busy:
        return names::error::busy;
    case ErrorKind::noSuchJob:
        return names::error::noSuchJob;
    case ErrorKind::notSupported:
        return names::error::notSupported;
    case ErrorKind::limitsExceeded:
        return names::error::limitsExceeded;
    case ErrorKind::limitsUnenforceable:
        return names::error::limitsUnenforceable;
    case ErrorKind::unsupportedFilesystem:
        return names::error::unsupportedFilesystem;
    case ErrorKind::alreadyMounted:
        return names::error::alreadyMounted;
    case ErrorKind::notMounted:
        return names::error::notMounted;
    case ErrorKind::capabilityNotAllowed:
        return names::error::capabilityNotAllowed;
    case ErrorKind::unitNotAllowed:
        return names::error::unitNotAllowed;
    case ErrorKind::noSuchAddon:
        return names::error::noSuchAddon;
    case ErrorKind::failed:
        break;
    }
    return names::error::failed;
}

} // namespace

sdbus::Error busError(const OpError& error)
{
    return {errorName(error.kind()), error.message()};
}

OpError asOpError(const std::exception_ptr& thrown, const std::string& method)
{
    try
    {
        std::rethrow_exception(thrown);
    }
    catch (const OpError& e)
    {
        return e;
    }
    catch (const KernelUnsupported& e)
    {
        log::error(e.what(), {{"LEFT4ME_METHOD", method}});
        return {ErrorKind::notSupported, e.what()};
    }
    catch (const std::exception& e)
    {
        log::error("Unexpected failure in " + method + ": " + e.what(), {{"LEFT4ME_METHOD", method}});
        return {ErrorKind::failed, std::string("Internal error: ") + e.what()};
    }
    catch (...)
    {
        log::error("Unexpected failure in " + method, {{"LEFT4ME_METHOD", method}});
        return {ErrorKind::failed, "Internal error."};
    }
}

OpError authorizationError(const AuthDecision& decision, const std::string& action)
{
    switch (decision.outcome)
    {
    case AuthOutcome::needsInteraction:
        return {ErrorKind::interactiveAuthorizationRequired,
                "Authentication is required for " + action +
                    ". Call again allowing interactive authorization (busctl "
                    "--allow-interactive-authorization=yes) with a polkit agent running, or ask an administrator "
                    "to grant the action to you."};
    case AuthOutcome::unavailable:
        return {ErrorKind::authorizationUnavailable, "Authorization is unavailable (" + decision.detail + "), so " +
                                                         action + " is refused. Check that polkit.service can start."};
    case AuthOutcome::denied:
    case AuthOutcome::allowed:
        break;
    }
    return {ErrorKind::notAuthorized, "Not authorized to perform " + action +
                                          ". Ask an administrator to grant it, for example with a polkit rule "
                                          "for your group."};
}

void logRefusal(const CallContext& call, const std::string& action, const OpError& error)
{
    log::notice("Refused " + action + " to " + call.sender + ": " + error.message(),
                {{"MESSAGE_ID", messageId::authorizationDenied},
                 {"LEFT4ME_ACTION", action},
                 {"LEFT4ME_CALLER", call.sender},
                 {"LEFT4ME_CALLER_UID", call.uid == static_cast<uid_t>(-1) ? "" : std::to_string(call.uid)},
                 {"LEFT4ME_ERROR", errorName(error.kind())}});
}

} // namespace left4me
