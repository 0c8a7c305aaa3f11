#include "auth/authorizer.hpp"

#include "bus/names.hpp"
#include "loop/glib_source.hpp"
#include "util/log.hpp"

#include <polkit/polkit.h>

#include <algorithm>

namespace left4me {

namespace {

constexpr const char* gettextDomain = "left4me-builder";

PolkitAuthority* asAuthority(void* p)
{
    return static_cast<PolkitAuthority*>(p);
}

} // namespace

// One check in flight. It is freed only when GIO reports completion of the
// async call it is waiting on, which GIO guarantees even after cancellation;
// the caller's callback may run earlier, on timeout.
struct Authorizer::Pending
{
    Authorizer* self = nullptr;
    AuthRequest request;
    Callback callback;
    GCancellable* cancellable = nullptr;
    GlibSource timer;
    bool answered = false;
};

Authorizer::Authorizer(std::chrono::seconds timeout, std::chrono::seconds interactiveTimeout)
    : timeout_(timeout), interactiveTimeout_(std::max(timeout, interactiveTimeout))
{
}

Authorizer::~Authorizer()
{
    if (authority_ != nullptr)
    {
        g_object_unref(asAuthority(authority_));
    }
}

void Authorizer::check(AuthRequest request, Callback callback)
{
    auto* pending =
        new Pending{this, std::move(request), std::move(callback), g_cancellable_new(), GlibSource{}, false};
    ++pending_;
    auto limit = pending->request.allowInteraction ? interactiveTimeout_ : timeout_;
    pending->timer.reset(g_timeout_add_seconds(
        static_cast<guint>(limit.count()),
        [](gpointer data) -> gboolean {
            auto* p = static_cast<Pending*>(data);
            p->timer.forget();
            auto waited = p->request.allowInteraction ? p->self->interactiveTimeout_ : p->self->timeout_;
            p->self->finish(
                p, {AuthOutcome::unavailable, "polkit did not answer within " + std::to_string(waited.count()) + " s"});
            g_cancellable_cancel(p->cancellable);
            return G_SOURCE_REMOVE;
        },
        pending));

    if (authority_ != nullptr)
    {
        submit(pending);
        return;
    }
    polkit_authority_get_async(
        pending->cancellable,
        [](GObject*, GAsyncResult* result, gpointer data) {
            auto* p = static_cast<Pending*>(data);
            GError* error = nullptr;
            PolkitAuthority* authority = polkit_authority_get_finish(result, &error);
            if (authority == nullptr)
            {
                p->self->finish(p, {AuthOutcome::unavailable,
                                    std::string("cannot reach polkit: ") + (error ? error->message : "unknown error")});
                g_clear_error(&error);
                g_object_unref(p->cancellable);
                delete p;
                return;
            }
            if (p->self->authority_ == nullptr)
            {
                p->self->authority_ = authority;
            }
            else
            {
                g_object_unref(authority);
            }
            p->self->submit(p);
        },
        pending);
}

void Authorizer::submit(Pending* pending)
{
    PolkitSubject* subject = polkit_system_bus_name_new(pending->request.sender.c_str());
    PolkitDetails* details = polkit_details_new();
    for (const auto& [key, value] : pending->request.details)
    {
        polkit_details_insert(details, key.c_str(), value.c_str());
    }
    // Only a root mechanism may set these; polkit translates the message with
    // our domain and substitutes $(key) from the details.
    polkit_details_insert(details, "polkit.message", pending->request.message.c_str());
    polkit_details_insert(details, "polkit.gettext_domain", gettextDomain);

    auto flags = pending->request.allowInteraction ? POLKIT_CHECK_AUTHORIZATION_FLAGS_ALLOW_USER_INTERACTION
                                                   : POLKIT_CHECK_AUTHORIZATION_FLAGS_NONE;
    polkit_authority_check_authorization(
        asAuthority(authority_), subject, pending->request.action.c_str(), details, flags, pending->cancellable,
        [](GObject* source, GAsyncResult* result, gpointer data) {
            auto* p = static_cast<Pending*>(data);
            GError* error = nullptr;
            PolkitAuthorizationResult* answer =
                polkit_authority_check_authorization_finish(POLKIT_AUTHORITY(source), result, &error);
            if (answer == nullptr)
            {
                p->self->finish(p, {AuthOutcome::unavailable,
                                    std::string("polkit failed: ") + (error ? error->message : "unknown error")});
            }
            else if (polkit_authorization_result_get_is_authorized(answer))
            {
                p->self->finish(p, {AuthOutcome::allowed, "authorized by polkit"});
            }
            else if (polkit_authorization_result_get_is_challenge(answer) && !p->request.allowInteraction)
            {
                p->self->finish(p, {AuthOutcome::needsInteraction, "polkit requires authentication"});
            }
            else
            {
                p->self->finish(p, {AuthOutcome::denied, "polkit denied the action"});
            }
            g_clear_error(&error);
            if (answer != nullptr)
            {
                g_object_unref(answer);
            }
            g_object_unref(p->cancellable);
            delete p;
        },
        pending);
    g_object_unref(subject);
    g_object_unref(details);
}

void Authorizer::finish(Pending* pending, AuthDecision decision)
{
    if (pending->answered)
    {
        return;
    }
    pending->answered = true;
    pending->timer.reset();
    --pending_;
    if (decision.outcome != AuthOutcome::allowed)
    {
        log::notice("Authorization of " + pending->request.action + " for " + pending->request.sender +
                        " refused: " + decision.detail,
                    {{"LEFT4ME_ACTION", pending->request.action},
                     {"LEFT4ME_SENDER", pending->request.sender},
                     {"MESSAGE_ID", names::messageId::authorizationDenied}});
    }
    // The callback may start work that ends the daemon's idle state; it must
    // run after our own bookkeeping.
    auto callback = std::move(pending->callback);
    callback(std::move(decision));
}

} // namespace left4me
