#include "cli/exit_status.hpp"

#include "bus/names.hpp"

namespace left4me::cli {

bool isEndedState(std::string_view state)
{
    return state == "succeeded" || state == "failed" || state == "cancelled";
}

int exitCodeForError(std::string_view name)
{
    namespace error = names::error;
    if (name == error::invalidArgument || name == error::capabilityNotAllowed || name == error::unitNotAllowed ||
        name == "org.freedesktop.DBus.Error.InvalidArgs")
    {
        return exit_code::usage;
    }
    if (name == error::notAuthorized || name == error::interactiveAuthorizationRequired ||
        name == error::authorizationUnavailable || name == "org.freedesktop.DBus.Error.AccessDenied" ||
        name == "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired")
    {
        return exit_code::notAuthorized;
    }
    if (name == error::noSuchJob || name == error::notMounted || name == error::noSuchAddon ||
        name == "org.freedesktop.DBus.Error.UnknownObject")
    {
        return exit_code::notFound;
    }
    return exit_code::failure;
}

int exitCodeForJob(std::string_view state, std::string_view result, int exitStatus, bool cancelledByUs)
{
    if (cancelledByUs && state == "cancelled")
    {
        return exit_code::interrupted;
    }
    if (state == "succeeded")
    {
        return exit_code::success;
    }
    if (result == "timeout")
    {
        return exit_code::timedOut;
    }
    // ExitStatus is the script's status, or 128+N for signal N; -1 if the
    // script never ran, which is a failure of its own.
    if (exitStatus > 0 && exitStatus <= 255)
    {
        return exitStatus;
    }
    return exit_code::failure;
}

} // namespace left4me::cli
