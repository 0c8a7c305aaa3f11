#include "auth/authorizer.hpp"

#include "loop/glib_source.hpp"
#include "util/log.hpp"

#include <algorithm>

namespace left4me {

namespace {

constexpr const char* gettextDomain = "left4me-builder";

std::string messageOf(const GErrorPtr& error)
{
    return error ? error->message : "unknown error";
}

} // namespace

// One check in flight. GIO owns it while an async call of ours waits (it
// always reports completion, also after a cancellation), and hands it back
// to the completion callback; the caller's callback may run earlier, on
// timeout.
struct Authorizer::Pending
{
    Authorizer* self = nullptr;
    AuthRequest request;
    Callback callback;
    GObjectPtr<GCancellable> cancellable{g_cancellable_new()};
    GlibSource timer;
    bool answered = false;
};

Authorizer::Authorizer(std::chrono::seconds timeout, std::chrono::seconds interactiveTimeout)
    : timeout_(timeout), interactiveTimeout_(std::max(timeout, interactiveTimeout))
{
}

Authorizer::~Authorizer() = default;

void Authorizer::check(AuthRequest request, Callback callback)
{
    auto pending = std::make_unique<Pending>();
    pending->self = this;
    pending->request = std::move(request);
    pending->callback = std::move(callback);
    ++pending_;
    auto limit = pending->request.allowInteraction ? interactiveTimeout_ : timeout_;
    pending->timer = GlibSource::timeoutSeconds(static_cast<unsigned>(limit.count()), [p = pending.get(), limit] {
        p->self->finish(
            *p, {AuthOutcome::unavailable, "polkit did not answer within " + std::to_string(limit.count()) + " s"});
        g_cancellable_cancel(p->cancellable.get());
        return false;
    });
    if (authority_)
    {
        return submit(std::move(pending));
    }
    auto* cancellable = pending->cancellable.get();
    polkit_authority_get_async(
        cancellable,
        [](GObject*, GAsyncResult* result, gpointer data) {
            std::unique_ptr<Pending> p(static_cast<Pending*>(data));
            GError* raw = nullptr;
            GObjectPtr<PolkitAuthority> authority(polkit_authority_get_finish(result, &raw));
            GErrorPtr error(raw);
            if (!authority)
            {
                return p->self->finish(*p, {AuthOutcome::unavailable, "cannot reach polkit: " + messageOf(error)});
            }
            if (!p->self->authority_)
            {
                p->self->authority_ = std::move(authority);
            }
            auto* self = p->self;
            self->submit(std::move(p));
        },
        pending.release());
}

void Authorizer::submit(std::unique_ptr<Pending> pending)
{
    GObjectPtr<PolkitSubject> subject(polkit_system_bus_name_new(pending->request.sender.c_str()));
    GObjectPtr<PolkitDetails> details(polkit_details_new());
    for (const auto& [key, value] : pending->request.details)
    {
        polkit_details_insert(details.get(), key.c_str(), value.c_str());
    }
    // Only a root mechanism may set these; polkit translates the message with
    // our domain and substitutes $(key) from the details.
    polkit_details_insert(details.get(), "polkit.message", pending->request.message.c_str());
    polkit_details_insert(details.get(), "polkit.gettext_domain", gettextDomain);

    auto flags = pending->request.allowInteraction ? POLKIT_CHECK_AUTHORIZATION_FLAGS_ALLOW_USER_INTERACTION
                                                   : POLKIT_CHECK_AUTHORIZATION_FLAGS_NONE;
    auto* cancellable = pending->cancellable.get();
    const auto action = pending->request.action;
    polkit_authority_check_authorization(
        authority_.get(), subject.get(), action.c_str(), details.get(), flags, cancellable,
        [](GObject* source, GAsyncResult* result, gpointer data) {
            std::unique_ptr<Pending> p(static_cast<Pending*>(data));
            GError* raw = nullptr;
            GObjectPtr<PolkitAuthorizationResult> answer(
                polkit_authority_check_authorization_finish(POLKIT_AUTHORITY(source), result, &raw));
            GErrorPtr error(raw);
            if (!answer)
            {
                p->self->finish(*p, {AuthOutcome::unavailable, "polkit failed: " + messageOf(error)});
            }
            else if (polkit_authorization_result_get_is_authorized(answer.get()))
            {
                p->self->finish(*p, {AuthOutcome::allowed, "authorized by polkit"});
            }
            else if (polkit_authorization_result_get_is_challenge(answer.get()) && !p->request.allowInteraction)
            {
                p->self->finish(*p, {AuthOutcome::needsInteraction, "polkit requires authentication"});
            }
            else
            {
                p->self->finish(*p, {AuthOutcome::denied, "polkit denied the action"});
            }
        },
        pending.release());
}

void Authorizer::finish(Pending& pending, AuthDecision decision)
{
    if (pending.answered)
    {
        return;
    }
    pending.answered = true;
    pending.timer.reset();
    --pending_;
    // The callback may start work that ends the daemon's idle state; it must
    // run after our own bookkeeping.
    auto callback = std::move(pending.callback);
    callback(std::move(decision));
}

} // namespace left4me
