#pragma once

#include "auth/authorizer.hpp"
#include "bus/call_context.hpp"
#include "bus/errors.hpp"
#include "daemon/idle_exit.hpp"
#include "ops/reply.hpp"
#include "util/log.hpp"

#include <sdbus-c++/sdbus-c++.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace left4me {

// What polkit is asked before an operation runs: the action, the details
// rules may look at, and the (translated) message an agent shows.
struct AuthSpec
{
    std::string action;
    std::map<std::string, std::string> details;
    std::string message;
};

// What a method does with a call, once its arguments are read and checked:
// the authorization it needs (none: the caller may, e.g. cancelling its
// own build) and the operation to run, which answers through the Reply.
template <typename T> struct Plan
{
    std::optional<AuthSpec> auth;
    std::function<void(Reply<T>)> run;
};

// The one shape of every method, as systemd's hostnamed and importd have
// it: read the call -> check its arguments and decode its options (the
// method's PLAN function, which throws OpError) -> authorize with polkit,
// asynchronously, the caller's bus name as the subject -> run the operation
// -> answer once. One catch-all covers all of it (dnf5daemon's single
// boundary): whatever is thrown at any step becomes the caller's error
// reply, named by bus/errors.cpp, and nothing but sdbus::Error ever reaches
// sdbus-c++. The daemon does not idle out while a call is in progress.
class CallServer
{
  public:
    CallServer(CallerUids& callers, Authorizer& authorizer, IdleExit& idle)
        : callers_(callers), authorizer_(authorizer), idle_(idle)
    {
    }

    // SEND puts a T into the sdbus-c++ result (e.g. a job id as its path).
    template <typename T, typename Result, typename Send>
    void serve(const char* method, const sdbus::IObject& object, Result result,
               const std::function<Plan<T>(const CallContext&)>& plan, Send send)
    {
        idle_.activity();
        auto answer = replyTo<T>(method, std::make_shared<Result>(std::move(result)), std::move(send));
        CallContext call;
        try
        {
            call = currentCall(object, callers_);
            auto steps = plan(call);
            if (!steps.auth)
            {
                return runOperation(method, steps.run, answer);
            }
            auto action = steps.auth->action;
            authorizer_.check(AuthRequest{call.sender, action, std::move(steps.auth->details),
                                          std::move(steps.auth->message), call.allowInteraction},
                              [method, call, action, run = std::move(steps.run), answer](const AuthDecision& decision) {
                                  if (decision.outcome != AuthOutcome::allowed)
                                  {
                                      auto refusal = authorizationError(decision, action);
                                      logRefusal(call, action, refusal);
                                      return answer(refusal);
                                  }
                                  runOperation(method, run, answer);
                              });
        }
        catch (...)
        {
            auto error = asOpError(std::current_exception(), method);
            if (error.kind() == ErrorKind::notAuthorized)
            {
                logRefusal(call, method, error); // the caller's credentials were gone
            }
            answer(error);
        }
    }

  private:
    // The Reply an operation answers through: exactly once (a second answer
    // is dropped), and holding the daemon awake until then.
    template <typename T, typename Result, typename Send>
    Reply<T> replyTo(const char* method, std::shared_ptr<Result> result, Send send)
    {
        auto answered = std::make_shared<bool>(false);
        return [method, result, send, answered, token = idle_.hold()](Outcome<T> outcome) {
            if (*answered)
            {
                return;
            }
            *answered = true;
            try
            {
                if (outcome.ok())
                {
                    send(*result, outcome.value());
                }
                else
                {
                    result->returnError(busError(outcome.error()));
                }
            }
            catch (const std::exception& e)
            {
                // The caller may be gone; nothing is left to tell it.
                log::debug(std::string("Cannot answer ") + method + ": " + e.what());
            }
        };
    }

    template <typename T>
    static void runOperation(const char* method, const std::function<void(Reply<T>)>& run, const Reply<T>& answer)
    {
        try
        {
            run(answer);
        }
        catch (...)
        {
            answer(asOpError(std::current_exception(), method));
        }
    }

    CallerUids& callers_;
    Authorizer& authorizer_;
    IdleExit& idle_;
};

// The usual ways to put an operation's value into a method's result.
inline void sendResult(sdbus::Result<>& result, const Done& /*done*/)
{
    result.returnResults();
}
inline void sendResult(sdbus::Result<std::string>& result, const std::string& value)
{
    result.returnResults(value);
}

} // namespace left4me
