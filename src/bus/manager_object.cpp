#include "bus/manager_object.hpp"

#include "auth/messages.hpp"
#include "builds/build_options.hpp"
#include "bus/authorize.hpp"
#include "bus/names.hpp"
#include "bus/option_values.hpp"
#include "caps/caps_service.hpp"
#include "util/join.hpp"
#include "util/log.hpp"
#include "fs/resolve.hpp"
#include "validate/arguments.hpp"

namespace left4me {

namespace {

void require(const char* argument, const validate::Problem& problem)
{
    if (problem)
    {
        throw sdbus::Error(names::error::invalidArgument, std::string("Argument ") + argument + ": " + *problem + ".");
    }
}

// Error replies from callbacks: whatever goes wrong there must still reach
// the caller as a named error, never as silence.
template <typename Reply> std::function<void(const sdbus::Error&)> failWith(const std::shared_ptr<Reply>& reply)
{
    return [reply](const sdbus::Error& error) { reply->returnError(error); };
}

} // namespace

ManagerObject::ManagerObject(sdbus::IConnection& bus, const Config& config, Authorizer& authorizer,
                             BuildService& builds, MountService& mounts, const CapsService& caps, IdleExit& idle)
    : AdaptorInterfaces(bus, names::managerPath), bus_(bus), config_(config), authorizer_(authorizer), builds_(builds),
      mounts_(mounts), caps_(caps), idle_(idle)
{
    builds_.onJobCreated([this](BuildJob& job) {
        jobs_[job.info().id] = std::make_unique<JobObject>(
            bus_, job, callers_, reads_,
            [this](const std::shared_ptr<sdbus::Result<>>& reply, const CallContext& call, uint64_t id) {
                cancelJob(reply, call, id);
            },
            [this] { idle_.activity(); });
    });
    builds_.onJobRemoved([this](uint64_t id) { jobs_.erase(id); });
    registerAdaptor();
    mounts_.onChanged([this](const std::string& instance) { syncMountObject(instance); });
    for (const auto& [instance, record] : mounts_.records())
    {
        syncMountObject(instance);
    }
}

ManagerObject::~ManagerObject()
{
    mounts_.onChanged({});
    builds_.onJobRemoved({});
    mountObjects_.clear();
    jobs_.clear();
    unregisterAdaptor();
}

void ManagerObject::authorizeThen(AuthRequest request, std::function<void(const sdbus::Error&)> fail,
                                  std::function<void()> then)
{
    auto token = idle_.hold();
    auto action = request.action;
    auto sender = request.sender;
    authorizer_.check(std::move(request), [token, action, sender, fail = std::move(fail),
                                           then = std::move(then)](const AuthDecision& decision) {
        if (decision.outcome != AuthOutcome::allowed)
        {
            // Refusals are worth an admin's eye: repeated ones are someone
            // probing the door.
            auto error = authorizationError(decision, action);
            log::notice("Refused " + action + " to " + sender + ": " + error.getName(),
                        {{"LEFT4ME_ACTION", action}, {"LEFT4ME_CALLER", sender}, {"LEFT4ME_ERROR", error.getName()}});
            fail(error);
            return;
        }
        try
        {
            then();
        }
        catch (const sdbus::Error& e)
        {
            fail(e);
        }
        catch (const KernelUnsupported& e)
        {
            log::error(e.what(), {{"LEFT4ME_ACTION", action}});
            fail(sdbus::Error(names::error::notSupported, e.what()));
        }
        catch (const std::exception& e)
        {
            log::error(std::string("Unexpected failure after authorizing ") + action + ": " + e.what());
            fail(sdbus::Error(names::error::failed, std::string("Internal error: ") + e.what()));
        }
    });
}

void ManagerObject::StartBuild(sdbus::Result<sdbus::ObjectPath>&& result, std::string overlay, std::string script,
                               std::map<std::string, sdbus::Variant> options)
{
    idle_.activity();
    auto call = currentCall(getObject(), callers_);
    require("overlay", validate::overlayName(overlay));
    require("script", validate::script(script));
    require("options", validate::options(optionSignatures(options), buildOptionSignatures()));
    auto parsed = parseBuildOptions(plainOptions(options), config_.limits);
    if (auto* problem = std::get_if<std::string>(&parsed))
    {
        require("options", *problem);
    }
    auto buildOptions = std::get<BuildOptions>(parsed);

    auto reply = std::make_shared<sdbus::Result<sdbus::ObjectPath>>(std::move(result));
    authorizeThen(authRequest(call, names::action::build, {{"overlay", overlay}}, messages::build), failWith(reply),
                  [this, reply, call, overlay, buildOptions, script = std::move(script)] {
                      auto& job = builds_.start(call.uid, overlay, script, buildOptions);
                      reply->returnResults(sdbus::ObjectPath(jobPath(job.info().id)));
                  });
}

void ManagerObject::Cancel(sdbus::Result<>&& result, sdbus::ObjectPath job)
{
    idle_.activity();
    auto call = currentCall(getObject(), callers_);
    auto id = jobIdFromPath(job);
    if (!id || builds_.find(*id) == nullptr)
    {
        throw sdbus::Error(names::error::noSuchJob, "Argument job: there is no job at \"" + std::string(job) +
                                                        "\"; list jobs with the ObjectManager's GetManagedObjects.");
    }
    cancelJob(std::make_shared<sdbus::Result<>>(std::move(result)), call, *id);
}

void ManagerObject::cancelJob(const std::shared_ptr<sdbus::Result<>>& reply, const CallContext& call, uint64_t id)
{
    auto* job = builds_.find(id);
    if (job == nullptr)
    {
        reply->returnError(sdbus::Error(names::error::noSuchJob, "Job " + std::to_string(id) + " no longer exists."));
        return;
    }
    auto cancel = [this, reply, id, token = idle_.hold()] {
        auto* job = builds_.find(id);
        if (job == nullptr)
        {
            reply->returnError(
                sdbus::Error(names::error::noSuchJob, "Job " + std::to_string(id) + " no longer exists."));
            return;
        }
        job->cancel([reply, token](const std::string& problem) {
            if (problem.empty())
            {
                reply->returnResults();
                return;
            }
            reply->returnError(sdbus::Error(names::error::failed, "systemd could not stop the build: " + problem));
        });
    };
    // The owner may always stop what it started; anyone else needs the
    // cancel-other action.
    if (call.uid == job->info().owner)
    {
        cancel();
        return;
    }
    authorizeThen(authRequest(call, names::action::cancelOther,
                              {{"job", std::to_string(id)}, {"overlay", job->info().overlay}}, messages::cancelOther),
                  failWith(reply), cancel);
}

void ManagerObject::syncMountObject(const std::string& instance)
{
    auto record = mounts_.records().find(instance);
    if (record == mounts_.records().end())
    {
        mountObjects_.erase(instance);
    }
    else if (mountObjects_.count(instance) == 0)
    {
        mountObjects_[instance] = std::make_unique<MountObject>(bus_, record->second);
    }
}

void ManagerObject::Mount(sdbus::Result<std::string>&& result, std::string instance, std::vector<std::string> layers,
                          std::map<std::string, sdbus::Variant> options)
{
    idle_.activity();
    auto call = currentCall(getObject(), callers_);
    require("instance", validate::instanceName(instance));
    require("layers", validate::layers(layers));
    require("options", validate::options(optionSignatures(options), {{"read_only", "b"}, {"persistent", "b"}}));
    auto flag = [&](const char* key) { return options.count(key) != 0 && options.at(key).get<bool>(); };
    MountRequest request{instance, layers, flag("read_only"), flag("persistent"), call.uid};
    auto reply = std::make_shared<sdbus::Result<std::string>>(std::move(result));
    authorizeThen(authRequest(call, names::action::mount, {{"instance", instance}, {"layers", join(layers, ":")}},
                              messages::mount),
                  failWith(reply), [this, reply, request, token = idle_.hold()] {
                      mounts_.mount(request, [reply, token](const sdbus::Error* error, const std::string& where) {
                          if (error != nullptr)
                          {
                              reply->returnError(*error);
                              return;
                          }
                          reply->returnResults(where);
                      });
                  });
}

void ManagerObject::Unmount(sdbus::Result<>&& result, std::string instance)
{
    idle_.activity();
    auto call = currentCall(getObject(), callers_);
    require("instance", validate::instanceName(instance));
    auto reply = std::make_shared<sdbus::Result<>>(std::move(result));
    authorizeThen(authRequest(call, names::action::mount, {{"instance", instance}}, messages::unmount), failWith(reply),
                  [this, reply, instance, token = idle_.hold()] {
                      mounts_.unmount(instance, [reply, token](const sdbus::Error* error) {
                          if (error != nullptr)
                          {
                              reply->returnError(*error);
                              return;
                          }
                          reply->returnResults();
                      });
                  });
}

void ManagerObject::ApplyCaps(sdbus::Result<>&& result, std::string addon, std::string version, std::string binary,
                              std::vector<std::string> capabilities, std::map<std::string, sdbus::Variant> options)
{
    idle_.activity();
    auto call = currentCall(getObject(), callers_);
    require("addon", validate::addonSegment(addon));
    require("version", validate::addonSegment(version));
    require("binary", validate::relativeBinaryPath(binary));
    require("options", validate::options(optionSignatures(options), {{"activate", "b"}}));
    auto names = requireAllowedCapabilities(config_, capabilities).names;
    ApplyCapsRequest request{
        addon,   version, binary, capabilities, options.count("activate") != 0 && options.at("activate").get<bool>(),
        call.uid};
    auto reply = std::make_shared<sdbus::Result<>>(std::move(result));
    authorizeThen(
        authRequest(call, names::action::applyCaps,
                    {{"addon", addon}, {"version", version}, {"binary", binary}, {"capabilities", join(names, ",")}},
                    messages::applyCaps),
        failWith(reply), [this, reply, request = std::move(request)] {
            caps_.apply(request);
            reply->returnResults();
        });
}

} // namespace left4me
