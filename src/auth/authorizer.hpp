#pragma once

#include "util/gobject_ptr.hpp"

#include <polkit/polkit.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>

namespace left4me {

struct AuthRequest
{
    std::string sender; // the caller's unique bus name: polkit's subject
    std::string action;
    std::map<std::string, std::string> details;
    std::string message; // English msgid, translated by polkit via our gettext domain
    bool allowInteraction = false;
};

enum class AuthOutcome
{
    allowed,
    denied,
    needsInteraction, // polkit would ask for a password, but the caller did not allow it
    unavailable,      // polkit missing, failing or too slow: fail closed
};

struct AuthDecision
{
    AuthOutcome outcome = AuthOutcome::unavailable;
    std::string detail; // why, for the error message and the journal
};

// Asks polkitd, asynchronously on the GLib main context, whether a bus name
// may perform an action. Never blocks; every request is answered exactly
// once, after at most the configured timeout (the interactive one when the
// caller allowed an authentication dialog).
class Authorizer
{
  public:
    using Callback = std::function<void(AuthDecision)>;

    Authorizer(std::chrono::seconds timeout, std::chrono::seconds interactiveTimeout);
    Authorizer(const Authorizer&) = delete;
    Authorizer& operator=(const Authorizer&) = delete;
    ~Authorizer();

    void check(AuthRequest request, Callback callback);

    // Checks still waiting for polkitd; the daemon does not exit idle while
    // any is pending.
    [[nodiscard]] unsigned pending() const { return pending_; }

  private:
    struct Pending;
    void finish(Pending& pending, AuthDecision decision);
    void submit(std::unique_ptr<Pending> pending);

    std::chrono::seconds timeout_;
    std::chrono::seconds interactiveTimeout_;
    unsigned pending_ = 0;
    GObjectPtr<PolkitAuthority> authority_; // once polkit has been reached
};

} // namespace left4me
