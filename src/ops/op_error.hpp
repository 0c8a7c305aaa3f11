#pragma once

#include <stdexcept>
#include <string>

namespace left4me {

// What went wrong with a call, in the caller's terms. bus/errors.cpp maps
// each kind to its org.left4me.Builder.Error.* name, in one place:
// operations know nothing of D-Bus.
enum class ErrorKind
{
    invalidArgument,
    notAuthorized,
    interactiveAuthorizationRequired,
    authorizationUnavailable,
    busy,
    noSuchJob,
    notSupported,
    limitsExceeded,
    limitsUnenforceable,
    unsupportedFilesystem,
    alreadyMounted,
    notMounted,
    capabilityNotAllowed,
    unitNotAllowed,
    noSuchAddon,
    failed,
};

// A refusal or a failure, with a sentence a person can act on: what was
// wrong and what to do about it. An operation throws it for what it finds
// before it has started work that answers later, or passes it to its Reply.
class OpError : public std::runtime_error
{
  public:
    OpError(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
    [[nodiscard]] ErrorKind kind() const { return kind_; }
    [[nodiscard]] std::string message() const { return what(); }

  private:
    ErrorKind kind_;
};

} // namespace left4me
